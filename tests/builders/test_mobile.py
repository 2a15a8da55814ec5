"""HardSwish, HardSigmoid and PixelShuffle (brocolli-caffe) against loops written from its
``hardswish_layer.cpp``, ``hardsigmoid_layer.cpp`` and ``pixelshuffle_layer.cpp``, through the
Keras model and through the numpy reference; OpenCV as a second oracle where it has the layer."""

from __future__ import annotations

import numpy as np
import pytest
from bounds import SMALL_NET_BOUND, assert_within, rel_linf
from extra_nets import assert_close, rand, run_layer
from reference.helpers import make_layer
from reference.helpers import run_layer as run_reference_layer

from caffe2keras.errors import Caffe2KerasError, UnsupportedParameterError, ValidationError
from caffe2keras.families.mobile import HardSigmoidParams, PixelShuffleParams
from caffe2keras.frontend.params.registry import NoParams

SHAPES = [(2, 3, 5, 6), (2, 7), (2, 3, 4)]


def _hardswish_loop(x: np.ndarray) -> np.ndarray:
    """``hardswish_layer.cpp`` Forward_cpu, element by element, in float32 as Caffe's Dtype."""
    flat, out = x.ravel(), np.empty(x.size, np.float32)
    for i, v in enumerate(flat):
        gate = max(np.float32(0), min(np.float32(1), v / np.float32(6.0) + np.float32(0.5)))
        out[i] = v * gate
    return out.reshape(x.shape)


def _hardsigmoid_loop(x: np.ndarray, alpha: float, beta: float) -> np.ndarray:
    """``hardsigmoid_layer.cpp``: alpha and beta are C floats, the arithmetic in Dtype."""
    a, b = np.float32(alpha), np.float32(beta)
    flat, out = x.ravel(), np.empty(x.size, np.float32)
    for i, v in enumerate(flat):
        out[i] = max(np.float32(0), min(np.float32(1), v * a + b))
    return out.reshape(x.shape)


def _edges(shape: tuple[int, ...]) -> np.ndarray:
    """Random values with the kinks of the hard functions (-3, 3, and beyond) planted."""
    x = rand(*shape, low=-8, high=8)
    flat = x.reshape(-1)
    flat[:6] = [-3, 3, -2.5, 2.5, 0, 1e-3]
    return x


@pytest.mark.parametrize("shape", SHAPES)
def test_hardswish(tmp_path, shape) -> None:
    x = _edges(shape)
    expected = _hardswish_loop(x)
    (y,) = run_layer(tmp_path, "HardSwish", "", [x])
    assert_close(y, expected)
    assert y.reshape(-1)[0] == 0 and y.reshape(-1)[1] == 3  # the kinks land exactly
    (ref,) = run_reference_layer(make_layer("HardSwish", NoParams()), x, dtype=np.float32)
    np.testing.assert_array_equal(ref, expected)


@pytest.mark.parametrize(
    "params,alpha,beta",
    [("", 0.2, 0.5), ("hardsigmoid_param { alpha: 0.16666667 beta: 0.5 }", 1 / 6, 0.5)]
    + [("hardsigmoid_param { alpha: -0.75 beta: 0.25 }", -0.75, 0.25)]
    + [("hardsigmoid_param { beta: 0.1 }", 0.2, 0.1)],
)
@pytest.mark.parametrize("shape", SHAPES)
def test_hardsigmoid(tmp_path, shape, params, alpha, beta) -> None:
    x = _edges(shape)
    expected = _hardsigmoid_loop(x, alpha, beta)
    (y,) = run_layer(tmp_path, "HardSigmoid", params, [x])
    assert_close(y, expected)
    assert {0.0, 1.0} <= set(np.unique(y).tolist())  # both clips reached
    layer = make_layer("HardSigmoid", HardSigmoidParams(alpha, beta))
    (ref,) = run_reference_layer(layer, x, dtype=np.float32)
    np.testing.assert_array_equal(ref, expected)


def test_hardsigmoid_defaults_are_brocollis(tmp_path) -> None:
    """alpha 0.2, beta 0.5 when hardsigmoid_param is absent: 0 at x = -2.5, 1 at x = 2.5."""
    x = np.array([[-2.5, 0.0, 2.5, 1.0]], np.float32)
    (y,) = run_layer(tmp_path, "HardSigmoid", "", [x])
    np.testing.assert_allclose(y, [[0.0, 0.5, 1.0, 0.7]], rtol=1e-6)


def _opencv_forward(tmp_path, ltype: str, x: np.ndarray) -> np.ndarray:
    cv2 = pytest.importorskip("cv2")
    proto = tmp_path / "cv.prototxt"
    dims = " ".join(f"dim: {d}" for d in x.shape)
    proto.write_text(
        f"input: 'data' input_shape {{ {dims} }}\n"
        f"layer {{ name: 'L' type: '{ltype}' bottom: 'data' top: 'out' }}\n"
    )
    net = cv2.dnn.readNetFromCaffe(str(proto))
    net.setInput(x)
    return np.asarray(net.forward())


@pytest.mark.parametrize("ltype", ["HardSwish", "HardSigmoid"])
def test_opencv_agrees(tmp_path, ltype) -> None:
    """OpenCV's dnn (its own HardSwish, and HardSigmoid with alpha 0.2, beta 0.5) as a second
    oracle: it reads no hardsigmoid_param, so only the defaults are compared."""
    x = _edges((2, 4, 7, 9))
    opencv = _opencv_forward(tmp_path, ltype, x)
    (y,) = run_layer(tmp_path, ltype, "", [x])
    assert_within(f"{ltype} vs OpenCV", rel_linf(y, opencv), SMALL_NET_BOUND)


def _pixelshuffle_loop(x: np.ndarray, r: int) -> np.ndarray:
    """``pixelshuffle_layer.cpp`` Forward_cpu: its five loops, as written."""
    n_, c, h, w = x.shape
    out = np.full((n_, c // (r * r), h * r, w * r), np.nan, np.float32)
    for n in range(n_):
        for p in range(c // (r * r)):
            for sh in range(r):
                for sw in range(r):
                    q = p * r * r + sh * r + sw
                    for i in range(h):
                        for j in range(w):
                            out[n, p, i * r + sh, j * r + sw] = x[n, q, i, j]
    return out


@pytest.mark.parametrize("r,k", [(2, 1), (2, 3), (3, 1), (3, 2), (1, 2)])
def test_pixelshuffle(tmp_path, r, k) -> None:
    x = rand(2, r * r * k, 4, 5)
    expected = _pixelshuffle_loop(x, r)
    (y,) = run_layer(tmp_path, "PixelShuffle", f"pixelshuffle_param {{ upscale_factor: {r} }}", [x])
    np.testing.assert_array_equal(y, expected)
    layer = make_layer("PixelShuffle", PixelShuffleParams(r))
    (ref,) = run_reference_layer(layer, x, dtype=np.float32)
    np.testing.assert_array_equal(ref, expected)


def test_pixelshuffle_is_pytorchs_order_not_depth_to_space(tmp_path) -> None:
    """Output channel 0 at (0, 1) comes from input channel 1 (channel-major split, PyTorch's
    pixel_shuffle); TensorFlow's depth_to_space would take channel k (channel-minor)."""
    x = np.arange(2 * 8 * 2 * 2, dtype=np.float32).reshape(2, 8, 2, 2)
    (y,) = run_layer(tmp_path, "PixelShuffle", "pixelshuffle_param { upscale_factor: 2 }", [x])
    assert y.shape == (2, 2, 4, 4)
    assert y[0, 0, 0, 1] == x[0, 1, 0, 0] and y[0, 1, 1, 0] == x[0, 6, 0, 0]
    assert y[0, 0, 0, 1] != x[0, 2, 0, 0]  # depth_to_space's source (q = sw * C_out + p)


@pytest.mark.parametrize(
    "channels,params,error,field",
    [
        (8, "", ValidationError, "upscale_factor"),
        (8, "pixelshuffle_param { upscale_factor: 0 }", ValidationError, "upscale_factor"),
        (6, "pixelshuffle_param { upscale_factor: 4 }", ValidationError, "upscale_factor"),
        (
            6,
            "pixelshuffle_param { upscale_factor: 2 }",
            UnsupportedParameterError,
            "upscale_factor",
        ),
    ],
)
def test_pixelshuffle_refusals(tmp_path, channels, params, error, field) -> None:
    x = rand(1, channels, 3, 3)
    with pytest.raises(error, match=f"layer 'L', field '{field}'"):
        run_layer(tmp_path, "PixelShuffle", params, [x])


def test_pixelshuffle_needs_4d(tmp_path) -> None:
    with pytest.raises(Caffe2KerasError, match="layer 'L', field 'bottom'"):
        run_layer(
            tmp_path, "PixelShuffle", "pixelshuffle_param { upscale_factor: 2 }", [rand(2, 8)]
        )
