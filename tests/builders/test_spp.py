"""SPP (BVLC ``spp_layer.cpp``) against loops written from its C++: GetPoolingParam's kernel,
stride and pad per level, ``pooling_layer.cpp``'s output size and windows (MAX over the window
clipped to the image, AVE divided by the window clipped to the padded extent), then Flatten (C, H,
W order) and Concat; through the Keras model and through the numpy reference."""

from __future__ import annotations

import math

import numpy as np
import pytest
from extra_nets import assert_close, rand, run_layer, run_net
from netfiles import input_layer
from reference.helpers import make_layer
from reference.helpers import run_layer as run_reference_layer

from caffe2keras.errors import Caffe2KerasError, UnsupportedParameterError, ValidationError
from caffe2keras.families.spp import SPPParams


def _level_geometry(size: int, level: int) -> tuple[int, int, int]:
    """(kernel, pad, pooled size) as GetPoolingParam and PoolingLayer::Reshape compute them."""
    bins = int(math.pow(2, level))
    kernel = math.ceil(size / float(bins))
    pad = (kernel * bins - size + 1) // 2
    pooled = int(math.ceil(float(size + 2 * pad - kernel) / kernel)) + 1
    if pad and (pooled - 1) * kernel >= size + pad:
        pooled -= 1
    return kernel, pad, pooled


def _pool_loop(x: np.ndarray, level: int, method: str) -> np.ndarray:
    """``pooling_layer.cpp`` Forward_cpu for one level, in float64."""
    n_, c_, h, w = x.shape
    (kh, ph, oh), (kw, pw, ow) = _level_geometry(h, level), _level_geometry(w, level)
    out = np.zeros((n_, c_, oh, ow))
    for i in range(oh):
        for j in range(ow):
            hs, ws = i * kh - ph, j * kw - pw
            he, we = min(hs + kh, h + ph), min(ws + kw, w + pw)
            size = (he - hs) * (we - ws)
            hs, ws, he, we = max(hs, 0), max(ws, 0), min(he, h), min(we, w)
            window = x[:, :, hs:he, ws:we].astype(np.float64)
            if method == "MAX":
                out[:, :, i, j] = window.max(axis=(2, 3))
            else:
                out[:, :, i, j] = window.sum(axis=(2, 3)) / size
    return out


def _spp_loop(x: np.ndarray, height: int, method: str) -> np.ndarray:
    levels = [_pool_loop(x, i, method) for i in range(height)]
    if height == 1:
        return levels[0]
    return np.concatenate([lv.reshape(len(x), -1) for lv in levels], axis=1)


# (H, W) x pyramid heights, on sizes the bins do not divide (3 columns at 4 bins would fail
# Caffe's pooling check: see the refusals).
LEVELS = [(hw, h) for hw in [(9, 11), (7, 13), (6, 6), (10, 3)] for h in (1, 2, 3)][:-1]


@pytest.mark.parametrize("method", ["MAX", "AVE"])
@pytest.mark.parametrize("hw,height", LEVELS)
def test_spp(tmp_path, method, height, hw) -> None:
    x = rand(2, 3, *hw, low=-3, high=1)  # mostly negative: MAX must not see padding as 0
    expected = _spp_loop(x, height, method)
    params = f"spp_param {{ pyramid_height: {height} pool: {method} }}"
    (y,) = run_layer(tmp_path, "SPP", params, [x])
    assert_close(y, expected)
    (ref,) = run_reference_layer(make_layer("SPP", SPPParams(height, method)), x)
    np.testing.assert_allclose(ref, expected, rtol=0, atol=1e-12)


def test_spp_one_level_keeps_the_pooling_top(tmp_path) -> None:
    """pyramid_height 1: Caffe sets the pooling layer up on SPP's own top, (N, C, 1, 1)."""
    x = rand(2, 4, 5, 7)
    (y,) = run_layer(tmp_path, "SPP", "spp_param { pyramid_height: 1 }", [x])
    assert y.shape == (2, 4, 1, 1)
    np.testing.assert_array_equal(y[:, :, 0, 0], x.max(axis=(2, 3)))


def test_spp_flattens_in_caffe_order(tmp_path) -> None:
    """Level 1 of a 2 x 2 input is the input itself, flattened C, H, W after level 0's maxima."""
    x = rand(1, 3, 2, 2)
    (y,) = run_layer(tmp_path, "SPP", "spp_param { pyramid_height: 2 }", [x])
    np.testing.assert_array_equal(y[0, :3], x.max(axis=(2, 3))[0])
    np.testing.assert_array_equal(y[0, 3:], x[0].ravel())


def test_spp_after_relu(tmp_path) -> None:
    """A non-negative bottom (the pooling builder then pads MAX with zeros): same numbers."""
    x = rand(2, 3, 9, 11)
    text = input_layer(x.shape, "in0") + (
        'layer { name: "R" type: "ReLU" bottom: "in0" top: "r" }\n'
        'layer { name: "S" type: "SPP" bottom: "r" top: "s" spp_param { pyramid_height: 3 } }\n'
    )
    got = run_net(tmp_path, text, {"in0": x})
    assert_close(got["s"], _spp_loop(np.maximum(x, 0), 3, "MAX"))


@pytest.mark.parametrize(
    "params,shape,error,field",
    [
        (
            "spp_param { pyramid_height: 2 pool: STOCHASTIC }",
            (1, 2, 4, 4),
            UnsupportedParameterError,
            "pool",
        ),
        ("spp_param { pool: MAX }", (1, 2, 4, 4), ValidationError, "pyramid_height"),
        ("spp_param { pyramid_height: 3 }", (1, 2, 5, 8), ValidationError, "pyramid_height"),
        ("spp_param { pyramid_height: 2 }", (1, 2, 1, 8), ValidationError, "pyramid_height"),
        ("spp_param { pyramid_height: 2 }", (1, 8), Caffe2KerasError, "bottom"),
    ],
)
def test_spp_refusals(tmp_path, params, shape, error, field) -> None:
    with pytest.raises(error, match=f"layer 'L', field '{field}'"):
        run_layer(tmp_path, "SPP", params, [rand(*shape)])


def test_spp_stochastic_is_refused_by_the_reference_too() -> None:
    layer = make_layer("SPP", SPPParams(2, "STOCHASTIC"))
    with pytest.raises(UnsupportedParameterError, match="field 'pool'"):
        run_reference_layer(layer, rand(1, 2, 4, 4))
