"""brocolli-caffe's HardSwish, HardSigmoid and PixelShuffle, each following its
``<name>_layer.cpp`` (Forward_cpu), in the same float operations and order."""

from __future__ import annotations

import numpy as np

from caffe2keras.ir.graph import Layer
from caffe2keras.reference.ops.common import need_4d
from caffe2keras.reference.registry import reference_op

Inputs = list[np.ndarray]


@reference_op("HardSwish")
def hardswish(layer: Layer, inputs: Inputs, dtype: np.dtype) -> Inputs:
    """``hardswish_layer.cpp``: x * max(0, min(1, x / 6 + 0.5))."""
    x = inputs[0]
    t = x.dtype.type
    return [x * np.maximum(t(0), np.minimum(t(1), x / t(6) + t(0.5)))]


@reference_op("HardSigmoid")
def hardsigmoid(layer: Layer, inputs: Inputs, dtype: np.dtype) -> Inputs:
    """``hardsigmoid_layer.cpp``: max(0, min(1, x * alpha + beta)), alpha and beta as C floats."""
    x = inputs[0]
    t = x.dtype.type
    alpha = t(np.float32(layer.params.alpha))
    beta = t(np.float32(layer.params.beta))
    return [np.maximum(t(0), np.minimum(t(1), x * alpha + beta))]


@reference_op("PixelShuffle")
def pixelshuffle(layer: Layer, inputs: Inputs, dtype: np.dtype) -> Inputs:
    """``pixelshuffle_layer.cpp``: top[n, p, i * r + sh, j * r + sw] = bottom[n, q, i, j] with
    q = p * r * r + sh * r + sw (channels past C / r**2 * r**2 are never read)."""
    x = inputs[0]
    need_4d(layer, x)
    n, c, h, w = x.shape
    r = layer.params.upscale_factor
    out_c = c // (r * r)
    split = x[:, : out_c * r * r].reshape(n, out_c, r, r, h, w)  # (n, p, sh, sw, i, j)
    return [split.transpose(0, 1, 4, 2, 5, 3).reshape(n, out_c, h * r, w * r)]
