"""InnerProduct: params, shape, and the builder. Caffe flattens (C, H, W); Keras flattens
(H, W, C): the weights are permuted once instead of transposing the activations."""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from caffe2keras.errors import UnsupportedParameterError
from caffe2keras.frontend.params.registry import param_parser, require
from caffe2keras.ir.graph import Layer, Shape
from caffe2keras.ir.shapes.registry import (
    LayerShapes,
    canonical_axis,
    shape_rule,
)
from caffe2keras.keras_model.axes import reshape_caffe
from caffe2keras.keras_model.registry import (
    SET_LATER,
    BuildContext,
    BuildResult,
    builder,
)

if TYPE_CHECKING:
    import numpy as np

    from caffe2keras.keras_model.weights import Weight


@dataclass(frozen=True)
class InnerProductParams:
    num_output: int
    bias_term: bool
    axis: int
    transpose: bool


@param_parser("InnerProduct")
def parse_inner_product(layer_pb: Any) -> InnerProductParams:
    p = layer_pb.inner_product_param
    require(
        p.HasField("num_output") and p.num_output > 0,
        layer_pb,
        "num_output",
        "num_output must be given and positive",
    )
    return InnerProductParams(
        num_output=int(p.num_output),
        bias_term=bool(p.bias_term),
        axis=int(p.axis),
        transpose=bool(p.transpose),
    )


@shape_rule("InnerProduct")
def inner_product_shapes(layer: Layer, bottoms: list[Shape]) -> LayerShapes:
    p = layer.params
    shape = bottoms[0]
    axis = canonical_axis(p.axis, len(shape), layer)
    k = math.prod(shape[axis:])
    weight = (k, p.num_output) if p.transpose else (p.num_output, k)
    blobs = (weight, (p.num_output,)) if p.bias_term else (weight,)
    return LayerShapes(tops=((*shape[:axis], p.num_output),), blobs=blobs)


def dense_kernel(weight: np.ndarray, transpose: bool, bottom: Shape, axis: int) -> Weight:
    """Caffe's (out, K) weight (or (K, out) with ``transpose``) as a Keras Dense kernel (K, out),
    with K reordered from Caffe's C,H,W to Keras' H,W,C when a 4-D bottom is flattened from C.

    No copy: a transposed view, or (with the reorder) a lazy :class:`Reshaped` of one, copied
    block by block when set or written."""
    from caffe2keras.keras_model.weights import Reshaped

    kernel = weight if transpose else weight.T
    if len(bottom) == 4 and axis == 1:
        _, c, h, w = bottom
        out = kernel.shape[1]
        return Reshaped(kernel.reshape(c, h, w, out).transpose(1, 2, 0, 3), (c * h * w, out))
    return kernel


def _describe_ip(layer: Layer, bottoms: list[Shape]) -> str:
    if not bottoms:
        return "Flatten + Dense"
    axis = canonical_axis(layer.params.axis, len(bottoms[0]), layer)
    if len(bottoms[0]) == 4 and axis > 1:
        return "Reshape + Dense" + (" + Reshape" if axis == 3 else "")
    return "Flatten + Dense"


@builder(
    "InnerProduct",
    emits="Flatten + Dense (Reshape around it for a 4-D bottom with axis 2 or 3)",
    refine=_describe_ip,
    notes="`axis` (also 2 and 3 on 4-D bottoms: a Dense over the trailing axes), `transpose`; "
    "C,H,W flatten order",
)
def build_inner_product(layer: Layer, inputs: list[Any], ctx: BuildContext) -> BuildResult:
    """Flatten (when the bottom has more axes after ``axis``) + Dense.

    ``inner_product_layer.cpp`` views the bottom as (prod(shape[:axis]), prod(shape[axis:])) in
    Caffe's memory order. A 4-D bottom with ``axis`` 2 or 3 is reshaped (in Caffe order) to
    (N, prod(shape[1:axis]), K), the Dense acts on the last axis, and a 4-D top (``axis`` 3) is
    reshaped back.
    """
    import keras
    import numpy as np

    p = layer.params
    bottom = ctx.bottom_shapes(layer)[0]
    axis = canonical_axis(p.axis, len(bottom), layer)
    k = int(np.prod(bottom[axis:]))
    top = (*bottom[:axis], p.num_output)
    x = inputs[0]
    if len(bottom) == 4 and axis == 1:
        x = keras.layers.Flatten(name=ctx.names.make(layer.name, "flatten"))(x)
    elif len(bottom) == 4 and axis == 0:
        raise UnsupportedParameterError(
            "axis 0 folds the batch into the product", layer=layer.name, field="axis"
        )
    elif len(bottom) == 4:
        rows = (bottom[0], int(np.prod(bottom[1:axis])), k)
        x = reshape_caffe(x, bottom, rows, layer, ctx)
    elif axis != len(bottom) - 1:
        flat = (*bottom[:axis], k)
        x = reshape_caffe(x, bottom, flat, layer, ctx)
    dense = keras.layers.Dense(
        p.num_output,
        use_bias=p.bias_term,
        kernel_initializer=SET_LATER,
        name=ctx.names.make(layer.name),
    )
    y = dense(x)
    if len(top) == 4:
        y = reshape_caffe(
            y, (bottom[0], int(np.prod(bottom[1:axis])), p.num_output), top, layer, ctx
        )
    if not layer.blobs:
        return BuildResult(outputs=(y,))
    kernel = dense_kernel(layer.blobs[0], p.transpose, bottom, axis)
    return BuildResult(outputs=(y,), weights=((dense, (kernel, *layer.blobs[1:])),))
