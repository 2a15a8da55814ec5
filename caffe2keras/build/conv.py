"""Convolution and Deconvolution builders.

Caffe weights are (out, in/g, kh, kw) for Convolution and (in, out/g, kh, kw) for Deconvolution.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from caffe2keras.build.registry import BuildContext, BuildResult, builder
from caffe2keras.errors import UnsupportedParameterError
from caffe2keras.ir.graph import Layer


def conv_kernel(weight: np.ndarray) -> np.ndarray:
    """Caffe (out, in/g, kh, kw) -> Keras Conv2D (kh, kw, in/g, out)."""
    return np.transpose(weight, (2, 3, 1, 0))


def depthwise_kernel(weight: np.ndarray, channels: int) -> np.ndarray:
    """Caffe (C*m, 1, kh, kw), output c*m + j from input c -> Keras (kh, kw, C, m)."""
    out, _, kh, kw = weight.shape
    return np.transpose(weight.reshape(channels, out // channels, kh, kw), (2, 3, 0, 1))


def deconv_kernel(weight: np.ndarray) -> np.ndarray:
    """Caffe (in, out/g, kh, kw) -> Keras Conv2DTranspose (kh, kw, out/g, in)."""
    return np.transpose(weight, (2, 3, 1, 0))


def _pad(x: Any, layer: Layer, ctx: BuildContext, pad: tuple[int, int]) -> Any:
    import keras

    if pad == (0, 0):
        return x
    return keras.layers.ZeroPadding2D(padding=pad, name=ctx.names.make(layer.name, "pad"))(x)


@builder("Convolution")
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
        conv = keras.layers.DepthwiseConv2D(depth_multiplier=p.num_output // channels, **common)
        kernel = depthwise_kernel(weight, channels) if weight is not None else None
    else:
        conv = keras.layers.Conv2D(filters=p.num_output, groups=p.group, **common)
        kernel = conv_kernel(weight) if weight is not None else None
    y = conv(x)
    if dilated and p.stride != (1, 1):
        y = keras.layers.MaxPooling2D(
            pool_size=1, strides=p.stride, name=ctx.names.make(layer.name, "stride")
        )(y)
    weights = () if kernel is None else ((conv, (kernel, *layer.blobs[1:])),)
    return BuildResult(outputs=(y,), weights=weights)


@builder("Deconvolution")
def build_deconv(layer: Layer, inputs: list[Any], ctx: BuildContext) -> BuildResult:
    """Conv2DTranspose ('valid') then Cropping2D: Caffe's ``pad`` removes rows/cols at both ends,
    and Keras' extra trailing output (dilated kernel smaller than the stride) goes too."""
    import keras

    p = layer.params
    _, channels, h, w = ctx.bottom_shapes(layer)[0]
    if p.group != 1:
        raise UnsupportedParameterError(
            "grouped Deconvolution is not supported yet", layer=layer.name, field="group"
        )
    conv = keras.layers.Conv2DTranspose(
        filters=p.num_output,
        kernel_size=p.kernel,
        strides=p.stride,
        padding="valid",
        dilation_rate=p.dilation,
        use_bias=p.bias_term,
        name=ctx.names.make(layer.name),
    )
    y = conv(inputs[0])
    crop = []
    for size, k, s, pad, d in zip((h, w), p.kernel, p.stride, p.pad, p.dilation):
        keras_len = size * s + max(d * (k - 1) + 1 - s, 0)
        caffe_len = s * (size - 1) + d * (k - 1) + 1 - 2 * pad
        crop.append((pad, keras_len - caffe_len - pad))
    if any(a or b for a, b in crop):
        y = keras.layers.Cropping2D(cropping=tuple(crop), name=ctx.names.make(layer.name, "crop"))(
            y
        )
    weights = (
        () if not layer.blobs else ((conv, (deconv_kernel(layer.blobs[0]), *layer.blobs[1:])),)
    )
    return BuildResult(outputs=(y,), weights=weights)
