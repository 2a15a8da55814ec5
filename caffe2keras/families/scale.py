"""Scale, Bias and Axpy: params, shapes and builders.

- One learned per-channel parameter: a BatchNormalization used as an exact affine map.
- A learned parameter over other axes [axis, axis + num_axes): the blob's elements are folded into
  one axis of (N, before, params, after) for a BatchNormalization used as an exact affine map.
- A scalar parameter (num_axes 0): Rescaling.
- A second bottom supplying the scale (bias): Multiply (Add) after reshaping it to broadcast.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from caffe2keras.errors import UnsupportedParameterError, ValidationError
from caffe2keras.families.batchnorm import affine_batch_norm, channel_axis
from caffe2keras.frontend.params.registry import no_params, param_parser, require
from caffe2keras.ir.graph import Layer, Shape
from caffe2keras.ir.shapes.registry import (
    LayerShapes,
    canonical_axis,
    shape_rule,
)
from caffe2keras.keras_model.axes import broadcastable, from_caffe_order, to_caffe_order
from caffe2keras.keras_model.registry import (
    BuildContext,
    BuildResult,
    builder,
)
from caffe2keras.layout import keras_axis, keras_shape

if TYPE_CHECKING:
    import numpy as np


no_params("Axpy")


@dataclass(frozen=True)
class ScaleParams:
    """Scale and Bias: the parameter covers bottom axes [axis, axis + num_axes)."""

    axis: int
    num_axes: int
    bias_term: bool


@param_parser("Scale")
def parse_scale(layer_pb: Any) -> ScaleParams:
    p = layer_pb.scale_param
    require(p.num_axes >= -1, layer_pb, "num_axes", f"must be >= -1, got {p.num_axes}")
    return ScaleParams(axis=int(p.axis), num_axes=int(p.num_axes), bias_term=bool(p.bias_term))


@param_parser("Bias")
def parse_bias(layer_pb: Any) -> ScaleParams:
    p = layer_pb.bias_param
    require(p.num_axes >= -1, layer_pb, "num_axes", f"must be >= -1, got {p.num_axes}")
    return ScaleParams(axis=int(p.axis), num_axes=int(p.num_axes), bias_term=True)


def _param_shape(layer: Layer, shape: Shape) -> Shape:
    p = layer.params
    axis = canonical_axis(p.axis, len(shape), layer)
    end = len(shape) if p.num_axes == -1 else axis + p.num_axes
    if end > len(shape):
        raise ValidationError(
            f"axis {p.axis} + num_axes {p.num_axes} exceed the bottom's {len(shape)} axes",
            layer=layer.name,
            field="num_axes",
        )
    return shape[axis:end]


@shape_rule("Scale", "Bias")
def scale_shapes(layer: Layer, bottoms: list[Shape]) -> LayerShapes:
    p = layer.params
    if len(bottoms) == 2:
        # the second bottom supplies the scale (or bias); its shape sits at bottom[0][axis:]
        axis = canonical_axis(p.axis, len(bottoms[0]), layer)
        other = bottoms[1]
        if tuple(bottoms[0][axis : axis + len(other)]) != tuple(other):
            raise ValidationError(
                f"second bottom shape {list(other)} does not match the first "
                f"bottom {list(bottoms[0])} at axis {axis}",
                layer=layer.name,
                field="axis",
            )
        blobs: tuple[Shape, ...] = (other,) if layer.type == "Scale" and p.bias_term else ()
        return LayerShapes(tops=(bottoms[0],), blobs=blobs)
    pshape = _param_shape(layer, bottoms[0])
    blobs = (pshape, pshape) if (layer.type == "Scale" and p.bias_term) else (pshape,)
    return LayerShapes(tops=(bottoms[0],), blobs=blobs)


@shape_rule("Axpy")
def axpy_shapes(layer: Layer, bottoms: list[Shape]) -> LayerShapes:
    """SENet's Axpy: top = a * x + y with a of shape (N, C, 1, 1) and x, y of shape (N, C, H, W)."""
    if len(bottoms) != 3:
        raise ValidationError("Axpy needs 3 bottoms (a, x, y)", layer=layer.name, field="bottom")
    a, x, y = bottoms
    if x != y or a[:2] != x[:2] or any(d != 1 for d in a[2:]):
        raise ValidationError(
            f"Axpy shapes do not fit: a {list(a)}, x {list(x)}, y {list(y)}",
            layer=layer.name,
            field="bottom",
        )
    return LayerShapes(tops=(x,))


def _channelwise(layer: Layer, ctx: BuildContext) -> bool:
    shape = ctx.bottom_shapes(layer)[0]
    p = layer.params
    return (
        len(layer.bottoms) == 1
        and canonical_axis(p.axis, len(shape), layer) == 1
        and (p.num_axes == 1 or (p.num_axes == -1 and len(shape) == 2))
    )


@builder(
    "Scale",
    "Bias",
    emits={
        "Scale": "BatchNormalization as an affine map (or Reshape + Multiply for a second bottom)",
        "Bias": "BatchNormalization as an affine map (or Reshape + Add for a second bottom)",
    },
    notes="any `axis`/`num_axes`; a second bottom supplies the scale (SE blocks), broadcast "
    "from `axis`",
)
def build_scale(layer: Layer, inputs: list[Any], ctx: BuildContext) -> BuildResult:
    """Per-channel gamma (and beta) as a BatchNormalization with mean 0 and variance + eps = 1;
    other axes, scalars and a second bottom below."""
    import numpy as np

    if len(layer.bottoms) == 2:
        return scale_two_bottoms(layer, inputs, ctx)
    if not _channelwise(layer, ctx):
        return scale_over_axes(layer, inputs, ctx)
    has_scale = layer.type == "Scale"
    has_bias = layer.type == "Bias" or layer.params.bias_term
    c = ctx.bottom_shapes(layer)[0][1]
    bn, stats = affine_batch_norm(channel_axis(layer, ctx), has_scale, has_bias, c, layer, ctx)
    y = bn(inputs[0])
    learned = tuple(np.asarray(b, np.float32).reshape(-1) for b in layer.blobs)
    if not learned:  # no caffemodel: Caffe's default fillers (scale 1, bias 0)
        learned = (np.ones(c, np.float32),) * has_scale + (np.zeros(c, np.float32),) * has_bias
    return BuildResult(outputs=(y,), weights=((bn, (*learned, *stats)),))


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
    import numpy as np

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
    import numpy as np

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
    import numpy as np

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


@builder("Axpy", emits="Multiply + Add", notes="SENet's a * x + y")
def build_axpy(layer: Layer, inputs: list[Any], ctx: BuildContext) -> BuildResult:
    """SENet's Axpy: top = a * x + y, ``a`` of shape (N, C, 1, 1) (or (N, C)) per channel."""
    import keras

    a_shape, x_shape, _ = ctx.bottom_shapes(layer)
    a = broadcastable(inputs[0], a_shape, len(x_shape), layer, ctx)
    ax = keras.layers.Multiply(name=ctx.names.make(layer.name, "ax"))([a, inputs[1]])
    return BuildResult(
        outputs=(keras.layers.Add(name=ctx.names.make(layer.name))([ax, inputs[2]]),)
    )
