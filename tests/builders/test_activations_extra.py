"""AbsVal, BNLL, Power, Exp, Log, Threshold, Clip, Swish, PReLU against numpy (Caffe's formulas)."""

from __future__ import annotations

import math

import numpy as np
import pytest
from extra_nets import assert_close, rand, run_layer

SHAPES = [(2, 3, 4, 5), (2, 6), (2, 3, 7)]


@pytest.mark.parametrize("shape", SHAPES)
def test_absval_and_bnll(tmp_path, shape) -> None:
    x = rand(*shape, low=-30, high=30)
    (a,) = run_layer(tmp_path, "AbsVal", "", [x])
    np.testing.assert_array_equal(a, np.abs(x))
    (b,) = run_layer(tmp_path, "BNLL", "", [x])
    x64 = x.astype(np.float64)
    assert_close(b, np.where(x64 > 0, x64 + np.log1p(np.exp(-x64)), np.log1p(np.exp(x64))))


@pytest.mark.parametrize(
    "power,scale,shift",
    [(2, 0.5, 1), (3, -1.5, 0.25), (0.5, 2, 3), (-0.75, 1, 2.5), (1, 2, -1), (1, 1, 0)],
)
def test_power(tmp_path, power, scale, shift) -> None:
    x = rand(2, 3, 4, 5, low=0, high=1)
    params = f"power_param {{ power: {power} scale: {scale} shift: {shift} }}"
    (y,) = run_layer(tmp_path, "Power", params, [x])
    assert_close(y, (shift + scale * x.astype(np.float64)) ** power)


@pytest.mark.parametrize("power,scale,shift,value", [(0, 2, 3, 1.0), (2, 0, 3, 9.0)])
def test_power_ignores_input_when_power_times_scale_is_zero(
    tmp_path, power, scale, shift, value
) -> None:
    x = rand(2, 3, 2, 2)
    x[0, 0, 0, :] = [np.inf, np.nan]
    params = f"power_param {{ power: {power} scale: {scale} shift: {shift} }}"
    (y,) = run_layer(tmp_path, "Power", params, [x])
    np.testing.assert_array_equal(y, np.full(x.shape, value, np.float32))


@pytest.mark.parametrize("base,scale,shift", [(-1, 1, 0), (2, 0.5, 1), (10, -1, -0.5), (-1, 3, 2)])
def test_exp(tmp_path, base, scale, shift) -> None:
    x = rand(2, 3, 4, 5)
    params = f"exp_param {{ base: {base} scale: {scale} shift: {shift} }}"
    (y,) = run_layer(tmp_path, "Exp", params, [x])
    b = math.e if base == -1 else base
    assert_close(y, b ** (shift + scale * x.astype(np.float64)))


@pytest.mark.parametrize("base,scale,shift", [(-1, 1, 0), (2, 0.5, 3), (10, 2, 4.5)])
def test_log(tmp_path, base, scale, shift) -> None:
    x = rand(2, 3, 4, 5, low=0.01, high=2)
    params = f"log_param {{ base: {base} scale: {scale} shift: {shift} }}"
    (y,) = run_layer(tmp_path, "Log", params, [x])
    b = math.e if base == -1 else base
    assert_close(y, np.log(shift + scale * x.astype(np.float64)) / np.log(b))


@pytest.mark.parametrize("threshold", [0.0, 0.25, -1.0])
def test_threshold_is_strict(tmp_path, threshold) -> None:
    x = rand(2, 3, 4, 5)
    t = np.float32(threshold)
    # the next float above (a normal number: TensorFlow flushes subnormals to zero)
    above = np.nextafter(t, np.float32(1)) if t != 0 else np.finfo(np.float32).tiny
    x[0, 0, 0, :3] = [t, above, -5]
    (y,) = run_layer(tmp_path, "Threshold", f"threshold_param {{ threshold: {threshold} }}", [x])
    np.testing.assert_array_equal(y, (x > np.float32(threshold)).astype(np.float32))
    assert y[0, 0, 0, 0] == 0 and y[0, 0, 0, 1] == 1


@pytest.mark.parametrize("lo,hi", [(0, 6), (-1, 1), (0.5, 1.5), (-3, -1), (0, 0)])
def test_clip(tmp_path, lo, hi) -> None:
    x = rand(2, 3, 4, 5, low=-8, high=8)
    (y,) = run_layer(tmp_path, "Clip", f"clip_param {{ min: {lo} max: {hi} }}", [x])
    np.testing.assert_array_equal(y, np.maximum(np.float32(lo), np.minimum(x, np.float32(hi))))


@pytest.mark.parametrize("beta", [1.0, 0.5, 2.0])
@pytest.mark.parametrize("shape", SHAPES)
def test_swish(tmp_path, beta, shape) -> None:
    x = rand(*shape, low=-6, high=6)
    (y,) = run_layer(tmp_path, "Swish", f"swish_param {{ beta: {beta} }}", [x])
    x64 = x.astype(np.float64)
    assert_close(y, x64 / (1 + np.exp(-beta * x64)))


def _prelu(x: np.ndarray, a: np.ndarray) -> np.ndarray:
    a = np.asarray(a, np.float64).reshape((1, -1) + (1,) * (x.ndim - 2)) if a.size > 1 else a
    return np.maximum(x, 0) + a * np.minimum(x, 0)


@pytest.mark.parametrize("shape", SHAPES)
@pytest.mark.parametrize("shared", [False, True])
def test_prelu(tmp_path, shape, shared) -> None:
    x = rand(*shape)
    a = rand(1 if shared else shape[1], seed=7, low=0.05, high=0.5)
    blob = a.reshape(()) if shared else a
    params = f"prelu_param {{ channel_shared: {str(shared).lower()} }}"
    (y,) = run_layer(tmp_path, "PReLU", params, [x], [blob])
    np.testing.assert_allclose(y, _prelu(x.astype(np.float64), a), rtol=1e-6, atol=1e-7)
