"""One cache-sized pass per blob for the streamed comparison's numbers.

:func:`caffe2keras.verify.compare.compare_blob`, ``blob_noise`` and ``overflow_note`` each walk
the whole blob several times in float64 (a contiguous copy of the Keras blob, max and min of the
reference, the difference, its max and mean, three dot products; then the float32 twin's gap):
about 16 passes over arrays far larger than the cache, memory-bound. :func:`measure` computes the
same numbers in one walk over the data, a chunk of :data:`CHUNK` elements at a time, in the
memory order of the Keras tensor (its Caffe layout is a transposed view of an NHWC tensor): each
Keras chunk is a contiguous read, the matching reference and twin slabs are transposed into
reused float64 buffers that stay in L2, and every intermediate is computed there.

It covers the plain case only. Anything special (NaN, +-Inf or +-FLT_MAX in the reference, a
non-finite Keras value, shapes that differ, an empty blob) makes :func:`measure` return None and
the caller use the old functions, which own those rules; a non-finite float32 twin leaves the
Keras numbers valid but sends the noise and the overflow note back to the old functions too
(:class:`Measured`). So the results are the old functions' own: max values bit-identical (a max
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
    """Reused float64 chunk buffers (one set per streamed pass, grown on demand)."""

    def __init__(self, size: int | None = None) -> None:
        self.size = size or CHUNK
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


def chunks(shape: tuple[int, ...], size: int) -> Iterator[tuple[int | slice, ...]]:
    """Index tuples that cut an array of ``shape`` into C-order blocks of at most ``size``
    elements (at least one row of the innermost axes that fit): the leading axes are walked one
    index at a time, one axis in steps, the trailing axes taken whole."""
    split, inner = len(shape), 1
    while split > 0 and inner * shape[split - 1] <= size:
        split -= 1
        inner *= shape[split]
    if split == 0:
        yield ()
        return
    axis, step = split - 1, max(1, size // inner)
    for outer in np.ndindex(*shape[:axis]):
        for start in range(0, shape[axis], step):
            yield (*outer, slice(start, min(start + step, shape[axis])))


def _load(scratch: Scratch, name: str, block: np.ndarray, own: bool = False) -> np.ndarray:
    """``block`` as a contiguous float64 vector: the block itself when it already is one (and
    ``own`` is False: the caller will not write into it), else copied (transposed, cast) into
    the reused buffer ``name``."""
    if not own and block.dtype == np.float64 and block.flags.c_contiguous:
        return block.reshape(-1)
    out = scratch.get(name, block.size)
    np.copyto(out.reshape(block.shape), block)
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
    order = memory_order(keras if keras is not None else ref)
    r_all = ref.transpose(order)
    k_all = None if keras is None else keras.transpose(order)
    t_all = None if twin is None else twin.transpose(order)
    rtop, rbottom, dmax, tmax = -math.inf, math.inf, 0.0, 0.0
    dsum = kk = rr = kr = 0.0
    for index in chunks(r_all.shape, scratch.size):
        r = _load(scratch, "ref", r_all[index])
        top, bottom = float(r.max()), float(r.min())
        if not (top < FLT_MAX and -bottom < FLT_MAX):  # NaN fails both
            return None
        rtop, rbottom = max(rtop, top), min(rbottom, bottom)
        if k_all is not None:
            k = _load(scratch, "keras", k_all[index])
            d = scratch.get("diff", r.size)
            np.subtract(k, r, out=d)
            np.abs(d, out=d)
            top = float(d.max())
            if not top < math.inf:  # a non-finite Keras value (r is finite)
                return None
            dmax, dsum = max(dmax, top), dsum + float(d.sum())
            # einsum's own loops, not BLAS (see compare._cosine)
            kk += float(np.einsum("i,i->", k, k))
            rr += float(np.einsum("i,i->", r, r))
            kr += float(np.einsum("i,i->", k, r))
        if t_all is not None and tmax < math.inf:
            t = _load(scratch, "twin", t_all[index], own=True)
            np.subtract(t, r, out=t)
            np.abs(t, out=t)
            top = float(t.max())
            tmax = max(tmax, top) if top < math.inf else math.inf  # NaN: not finite either
    ref_max = max(rtop, -rbottom)
    twin_finite = twin is None or tmax < math.inf
    noise = None
    if twin is not None and twin_finite:
        noise = tmax / ref_max if ref_max > 0 else 0.0
    if k_all is None:
        return Measured(ref_max, None, None, None, noise, twin_finite)
    return Measured(ref_max, dmax, dsum / ref.size, _cosine(kk, rr, kr), noise, twin_finite)


def _cosine(kk: float, rr: float, kr: float) -> float:
    """``compare._cosine`` from its three sums."""
    na, nb = math.sqrt(kk), math.sqrt(rr)
    if na == 0.0 and nb == 0.0:
        return 1.0
    if na == 0.0 or nb == 0.0:
        return 0.0
    return kr / (na * nb)
