"""Give the pages of a memory-mapped caffemodel back to the kernel once their weights are copied.

File-backed pages count in RSS while mapped; ``madvise(MADV_DONTNEED)`` drops them (they are
re-read from the file if touched again), so a conversion's peak memory does not grow with the
caffemodel's size.
"""

from __future__ import annotations

import mmap
from typing import Any

import numpy as np


def _mapping(array: np.ndarray) -> mmap.mmap | None:
    """The mmap an array is a view of, if any."""
    base: Any = array
    while isinstance(base, np.ndarray):
        base = base.base
    if isinstance(base, memoryview) and isinstance(base.obj, mmap.mmap):
        return base.obj
    return base if isinstance(base, mmap.mmap) else None


def _byte_bounds(array: np.ndarray) -> tuple[int, int]:
    """The first and one-past-last byte addresses an array's elements occupy."""
    low = high = int(array.ctypes.data)
    for n, stride in zip(array.shape, array.strides):
        extent = (n - 1) * stride
        low, high = (low + extent, high) if extent < 0 else (low, high + extent)
    return low, high + array.itemsize


def release_pages(array: np.ndarray) -> None:
    """Hand the map pages under ``array`` back to the kernel; no-op for ordinary memory."""
    mapped = _mapping(array) if isinstance(array, np.ndarray) else None
    if mapped is None or array.size == 0 or not hasattr(mmap, "MADV_DONTNEED"):
        return
    start_addr = np.frombuffer(mapped, np.uint8, 1).ctypes.data
    low, high = _byte_bounds(array)
    start = low - start_addr
    start -= start % mmap.PAGESIZE
    length = min(high - start_addr, len(mapped)) - start
    if length > 0:
        mapped.madvise(mmap.MADV_DONTNEED, start, length)
