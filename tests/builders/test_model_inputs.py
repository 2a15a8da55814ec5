"""Keras ergonomics: a converted single-input model takes a bare array, silently; a model with
several inputs still takes a list (in the net's input order) or a dict by input name."""

from __future__ import annotations

import warnings
from pathlib import Path

import keras
import numpy as np
import pytest
from keras_helpers import convert_case
from netfiles import input_layer, write_net

import caffe2keras.layers  # noqa: F401  (custom layers for safe-mode loading)
from caffe2keras import api

REPO = Path(__file__).resolve().parents[2]
TINY = REPO / "fixtures" / "tiny"
X = np.random.default_rng(0).standard_normal((2, 33, 33, 3)).astype(np.float32)  # NHWC

TWO_INPUTS = (
    input_layer((2, 3, 4, 5), "a")
    + input_layer((2, 3, 4, 5), "b")
    + 'layer { name: "sum" type: "Eltwise" bottom: "a" bottom: "b" top: "sum" '
    "eltwise_param { operation: SUM coeff: 1 coeff: -2 } }\n"
)


def _silently(fn, *args, **kwargs):
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # any warning, Keras' structure warning included, fails
        return np.asarray(fn(*args, **kwargs))


def _tiny_model():
    _, built = convert_case(TINY / "tiny.prototxt", TINY / "tiny.caffemodel", {})
    return built.model


def test_a_single_input_model_takes_a_bare_array_without_warnings() -> None:
    model = _tiny_model()
    called = _silently(model, X, training=False)
    predicted = _silently(model.predict, X, verbose=0)
    tensor = _silently(model, keras.ops.convert_to_tensor(X), training=False)
    assert called.shape == predicted.shape == tensor.shape == (2, 10)
    np.testing.assert_allclose(predicted, called, rtol=1e-6, atol=1e-6)
    np.testing.assert_array_equal(tensor, called)


@pytest.mark.parametrize("suffix", [".h5", ".keras"])
def test_a_saved_single_input_model_takes_a_bare_array_without_warnings(
    tmp_path, suffix: str
) -> None:
    out = tmp_path / f"tiny{suffix}"
    api.convert(TINY / "tiny.prototxt", TINY / "tiny.caffemodel", out, api.ConvertOptions())
    loaded = keras.models.load_model(out, safe_mode=True, compile=False)
    want = np.asarray(_tiny_model()(X, training=False))
    np.testing.assert_array_equal(_silently(loaded, X, training=False), want)
    np.testing.assert_allclose(_silently(loaded.predict, X, verbose=0), want, rtol=1e-6, atol=1e-6)


def test_a_model_with_two_inputs_takes_a_list_or_a_dict(tmp_path) -> None:
    proto, weights = write_net(tmp_path, TWO_INPUTS)
    _, built = convert_case(proto, weights, {})
    model = built.model
    rng = np.random.default_rng(1)
    a, b = (rng.standard_normal((2, 4, 5, 3)).astype(np.float32) for _ in range(2))
    want = a - 2 * b  # Eltwise SUM with coefficients 1 and -2, independent of the converter
    as_list = _silently(model, [a, b], training=False)
    as_dict = _silently(model, {"a": a, "b": b}, training=False)
    predicted = _silently(model.predict, [a, b], verbose=0)
    for got in (as_list, as_dict, predicted):
        np.testing.assert_allclose(got, want, rtol=1e-6, atol=1e-6)
    swapped = _silently(model, {"b": a, "a": b}, training=False)  # by name, not by position
    np.testing.assert_allclose(swapped, b - 2 * a, rtol=1e-6, atol=1e-6)
