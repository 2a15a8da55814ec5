"""Verified deployment exports through the CLI on the tiny fixture: TFLite and SavedModel are
written only after their own runtime (a fresh process that cannot import caffe2keras) reproduced
the reference within the Keras model's bar; the report's ``export`` section says so."""

from __future__ import annotations

import json
import os
from pathlib import Path

import jsonschema
import numpy as np
import pytest
from click.testing import CliRunner

from caffe2keras.cli import main

REPO = Path(__file__).resolve().parents[2]
TINY = REPO / "fixtures" / "tiny"
PROTO, MODEL = str(TINY / "tiny.prototxt"), str(TINY / "tiny.caffemodel")
SCHEMA = REPO / "caffe2keras" / "verify" / "report.schema.json"
EXPORTS = {"tflite": ("tiny.tflite", []), "savedmodel": ("tiny_sm", ["--format", "savedmodel"])}
ENTRY_KEYS = {"format", "path", "runtime", "float16", "passed", "seconds", "bytes"}
ENTRY_KEYS |= {"select_tf_ops", "outputs", "bar"}


def invoke(*args: str):
    return CliRunner().invoke(main, list(args), catch_exceptions=False)


def leftovers(folder: Path) -> list[str]:
    return [p.name for p in folder.iterdir() if "partial" in p.name or p.name.startswith(".")]


@pytest.mark.parametrize("fmt", sorted(EXPORTS))
def test_export_is_verified_in_its_own_runtime(tmp_path: Path, fmt: str) -> None:
    name, extra = EXPORTS[fmt]
    out, report, md = tmp_path / name, tmp_path / "r.json", tmp_path / "r.md"
    args = ["convert", PROTO, MODEL, "-o", str(out), *extra]
    result = invoke(*args, "--report", str(report), "--report-md", str(md))
    assert result.exit_code == 0, result.output
    assert out.exists() and (out.is_dir() == (fmt == "savedmodel"))
    assert leftovers(tmp_path) == []
    doc = json.loads(report.read_text())
    jsonschema.validate(doc, json.loads(SCHEMA.read_text()))
    assert doc["passed"] is True
    [entry] = doc["export"]
    assert set(entry) >= ENTRY_KEYS
    assert entry["format"] == fmt and entry["passed"] is True and entry["float16"] is False
    assert entry["path"] == str(out) and entry["select_tf_ops"] == []
    expected_runtime = "tf.lite.Interpreter" if fmt == "tflite" else "tf.saved_model.load"
    assert entry["runtime"] == expected_runtime
    [output] = entry["outputs"]
    keras_row = next(r for r in doc["blobs"] if r["blob"] == "prob")
    assert output["blob"] == "prob" and output["shape"] == keras_row["shape"]
    assert output["allowed_rel"] == keras_row["allowed_rel"]  # the Keras model's bar
    assert 0 <= output["max_rel"] <= output["allowed_rel"] and output["top1"] == 1.0
    assert "### Exported artifacts" in md.read_text()
    assert f"export {fmt} {out}: PASSED" in result.output


def test_failing_export_exits_1_and_writes_nothing(tmp_path: Path, monkeypatch) -> None:
    """An artifact whose runtime computes something else (here: outputs shifted by 1% of their
    scale, after the real runtime ran) fails the check: exit 1, no output, no temporary."""
    from caffe2keras.export import flow, runtime

    def skewed(fmt, artifact, feed):
        done = runtime.run_deployed(fmt, artifact, feed)
        outs = {k: v + 0.01 * np.max(np.abs(v)) for k, v in done.outputs.items()}
        return runtime.Deployed(outs, done.ops)

    monkeypatch.setattr(flow, "run_deployed", skewed)
    out, report = tmp_path / "tiny.tflite", tmp_path / "r.json"
    result = invoke("convert", PROTO, MODEL, "-o", str(out), "--report", str(report))
    assert result.exit_code == 1, result.output
    assert not out.exists() and leftovers(tmp_path) == []
    doc = json.loads(report.read_text())
    assert doc["passed"] is False and doc["exit_code"] == 1
    [entry] = doc["export"]
    assert entry["passed"] is False
    assert entry["outputs"][0]["max_rel"] > entry["outputs"][0]["allowed_rel"]
    assert "did NOT write" in result.output


def test_savedmodel_replaces_an_earlier_export_whole(tmp_path: Path) -> None:
    out = tmp_path / "sm"
    for _ in range(2):
        result = invoke("convert", PROTO, MODEL, "-o", str(out), "--format", "savedmodel", "-q")
        assert result.exit_code == 0, result.output
    assert (out / "saved_model.pb").exists() and leftovers(tmp_path) == []


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["-o", "x.h5", "--tflite-float16"], "--tflite-float16 only applies"),
        (["-o", "{folder}", "--format", "savedmodel"], "holds no SavedModel"),
        (["-o", "{file}", "--format", "savedmodel"], "is a file"),
    ],
)
def test_export_usage_errors(tmp_path: Path, args: list[str], message: str) -> None:
    folder, file = tmp_path / "keep", tmp_path / "keep.txt"
    folder.mkdir()
    (folder / "precious.txt").write_text("x")
    file.write_text("x")
    args = [a.format(folder=folder, file=file) for a in args]
    args = [str(tmp_path / a) if a == "x.h5" else a for a in args]
    result = invoke("convert", PROTO, MODEL, *args)
    assert result.exit_code == 2, result.output
    assert message in result.output
    assert (folder / "precious.txt").exists() and os.listdir(folder) == ["precious.txt"]
