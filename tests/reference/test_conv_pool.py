"""Convolution, Deconvolution and Pooling against hand values and plain loops over Caffe's rules."""

from __future__ import annotations

import math

import numpy as np
import pytest

from caffe2keras.families.pooling import PoolingParams
from caffe2keras.reference.ops import columns

from .helpers import conv_params, make_layer, run_layer

RNG = np.random.default_rng(7)
CONV_CASES = [  # (C, O, kernel, stride, pad, dilation, group)
    (3, 4, (3, 3), (1, 1), (1, 1), (1, 1), 1),
    (4, 6, (3, 5), (2, 1), (1, 2), (1, 1), 2),
    (4, 4, (3, 3), (1, 2), (2, 0), (2, 1), 4),
    (2, 6, (1, 1), (1, 1), (0, 0), (1, 1), 1),
    (6, 3, (2, 2), (3, 3), (1, 0), (1, 2), 3),
]


def conv_loops(x, w, b, stride, pad, dil, group):
    n, c, h, wd = x.shape
    o, cg, kh, kw = w.shape
    oh = (h + 2 * pad[0] - (dil[0] * (kh - 1) + 1)) // stride[0] + 1
    ow = (wd + 2 * pad[1] - (dil[1] * (kw - 1) + 1)) // stride[1] + 1
    y = np.zeros((n, o, oh, ow))
    og = o // group
    for oc in range(o):
        g = oc // og
        for r in range(oh):
            for s in range(ow):
                for ci in range(cg):
                    for i in range(kh):
                        for j in range(kw):
                            hh = r * stride[0] - pad[0] + i * dil[0]
                            ww = s * stride[1] - pad[1] + j * dil[1]
                            if 0 <= hh < h and 0 <= ww < wd:
                                y[:, oc, r, s] += x[:, g * cg + ci, hh, ww] * w[oc, ci, i, j]
    return y + b.reshape(1, -1, 1, 1)


def deconv_loops(x, w, b, stride, pad, dil, group):
    n, c, h, wd = x.shape
    _, og, kh, kw = w.shape
    full = [stride[a] * ((h, wd)[a] - 1) + dil[a] * ((kh, kw)[a] - 1) + 1 for a in (0, 1)]
    y = np.zeros((n, og * group, *full))
    cg = c // group
    for ci in range(c):
        g = ci // cg
        for r in range(h):
            for s in range(wd):
                for o in range(og):
                    for i in range(kh):
                        for j in range(kw):
                            y[
                                :,
                                g * og + o,
                                r * stride[0] + i * dil[0],
                                s * stride[1] + j * dil[1],
                            ] += x[:, ci, r, s] * w[ci, o, i, j]
    y = y[:, :, pad[0] : full[0] - pad[0], pad[1] : full[1] - pad[1]]
    return y + b.reshape(1, -1, 1, 1)


@pytest.mark.parametrize("case", CONV_CASES)
def test_convolution_matches_loops(case) -> None:
    c, o, kernel, stride, pad, dil, group = case
    x = RNG.standard_normal((2, c, 7, 8))
    w = RNG.standard_normal((o, c // group, *kernel))
    b = RNG.standard_normal(o)
    layer = make_layer("Convolution", conv_params(o, kernel, stride, pad, dil, group), w, b)
    (y,) = run_layer(layer, x)
    np.testing.assert_allclose(y, conv_loops(x, w, b, stride, pad, dil, group), atol=1e-12)


def test_convolution_chunked_columns_are_the_same(monkeypatch) -> None:
    c, o, kernel, stride, pad, dil, group = CONV_CASES[1]  # 2 channels per group: columns
    x = RNG.standard_normal((2, c, 9, 8))
    w, b = RNG.standard_normal((o, c // group, *kernel)), RNG.standard_normal(o)
    layer = make_layer("Convolution", conv_params(o, kernel, stride, pad, dil, group), w, b)
    (whole,) = run_layer(layer, x)
    monkeypatch.setattr(columns, "BLOCK_BYTES", 1)  # one output row per GEMM
    (chunked,) = run_layer(layer, x)
    np.testing.assert_allclose(chunked, whole, atol=1e-12)


@pytest.mark.parametrize("case", CONV_CASES)
def test_deconvolution_matches_loops(case) -> None:
    c, o, kernel, stride, pad, dil, group = case
    c, o = max(c, o) // group * group, o  # in channels divisible by group
    pad = (min(pad[0], kernel[0] - 1), min(pad[1], kernel[1] - 1))
    x = RNG.standard_normal((2, c, 5, 4))
    w = RNG.standard_normal((c, o // group, *kernel))
    b = RNG.standard_normal(o)
    layer = make_layer("Deconvolution", conv_params(o, kernel, stride, pad, dil, group), w, b)
    (y,) = run_layer(layer, x)
    np.testing.assert_allclose(y, deconv_loops(x, w, b, stride, pad, dil, group), atol=1e-12)


def pool_params(method, kernel, stride, pad, ceil=True, global_pooling=False) -> PoolingParams:
    return PoolingParams(
        method=method,
        kernel=kernel,
        stride=stride,
        pad=pad,
        global_pooling=global_pooling,
        ceil=ceil,
    )


def pool_loops(x, method, k, s, p, ceil):
    """pooling_layer.cpp's loops, written out plainly."""
    n, c, h, w = x.shape
    size = []
    for a, dim in enumerate((h, w)):
        span = (dim + 2 * p[a] - k[a]) / s[a]
        out = (math.ceil(span) if ceil else math.floor(span)) + 1
        if p[a] and (out - 1) * s[a] >= dim + p[a]:
            out -= 1
        size.append(out)
    y = np.zeros((n, c, *size))
    for r in range(size[0]):
        for q in range(size[1]):
            hs, ws = r * s[0] - p[0], q * s[1] - p[1]
            if method == "MAX":
                he, we = min(hs + k[0], h), min(ws + k[1], w)
                y[:, :, r, q] = x[:, :, max(hs, 0) : he, max(ws, 0) : we].max(axis=(2, 3))
            else:
                he, we = min(hs + k[0], h + p[0]), min(ws + k[1], w + p[1])
                area = (he - hs) * (we - ws)
                window = x[:, :, max(hs, 0) : min(he, h), max(ws, 0) : min(we, w)]
                y[:, :, r, q] = window.sum(axis=(2, 3)) / area
    return y


@pytest.mark.parametrize("method", ["MAX", "AVE"])
@pytest.mark.parametrize("ceil", [True, False])
@pytest.mark.parametrize(
    "geometry",
    [
        ((3, 3), (2, 2), (1, 1)),
        ((2, 3), (1, 2), (0, 1)),
        ((3, 3), (2, 2), (2, 2)),
        ((3, 2), (3, 2), (0, 0)),
        ((2, 2), (2, 2), (1, 1)),
    ],
)
def test_pooling_matches_caffe_loops(method, ceil, geometry) -> None:
    k, s, p = geometry
    x = RNG.standard_normal((2, 3, 8, 7)) - 3.0  # mostly negative: padding must not win a max
    (y,) = run_layer(make_layer("Pooling", pool_params(method, k, s, p, ceil)), x)
    np.testing.assert_allclose(y, pool_loops(x, method, k, s, p, ceil), atol=1e-12)


def test_pooling_ceil_floor_and_clip() -> None:
    # 5 x 5, kernel 2, stride 2: (5 - 2) / 2 = 1.5 rounds up to 3 outputs (the last window holds
    # one row/column) or down to 2
    x = np.arange(25.0).reshape(1, 1, 5, 5)
    (ceil,) = run_layer(make_layer("Pooling", pool_params("MAX", (2, 2), (2, 2), (0, 0))), x)
    floor_params = pool_params("MAX", (2, 2), (2, 2), (0, 0), ceil=False)
    (floor,) = run_layer(make_layer("Pooling", floor_params), x)
    np.testing.assert_array_equal(ceil[0, 0], [[6, 8, 9], [16, 18, 19], [21, 23, 24]])
    np.testing.assert_array_equal(floor[0, 0], [[6, 8], [16, 18]])


def test_pooling_drops_a_last_window_that_starts_in_the_padding() -> None:
    # 3 x 3, kernel 2, stride 2, pad 1: ceil((3 + 2 - 2) / 2) + 1 = 3, but the third window would
    # start at 2 * 2 - 1 = 3, inside the padding, so Caffe keeps 2; windows: rows {0}, {1, 2}
    x = np.arange(9.0).reshape(1, 1, 3, 3)
    (y,) = run_layer(make_layer("Pooling", pool_params("MAX", (2, 2), (2, 2), (1, 1))), x)
    np.testing.assert_array_equal(y[0, 0], [[0, 2], [6, 8]])


def test_max_pooling_ignores_padding_for_negative_inputs() -> None:
    x = -np.array([[5.0, 4.0, 3.0], [2.0, 1.0, 6.0], [7.0, 8.0, 9.0]]).reshape(1, 1, 3, 3)
    (y,) = run_layer(make_layer("Pooling", pool_params("MAX", (2, 2), (2, 2), (1, 1))), x)
    np.testing.assert_array_equal(y[0, 0], [[-5.0, -3.0], [-2.0, -1.0]])


def test_ave_pooling_divides_by_the_window_clipped_to_the_padded_extent() -> None:
    # H = W = 4, k 3, s 2, pad 1: 3 outputs; the windows start at -1, 1, 3 and end at
    # min(start + 3, 4 + 1) = 2, 4, 5, so they count 3, 3 and 2 rows (padding included)
    # while they hold 2, 3 and 1 image rows.
    (y,) = run_layer(
        make_layer("Pooling", pool_params("AVE", (3, 3), (2, 2), (1, 1))), np.ones((1, 1, 4, 4))
    )
    want = [[4 / 9, 6 / 9, 2 / 6], [6 / 9, 1.0, 3 / 6], [2 / 6, 3 / 6, 1 / 4]]
    np.testing.assert_allclose(y[0, 0], want, rtol=1e-15)


def test_global_pooling() -> None:
    x = RNG.standard_normal((2, 3, 5, 4))
    (ave,) = run_layer(
        make_layer("Pooling", pool_params("AVE", None, (1, 1), (0, 0), global_pooling=True)), x
    )
    (mx,) = run_layer(
        make_layer("Pooling", pool_params("MAX", None, (1, 1), (0, 0), global_pooling=True)), x
    )
    np.testing.assert_allclose(ave[:, :, 0, 0], x.mean(axis=(2, 3)), rtol=1e-13)
    np.testing.assert_array_equal(mx[:, :, 0, 0], x.max(axis=(2, 3)))


def test_stochastic_pooling_is_caffes_test_time_weighted_average() -> None:
    x = np.array([[1.0, 3.0, 0.0], [0.0, 2.0, 0.0], [-1.0, 1.0, 0.0]]).reshape(1, 1, 3, 3)
    (y,) = run_layer(make_layer("Pooling", pool_params("STOCHASTIC", (2, 2), (2, 2), (0, 0))), x)
    # windows (ceil: 2 x 2): [1 3; 0 2] -> 14 / 6; [0; 0] -> sum 0 -> 0; [-1 1] -> sum 0 -> 0;
    # [0] -> 0
    np.testing.assert_allclose(y[0, 0], [[14 / 6, 0.0], [0.0, 0.0]])


@pytest.mark.parametrize("method", ["MAX", "AVE"])
@pytest.mark.parametrize("geometry", [((2, 2), (2, 2)), ((3, 2), (1, 2)), ((8, 6), (1, 1))])
def test_unpadded_pooling_reads_its_read_only_input_in_place(method, geometry) -> None:
    """Windows that tile the input exactly (VGG's 2x2/2, a whole-input window) read the bottom
    itself, never a padded copy: the first tap's values must be copied out before the other taps
    fold into them (the executor's bottoms are read-only: a fold into the bottom would raise)."""
    k, s = geometry
    x = RNG.standard_normal((2, 3, 8, 6)) - 3.0
    x[0, 1, 0, 0] = np.nan  # a NaN never wins a max (fmax), and poisons an average
    kept = x.copy()
    layer = make_layer("Pooling", pool_params(method, k, s, (0, 0)))
    (y64,) = run_layer(layer, x)
    (y32,) = run_layer(layer, x, dtype=np.float32)
    np.testing.assert_array_equal(x, kept)
    want = pool_loops(
        np.where(np.isnan(x), -np.inf if method == "MAX" else np.nan, x), method, k, s, (0, 0), True
    )
    np.testing.assert_allclose(y64, want, atol=1e-12)
    if method == "MAX":  # float32 max is the float32 input's max, exactly
        np.testing.assert_array_equal(y32, want.astype(np.float32))
    assert not np.shares_memory(y64, x)
