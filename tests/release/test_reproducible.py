"""Byte-identical reruns: the same inputs give the same .h5, .weights.h5, keras2-weights and
.keras bytes, also across processes (different hash seeds, object addresses and clocks)."""

from __future__ import annotations

import hashlib
import json
import os
import subprocess
import sys
import zipfile
from pathlib import Path

import keras
import numpy as np
import pytest

from caffe2keras import api
from caffe2keras.outputs.reproducible import FIXED_DATE, normalize_keras_archive

REPO = Path(__file__).resolve().parents[2]
TINY = REPO / "fixtures" / "tiny"
# (file name, keras2-weights?) for every output kind.
KINDS = [("m.h5", False), ("m.weights.h5", False), ("m_tf.h5", True), ("m.keras", False)]


def digest(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def convert_all_kinds(prototxt: Path, caffemodel: Path, folder: Path, kinds=KINDS) -> dict:
    folder.mkdir(parents=True, exist_ok=True)
    hashes = {}
    for name, keras2 in kinds:
        fmt = "keras2-weights" if keras2 else None
        options = api.ConvertOptions(verify=False, format=fmt)
        api.convert(prototxt, caffemodel, folder / name, options)
        hashes[name] = digest(folder / name)
    return hashes


def in_subprocess(prototxt: Path, caffemodel: Path, folder: Path, kinds=KINDS) -> dict:
    """The same conversions in a fresh interpreter with another hash seed."""
    code = (
        "import json, sys\nsys.path.insert(0, sys.argv[1])\n"
        "from release.test_reproducible import convert_all_kinds\n"
        "from pathlib import Path\n"
        "kinds = [tuple(k) for k in json.loads(sys.argv[5])]\n"
        "h = convert_all_kinds(Path(sys.argv[2]), Path(sys.argv[3]), Path(sys.argv[4]), kinds)\n"
        "print(json.dumps(h))\n"
    )
    env = {**os.environ, "PYTHONHASHSEED": "12345", "TF_CPP_MIN_LOG_LEVEL": "3"}
    env.pop("SOURCE_DATE_EPOCH", None)
    args = [str(REPO / "tests"), str(prototxt), str(caffemodel), str(folder), json.dumps(kinds)]
    done = subprocess.run(
        [sys.executable, "-c", code, *args], env=env, capture_output=True, text=True, check=False
    )
    assert done.returncode == 0, done.stderr[-3000:]
    return json.loads(done.stdout.strip().splitlines()[-1])


def test_tiny_reruns_are_byte_identical_in_process_and_across_processes(tmp_path) -> None:
    proto, model = TINY / "tiny.prototxt", TINY / "tiny.caffemodel"
    first = convert_all_kinds(proto, model, tmp_path / "a")
    assert convert_all_kinds(proto, model, tmp_path / "b") == first
    assert in_subprocess(proto, model, tmp_path / "c") == first


def test_keras_archive_is_normalised_and_still_loads(tmp_path) -> None:
    out = tmp_path / "m.keras"
    api.convert(TINY / "tiny.prototxt", TINY / "tiny.caffemodel", out)
    with zipfile.ZipFile(out) as z:
        assert {i.date_time for i in z.infolist()} == {(1980, 1, 1, 0, 0, 0)}
        assert json.loads(z.read("metadata.json"))["date_saved"] == FIXED_DATE
        ids = set()

        def walk(node) -> None:
            if isinstance(node, dict):
                if "shared_object_id" in node:
                    ids.add(node["shared_object_id"])
                for v in node.values():
                    walk(v)
            elif isinstance(node, list):
                for v in node:
                    walk(v)

        walk(json.loads(z.read("config.json")))
    assert ids and max(ids) == len(ids)  # renumbered 1..n, no memory addresses left
    import caffe2keras.layers  # noqa: F401

    loaded = keras.models.load_model(out, safe_mode=True, compile=False)
    x = np.random.default_rng(0).standard_normal((2, 33, 33, 3)).astype(np.float32)
    api_model, _ = api.load_keras_model(
        out, api.load(TINY / "tiny.prototxt", TINY / "tiny.caffemodel")
    )
    np.testing.assert_array_equal(np.asarray(loaded(x)), np.asarray(api_model(x)))


def test_source_date_epoch_sets_the_saved_date(tmp_path, monkeypatch) -> None:
    out = tmp_path / "m.keras"
    api.convert(TINY / "tiny.prototxt", TINY / "tiny.caffemodel", out)
    monkeypatch.setenv("SOURCE_DATE_EPOCH", "1700000000")
    normalize_keras_archive(out)
    with zipfile.ZipFile(out) as z:
        assert json.loads(z.read("metadata.json"))["date_saved"] == "2023-11-14@22:13:20"


def test_h5_outputs_carry_provenance(tmp_path) -> None:
    import h5py

    out = tmp_path / "m.h5"
    api.convert(TINY / "tiny.prototxt", TINY / "tiny.caffemodel", out)
    with h5py.File(out, "r") as f:
        attrs = {k: json.loads(v) for k, v in f.attrs.items() if k.startswith("caffe2keras_")}
    assert attrs["caffe2keras_prototxt_sha256"] == digest(TINY / "tiny.prototxt")
    assert attrs["caffe2keras_caffemodel_sha256"] == digest(TINY / "tiny.caffemodel")
    assert attrs["caffe2keras_input_shapes"] == {"data": [1, 3, 33, 33]}
    assert attrs["caffe2keras_version"] == api.__version__


@pytest.mark.slow
def test_densenet121_reruns_are_byte_identical(golden_zoo, tmp_path) -> None:
    """The issue's bar: two conversions of DenseNet-121 -> identical sha256 for .h5, .weights.h5
    and keras2-weights (the second in a fresh process)."""
    g = golden_zoo("densenet121")
    kinds = KINDS[:3]
    first = convert_all_kinds(g.prototxt, g.caffemodel, tmp_path / "a", kinds)
    second = in_subprocess(g.prototxt, g.caffemodel, tmp_path / "b", kinds)
    print(json.dumps(first, indent=1))
    assert second == first
