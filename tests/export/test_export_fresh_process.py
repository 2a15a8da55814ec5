"""A written TFLite file and SavedModel run where caffe2keras cannot be imported, and match the
numpy reference there: this test's own loader (not caffe2keras.export.deployer) blocks the import
with a ``sys.meta_path`` finder before loading TensorFlow."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
from bounds import SMALL_NET_BOUND, assert_within, rel_linf
from click.testing import CliRunner

from caffe2keras import api
from caffe2keras.cli import main
from caffe2keras.reference.executor import run_reference

REPO = Path(__file__).resolve().parents[2]
TINY = REPO / "fixtures" / "tiny"
PROTO, MODEL = str(TINY / "tiny.prototxt"), str(TINY / "tiny.caffemodel")

LOADER = """
import importlib.abc, json, sys
class Block(importlib.abc.MetaPathFinder):
    def find_spec(self, name, path, target=None):
        if name.split(".")[0] == "caffe2keras":
            raise ImportError("blocked: " + name)
sys.meta_path.insert(0, Block())
try:
    import caffe2keras
    sys.exit("caffe2keras was importable")
except ImportError:
    pass
import numpy as np, tensorflow as tf
fmt, path, npz, out = sys.argv[1:]
x = np.load(npz)["x"]
if fmt == "tflite":
    run = tf.lite.Interpreter(model_path=path).get_signature_runner("serving_default")
    y = run(data=x)["output_0"]
else:
    y = tf.saved_model.load(path).signatures["serving_default"](data=tf.constant(x))["output_0"]
    y = y.numpy()
np.save(out, y)
print(json.dumps(sorted(m for m in sys.modules if m.startswith("caffe2keras"))))
"""


@pytest.mark.parametrize("fmt", ["tflite", "savedmodel"])
def test_artifact_runs_without_caffe2keras(tmp_path: Path, fmt: str) -> None:
    out = tmp_path / ("tiny.tflite" if fmt == "tflite" else "tiny_sm")
    extra = ["--format", "savedmodel"] if fmt == "savedmodel" else []
    result = CliRunner().invoke(main, ["convert", PROTO, MODEL, "-o", str(out), *extra, "-q"])
    assert result.exit_code == 0, result.output
    x = np.random.default_rng(7).standard_normal((3, 3, 33, 33)).astype(np.float32)  # NCHW
    np.savez(tmp_path / "in.npz", x=np.transpose(x, (0, 2, 3, 1)))  # the signature takes NHWC
    done = subprocess.run(
        [
            sys.executable,
            "-c",
            LOADER,
            fmt,
            str(out),
            str(tmp_path / "in.npz"),
            str(tmp_path / "y.npy"),
        ],
        capture_output=True,
        text=True,
        cwd=tmp_path,
        check=False,
    )
    assert done.returncode == 0, done.stderr[-2000:]
    assert json.loads(done.stdout.strip().splitlines()[-1]) == []
    net = api.load(PROTO, MODEL)
    expected = run_reference(net.reference, {"data": x})["prob"]
    got = np.load(tmp_path / "y.npy")
    assert got.shape == expected.shape == (3, 10)
    assert_within(f"{fmt} vs the numpy reference", rel_linf(got, expected), SMALL_NET_BOUND)
