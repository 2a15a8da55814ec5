"""One test per Caffe quirk the core converter must get right, each against an expectation
computed here by straightforward numpy (never by the code under test)."""

from __future__ import annotations

import numpy as np
import pytest
from keras_helpers import convert_case, keras_blobs
from netfiles import input_layer, write_net

from caffe2keras.families.dense import dense_kernel
from caffe2keras.frontend.load import read_prototxt
from caffe2keras.frontend.params import parse_params


def run(tmp_path, prototxt, blobs, x):
    proto, model = write_net(tmp_path, prototxt, blobs)
    net, built = convert_case(proto, model, {"data": x.shape})
    return keras_blobs(built.model, built, net, {"data": x})


@pytest.mark.parametrize("s", [999.982, 1.0, 0.0])
def test_batchnorm_divides_by_moving_average_factor(tmp_path, s: float) -> None:
    rng = np.random.default_rng(0)
    x = rng.standard_normal((2, 3, 4, 5)).astype(np.float32)
    mean, var = rng.standard_normal(3), rng.uniform(0.5, 2, 3)
    net = input_layer(x.shape) + 'layer { name: "bn" type: "BatchNorm" bottom: "data" top: "out" }'
    got = run(tmp_path, net, {"bn": [mean * s, var * s, [s]]}, x)["out"]
    factor = 0.0 if s == 0 else 1.0
    m, v = (mean * factor)[None, :, None, None], (var * factor)[None, :, None, None]
    np.testing.assert_allclose(got, (x - m) / np.sqrt(v + 1e-5), rtol=2e-5, atol=2e-5)


def _pool_net(extra: str) -> str:
    return input_layer((2, 1, 6, 6)) + (
        'layer { name: "pool" type: "Pooling" bottom: "data" top: "out" '
        f"pooling_param {{ pool: MAX kernel_size: 3 stride: 2 pad: 1 {extra} }} }}"
    )


def test_ceil_mode_false_and_round_mode_floor_agree(tmp_path) -> None:
    x = np.random.default_rng(1).standard_normal((2, 1, 6, 6)).astype(np.float32)
    (tmp_path / "a").mkdir()
    (tmp_path / "b").mkdir()
    (tmp_path / "c").mkdir()
    fork = run(tmp_path / "a", _pool_net("ceil_mode: false"), {}, x)["out"]
    bvlc = run(tmp_path / "b", _pool_net("round_mode: FLOOR"), {}, x)["out"]
    ceil = run(tmp_path / "c", _pool_net(""), {}, x)["out"]
    assert fork.shape == bvlc.shape == (2, 1, 3, 3)
    assert ceil.shape == (2, 1, 4, 4)  # ceil((6 + 2 - 3) / 2) + 1 = 4; last start 6 < 6 + 1
    np.testing.assert_array_equal(fork, bvlc)


def caffe_pool(x, k, s, p, method, ceil=True):
    """Caffe's pooling by explicit loops (pooling_layer.cpp semantics, written independently)."""
    n, c, h, w = x.shape

    def out_size(size):
        span = size + 2 * p - k
        o = (-(-span // s) if ceil else span // s) + 1
        return o - 1 if p and (o - 1) * s >= size + p else o

    oh, ow = out_size(h), out_size(w)
    y = np.zeros((n, c, oh, ow))
    for i in range(oh):
        for j in range(ow):
            hs, ws = i * s - p, j * s - p
            he, we = min(hs + k, h + p), min(ws + k, w + p)
            size = (he - hs) * (we - ws)
            win = x[:, :, max(hs, 0) : min(he, h), max(ws, 0) : min(we, w)]
            y[:, :, i, j] = win.max((2, 3)) if method == "MAX" else win.sum((2, 3)) / size
    return y


@pytest.mark.parametrize(
    ("h", "k", "s", "p"), [(7, 3, 2, 1), (8, 3, 2, 1), (6, 2, 2, 1), (9, 3, 2, 2), (5, 3, 1, 1)]
)
@pytest.mark.parametrize("method", ["MAX", "AVE"])
def test_pooling_matches_caffe_loops_on_negative_input(tmp_path, h, k, s, p, method) -> None:
    x = -np.abs(np.random.default_rng(2).standard_normal((2, 2, h, h + 1))).astype(np.float32) - 1
    net = input_layer(x.shape) + (
        f'layer {{ name: "pool" type: "Pooling" bottom: "data" top: "out" pooling_param {{ '
        f"pool: {method} kernel_size: {k} stride: {s} pad: {p} }} }}"
    )
    got = run(tmp_path, net, {}, x)["out"]
    want = caffe_pool(x, k, s, p, method)
    assert got.shape == want.shape
    np.testing.assert_allclose(got, want, rtol=1e-6, atol=1e-6)
    if method == "MAX":
        assert (got < 0).all(), "padding must never win a max"


def test_h_w_forms_override_repeated_forms(tmp_path) -> None:
    proto, _ = write_net(
        tmp_path,
        input_layer((1, 1, 8, 8))
        + (
            'layer { name: "c" type: "Convolution" bottom: "data" top: "o" convolution_param { '
            "num_output: 2 kernel_h: 3 kernel_w: 5 pad_h: 1 pad_w: 2 stride_h: 2 stride_w: 3 } }"
        ),
    )
    params = parse_params(read_prototxt(proto).layer[1])
    assert (params.kernel, params.pad, params.stride) == ((3, 5), (1, 2), (2, 3))


def test_inner_product_flattens_in_chw_order() -> None:
    rng = np.random.default_rng(3)
    x = rng.standard_normal((2, 3, 4, 5))
    w = rng.standard_normal((6, 60))
    kernel = dense_kernel(w, False, (2, 3, 4, 5), 1)
    keras_flat = np.transpose(x, (0, 2, 3, 1)).reshape(2, -1)
    np.testing.assert_allclose(keras_flat @ kernel, x.reshape(2, -1) @ w.T, rtol=1e-12)


def test_eltwise_coefficients(tmp_path) -> None:
    x = np.random.default_rng(4).standard_normal((2, 2, 3, 3)).astype(np.float32)
    net = input_layer(x.shape) + (
        'layer { name: "sq" type: "Eltwise" bottom: "data" bottom: "data" top: "out" '
        "eltwise_param { operation: SUM coeff: 2 coeff: -0.5 } }"
    )
    np.testing.assert_allclose(run(tmp_path, net, {}, x)["out"], 1.5 * x, rtol=1e-6)


def test_depthwise_with_multiplier(tmp_path) -> None:
    rng = np.random.default_rng(5)
    x = rng.standard_normal((1, 2, 4, 4)).astype(np.float32)
    w = rng.standard_normal((4, 1, 1, 1)).astype(np.float32)  # 2 outputs per input channel
    net = input_layer(x.shape) + (
        'layer { name: "dw" type: "Convolution" bottom: "data" top: "out" convolution_param { '
        "num_output: 4 kernel_size: 1 group: 2 bias_term: false } }"
    )
    got = run(tmp_path, net, {"dw": [w]}, x)["out"]
    want = np.stack([x[:, o // 2] * w[o, 0, 0, 0] for o in range(4)], axis=1)
    np.testing.assert_allclose(got, want, rtol=1e-6)
