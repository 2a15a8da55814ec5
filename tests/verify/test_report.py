"""The JSON report validates against the documented schema; the Markdown report is a table."""

from __future__ import annotations

import json
from pathlib import Path

import jsonschema

from caffe2keras import api

TINY = Path(__file__).resolve().parents[2] / "fixtures" / "tiny"
SCHEMA = Path(api.__file__).parent / "verify" / "report.schema.json"


def test_json_report_matches_schema_and_markdown_is_a_table(tmp_path) -> None:
    result = api.convert(TINY / "tiny.prototxt", TINY / "tiny.caffemodel", tmp_path / "o.h5")
    assert result.report is not None
    doc = json.loads(result.report.to_json())
    jsonschema.validate(doc, json.loads(SCHEMA.read_text()))
    md = result.report.to_markdown().splitlines()
    header = next(i for i, line in enumerate(md) if line.startswith("| blob |"))
    assert md[header + 1].startswith("|---")
    rows = [line for line in md[header + 2 :] if line.startswith("| `")]
    assert len(rows) == doc["summary"]["blobs_compared"]
    assert all(row.count("|") == md[header].count("|") for row in rows)


def test_second_opinions_section_matches_schema() -> None:
    """A second opinion (here a stub engine) adds its section, its column and its summary."""
    import numpy as np

    from caffe2keras.keras_model.model import build_model
    from caffe2keras.verify.compare import Tolerance
    from caffe2keras.verify.run import verify_model
    from caffe2keras.verify.second import EngineRun

    net = api.load(TINY / "tiny.prototxt", TINY / "tiny.caffemodel")
    built = build_model(net.keras)
    inputs, info = api.make_inputs(net, api.ConvertOptions())

    def stub(feed):
        from caffe2keras.reference.executor import run_reference

        ref = run_reference(net.reference, feed, np.float32)
        tops = [t for layer in net.reference.layers for t in layer.tops]
        return EngineRun("stub 1.0", blobs={t: ref[t] for t in tops}, gaps={"prob": "stub gap"})

    report = verify_model(
        net,
        built.model,
        built.blob_layers,
        inputs,
        tolerance=Tolerance(),
        inputs_info=info,
        second_opinions={"stub": stub},
    )
    doc = json.loads(report.to_json())
    jsonschema.validate(doc, json.loads(SCHEMA.read_text()))
    section = doc["second_opinions"]["stub"]
    assert section["engine"] == "stub 1.0" and section["error"] is None
    assert section["blobs_compared"] == len(net.reference.layers)
    assert [b["known_gap"] for b in section["blobs"] if b["blob"] == "prob"] == ["stub gap"]
    md = report.to_markdown().splitlines()
    header = next(i for i, line in enumerate(md) if line.startswith("| blob |"))
    assert md[header].endswith("| stub rel |")
    rows = [line for line in md[header + 2 :] if line.startswith("| `")]
    assert all(row.count("|") == md[header].count("|") for row in rows)
    assert "second opinion stub (stub 1.0)" in report.to_text()
