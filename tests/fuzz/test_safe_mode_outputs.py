"""Every model ``convert`` writes loads with ``keras.models.load_model(path, safe_mode=True)``.

The representative set: the fuzz seeds (the bundled fixture, a wide net with Split, grouped
Convolution, PReLU, LRN, Eltwise, Deconvolution, Crop, Slice, Dropout, Reshape; a V1 legacy net)
and a net using every custom layer of :mod:`caffe2keras.layers` plus a negative-slope ReLU, each
as .h5 and .keras. A fresh interpreter loads them all with only ``keras`` and
``caffe2keras.layers`` imported (the documented way), and ``caffe2keras verify`` (which loads in
safe mode) proves each loaded model still equals the Caffe reference.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
from click.testing import CliRunner
from seeds import seed_nets, synthesize_caffemodel

from caffe2keras.cli import main

CUSTOM = """\
name: "custom"
layer { name: "data" type: "Input" top: "data"
  input_param { shape { dim: 1 dim: 3 dim: 6 dim: 6 } } }
layer { name: "abs" type: "AbsVal" bottom: "data" top: "abs" }
layer { name: "pow" type: "Power" bottom: "abs" top: "pow" power_param { power: 0.5 shift: 1 } }
layer { name: "log" type: "Log" bottom: "pow" top: "log" }
layer { name: "th" type: "Threshold" bottom: "data" top: "th" threshold_param { threshold: 0.1 } }
layer { name: "clip" type: "Clip" bottom: "data" top: "clip" clip_param { min: -0.5 max: 0.5 } }
layer { name: "mvn" type: "MVN" bottom: "data" top: "mvn" }
layer { name: "lrn" type: "LRN" bottom: "mvn" top: "lrn" lrn_param { local_size: 3 } }
layer { name: "leaky" type: "ReLU" bottom: "lrn" top: "leaky" relu_param { negative_slope: -0.25 } }
layer { name: "am" type: "ArgMax" bottom: "clip" top: "am" argmax_param { axis: 1 top_k: 2 } }
layer { name: "pad" type: "Pad" bottom: "data" top: "pad"
  pad_param { pad_type: REFLECT pad_u: 2 pad_l: 1 pad_r: 3 } }
"""

LOADER = """\
import json, sys
import keras
import caffe2keras.layers  # registers the custom layers, as the README says
for path in json.loads(sys.argv[1]):
    model = keras.models.load_model(path, safe_mode=True, compile=False)
    assert model.inputs and model.outputs, path
print("loaded", len(json.loads(sys.argv[1])))
"""


def _nets() -> list[tuple[str, bytes, bytes]]:
    return [*seed_nets(), ("custom", CUSTOM.encode(), synthesize_caffemodel(CUSTOM, 3))]


@pytest.fixture(scope="module")
def written(tmp_path_factory: pytest.TempPathFactory) -> list[tuple[Path, Path, Path]]:
    """(prototxt, caffemodel, output) of every net in .h5 and .keras, converted and verified."""
    folder = tmp_path_factory.mktemp("safe_mode")
    out = []
    for name, proto_text, model_bytes in _nets():
        proto, model = folder / f"{name}.prototxt", folder / f"{name}.caffemodel"
        proto.write_bytes(proto_text)
        model.write_bytes(model_bytes)
        for suffix in (".h5", ".keras"):
            target = folder / f"{name}{suffix}"
            result = CliRunner().invoke(
                main, ["convert", str(proto), str(model), "-o", str(target), "-q"]
            )
            assert result.exit_code == 0, result.output
            out.append((proto, model, target))
    return out


def test_outputs_load_in_safe_mode_in_a_fresh_interpreter(written) -> None:
    paths = [str(target) for _, _, target in written]
    env = {**os.environ, "TF_CPP_MIN_LOG_LEVEL": "3"}
    done = subprocess.run(
        [sys.executable, "-c", LOADER, json.dumps(paths)],
        capture_output=True,
        text=True,
        env=env,
        timeout=600,
    )
    assert done.returncode == 0, done.stderr[-3000:]
    assert f"loaded {len(paths)}" in done.stdout


def test_safe_mode_loaded_outputs_still_equal_the_reference(written) -> None:
    for proto, model, target in written:
        result = CliRunner().invoke(main, ["verify", str(proto), str(model), str(target), "-q"])
        assert result.exit_code == 0, f"{target.name}: {result.output}"
