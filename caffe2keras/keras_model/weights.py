"""Weights on their way from the caffemodel map to Keras: lazy layouts, blocks, page release.

A builder returns each Keras weight as a numpy array, usually a transposed *view* on the
memory-mapped caffemodel (no copy), or as :class:`Reshaped` when the Keras layout merges axes that
are not adjacent in memory (a Dense kernel after a C,H,W -> H,W,C flatten permutation), which numpy
cannot express as a view. The one copy, the layout transpose, happens when the weight is set or
written; :func:`blocks` makes it one block of output channels at a time, so a 400 MB kernel never
exists twice, and the map pages each block read are handed back to the kernel
(``MADV_DONTNEED``: the file stays the backing store, a later read faults them in again).
"""

from __future__ import annotations

import math
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from caffe2keras.frontend.pages import release_pages

BLOCK_BYTES = 32 << 20  # the transposed copy made at a time
ALIGN = 256  # blocks span a multiple of this many output channels (the writer's HDF5 chunk width)
TILE_COLUMNS = 128  # output channels per tile of a transposing copy (see copy_transposed)
TILE_ELEMENTS = 1 << 17  # elements per tile: 512 KiB of float32, within a core's L2 cache


@dataclass(frozen=True)
class Reshaped:
    """A Keras weight: ``view`` (already in Keras axis order) with leading axes merged to ``shape``.

    Only leading axes are merged; the last axis (output channels) is kept, so a block of output
    channels is a view of ``view`` and becomes ``shape[:-1] + (n,)`` after one copy.
    """

    view: np.ndarray
    shape: tuple[int, ...]

    def __post_init__(self) -> None:
        if math.prod(self.shape) != self.view.size or self.shape[-1] != self.view.shape[-1]:
            raise ValueError(f"cannot present {self.view.shape} as {self.shape}")

    @property
    def dtype(self) -> np.dtype:
        return self.view.dtype

    @property
    def nbytes(self) -> int:
        return self.view.nbytes

    def __array__(self, dtype: Any = None, copy: bool | None = None) -> np.ndarray:
        return np.ascontiguousarray(self.view, dtype=dtype).reshape(self.shape)


Weight = np.ndarray | Reshaped


def keras_shape(weight: Weight) -> tuple[int, ...]:
    """The shape Keras sees."""
    return tuple(weight.shape)


def _view(weight: Weight) -> np.ndarray:
    return weight.view if isinstance(weight, Reshaped) else np.asarray(weight)


def column_slices(weight: Weight, max_bytes: int = BLOCK_BYTES) -> list[slice]:
    """Slices of the last axis, each about ``max_bytes`` of float32 (a multiple of ``ALIGN``
    columns when wider), covering ``weight``; a scalar is one empty-tuple block."""
    view = _view(weight)
    if view.ndim == 0:
        return [slice(None)]
    width = view.shape[-1]
    per_column = max(1, 4 * view.size // max(1, width))
    step = max(1, min(width, max_bytes // per_column))
    if step > ALIGN:
        step -= step % ALIGN
    return [slice(start, min(width, start + step)) for start in range(0, width, step)]


def copy_transposed(dst: np.ndarray, src: np.ndarray) -> None:
    """``dst[...] = src`` (``dst`` contiguous), in tiles when ``src`` is a transposed view.

    A Caffe weight is stored output channel first; its Keras layout has output channels last, so
    ``src``'s last axis has the largest stride. numpy copies in ``dst``'s order, so each element
    read comes from another cache line (and page): 4-5x slower than the data's size suggests on
    VGG-16's fc6. Tiles of ``TILE_COLUMNS`` output channels by a slice of the input axis with the
    next largest stride keep both sides of each copy within the cache.
    """
    if src.ndim < 2 or abs(src.strides[-1]) <= src.itemsize or src.size <= TILE_ELEMENTS:
        dst[...] = src
        return
    # the input axis read with the largest stride (a 1x1 kernel's unit axes do not count)
    axis = max(range(src.ndim - 1), key=lambda a: (src.shape[a] > 1, abs(src.strides[a])))
    rest = src.size // (src.shape[axis] * src.shape[-1])  # the tile's other axes, taken whole
    step = max(1, TILE_ELEMENTS // (TILE_COLUMNS * rest))
    lead = (slice(None),) * axis
    for col in range(0, src.shape[-1], TILE_COLUMNS):
        cols = slice(col, col + TILE_COLUMNS)
        for start in range(0, src.shape[axis], step):
            where: tuple[Any, ...] = (*lead, slice(start, start + step), Ellipsis, cols)
            dst[where] = src[where]


def materialize(weight: Weight, out: np.ndarray | None = None) -> np.ndarray:
    """The weight as one contiguous float32 array: the one copy, made a block of output channels
    at a time (a whole-array transposed copy of a large kernel is many times slower), releasing
    the map pages of each block. ``out`` (contiguous float32, the Keras shape) receives it when
    given (an aligned buffer a TensorFlow variable adopts: :mod:`.handover`)."""
    view = _view(weight)
    if view.ndim == 0:
        if out is not None:
            out[()] = view
            return out
        return np.array(view, dtype=np.float32)
    if out is None:
        out = np.empty(view.shape, np.float32)
    elif out.shape != keras_shape(weight) or out.dtype != np.float32:
        raise ValueError(f"cannot materialize {keras_shape(weight)} into {out.shape} {out.dtype}")
    out = out.reshape(view.shape)  # a view: ``out`` is contiguous
    for where in column_slices(weight):
        copy_transposed(out[..., where], view[..., where])
        release_pages(view[..., where])
    return out.reshape(keras_shape(weight))


def blocks(weight: Weight, max_bytes: int = BLOCK_BYTES) -> Iterator[tuple[slice, np.ndarray]]:
    """(slice of the last axis, contiguous float32 block) pairs covering ``weight``.

    After each block the map pages it was copied from are released, so reading a huge weight
    costs one block of memory, not the weight.
    """
    view, shape = _view(weight), keras_shape(weight)
    for where in column_slices(weight, max_bytes):
        if not shape:
            yield where, np.array(view, dtype=np.float32)
            continue
        part = view[..., where]
        block = np.empty(part.shape, np.float32)
        copy_transposed(block, part)
        release_pages(part)
        yield where, block.reshape(*shape[:-1], -1)


def release_all(weights: Sequence[Weight]) -> None:
    """Release the map pages under every weight."""
    for weight in weights:
        release_pages(weight.view if isinstance(weight, Reshaped) else weight)


def set_layer_weights(layer: Any, weights: Sequence[Weight]) -> None:
    """Set a Keras layer's weights (one copy each), then release the map pages they came from."""
    layer.set_weights([materialize(w) for w in weights])
    release_all(weights)
