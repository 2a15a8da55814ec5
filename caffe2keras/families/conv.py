"""Convolution: params (``base_conv_layer.cpp``, shared with :mod:`.deconv`), shapes, builder.

Caffe weights are (out, in/g, kh, kw) for Convolution and (in, out/g, kh, kw) for Deconvolution.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from caffe2keras.errors import UnsupportedParameterError, ValidationError
from caffe2keras.frontend.params.registry import param_parser, require
from caffe2keras.ir.graph import Layer, Shape
from caffe2keras.ir.shapes.geometry import conv_out, deconv_out
from caffe2keras.ir.shapes.registry import (
    LayerShapes,
    shape_rule,
)
from caffe2keras.keras_model.registry import (
    SET_LATER,
    BuildContext,
    BuildResult,
    builder,
)

if TYPE_CHECKING:
    import numpy as np


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


@param_parser("Convolution")
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


def need_4d(layer: Layer, shape: Shape) -> None:
    if len(shape) != 4:
        raise UnsupportedParameterError(
            f"only 2-D spatial (4-D N,C,H,W) bottoms are supported, got {list(shape)}",
            layer=layer.name,
            field="bottom",
        )


@shape_rule("Convolution")
def conv_shapes(layer: Layer, bottoms: list[Shape]) -> LayerShapes:
    p = layer.params
    shape = bottoms[0]
    need_4d(layer, shape)
    if p.axis != 1:
        raise UnsupportedParameterError(
            "only axis 1 (channels) is supported", layer=layer.name, field="axis"
        )
    n, c, h, w = shape
    if c % p.group:
        raise ValidationError(
            f"{c} input channels are not a multiple of group {p.group}",
            layer=layer.name,
            field="group",
        )
    fn = conv_out if layer.type == "Convolution" else deconv_out
    oh = fn(h, p.kernel[0], p.stride[0], p.pad[0], p.dilation[0])
    ow = fn(w, p.kernel[1], p.stride[1], p.pad[1], p.dilation[1])
    if layer.type == "Convolution":
        weight = (p.num_output, c // p.group, *p.kernel)
    else:
        weight = (c, p.num_output // p.group, *p.kernel)
    blobs = (weight, (p.num_output,)) if p.bias_term else (weight,)
    return LayerShapes(tops=((n, p.num_output, oh, ow),), blobs=blobs)


def conv_kernel(weight: np.ndarray) -> np.ndarray:
    """Caffe (out, in/g, kh, kw) -> Keras Conv2D (kh, kw, in/g, out)."""
    import numpy as np

    return np.transpose(weight, (2, 3, 1, 0))


def depthwise_kernel(weight: np.ndarray, channels: int) -> np.ndarray:
    """Caffe (C*m, 1, kh, kw), output c*m + j from input c -> Keras (kh, kw, C, m)."""
    import numpy as np

    out, _, kh, kw = weight.shape
    return np.transpose(weight.reshape(channels, out // channels, kh, kw), (2, 3, 0, 1))


def _pad(x: Any, layer: Layer, ctx: BuildContext, pad: tuple[int, int]) -> Any:
    import keras

    if pad == (0, 0):
        return x
    return keras.layers.ZeroPadding2D(padding=pad, name=ctx.names.make(layer.name, "pad"))(x)


def _describe_conv(layer: Layer, bottoms: list[Shape]) -> str:
    p = layer.params
    pad = " + ZeroPadding2D" if any(p.pad) else ""
    if p.group > 1 and bottoms and p.group == bottoms[0][1]:
        return f"DepthwiseConv2D{pad}"
    grouped = f" (groups={p.group})" if p.group > 1 else ""
    return f"Conv2D{grouped}{pad}"


@builder(
    "Convolution",
    emits="Conv2D (+ ZeroPadding2D)",
    refine=_describe_conv,
    notes="`_h`/`_w` forms, dilation, `group` (group == channels -> depthwise with multiplier), "
    "stride with dilation via exact 1x1 subsampling",
)
def build_conv(layer: Layer, inputs: list[Any], ctx: BuildContext) -> BuildResult:
    """ZeroPadding2D (Caffe's symmetric pad) + Conv2D/DepthwiseConv2D with 'valid' padding.

    Keras refuses stride > 1 together with dilation > 1, so that case convolves with stride 1 and
    subsamples with a 1x1 MaxPooling2D of the stride, which is exact.
    """
    import keras

    p = layer.params
    channels = ctx.bottom_shapes(layer)[0][1]
    x = _pad(inputs[0], layer, ctx, p.pad)
    dilated = p.dilation != (1, 1)
    strides = (1, 1) if dilated else p.stride
    common = dict(
        kernel_size=p.kernel,
        strides=strides,
        padding="valid",
        dilation_rate=p.dilation,
        use_bias=p.bias_term,
        name=ctx.names.make(layer.name),
    )
    weight = layer.blobs[0] if layer.blobs else None
    if p.group == channels and p.group > 1:
        conv = keras.layers.DepthwiseConv2D(
            depth_multiplier=p.num_output // channels, depthwise_initializer=SET_LATER, **common
        )
        kernel = depthwise_kernel(weight, channels) if weight is not None else None
    else:
        conv = keras.layers.Conv2D(
            filters=p.num_output, groups=p.group, kernel_initializer=SET_LATER, **common
        )
        kernel = conv_kernel(weight) if weight is not None else None
    y = conv(x)
    if dilated and p.stride != (1, 1):
        y = keras.layers.MaxPooling2D(
            pool_size=1, strides=p.stride, name=ctx.names.make(layer.name, "stride")
        )(y)
    weights = () if kernel is None else ((conv, (kernel, *layer.blobs[1:])),)
    return BuildResult(outputs=(y,), weights=weights)
