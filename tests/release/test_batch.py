"""``convert-all``: a model list -> outputs, one combined report, one manifest, a pass/fail gate."""

from __future__ import annotations

import json
from pathlib import Path

import jsonschema
import pytest
from click.testing import CliRunner

from caffe2keras.cli import main
from caffe2keras.convert_all.config import read_model_list
from caffe2keras.errors import UsageError

REPO = Path(__file__).resolve().parents[2]
TINY = REPO / "fixtures" / "tiny"
REPORT_SCHEMA = json.loads((REPO / "caffe2keras" / "verify" / "report.schema.json").read_text())
ZOO = ["lenet", "cifar10_quick", "squeezenet_v1.1", "mobilenet_v2", "cifar10_full"]


def toml_list(entries: list[dict]) -> str:
    """A [[model]] TOML document (values are strings, lists of strings, numbers or tables)."""

    def value(v) -> str:
        if isinstance(v, dict):
            return "{ " + ", ".join(f"{k} = {value(x)}" for k, x in v.items()) + " }"
        if isinstance(v, list):
            return "[" + ", ".join(value(x) for x in v) + "]"
        return json.dumps(v)

    blocks = []
    for entry in entries:
        blocks.append("[[model]]\n" + "".join(f"{k} = {value(v)}\n" for k, v in entry.items()))
    return "\n".join(blocks)


def run(*args: str):
    return CliRunner().invoke(main, ["convert-all", *args], catch_exceptions=False)


def test_tiny_list_with_one_broken_entry(tmp_path) -> None:
    entries = [
        {
            "name": "tiny",
            "prototxt": str(TINY / "tiny.prototxt"),
            "caffemodel": str(TINY / "tiny.caffemodel"),
            "outputs": ["tiny.h5", {"path": "k2/tiny_tf.h5", "format": "keras2-weights"}],
        },
        {
            "name": "tiny-exact",  # broken on purpose: no tolerance at all
            "prototxt": str(TINY / "tiny.prototxt"),
            "caffemodel": str(TINY / "tiny.caffemodel"),
            "outputs": ["exact.h5"],
            "rtol": 0,
            "noise_factor": 0,
        },
    ]
    config = tmp_path / "models.toml"
    config.write_text(toml_list(entries))
    result = run(str(config), "--out-dir", str(tmp_path / "out"))
    assert result.exit_code == 1, result.output
    assert "FAILED (1): tiny-exact" in result.output
    out = tmp_path / "out"
    assert (out / "tiny.h5").is_file() and (out / "k2" / "tiny_tf.h5").is_file()
    assert not (out / "exact.h5").exists()  # verification failed: nothing written
    report = json.loads((out / "report.json").read_text())
    assert report["failed"] == ["tiny-exact"] and report["exit_code"] == 1
    for model in report["models"]:
        jsonschema.validate(model["report"], REPORT_SCHEMA)
    assert "**FAILED**: tiny-exact" in (out / "report.md").read_text()
    manifest = json.loads((out / "manifest.json").read_text())
    first = manifest["models"][0]
    assert [Path(o["path"]).name for o in first["outputs"]] == ["tiny.h5", "tiny_tf.h5"]
    assert first["verification"]["passed"] and first["status"] == "passed"
    assert manifest["models"][1]["status"] == "not equivalent"


def test_json_list_and_validation_errors(tmp_path) -> None:
    good = {
        "name": "a",
        "prototxt": "a.prototxt",
        "caffemodel": "a.caffemodel",
        "outputs": ["a.h5"],
    }
    path = tmp_path / "m.json"
    path.write_text(json.dumps({"out_dir": "o", "defaults": {"rtol": 1e-5}, "models": [good]}))
    listed = read_model_list(path)
    assert listed.out_dir == str(tmp_path / "o")
    assert listed.models[0].options == {"rtol": 1e-5}
    assert listed.models[0].outputs[0].path == str(tmp_path / "o" / "a.h5")
    bad_cases = [
        ({"models": [{**good, "rtoll": 1}]}, "unknown key"),
        ({"models": [{**good, "rtol": "x"}]}, "wrong type"),
        ({"models": [good, good]}, "unique"),
        ({"models": [{**good, "outputs": []}]}, "non-empty"),
        ({"models": [{**good, "outputs": [{"path": "a.h5", "format": "onnx"}]}]}, "format"),
        ({"models": []}, "lists no models"),
    ]
    for doc, message in bad_cases:
        path.write_text(json.dumps(doc))
        with pytest.raises(UsageError, match=message):
            read_model_list(path)
    path.write_text("{not json")
    assert run(str(path)).exit_code == 2


@pytest.mark.slow
def test_five_zoo_models_and_broken_entries_in_parallel(golden_zoo, tmp_path) -> None:
    entries = []
    for name in ZOO:
        g = golden_zoo(name)
        entries.append(
            {
                "name": name,
                "prototxt": str(g.prototxt),
                "caffemodel": str(g.caffemodel),
                "input_shapes": {k: list(v) for k, v in g.input_shapes.items()},
                "outputs": [f"{name}.h5", f"{name}.weights.h5"],
            }
        )
    quick, lenet = golden_zoo("cifar10_quick"), golden_zoo("lenet")
    entries.append({**entries[1], "name": "quick-exact", "rtol": 0, "noise_factor": 0})
    entries[-1]["outputs"] = ["quick-exact.h5"]
    wrong = {"prototxt": str(lenet.prototxt), "caffemodel": str(quick.caffemodel)}
    entries.append({**entries[0], **wrong, "name": "lenet-wrong-weights", "outputs": ["w.h5"]})
    config = tmp_path / "models.toml"
    config.write_text(toml_list(entries))
    out = tmp_path / "out"
    result = run(str(config), "--out-dir", str(out), "--jobs", "2")
    assert result.exit_code == 3, result.output  # the largest exit code: a caffemodel mismatch
    report = json.loads((out / "report.json").read_text())
    assert report["failed"] == ["quick-exact", "lenet-wrong-weights"]
    status = {m["name"]: m["status"] for m in report["models"]}
    assert all(status[name] == "passed" for name in ZOO)
    assert "lenet-wrong-weights" in (out / "report.md").read_text()
    manifest = json.loads((out / "manifest.json").read_text())
    for model in manifest["models"][: len(ZOO)]:
        assert len(model["outputs"]) == 2 and all(len(o["sha256"]) == 64 for o in model["outputs"])
        assert (out / Path(model["outputs"][1]["path"]).name).is_file()
