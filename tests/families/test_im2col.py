"""Im2col (BVLC ``im2col_layer.cpp``): Caffe's columns as channels, against hand-computed values."""

from __future__ import annotations

import numpy as np
import pytest
from netfiles import input_layer, write_net

from caffe2keras import api
from caffe2keras.errors import UnsupportedParameterError
from caffe2keras.frontend.net import load_net
from caffe2keras.reference import run_reference

X = np.arange(9, dtype=np.float64).reshape(1, 1, 3, 3)  # rows [0 1 2] [3 4 5] [6 7 8]
# kernel 2, stride 1: channel i*2 + j holds x[oh + i, ow + j]
EXPECTED = np.array(
    [[[[0, 1], [3, 4]], [[1, 2], [4, 5]], [[3, 4], [6, 7]], [[4, 5], [7, 8]]]], np.float64
)


def _net(shape: tuple[int, ...], conv: str) -> str:
    return input_layer(shape) + (
        f'layer {{ name: "cols" type: "Im2col" bottom: "data" top: "cols" '
        f"convolution_param {{ {conv} }} }}\n"
    )


def test_reference_matches_the_hand_computed_columns(tmp_path) -> None:
    proto, model = write_net(tmp_path, _net((1, 1, 3, 3), "kernel_size: 2"))
    graph = load_net(proto, model).reference
    np.testing.assert_array_equal(run_reference(graph, {"data": X})["cols"], EXPECTED)


def test_keras_matches_the_hand_computed_columns(tmp_path) -> None:
    import keras

    proto, model = write_net(tmp_path, _net((1, 1, 3, 3), "kernel_size: 2"))
    out = tmp_path / "m.h5"
    assert api.convert(proto, model, out, api.ConvertOptions(verify=False)).written
    got = keras.models.load_model(out, safe_mode=True, compile=False)(X.transpose(0, 2, 3, 1))
    np.testing.assert_array_equal(np.asarray(got).transpose(0, 3, 1, 2), EXPECTED)


@pytest.mark.parametrize(
    ("shape", "conv"),
    [
        ((1, 3, 7, 6), "kernel_size: 3 pad: 1"),
        ((1, 2, 9, 8), "kernel_h: 3 kernel_w: 2 stride_h: 2 stride_w: 1 pad_h: 1 pad_w: 0"),
        ((1, 2, 11, 10), "kernel_size: 3 dilation: 2 stride: 2"),
    ],
)
def test_converts_and_verifies(tmp_path, shape, conv) -> None:
    proto, model = write_net(tmp_path, _net(shape, conv))
    for suffix in (".h5", ".weights.h5"):
        result = api.convert(proto, model, tmp_path / f"m{suffix}", api.ConvertOptions())
        assert result.exit_code == 0 and result.report is not None and result.report.passed
        assert result.report.rows and all(r.max_abs == 0.0 for r in result.report.rows)


def test_other_axes_are_refused(tmp_path) -> None:
    proto, model = write_net(tmp_path, _net((1, 2, 5, 5), "kernel_size: 2 axis: 2"))
    with pytest.raises(UnsupportedParameterError, match="axis"):
        api.load(proto, model)
