"""Layers that reduce a blob: Reduction (SUM/ASUM/SUMSQ/MEAN) and ArgMax: params, shapes and
builders."""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

from caffe2keras.errors import ValidationError
from caffe2keras.families.activations import abs_value, affine
from caffe2keras.frontend.params.registry import param_parser, require
from caffe2keras.ir.graph import Layer, Shape
from caffe2keras.ir.shapes.registry import (
    LayerShapes,
    canonical_axis,
    shape_rule,
)
from caffe2keras.keras_model.axes import from_caffe_order, no_batch_axis, to_caffe_order
from caffe2keras.keras_model.registry import (
    BuildContext,
    BuildResult,
    builder,
)
from caffe2keras.layout import keras_axis


@dataclass(frozen=True)
class ReductionParams:
    operation: str  # "SUM" | "ASUM" | "SUMSQ" | "MEAN"
    axis: int
    coeff: float


@dataclass(frozen=True)
class ArgMaxParams:
    out_max_val: bool
    top_k: int
    axis: int | None


@param_parser("Reduction")
def parse_reduction(layer_pb: Any) -> ReductionParams:
    p = layer_pb.reduction_param
    names = {1: "SUM", 2: "ASUM", 3: "SUMSQ", 4: "MEAN"}
    return ReductionParams(
        operation=names[int(p.operation)], axis=int(p.axis), coeff=float(p.coeff)
    )


@param_parser("ArgMax")
def parse_argmax(layer_pb: Any) -> ArgMaxParams:
    p = layer_pb.argmax_param
    require(p.top_k >= 1, layer_pb, "top_k", f"must be >= 1, got {p.top_k}")
    axis = int(p.axis) if p.HasField("axis") else None
    return ArgMaxParams(out_max_val=bool(p.out_max_val), top_k=int(p.top_k), axis=axis)


@shape_rule("Reduction")
def reduction_shapes(layer: Layer, bottoms: list[Shape]) -> LayerShapes:
    axis = canonical_axis(layer.params.axis, len(bottoms[0]), layer)
    return LayerShapes(tops=(tuple(bottoms[0][:axis]),))


@shape_rule("ArgMax")
def argmax_shapes(layer: Layer, bottoms: list[Shape]) -> LayerShapes:
    """Caffe's ``argmax_layer.cpp``: with axis, that axis becomes top_k; else (N, 1|2, top_k)."""
    p = layer.params
    shape = bottoms[0]
    if p.axis is None:
        if p.top_k > math.prod(shape[1:]):
            raise ValidationError(
                "top_k exceeds the number of values", layer=layer.name, field="top_k"
            )
        # Caffe keeps the bottom's rank (at least 3): (N, 1 or 2 with out_max_val, top_k, 1...)
        out = [1] * max(3, len(shape))
        out[0], out[1], out[2] = shape[0], 2 if p.out_max_val else 1, p.top_k
        return LayerShapes(tops=(tuple(out),))
    axis = canonical_axis(p.axis, len(shape), layer)
    if p.top_k > shape[axis]:
        raise ValidationError("top_k exceeds the axis size", layer=layer.name, field="top_k")
    out = list(shape)
    out[axis] = p.top_k
    return LayerShapes(tops=(tuple(out),))


def _caffe_reshape(x: Any, dst: Shape, layer: Layer, ctx: BuildContext, tag: str) -> Any:
    """Reshape a tensor whose axes are in Caffe order to the blob ``dst``, in Keras layout."""
    import keras

    x = keras.layers.Reshape(tuple(dst[1:]), name=ctx.names.make(layer.name, tag))(x)
    return from_caffe_order(x, dst, layer, ctx, f"{tag}_nhwc")


@builder(
    "Reduction",
    emits="Dense with a ones kernel (+ Reshape, Rescaling)",
    notes="over all axes >= `axis`, times `coeff`",
)
def build_reduction(layer: Layer, inputs: list[Any], ctx: BuildContext) -> BuildResult:
    """Caffe reduction_layer.cpp: per leading index, over all axes from ``axis`` on,
    SUM: sum(x), ASUM: sum(|x|), SUMSQ: sum(x^2), MEAN: sum(x) / count; all times ``coeff``.
    The sum is a Dense with a kernel of ones (Caffe's own dot with ones); then Caffe scales."""
    import keras
    import numpy as np

    p = layer.params
    shape = ctx.bottom_shapes(layer)[0]
    axis = canonical_axis(p.axis, len(shape), layer)
    no_batch_axis(layer, axis, "axis", "Reduction")
    count = math.prod(shape[axis:])
    x = inputs[0]
    if p.operation == "ASUM":
        x = abs_value(x, layer, ctx, "abs")
    elif p.operation == "SUMSQ":
        x = keras.layers.Multiply(name=ctx.names.make(layer.name, "square"))([x, x])
    x = to_caffe_order(x, shape, layer, ctx, "nchw")
    x = keras.layers.Reshape((*shape[1:axis], count), name=ctx.names.make(layer.name, "flat"))(x)
    dense = keras.layers.Dense(1, use_bias=False, name=ctx.names.make(layer.name, "sum"))
    x = dense(x)
    # Caffe: coeff_ /= dim_ for MEAN, in the blob's float type
    scale = float(np.float32(p.coeff) / np.float32(count)) if p.operation == "MEAN" else p.coeff
    x = affine(x, scale, 0.0, layer, ctx, "coeff")
    y = _caffe_reshape(x, shape[:axis], layer, ctx, "out")
    return BuildResult(outputs=(y,), weights=((dense, (np.ones((count, 1), np.float32),)),))


@builder(
    "ArgMax",
    emits="TopK (custom, keras.ops)",
    notes="`axis`, `top_k`, `out_max_val`; Caffe's tie order",
)
def build_argmax(layer: Layer, inputs: list[Any], ctx: BuildContext) -> BuildResult:
    """Caffe argmax_layer.cpp: the top_k indices (as floats) or, with out_max_val, values along
    ``axis``; without an axis, over each flattened (C, H, W) sample: indices, then values when
    out_max_val, as top (N, 1 or 2, top_k[, 1])."""
    import keras

    from caffe2keras.layers import TopK

    p = layer.params
    shape = ctx.bottom_shapes(layer)[0]
    rank = len(shape)
    if p.axis is not None:
        axis = canonical_axis(p.axis, rank, layer)
        no_batch_axis(layer, axis, "axis", "ArgMax")
        out = "values" if p.out_max_val else "indices"
        top = TopK(keras_axis(axis, rank), p.top_k, out, name=ctx.names.make(layer.name))
        return BuildResult(outputs=(top(inputs[0]),))
    x = to_caffe_order(inputs[0], shape, layer, ctx, "nchw")
    x = keras.layers.Reshape((math.prod(shape[1:]),), name=ctx.names.make(layer.name, "flat"))(x)
    parts = [TopK(1, p.top_k, "indices", name=ctx.names.make(layer.name, "index"))(x)]
    if p.out_max_val:
        parts.append(TopK(1, p.top_k, "values", name=ctx.names.make(layer.name, "value"))(x))
    y = parts[0]
    if len(parts) > 1:
        y = keras.layers.Concatenate(axis=1, name=ctx.names.make(layer.name, "cat"))(parts)
    return BuildResult(outputs=(_caffe_reshape(y, ctx.shapes[layer.tops[0]], layer, ctx, ""),))
