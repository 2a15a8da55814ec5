"""Convolution and Deconvolution builders.

Caffe weights are (out, in/g, kh, kw) for Convolution and (in, out/g, kh, kw) for Deconvolution.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from caffe2keras.build.registry import BuildContext, BuildResult, builder
from caffe2keras.build.weights import SET_LATER
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


def dilate_kernel(weight: np.ndarray, dilation: tuple[int, int]) -> np.ndarray:
    """A (..., kh, kw) kernel with ``dilation - 1`` zeros between taps: the same convolution at
    dilation 1. Keras' Conv2DTranspose refuses stride > 1 with dilation > 1, and TensorFlow's CPU
    kernel refuses any dilation."""
    dh, dw = dilation
    *lead, kh, kw = weight.shape
    out = np.zeros((*lead, dh * (kh - 1) + 1, dw * (kw - 1) + 1), weight.dtype)
    out[..., ::dh, ::dw] = weight
    return out


def _deconv_groups(
    layer: Layer, x: Any, ctx: BuildContext
) -> tuple[Any, tuple[tuple[Any, tuple[np.ndarray, ...]], ...]]:
    """One 'valid' Conv2DTranspose per group (Keras' has no ``groups``) on that group's input
    channels, concatenated; Caffe's group g maps input channels g*C/G.. to outputs g*O/G.."""
    import keras

    from caffe2keras.build.axes import crop_keras

    p = layer.params
    n, channels, h, w = ctx.bottom_shapes(layer)[0]
    cin, cout, groups = channels // p.group, p.num_output // p.group, p.group
    expand = max(p.dilation) > 1
    kernel = tuple(d * (k - 1) + 1 for k, d in zip(p.kernel, p.dilation))
    parts, weights = [], []
    for g in range(groups):
        xg = x
        if groups > 1:
            xg = crop_keras(x, (n, h, w, channels), {3: (g * cin, cin)}, layer, ctx, f"in{g}")
        conv = keras.layers.Conv2DTranspose(
            filters=cout,
            kernel_size=kernel,
            strides=p.stride,
            padding="valid",
            dilation_rate=1,
            use_bias=p.bias_term,
            kernel_initializer=SET_LATER,
            name=ctx.names.make(layer.name, f"g{g}" if groups > 1 else ""),
        )
        parts.append(conv(xg))
        if layer.blobs:
            weight = layer.blobs[0][g * cin : (g + 1) * cin]
            blobs = [dilate_kernel(weight, p.dilation) if expand else weight]
            blobs += [b[g * cout : (g + 1) * cout] for b in layer.blobs[1:]]
            weights.append((conv, (deconv_kernel(blobs[0]), *blobs[1:])))
    if groups == 1:
        return parts[0], tuple(weights)
    cat = keras.layers.Concatenate(axis=-1, name=ctx.names.make(layer.name, "cat"))
    return cat(parts), tuple(weights)


@builder("Deconvolution")
def build_deconv(layer: Layer, inputs: list[Any], ctx: BuildContext) -> BuildResult:
    """Conv2DTranspose ('valid', per group) then Cropping2D: Caffe's ``pad`` removes rows/cols at
    both ends, and Keras' extra trailing output (when the dilated kernel is smaller than the
    stride) goes too."""
    import keras

    p = layer.params
    _, _, h, w = ctx.bottom_shapes(layer)[0]
    y, weights = _deconv_groups(layer, inputs[0], ctx)
    crop = []
    for size, k, s, pad, d in zip((h, w), p.kernel, p.stride, p.pad, p.dilation):
        keras_len = size * s + max(d * (k - 1) + 1 - s, 0)
        caffe_len = s * (size - 1) + d * (k - 1) + 1 - 2 * pad
        crop.append((pad, keras_len - caffe_len - pad))
    if any(a or b for a, b in crop):
        y = keras.layers.Cropping2D(cropping=tuple(crop), name=ctx.names.make(layer.name, "crop"))(
            y
        )
    return BuildResult(outputs=(y,), weights=weights)
