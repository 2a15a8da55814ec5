"""Layers that move, split, reshape or reduce blobs: Concat, Slice, Split, Dropout, Reshape,
Flatten, Permute, Tile, Crop, Silence, Reduction, ArgMax and Softmax."""

from __future__ import annotations

import numpy as np

from caffe2keras.ir.graph import Layer
from caffe2keras.ir.shapes import canonical_axis, infer_layer
from caffe2keras.ir.shapes.geometry import crop_offsets, full_order, slice_sizes
from caffe2keras.reference.registry import reference_op

Inputs = list[np.ndarray]


@reference_op("Concat")
def concat(layer: Layer, inputs: Inputs, dtype: np.dtype) -> Inputs:
    """``concat_layer.cpp``: join the bottoms along ``axis`` in bottom order."""
    axis = canonical_axis(layer.params.axis, inputs[0].ndim, layer)
    return [np.concatenate(inputs, axis=axis)]


@reference_op("Slice")
def slice_(layer: Layer, inputs: Inputs, dtype: np.dtype) -> Inputs:
    """``slice_layer.cpp``: consecutive pieces along ``axis`` (slice points or an even split)."""
    x = inputs[0]
    axis = canonical_axis(layer.params.axis, x.ndim, layer)
    edges = np.cumsum(slice_sizes(layer, x.shape[axis]))[:-1]
    return list(np.split(x, edges, axis=axis))


@reference_op("Split", "Dropout")
def identity(layer: Layer, inputs: Inputs, dtype: np.dtype) -> Inputs:
    """``split_layer.cpp`` shares the bottom with every top; ``dropout_layer.cpp`` copies it
    unchanged in the TEST phase (BVLC scales during training instead)."""
    return [inputs[0] for _ in layer.tops]


@reference_op("Silence")
def silence(layer: Layer, inputs: Inputs, dtype: np.dtype) -> Inputs:
    """``silence_layer.cpp``: consumes its bottoms, produces nothing."""
    return []


@reference_op("Reshape", "Flatten")
def reshape(layer: Layer, inputs: Inputs, dtype: np.dtype) -> Inputs:
    """``reshape_layer.cpp`` / ``flatten_layer.cpp``: the same data in row-major order under the
    top shape that Caffe's shape rule gives for this bottom (0 copies, -1 is inferred)."""
    x = inputs[0]
    (shape,) = infer_layer(layer, [x.shape]).tops
    return [x.reshape(shape)]


@reference_op("Permute")
def permute(layer: Layer, inputs: Inputs, dtype: np.dtype) -> Inputs:
    """SSD's ``permute_layer.cpp``: transpose by the order completed with the missing axes."""
    x = inputs[0]
    return [np.ascontiguousarray(x.transpose(full_order(layer, x.ndim)))]


@reference_op("Tile")
def tile(layer: Layer, inputs: Inputs, dtype: np.dtype) -> Inputs:
    """``tile_layer.cpp``: the whole block from ``axis`` on repeated ``tiles`` times."""
    x = inputs[0]
    axis = canonical_axis(layer.params.axis, x.ndim, layer)
    return [np.concatenate([x] * layer.params.tiles, axis=axis)]


@reference_op("Crop")
def crop(layer: Layer, inputs: Inputs, dtype: np.dtype) -> Inputs:
    """``crop_layer.cpp``: axes from ``axis`` on take the second bottom's size, starting at
    their offset; earlier axes are kept whole."""
    x, ref = inputs
    start = canonical_axis(layer.params.axis, x.ndim, layer)
    offsets = crop_offsets(layer, x.ndim)
    index = tuple(
        slice(None) if a < start else slice(offsets[a], offsets[a] + ref.shape[a])
        for a in range(x.ndim)
    )
    return [np.ascontiguousarray(x[index])]


@reference_op("Reduction")
def reduction(layer: Layer, inputs: Inputs, dtype: np.dtype) -> Inputs:
    """``reduction_layer.cpp``: reduce all axes from ``axis`` on (SUM, ASUM = sum |x|, SUMSQ =
    sum x^2, MEAN = sum / count), then multiply by ``coeff``; the top has shape[:axis]."""
    x = inputs[0]
    p = layer.params
    axis = canonical_axis(p.axis, x.ndim, layer)
    flat = x.reshape(*x.shape[:axis], -1)
    values = {"SUM": flat, "ASUM": np.abs(flat), "SUMSQ": np.square(flat), "MEAN": flat}
    total = values[p.operation].sum(axis=-1)
    coeff = p.coeff / flat.shape[-1] if p.operation == "MEAN" else p.coeff
    return [np.asarray(total * coeff if coeff != 1 else total, dtype=dtype)]


def top_k_indices(x: np.ndarray, k: int, axis: int) -> np.ndarray:
    """``argmax_layer.cpp``: std::partial_sort of (value, index) pairs with std::greater, so the
    order is by value descending and equal values come larger index first."""
    n = x.shape[axis]
    flipped = np.flip(x, axis=axis)  # a stable sort of the flipped blob puts larger indices first
    order = np.argsort(-flipped, axis=axis, kind="stable")
    first = np.take(order, np.arange(k), axis=axis)
    return n - 1 - first


@reference_op("ArgMax")
def argmax(layer: Layer, inputs: Inputs, dtype: np.dtype) -> Inputs:
    """``argmax_layer.cpp``. With ``axis``: that axis becomes top_k long and holds the indices,
    or the values when ``out_max_val``. Without: per sample over all other axes, a top of shape
    (N, 1, top_k) (indices) or (N, 2, top_k) (indices then values), padded with trailing 1s to
    the bottom's rank, as Caffe keeps at least the bottom's number of axes."""
    x = inputs[0]
    p = layer.params
    if p.axis is not None:
        axis = canonical_axis(p.axis, x.ndim, layer)
        idx = top_k_indices(x, p.top_k, axis)
        out = np.take_along_axis(x, idx, axis=axis) if p.out_max_val else idx
        return [out.astype(dtype)]
    flat = x.reshape(x.shape[0], -1)
    idx = top_k_indices(flat, p.top_k, 1)
    rows = [idx, np.take_along_axis(flat, idx, axis=1)] if p.out_max_val else [idx]
    top = np.stack([r.astype(dtype) for r in rows], axis=1)
    return [top.reshape(top.shape + (1,) * (max(x.ndim, 3) - 3))]


@reference_op("Softmax")
def softmax(layer: Layer, inputs: Inputs, dtype: np.dtype) -> Inputs:
    """``softmax_layer.cpp``: exp(x - max) / sum(exp(x - max)) along ``axis``."""
    x = inputs[0]
    axis = canonical_axis(layer.params.axis, x.ndim, layer)
    e = np.exp(x - x.max(axis=axis, keepdims=True))
    return [e / e.sum(axis=axis, keepdims=True)]
