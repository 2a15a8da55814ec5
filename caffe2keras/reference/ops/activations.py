"""Element-wise activations, each following its Caffe ``<name>_layer.cpp``."""

from __future__ import annotations

import math

import numpy as np

from caffe2keras.ir.graph import Layer
from caffe2keras.reference.ops.common import blob
from caffe2keras.reference.registry import reference_op

Inputs = list[np.ndarray]


@reference_op("ReLU")
def relu(layer: Layer, inputs: Inputs, dtype: np.dtype) -> Inputs:
    """``relu_layer.cpp``: max(x, 0) + negative_slope * min(x, 0)."""
    x = inputs[0]
    slope = layer.params.negative_slope
    y = np.maximum(x, 0)
    if slope:
        y += slope * np.minimum(x, 0)
    return [y]


@reference_op("ReLU6")
def relu6(layer: Layer, inputs: Inputs, dtype: np.dtype) -> Inputs:
    """The forks' ``relu6_layer.cpp``: min(max(x, 0), 6)."""
    return [np.minimum(np.maximum(inputs[0], 0), 6).astype(dtype)]


@reference_op("PReLU")
def prelu(layer: Layer, inputs: Inputs, dtype: np.dtype) -> Inputs:
    """``prelu_layer.cpp``: max(x, 0) + a_c * min(x, 0), channel c = axis 1 (one shared a when
    ``channel_shared``; a blob without axis 1 has one channel)."""
    x = inputs[0]
    slope: np.ndarray = blob(layer, 0, dtype)
    if not layer.params.channel_shared and x.ndim >= 2:
        slope = slope.reshape((1, -1) + (1,) * (x.ndim - 2))
    else:
        slope = slope.reshape(())
    return [np.maximum(x, 0) + slope * np.minimum(x, 0)]


@reference_op("ELU")
def elu(layer: Layer, inputs: Inputs, dtype: np.dtype) -> Inputs:
    """``elu_layer.cpp``: max(x, 0) + alpha * (exp(min(x, 0)) - 1)."""
    x = inputs[0]
    return [np.maximum(x, 0) + layer.params.alpha * np.expm1(np.minimum(x, 0))]


def sigmoid(x: np.ndarray) -> np.ndarray:
    """``sigmoid_layer.cpp``: 0.5 * tanh(0.5 * x) + 0.5 (no overflow for large |x|)."""
    return 0.5 * np.tanh(0.5 * x) + 0.5


@reference_op("Sigmoid")
def sigmoid_op(layer: Layer, inputs: Inputs, dtype: np.dtype) -> Inputs:
    """``sigmoid_layer.cpp``."""
    return [sigmoid(inputs[0])]


@reference_op("TanH")
def tanh(layer: Layer, inputs: Inputs, dtype: np.dtype) -> Inputs:
    """``tanh_layer.cpp``."""
    return [np.tanh(inputs[0])]


@reference_op("AbsVal")
def absval(layer: Layer, inputs: Inputs, dtype: np.dtype) -> Inputs:
    """``absval_layer.cpp``: |x|."""
    return [np.abs(inputs[0])]


@reference_op("BNLL")
def bnll(layer: Layer, inputs: Inputs, dtype: np.dtype) -> Inputs:
    """``bnll_layer.cpp``: x > 0 ? x + log(1 + exp(-x)) : log(1 + exp(x)), written once as
    max(x, 0) + log1p(exp(-|x|)) so that exp never overflows."""
    x = inputs[0]
    return [np.maximum(x, 0) + np.log1p(np.exp(-np.abs(x)))]


def power(x: np.ndarray, exponent: float, scale: float, shift: float) -> np.ndarray:
    """``power_layer.cpp``: (shift + scale * x) ** power; when power * scale == 0 the top is the
    constant 1 (power 0) or shift ** power (scale 0), whatever x is."""
    if exponent * scale == 0:
        with np.errstate(invalid="ignore"):
            value = 1.0 if exponent == 0 else np.power(np.float64(shift), exponent)
        return np.full_like(x, value)
    y = x
    if scale != 1:
        y = y * scale
    if shift != 0:
        y = y + shift
    return y if exponent == 1 else np.power(y, exponent)


@reference_op("Power")
def power_op(layer: Layer, inputs: Inputs, dtype: np.dtype) -> Inputs:
    """See :func:`power`."""
    p = layer.params
    return [power(inputs[0], p.power, p.scale, p.shift)]


@reference_op("Exp")
def exp(layer: Layer, inputs: Inputs, dtype: np.dtype) -> Inputs:
    """``exp_layer.cpp``: base ** (shift + scale * x) as base ** shift * exp(log(base) * scale * x)
    (the params already turned base -1 into e)."""
    p = layer.params
    inner = math.log(p.base) * p.scale
    outer = 1.0 if p.shift == 0 else p.base**p.shift
    return [outer * np.exp(inner * inputs[0])]


@reference_op("Log")
def log(layer: Layer, inputs: Inputs, dtype: np.dtype) -> Inputs:
    """``log_layer.cpp``: log(shift + scale * x) / log(base) (base e: no division)."""
    p = layer.params
    with np.errstate(divide="ignore", invalid="ignore"):
        y = np.log(p.shift + p.scale * inputs[0])
    return [y if p.base == math.e else y * (1.0 / math.log(p.base))]


@reference_op("Threshold")
def threshold(layer: Layer, inputs: Inputs, dtype: np.dtype) -> Inputs:
    """``threshold_layer.cpp``: 1 where x > threshold (strictly), else 0."""
    return [(inputs[0] > layer.params.threshold).astype(dtype)]


@reference_op("Clip")
def clip(layer: Layer, inputs: Inputs, dtype: np.dtype) -> Inputs:
    """``clip_layer.cpp``: max(min, min(x, max))."""
    p = layer.params
    return [np.maximum(p.min, np.minimum(inputs[0], p.max)).astype(dtype)]


@reference_op("Swish")
def swish(layer: Layer, inputs: Inputs, dtype: np.dtype) -> Inputs:
    """``swish_layer.cpp``: x * sigmoid(beta * x)."""
    x = inputs[0]
    return [x * sigmoid(layer.params.beta * x)]
