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
