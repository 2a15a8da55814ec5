"""Reduction (every operation, axis, coeff) and ArgMax (axis / flattened, top_k, values, ties)."""

from __future__ import annotations

import numpy as np
import pytest
from extra_nets import assert_close, rand, run_layer

from caffe2keras.errors import UnsupportedParameterError

SHAPES = [(2, 3, 4, 5), (2, 6, 4), (2, 6), (2, 3, 2, 2, 3)]
OPS = {
    "SUM": lambda x: x,
    "ASUM": np.abs,
    "SUMSQ": np.square,
    "MEAN": lambda x: x,
}


@pytest.mark.parametrize("shape", SHAPES)
@pytest.mark.parametrize("axis", [1, 2, 3, 4, -1])
@pytest.mark.parametrize("op", sorted(OPS))
@pytest.mark.parametrize("coeff", [1.0, -0.5])
def test_reduction(tmp_path, shape, axis, op, coeff) -> None:
    if not -len(shape) < axis < len(shape):
        pytest.skip("axis not in this shape")
    x = rand(*shape, low=-1, high=3)
    params = f"reduction_param {{ operation: {op} axis: {axis} coeff: {coeff} }}"
    (y,) = run_layer(tmp_path, "Reduction", params, [x])
    a = axis % len(shape)
    v = OPS[op](x.astype(np.float64)).reshape(*shape[:a], -1)
    want = (v.mean(axis=-1) if op == "MEAN" else v.sum(axis=-1)) * coeff
    assert_close(y, want)


def test_reduction_over_the_batch_is_unsupported(tmp_path) -> None:
    with pytest.raises(UnsupportedParameterError, match="layer 'L', field 'axis'"):
        run_layer(tmp_path, "Reduction", "reduction_param { axis: 0 }", [rand(2, 3)])


def caffe_top_k(v: np.ndarray, k: int) -> tuple[np.ndarray, np.ndarray]:
    """Along the last axis: Caffe sorts (value, index) pairs in decreasing order, so equal
    values come with the larger index first."""
    flat = v.reshape(-1, v.shape[-1])
    idx = np.empty((flat.shape[0], k), np.int64)
    for r, row in enumerate(flat):
        order = sorted(range(row.size), key=lambda j: (row[j], j), reverse=True)
        idx[r] = order[:k]
    vals = np.take_along_axis(flat, idx, axis=1)
    return idx.reshape(*v.shape[:-1], k), vals.reshape(*v.shape[:-1], k)


def _with_ties(shape: tuple[int, ...]) -> np.ndarray:
    return np.round(rand(*shape, seed=5) * 2) / 2  # few distinct values: many ties


@pytest.mark.parametrize("shape", [(2, 5, 3, 4), (2, 6, 4), (2, 7)])
@pytest.mark.parametrize("axis", [1, 2, 3, -1])
@pytest.mark.parametrize("top_k", [1, 2])
@pytest.mark.parametrize("out_max_val", [False, True])
def test_argmax_along_axis(tmp_path, shape, axis, top_k, out_max_val) -> None:
    if not -len(shape) < axis < len(shape):
        pytest.skip("axis not in this shape")
    x = _with_ties(shape)
    flag = str(out_max_val).lower()
    params = f"argmax_param {{ axis: {axis} top_k: {top_k} out_max_val: {flag} }}"
    (y,) = run_layer(tmp_path, "ArgMax", params, [x])
    idx, vals = caffe_top_k(np.moveaxis(x, axis, -1), top_k)
    want = np.moveaxis(vals if out_max_val else idx.astype(np.float32), -1, axis)
    np.testing.assert_array_equal(y, want)


@pytest.mark.parametrize("shape", [(2, 3, 4, 5), (2, 6, 4), (2, 7)])
@pytest.mark.parametrize("top_k", [1, 3])
@pytest.mark.parametrize("out_max_val", [False, True])
def test_argmax_flattened(tmp_path, shape, top_k, out_max_val) -> None:
    x = _with_ties(shape)
    flag = str(out_max_val).lower()
    params = f"argmax_param {{ top_k: {top_k} out_max_val: {flag} }}"
    (y,) = run_layer(tmp_path, "ArgMax", params, [x])
    idx, vals = caffe_top_k(x.reshape(shape[0], -1), top_k)
    rows = [idx.astype(np.float32)] + ([vals] if out_max_val else [])
    want = np.stack(rows, axis=1)  # Caffe: (N, 1 or 2, top_k), indices then values
    assert y.size == want.size and y.shape[:3] == want.shape
    np.testing.assert_array_equal(y.reshape(want.shape), want)


def test_argmax_over_the_batch_is_unsupported(tmp_path) -> None:
    with pytest.raises(UnsupportedParameterError, match="layer 'L', field 'axis'"):
        run_layer(tmp_path, "ArgMax", "argmax_param { axis: 0 }", [rand(2, 3)])
