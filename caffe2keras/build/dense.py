"""InnerProduct builder: Caffe flattens (C, H, W); Keras flattens (H, W, C). The weights are
permuted once instead of transposing the activations."""

from __future__ import annotations

from typing import Any

import numpy as np

from caffe2keras.build.registry import BuildContext, BuildResult, builder
from caffe2keras.build.shape import reshape_caffe
from caffe2keras.build.weights import SET_LATER, Reshaped, Weight
from caffe2keras.errors import UnsupportedParameterError
from caffe2keras.ir.graph import Layer, Shape
from caffe2keras.ir.shapes import canonical_axis


def dense_kernel(weight: np.ndarray, transpose: bool, bottom: Shape, axis: int) -> Weight:
    """Caffe's (out, K) weight (or (K, out) with ``transpose``) as a Keras Dense kernel (K, out),
    with K reordered from Caffe's C,H,W to Keras' H,W,C when a 4-D bottom is flattened from C.

    No copy: a transposed view, or (with the reorder) a lazy :class:`Reshaped` of one, copied
    block by block when set or written."""
    kernel = weight if transpose else weight.T
    if len(bottom) == 4 and axis == 1:
        _, c, h, w = bottom
        out = kernel.shape[1]
        return Reshaped(kernel.reshape(c, h, w, out).transpose(1, 2, 0, 3), (c * h * w, out))
    return kernel


@builder("InnerProduct")
def build_inner_product(layer: Layer, inputs: list[Any], ctx: BuildContext) -> BuildResult:
    """Flatten (when the bottom has more axes after ``axis``) + Dense."""
    import keras

    p = layer.params
    bottom = ctx.bottom_shapes(layer)[0]
    axis = canonical_axis(p.axis, len(bottom), layer)
    x = inputs[0]
    if len(bottom) == 4 and axis == 1:
        x = keras.layers.Flatten(name=ctx.names.make(layer.name, "flatten"))(x)
    elif len(bottom) == 4:
        raise UnsupportedParameterError(
            "a 4-D bottom is only supported with axis 1", layer=layer.name, field="axis"
        )
    elif axis != len(bottom) - 1:
        flat = (*bottom[:axis], int(np.prod(bottom[axis:])))
        x = reshape_caffe(x, bottom, flat, layer, ctx)
    dense = keras.layers.Dense(
        p.num_output,
        use_bias=p.bias_term,
        kernel_initializer=SET_LATER,
        name=ctx.names.make(layer.name),
    )
    y = dense(x)
    if not layer.blobs:
        return BuildResult(outputs=(y,))
    kernel = dense_kernel(layer.blobs[0], p.transpose, bottom, axis)
    return BuildResult(outputs=(y,), weights=((dense, (kernel, *layer.blobs[1:])),))
