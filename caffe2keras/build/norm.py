"""BatchNorm (fused with Scale or alone) and standalone Scale/Bias builders."""

from __future__ import annotations

from typing import Any

import numpy as np

from caffe2keras.build.registry import BuildContext, BuildResult, builder
from caffe2keras.errors import UnsupportedParameterError
from caffe2keras.ir.batchnorm import bn_statistics
from caffe2keras.ir.graph import Layer
from caffe2keras.ir.shapes import canonical_axis
from caffe2keras.layout import keras_axis

# Epsilon for a BatchNormalization used as a pure per-channel affine map: with variance 1 - 2**-10,
# variance + epsilon is exactly 1.0 in float32, so the normalisation divides by exactly 1.
_AFFINE_EPS = 2.0**-10


def _channel_axis(layer: Layer, ctx: BuildContext) -> int:
    rank = len(ctx.bottom_shapes(layer)[0])
    return keras_axis(1, rank) if rank > 1 else 0


def _require_global_stats(layer: Layer) -> None:
    if layer.params.use_global_stats is False:
        raise UnsupportedParameterError(
            "use_global_stats: false normalises with the statistics of each batch at test time; "
            "a converted model cannot reproduce that",
            layer=layer.name,
            field="use_global_stats",
        )


@builder("BatchNormScale")
def build_bn_scale(layer: Layer, inputs: list[Any], ctx: BuildContext) -> BuildResult:
    """One BatchNormalization: gamma/beta from Scale, mean/variance from BatchNorm, Caffe's eps."""
    import keras

    bn = keras.layers.BatchNormalization(
        axis=_channel_axis(layer, ctx), epsilon=layer.params.eps, name=ctx.names.make(layer.name)
    )
    y = bn(inputs[0])
    mean, var, gamma, beta = layer.blobs
    return BuildResult(outputs=(y,), weights=((bn, (gamma, beta, mean, var)),))


@builder("BatchNorm")
def build_batch_norm(layer: Layer, inputs: list[Any], ctx: BuildContext) -> BuildResult:
    """A BatchNormalization without gamma/beta (a BatchNorm no Scale could be fused into)."""
    import keras

    _require_global_stats(layer)
    bn = keras.layers.BatchNormalization(
        axis=_channel_axis(layer, ctx),
        epsilon=layer.params.eps,
        center=False,
        scale=False,
        name=ctx.names.make(layer.name),
    )
    y = bn(inputs[0])
    weights = ((bn, bn_statistics(layer)),) if layer.blobs else ()
    return BuildResult(outputs=(y,), weights=weights)


def affine_batch_norm(
    axis: int, scale: bool, center: bool, n: int, layer: Layer, ctx: BuildContext, suffix: str = ""
) -> tuple[Any, tuple[np.ndarray, np.ndarray]]:
    """A BatchNormalization computing exactly ``x * gamma + beta`` along ``axis`` (``n``
    features), and the moving statistics (mean 0, variance + eps = 1) to give it."""
    import keras

    bn = keras.layers.BatchNormalization(
        axis=axis,
        epsilon=_AFFINE_EPS,
        scale=scale,
        center=center,
        name=ctx.names.make(layer.name, suffix),
    )
    return bn, (np.zeros(n, np.float32), np.full(n, 1.0 - _AFFINE_EPS, np.float32))


def _channelwise(layer: Layer, ctx: BuildContext) -> bool:
    shape = ctx.bottom_shapes(layer)[0]
    p = layer.params
    return (
        len(layer.bottoms) == 1
        and canonical_axis(p.axis, len(shape), layer) == 1
        and (p.num_axes == 1 or (p.num_axes == -1 and len(shape) == 2))
    )


@builder("Scale", "Bias")
def build_scale(layer: Layer, inputs: list[Any], ctx: BuildContext) -> BuildResult:
    """Per-channel gamma (and beta) as a BatchNormalization with mean 0 and variance + eps = 1;
    other axes, scalars and a second bottom in :mod:`caffe2keras.build.scale_axes`."""
    from caffe2keras.build import scale_axes

    if len(layer.bottoms) == 2:
        return scale_axes.scale_two_bottoms(layer, inputs, ctx)
    if not _channelwise(layer, ctx):
        return scale_axes.scale_over_axes(layer, inputs, ctx)
    has_scale = layer.type == "Scale"
    has_bias = layer.type == "Bias" or layer.params.bias_term
    c = ctx.bottom_shapes(layer)[0][1]
    bn, stats = affine_batch_norm(_channel_axis(layer, ctx), has_scale, has_bias, c, layer, ctx)
    y = bn(inputs[0])
    learned = tuple(np.asarray(b, np.float32).reshape(-1) for b in layer.blobs)
    if not learned:  # no caffemodel: Caffe's default fillers (scale 1, bias 0)
        learned = (np.ones(c, np.float32),) * has_scale + (np.zeros(c, np.float32),) * has_bias
    return BuildResult(outputs=(y,), weights=((bn, (*learned, *stats)),))
