"""Convolution as BLAS-sized products over kernel taps, with no im2col copy.

Caffe (``conv_layer.cpp`` + ``im2col.cpp``) computes, per sample and group, the weights
(Og, Cg*KH*KW) times the columns (Cg*KH*KW, OH*OW), where column (c, i, j) of output (oh, ow)
reads input row ``oh * stride_h - pad_h + i * dilation_h`` (and the same for columns), zero
outside the image. The same sum, split by kernel tap (i, j), is a sum of GEMMs (Og, Cg) times
(Cg, OH*OW); each tap's operand is a zero-copy view of the padded input:

- The input is padded once, channels first and the batch inside: (C, N, Hp, Wp). With stride
  (sh, sw) it is split into its sh * sw *phases* (rows ``a::sh``, columns ``b::sw``), so that tap
  (i, j) reads phase ``((i * dh) % sh, (j * dw) % sw)`` at a whole-row, whole-column offset
  ``((i * dh) // sh, (j * dw) // sw)`` with stride 1.
- Flattened to (C, N * Hq * Wq), the values tap (i, j) needs for every output (n, oh, ow) with
  ``ow`` in the *wide* range [0, Wq) lie at one offset plus ``(n * Hq + oh) * Wq + ow``: a
  (C, L) slice with unit stride, which BLAS takes as it is (its leading dimension is the row
  length). The outputs with ``ow >= OW`` read the next row's first values: they are computed
  and dropped (Wq - OW = (KW - 1) * dw // sw columns per row).

Used where it beats Caffe's own im2col GEMM (``ops/columns.py``): many input channels per group
and fewer outputs (DenseNet's 3x3 convolutions, 128 -> 32 channels), where stacking columns
costs more than the per-tap partial sums (``reference/ops/conv.py`` chooses).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

Pair = tuple[int, int]
_BLOCK_BYTES = 1 << 21  # partial sums of a block of outputs (2 MiB: within a core's cache)
_MIN_BLOCK = 1024  # outputs per block at least (thinner products lose BLAS efficiency)


@dataclass(frozen=True)
class TapGrid:
    """The padded, phase-split input of one convolution and where each kernel tap reads it."""

    phases: np.ndarray  # (sh, sw, C, M), M = N * Hq * Wq
    rows: int  # Hq
    cols: int  # Wq
    span: int  # L = (N - 1) * Hq * Wq + OH * Wq: the wide outputs computed
    kernel: Pair
    stride: Pair
    dilation: Pair

    def tap(self, i: int, j: int) -> np.ndarray:
        """(C, L) view of what kernel tap (i, j) multiplies, for every wide output."""
        (sh, sw), (dh, dw) = self.stride, self.dilation
        offset = (i * dh // sh) * self.cols + j * dw // sw
        return self.phases[i * dh % sh, j * dw % sw, :, offset : offset + self.span]


def tap_grid(
    x: np.ndarray, kernel: Pair, stride: Pair, pad: Pair, dilation: Pair, out: Pair, dtype: np.dtype
) -> TapGrid:
    """The :class:`TapGrid` of ``x`` (N, C, H, W) for a convolution with output size ``out``:
    one copy of the input (padded, transposed to (C, N, ...), cast to ``dtype``), and one more
    when strided (the phase split)."""
    n, c, h, w = x.shape
    (kh, kw), (sh, sw), (ph, pw), (dh, dw) = kernel, stride, pad, dilation
    # one spare row so the last tap's wide span stays inside the sample's block
    hq = out[0] + (kh - 1) * dh // sh + 1
    wq = out[1] + (kw - 1) * dw // sw
    padded = np.zeros((c, n, hq * sh, wq * sw), dtype=dtype)
    hh, ww = max(0, min(h, hq * sh - ph)), max(0, min(w, wq * sw - pw))
    padded[:, :, ph : ph + hh, pw : pw + ww] = x[:, :, :hh, :ww].transpose(1, 0, 2, 3)
    if (sh, sw) == (1, 1):
        phases = padded.reshape(1, 1, c, n * hq * wq)
    else:
        split = padded.reshape(c, n, hq, sh, wq, sw).transpose(3, 5, 0, 1, 2, 4)
        phases = np.ascontiguousarray(split).reshape(sh, sw, c, n * hq * wq)
    span = (n - 1) * hq * wq + out[0] * wq
    return TapGrid(phases, hq, wq, span, kernel, stride, dilation)


def _sum_of_taps(grid: TapGrid, wt: np.ndarray, y: np.ndarray) -> None:
    """y (G, Og, L) = sum over taps of wt[i, j] (G, Og, Cg) @ tap (G, Cg, L): one GEMM per tap
    and group, a block of outputs at a time so that the partial sums stay in cache."""
    kh, kw, g, og, cg = wt.shape
    step = max(_MIN_BLOCK, _BLOCK_BYTES // (g * og * y.itemsize))
    part = np.empty((g, og, min(step, grid.span)), dtype=y.dtype)
    views = [grid.tap(i, j).reshape(g, cg, grid.span) for i in range(kh) for j in range(kw)]
    taps = wt.reshape(kh * kw, g, og, cg)
    for start in range(0, grid.span, step):
        stop = min(start + step, grid.span)
        block, scratch = y[..., start:stop], part[..., : stop - start]
        for t, view in enumerate(views):
            target = block if t == 0 else scratch
            np.matmul(taps[t], view[..., start:stop], out=target)
            if t:
                block += scratch


def conv_by_taps(
    x: np.ndarray,
    weight: np.ndarray,
    kernel: Pair,
    stride: Pair,
    pad: Pair,
    dilation: Pair,
    group: int,
    out: Pair,
    dtype: np.dtype,
) -> np.ndarray:
    """Caffe's convolution of ``x`` (N, C, H, W) by ``weight`` (O, C / group, KH, KW), without
    bias: (N, O, OH, OW) in ``dtype``. The weight is read once, cast (and laid out per tap)."""
    n = x.shape[0]
    o, cg, kh, kw = weight.shape
    og = o // group
    grid = tap_grid(x, kernel, stride, pad, dilation, out, dtype)
    wide = np.empty((group, og, n * grid.rows * grid.cols), dtype=dtype)
    y = wide[..., : grid.span]
    wt = np.empty((kh, kw, group, og, cg), dtype=dtype)  # per tap: (G, Og, Cg)
    wt[...] = np.asarray(weight).reshape(group, og, cg, kh, kw).transpose(3, 4, 0, 1, 2)
    _sum_of_taps(grid, wt, y)
    rows, cols = grid.rows, grid.cols
    del grid, y
    shaped = wide.reshape(o, n, rows, cols)[:, :, : out[0], : out[1]]
    return np.ascontiguousarray(shaped.transpose(1, 0, 2, 3))
