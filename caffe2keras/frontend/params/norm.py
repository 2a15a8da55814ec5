"""BatchNorm, Scale, Bias, LRN and MVN params."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from caffe2keras.frontend.params.registry import param_parser, require


@dataclass(frozen=True)
class BatchNormParams:
    """``use_global_stats`` is None when the prototxt leaves it to the phase (TEST: True).
    ``scale_bias``: NVCaffe's layer with its own scale and bias (blobs 3 and 4)."""

    eps: float
    use_global_stats: bool | None
    scale_bias: bool = False


@dataclass(frozen=True)
class ScaleParams:
    """Scale and Bias: the parameter covers bottom axes [axis, axis + num_axes)."""

    axis: int
    num_axes: int
    bias_term: bool


@dataclass(frozen=True)
class LRNParams:
    local_size: int
    alpha: float
    beta: float
    k: float
    region: str  # "ACROSS_CHANNELS" | "WITHIN_CHANNEL"


@dataclass(frozen=True)
class MVNParams:
    normalize_variance: bool
    across_channels: bool
    eps: float


@param_parser("BatchNorm")
def parse_batch_norm(layer_pb: Any) -> BatchNormParams:
    p = layer_pb.batch_norm_param
    require(p.eps >= 0, layer_pb, "eps", f"must be >= 0, got {p.eps}")
    ugs = bool(p.use_global_stats) if p.HasField("use_global_stats") else None
    # NVCaffe batch_norm_layer.cpp: either filler implies scale_bias
    scale_bias = p.scale_bias or p.HasField("scale_filler") or p.HasField("bias_filler")
    return BatchNormParams(eps=float(p.eps), use_global_stats=ugs, scale_bias=bool(scale_bias))


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


@param_parser("LRN")
def parse_lrn(layer_pb: Any) -> LRNParams:
    p = layer_pb.lrn_param
    require(
        p.local_size % 2 == 1,
        layer_pb,
        "local_size",
        f"Caffe requires an odd local_size, got {p.local_size}",
    )
    region = "WITHIN_CHANNEL" if p.norm_region == p.WITHIN_CHANNEL else "ACROSS_CHANNELS"
    return LRNParams(
        local_size=int(p.local_size),
        alpha=float(p.alpha),
        beta=float(p.beta),
        k=float(p.k),
        region=region,
    )


@param_parser("MVN")
def parse_mvn(layer_pb: Any) -> MVNParams:
    p = layer_pb.mvn_param
    return MVNParams(
        normalize_variance=bool(p.normalize_variance),
        across_channels=bool(p.across_channels),
        eps=float(p.eps),
    )
