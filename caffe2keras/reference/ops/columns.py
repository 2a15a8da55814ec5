"""Convolution as Caffe's own im2col GEMM, a block of output rows at a time, into the output.

Caffe (``conv_layer.cpp`` + ``im2col.cpp``) computes, per sample and group, the weights
(Og, Cg*KH*KW) times the columns (Cg*KH*KW, OH*OW): column row (c, i, j) of output (oh, ow)
reads input row ``oh * stride_h - pad_h + i * dilation_h`` (and the same for columns), zero
outside the image. Here the same product runs per sample on a block of whole output rows: the
block's columns are stacked, in Caffe's row order, from one strided view of the padded input
rows it reads per kernel tap (``KH * KW`` copies of ``Cg`` rows each), and one GEMM per group
writes its (Og, rows * OW) result straight into the output (N, O, OH, OW), whose rows of one
channel are contiguous: no transposing copy after, no partial sums, and each output is one
BLAS dot product over K = Cg*KH*KW in Caffe's order, as in Caffe.

Blocks hold at most :data:`BLOCK_BYTES` of columns (at least one output row): big enough for
BLAS to run near its peak on VGG-16's K = 4608 float64 products, small enough to keep a
convolution's temporaries at MiBs (``benchmarks/README.md``, "Reference speed, round 2").
The input is padded a block at a time too: only the rows one block of outputs reads.
"""

from __future__ import annotations

import numpy as np

Pair = tuple[int, int]
BLOCK_BYTES = 1 << 23
"""Cap on one block of columns (8 MiB); a block is at least one output row."""


def _window_rows(x: np.ndarray, sample: int, top: int, buffer: np.ndarray, pad: Pair) -> None:
    """Fill ``buffer`` (C, R, Wp) with the R padded input rows from padded row ``top`` on (those
    a block of output rows reads): rows outside the image are zeroed here, and the columns
    outside it are never written (zero since the buffer was made)."""
    h, w = x.shape[2:]
    lo = top - pad[0]  # the input row of buffer row 0 (negative: in the top padding)
    first, last = max(lo, 0), min(lo + buffer.shape[1], h)
    if last <= first:  # all padding (a window overhanging the padded input)
        buffer[...] = 0
        return
    buffer[:, : first - lo] = 0
    buffer[:, last - lo :] = 0
    buffer[:, first - lo : last - lo, pad[1] : pad[1] + w] = x[sample, :, first:last]


def conv_by_columns(
    x: np.ndarray,
    weight: np.ndarray,
    kernel: Pair,
    stride: Pair,
    pad: Pair,
    dilation: Pair,
    group: int,
    out: Pair,
    dtype: np.dtype,
    bias: np.ndarray | None = None,
) -> np.ndarray:
    """Caffe's convolution of ``x`` (N, C, H, W) by ``weight`` (O, C / group, KH, KW), plus
    ``bias`` (O,) when given: (N, O, OH, OW) in ``dtype``, one im2col GEMM per sample, group and
    block of rows. The bias is added to each block as soon as its GEMM wrote it (still in cache),
    one rounded addition per output after the product, as Caffe's bias GEMM (K = 1) adds it."""
    n, w = x.shape[0], x.shape[3]
    o, cg, kh, kw = weight.shape
    (sh, sw), (dh, dw) = stride, dilation
    (oh, ow), og, k = out, o // group, cg * kh * kw
    wmat = np.asarray(weight, dtype=dtype).reshape(group, og, k)
    itemsize = np.dtype(dtype).itemsize
    step = max(1, min(oh, BLOCK_BYTES // (group * k * ow * itemsize)))
    cols = np.empty((group, cg, kh, kw, step, ow), dtype=dtype)
    # the padded input rows one block reads; wide enough for an overhanging last window
    width = max(w + 2 * pad[1], (ow - 1) * sw + (kw - 1) * dw + 1)
    buffer = np.zeros((x.shape[1], (step - 1) * sh + (kh - 1) * dh + 1, width), dtype=dtype)
    src = buffer.reshape(group, cg, *buffer.shape[1:])
    y = np.empty((n, o, oh, ow), dtype=dtype)
    shift = None if bias is None else np.asarray(bias, dtype=dtype).reshape(group, og, 1)
    for s in range(n):
        ys = y[s].reshape(group, og, oh * ow)
        for r0 in range(0, oh, step):
            r = min(step, oh - r0)
            _window_rows(x, s, r0 * sh, buffer, pad)
            for i in range(kh):
                for j in range(kw):
                    a, b = i * dh, j * dw
                    tap = src[:, :, a : a + (r - 1) * sh + 1 : sh, b : b + (ow - 1) * sw + 1 : sw]
                    cols[:, :, i, j, :r] = tap
            block = cols[..., :r, :].reshape(group, k, r * ow)  # a view: rows (c, i, j)
            target = ys[..., r0 * ow : (r0 + r) * ow]
            np.matmul(wmat, block, out=target)
            if shift is not None:
                target += shift
    return y
