"""Pooling params (Caffe's pooling_layer.cpp rules, BVLC ``round_mode`` and fork ``ceil_mode``)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from caffe2keras.frontend.params.registry import param_parser, require

Pair = tuple[int, int]
POOL_METHODS = {0: "MAX", 1: "AVE", 2: "STOCHASTIC"}


@dataclass(frozen=True)
class PoolingParams:
    """Normalised Pooling params. ``kernel`` is None for global pooling (taken from the input)."""

    method: str  # "MAX" | "AVE" | "STOCHASTIC"
    kernel: Pair | None
    stride: Pair
    pad: Pair
    global_pooling: bool
    ceil: (
        bool  # output size rounds up (Caffe's default) unless ceil_mode: false / round_mode: FLOOR
    )


def _pair(p: Any, layer_pb: Any, name: str, h: str, w: str, default: int) -> Pair:
    has_h, has_w = p.HasField(h), p.HasField(w)
    if has_h or has_w:
        require(
            has_h and has_w,
            layer_pb,
            h if not has_h else w,
            f"'{h}' and '{w}' must be given together",
        )
        require(
            not p.HasField(name), layer_pb, name, f"'{name}' cannot be combined with '{h}'/'{w}'"
        )
        return int(getattr(p, h)), int(getattr(p, w))
    value = int(getattr(p, name)) if p.HasField(name) else default
    return value, value


def _ceil(p: Any, layer_pb: Any) -> bool:
    has_ceil, has_round = p.HasField("ceil_mode"), p.HasField("round_mode")
    require(
        not (has_ceil and has_round),
        layer_pb,
        "ceil_mode",
        "give either 'ceil_mode' (fork) or 'round_mode' (BVLC), not both",
    )
    if has_ceil:
        return bool(p.ceil_mode)
    if has_round:
        return p.round_mode == p.CEIL
    return True


@param_parser("Pooling")
def parse_pooling(layer_pb: Any) -> PoolingParams:
    """pooling_param, with Caffe's defaults and checks."""
    p = layer_pb.pooling_param
    global_pooling = bool(p.global_pooling)
    kernel: Pair | None
    if global_pooling:
        require(
            not (p.HasField("kernel_size") or p.HasField("kernel_h")),
            layer_pb,
            "kernel_size",
            "global_pooling cannot be combined with a kernel size",
        )
        kernel = None
    else:
        kernel = _pair(p, layer_pb, "kernel_size", "kernel_h", "kernel_w", 0)
        require(
            kernel[0] > 0 and kernel[1] > 0,
            layer_pb,
            "kernel_size",
            f"kernel size must be positive, got {kernel}",
        )
    stride = _pair(p, layer_pb, "stride", "stride_h", "stride_w", 1)
    require(stride[0] > 0 and stride[1] > 0, layer_pb, "stride", "stride must be positive")
    pad = _pair(p, layer_pb, "pad", "pad_h", "pad_w", 0)
    require(pad[0] >= 0 and pad[1] >= 0, layer_pb, "pad", "pad must be >= 0")
    if kernel is not None and (pad[0] or pad[1]):
        require(
            pad[0] < kernel[0] and pad[1] < kernel[1],
            layer_pb,
            "pad",
            f"pad {pad} must be smaller than the kernel {kernel}",
        )
    return PoolingParams(
        method=POOL_METHODS[int(p.pool)],
        kernel=kernel,
        stride=stride,
        pad=pad,
        global_pooling=global_pooling,
        ceil=_ceil(p, layer_pb),
    )
