"""BatchNorm, alone or fused with its Scale (``BatchNormScale``, made by the fusion pass): params,
shapes and builders. BVLC's blobs are (mean*s, var*s, s) (:mod:`caffe2keras.ir.batchnorm`)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from caffe2keras.errors import UnsupportedParameterError
from caffe2keras.frontend.params.registry import param_parser, require
from caffe2keras.ir.batchnorm import bn_statistics
from caffe2keras.ir.graph import Layer, Shape
from caffe2keras.ir.shapes.registry import (
    LayerShapes,
    shape_rule,
)
from caffe2keras.keras_model.registry import (
    BuildContext,
    BuildResult,
    builder,
)
from caffe2keras.layout import keras_axis

if TYPE_CHECKING:
    import numpy as np


@dataclass(frozen=True)
class BatchNormParams:
    """``use_global_stats`` is None when the prototxt leaves it to the phase (TEST: True).
    ``scale_bias``: NVCaffe's layer with its own scale and bias (blobs 3 and 4)."""

    eps: float
    use_global_stats: bool | None
    scale_bias: bool = False


@param_parser("BatchNorm")
def parse_batch_norm(layer_pb: Any) -> BatchNormParams:
    p = layer_pb.batch_norm_param
    require(p.eps >= 0, layer_pb, "eps", f"must be >= 0, got {p.eps}")
    ugs = bool(p.use_global_stats) if p.HasField("use_global_stats") else None
    # NVCaffe batch_norm_layer.cpp: either filler implies scale_bias
    scale_bias = p.scale_bias or p.HasField("scale_filler") or p.HasField("bias_filler")
    return BatchNormParams(eps=float(p.eps), use_global_stats=ugs, scale_bias=bool(scale_bias))


@shape_rule("BatchNorm")
def batch_norm_shapes(layer: Layer, bottoms: list[Shape]) -> LayerShapes:
    c = bottoms[0][1] if len(bottoms[0]) > 1 else 1
    return LayerShapes(tops=(bottoms[0],), blobs=((c,), (c,), (1,)))


@shape_rule("BatchNormScale")
def fused_bn_shapes(layer: Layer, bottoms: list[Shape]) -> LayerShapes:
    c = bottoms[0][1]
    return LayerShapes(tops=(bottoms[0],), blobs=((c,),) * 4)


# Epsilon for a BatchNormalization used as a pure per-channel affine map: with variance 1 - 2**-10,
# variance + epsilon is exactly 1.0 in float32, so the normalisation divides by exactly 1.
_AFFINE_EPS = 2.0**-10


def channel_axis(layer: Layer, ctx: BuildContext) -> int:
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


@builder(
    "BatchNormScale",
    emits="BatchNormalization",
    notes="BatchNorm + Scale fused when safe; NVCaffe's `scale_bias` (5 blobs, eps >= 1e-5) "
    "exactly",
)
def build_bn_scale(layer: Layer, inputs: list[Any], ctx: BuildContext) -> BuildResult:
    """One BatchNormalization: gamma/beta from Scale, mean/variance from BatchNorm, Caffe's eps."""
    import keras

    bn = keras.layers.BatchNormalization(
        axis=channel_axis(layer, ctx), epsilon=layer.params.eps, name=ctx.names.make(layer.name)
    )
    y = bn(inputs[0])
    mean, var, gamma, beta = layer.blobs
    return BuildResult(outputs=(y,), weights=((bn, (gamma, beta, mean, var)),))


@builder("BatchNorm", emits="BatchNormalization (no gamma/beta)", notes="alone: no gamma/beta")
def build_batch_norm(layer: Layer, inputs: list[Any], ctx: BuildContext) -> BuildResult:
    """A BatchNormalization without gamma/beta (a BatchNorm no Scale could be fused into)."""
    import keras

    _require_global_stats(layer)
    bn = keras.layers.BatchNormalization(
        axis=channel_axis(layer, ctx),
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
    import numpy as np

    bn = keras.layers.BatchNormalization(
        axis=axis,
        epsilon=_AFFINE_EPS,
        scale=scale,
        center=center,
        name=ctx.names.make(layer.name, suffix),
    )
    return bn, (np.zeros(n, np.float32), np.full(n, 1.0 - _AFFINE_EPS, np.float32))
