"""InnerProduct (Caffe's ``inner_product_layer.cpp``)."""

from __future__ import annotations

import math

import numpy as np

from caffe2keras.frontend.pages import release_pages
from caffe2keras.ir.graph import Layer
from caffe2keras.ir.shapes import canonical_axis
from caffe2keras.reference.ops.common import blob, stored_blob
from caffe2keras.reference.registry import reference_op

_BLOCK = 1 << 18  # weight elements converted to ``dtype`` at a time (2 MiB in float64: in cache)


def _product(flat: np.ndarray, weight: np.ndarray, transpose: bool, dtype: np.dtype) -> np.ndarray:
    """``flat @ W.T`` (``flat @ W`` when transposed), converting the stored float32 weight to
    ``dtype`` a block of output units at a time: VGG-16's fc6 in float64 would be 822 MB at once.
    Each output unit is one dot product either way; the block size only changes which BLAS
    kernel sums it (OpenBLAS picks by shape: the last bits, not the arithmetic). Blocks that fit
    in cache make the conversion and the product one pass over the weight (VGG-16's fc6 in
    float64: 0.7-0.9 s instead of 1.3 s, benchmarks/README.md)."""
    units = weight.shape[1] if transpose else weight.shape[0]
    step = max(1, _BLOCK // max(1, flat.shape[1]))
    out = np.empty((flat.shape[0], units), dtype=dtype)
    for start in range(0, units, step):
        part = weight[:, start : start + step] if transpose else weight[start : start + step]
        block = np.asarray(part, dtype=dtype)
        out[:, start : start + step] = flat @ (block if transpose else block.T)
        if not transpose:
            release_pages(part)  # mapped caffemodel pages go back once read
    return out


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
    y = _product(flat, stored_blob(layer, 0), p.transpose, dtype)
    if p.bias_term:
        y = y + blob(layer, 1, dtype).reshape(1, -1)
    return [np.ascontiguousarray(y.reshape(*x.shape[:axis], p.num_output), dtype=dtype)]
