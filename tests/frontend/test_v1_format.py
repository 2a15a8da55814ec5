"""V1 format (``layers`` with enum types, legacy 4-D blobs): every golden layer case that V1 can
express converts from a V1 prototxt + V1 caffemodel to exactly the Keras outputs of its V2 form,
and both match real Caffe."""

from __future__ import annotations

import json

import numpy as np
import pytest
from bounds import assert_within, rel_linf, rounding_bound
from conftest import SHARED, layer_cases
from keras_helpers import convert_case, keras_blobs
from legacy_nets import NotV1, make_caffemodel, v1_text
from pending import pending_in

from caffe2keras import api
from caffe2keras.frontend.blobs import read_caffemodel


def _v1_cases() -> list[str]:
    """Golden cases whose types all have V1 enum values and V1 blob writers. Cases that wait for
    an open issue (``pending.py``: fork and recurrent types, which V1 has no enum values for) are
    left out here; the layer-golden sweeps check their refusals."""
    cases = []
    for case in layer_cases():
        root = SHARED / "golden" / "layers" / case
        if pending_in(root / "net.prototxt"):
            continue
        manifest = json.loads((root / "manifest.json").read_text())
        try:
            v1_text((root / "net.prototxt").read_text())
        except NotV1:
            continue
        if all(layer["type"] in make_caffemodel().V1_TYPES for layer in manifest["layers"]):
            cases.append(case)
    return cases


V1_CASES = _v1_cases() if SHARED.is_dir() else []


def _v1_files(g, tmp_path):
    proto = tmp_path / "v1.prototxt"
    proto.write_text(v1_text(g.prototxt.read_text()))
    manifest = json.loads((g.root / "manifest.json").read_text())
    model = tmp_path / "v1.caffemodel"
    model.write_bytes(make_caffemodel().build(manifest, "v1"))
    return proto, model


def test_the_v1_cases_cover_the_layer_families() -> None:
    if not SHARED.is_dir():
        pytest.skip("../shared is missing")
    assert len(V1_CASES) >= 40
    for case in ("conv_basic", "ip_chain", "ip_after_conv", "deconv_pad", "lrn_within", "slice"):
        assert case in V1_CASES


@pytest.mark.parametrize("case", V1_CASES)
def test_v1_net_equals_v2_net_and_caffe(case: str, golden_layer, golden_spreads, tmp_path) -> None:
    g = golden_layer(case)
    proto, model = _v1_files(g, tmp_path)
    assert "layers {" in proto.read_text() and "layer {" not in proto.read_text()
    weights = read_caffemodel(model)
    assert weights.format == "v1" or not weights.layers  # nets without weights: no layers
    assert all(b.ndim == 4 for layer in weights.layers for b in layer.blobs)  # legacy shapes
    net1, built1 = convert_case(proto, model, g.input_shapes)
    net2, built2 = convert_case(g.prototxt, g.caffemodel, g.input_shapes)
    assert [layer.type for layer in net1.reference.layers] == [
        layer.type for layer in net2.reference.layers
    ]
    for a, b in zip(net1.reference.layers, net2.reference.layers):
        assert len(a.blobs) == len(b.blobs)
        for x, y in zip(a.blobs, b.blobs):  # fitted to the V2 shapes, same values
            assert x.shape == y.shape
            np.testing.assert_array_equal(x, y)
    got1 = keras_blobs(built1.model, built1, net1, g.inputs, set(g.blobs))
    got2 = keras_blobs(built2.model, built2, net2, g.inputs, set(g.blobs))
    compared = 0
    for blob, expected in g.blobs.items():
        if blob in g.inputs and blob not in got1:
            continue
        np.testing.assert_array_equal(got1[blob], got2[blob], err_msg=f"{case}: {blob}")
        bound = rounding_bound(golden_spreads(g, net2.reference)[blob])
        assert_within(f"{case} v1 {blob}", rel_linf(got1[blob], expected), bound)
        compared += 1
    assert compared >= 1


def test_v1_inner_product_blobs_are_fitted_from_legacy_4d(golden_layer, tmp_path) -> None:
    g = golden_layer("ip_chain")
    proto, model = _v1_files(g, tmp_path)
    raw = {layer.name: layer.blobs for layer in read_caffemodel(model).layers}
    assert raw["fc1"][0].shape == (1, 1, 7, 297) and raw["fc1"][1].shape == (1, 1, 1, 7)
    net = api.load(proto, model, api.ConvertOptions(input_shapes=g.input_shapes))
    fc1 = net.reference.layer("fc1")
    assert fc1.blobs[0].shape == (7, 297) and fc1.blobs[1].shape == (7,)


def test_v1_conversion_verifies_end_to_end(golden_layer, tmp_path) -> None:
    g = golden_layer("ip_after_conv")
    proto, model = _v1_files(g, tmp_path)
    out = tmp_path / "m.h5"
    options = api.ConvertOptions(input_shapes=g.input_shapes)
    result = api.convert(proto, model, out, options)
    assert result.exit_code == 0 and result.written and out.exists()
