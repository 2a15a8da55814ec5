"""Small helpers shared by the reference op families."""

from __future__ import annotations

import numpy as np

from caffe2keras.errors import ValidationError
from caffe2keras.ir.graph import Layer

FLT_MAX = float(np.finfo(np.float32).max)
"""Caffe's FLT_MAX (``<cfloat>``), the start value of its max reductions."""


def stored_blob(layer: Layer, index: int) -> np.ndarray:
    """Learned blob ``index`` of ``layer`` as stored; a clear error when the model lacks it."""
    if index >= len(layer.blobs):
        raise ValidationError(
            f"needs learned blob {index} but has {len(layer.blobs)} (was a caffemodel given?)",
            layer=layer.name,
            field="blobs",
        )
    return np.asarray(layer.blobs[index])


def blob(layer: Layer, index: int, dtype: np.dtype) -> np.ndarray:
    """Learned blob ``index`` of ``layer`` in ``dtype``; a clear error when the model lacks it."""
    return np.asarray(stored_blob(layer, index), dtype=dtype)


def along_axis(values: np.ndarray, ndim: int, axis: int) -> np.ndarray:
    """``values`` (shape S) reshaped to broadcast against an ``ndim``-D blob from ``axis`` on."""
    tail = ndim - axis - values.ndim
    return values.reshape((1,) * axis + values.shape + (1,) * tail)


def need_4d(layer: Layer, x: np.ndarray) -> None:
    """Spatial layers work on N, C, H, W blobs only."""
    if x.ndim != 4:
        raise ValidationError(
            f"expects a 4-D (N, C, H, W) bottom, got shape {list(x.shape)}",
            layer=layer.name,
            field="bottom",
        )
