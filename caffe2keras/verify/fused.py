"""One cache-sized pass per blob for the streamed comparison's numbers.

:func:`caffe2keras.verify.compare.compare_blob`, ``blob_noise`` and ``overflow_note`` each walk
the whole blob several times in float64 (a contiguous copy of the Keras blob, max and min of the
reference, the difference, its max and mean, three dot products; then the float32 twin's gap):
about 16 passes over arrays far larger than the cache, memory-bound. :func:`measure` computes the
same numbers in one walk over the data, a block of at most :data:`CHUNK` elements at a time,
with reused float64 buffers that stay in L2, where every intermediate is computed. A block is
read as runs of memory, never gathered element by element from far apart: the walk follows the
Keras tensor's memory (its Caffe layout is a transposed view of an NHWC tensor; a block of rows is
one run of it, the matching reference and twin blocks are runs of whole rows, copied into the
buffers), or the reference's own memory when its blocks still cut the Keras tensor into runs of
whole cache lines (small H x W, many channels: the reference block is then a plain view and the
Keras block is transposed into its buffer; :func:`walk_order`).

It covers the plain case only. Anything special (NaN, +-Inf or +-FLT_MAX in the reference, a
non-finite Keras value, shapes that differ, an empty blob) makes :func:`measure` return None and
the caller use the old functions, which own those rules; a non-finite float32 twin leaves the
Keras numbers valid but sends the noise and the overflow note back to the old functions too
(:class:`Measured`). +-FLT_MAX in the Keras value or the twin stays in the pass: the old
functions treat it as an ordinary value there too (their special-value rule only applies when
the reference holds one). So the results are the old functions' own: max values bit-identical (a max
does not depend on the order it is taken in), sums (mean_abs, cosine) equal up to summation
order. ``tests/verify/test_fused.py`` holds the old functions as the oracle.
"""

from __future__ import annotations

import math
from collections.abc import Iterator
from dataclasses import dataclass

import numpy as np

from caffe2keras.verify.compare import FLT_MAX

# Elements per chunk: four float64 buffers of 32768 elements are 1 MiB, well inside a 2 MiB L2,
# and large enough that numpy's per-call cost (about a microsecond) stays small beside the work
# (benchmarks/bench_fused.py measures other sizes).
CHUNK = 1 << 15


@dataclass(frozen=True)
class Measured:
    """The numbers of one plain blob. ``noise`` is ``blob_noise(twin, ref)``; None when no twin
    was given or when the twin is non-finite somewhere (``twin_finite`` False): then the old
    ``blob_noise`` and ``overflow_note`` must decide. The Keras numbers are None when no Keras
    value was given (the noise alone)."""

    ref_max: float
    max_abs: float | None
    mean_abs: float | None
    cosine: float | None
    noise: float | None
    twin_finite: bool


class Scratch:
    """Reused float64 chunk buffers (one set per streamed pass, grown on demand). ``blas``:
    whether the caller holds numpy's BLAS to one thread, so the chunks' dot products may use
    BLAS (twice as fast as einsum's loops); a threaded BLAS dot spins its threads against
    TensorFlow's (``compare._cosine``: 40x slower per call on a loaded 2-core machine)."""

    def __init__(self, size: int | None = None, blas: bool = False) -> None:
        self.size = size or CHUNK
        self.blas = blas
        self.buffers: dict[str, np.ndarray] = {}

    def get(self, name: str, n: int) -> np.ndarray:
        """The first ``n`` elements of buffer ``name`` (float64, contiguous)."""
        buf = self.buffers.get(name)
        if buf is None or buf.size < n:
            buf = self.buffers[name] = np.empty(max(n, self.size), np.float64)
        return buf[:n]


def memory_order(a: np.ndarray) -> tuple[int, ...]:
    """The axes of ``a`` from the slowest-varying to the fastest in memory (largest stride
    first; ties keep the axis order), so ``a.transpose(order)`` is a C-order walk of its memory
    when ``a`` is a transposed view of a contiguous array."""
    return tuple(sorted(range(a.ndim), key=lambda ax: (-abs(a.strides[ax]), ax)))


def chunks(shape: tuple[int, ...], size: int) -> Iterator[tuple[slice, ...]]:
    """Index tuples that cut an array of ``shape`` into C-order blocks of at most ``size``
    elements (at least one row of the innermost axes that fit), every axis kept: the leading
    axes are walked one index at a time, one axis in steps, the trailing axes taken whole."""
    split, inner = len(shape), 1
    while split > 0 and inner * shape[split - 1] <= size:
        split -= 1
        inner *= shape[split]
    if split == 0:
        yield (slice(None),) * len(shape)
        return
    axis, step = split - 1, max(1, size // inner)
    step -= step % MIN_RUN if step > MIN_RUN else 0  # blocks of whole cache lines when cut finely
    whole = (slice(None),) * (len(shape) - split)
    for outer in np.ndindex(*shape[:axis]):
        lead = tuple(slice(i, i + 1) for i in outer)
        for start in range(0, shape[axis], step):
            yield (*lead, slice(start, min(start + step, shape[axis])), *whole)


# Shortest run of the Keras memory (float32 values: 16 fill a 64-byte cache line) that a block
# of the reference's own walk may cut the Keras tensor into; below it the walk follows Keras.
MIN_RUN = 16


def walk_order(keras: np.ndarray | None, ref: np.ndarray, size: int) -> tuple[int, ...]:
    """The axis order of the walk: the reference's memory order (its blocks are runs of its
    memory, the Keras blocks transposed into the buffer) when each Keras block is still made
    of runs of at least :data:`MIN_RUN` values, as for a 4-D blob of small H x W and many
    channels; else the Keras tensor's (a block of a few rows of a large H x W is one run of
    the Keras memory, the reference's block runs of whole rows)."""
    own = memory_order(ref)
    if keras is None:
        return own
    first = next(chunks(tuple(ref.shape[a] for a in own), size))
    block = [first[own.index(ax)].indices(ref.shape[ax]) for ax in range(ref.ndim)]
    run = 1
    for ax in reversed(memory_order(keras)):
        start, stop, _ = block[ax]
        run *= stop - start
        if stop - start < ref.shape[ax]:
            break
    return own if run >= MIN_RUN else memory_order(keras)


def _contiguous(scratch: Scratch, name: str, block: np.ndarray, own: bool = False) -> np.ndarray:
    """``block`` as a contiguous float64 array of its shape: the block itself when it already
    is one (and ``own`` is False: the caller does not write into it), else copied (cast,
    transposed) into the reused buffer ``name``."""
    if not own and block.dtype == np.float64 and block.flags.c_contiguous:
        return block
    out = scratch.get(name, block.size).reshape(block.shape)
    np.copyto(out, block)
    return out


def measure(
    keras: np.ndarray | None,
    ref: np.ndarray,
    twin: np.ndarray | None,
    scratch: Scratch | None = None,
) -> Measured | None:
    """The numbers of ``compare_blob(keras, ref)`` (non-detection), ``blob_noise(twin, ref)``
    and whether ``twin`` is finite everywhere, in one chunked pass; None when anything is
    special (see the module's docstring) and the old functions must decide."""
    scratch = scratch or Scratch()
    arrays = [a for a in (keras, twin) if a is not None]
    if ref.dtype != np.float64 or not ref.size or any(a.shape != ref.shape for a in arrays):
        return None
    order = walk_order(keras, ref, scratch.size)
    back = tuple(int(i) for i in np.argsort(order))  # a block of the walk in ref's axis order
    dot = np.dot if scratch.blas else _einsum_dot
    rtop, rbottom, dmax, tmax = -math.inf, math.inf, 0.0, 0.0
    dsum = kk = rr = kr = 0.0
    for walked in chunks(tuple(ref.shape[a] for a in order), scratch.size):
        index = tuple(walked[i] for i in back)
        # the reference's block in its own layout: runs of its memory, no strided gather
        r_block = _contiguous(scratch, "ref", ref[index])
        r = r_block.reshape(-1)
        top, bottom = float(r.max()), float(r.min())
        if not (top < FLT_MAX and -bottom < FLT_MAX):  # NaN fails both
            return None
        rtop, rbottom = max(rtop, top), min(rbottom, bottom)
        if keras is not None:
            # the Keras block is one contiguous run of its memory: transposed into the buffer
            k = _contiguous(scratch, "keras", keras[index], own=True).reshape(-1)
            kk, rr, kr = kk + dot(k, k), rr + dot(r, r), kr + dot(k, r)
            np.subtract(k, r, out=k)  # in place: the buffer now holds |keras - ref|
            np.abs(k, out=k)
            top = float(k.max())
            if not top < math.inf:  # a non-finite Keras value (r is finite)
                return None
            dmax, dsum = max(dmax, top), dsum + float(k.sum())
        if twin is not None and tmax < math.inf:
            t = scratch.get("twin", r.size)
            np.copyto(t.reshape(r_block.shape), twin[index])  # a mixed-type subtract is slower
            np.subtract(t, r, out=t)
            np.abs(t, out=t)
            top = float(t.max())
            tmax = max(tmax, top) if top < math.inf else math.inf  # NaN: not finite either
    ref_max = max(rtop, -rbottom)
    twin_finite = twin is None or tmax < math.inf
    noise = None
    if twin is not None and twin_finite:
        noise = tmax / ref_max if ref_max > 0 else 0.0
    if keras is None:
        return Measured(ref_max, None, None, None, noise, twin_finite)
    return Measured(ref_max, dmax, dsum / ref.size, _cosine(kk, rr, kr), noise, twin_finite)


def _einsum_dot(a: np.ndarray, b: np.ndarray) -> float:
    return float(np.einsum("i,i->", a, b))


def _cosine(kk: float, rr: float, kr: float) -> float:
    """``compare._cosine`` from its three sums."""
    na, nb = math.sqrt(kk), math.sqrt(rr)
    if na == 0.0 and nb == 0.0:
        return 1.0
    if na == 0.0 or nb == 0.0:
        return 0.0
    return float(kr / (na * nb))
