"""numpy's RuntimeWarnings during verification become report notes (issue 13), not stderr."""

from __future__ import annotations

import warnings

import numpy as np
from netfiles import input_layer, write_net

from caffe2keras import api
from caffe2keras.verify.numeric_notes import float32_overflow_note, numpy_warnings

# empty MAX windows (-FLT_MAX) summed by a convolution: float32 overflows, float64 does not
NET = input_layer((1, 2, 2, 4)) + (
    'layer { name: "pool" type: "Pooling" bottom: "data" top: "pool" '
    "pooling_param { pool: MAX kernel_size: 1 stride: 2 } }\n"
    'layer { name: "conv" type: "Convolution" bottom: "pool" top: "conv" '
    "convolution_param { num_output: 2 kernel_size: 2 bias_term: false } }\n"
)


def test_warnings_are_collected_once_each() -> None:
    notes: list[str] = []
    with numpy_warnings("the test", notes):
        big = np.array([3e38, 3e38], np.float32)
        np.sum(big)
        np.sum(big)
    assert notes == ["numpy warned during the test: overflow encountered in reduce"]


def test_the_first_blob_past_float32_is_named() -> None:
    f64 = {"a": np.ones(2), "b": np.array([1e39, 1.0])}
    f32 = {"a": np.ones(2, np.float32), "b": np.array([np.inf, 1.0], np.float32)}
    order = [("a", "A", "Input"), ("b", "B", "Convolution")]
    note = float32_overflow_note(f32, f64, order)
    assert note is not None and "'b'" in note and "'B'" in note and "1 of 2" in note
    assert float32_overflow_note(f64, f64, order) is None


def test_verification_reports_the_overflow_as_notes(tmp_path) -> None:
    w = np.ones((2, 2, 2, 2), np.float32)
    proto, model = write_net(tmp_path, NET, {"conv": [w]})
    with warnings.catch_warnings():
        warnings.simplefilter("error", RuntimeWarning)  # none may escape
        result = api.convert(proto, model, tmp_path / "m.h5", api.ConvertOptions())
    notes = result.report.extra["notes"]
    assert any(n.startswith("numpy warned during the numpy-float32 reference") for n in notes)
    assert any("'conv'" in n and "overflows float32" in n for n in notes)
