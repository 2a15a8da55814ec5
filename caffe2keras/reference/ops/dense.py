"""InnerProduct (Caffe's ``inner_product_layer.cpp``)."""

from __future__ import annotations

import math

import numpy as np

from caffe2keras.ir.graph import Layer
from caffe2keras.ir.shapes import canonical_axis
from caffe2keras.reference.ops.common import blob
from caffe2keras.reference.registry import reference_op


@reference_op("InnerProduct")
def inner_product(layer: Layer, inputs: list[np.ndarray], dtype: np.dtype) -> list[np.ndarray]:
    """``inner_product_layer.cpp``: the bottom is viewed as (M, K) with M = prod(shape[:axis]) and
    K = prod(shape[axis:]) in memory (C, H, W) order; the weight is (num_output, K), or
    (K, num_output) when ``transpose``; top shape is shape[:axis] + (num_output,)."""
    x = inputs[0]
    p = layer.params
    axis = canonical_axis(p.axis, x.ndim, layer)
    k = math.prod(x.shape[axis:])
    flat = x.reshape(-1, k)
    weight = blob(layer, 0, dtype)
    y = flat @ weight if p.transpose else flat @ weight.T
    if p.bias_term:
        y = y + blob(layer, 1, dtype).reshape(1, -1)
    return [np.ascontiguousarray(y.reshape(*x.shape[:axis], p.num_output), dtype=dtype)]
