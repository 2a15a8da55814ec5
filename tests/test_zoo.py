"""Zoo models end to end: convert to .h5, load it back, feed the golden input, match real Caffe.

Every kept blob, outputs and deep intermediates (ResNet ``res4*``/``res5*``) alike, must be within
ROUNDING_MARGIN x the float32 spread of our reference on that blob, measured on this run, floored
by the golden's noise_floor (``tests/bounds.py``): TensorFlow's float32 and Caffe's float32 each
round like our float32 reference does, whatever the machine's BLAS kernel or thread count.
"""

from __future__ import annotations

import json
import subprocess
import sys

import keras
import numpy as np
import pytest
from bounds import assert_within, log_report, rel_linf, rounding_bound
from keras_helpers import keras_blobs

from caffe2keras import api

CORE_ZOO = [
    "cifar10_quick",
    "densenet121",
    "densenet161",
    "densenet169",
    "densenet201",
    "lenet",
    "mobilenet_v1",
    "mobilenet_v2",
    "resnet50",
    "resnet101",
    "resnet152",
    "squeezenet_v1.0",
    "squeezenet_v1.1",
]
# Issue 4's zoo models (LRN WITHIN_CHANNEL; Deconvolution + Crop), FCN-8s at a reduced input.
LONG_TAIL_ZOO = ["cifar10_full", "fcn8s"]


@pytest.mark.slow
@pytest.mark.parametrize("model", CORE_ZOO + LONG_TAIL_ZOO)
def test_zoo_model_matches_caffe(model: str, golden_zoo, golden_spreads, tmp_path) -> None:
    from caffe2keras.keras_model.model import build_model

    g = golden_zoo(model)
    options = api.ConvertOptions(input_shapes=g.input_shapes, verify=False)
    out = tmp_path / f"{model}.h5"
    result = api.convert(g.prototxt, g.caffemodel, out, options)
    assert result.written and out.exists()
    net = api.load(g.prototxt, g.caffemodel, options)
    built = build_model(net.keras)
    loaded = keras.models.load_model(out, safe_mode=True, compile=False)
    got = keras_blobs(loaded, built, net, g.inputs, set(g.blobs))
    spread = golden_spreads(g, net.reference)
    for blob, expected in g.blobs.items():
        bound = rounding_bound(spread[blob], g.noise_floor)
        what = f"{model} keras {blob} (spread {spread[blob]:.2e})"
        assert_within(what, rel_linf(got[blob], expected), bound)


@pytest.mark.slow
def test_densenet121_fuses_every_batchnorm(golden_zoo, tmp_path) -> None:
    g = golden_zoo("densenet121")
    out = tmp_path / "d.h5"
    result = api.convert(g.prototxt, g.caffemodel, out, api.ConvertOptions())
    assert result.report is not None
    log_report("densenet121", result.report)
    assert result.exit_code == 0 and result.report.passed
    model = keras.models.load_model(out, safe_mode=True, compile=False)
    kinds = [type(layer).__name__ for layer in model.layers]
    assert kinds.count("BatchNormalization") == 121
    assert result.fused_batchnorms == 121
    # nothing applies a separate scale/shift: no Rescaling, Multiply, Add right after a BN
    assert "Rescaling" not in kinds and "Multiply" not in kinds


@pytest.mark.slow
def test_fresh_process_load_reproduces_outputs(golden_zoo, tmp_path) -> None:
    g = golden_zoo("densenet121")
    out = tmp_path / "d.h5"
    api.convert(g.prototxt, g.caffemodel, out, api.ConvertOptions(verify=False))
    x = np.transpose(g.inputs["data"], (0, 2, 3, 1))
    np.save(tmp_path / "x.npy", x)
    from caffe2keras.keras_model.model import build_model

    built = build_model(api.load(g.prototxt, g.caffemodel).keras)
    in_memory = np.asarray(built.model(x, training=False))
    code = (
        "import sys, numpy as np, keras\n"
        "m = keras.models.load_model(sys.argv[1], safe_mode=True, compile=False)\n"
        "np.save(sys.argv[3], np.asarray(m(np.load(sys.argv[2]), training=False)))\n"
    )
    subprocess.run(
        [sys.executable, "-c", code, str(out), str(tmp_path / "x.npy"), str(tmp_path / "y.npy")],
        check=True,
    )
    np.testing.assert_array_equal(np.load(tmp_path / "y.npy"), in_memory)
    meta = json.loads(g.root.joinpath("meta.json").read_text())
    assert in_memory.shape[0] == 2 and meta["outputs"] == ["fc6"]
