"""BatchNorm, Scale, Bias, LRN and MVN, each following its Caffe ``<name>_layer.cpp``."""

from __future__ import annotations

import numpy as np

from caffe2keras.errors import ValidationError
from caffe2keras.ir.graph import Layer
from caffe2keras.ir.shapes import canonical_axis
from caffe2keras.reference.ops.activations import power
from caffe2keras.reference.ops.common import along_axis, blob, need_4d
from caffe2keras.reference.ops.pooling import ave_pool
from caffe2keras.reference.registry import reference_op

Inputs = list[np.ndarray]


def bn_moving_stats(layer: Layer, dtype: np.dtype) -> tuple[np.ndarray, np.ndarray]:
    """``batch_norm_layer.cpp`` (use_global_stats): the blobs are (mean * s, var * s, s); Caffe
    multiplies by 1 / s, and by 0 when s == 0."""
    if len(layer.blobs) != 3:
        raise ValidationError(
            f"BatchNorm needs 3 blobs (mean, variance, moving-average "
            f"factor), has {len(layer.blobs)}",
            layer=layer.name,
            field="blobs",
        )
    s = blob(layer, 2, dtype).reshape(-1)[0]
    factor = dtype.type(0) if s == 0 else dtype.type(1) / s
    mean = blob(layer, 0, dtype).reshape(-1) * factor
    var = blob(layer, 1, dtype).reshape(-1) * factor
    return mean, var


@reference_op("BatchNorm")
def batch_norm(layer: Layer, inputs: Inputs, dtype: np.dtype) -> Inputs:
    """``batch_norm_layer.cpp``: (x - mean) / sqrt(var + eps) per channel (axis 1).

    ``use_global_stats`` unset means the TEST phase default: the stored statistics. When it is
    false, Caffe uses this batch's statistics over N and the spatial axes (biased variance).
    """
    x = inputs[0]
    p = layer.params
    use_global = True if p.use_global_stats is None else p.use_global_stats
    if use_global:
        mean, var = bn_moving_stats(layer, dtype)
    else:
        axes = tuple(a for a in range(x.ndim) if a != 1)
        mean = x.mean(axis=axes)
        var = np.square(x - along_axis(mean, x.ndim, 1)).mean(axis=axes)
    y = np.subtract(x, along_axis(mean, x.ndim, 1))  # the only full-size temporary: y itself
    return [np.divide(y, np.sqrt(along_axis(var, x.ndim, 1) + p.eps), out=y)]


def _param_axis(layer: Layer, x: np.ndarray, param: np.ndarray) -> int:
    """``scale_layer.cpp`` / ``bias_layer.cpp``: a scalar parameter applies everywhere (axis 0);
    otherwise it covers bottom axes [axis, axis + param.ndim) and must match them."""
    if param.ndim == 0:
        return 0
    axis = canonical_axis(layer.params.axis, x.ndim, layer)
    if x.shape[axis : axis + param.ndim] != param.shape:
        raise ValidationError(
            f"parameter shape {list(param.shape)} does not match bottom "
            f"{list(x.shape)} at axis {axis}",
            layer=layer.name,
            field="axis",
        )
    return axis


def _broadcast(layer: Layer, x: np.ndarray, param: np.ndarray) -> np.ndarray:
    return along_axis(param, x.ndim, _param_axis(layer, x, param))


@reference_op("Scale")
def scale(layer: Layer, inputs: Inputs, dtype: np.dtype) -> Inputs:
    """``scale_layer.cpp``: x * scale (+ bias). The scale is the second bottom when there is one
    (then the bias, if any, is blob 0), else blob 0 (and the bias blob 1)."""
    x = inputs[0]
    two = len(inputs) == 2
    factor = inputs[1] if two else blob(layer, 0, dtype)
    y = np.multiply(x, _broadcast(layer, x, factor))
    if layer.params.bias_term:
        y += _broadcast(layer, x, blob(layer, 0 if two else 1, dtype))
    return [y]


@reference_op("Bias")
def bias(layer: Layer, inputs: Inputs, dtype: np.dtype) -> Inputs:
    """``bias_layer.cpp``: x + bias, the bias being the second bottom or blob 0."""
    x = inputs[0]
    b = inputs[1] if len(inputs) == 2 else blob(layer, 0, dtype)
    return [x + _broadcast(layer, x, b)]


def lrn_across_channels(
    x: np.ndarray, size: int, alpha: float, beta: float, k: float
) -> np.ndarray:
    """``lrn_layer.cpp`` CrossChannelForward: scale = k + alpha / size * (sum of x^2 over the
    ``size`` channels centred on c, zero-padded by (size - 1) / 2); top = x * scale ** -beta."""
    pre = (size - 1) // 2
    c = x.shape[1]
    sq = np.zeros((x.shape[0], c + size - 1, *x.shape[2:]), dtype=x.dtype)
    np.square(x, out=sq[:, pre : pre + c])
    window = sq[:, :c].copy()
    for offset in range(1, size):  # one whole-blob add per window position, never per channel
        window += sq[:, offset : offset + c]
    window *= alpha / size
    window += k
    np.power(window, -beta, out=window)
    window *= x
    return window


def lrn_within_channel(x: np.ndarray, size: int, alpha: float, beta: float) -> np.ndarray:
    """``lrn_layer.cpp`` WithinChannelForward, built from Caffe's own layers: Power(2), then
    Pooling AVE (kernel size, stride 1, pad (size - 1) / 2, its padded-extent divisor), then
    Power(power -beta, scale alpha, shift 1), then an Eltwise PROD with x. ``k`` is unused."""
    pre = (size - 1) // 2
    h, w = x.shape[2:]
    pooled = ave_pool(power(x, 2.0, 1.0, 0.0), (size, size), (1, 1), (pre, pre), (h, w))
    return x * power(pooled, -beta, alpha, 1.0)


@reference_op("LRN")
def lrn(layer: Layer, inputs: Inputs, dtype: np.dtype) -> Inputs:
    """``lrn_layer.cpp``: the forward pass of the layer's region (functions above)."""
    x = inputs[0]
    need_4d(layer, x)
    p = layer.params
    if p.region == "WITHIN_CHANNEL":
        return [lrn_within_channel(x, p.local_size, p.alpha, p.beta)]
    return [lrn_across_channels(x, p.local_size, p.alpha, p.beta, p.k)]


@reference_op("MVN")
def mvn(layer: Layer, inputs: Inputs, dtype: np.dtype) -> Inputs:
    """``mvn_layer.cpp``: subtract the mean over (C,) H, W per sample; with normalize_variance
    divide by sqrt(E[(x - mean)^2]) + eps (eps is added to the standard deviation)."""
    x = inputs[0]
    p = layer.params
    first = 1 if p.across_channels else min(2, x.ndim)
    axes = tuple(range(first, x.ndim))
    y = x - x.mean(axis=axes, keepdims=True)
    if p.normalize_variance:
        std = np.sqrt(np.square(y).mean(axis=axes, keepdims=True))
        y = y / (std + p.eps)
    return [y]
