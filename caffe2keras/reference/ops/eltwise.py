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
        y = np.multiply(inputs[0], inputs[1]) if len(inputs) > 1 else inputs[0].copy()
        for x in inputs[2:]:
            y *= x
        return [y]
    if p.operation == "SUM":  # 0 + c0 * x0 is c0 * x0; then each term added in place
        coeffs = p.coeffs or (1.0,) * len(inputs)
        y = inputs[0].copy() if coeffs[0] == 1 else np.multiply(inputs[0], coeffs[0])
        for c, x in zip(coeffs[1:], inputs[1:]):
            y += x if c == 1 else c * x
        return [y]
    y = np.maximum(inputs[0], inputs[1]) if len(inputs) > 1 else inputs[0].copy()
    for x in inputs[2:]:
        np.maximum(y, x, out=y)
    return [y]


@reference_op("Axpy")
def axpy(layer: Layer, inputs: Inputs, dtype: np.dtype) -> Inputs:
    """SENet's ``axpy_layer.cpp``: a * x + y with a of shape (N, C, 1, 1), one scalar per channel
    of each sample."""
    a, x, y = inputs
    return [a * x + y]
