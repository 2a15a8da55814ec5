"""Pooling's mask top (Keras and the numpy reference) against a loop written from brocolli-caffe's
``pooling_layer.cpp`` (MAX, ``use_top_mask``): ties, ceil-mode partial windows, padding,
overlapping and global windows. Masks are plane indices: compared exactly."""

from __future__ import annotations

import numpy as np
import pytest
from extra_nets import rand, run_layer
from single_reference import reference_tops

from caffe2keras.errors import ValidationError

FLT_MAX = float(np.finfo(np.float32).max)


def caffe_pool_with_mask(x, kernel, stride, pad, out):
    """pooling_layer.cpp Forward_cpu, MAX with a mask top, loop for loop."""
    n_, c_, height, width = x.shape
    top = np.full((n_, c_) + out, -FLT_MAX, np.float32)
    mask = np.full((n_, c_) + out, -1.0, np.float32)
    for n in range(n_):
        for c in range(c_):
            for ph in range(out[0]):
                for pw in range(out[1]):
                    hstart, wstart = ph * stride[0] - pad[0], pw * stride[1] - pad[1]
                    hend = min(hstart + kernel[0], height)
                    wend = min(wstart + kernel[1], width)
                    hstart, wstart = max(hstart, 0), max(wstart, 0)
                    for h in range(hstart, hend):
                        for w in range(wstart, wend):
                            if x[n, c, h, w] > top[n, c, ph, pw]:
                                top[n, c, ph, pw] = x[n, c, h, w]
                                mask[n, c, ph, pw] = h * width + w
    return top, mask


def pool_out(size, k, s, p, ceil):
    """pooling_layer.cpp Reshape (ceil_mode), with the clip rule when padding."""
    span = (size + 2 * p - k) / s
    out = int(np.ceil(span) if ceil else np.floor(span)) + 1
    if p and (out - 1) * s >= size + p:
        out -= 1
    return out


def params_text(kernel, stride, pad, ceil):
    return (
        f"pooling_param {{ pool: MAX kernel_h: {kernel[0]} kernel_w: {kernel[1]} "
        f"stride_h: {stride[0]} stride_w: {stride[1]} pad_h: {pad[0]} pad_w: {pad[1]} "
        f"ceil_mode: {'true' if ceil else 'false'} }}"
    )


def ties(*shape: int, seed: int) -> np.ndarray:
    """Small integers: most windows hold their maximum more than once."""
    return np.random.default_rng(seed).integers(-2, 3, shape).astype(np.float32)


CASES = [  # shape, kernel, stride, pad, ceil
    ((2, 3, 8, 10), (2, 2), (2, 2), (0, 0), True),
    ((1, 2, 7, 9), (3, 3), (2, 2), (0, 0), True),  # ceil mode: partial last windows
    ((1, 2, 7, 9), (3, 3), (2, 2), (0, 0), False),
    ((1, 2, 7, 7), (3, 3), (2, 2), (1, 1), True),  # padding
    ((1, 2, 6, 8), (3, 3), (1, 1), (1, 1), True),  # overlapping windows share maxima
    ((2, 1, 5, 7), (2, 3), (2, 1), (1, 0), True),  # asymmetric
    ((1, 2, 5, 5), (3, 2), (3, 3), (2, 1), True),  # the last window clipped to padding
]


@pytest.mark.parametrize("values", ["ties", "distinct"])
@pytest.mark.parametrize("shape,kernel,stride,pad,ceil", CASES)
def test_mask_matches_caffe_loop(tmp_path, values, shape, kernel, stride, pad, ceil) -> None:
    x = ties(*shape, seed=len(shape) + sum(kernel)) if values == "ties" else rand(*shape)
    out = tuple(pool_out(shape[2 + a], kernel[a], stride[a], pad[a], ceil) for a in (0, 1))
    top, mask = caffe_pool_with_mask(x, kernel, stride, pad, out)
    params = params_text(kernel, stride, pad, ceil)
    got_top, got_mask = run_layer(tmp_path, "Pooling", params, [x], tops=("out", "mask"))
    np.testing.assert_array_equal(got_mask, mask)
    np.testing.assert_array_equal(got_top, top)
    ref_top, ref_mask = reference(params, x)
    np.testing.assert_array_equal(ref_mask, mask)
    np.testing.assert_array_equal(ref_top, top)


def test_global_max_pooling_mask(tmp_path) -> None:
    x = ties(2, 3, 4, 5, seed=7)
    top, mask = caffe_pool_with_mask(x, (4, 5), (1, 1), (0, 0), (1, 1))
    params = "pooling_param { pool: MAX global_pooling: true }"
    got_top, got_mask = run_layer(tmp_path, "Pooling", params, [x], tops=("out", "mask"))
    np.testing.assert_array_equal(got_mask, mask)
    np.testing.assert_array_equal(got_top, top)


def test_equal_window_points_at_its_first_pixel(tmp_path) -> None:
    x = np.full((1, 1, 4, 6), 3.0, np.float32)
    params = params_text((2, 3), (2, 3), (0, 0), True)
    _, mask = run_layer(tmp_path, "Pooling", params, [x], tops=("out", "mask"))
    np.testing.assert_array_equal(mask[0, 0], [[0, 3], [12, 15]])


def test_padding_never_wins_over_negative_values(tmp_path) -> None:
    x = -rand(1, 2, 5, 5, low=1, high=2)  # every value < 0 < the zeros a padded pool might see
    params = params_text((3, 3), (2, 2), (1, 1), True)
    _, mask = run_layer(tmp_path, "Pooling", params, [x], tops=("out", "mask"))
    _, want = caffe_pool_with_mask(x, (3, 3), (2, 2), (1, 1), (3, 3))
    np.testing.assert_array_equal(mask, want)
    assert (mask >= 0).all() and (mask < 25).all()


def test_nan_and_minus_inf_never_win(tmp_path) -> None:
    x = rand(1, 1, 4, 4)
    x[0, 0, :2, :2] = [[np.nan, -np.inf], [np.nan, -np.inf]]  # a window with nothing to take
    x[0, 0, 0, 2:] = [np.nan, -5.0]
    x[0, 0, 1, 2:] = [-7.0, np.nan]
    params = params_text((2, 2), (2, 2), (0, 0), True)
    _, mask = run_layer(tmp_path, "Pooling", params, [x], tops=("out", "mask"))
    assert mask[0, 0, 0, 0] == -1  # Caffe's initial -1 stays
    assert mask[0, 0, 0, 1] == 3  # -5 at (0, 3): NaN is never greater
    _, want = caffe_pool_with_mask(x, (2, 2), (2, 2), (0, 0), (2, 2))
    np.testing.assert_array_equal(mask, want)


def reference(params: str, x: np.ndarray) -> list[np.ndarray]:
    return reference_tops("Pooling", params, [x], tops=("out", "mask"))


def test_reference_refuses_a_mask_for_ave_pooling() -> None:
    with pytest.raises(ValidationError, match="layer 'L', field 'top'"):
        reference("pooling_param { pool: AVE kernel_size: 2 stride: 2 }", rand(1, 1, 4, 4))
