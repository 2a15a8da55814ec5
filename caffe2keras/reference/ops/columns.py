"""Convolution as Caffe's own im2col GEMM, a block of output rows at a time, into the output.

Caffe (``conv_layer.cpp`` + ``im2col.cpp``) computes, per sample and group, the weights
(Og, Cg*KH*KW) times the columns (Cg*KH*KW, OH*OW): column row (c, i, j) of output (oh, ow)
reads input row ``oh * stride_h - pad_h + i * dilation_h`` (and the same for columns), zero
outside the image. Here the same product runs per sample on a block of whole output rows: the
block's columns are stacked, in Caffe's row order, from one strided view of the padded sample
per kernel tap (``KH * KW`` copies of ``Cg`` rows each), and one GEMM per group writes its
(Og, rows * OW) result straight into the output (N, O, OH, OW), whose rows of one channel are
contiguous: no transposing copy after, no partial sums, and each output is one BLAS dot
product over K = Cg*KH*KW in Caffe's order, as in Caffe.

Blocks hold at most :data:`BLOCK_BYTES` of columns (at least one output row): big enough for
BLAS to run near its peak on VGG-16's K = 4608 float64 products, small enough to keep a
convolution's temporaries at MiBs (``benchmarks/README.md``, "Reference speed, round 2").
The padded sample is one more copy of one sample at a time (not of the batch).
"""

from __future__ import annotations

import numpy as np

Pair = tuple[int, int]
BLOCK_BYTES = 1 << 23
"""Cap on one block of columns (8 MiB); a block is at least one output row."""


def _padded_shape(
    x: np.ndarray, kernel: Pair, stride: Pair, pad: Pair, dilation: Pair, out: Pair
) -> tuple[int, int, int]:
    """(C, Hp, Wp) of one padded sample, large enough for every window of the ``out`` outputs,
    including one that overhangs the padded input (C++'s truncating division keeps it: the
    part past the padding reads zeros)."""
    c, h, w = x.shape[1:]
    rows = max(h + 2 * pad[0], (out[0] - 1) * stride[0] + (kernel[0] - 1) * dilation[0] + 1)
    cols = max(w + 2 * pad[1], (out[1] - 1) * stride[1] + (kernel[1] - 1) * dilation[1] + 1)
    return c, rows, cols


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
) -> np.ndarray:
    """Caffe's convolution of ``x`` (N, C, H, W) by ``weight`` (O, C / group, KH, KW), without
    bias: (N, O, OH, OW) in ``dtype``, one im2col GEMM per sample, group and block of rows."""
    n, h, w = x.shape[0], x.shape[2], x.shape[3]
    o, cg, kh, kw = weight.shape
    (sh, sw), (ph, pw), (dh, dw) = stride, pad, dilation
    (oh, ow), og, k = out, o // group, cg * kh * kw
    wmat = np.asarray(weight, dtype=dtype).reshape(group, og, k)
    itemsize = np.dtype(dtype).itemsize
    step = max(1, min(oh, BLOCK_BYTES // (group * k * ow * itemsize)))
    cols = np.empty((group, cg, kh, kw, step, ow), dtype=dtype)
    buffer = np.zeros(_padded_shape(x, kernel, stride, pad, dilation, out), dtype=dtype)
    src = buffer.reshape(group, cg, *buffer.shape[1:])
    y = np.empty((n, o, oh, ow), dtype=dtype)
    for s in range(n):
        buffer[:, ph : ph + h, pw : pw + w] = x[s]  # the border stays zero
        ys = y[s].reshape(group, og, oh * ow)
        for r0 in range(0, oh, step):
            r = min(step, oh - r0)
            for i in range(kh):
                for j in range(kw):
                    a, b = r0 * sh + i * dh, j * dw
                    rows = slice(a, a + (r - 1) * sh + 1, sh)
                    cols[:, :, i, j, :r] = src[:, :, rows, b : b + (ow - 1) * sw + 1 : sw]
            block = cols[..., :r, :].reshape(group, k, r * ow)  # a view: rows (c, i, j)
            np.matmul(wmat, block, out=ys[..., r0 * ow : (r0 + r) * ow])
    return y
