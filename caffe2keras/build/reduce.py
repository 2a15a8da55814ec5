"""Builders of layers that reduce a blob: Reduction and ArgMax."""

from __future__ import annotations

import math
from typing import Any

import numpy as np

from caffe2keras.build.activations_extra import abs_value, affine
from caffe2keras.build.axes import from_caffe_order, no_batch_axis, to_caffe_order
from caffe2keras.build.registry import BuildContext, BuildResult, builder
from caffe2keras.ir.graph import Layer, Shape
from caffe2keras.ir.shapes import canonical_axis
from caffe2keras.layout import keras_axis


def _caffe_reshape(x: Any, dst: Shape, layer: Layer, ctx: BuildContext, tag: str) -> Any:
    """Reshape a tensor whose axes are in Caffe order to the blob ``dst``, in Keras layout."""
    import keras

    x = keras.layers.Reshape(tuple(dst[1:]), name=ctx.names.make(layer.name, tag))(x)
    return from_caffe_order(x, dst, layer, ctx, f"{tag}_nhwc")


@builder("Reduction")
def build_reduction(layer: Layer, inputs: list[Any], ctx: BuildContext) -> BuildResult:
    """Caffe reduction_layer.cpp: per leading index, over all axes from ``axis`` on,
    SUM: sum(x), ASUM: sum(|x|), SUMSQ: sum(x^2), MEAN: sum(x) / count; all times ``coeff``.
    The sum is a Dense with a kernel of ones (Caffe's own dot with ones); then Caffe scales."""
    import keras

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


@builder("ArgMax")
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
