"""ShuffleChannel and Reorg: element regroupings, as the forks' index arithmetic (gathers with
index arrays built from the C++ loops' formulas)."""

from __future__ import annotations

import numpy as np

from caffe2keras.ir.graph import Layer
from caffe2keras.ir.shapes import infer_layer
from caffe2keras.reference.registry import reference_op

Inputs = list[np.ndarray]


@reference_op("ShuffleChannel")
def shuffle_channel(layer: Layer, inputs: Inputs, dtype: np.dtype) -> Inputs:
    """farmingyard/ShuffleNet ``shuffle_channel_layer.cpp`` (``Resize_cpu``, group_row = g,
    group_column = C/g): input channel ``i * group_column + j`` is copied to output channel
    ``j * group_row + i``."""
    x = inputs[0]
    g = layer.params.group
    cols = x.shape[1] // g
    i, j = np.divmod(np.arange(x.shape[1]), cols)  # input channel -> (i, j)
    out = np.empty_like(x)
    out[:, j * g + i] = x
    return [out]


def _reorg_indices(c: int, h: int, w: int, s: int) -> tuple[np.ndarray, np.ndarray]:
    """The Caffe ports' ``reorg_cpu`` (darknet ``blas.c``) for a (c, h, w) blob: for every flat
    index of that blob (loop order c, h, w), its partner index in the (c/s², h*s, w*s) view."""
    cc, hh, ww = np.meshgrid(np.arange(c), np.arange(h), np.arange(w), indexing="ij")
    out_c = c // (s * s)
    c2, offset = cc % out_c, cc // out_c
    w2 = ww * s + offset % s
    h2 = hh * s + offset // s
    index = ww + w * (hh + h * cc)
    partner = w2 + w * s * (h2 + h * s * c2)
    return index.ravel(), partner.ravel()


@reference_op("Reorg")
def reorg(layer: Layer, inputs: Inputs, dtype: np.dtype) -> Inputs:
    """YOLO v2 Caffe ports' ``reorg_layer.cpp``: ``reorg_cpu(bottom, W, H, C, N, stride,
    forward=reverse, top)`` with the bottom's own W, H, C. forward: ``top[partner] =
    bottom[index]``; backward (``reverse: false``): ``top[index] = bottom[partner]``."""
    x = inputs[0]
    n, c, h, w = x.shape
    (top_shape,) = infer_layer(layer, [x.shape]).tops
    index, partner = _reorg_indices(c, h, w, layer.params.stride)
    flat = x.reshape(n, -1)
    out = np.empty_like(flat)
    if layer.params.reverse:
        out[:, partner] = flat[:, index]
    else:
        out[:, index] = flat[:, partner]
    return [out.reshape(top_shape)]
