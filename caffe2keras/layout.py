"""Caffe <-> Keras tensor layouts, in one place.

Every blob has a layout kind (decided per graph by :mod:`caffe2keras.ir.layouts`):

- ``CAFFE`` (the default): a 4-D Caffe blob (N, C, H, W) is a channels_last Keras tensor
  (N, H, W, C); every other rank keeps Caffe's axis order.
- ``SEQUENCE``: a time-major recurrent blob (T, N, ...) is batch-major in Keras (N, T, ...), as
  Keras' own recurrent layers hold it (axes 0 and 1 swap; the rest keep Caffe's order).
- ``STATE``: a recurrent state (1, N, H) is (N, H) in Keras.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    import numpy as np

CAFFE = "caffe"
SEQUENCE = "sequence"
STATE = "state"

_TO_KERAS_4D = (0, 2, 3, 1)
_TO_CAFFE_4D = (0, 3, 1, 2)


def _swap01(rank: int) -> tuple[int, ...]:
    return (1, 0, *range(2, rank))


def keras_axis(caffe_axis: int, rank: int, kind: str = CAFFE) -> int:
    """The Keras axis holding a (canonical, non-negative) Caffe axis of a blob of ``rank``."""
    if kind == SEQUENCE:
        return _swap01(rank)[caffe_axis]
    if kind == STATE:
        return caffe_axis - 1
    return _TO_KERAS_4D.index(caffe_axis) if rank == 4 else caffe_axis


def keras_shape(caffe_shape: tuple[int, ...], kind: str = CAFFE) -> tuple[int, ...]:
    """The Keras shape of a Caffe blob shape (batch included)."""
    if kind == SEQUENCE:
        return tuple(caffe_shape[a] for a in _swap01(len(caffe_shape)))
    if kind == STATE:
        return tuple(caffe_shape[1:])
    if len(caffe_shape) == 4:
        return tuple(caffe_shape[a] for a in _TO_KERAS_4D)
    return tuple(caffe_shape)


def caffe_batch_axis(kind: str = CAFFE) -> int:
    """The Caffe axis that is the Keras batch axis: 1 for recurrent blobs, else 0."""
    return 1 if kind in (SEQUENCE, STATE) else 0


def to_keras(array: np.ndarray, kind: str = CAFFE) -> np.ndarray:
    """A Caffe-layout array in Keras layout."""
    import numpy as np

    if kind == SEQUENCE:
        return np.transpose(array, _swap01(array.ndim))
    if kind == STATE:
        return array[0]
    return np.transpose(array, _TO_KERAS_4D) if array.ndim == 4 else array


def to_caffe(array: np.ndarray, kind: str = CAFFE) -> np.ndarray:
    """A Keras-layout array in Caffe layout."""
    import numpy as np

    if kind == SEQUENCE:
        return np.transpose(array, _swap01(array.ndim))
    if kind == STATE:
        return array[None]
    return np.transpose(array, _TO_CAFFE_4D) if array.ndim == 4 else array


def batch_major(array: np.ndarray, kind: str = CAFFE) -> np.ndarray:
    """A Caffe-layout array as ``verify`` compares it: recurrent blobs batch-major (their Keras
    layout), every other blob in Caffe's layout."""
    return to_keras(array, kind) if kind in (SEQUENCE, STATE) else array
