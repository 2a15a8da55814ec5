"""ShuffleChannel (farmingyard/ShuffleNet) and Reorg (YOLO v2 Caffe ports of darknet's reorg):
the reference and the Keras model against loops written from the forks' C++, and OpenCV."""

from __future__ import annotations

import numpy as np
import pytest
from netfiles import input_layer, write_net

from caffe2keras import api
from caffe2keras.errors import ValidationError
from caffe2keras.frontend.net import load_net
from caffe2keras.reference import run_reference


def shuffle_loop(x: np.ndarray, group: int) -> np.ndarray:
    """``shuffle_channel_layer.cpp`` Resize_cpu: block (i * cols + j) -> (j * rows + i)."""
    n, c = x.shape[:2]
    rows, cols = group, c // group
    src = x.reshape(n, c, -1)
    out = np.empty_like(src)
    for b in range(n):
        for i in range(rows):
            for j in range(cols):
                out[b, j * rows + i] = src[b, i * cols + j]
    return out.reshape(x.shape)


def reorg_loop(x: np.ndarray, stride: int, reverse: bool) -> np.ndarray:
    """The Caffe ports' ``reorg_cpu(bottom, W, H, C, N, stride, forward=reverse, top)``, as darknet
    ``blas.c`` writes it: indices over the bottom's own (C, H, W)."""
    n, c, h, w = x.shape
    out_c = c // (stride * stride)
    flat = x.ravel()
    top = np.empty_like(flat)
    for b in range(n):
        for k in range(c):
            for j in range(h):
                for i in range(w):
                    in_index = i + w * (j + h * (k + c * b))
                    c2, offset = k % out_c, k // out_c
                    w2 = i * stride + offset % stride
                    h2 = j * stride + offset // stride
                    out_index = w2 + w * stride * (h2 + h * stride * (c2 + out_c * b))
                    if reverse:
                        top[out_index] = flat[in_index]
                    else:
                        top[in_index] = flat[out_index]
    if reverse:
        return top.reshape(n, out_c, h * stride, w * stride)
    return top.reshape(n, c * stride * stride, h // stride, w // stride)


def _net(shape: tuple[int, ...], ltype: str, params: str, top: str = "out") -> str:
    return input_layer(shape) + (
        f'layer {{ name: "lay" type: "{ltype}" bottom: "data" top: "{top}" {params} }}\n'
    )


def _keras(tmp_path, proto, model, x: np.ndarray) -> np.ndarray:
    import keras

    out = tmp_path / "m.h5"
    assert api.convert(proto, model, out, api.ConvertOptions(verify=False)).written
    loaded = keras.models.load_model(out, safe_mode=True, compile=False)
    y = np.asarray(loaded(np.moveaxis(x, 1, -1) if x.ndim == 4 else x))
    return np.moveaxis(y, -1, 1) if y.ndim == 4 else y


def _both(tmp_path, shape, ltype, params) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(input, reference output, Keras output) on random data."""
    proto, model = write_net(tmp_path, _net(shape, ltype, params))
    x = np.random.default_rng(3).normal(size=shape).astype(np.float32)
    ref = run_reference(load_net(proto, model).reference, {"data": x})["out"]
    return x, ref, _keras(tmp_path, proto, model, x)


@pytest.mark.parametrize(
    ("shape", "group"),
    [((2, 6, 3, 4), 3), ((2, 6, 3, 4), 2), ((1, 12, 2, 5), 4), ((2, 5, 3, 3), 1), ((2, 6, 4), 3)],
)
def test_shuffle_channel_matches_the_fork_loop(tmp_path, shape, group: int) -> None:
    x, ref, got = _both(
        tmp_path, shape, "ShuffleChannel", f"shuffle_channel_param {{ group: {group} }}"
    )
    expected = shuffle_loop(x, group)
    np.testing.assert_array_equal(ref, expected)
    np.testing.assert_array_equal(got, expected)  # a pure regrouping: bit-exact


def test_shuffle_channel_hand_computed() -> None:
    x = np.arange(6.0).reshape(1, 6, 1, 1)  # channels 0..5, g = 2 -> 0 3 1 4 2 5
    assert shuffle_loop(x, 2).ravel().tolist() == [0, 3, 1, 4, 2, 5]


@pytest.mark.parametrize("reverse", [False, True])
@pytest.mark.parametrize(
    ("shape", "stride"), [((2, 8, 4, 6), 2), ((1, 18, 6, 3), 3), ((2, 4, 2, 2), 2)]
)
def test_reorg_matches_darknets_formula(tmp_path, shape, stride: int, reverse: bool) -> None:
    params = f"reorg_param {{ stride: {stride} reverse: {str(reverse).lower()} }}"
    x, ref, got = _both(tmp_path, shape, "Reorg", params)
    expected = reorg_loop(x, stride, reverse)
    np.testing.assert_array_equal(ref, expected)
    np.testing.assert_array_equal(got, expected)


def test_reorg_is_not_space_to_depth() -> None:
    # darknet's map reads the bottom as (C/s², H*s, W*s): one channel of 4x4 is not split into
    # its four 2x2 phases (space-to-depth would give channel 0 = x[0, 0, ::2, ::2]).
    x = np.arange(4 * 4 * 4, dtype=np.float64).reshape(1, 4, 4, 4)
    y = reorg_loop(x, 2, reverse=False)
    assert y.shape == (1, 16, 2, 2)
    assert not np.array_equal(y[0, 0], x[0, 0, ::2, ::2])
    # the first top channel is row 0 of the flat data read 8 (W*s) wide, every 2nd element:
    # x[0, 0, 0, 0], x[0, 0, 0, 2], x[0, 0, 1, 0], x[0, 0, 1, 2]
    assert y[0, 0].ravel().tolist() == [0, 2, 4, 6]


def test_reorg_reverse_is_not_the_inverse_of_the_forward_map() -> None:
    x = np.random.default_rng(0).normal(size=(1, 8, 4, 4))
    down = reorg_loop(x, 2, reverse=False)  # (1, 32, 2, 2)
    up = reorg_loop(down, 2, reverse=True)  # (1, 8, 4, 4): darknet's two maps are not inverse
    assert up.shape == x.shape
    assert not np.array_equal(up, x)


@pytest.mark.parametrize(
    ("shape", "ltype", "params"),
    [
        ((2, 6, 3, 4), "ShuffleChannel", "shuffle_channel_param { group: 3 }"),
        ((2, 12, 5, 4), "ShuffleChannel", "shuffle_channel_param { group: 4 }"),
        ((2, 8, 4, 6), "Reorg", "reorg_param { stride: 2 }"),
        ((2, 64, 26, 26), "Reorg", "reorg_param { stride: 2 }"),  # YOLO v2's passthrough
    ],
)
def test_opencv_agrees(tmp_path, shape, ltype: str, params: str) -> None:
    cv2 = pytest.importorskip("cv2")
    proto, model = write_net(tmp_path, _net(shape, ltype, params))
    x = np.random.default_rng(4).normal(size=shape).astype(np.float32)
    ref = run_reference(load_net(proto, model).reference, {"data": x})["out"]
    net = cv2.dnn.readNetFromCaffe(str(proto))
    net.setInput(x)
    np.testing.assert_array_equal(net.forward("lay"), ref)


@pytest.mark.parametrize(
    ("shape", "ltype", "params"),
    [
        ((2, 6, 3, 4), "ShuffleChannel", "shuffle_channel_param { group: 2 }"),
        ((2, 8, 4, 6), "Reorg", "reorg_param { stride: 2 }"),
        ((2, 8, 3, 5), "Reorg", "reorg_param { stride: 2 reverse: true }"),
    ],
)
def test_converts_and_verifies_exactly(tmp_path, shape, ltype: str, params: str) -> None:
    proto, model = write_net(tmp_path, _net(shape, ltype, params))
    for suffix in (".h5", ".keras"):
        result = api.convert(proto, model, tmp_path / f"m{suffix}", api.ConvertOptions())
        assert result.exit_code == 0 and result.report is not None and result.report.passed
        assert result.report.rows and all(r.max_abs == 0.0 for r in result.report.rows)


@pytest.mark.parametrize(
    ("shape", "ltype", "params", "top", "field", "match"),
    [
        (
            (1, 6, 2, 2),
            "ShuffleChannel",
            "shuffle_channel_param { group: 4 }",
            "o",
            "group",
            "6 channels",
        ),
        ((1, 6, 2, 2), "ShuffleChannel", "shuffle_channel_param { group: 0 }", "o", "group", "> 0"),
        (
            (1, 6, 2, 2),
            "ShuffleChannel",
            "shuffle_channel_param { group: 2 }",
            "data",
            "top",
            "in place",
        ),
        ((1, 8, 3, 4), "Reorg", "reorg_param { stride: 2 }", "o", "stride", "stride 2"),
        (
            (1, 6, 4, 4),
            "Reorg",
            "reorg_param { stride: 2 reverse: true }",
            "o",
            "stride",
            "divisible",
        ),
        ((1, 8, 4, 4), "Reorg", "reorg_param { stride: 0 }", "o", "stride", "> 0"),
        ((1, 8, 4, 4), "Reorg", "reorg_param { stride: 2 }", "data", "top", "in place"),
    ],
)
def test_bad_params_name_layer_and_field(tmp_path, shape, ltype, params, top, field, match) -> None:
    text = input_layer(shape) + (
        f'layer {{ name: "lay" type: "{ltype}" bottom: "data" top: "{top}" {params} }}\n'
    )
    proto, model = write_net(tmp_path, text)
    with pytest.raises(ValidationError, match=match) as info:
        api.load(proto, model)
    assert info.value.layer == "lay" and info.value.field == field


@pytest.mark.parametrize(
    ("params", "gap"),
    [("reorg_param { stride: 2 }", False), ("reorg_param { stride: 2 reverse: true }", True)],
)
def test_opencv_second_opinion_flags_reorg_params_it_ignores(tmp_path, params, gap: bool) -> None:
    pytest.importorskip("cv2")
    proto, model = write_net(tmp_path, _net((2, 8, 4, 6), "Reorg", params))
    options = api.ConvertOptions(second_opinions=("opencv",))
    result = api.convert(proto, model, tmp_path / "m.h5", options)
    assert result.exit_code == 0 and result.report is not None
    (op,) = result.report.second_opinions
    assert op.error is None
    (row,) = [r for r in op.rows if r.layer_type == "Reorg"]
    assert row.passed is not gap
    assert ("OpenCV known gap" in op.gaps.get(row.blob, "")) is gap


def test_inspect_shows_the_rows_without_tensorflow(tmp_path) -> None:
    import json

    from click.testing import CliRunner

    from caffe2keras.cli import main

    text = input_layer((1, 8, 4, 6)) + (
        'layer { name: "sh" type: "ShuffleChannel" bottom: "data" top: "sh" '
        "shuffle_channel_param { group: 2 } }\n"
        'layer { name: "rg" type: "Reorg" bottom: "sh" top: "rg" reorg_param { stride: 2 } }\n'
    )
    proto, _ = write_net(tmp_path, text)
    result = CliRunner().invoke(main, ["inspect", str(proto), "--json"])
    assert result.exit_code == 0, result.output
    rows = {row["name"]: row for row in json.loads(result.output)["layers"]}
    assert rows["sh"]["shapes"] == [[1, 8, 4, 6]] and rows["sh"]["keras"].startswith("Reshape")
    assert rows["rg"]["shapes"] == [[1, 32, 2, 3]] and rows["rg"]["keras"].startswith("Permute")
    assert rows["sh"]["parameters"] == rows["rg"]["parameters"] == 0
