"""Deliberately wrong conversions must fail verification and name the right culprit layer.

Each test breaks one Caffe semantic on the Keras side only (the numpy reference is independent)
and checks that verification exits 1 and blames the layer that was broken.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from bounds import log_report

from caffe2keras import api
from caffe2keras.families import dense, pooling
from caffe2keras.keras_model import model as build_model_module
from caffe2keras.passes import fuse_bn_scale

TINY = Path(__file__).resolve().parents[2] / "fixtures" / "tiny"


def convert(prototxt: Path, caffemodel: Path, tmp_path: Path, shapes=None) -> api.ConvertResult:
    options = api.ConvertOptions(input_shapes=shapes or {})
    return api.convert(prototxt, caffemodel, tmp_path / "out.h5", options)


def assert_blamed(result: api.ConvertResult, layer: str) -> None:
    assert result.report is not None
    assert result.exit_code == 1 and not result.written
    culprit = result.report.culprit
    assert culprit is not None and culprit.layer == layer, culprit


def test_baseline_passes(tmp_path) -> None:
    result = convert(TINY / "tiny.prototxt", TINY / "tiny.caffemodel", tmp_path)
    assert result.report is not None
    log_report("tiny", result.report)
    assert result.exit_code == 0 and result.written


def test_ignoring_the_batchnorm_scale_factor(tmp_path, monkeypatch) -> None:
    def raw(layer):
        return (np.asarray(layer.blobs[0]).ravel(), np.asarray(layer.blobs[1]).ravel())

    monkeypatch.setattr(fuse_bn_scale, "bn_statistics", raw)
    result = convert(TINY / "tiny.prototxt", TINY / "tiny.caffemodel", tmp_path)
    assert_blamed(result, "conv1/bn+conv1/scale")


def test_changing_epsilon_to_1e_3(tmp_path, monkeypatch) -> None:
    real = fuse_bn_scale.BatchNormScaleParams
    monkeypatch.setattr(fuse_bn_scale, "BatchNormScaleParams", lambda eps: real(eps=1e-3))
    result = convert(TINY / "tiny.prototxt", TINY / "tiny.caffemodel", tmp_path)
    assert_blamed(result, "conv1/bn+conv1/scale")


def test_zero_padding_max_pool_on_negative_inputs(tmp_path, monkeypatch, golden_layer) -> None:
    g = golden_layer("pool_max_pad")
    monkeypatch.setattr(
        build_model_module,
        "nonnegative_blobs",
        lambda graph: frozenset(b for lay in graph.layers for b in lay.bottoms),
    )
    result = convert(g.prototxt, g.caffemodel, tmp_path, g.input_shapes)
    assert_blamed(result, "pool")


def test_inner_product_weights_in_hwc_order(tmp_path, monkeypatch, golden_layer) -> None:
    g = golden_layer("ip_after_conv")
    monkeypatch.setattr(
        dense,
        "dense_kernel",
        lambda weight, transpose, bottom, axis: np.ascontiguousarray(weight.T),
    )
    result = convert(g.prototxt, g.caffemodel, tmp_path, g.input_shapes)
    assert_blamed(result, "fc")


@pytest.mark.parametrize("case", ["pool_max_floor", "pool_ave_floor"])
def test_ignoring_ceil_mode_false(tmp_path, monkeypatch, golden_layer, case) -> None:
    g = golden_layer(case)
    real = pooling.pool_geometry
    monkeypatch.setattr(
        pooling,
        "pool_geometry",
        lambda size, k, s, p, ceil, padded=None: real(size, k, s, p, True, padded),
    )
    result = convert(g.prototxt, g.caffemodel, tmp_path, g.input_shapes)
    assert_blamed(result, "pool")
