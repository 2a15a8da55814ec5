"""The forks' ``BN`` layer, from their ``bn_layer.cpp`` (Forward_cpu), in Caffe's NCHW layout.

- yjxiong/caffe ``src/caffe/layers/bn_layer.cpp`` (hszhao/PSPNet's is the same arithmetic):
  subtract the mean, add ``eps`` to the variance, ``powx(-0.5)``, multiply, then scale by
  ``blobs[0]`` (slope) and shift by ``blobs[1]`` (bias). The mean and variance are ``blobs[2]`` and
  ``blobs[3]`` when ``frozen`` or in the TEST phase, else the batch's (over N, H, W; variance of
  the centred values).
- alexgkendall/caffe-segnet ``src/caffe/layers/bn_layer.cpp``: ``INFERENCE`` is
  ``x * blobs[0] + blobs[1]``; ``LEARN`` (in every phase) normalises with the batch's mean and
  ``E(x²) - E(x)²`` plus ``var_eps_ = 1e-9``, under ``sqrt``, then scales and shifts.
"""

from __future__ import annotations

import numpy as np

from caffe2keras.ir.graph import Layer
from caffe2keras.reference.registry import reference_op

Inputs = list[np.ndarray]
SEGNET_VAR_EPS = 1e-9  # caffe-segnet bn_layer.cpp LayerSetUp: var_eps_ = 1e-9


def _per_channel(blob: np.ndarray, ndim: int, dtype: np.dtype) -> np.ndarray:
    return np.asarray(blob, dtype).reshape((1, -1) + (1,) * (ndim - 2))


def _batch_axes(x: np.ndarray) -> tuple[int, ...]:
    return (0, *range(2, x.ndim))


@reference_op("BN")
def bn(layer: Layer, inputs: Inputs, dtype: np.dtype) -> Inputs:
    dtype = np.dtype(dtype)
    x = inputs[0].astype(dtype, copy=False)
    p = layer.params
    b = [_per_channel(blob, x.ndim, dtype) for blob in layer.blobs]
    if len(b) == 2:  # SegNet: scale, shift
        scale, shift = b
        if not p.learn:
            return [x * scale + shift]
        mean = x.mean(axis=_batch_axes(x), keepdims=True)
        var = (x * x).mean(axis=_batch_axes(x), keepdims=True) - mean * mean
        return [(x - mean) / np.sqrt(var + dtype.type(SEGNET_VAR_EPS)) * scale + shift]
    slope, bias, mean, var = b
    if not (p.frozen or p.test_phase):
        mean = x.mean(axis=_batch_axes(x), keepdims=True)
        var = ((x - mean) ** 2).mean(axis=_batch_axes(x), keepdims=True)
    inv_std = (var + dtype.type(p.eps)) ** dtype.type(-0.5)
    return [(x - mean) * inv_std * slope + bias]
