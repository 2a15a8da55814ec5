"""Scale/Bias beyond one learned per-channel parameter, and Axpy.

- A learned parameter over other axes [axis, axis + num_axes): the blob's elements are folded into
  one axis of (N, before, params, after) for a BatchNormalization used as an exact affine map.
- A scalar parameter (num_axes 0): Rescaling.
- A second bottom supplying the scale (bias): Multiply (Add) after reshaping it to broadcast.
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np

from caffe2keras.build.axes import broadcastable, from_caffe_order, to_caffe_order
from caffe2keras.build.norm import affine_batch_norm
from caffe2keras.build.registry import BuildContext, BuildResult, builder
from caffe2keras.errors import UnsupportedParameterError
from caffe2keras.ir.graph import Layer, Shape
from caffe2keras.ir.shapes import canonical_axis
from caffe2keras.layout import keras_axis, keras_shape


def _flat_affine(
    x: Any,
    shape: Shape,
    axes: range,
    params: tuple[np.ndarray | None, np.ndarray | None],
    layer: Layer,
    ctx: BuildContext,
) -> BuildResult:
    """``x * gamma + beta`` with gamma/beta (either may be None) over Caffe ``axes`` of ``shape``.

    When the axes are contiguous in the Keras layout the tensor is folded there directly;
    otherwise it is put in Caffe order first (and back afterwards).
    """
    import keras

    rank = len(shape)
    kaxes = [keras_axis(a, rank) for a in axes]
    lo = min(kaxes)
    contiguous = sorted(kaxes) == list(range(lo, lo + len(kaxes)))
    if contiguous:
        order = tuple(int(i) for i in np.argsort(kaxes))
        view = keras_shape(shape)
    else:
        x = to_caffe_order(x, shape, layer, ctx, "nchw")
        order, view, lo = tuple(range(len(kaxes))), tuple(shape), axes[0]
    hi = lo + len(kaxes)
    n = math.prod(view[lo:hi])
    fold = (math.prod(view[1:lo]), n, math.prod(view[hi:]))
    x = keras.layers.Reshape(fold, name=ctx.names.make(layer.name, "fold"))(x)
    gamma, beta = params
    bn, stats = affine_batch_norm(2, gamma is not None, beta is not None, n, layer, ctx, "affine")
    x = bn(x)
    x = keras.layers.Reshape(tuple(view[1:]), name=ctx.names.make(layer.name))(x)
    if not contiguous:
        x = from_caffe_order(x, shape, layer, ctx, "nhwc")
    learned = tuple(np.transpose(p, order).reshape(-1) for p in params if p is not None)
    return BuildResult(outputs=(x,), weights=((bn, (*learned, *stats)),))


def scale_over_axes(layer: Layer, inputs: list[Any], ctx: BuildContext) -> BuildResult:
    """A single-bottom Scale/Bias whose learned blob covers any axes but the batch axis."""
    import keras

    shape = ctx.bottom_shapes(layer)[0]
    p = layer.params
    axis = canonical_axis(p.axis, len(shape), layer)
    end = len(shape) if p.num_axes == -1 else axis + p.num_axes
    has_scale = layer.type == "Scale"
    pshape = shape[axis:end]
    # without a caffemodel: Caffe's default fillers (scale 1, bias 0)
    blobs = [np.asarray(b, np.float32).reshape(pshape) for b in layer.blobs] or [
        np.ones(pshape, np.float32) if has_scale else np.zeros(pshape, np.float32),
        np.zeros(pshape, np.float32),
    ]
    gamma = blobs[0] if has_scale else None
    beta = (blobs[-1] if has_scale else blobs[0]) if (not has_scale or p.bias_term) else None
    if end == axis:  # a scalar: Caffe's num_axes 0
        y = keras.layers.Rescaling(
            1.0 if gamma is None else float(gamma),
            offset=0.0 if beta is None else float(beta),
            name=ctx.names.make(layer.name),
        )(inputs[0])
        return BuildResult(outputs=(y,))
    if axis == 0:
        raise UnsupportedParameterError(
            "a learned Scale/Bias over the batch axis differs per sample; a Keras model has a "
            "free batch dimension",
            layer=layer.name,
            field="axis",
        )
    return _flat_affine(inputs[0], shape, range(axis, end), (gamma, beta), layer, ctx)


def _batch_constant_bias(layer: Layer, other: Shape) -> np.ndarray:
    """The learned bias of a two-bottom Scale: Caffe gives it the second bottom's shape, batch
    axis included; usable only when it is the same for every sample."""
    if not layer.blobs:  # Caffe's default bias filler
        return np.zeros(other[1:], np.float32)
    bias = np.asarray(layer.blobs[-1], np.float32).reshape(other)
    if not np.array_equal(bias, np.broadcast_to(bias[:1], bias.shape)):
        raise UnsupportedParameterError(
            "the learned bias of a two-bottom Scale has the second bottom's shape including the "
            "batch axis, and its values differ between samples",
            layer=layer.name,
            field="bias_term",
        )
    return bias[0]


def scale_two_bottoms(layer: Layer, inputs: list[Any], ctx: BuildContext) -> BuildResult:
    """Caffe scale_layer.cpp / bias_layer.cpp with bottom[1]: x * s (x + s), s broadcast over
    the axes after its own; a Scale's bias_term adds a learned blob of s's shape."""
    import keras

    shape, other = ctx.bottom_shapes(layer)
    axis = canonical_axis(layer.params.axis, len(shape), layer)
    if axis != 0:
        raise UnsupportedParameterError(
            f"the second bottom covers axes {axis}.. and so has no batch axis; only axis 0 "
            "(a second bottom with the batch axis) can broadcast in Keras",
            layer=layer.name,
            field="axis",
        )
    s = broadcastable(inputs[1], other, len(shape), layer, ctx)
    with_bias = layer.type == "Scale" and layer.params.bias_term
    op = keras.layers.Multiply if layer.type == "Scale" else keras.layers.Add
    y = op(name=ctx.names.make(layer.name, "op" if with_bias else ""))([inputs[0], s])
    if not with_bias:
        return BuildResult(outputs=(y,))
    bias = _batch_constant_bias(layer, other)
    if bias.ndim == 0:
        offset = keras.layers.Rescaling(1.0, offset=float(bias), name=ctx.names.make(layer.name))
        return BuildResult(outputs=(offset(y),))
    return _flat_affine(y, shape, range(1, len(other)), (None, bias), layer, ctx)


@builder("Axpy")
def build_axpy(layer: Layer, inputs: list[Any], ctx: BuildContext) -> BuildResult:
    """SENet's Axpy: top = a * x + y, ``a`` of shape (N, C, 1, 1) (or (N, C)) per channel."""
    import keras

    a_shape, x_shape, _ = ctx.bottom_shapes(layer)
    a = broadcastable(inputs[0], a_shape, len(x_shape), layer, ctx)
    ax = keras.layers.Multiply(name=ctx.names.make(layer.name, "ax"))([a, inputs[1]])
    return BuildResult(
        outputs=(keras.layers.Add(name=ctx.names.make(layer.name))([ax, inputs[2]]),)
    )
