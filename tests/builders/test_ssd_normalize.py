"""SSD's Normalize against a loop written from ``normalize_layer.cpp`` and against OpenCV's dnn,
one test per parameter (across_spatial, channel_shared, eps), plus the refusals."""

from __future__ import annotations

import math

import numpy as np
import pytest
from bounds import SMALL_NET_BOUND, assert_within, rel_linf
from extra_nets import assert_close, rand, run_layer
from netfiles import input_layer, write_net

from caffe2keras.errors import ValidationError
from caffe2keras.frontend.load import LoadOptions
from caffe2keras.frontend.net import load_net


def caffe_normalize(
    x: np.ndarray, scale: np.ndarray, across_spatial: bool, channel_shared: bool, eps: float
) -> np.ndarray:
    """normalize_layer.cpp Forward_cpu as loops (float64): per sample, the norm is
    sqrt(eps + sum of squares) over C, H, W (across_spatial) or over C at each pixel."""
    num, channels = x.shape[:2]
    flat = x.astype(np.float64).reshape(num, channels, -1)
    spatial = flat.shape[2]
    out = np.empty_like(flat)
    for n in range(num):
        if across_spatial:
            total = sum(flat[n, c, s] ** 2 for c in range(channels) for s in range(spatial))
            norms = [math.sqrt(total + eps)] * spatial
        else:
            norms = [
                math.sqrt(eps + sum(flat[n, c, s] ** 2 for c in range(channels)))
                for s in range(spatial)
            ]
        for c in range(channels):
            factor = float(scale.reshape(-1)[0 if channel_shared else c])
            for s in range(spatial):
                out[n, c, s] = flat[n, c, s] / norms[s] * factor
    return out.reshape(x.shape)


def norm_param(across: bool, shared: bool, eps: float | None = None) -> str:
    extra = "" if eps is None else f" eps: {eps}"
    return (
        f"norm_param {{ across_spatial: {str(across).lower()} "
        f"channel_shared: {str(shared).lower()}{extra} }}"
    )


def scale_blob(channels: int, shared: bool) -> np.ndarray:
    if shared:
        return np.array(2.5, np.float32)
    return np.linspace(0.5, 3.0, channels).astype(np.float32)


@pytest.mark.parametrize("shape", [(2, 3, 5, 4), (2, 6, 3), (3, 5)])
@pytest.mark.parametrize("across", [True, False])
@pytest.mark.parametrize("shared", [True, False])
def test_normalize_matches_the_caffe_loop(tmp_path, shape, across, shared) -> None:
    x = rand(*shape)
    scale = scale_blob(shape[1], shared)
    (y,) = run_layer(tmp_path, "Normalize", norm_param(across, shared), [x], [scale])
    assert_close(y, caffe_normalize(x, scale, across, shared, 1e-10))


def test_across_spatial_is_one_norm_per_sample(tmp_path) -> None:
    """Two samples with different magnitudes: each is divided by its own norm, never the batch's."""
    x = np.stack([np.full((2, 2, 2), 1.0), np.full((2, 2, 2), 3.0)]).astype(np.float32)
    (y,) = run_layer(tmp_path, "Normalize", norm_param(True, True), [x], [np.array(1.0, "f4")])
    # each sample: 8 equal values v, norm = sqrt(8 v^2) -> every output 1 / sqrt(8)
    assert_close(y, np.full(x.shape, 1 / math.sqrt(8)))


def test_per_pixel_norm_is_over_channels_only(tmp_path) -> None:
    x = np.zeros((1, 2, 1, 2), np.float32)
    x[0, :, 0, 0] = (3.0, 4.0)  # norm 5
    x[0, :, 0, 1] = (0.0, 2.0)  # norm 2
    (y,) = run_layer(tmp_path, "Normalize", norm_param(False, True), [x], [np.array(1.0, "f4")])
    expected = np.array([[[[0.6, 0.0]], [[0.8, 1.0]]]])
    assert_close(y, expected)


@pytest.mark.parametrize("across", [True, False])
def test_eps_is_inside_the_square_root(tmp_path, across) -> None:
    """eps of the size of the sum: sqrt(sum + eps), not sqrt(sum) + eps nor max(sum, eps)."""
    eps = 0.02
    x = np.full((1, 2, 1, 1), 0.1, np.float32)  # sum of squares 0.02
    (y,) = run_layer(
        tmp_path, "Normalize", norm_param(across, True, eps), [x], [np.array(1.0, "f4")]
    )
    assert_close(y, np.full(x.shape, 0.5))  # 0.1 / sqrt(0.04)
    for other in (0.1 / (math.sqrt(0.02) + eps), 0.1 / math.sqrt(max(0.02, eps))):
        assert rel_linf(y, np.full(x.shape, other)) > 100 * SMALL_NET_BOUND


def test_default_eps_keeps_a_zero_sample_finite(tmp_path) -> None:
    x = np.zeros((2, 3, 2, 2), np.float32)
    x[1] = rand(3, 2, 2)
    (y,) = run_layer(tmp_path, "Normalize", "", [x], [np.array(1.0, "f4")])
    assert np.all(y[0] == 0.0) and np.all(np.isfinite(y))
    assert_close(y, caffe_normalize(x, np.array(1.0), True, True, 1e-10))


# OpenCV 4.14 refuses across_spatial with a per-channel scale (it asserts one scale per plane,
# and across_spatial makes the whole sample one plane): that combination has no OpenCV opinion.
@pytest.mark.parametrize("across,shared", [(True, True), (False, True), (False, False)])
def test_normalize_matches_opencv(tmp_path, across, shared) -> None:
    cv2 = pytest.importorskip("cv2")
    shape = (2, 4, 6, 5)
    x = rand(*shape)
    # OpenCV cannot read a 0-axis blob: the shared scale as (1,), which our loader accepts too
    scale = scale_blob(shape[1], shared).reshape(-1)
    text = input_layer(shape, "in0") + (
        f'layer {{ name: "L" type: "Normalize" bottom: "in0" top: "out" '
        f"{norm_param(across, shared, 1e-6)} }}\n"
    )
    proto, model = write_net(tmp_path, text, {"L": [scale]})
    net = cv2.dnn.readNetFromCaffe(str(proto), str(model))
    net.setInput(x)
    expected = np.asarray(net.forward("L"), np.float64)
    (tmp_path / "k").mkdir()
    (y,) = run_layer(tmp_path / "k", "Normalize", norm_param(across, shared, 1e-6), [x], [scale])
    assert_within("normalize vs opencv", rel_linf(y, expected), SMALL_NET_BOUND)


def _load(tmp_path, text: str, blobs: list[np.ndarray]) -> None:
    proto, model = write_net(tmp_path, text, {"L": blobs})
    load_net(proto, model, LoadOptions())


def test_a_five_axis_bottom_is_refused(tmp_path) -> None:
    text = input_layer((1, 2, 3, 4, 5)) + (
        'layer { name: "L" type: "Normalize" bottom: "data" top: "out" }\n'
    )
    with pytest.raises(ValidationError, match="layer 'L', field 'bottom'"):
        _load(tmp_path, text, [np.array(1.0, "f4")])


def test_a_negative_eps_is_refused(tmp_path) -> None:
    text = input_layer((1, 2, 3, 4)) + (
        'layer { name: "L" type: "Normalize" bottom: "data" top: "out" norm_param { eps: -1 } }\n'
    )
    with pytest.raises(ValidationError, match="layer 'L', field 'eps'"):
        _load(tmp_path, text, [np.array(1.0, "f4")])


@pytest.mark.parametrize("shared,blob", [(True, np.ones(3, "f4")), (False, np.ones(2, "f4"))])
def test_a_scale_blob_of_the_wrong_size_is_refused(tmp_path, shared, blob) -> None:
    """Caffe: CHECK_EQ(blobs_[0]->count(), 1 or channels)."""
    text = input_layer((1, 3, 2, 2)) + (
        f'layer {{ name: "L" type: "Normalize" bottom: "data" top: "out" '
        f"{norm_param(True, shared)} }}\n"
    )
    with pytest.raises(ValidationError, match="layer 'L'.*field 'blobs'|'L'.*blob"):
        _load(tmp_path, text, [blob])
