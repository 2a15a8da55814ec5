"""MobileNet-SSD's heads and priors (Permute/Flatten/Concat/Softmax/Reshape, Normalize-free, six
PriorBox layers concatenated on Caffe axis 2), converted through the CLI into an .h5 and loaded back
in safe mode, match real Caffe on every kept blob before DetectionOutput.

DetectionOutput is cut from the prototxt text here (it lands on its own); the zoo sweeps keep
refusing the full model until then (``tests/pending.py``)."""

from __future__ import annotations

import keras
import pytest
from bounds import assert_within, rel_linf_each_sample, rounding_bound, spreads
from click.testing import CliRunner
from keras_helpers import keras_blobs

import caffe2keras.layers  # noqa: F401  (custom layers for safe-mode loading)
from caffe2keras import api
from caffe2keras.cli import main
from caffe2keras.keras_model.model import build_model


def without_layer_of_type(text: str, ltype: str) -> str:
    """``text`` without the one ``layer { ... }`` block whose type is ``ltype``."""
    at = text.index(f'type: "{ltype}"')
    start = text.rindex("layer {", 0, at)
    depth, end = 0, start
    for end in range(start, len(text)):
        depth += {"{": 1, "}": -1}.get(text[end], 0)
        if depth == 0 and text[end] == "}":
            break
    assert text.count(f'type: "{ltype}"') == 1
    return text[:start] + text[end + 1 :]


@pytest.mark.slow
def test_mobilenet_ssd_heads_and_priors_match_caffe(golden_zoo, tmp_path) -> None:
    g = golden_zoo("mobilenet_ssd")
    proto = tmp_path / "mobilenet_ssd_heads.prototxt"
    proto.write_text(without_layer_of_type(g.prototxt.read_text(), "DetectionOutput"))
    out = tmp_path / "mobilenet_ssd_heads.h5"
    shapes = [f"{k}={','.join(map(str, v))}" for k, v in g.input_shapes.items()]
    args = [a for s in shapes for a in ("--input-shape", s)]
    done = CliRunner().invoke(
        main, ["convert", str(proto), str(g.caffemodel), "-o", str(out), "-q", *args]
    )
    assert done.exit_code == 0, done.output
    options = api.ConvertOptions(input_shapes=g.input_shapes, verify=False)
    net = api.load(proto, g.caffemodel, options)
    assert {"mbox_loc", "mbox_conf_flatten", "mbox_priorbox"} <= set(net.keras.outputs)
    kept = [b for b in g.blobs if b != "detection_out"]
    built = build_model(net.keras)
    loaded = keras.models.load_model(out, safe_mode=True, compile=False)
    got = keras_blobs(loaded, built, net, g.inputs, set(kept))
    spread, _, _ = spreads(net.reference, g.inputs, kept)
    for blob in kept:
        bound = rounding_bound(spread[blob], g.noise_floor)
        err = rel_linf_each_sample(got[blob], g.blobs[blob])
        print(f"mobilenet_ssd {blob}: rel L-inf {err:.3g} (bound {bound:.3g})")
        assert_within(f"mobilenet_ssd keras {blob} (spread {spread[blob]:.2e})", err, bound)
    # the priors depend on shapes only: held to the single-layer bar, not the deep net's floor
    priors = rel_linf_each_sample(got["mbox_priorbox"], g.blobs["mbox_priorbox"])
    assert_within(
        "mobilenet_ssd keras mbox_priorbox", priors, rounding_bound(spread["mbox_priorbox"])
    )
    assert got["mbox_priorbox"].shape == (2, *g.blobs["mbox_priorbox"].shape[1:])
