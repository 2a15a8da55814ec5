"""Convolution: params (``base_conv_layer.cpp``, shared with :mod:`.deconv`), shapes, builder.

Caffe weights are (out, in/g, kh, kw) for Convolution and (in, out/g, kh, kw) for Deconvolution.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from caffe2keras.errors import UnsupportedParameterError, ValidationError
from caffe2keras.frontend.params.registry import param_parser, require
from caffe2keras.frontend.params.spatial import Pair, conv_geometry
from caffe2keras.ir.graph import Layer, Shape
from caffe2keras.ir.shapes.geometry import conv_extent, conv_out, deconv_out, need_4d
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


@param_parser("Convolution")
def parse_conv(layer_pb: Any) -> ConvParams:
    """convolution_param, with Caffe's defaults."""
    p = layer_pb.convolution_param
    require(p.HasField("num_output"), layer_pb, "num_output", "num_output is required")
    kernel, stride, pad, dilation = conv_geometry(layer_pb)
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


def _pad(x: Any, layer: Layer, ctx: BuildContext, pad: tuple[int, int]) -> tuple[Any, Pair]:
    """Caffe's symmetric zero padding, plus zeros after the input where a window overhangs the
    padded input (C++'s truncating division keeps it: see ``geometry.conv_out``); returns the
    tensor and the Keras strides.

    An axis with one output and a stride > 1 is cropped to the kernel's extent and convolved with
    stride 1 (the same window): TensorFlow's oneDNN Conv2D (2.21, CPU) returns wrong values, even
    garbage, for stride_w > 1 with one output column and unread columns after it (e.g. a 5x4
    one-channel input, kernel 2x3, stride (1, 2))."""
    import keras

    p = layer.params
    _, _, h, w = ctx.bottom_shapes(layer)[0]
    after, crop, strides = [], [], []
    for size, k, s, q, d in zip((h, w), p.kernel, p.stride, pad, p.dilation):
        after.append(q + conv_extent(size, k, s, q, d))
        one = conv_out(size, k, s, q, d) == 1 and s > 1
        crop.append(size + q + after[-1] - (d * (k - 1) + 1) if one else 0)
        strides.append(1 if one else s)
    if pad != (0, 0) or after != [0, 0]:
        padding = ((pad[0], after[0]), (pad[1], after[1]))
        x = keras.layers.ZeroPadding2D(padding, name=ctx.names.make(layer.name, "pad"))(x)
    if crop != [0, 0]:
        cropping = ((0, crop[0]), (0, crop[1]))
        x = keras.layers.Cropping2D(cropping, name=ctx.names.make(layer.name, "crop"))(x)
    return x, (strides[0], strides[1])


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
    x, stride = _pad(inputs[0], layer, ctx, p.pad)
    dilated = p.dilation != (1, 1)
    strides = (1, 1) if dilated else stride
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
    if dilated and stride != (1, 1):
        y = keras.layers.MaxPooling2D(
            pool_size=1, strides=stride, name=ctx.names.make(layer.name, "stride")
        )(y)
    weights = () if kernel is None else ((conv, (kernel, *layer.blobs[1:])),)
    return BuildResult(outputs=(y,), weights=weights)


@dataclass(frozen=True)
class Im2colParams:
    """Im2col reads only the geometry of convolution_param (``im2col_layer.cpp``)."""

    kernel: Pair
    stride: Pair
    pad: Pair
    dilation: Pair
    axis: int


@param_parser("Im2col")
def parse_im2col(layer_pb: Any) -> Im2colParams:
    kernel, stride, pad, dilation = conv_geometry(layer_pb)
    axis = int(layer_pb.convolution_param.axis)
    return Im2colParams(kernel=kernel, stride=stride, pad=pad, dilation=dilation, axis=axis)


@shape_rule("Im2col")
def im2col_shapes(layer: Layer, bottoms: list[Shape]) -> LayerShapes:
    """(N, C*KH*KW, OH, OW): one channel per (input channel, kernel tap), no learned blobs."""
    p = layer.params
    need_4d(layer, bottoms[0])
    if p.axis != 1:
        raise UnsupportedParameterError(
            "only axis 1 (channels) is supported", layer=layer.name, field="axis"
        )
    n, c, h, w = bottoms[0]
    oh = conv_out(h, p.kernel[0], p.stride[0], p.pad[0], p.dilation[0])
    ow = conv_out(w, p.kernel[1], p.stride[1], p.pad[1], p.dilation[1])
    return LayerShapes(tops=((n, c * p.kernel[0] * p.kernel[1], oh, ow),))


def im2col_kernel(channels: int, kernel: Pair) -> np.ndarray:
    """A one-hot Conv2D kernel (KH, KW, C, C*KH*KW): output channel ``(c*KH + i)*KW + j`` copies
    input channel c at tap (i, j), Caffe's column order. Exact: every output is one product by 1
    plus products by 0."""
    import numpy as np

    kh, kw = kernel
    c, i, j = np.meshgrid(np.arange(channels), np.arange(kh), np.arange(kw), indexing="ij")
    out = np.zeros((kh, kw, channels, channels * kh * kw), np.float32)
    out[i, j, c, (c * kh + i) * kw + j] = 1.0
    return out


@builder(
    "Im2col",
    emits="Conv2D with a one-hot kernel (+ ZeroPadding2D)",
    notes="Caffe's column order; `_h`/`_w` forms, dilation",
)
def build_im2col(layer: Layer, inputs: list[Any], ctx: BuildContext) -> BuildResult:
    """ZeroPadding2D + a Conv2D whose fixed one-hot kernel copies each tap into its channel
    (stride with dilation: stride 1, then an exact 1x1 subsampling, as for Convolution)."""
    import keras

    p = layer.params
    channels = ctx.bottom_shapes(layer)[0][1]
    x, stride = _pad(inputs[0], layer, ctx, p.pad)
    dilated = p.dilation != (1, 1)
    conv = keras.layers.Conv2D(
        filters=channels * p.kernel[0] * p.kernel[1],
        kernel_size=p.kernel,
        strides=(1, 1) if dilated else stride,
        padding="valid",
        dilation_rate=p.dilation,
        use_bias=False,
        kernel_initializer=SET_LATER,
        name=ctx.names.make(layer.name),
    )
    y = conv(x)
    if dilated and stride != (1, 1):
        y = keras.layers.MaxPooling2D(
            pool_size=1, strides=stride, name=ctx.names.make(layer.name, "stride")
        )(y)
    return BuildResult(outputs=(y,), weights=((conv, (im2col_kernel(channels, p.kernel),)),))
