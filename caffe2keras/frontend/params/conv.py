"""Convolution and Deconvolution params (Caffe's base_conv_layer.cpp rules)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from caffe2keras.frontend.params.registry import param_parser, require

Pair = tuple[int, int]


@dataclass(frozen=True)
class ConvParams:
    """Normalised Convolution/Deconvolution params; every spatial value is an explicit (h, w)."""

    num_output: int
    kernel: Pair
    stride: Pair
    pad: Pair
    dilation: Pair
    group: int
    bias_term: bool
    axis: int


def spatial_pair(
    msg: Any, layer_pb: Any, repeated: str, h_name: str, w_name: str, default: int
) -> Pair:
    """Resolve a repeated field (0, 1 or 2 values) and its ``_h``/``_w`` overrides into (h, w).

    Caffe: when either of ``<x>_h``/``<x>_w`` is given, both must be and the repeated form must be
    empty; otherwise one value applies to both axes and two values are (h, w).
    """
    has_h, has_w = msg.HasField(h_name), msg.HasField(w_name)
    values = list(getattr(msg, repeated))
    if has_h or has_w:
        require(
            has_h and has_w,
            layer_pb,
            h_name if not has_h else w_name,
            f"'{h_name}' and '{w_name}' must be given together",
        )
        require(
            not values,
            layer_pb,
            repeated,
            f"'{repeated}' cannot be combined with '{h_name}'/'{w_name}'",
        )
        return int(getattr(msg, h_name)), int(getattr(msg, w_name))
    if not values:
        return default, default
    require(
        len(values) in (1, 2),
        layer_pb,
        repeated,
        f"expected 1 or 2 values for a 2-D layer, got {len(values)}",
    )
    if len(values) == 1:
        return int(values[0]), int(values[0])
    return int(values[0]), int(values[1])


@param_parser("Convolution", "Deconvolution")
def parse_conv(layer_pb: Any) -> ConvParams:
    """convolution_param, with Caffe's defaults."""
    p = layer_pb.convolution_param
    require(p.HasField("num_output"), layer_pb, "num_output", "num_output is required")
    kernel = spatial_pair(p, layer_pb, "kernel_size", "kernel_h", "kernel_w", 0)
    require(
        kernel[0] > 0 and kernel[1] > 0,
        layer_pb,
        "kernel_size",
        f"kernel size must be positive, got {kernel}",
    )
    stride = spatial_pair(p, layer_pb, "stride", "stride_h", "stride_w", 1)
    require(
        stride[0] > 0 and stride[1] > 0,
        layer_pb,
        "stride",
        f"stride must be positive, got {stride}",
    )
    pad = spatial_pair(p, layer_pb, "pad", "pad_h", "pad_w", 0)
    require(pad[0] >= 0 and pad[1] >= 0, layer_pb, "pad", f"pad must be >= 0, got {pad}")
    dil = list(p.dilation)
    require(len(dil) in (0, 1, 2), layer_pb, "dilation", f"expected 1 or 2 values, got {len(dil)}")
    dilation = (1, 1) if not dil else (int(dil[0]), int(dil[-1]))
    require(dilation[0] > 0 and dilation[1] > 0, layer_pb, "dilation", "dilation must be positive")
    require(p.num_output > 0, layer_pb, "num_output", f"must be positive, got {p.num_output}")
    require(p.group > 0, layer_pb, "group", f"must be positive, got {p.group}")
    require(
        p.num_output % p.group == 0,
        layer_pb,
        "group",
        f"num_output {p.num_output} is not a multiple of group {p.group}",
    )
    return ConvParams(
        num_output=int(p.num_output),
        kernel=kernel,
        stride=stride,
        pad=pad,
        dilation=dilation,
        group=int(p.group),
        bias_term=bool(p.bias_term),
        axis=int(p.axis),
    )
