"""Builders of layers that change a blob's shape or act along one axis: Flatten, Reshape,
Softmax, and the shared Caffe-order reshape helper."""

from __future__ import annotations

import math
from typing import Any

from caffe2keras.build.registry import BuildContext, BuildResult, builder
from caffe2keras.ir.graph import Layer, Shape
from caffe2keras.ir.shapes import canonical_axis, infer_layer
from caffe2keras.layout import keras_axis, keras_shape


def _layouts_agree(shape: Shape) -> bool:
    """Whether a 4-D blob has the same element order in NCHW and NHWC (C == 1 or H * W == 1)."""
    return shape[1] == 1 or shape[2] * shape[3] == 1


def reshape_caffe(x: Any, src: Shape, dst: Shape, layer: Layer, ctx: BuildContext) -> Any:
    """Reshape a Keras tensor as Caffe reshapes the blob (C-order over Caffe's NCHW layout).

    A 4-D source is permuted to NCHW first and a 4-D result back to NHWC, except where the two
    layouts hold the elements in the same order.
    """
    import keras

    if len(src) == 4 and not _layouts_agree(src):
        x = keras.layers.Permute((3, 1, 2), name=ctx.names.make(layer.name, "to_nchw"))(x)
    if len(dst) == 4 and not _layouts_agree(dst):
        x = keras.layers.Reshape(dst[1:], name=ctx.names.make(layer.name))(x)
        return keras.layers.Permute((2, 3, 1), name=ctx.names.make(layer.name, "to_nhwc"))(x)
    return keras.layers.Reshape(keras_shape(dst)[1:], name=ctx.names.make(layer.name))(x)


def _reshape_builder(layer: Layer, inputs: list[Any], ctx: BuildContext) -> BuildResult:
    src = ctx.bottom_shapes(layer)[0]
    dst = infer_layer(layer, [src]).tops[0]
    if dst[0] != src[0]:
        from caffe2keras.errors import UnsupportedParameterError

        raise UnsupportedParameterError(
            f"reshaping across the batch axis ({list(src)} -> {list(dst)}) cannot be expressed "
            "with a free Keras batch dimension",
            layer=layer.name,
            field="shape",
        )
    return BuildResult(outputs=(reshape_caffe(inputs[0], src, dst, layer, ctx),))


builder("Flatten", "Reshape")(_reshape_builder)


@builder("Softmax")
def build_softmax(layer: Layer, inputs: list[Any], ctx: BuildContext) -> BuildResult:
    """Softmax on the Keras axis holding Caffe's axis."""
    import keras

    rank = len(ctx.bottom_shapes(layer)[0])
    axis = keras_axis(canonical_axis(layer.params.axis, rank, layer), rank)
    return BuildResult(
        outputs=(keras.layers.Softmax(axis=axis, name=ctx.names.make(layer.name))(inputs[0]),)
    )


def flat_size(shape: Shape, axis: int) -> int:
    """Elements per sample from ``axis`` on."""
    return math.prod(shape[axis:])
