"""BVLC semantics that Python arithmetic gets wrong (issue 13): C++'s truncating division in the
convolution output size, pooling windows that cover no pixel, the pooling clip rule on both axes,
lone ``_h``/``_w`` fields, InnerProduct over axis 2 or 3.

Expectations are loops written from Caffe's C++ (``conv_layer.cpp`` + ``im2col.cpp``,
``pooling_layer.cpp`` Reshape and Forward_cpu, ``inner_product_layer.cpp``), in float64, apart
from both the builders and the reference ops; the Keras model and the numpy reference are each
held to them.
"""

from __future__ import annotations

import math

import numpy as np
import pytest
from extra_nets import assert_close, rand, run_net
from netfiles import input_layer, write_net

from caffe2keras.errors import ValidationError
from caffe2keras.frontend.net import load_net
from caffe2keras.ir.shapes.geometry import c_div, conv_out
from caffe2keras.reference import run_reference

FLT_MAX = float(np.finfo(np.float32).max)


def caffe_conv(x, w, b, kernel, stride, pad, dilation):
    """``conv_layer.cpp`` with ``im2col.cpp``: C++ int division for the size, zeros outside."""
    n, c, h, wd = x.shape
    out_c = w.shape[0]
    sizes = []
    for size, k, s, p, d in zip((h, wd), kernel, stride, pad, dilation):
        span = size + 2 * p - (d * (k - 1) + 1)
        sizes.append(int(span / s) + 1)  # int() of the float quotient truncates toward zero
    y = np.zeros((n, out_c, *sizes))
    for oi in range(sizes[0]):
        for oj in range(sizes[1]):
            for ki in range(kernel[0]):
                for kj in range(kernel[1]):
                    hi = oi * stride[0] - pad[0] + ki * dilation[0]
                    wj = oj * stride[1] - pad[1] + kj * dilation[1]
                    if 0 <= hi < h and 0 <= wj < wd:
                        y[:, :, oi, oj] += x[:, :, hi, wj] @ w[:, :, ki, kj].T
    return y + b.reshape(1, -1, 1, 1)


def caffe_pool(x, method, kernel, stride, pad, ceil=True):
    """``pooling_layer.cpp`` Reshape (float ceil/floor, clip when either axis pads) and
    Forward_cpu (MAX from -FLT_MAX, AVE over the window clipped to the padded extent)."""
    n, c, h, w = x.shape
    sizes = []
    for size, k, s, p in zip((h, w), kernel, stride, pad):
        q = (size + 2 * p - k) / s
        sizes.append(int(math.ceil(q) if ceil else math.floor(q)) + 1)
    if pad[0] or pad[1]:
        for a, size in enumerate((h, w)):
            if (sizes[a] - 1) * stride[a] >= size + pad[a]:
                sizes[a] -= 1
    y = np.empty((n, c, *sizes))
    for ph in range(sizes[0]):
        for pw in range(sizes[1]):
            hs, ws = ph * stride[0] - pad[0], pw * stride[1] - pad[1]
            if method == "MAX":
                he, we = min(hs + kernel[0], h), min(ws + kernel[1], w)
                hs, ws = max(hs, 0), max(ws, 0)
                val = np.full((n, c), -FLT_MAX)
                for i in range(hs, he):
                    for j in range(ws, we):
                        val = np.where(x[:, :, i, j] > val, x[:, :, i, j], val)
                y[:, :, ph, pw] = val
            else:
                he, we = min(hs + kernel[0], h + pad[0]), min(ws + kernel[1], w + pad[1])
                size = (he - hs) * (we - ws)
                hs, ws, he, we = max(hs, 0), max(ws, 0), min(he, h), min(we, w)
                total = np.zeros((n, c))
                for i in range(hs, he):
                    for j in range(ws, we):
                        total += x[:, :, i, j]
                with np.errstate(divide="ignore", invalid="ignore"):
                    y[:, :, ph, pw] = total / np.float64(size)
    return y


def _reference(tmp_path, text, feed, blobs=None):
    proto, model = write_net(tmp_path, text, blobs)
    return run_reference(load_net(proto, model).reference, feed)


def _layer(ltype: str, params: str, name: str = "L") -> str:
    return f'layer {{ name: "{name}" type: "{ltype}" bottom: "data" top: "out" {params} }}\n'


# ---- C++ truncating division -------------------------------------------------------------


@pytest.mark.parametrize(
    ("a", "b", "want"), [(-1, 2, 0), (-2, 2, -1), (-3, 2, -1), (3, 2, 1), (0, 3, 0), (-5, 3, -1)]
)
def test_c_div_truncates_toward_zero(a, b, want) -> None:
    assert c_div(a, b) == want


def test_conv_out_keeps_one_output_when_the_kernel_overhangs_by_less_than_the_stride() -> None:
    assert conv_out(2, 3, 2, 0, 1) == 1  # (2 - 3) / 2 = 0 in C++: one output; -1 // 2 + 1 = 0
    assert conv_out(2, 4, 2, 0, 1) == 0  # (2 - 4) / 2 = -1: no output (refused as too small)
    assert conv_out(1, 2, 3, 0, 2) == 1  # dilated extent 3 past a 1-pixel input, stride 3


CONV_CASES = [
    # (input shape, kernel, stride, pad, dilation): windows past the padded input
    ((2, 3, 2, 5), (3, 3), (2, 2), (0, 0), (1, 1)),
    ((2, 2, 3, 4), (5, 2), (3, 1), (0, 0), (1, 1)),
    ((1, 2, 2, 2), (2, 2), (2, 2), (0, 0), (2, 2)),
    ((2, 1, 3, 3), (6, 4), (3, 2), (1, 0), (1, 1)),
]


@pytest.mark.parametrize(("shape", "kernel", "stride", "pad", "dilation"), CONV_CASES)
def test_convolution_past_the_padded_input(tmp_path, shape, kernel, stride, pad, dilation) -> None:
    x = rand(*shape)
    w = rand(4, shape[1], *kernel, seed=7)
    b = rand(4, seed=8)
    params = (
        f"convolution_param {{ num_output: 4 kernel_h: {kernel[0]} kernel_w: {kernel[1]} "
        f"stride_h: {stride[0]} stride_w: {stride[1]} pad_h: {pad[0]} pad_w: {pad[1]} "
        f"dilation: {dilation[0]} }}"
    )
    text = input_layer(shape) + _layer("Convolution", params)
    want = caffe_conv(x.astype(np.float64), w, b, kernel, stride, pad, dilation)
    assert want.shape[2] == 1 or want.shape[3] == 1
    assert_close(run_net(tmp_path, text, {"data": x}, {"L": [w, b]})["out"], want)
    ref = _reference(tmp_path, text, {"data": x}, {"L": [w, b]})["out"]
    assert_close(ref, want)


def test_im2col_past_the_padded_input(tmp_path) -> None:
    x = rand(1, 2, 2, 3)
    text = input_layer(x.shape) + _layer("Im2col", "convolution_param { kernel_size: 3 stride: 2 }")
    got = run_net(tmp_path, text, {"data": x})["out"]
    # one window at (0, 0) of a 3x3 kernel: taps outside the 2x3 input read 0
    want = np.zeros((1, 2 * 9, 1, 1))
    for ch in range(2):
        for i in range(3):
            for j in range(3):
                if i < 2:
                    want[0, (ch * 3 + i) * 3 + j, 0, 0] = x[0, ch, i, j]
    np.testing.assert_array_equal(got, want)
    np.testing.assert_array_equal(_reference(tmp_path, text, {"data": x})["out"], want)


# ---- empty pooling windows -----------------------------------------------------------------

ONE_TO_EIGHT = np.arange(1, 9, dtype=np.float32).reshape(1, 1, 2, 4)
NEG = -FLT_MAX


@pytest.mark.parametrize(
    ("method", "want"),
    [
        # checked with real Caffe (issue 13): kernel 1, stride 2 on a 1x1x2x4 input
        ("MAX", [[1, 3, NEG], [NEG, NEG, NEG]]),
        ("AVE", [[1, 3, np.nan], [np.nan, np.nan, np.nan]]),
    ],
)
def test_empty_windows_as_real_caffe(tmp_path, method, want) -> None:
    text = input_layer((1, 1, 2, 4)) + _layer(
        "Pooling", f"pooling_param {{ pool: {method} kernel_size: 1 stride: 2 }}"
    )
    want = np.array([[want]], np.float64)
    np.testing.assert_array_equal(run_net(tmp_path, text, {"data": ONE_TO_EIGHT})["out"], want)
    np.testing.assert_array_equal(_reference(tmp_path, text, {"data": ONE_TO_EIGHT})["out"], want)
    np.testing.assert_array_equal(
        caffe_pool(ONE_TO_EIGHT.astype(np.float64), method, (1, 1), (2, 2), (0, 0)), want
    )


POOL_CASES = [
    # (shape, kernel, stride, pad): windows past the input, or the clip rule across axes
    ((2, 3, 5, 7), (1, 2), (3, 4), (0, 0)),  # AVE sizes -1 and 0: signed zero and NaN
    ((1, 2, 4, 6), (2, 1), (3, 3), (0, 0)),
    ((2, 2, 3, 4), (2, 1), (2, 2), (1, 0)),  # pad_h only: the w axis is clipped too
    ((1, 1, 4, 3), (1, 3), (2, 2), (0, 1)),  # pad_w only: the h axis is clipped too
    ((2, 2, 6, 5), (3, 3), (2, 2), (1, 1)),
]


@pytest.mark.parametrize("method", ["MAX", "AVE"])
@pytest.mark.parametrize(("shape", "kernel", "stride", "pad"), POOL_CASES)
def test_pooling_against_caffe_loops(tmp_path, method, shape, kernel, stride, pad) -> None:
    x = rand(*shape)
    params = (
        f"pooling_param {{ pool: {method} kernel_h: {kernel[0]} kernel_w: {kernel[1]} "
        f"stride_h: {stride[0]} stride_w: {stride[1]} pad_h: {pad[0]} pad_w: {pad[1]} }}"
    )
    text = input_layer(shape) + _layer("Pooling", params)
    want = caffe_pool(x.astype(np.float64), method, kernel, stride, pad)
    for got in (
        run_net(tmp_path, text, {"data": x})["out"],
        _reference(tmp_path, text, {"data": x})["out"],
    ):
        assert got.shape == want.shape
        special = ~np.isfinite(want) | (np.abs(want) == FLT_MAX)
        np.testing.assert_array_equal(got[special], want[special])
        np.testing.assert_array_equal(np.signbit(got[want == 0]), np.signbit(want[want == 0]))
        assert_close(np.where(special, 0, got), np.where(special, 0, want))


def test_the_clip_rule_runs_on_both_axes_when_one_pads(tmp_path) -> None:
    # 3x4 input, kernel (2, 1), stride 2, pad_h 1: ceil((4 - 1) / 2) + 1 = 3 columns, and the
    # third starts at 4 >= 4 + pad_w: Caffe drops it (OpenCV 4.14 keeps it, filled with 0)
    text = input_layer((1, 1, 3, 4)) + _layer(
        "Pooling", "pooling_param { pool: MAX kernel_h: 2 kernel_w: 1 stride: 2 pad_h: 1 pad_w: 0 }"
    )
    x = np.arange(1, 13, dtype=np.float32).reshape(1, 1, 3, 4)
    want = np.array([[[[1, 3], [9, 11]]]], np.float64)
    np.testing.assert_array_equal(run_net(tmp_path, text, {"data": x})["out"], want)


def test_empty_windows_are_noted(tmp_path) -> None:
    from caffe2keras import api

    text = input_layer((1, 1, 2, 4)) + _layer(
        "Pooling", "pooling_param { pool: MAX kernel_size: 1 stride: 2 }", name="pool1"
    )
    proto, model = write_net(tmp_path, text)
    result = api.convert(proto, model, tmp_path / "m.h5", api.ConvertOptions())
    assert result.report is not None and result.report.passed
    assert any("'pool1'" in n and "cover no input pixel" in n for n in result.notes)


# ---- lone _h / _w --------------------------------------------------------------------------


@pytest.mark.parametrize(("field", "pad"), [("pad_h: 1", (1, 0)), ("pad_w: 2", (0, 2))])
def test_a_lone_convolution_pad_leaves_the_other_at_zero(tmp_path, field, pad) -> None:
    x = rand(2, 2, 4, 5)
    w, b = rand(3, 2, 3, 3, seed=3), rand(3, seed=4)
    params = f"convolution_param {{ num_output: 3 kernel_size: 3 {field} }}"
    text = input_layer(x.shape) + _layer("Convolution", params)
    want = caffe_conv(x.astype(np.float64), w, b, (3, 3), (1, 1), pad, (1, 1))
    assert_close(run_net(tmp_path, text, {"data": x}, {"L": [w, b]})["out"], want)


@pytest.mark.parametrize(
    ("params", "field"),
    [
        ("kernel_h: 3", "kernel_w"),  # Caffe reads kernel_w as 0: CHECK_GT fails
        ("kernel_size: 3 stride_w: 2", "stride_h"),
    ],
)
def test_a_lone_convolution_kernel_or_stride_is_refused(tmp_path, params, field) -> None:
    text = input_layer((1, 1, 5, 5)) + _layer(
        "Convolution", f"convolution_param {{ num_output: 1 {params} }}", name="conv9"
    )
    proto, model = write_net(tmp_path, text)
    with pytest.raises(ValidationError, match="conv9") as err:
        load_net(proto, model)
    assert field in str(err.value)


@pytest.mark.parametrize(("params", "field"), [("pad_h: 1", "pad_w"), ("stride_w: 2", "stride_h")])
def test_a_lone_pooling_pad_or_stride_is_refused_as_caffe_does(tmp_path, params, field) -> None:
    text = input_layer((1, 1, 5, 5)) + _layer(
        "Pooling", f"pooling_param {{ pool: MAX kernel_size: 2 {params} }}", name="pool9"
    )
    proto, model = write_net(tmp_path, text)
    with pytest.raises(ValidationError, match="pool9") as err:
        load_net(proto, model)
    assert field in str(err.value)


def test_pooling_kernel_size_beside_a_lone_kernel_h_uses_kernel_size(tmp_path) -> None:
    # LayerSetUp: !has_kernel_size != !(has_kernel_h && has_kernel_w) holds, kernel_size is read
    x = rand(1, 2, 5, 6)
    text = input_layer(x.shape) + _layer(
        "Pooling", "pooling_param { pool: AVE kernel_size: 2 kernel_h: 4 stride: 2 }"
    )
    want = caffe_pool(x.astype(np.float64), "AVE", (2, 2), (2, 2), (0, 0))
    assert_close(run_net(tmp_path, text, {"data": x})["out"], want)


# ---- InnerProduct over trailing axes -------------------------------------------------------


@pytest.mark.parametrize(("shape", "axis"), [((2, 3, 4, 5), 2), ((2, 3, 4, 5), 3), ((2, 3, 4), 2)])
@pytest.mark.parametrize("transpose", [False, True])
def test_inner_product_over_trailing_axes(tmp_path, shape, axis, transpose) -> None:
    x = rand(*shape)
    k = math.prod(shape[axis:])
    w = rand(*((k, 6) if transpose else (6, k)), seed=5)
    b = rand(6, seed=6)
    params = (
        f"inner_product_param {{ num_output: 6 axis: {axis} transpose: {str(transpose).lower()} }}"
    )
    text = input_layer(shape) + _layer("InnerProduct", params)
    # inner_product_layer.cpp: M = prod(shape[:axis]) rows of K = prod(shape[axis:]), C order
    rows = x.astype(np.float64).reshape(-1, k)
    want = (rows @ (w if transpose else w.T) + b).reshape(*shape[:axis], 6)
    assert_close(run_net(tmp_path, text, {"data": x}, {"L": [w, b]})["out"], want)
    assert_close(_reference(tmp_path, text, {"data": x}, {"L": [w, b]})["out"], want)
