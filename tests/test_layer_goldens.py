"""Every golden layer case: the converted Keras model, saved as .h5 and loaded back in safe mode,
reproduces every blob real Caffe computed, within the rounding bound of ``tests/bounds.py``
(4 x the blob's measured float32 spread, at least 1e-5 relative)."""

from __future__ import annotations

import keras
import numpy as np
import pytest
from bounds import assert_within, rel_linf_each_sample, rounding_bound
from conftest import layer_cases
from detection_checks import assert_detections, is_detection
from keras_helpers import convert_case, keras_blobs, model_input
from pending import pending_in
from refusals import check_cli_refusal

import caffe2keras.layers  # noqa: F401  (custom layers for safe-mode loading)
from caffe2keras.ir.layouts import blob_layouts
from caffe2keras.ir.shapes import infer_shapes
from caffe2keras.layout import CAFFE, to_keras


def _fused_away(net, blob: str) -> bool:
    """Whether ``blob`` comes from a Caffe layer a fusion absorbed (and no node outputs it)."""
    keras_tops = {t for layer in net.keras.layers for t in layer.tops}
    producer = net.reference.producers().get(blob)
    fused = {s for layer in net.keras.layers if len(layer.sources) > 1 for s in layer.sources}
    return producer is not None and producer.name in fused and blob not in keras_tops


def refused_as_expected(g, tmp_path, expected_refusal) -> bool:
    """True when the case waits for an open issue: then ``convert``'s refusal has been checked."""
    pending = pending_in(g.prototxt)
    if not pending:
        return False
    check_cli_refusal(g.prototxt, g.caffemodel, g.input_shapes, pending, tmp_path)
    expected_refusal(g.root.name, pending)
    return True


@pytest.mark.parametrize("case", layer_cases())
def test_layer_case_matches_caffe(
    case: str, golden_layer, golden_spreads, tmp_path, expected_refusal
) -> None:
    g = golden_layer(case)
    if refused_as_expected(g, tmp_path, expected_refusal):
        return
    net, built = convert_case(g.prototxt, g.caffemodel, g.input_shapes)
    path = tmp_path / "model.h5"
    built.model.save(path)
    loaded = keras.models.load_model(path, safe_mode=True, compile=False)
    got = keras_blobs(loaded, built, net, g.inputs, set(g.blobs))
    spread = golden_spreads(g, net.reference)
    compared = 0
    for blob, expected in g.blobs.items():
        if blob in g.inputs and blob not in got:
            continue
        if blob not in got and _fused_away(net, blob):
            continue  # e.g. a BatchNorm top consumed only by the Scale it was fused with
        assert blob in got, f"{case}: golden blob '{blob}' has no Keras counterpart"
        bound = rounding_bound(spread[blob])
        if is_detection(net.reference, blob):  # rows one to one, every one of them
            assert_detections(f"{case} keras {blob}", got[blob], expected, bound)
        else:
            assert_within(f"{case} keras {blob}", rel_linf_each_sample(got[blob], expected), bound)
        compared += 1
    assert compared >= 1


@pytest.mark.parametrize("case", layer_cases())
def test_saved_model_equals_in_memory(case: str, golden_layer, tmp_path, expected_refusal) -> None:
    g = golden_layer(case)
    if refused_as_expected(g, tmp_path, expected_refusal):
        return
    net, built = convert_case(g.prototxt, g.caffemodel, g.input_shapes)
    path = tmp_path / "model.keras"
    built.model.save(path)
    loaded = keras.models.load_model(path, safe_mode=True, compile=False)
    layouts = blob_layouts(net.keras, infer_shapes(net.keras))  # recurrent inputs: batch-major
    feed = [
        to_keras(g.inputs[net.keras.caffe_name(s.name)], layouts.get(s.name, CAFFE))
        for s in net.keras.inputs
    ]
    a = built.model(model_input(built.model, feed), training=False)
    b = loaded(model_input(loaded, feed), training=False)
    for x, y in zip(keras.tree.flatten(a), keras.tree.flatten(b)):
        np.testing.assert_array_equal(np.asarray(x), np.asarray(y))
