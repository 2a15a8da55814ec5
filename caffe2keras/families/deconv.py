"""Deconvolution: Convolution's params and shape rule (:mod:`.conv`), its own builder.

Caffe's weights are (in, out/g, kh, kw) and its output is ``stride*(H-1) + dilation*(k-1) + 1 -
2*pad``; Keras' Conv2DTranspose has no ``groups`` and refuses dilation with stride > 1, so groups
become one Conv2DTranspose each and dilated kernels are expanded with zeros.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from caffe2keras.families.conv import conv_shapes, parse_conv
from caffe2keras.frontend.params.registry import param_parser
from caffe2keras.ir.graph import Layer
from caffe2keras.ir.shapes.registry import shape_rule
from caffe2keras.keras_model.registry import SET_LATER, BuildContext, BuildResult, builder

if TYPE_CHECKING:
    import numpy as np

param_parser("Deconvolution")(parse_conv)
shape_rule("Deconvolution")(conv_shapes)


def deconv_kernel(weight: np.ndarray) -> np.ndarray:
    """Caffe (in, out/g, kh, kw) -> Keras Conv2DTranspose (kh, kw, out/g, in)."""
    import numpy as np

    return np.transpose(weight, (2, 3, 1, 0))


def dilate_kernel(weight: np.ndarray, dilation: tuple[int, int]) -> np.ndarray:
    """A (..., kh, kw) kernel with ``dilation - 1`` zeros between taps: the same convolution at
    dilation 1. Keras' Conv2DTranspose refuses stride > 1 with dilation > 1, and TensorFlow's CPU
    kernel refuses any dilation."""
    import numpy as np

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

    from caffe2keras.keras_model.axes import crop_keras

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


@builder(
    "Deconvolution",
    emits="Conv2DTranspose (+ Cropping2D)",
    notes="pad crops the output; `group` as one Conv2DTranspose per group + Concatenate; "
    "dilated kernels",
)
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
