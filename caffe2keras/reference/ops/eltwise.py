"""Eltwise and Axpy."""

from __future__ import annotations

import numpy as np

from caffe2keras.ir.graph import Layer
from caffe2keras.reference.registry import reference_op

Inputs = list[np.ndarray]


@reference_op("Eltwise")
def eltwise(layer: Layer, inputs: Inputs, dtype: np.dtype) -> Inputs:
    """``eltwise_layer.cpp``: PROD multiplies the bottoms in order; SUM adds coeff_i * x_i in
    order, starting from 0 (no coeff: all 1); MAX keeps the largest value."""
    p = layer.params
    if p.operation == "PROD":
        y = inputs[0]
        for x in inputs[1:]:
            y = y * x
        return [y]
    if p.operation == "SUM":
        coeffs = p.coeffs or (1.0,) * len(inputs)
        y = np.zeros_like(inputs[0])
        for c, x in zip(coeffs, inputs):
            y = y + (x if c == 1 else c * x)
        return [y]
    y = inputs[0]
    for x in inputs[1:]:
        y = np.maximum(y, x)
    return [y]


@reference_op("Axpy")
def axpy(layer: Layer, inputs: Inputs, dtype: np.dtype) -> Inputs:
    """SENet's ``axpy_layer.cpp``: a * x + y with a of shape (N, C, 1, 1), one scalar per channel
    of each sample."""
    a, x, y = inputs
    return [a * x + y]
