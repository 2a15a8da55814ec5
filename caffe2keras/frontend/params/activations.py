"""Element-wise activation params."""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

from caffe2keras.frontend.params.registry import no_params, param_parser, require

no_params("ReLU6", "Sigmoid", "TanH", "AbsVal", "BNLL")


@dataclass(frozen=True)
class ReLUParams:
    negative_slope: float


@dataclass(frozen=True)
class PReLUParams:
    channel_shared: bool


@dataclass(frozen=True)
class ELUParams:
    alpha: float


@dataclass(frozen=True)
class PowerParams:
    """(shift + scale * x) ** power."""

    power: float
    scale: float
    shift: float


@dataclass(frozen=True)
class ExpLogParams:
    """Exp: base ** (shift + scale * x); Log: log_base(shift + scale * x). base -1 means e."""

    base: float
    scale: float
    shift: float


@dataclass(frozen=True)
class ThresholdParams:
    threshold: float


@dataclass(frozen=True)
class ClipParams:
    min: float
    max: float


@dataclass(frozen=True)
class SwishParams:
    beta: float


@param_parser("ReLU")
def parse_relu(layer_pb: Any) -> ReLUParams:
    return ReLUParams(negative_slope=float(layer_pb.relu_param.negative_slope))


@param_parser("PReLU")
def parse_prelu(layer_pb: Any) -> PReLUParams:
    return PReLUParams(channel_shared=bool(layer_pb.prelu_param.channel_shared))


@param_parser("ELU")
def parse_elu(layer_pb: Any) -> ELUParams:
    return ELUParams(alpha=float(layer_pb.elu_param.alpha))


@param_parser("Power")
def parse_power(layer_pb: Any) -> PowerParams:
    p = layer_pb.power_param
    return PowerParams(power=float(p.power), scale=float(p.scale), shift=float(p.shift))


def _exp_log(layer_pb: Any, p: Any) -> ExpLogParams:
    base = float(p.base)
    require(base == -1.0 or base > 0, layer_pb, "base", f"must be -1 (e) or positive, got {base}")
    require(base != 1.0, layer_pb, "base", "base 1 is not allowed (Caffe refuses it too)")
    return ExpLogParams(
        base=math.e if base == -1.0 else base, scale=float(p.scale), shift=float(p.shift)
    )


@param_parser("Exp")
def parse_exp(layer_pb: Any) -> ExpLogParams:
    return _exp_log(layer_pb, layer_pb.exp_param)


@param_parser("Log")
def parse_log(layer_pb: Any) -> ExpLogParams:
    return _exp_log(layer_pb, layer_pb.log_param)


@param_parser("Threshold")
def parse_threshold(layer_pb: Any) -> ThresholdParams:
    return ThresholdParams(threshold=float(layer_pb.threshold_param.threshold))


@param_parser("Clip")
def parse_clip(layer_pb: Any) -> ClipParams:
    p = layer_pb.clip_param
    require(p.HasField("min"), layer_pb, "min", "Clip needs 'min'")
    require(p.HasField("max"), layer_pb, "max", "Clip needs 'max'")
    require(p.min <= p.max, layer_pb, "min", f"min {p.min} is greater than max {p.max}")
    return ClipParams(min=float(p.min), max=float(p.max))


@param_parser("Swish")
def parse_swish(layer_pb: Any) -> SwishParams:
    return SwishParams(beta=float(layer_pb.swish_param.beta))
