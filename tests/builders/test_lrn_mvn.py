"""LRN (both regions) and MVN against numpy versions of Caffe's formulas."""

from __future__ import annotations

import numpy as np
import pytest
from extra_nets import assert_close, rand, run_layer

from caffe2keras.errors import UnsupportedParameterError


def lrn_across(x: np.ndarray, size: int, alpha: float, beta: float, k: float) -> np.ndarray:
    x = x.astype(np.float64)
    half, c = size // 2, x.shape[1]
    s = np.zeros_like(x)
    for i in range(c):
        s[:, i] = (x[:, max(0, i - half) : min(c, i + half + 1)] ** 2).sum(axis=1)
    return x * (k + alpha / size * s) ** -beta


def lrn_within(x: np.ndarray, size: int, alpha: float, beta: float) -> np.ndarray:
    x = x.astype(np.float64)
    half, (h, w) = size // 2, x.shape[2:]
    sq = np.pad(x**2, ((0, 0), (0, 0), (half, half), (half, half)))
    s = np.zeros_like(x)
    for i in range(h):
        for j in range(w):
            s[:, :, i, j] = sq[:, :, i : i + size, j : j + size].sum(axis=(2, 3)) / size**2
    return x * (1 + alpha * s) ** -beta


@pytest.mark.parametrize(
    "shape,size,alpha,beta,k",
    [
        ((2, 7, 5, 6), 5, 1e-2, 0.75, 2.0),
        ((2, 3, 4, 4), 5, 1e-4, 0.75, 1.0),
        ((1, 8, 3, 2), 3, 0.5, 1.3, 0.7),
        ((2, 4, 2, 3), 1, 0.1, 0.5, 1.0),
    ],
)
def test_lrn_across_channels(tmp_path, shape, size, alpha, beta, k) -> None:
    x = rand(*shape)
    params = f"lrn_param {{ local_size: {size} alpha: {alpha} beta: {beta} k: {k} }}"
    (y,) = run_layer(tmp_path, "LRN", params, [x])
    assert_close(y, lrn_across(x, size, alpha, beta, k))


@pytest.mark.parametrize(
    "shape,size,alpha,beta",
    [((2, 3, 7, 6), 3, 0.05, 0.75), ((1, 2, 5, 5), 5, 1.0, 0.5), ((2, 2, 3, 4), 1, 0.3, 1.0)],
)
def test_lrn_within_channel_ignores_k(tmp_path, shape, size, alpha, beta) -> None:
    x = rand(*shape)
    params = (
        f"lrn_param {{ local_size: {size} alpha: {alpha} beta: {beta} k: 5 "
        "norm_region: WITHIN_CHANNEL }"
    )
    (y,) = run_layer(tmp_path, "LRN", params, [x])
    assert_close(y, lrn_within(x, size, alpha, beta))


def test_lrn_needs_4d(tmp_path) -> None:
    with pytest.raises(UnsupportedParameterError, match="layer 'L', field 'bottom'"):
        run_layer(tmp_path, "LRN", "", [rand(2, 3, 4)])


def mvn(x: np.ndarray, variance: bool, across: bool, eps: float) -> np.ndarray:
    x = x.astype(np.float64)
    axes = tuple(range(1 if across else 2, x.ndim))
    d = x - x.mean(axis=axes, keepdims=True) if axes else np.zeros_like(x)
    if variance and axes:
        d = d / (np.sqrt((d**2).mean(axis=axes, keepdims=True)) + eps)
    return d


@pytest.mark.parametrize("shape", [(2, 3, 4, 5), (2, 3, 7), (2, 5)])
@pytest.mark.parametrize("variance", [True, False])
@pytest.mark.parametrize("across", [False, True])
def test_mvn(tmp_path, shape, variance, across) -> None:
    x = rand(*shape, low=-1, high=3)
    params = (
        f"mvn_param {{ normalize_variance: {str(variance).lower()} "
        f"across_channels: {str(across).lower()} eps: 0.01 }}"
    )
    (y,) = run_layer(tmp_path, "MVN", params, [x])
    expected = mvn(x, variance, across, 0.01)
    if not np.any(expected):
        np.testing.assert_array_equal(y, expected)
    else:
        assert_close(y, expected)


def test_mvn_adds_eps_to_the_deviation(tmp_path) -> None:
    # Caffe: (x - mean) / (std + eps), not / sqrt(var + eps): visible with a large eps
    x = rand(2, 3, 4, 5)
    (y,) = run_layer(tmp_path, "MVN", "mvn_param { eps: 0.5 }", [x])
    assert_close(y, mvn(x, True, False, 0.5))
