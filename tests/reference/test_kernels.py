"""The reference's convolution, deconvolution and pooling kernels against slow loops transcribed
from Caffe's C++ (``im2col.cpp`` + ``conv_layer.cpp``, ``col2im`` + ``deconv_layer.cpp``,
``pooling_layer.cpp``), over a seeded random grid of kernel, stride, pad, dilation and group.

The grid covers each code path of ``reference/ops/conv.py``, ``columns.py`` and ``taps.py`` (a GEMM
per tap for >= 16 channels per group and fewer outputs, Caffe's im2col columns for the rest:
thin groups, depthwise, as many outputs as inputs; 1x1, strided phases, dilation, C++'s
truncating division keeping a window that overhangs the padded input) and the pooling edge
cases (ceil rounding, a last window starting in the padding or past the input).

Bounds: float64 against the loops' float64 sums in another order, atol 1e-12 on order-one values
(``tests/bounds.py``, audit: "float64 against float64 of the same sums in another order"); the
float32 run against the loops within :func:`bounds.rounding_bound` of its own measured spread.
"""

from __future__ import annotations

import math
import zlib

import numpy as np
import pytest
from bounds import assert_within, rel_linf, rounding_bound

from caffe2keras.families.pooling import PoolingParams
from caffe2keras.ir.shapes.geometry import c_div
from caffe2keras.reference.ops import columns, conv, taps

from .helpers import conv_params, make_layer, run_layer

FLT_MAX = float(np.finfo(np.float32).max)


def im2col_cpp(x, kernel, stride, pad, dil, out):
    """``im2col.cpp`` im2col_cpu for one image (C, H, W): rows (c, kh, kw), columns (oh, ow)."""
    c, h, w = x.shape
    (kh, kw), (sh, sw), (ph, pw), (dh, dw) = kernel, stride, pad, dil
    cols = np.zeros((c * kh * kw, out[0] * out[1]))
    row = 0
    for ch in range(c):
        for i in range(kh):
            for j in range(kw):
                in_row = -ph + i * dh
                for r in range(out[0]):
                    if 0 <= in_row < h:
                        in_col = -pw + j * dw
                        for s in range(out[1]):
                            if 0 <= in_col < w:
                                cols[row, r * out[1] + s] = x[ch, in_row, in_col]
                            in_col += sw
                    in_row += sh
                row += 1
    return cols


def conv_cpp(x, weight, bias, kernel, stride, pad, dil, group):
    """``conv_layer.cpp`` Forward_cpu: per image and group, weight (Og, Cg*KH*KW) @ columns."""
    n, c, h, w = x.shape
    o = weight.shape[0]
    out = tuple(
        c_div((h, w)[a] + 2 * pad[a] - (dil[a] * (kernel[a] - 1) + 1), stride[a]) + 1
        for a in (0, 1)
    )
    cg, og = c // group, o // group
    y = np.zeros((n, o, *out))
    for b in range(n):
        cols = im2col_cpp(x[b], kernel, stride, pad, dil, out)
        k = cg * kernel[0] * kernel[1]
        for g in range(group):
            wg = weight[g * og : (g + 1) * og].reshape(og, k)
            y[b, g * og : (g + 1) * og] = (wg @ cols[g * k : (g + 1) * k]).reshape(og, *out)
    return y + bias.reshape(1, -1, 1, 1)


def deconv_cpp(x, weight, bias, kernel, stride, pad, dil, group):
    """``deconv_layer.cpp`` Forward_cpu: columns = W_g^T @ x_g, then ``im2col.cpp`` col2im_cpu
    (accumulate each column value at its input position) into the deconvolution's output."""
    n, c, h, w = x.shape
    og = weight.shape[1]
    (kh, kw), (sh, sw), (ph, pw), (dh, dw) = kernel, stride, pad, dil
    out = (sh * (h - 1) + dh * (kh - 1) + 1 - 2 * ph, sw * (w - 1) + dw * (kw - 1) + 1 - 2 * pw)
    cg = c // group
    y = np.zeros((n, og * group, *out))
    for b in range(n):
        for g in range(group):
            wg = weight[g * cg : (g + 1) * cg].reshape(cg, og * kh * kw)
            cols = wg.T @ x[b, g * cg : (g + 1) * cg].reshape(cg, h * w)
            row = 0
            for ch in range(og):
                for i in range(kh):
                    for j in range(kw):
                        in_row = -ph + i * dh
                        for r in range(h):
                            if 0 <= in_row < out[0]:
                                in_col = -pw + j * dw
                                for s in range(w):
                                    if 0 <= in_col < out[1]:
                                        y[b, g * og + ch, in_row, in_col] += cols[row, r * w + s]
                                    in_col += sw
                            in_row += sh
                        row += 1
    return y + bias.reshape(1, -1, 1, 1)


def pool_cpp(x, method, kernel, stride, pad, ceil):
    """``pooling_layer.cpp`` Reshape + Forward_cpu (MAX and AVE), loops as written there."""
    n, c, h, w = x.shape
    size = []
    for a, dim in enumerate((h, w)):
        span = (dim + 2 * pad[a] - kernel[a]) / stride[a]
        out = (math.ceil(span) if ceil else math.floor(span)) + 1
        if (pad[0] or pad[1]) and (out - 1) * stride[a] >= dim + pad[a]:
            out -= 1
        size.append(out)
    y = np.zeros((n, c, *size))
    for b in range(n):
        for ch in range(c):
            for r in range(size[0]):
                for s in range(size[1]):
                    hstart, wstart = r * stride[0] - pad[0], s * stride[1] - pad[1]
                    hend = min(hstart + kernel[0], h + pad[0])
                    wend = min(wstart + kernel[1], w + pad[1])
                    pool_size = (hend - hstart) * (wend - wstart)
                    hstart, wstart = max(hstart, 0), max(wstart, 0)
                    hend, wend = min(hend, h), min(wend, w)
                    if method == "MAX":
                        best = -FLT_MAX
                        for i in range(hstart, hend):
                            for j in range(wstart, wend):
                                if x[b, ch, i, j] > best:
                                    best = x[b, ch, i, j]
                        y[b, ch, r, s] = best
                    else:
                        total = 0.0
                        for i in range(hstart, hend):
                            for j in range(wstart, wend):
                                total += x[b, ch, i, j]
                        y[b, ch, r, s] = total / pool_size if pool_size else math.nan
    return y


FIXED_CONVS = [  # (C, O, H, W, kernel, stride, pad, dilation, group): 1x1 without padding
    (32, 8, 8, 7, (1, 1), (2, 3), (0, 0), (1, 1), 1),  # strided: the input subsampled
    (4, 6, 5, 5, (1, 1), (1, 1), (0, 0), (2, 1), 2),  # the input itself, grouped
]


def _conv_grid(count: int, seed: int) -> list[tuple]:
    """:data:`FIXED_CONVS`, then random valid (C, O, H, W, kernel, stride, pad, dilation, group)
    convolutions; channels per group drawn from 1 (depthwise), 2-15 (columns) and 16+ (a GEMM per
    tap when there are fewer outputs per group, columns when there are as many or more)."""
    rng = np.random.default_rng(seed)
    cases: list[tuple] = list(FIXED_CONVS)
    while len(cases) < count:
        group = int(rng.choice([1, 1, 2, 3]))
        cg = int(rng.choice([1, 2, 3, 5, 16, 17]))
        og = int(rng.choice([1, 2, 3, 3, 17]))
        kernel = tuple(int(v) for v in rng.integers(1, 5, 2))
        stride = tuple(int(v) for v in rng.integers(1, 4, 2))
        pad = tuple(int(v) for v in rng.integers(0, 3, 2))
        dil = tuple(int(v) for v in rng.integers(1, 4, 2))
        h, w = (int(v) for v in rng.integers(1, 9, 2))
        outs = [
            c_div((h, w)[a] + 2 * pad[a] - (dil[a] * (kernel[a] - 1) + 1), stride[a]) + 1
            for a in (0, 1)
        ]
        if min(outs) < 1:
            continue
        cases.append((cg * group, og * group, h, w, kernel, stride, pad, dil, group))
    return cases


def _check_both_dtypes(layer, x, expected) -> None:
    (y64,) = run_layer(layer, x)
    (y32,) = run_layer(layer, x, dtype=np.float32)
    assert y64.dtype == np.float64 and y32.dtype == np.float32
    np.testing.assert_allclose(y64, expected, rtol=0, atol=1e-12)
    spread = rel_linf(y32, y64)
    assert_within(f"{layer.type} float32", rel_linf(y32, expected), rounding_bound(spread))


def _check_conv_against_loops(case) -> None:
    """A seeded Convolution layer of ``case`` (C, O, H, W, kernel, stride, pad, dilation,
    group) in both dtypes against the ``im2col.cpp`` loops."""
    c, o, h, w, kernel, stride, pad, dil, group = case
    rng = np.random.default_rng(zlib.crc32(repr(case).encode()))
    x = rng.standard_normal((2, c, h, w))
    weight = rng.standard_normal((o, c // group, *kernel))
    bias = rng.standard_normal(o)
    layer = make_layer("Convolution", conv_params(o, kernel, stride, pad, dil, group), weight, bias)
    _check_both_dtypes(layer, x, conv_cpp(x, weight, bias, kernel, stride, pad, dil, group))


@pytest.mark.parametrize("case", _conv_grid(60, seed=15))
def test_convolution_matches_caffe_im2col_loops(case) -> None:
    _check_conv_against_loops(case)


@pytest.mark.parametrize("case", _conv_grid(4, seed=16))
def test_convolution_blocks_change_nothing(case, monkeypatch) -> None:
    """One output position per per-tap block, one output row per column block: same result."""
    c, o, h, w, kernel, stride, pad, dil, group = case
    rng = np.random.default_rng(3)
    x = rng.standard_normal((2, c, h, w))
    weight, bias = rng.standard_normal((o, c // group, *kernel)), rng.standard_normal(o)
    layer = make_layer("Convolution", conv_params(o, kernel, stride, pad, dil, group), weight, bias)
    (whole,) = run_layer(layer, x)
    monkeypatch.setattr(columns, "BLOCK_BYTES", 1)
    monkeypatch.setattr(taps, "_BLOCK_BYTES", 1)
    monkeypatch.setattr(taps, "_MIN_BLOCK", 1)
    (blocked,) = run_layer(layer, x)
    np.testing.assert_allclose(blocked, whole, rtol=0, atol=1e-12)


def test_every_convolution_path_is_drawn() -> None:
    """The grid reaches each path of ``conv.convolution`` and the overhang case."""
    drawn = set()
    for c, o, h, w, kernel, stride, pad, dil, group in _conv_grid(60, seed=15):
        cg, og, taps_ = c // group, o // group, kernel[0] * kernel[1]
        direct = taps_ == 1 and pad == (0, 0)
        drawn.add("per-tap" if conv._by_taps(cg, og) and not direct else "")
        drawn.add("columns" if 1 < cg < conv.TAP_MIN_CHANNELS and taps_ > 1 else "")
        wide = cg >= conv.TAP_MIN_CHANNELS and not conv._by_taps(cg, og)
        drawn.add("wide columns" if wide and taps_ > 1 and group > 1 else "")
        drawn.add("1x1 padded" if taps_ == 1 and pad != (0, 0) else "")
        drawn.add("depthwise" if cg == 1 and taps_ > 1 else "")
        drawn.add("strided" if stride != (1, 1) else "")
        drawn.add("dilated" if dil != (1, 1) else "")
        drawn.add("1x1 strided" if taps_ == 1 and pad == (0, 0) and stride != (1, 1) else "")
        extent = [(dil[a] * (kernel[a] - 1) + 1) for a in (0, 1)]
        drawn.add("overhang" if any(extent[a] > (h, w)[a] + 2 * pad[a] for a in (0, 1)) else "")
    paths = {"per-tap", "columns", "wide columns", "depthwise", "strided", "dilated", "overhang"}
    paths |= {"1x1 strided", "1x1 padded"}
    assert drawn >= paths


EDGE_CONVS = [  # (C, O, H, W, kernel, stride, pad, dilation, group), with one-row column blocks
    (3, 2, 1, 3, (1, 1), (1, 1), (2, 2), (1, 1), 1),  # padded 1x1: rows of padding only
    (17, 18, 2, 5, (3, 2), (2, 1), (2, 1), (2, 1), 1),  # blocks starting in the padding
    (4, 4, 3, 3, (3, 3), (3, 3), (2, 0), (1, 2), 4),  # depthwise, overhanging last window
]


@pytest.mark.parametrize("case", EDGE_CONVS)
@pytest.mark.parametrize("block_bytes", [1, columns.BLOCK_BYTES])
def test_column_blocks_at_the_borders(case, block_bytes, monkeypatch) -> None:
    """Caffe's columns a block of rows at a time (each block pads its own input rows) against
    the ``im2col.cpp`` loops, where blocks read only padding, start in it or overhang it."""
    c, o, h, w, kernel, stride, pad, dil, group = case
    assert not conv._by_taps(c // group, o // group)
    monkeypatch.setattr(columns, "BLOCK_BYTES", block_bytes)
    _check_conv_against_loops(case)


@pytest.mark.parametrize("case", _conv_grid(24, seed=17))
def test_deconvolution_matches_caffe_col2im_loops(case) -> None:
    c, o, h, w, kernel, stride, pad, dil, group = case
    # deconv_layer.cpp: the output must be positive; pad crops it
    pad = tuple(min(pad[a], (dil[a] * (kernel[a] - 1)) // 2) for a in (0, 1))
    rng = np.random.default_rng(zlib.crc32(repr(case).encode()))
    x = rng.standard_normal((2, c, h, w))
    weight = rng.standard_normal((c, o // group, *kernel))
    bias = rng.standard_normal(o)
    layer = make_layer(
        "Deconvolution", conv_params(o, kernel, stride, pad, dil, group), weight, bias
    )
    _check_both_dtypes(layer, x, deconv_cpp(x, weight, bias, kernel, stride, pad, dil, group))


def _pool_grid(count: int, seed: int) -> list[tuple]:
    rng = np.random.default_rng(seed)
    cases: list[tuple] = []
    while len(cases) < count:
        kernel = tuple(int(v) for v in rng.integers(1, 5, 2))
        stride = tuple(int(v) for v in rng.integers(1, 4, 2))
        pad = tuple(int(rng.integers(0, k)) for k in kernel)  # Caffe checks pad < kernel
        h, w = (int(v) for v in rng.integers(1, 9, 2))
        if h + 2 * pad[0] < kernel[0] or w + 2 * pad[1] < kernel[1]:
            continue
        method = str(rng.choice(["MAX", "AVE"]))
        cases.append((method, h, w, kernel, stride, pad, bool(rng.integers(0, 2))))
    return cases


@pytest.mark.parametrize("case", _pool_grid(40, seed=18))
def test_pooling_matches_caffe_loops(case) -> None:
    method, h, w, kernel, stride, pad, ceil = case
    rng = np.random.default_rng(zlib.crc32(repr(case).encode()))
    x = rng.standard_normal((2, 3, h, w)) - 1.0  # mostly negative: padding must never win
    params = PoolingParams(
        method=method, kernel=kernel, stride=stride, pad=pad, global_pooling=False, ceil=ceil
    )
    layer = make_layer("Pooling", params)
    expected = pool_cpp(x, method, kernel, stride, pad, ceil)
    (y64,) = run_layer(layer, x)
    (y32,) = run_layer(layer, x, dtype=np.float32)
    empty = np.isnan(expected)  # AVE's 0 / 0 of a window past the input
    for y in (y64, y32):
        np.testing.assert_array_equal(np.isnan(y), empty)
    ok = ~empty
    np.testing.assert_allclose(y64[ok], expected[ok], rtol=0, atol=1e-12)
    spread = rel_linf(y32[ok], y64[ok])
    assert_within("Pooling float32", rel_linf(y32[ok], expected[ok]), rounding_bound(spread))
