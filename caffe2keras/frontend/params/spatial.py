"""The spatial parameter forms that convolution and pooling share (``base_conv_layer.cpp``,
``pooling_layer.cpp``): a repeated field or its ``_h``/``_w`` overrides, resolved into (h, w)."""

from __future__ import annotations

from typing import Any

from caffe2keras.frontend.params.registry import require

Pair = tuple[int, int]


def spatial_pair(
    msg: Any,
    layer_pb: Any,
    repeated: str,
    h_name: str,
    w_name: str,
    default: int,
    positive: bool = False,
) -> Pair:
    """Resolve a repeated field (0, 1 or 2 values) and its ``_h``/``_w`` overrides into (h, w).

    ``base_conv_layer.cpp`` LayerSetUp: when either of ``<x>_h``/``<x>_w`` is given the repeated
    form must be empty and the pair is read as it stands, so a lone one leaves the other at its
    proto default 0 (fine for a pad; a kernel or stride, ``positive``, must then be > 0 and is
    refused). Otherwise one value applies to both axes and two values are (h, w).
    """
    has_h, has_w = msg.HasField(h_name), msg.HasField(w_name)
    values = list(getattr(msg, repeated))
    if has_h or has_w:
        require(
            not values,
            layer_pb,
            repeated,
            f"'{repeated}' cannot be combined with '{h_name}'/'{w_name}'",
        )
        given, missing = (h_name, w_name) if has_h else (w_name, h_name)
        require(
            not positive or (has_h and has_w),
            layer_pb,
            missing,
            f"'{given}' without '{missing}': Caffe reads '{missing}' as 0, and it must be positive",
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


def conv_geometry(layer_pb: Any) -> tuple[Pair, Pair, Pair, Pair]:
    """convolution_param's (kernel, stride, pad, dilation), each an explicit (h, w), checked."""
    p = layer_pb.convolution_param
    kernel = spatial_pair(p, layer_pb, "kernel_size", "kernel_h", "kernel_w", 0, positive=True)
    require(
        kernel[0] > 0 and kernel[1] > 0,
        layer_pb,
        "kernel_size",
        f"kernel size must be positive, got {kernel}",
    )
    stride = spatial_pair(p, layer_pb, "stride", "stride_h", "stride_w", 1, positive=True)
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
    return kernel, stride, pad, dilation
