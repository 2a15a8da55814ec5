"""Scale/Bias over any axes (learned or from a second bottom), and Axpy, against numpy."""

from __future__ import annotations

import numpy as np
import pytest
from extra_nets import assert_close, rand, run_layer

from caffe2keras.errors import UnsupportedParameterError

CASES = [  # bottom shape, axis, num_axes
    ((2, 3, 4, 5), 1, 1),
    ((2, 3, 4, 5), 2, 1),
    ((2, 3, 4, 5), 3, 1),
    ((2, 3, 4, 5), -1, 1),
    ((2, 3, 4, 5), 2, 2),
    ((2, 3, 4, 5), 1, 2),
    ((2, 3, 4, 5), 1, -1),
    ((2, 3, 4, 5), 1, 0),
    ((2, 6, 4), 2, 1),
    ((2, 6, 4), 1, -1),
    ((2, 6), 1, 1),
    ((2, 3, 2, 4, 2), 2, 2),
]


def _param_shape(shape, axis, num_axes):
    a = axis % len(shape)
    return shape[a:] if num_axes == -1 else shape[a : a + num_axes]


def _broadcast(p: np.ndarray, shape, axis) -> np.ndarray:
    a = axis % len(shape)
    return np.asarray(p, np.float64).reshape((1,) * a + p.shape + (1,) * (len(shape) - a - p.ndim))


@pytest.mark.parametrize("shape,axis,num_axes", CASES)
@pytest.mark.parametrize("bias", [False, True])
def test_scale_over_axes(tmp_path, shape, axis, num_axes, bias) -> None:
    pshape = _param_shape(shape, axis, num_axes)
    x = rand(*shape)
    gamma, beta = rand(*pshape, seed=3), rand(*pshape, seed=4)
    blobs = [gamma, beta] if bias else [gamma]
    params = f"scale_param {{ axis: {axis} num_axes: {num_axes} bias_term: {str(bias).lower()} }}"
    (y,) = run_layer(tmp_path, "Scale", params, [x], blobs)
    want = x * _broadcast(gamma, shape, axis)
    if bias:
        want = want + _broadcast(beta, shape, axis)
    assert_close(y, want)


@pytest.mark.parametrize("shape,axis,num_axes", CASES)
def test_bias_over_axes(tmp_path, shape, axis, num_axes) -> None:
    pshape = _param_shape(shape, axis, num_axes)
    x, beta = rand(*shape), rand(*pshape, seed=4)
    params = f"bias_param {{ axis: {axis} num_axes: {num_axes} }}"
    (y,) = run_layer(tmp_path, "Bias", params, [x], [beta])
    assert_close(y, x + _broadcast(beta, shape, axis))


def test_learned_scale_over_the_batch_is_unsupported(tmp_path) -> None:
    with pytest.raises(UnsupportedParameterError, match="layer 'L', field 'axis'"):
        run_layer(tmp_path, "Scale", "scale_param { axis: 0 }", [rand(2, 3)], [rand(2)])


@pytest.mark.parametrize(
    "shape,other",
    [
        ((2, 3, 4, 5), (2, 3)),
        ((2, 3, 4, 5), (2,)),
        ((2, 3, 4, 5), (2, 3, 4, 5)),
        ((2, 3, 4, 5), (2, 3, 4)),
        ((2, 6, 4), (2, 6)),
        ((2, 6), (2, 6)),
    ],
)
@pytest.mark.parametrize("ltype", ["Scale", "Bias"])
def test_two_bottoms(tmp_path, shape, other, ltype) -> None:
    x, s = rand(*shape), rand(*other, seed=9)
    field = "scale_param" if ltype == "Scale" else "bias_param"
    (y,) = run_layer(tmp_path, ltype, f"{field} {{ axis: 0 }}", [x, s])
    sb = _broadcast(s, shape, 0)
    assert_close(y, x * sb if ltype == "Scale" else x + sb)


@pytest.mark.parametrize(
    "shape,other", [((2, 3, 4, 5), (2, 3)), ((2, 3, 4, 5), (2,)), ((2, 3, 4, 5), (2, 3, 4))]
)
def test_two_bottom_scale_with_learned_bias(tmp_path, shape, other) -> None:
    x, s = rand(*shape), rand(*other, seed=9)
    row = rand(*other[1:], seed=11)
    bias = np.broadcast_to(row, other).copy()  # Caffe's blob has bottom[1]'s shape, batch too
    params = "scale_param { axis: 0 bias_term: true }"
    (y,) = run_layer(tmp_path, "Scale", params, [x, s], [bias])
    assert_close(y, x * _broadcast(s, shape, 0) + _broadcast(row, shape, 1))


def test_two_bottom_bias_varying_over_the_batch_is_unsupported(tmp_path) -> None:
    params = "scale_param { axis: 0 bias_term: true }"
    with pytest.raises(UnsupportedParameterError, match="field 'bias_term'"):
        run_layer(tmp_path, "Scale", params, [rand(2, 3, 4), rand(2, 3)], [rand(2, 3)])


def test_second_bottom_without_batch_axis_is_unsupported(tmp_path) -> None:
    with pytest.raises(UnsupportedParameterError, match="layer 'L', field 'axis'"):
        run_layer(tmp_path, "Scale", "scale_param { axis: 1 }", [rand(3, 3, 4), rand(3, 4)])


@pytest.mark.parametrize("a_shape", [(2, 3, 1, 1), (2, 3)])
def test_axpy(tmp_path, a_shape) -> None:
    a, x, y = rand(*a_shape, seed=1), rand(2, 3, 4, 5, seed=2), rand(2, 3, 4, 5, seed=3)
    (out,) = run_layer(tmp_path, "Axpy", "", [a, x, y])
    assert_close(out, a.reshape(2, 3, 1, 1).astype(np.float64) * x + y)
