"""Caffe <-> Keras tensor layouts, in one place.

A 4-D Caffe blob (N, C, H, W) is a channels_last Keras tensor (N, H, W, C); every other rank keeps
Caffe's axis order.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    import numpy as np

_TO_KERAS_4D = (0, 2, 3, 1)
_TO_CAFFE_4D = (0, 3, 1, 2)


def keras_axis(caffe_axis: int, rank: int) -> int:
    """The Keras axis holding a (canonical, non-negative) Caffe axis of a blob of ``rank``."""
    return _TO_KERAS_4D.index(caffe_axis) if rank == 4 else caffe_axis


def keras_shape(caffe_shape: tuple[int, ...]) -> tuple[int, ...]:
    """The Keras shape of a Caffe blob shape (batch included)."""
    if len(caffe_shape) == 4:
        return tuple(caffe_shape[a] for a in _TO_KERAS_4D)
    return tuple(caffe_shape)


def to_keras(array: np.ndarray) -> np.ndarray:
    """A Caffe-layout array in Keras layout."""
    import numpy as np

    return np.transpose(array, _TO_KERAS_4D) if array.ndim == 4 else array


def to_caffe(array: np.ndarray) -> np.ndarray:
    """A Keras-layout array in Caffe layout."""
    import numpy as np

    return np.transpose(array, _TO_CAFFE_4D) if array.ndim == 4 else array
