"""Pad (brocolli-caffe ``pad_layer.cpp``) against an independent per-element expectation: each
output element's source (a bottom element or the constant) from the mode's index rule, through
the Keras model and through the numpy reference (which follows Caffe's fill loops instead)."""

from __future__ import annotations

import numpy as np
import pytest
from extra_nets import rand, run_layer, run_net
from netfiles import input_layer
from reference.helpers import make_layer
from reference.helpers import run_layer as run_reference_layer

from caffe2keras.errors import Caffe2KerasError
from caffe2keras.families.padding import PadParams


def _source(i: int, size: int, mode: str) -> int | None:
    """The bottom index an output index ``i`` (in bottom coordinates) reads; None: the constant."""
    if 0 <= i < size:
        return i
    if mode == "CONSTANT":
        return None
    if mode == "REPLICATE":
        return min(max(i, 0), size - 1)
    return -i if i < 0 else 2 * (size - 1) - i  # REFLECT: mirror around the edge element


def _expected(x: np.ndarray, mode: str, pads: tuple[int, int, int, int], value: float):
    u, d, left, right = pads
    n, c, h, w = x.shape
    out = np.empty((n, c, h + u + d, w + left + right), np.float32)
    for oh in range(out.shape[2]):
        for ow in range(out.shape[3]):
            sh, sw = _source(oh - u, h, mode), _source(ow - left, w, mode)
            out[:, :, oh, ow] = np.float32(value) if sh is None or sw is None else x[:, :, sh, sw]
    return out


def _params(mode: str, pads: tuple[int, int, int, int], value: float) -> str:
    u, d, left, right = pads
    return (
        f"pad_param {{ pad_type: {mode} pad_u: {u} pad_d: {d} pad_l: {left} pad_r: {right} "
        f"pad_value: {value} }}"
    )


def _keras_layer_types(tmp_path, params: str, shape) -> set[str]:
    from keras_helpers import convert_case
    from netfiles import write_net

    text = input_layer(shape, "in0") + (
        f'layer {{ name: "L" type: "Pad" bottom: "in0" top: "out" {params} }}\n'
    )
    proto, model = write_net(tmp_path, text)
    _, built = convert_case(proto, model, {"in0": shape})
    return {type(layer).__name__ for layer in built.model.layers}


CASES = [
    ("CONSTANT", (1, 2, 3, 0), 0.5, "Pad2D"),
    ("CONSTANT", (0, 3, 2, 1), -1.25, "Pad2D"),
    ("CONSTANT", (2, 1, 0, 4), 0.0, "ZeroPadding2D"),
    ("REFLECT", (2, 1, 1, 2), 0.0, "Pad2D"),
    ("REFLECT", (4, 0, 5, 5), 0.0, "Pad2D"),  # the largest amounts Caffe mirrors: H - 1, W - 1
    ("REPLICATE", (3, 0, 1, 7), 9.0, "Pad2D"),  # amounts beyond H and W; pad_value unused
    ("REPLICATE", (0, 0, 0, 0), 0.0, "Pad2D"),
    ("REFLECT", (-1, -2, -3, -1), 0.0, "Cropping2D"),  # all negative: a crop in every mode
    ("CONSTANT", (-2, -1, -1, -2), 3.0, "Cropping2D"),
]


@pytest.mark.parametrize("mode,pads,value,keras_type", CASES)
def test_pad(tmp_path, mode, pads, value, keras_type) -> None:
    x = rand(2, 3, 5, 6)
    expected = _expected(x, mode, pads, value) if min(pads) >= 0 else None
    if expected is None:  # Caffe's crop branch: top[h, w] = bottom[h + |pad_u|, w + |pad_l|]
        u, d, left, right = pads
        expected = x[:, :, -u : 5 + d, -left : 6 + right]
    params = _params(mode, pads, value)
    (y,) = run_layer(tmp_path, "Pad", params, [x])
    np.testing.assert_array_equal(y, expected)
    (up, down, left, right) = pads
    layer = make_layer("Pad", PadParams(mode, ((up, down), (left, right)), value))
    (ref,) = run_reference_layer(layer, x, dtype=np.float32)
    np.testing.assert_array_equal(ref, expected)
    assert keras_type in _keras_layer_types(tmp_path, params, x.shape)


def test_pad_reflect_corners_mirror_both_ways(tmp_path) -> None:
    """Rows are padded after columns: the top-left corner is bottom[1, 1] for pads of 1."""
    x = np.arange(12, dtype=np.float32).reshape(1, 1, 3, 4)
    (y,) = run_layer(tmp_path, "Pad", _params("REFLECT", (1, 1, 1, 1), 0), [x])
    assert y[0, 0, 0, 0] == x[0, 0, 1, 1] and y[0, 0, -1, -1] == x[0, 0, 1, 2]
    np.testing.assert_array_equal(y[0, 0, 0, 1:-1], x[0, 0, 1])  # the edge row is not repeated


def test_pad_feeds_a_consumer(tmp_path) -> None:
    """A padded blob feeding a convolution-free consumer keeps Caffe's layout (AbsVal here)."""
    x = rand(2, 3, 4, 5)
    text = input_layer(x.shape, "in0") + (
        'layer { name: "P" type: "Pad" bottom: "in0" top: "p" '
        + _params("REPLICATE", (1, 0, 2, 1), 0)
        + ' }\nlayer { name: "A" type: "AbsVal" bottom: "p" top: "a" }\n'
    )
    got = run_net(tmp_path, text, {"in0": x})
    np.testing.assert_array_equal(got["a"], np.abs(_expected(x, "REPLICATE", (1, 0, 2, 1), 0)))


@pytest.mark.parametrize(
    "params,field",
    [
        (_params("CONSTANT", (-1, 1, 0, 0), 0), "pad_u"),  # mixed signs: Caffe writes out of bounds
        (_params("REFLECT", (0, 0, -1, -1), 0), "pad_l"),
        (_params("REFLECT", (5, 0, 0, 0), 0), "pad_u"),  # H = 5: Caffe reads unwritten rows
        (_params("REFLECT", (0, 0, 1, 6), 0), "pad_r"),
        (_params("CONSTANT", (-3, -2, -1, -1), 0), "pad_d"),  # nothing left of 5 rows
    ],
)
def test_pad_refusals(tmp_path, params, field) -> None:
    with pytest.raises(Caffe2KerasError, match=f"layer 'L', field '{field}'"):
        run_layer(tmp_path, "Pad", params, [rand(1, 2, 5, 6)])


def test_pad_in_place_is_refused(tmp_path) -> None:
    text = input_layer((1, 2, 3, 3), "in0") + (
        'layer { name: "L" type: "Pad" bottom: "in0" top: "in0" pad_param { pad_u: 1 } }\n'
    )
    with pytest.raises(Caffe2KerasError, match="layer 'L', field 'top'"):
        run_net(tmp_path, text, {"in0": rand(1, 2, 3, 3)})


def test_pad_needs_4d(tmp_path) -> None:
    with pytest.raises(Caffe2KerasError, match="layer 'L', field 'bottom'"):
        run_layer(tmp_path, "Pad", "pad_param { pad_u: 1 }", [rand(2, 3, 4)])
