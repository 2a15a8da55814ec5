"""Slice, Crop, Permute, Tile on every axis and rank, plus Concat/Softmax/Flatten/Reshape on
non-channel axes and non-4-D blobs, against numpy."""

from __future__ import annotations

import numpy as np
import pytest
from extra_nets import assert_close, rand, run_layer

from caffe2keras.errors import UnsupportedParameterError

SHAPES = [(2, 4, 6, 5), (2, 6, 4), (2, 6), (2, 3, 4, 2, 6)]


def _pieces(x: np.ndarray, axis: int, points: list[int]) -> list[np.ndarray]:
    return np.split(x, points, axis=axis)


@pytest.mark.parametrize("shape", SHAPES)
@pytest.mark.parametrize("axis", [1, 2, 3, -1])
@pytest.mark.parametrize("points", [[], [1], [1, 3]])
def test_slice(tmp_path, shape, axis, points) -> None:
    if abs(axis) >= len(shape):
        pytest.skip("axis not in this shape")
    if (points and points[-1] >= shape[axis]) or (not points and shape[axis] % 2):
        pytest.skip("no such slice of this shape")
    tops = tuple(f"t{i}" for i in range(len(points) + 1 if points else 2))
    points_text = " ".join(f"slice_point: {p}" for p in points)
    params = f"slice_param {{ axis: {axis} {points_text} }}"
    x = rand(*shape)
    got = run_layer(tmp_path, "Slice", params, [x], tops=tops)
    want = _pieces(x, axis, points) if points else np.split(x, 2, axis=axis)
    for g, w in zip(got, want):
        np.testing.assert_array_equal(g, w)


def test_slice_batch_axis_is_unsupported(tmp_path) -> None:
    with pytest.raises(UnsupportedParameterError, match="layer 'L', field 'axis'"):
        run_layer(tmp_path, "Slice", "slice_param { axis: 0 }", [rand(2, 3)], tops=("a", "b"))


@pytest.mark.parametrize(
    "src,ref,axis,offsets",
    [
        ((2, 5, 7, 8), (2, 3, 4, 5), 2, [1, 2]),
        ((2, 5, 7, 8), (2, 3, 4, 5), 1, [2]),
        ((2, 5, 7, 8), (2, 3, 4, 5), 1, [1, 3, 2]),
        ((2, 5, 7, 8), (2, 3, 4, 5), 3, []),
        ((2, 5, 7, 8), (2, 3, 4, 5), -1, [3]),
        ((2, 5, 7), (2, 2, 3), 1, [1, 4]),
        ((2, 9), (2, 4), 1, [5]),
        ((2, 3, 4, 5, 6), (2, 3, 2, 5, 3), 2, [1, 0, 2]),
    ],
)
def test_crop(tmp_path, src, ref, axis, offsets) -> None:
    x, r = rand(*src), rand(*ref, seed=2)
    offsets_text = " ".join(f"offset: {o}" for o in offsets)
    params = f"crop_param {{ axis: {axis} {offsets_text} }}"
    (y,) = run_layer(tmp_path, "Crop", params, [x, r])
    start = axis % len(src)
    per_axis = [0] * start + (
        [0] * (len(src) - start)
        if not offsets
        else offsets * (len(src) - start)
        if len(offsets) == 1
        else offsets
    )
    index = tuple(slice(o, o + (ref[i] if i >= start else src[i])) for i, o in enumerate(per_axis))
    np.testing.assert_array_equal(y, x[index])


def test_crop_batch_axis_is_unsupported(tmp_path) -> None:
    with pytest.raises(UnsupportedParameterError, match="layer 'L', field 'axis'"):
        run_layer(tmp_path, "Crop", "crop_param { axis: 0 }", [rand(3, 4), rand(2, 2)])


@pytest.mark.parametrize(
    "shape,order",
    [
        ((2, 3, 4, 5), [0, 2, 3, 1]),
        ((2, 3, 4, 5), [0, 1, 3, 2]),
        ((2, 3, 4, 5), [0, 3, 1, 2]),
        ((2, 3, 4, 5), [0, 1]),
        ((2, 3, 4, 5), [0, 3]),
        ((2, 3, 4), [0, 2, 1]),
        ((2, 3, 4, 5, 6), [0, 4, 2, 1, 3]),
    ],
)
def test_permute(tmp_path, shape, order) -> None:
    x = rand(*shape)
    order_text = " ".join(f"order: {o}" for o in order)
    params = f"permute_param {{ {order_text} }}"
    (y,) = run_layer(tmp_path, "Permute", params, [x])
    full = order + [a for a in range(len(shape)) if a not in order]
    np.testing.assert_array_equal(y, np.transpose(x, full))


def test_permute_of_batch_is_unsupported(tmp_path) -> None:
    with pytest.raises(UnsupportedParameterError, match="layer 'L', field 'order'"):
        run_layer(tmp_path, "Permute", "permute_param { order: 1 order: 0 }", [rand(2, 3)])


@pytest.mark.parametrize("shape", SHAPES)
@pytest.mark.parametrize("axis", [1, 2, -1])
@pytest.mark.parametrize("tiles", [1, 3])
def test_tile(tmp_path, shape, axis, tiles) -> None:
    if abs(axis) >= len(shape):
        pytest.skip("axis not in this shape")
    x = rand(*shape)
    (y,) = run_layer(tmp_path, "Tile", f"tile_param {{ axis: {axis} tiles: {tiles} }}", [x])
    reps = [1] * len(shape)
    reps[axis] = tiles
    np.testing.assert_array_equal(y, np.tile(x, reps))


@pytest.mark.parametrize("shape", SHAPES)
@pytest.mark.parametrize("axis", [1, 2, 3, -1])
def test_concat_any_axis(tmp_path, shape, axis) -> None:
    if abs(axis) >= len(shape):
        pytest.skip("axis not in this shape")
    other = list(shape)
    other[axis] = 2
    x, z = rand(*shape), rand(*other, seed=3)
    (y,) = run_layer(tmp_path, "Concat", f"concat_param {{ axis: {axis} }}", [x, z])
    np.testing.assert_array_equal(y, np.concatenate([x, z], axis=axis))


@pytest.mark.parametrize("shape", SHAPES)
@pytest.mark.parametrize("axis", [1, 2, 3, -1])
def test_softmax_any_axis(tmp_path, shape, axis) -> None:
    if abs(axis) >= len(shape):
        pytest.skip("axis not in this shape")
    x = rand(*shape, low=-5, high=5).astype(np.float64)
    (y,) = run_layer(tmp_path, "Softmax", f"softmax_param {{ axis: {axis} }}", [x])
    e = np.exp(x - x.max(axis=axis, keepdims=True))
    assert_close(y, e / e.sum(axis=axis, keepdims=True))


@pytest.mark.parametrize(
    "shape,axis,end_axis",
    [((2, 3, 4, 5), 1, -1), ((2, 3, 4, 5), 2, -1), ((2, 3, 4, 5), 1, 2), ((2, 3, 4, 5, 2), 2, 3)],
)
def test_flatten(tmp_path, shape, axis, end_axis) -> None:
    x = rand(*shape)
    (y,) = run_layer(
        tmp_path, "Flatten", f"flatten_param {{ axis: {axis} end_axis: {end_axis} }}", [x]
    )
    end = end_axis % len(shape)
    want = x.reshape(*shape[:axis], -1, *shape[end + 1 :])
    np.testing.assert_array_equal(y, want)


@pytest.mark.parametrize(
    "shape,dims,axis,num_axes",
    [
        ((2, 3, 4, 5), [0, -1, 10], 0, -1),
        ((2, 6, 10), [0, 3, 2, 10], 0, -1),
        ((2, 3, 4, 5), [2, 2], 2, 1),
        ((2, 12), [3, 2, 2], 1, -1),
        ((2, 3, 4, 5), [1], 3, 0),
    ],
)
def test_reshape(tmp_path, shape, dims, axis, num_axes) -> None:
    x = rand(*shape)
    dims_text = " ".join(f"dim: {d}" for d in dims)
    params = f"reshape_param {{ shape {{ {dims_text} }} axis: {axis} num_axes: {num_axes} }}"
    (y,) = run_layer(tmp_path, "Reshape", params, [x])
    end = len(shape) if num_axes == -1 else axis + num_axes
    new = [shape[axis + i] if d == 0 else d for i, d in enumerate(dims)]
    np.testing.assert_array_equal(y, x.reshape(*shape[:axis], *new, *shape[end:]))
