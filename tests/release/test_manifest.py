"""``convert --manifest``: hashes, versions, shapes, preprocessing and the verdict, also as a
section of the JSON and Markdown reports."""

from __future__ import annotations

import hashlib
import json
from pathlib import Path

import jsonschema
from click.testing import CliRunner

from caffe2keras.cli import main

REPO = Path(__file__).resolve().parents[2]
TINY = REPO / "fixtures" / "tiny"
REPORT_SCHEMA = json.loads((REPO / "caffe2keras" / "verify" / "report.schema.json").read_text())


def sha(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def test_manifest_and_report_sections(tmp_path) -> None:
    proto = tmp_path / "tiny.prototxt"
    comment = "#  transform_param { scale: 0.017 mean_value: [104, 117, 123] }\n"
    proto.write_text(comment + (TINY / "tiny.prototxt").read_text())
    out, manifest = tmp_path / "tiny.h5", tmp_path / "manifest.json"
    report, md = tmp_path / "r.json", tmp_path / "r.md"
    args = ["convert", str(proto), str(TINY / "tiny.caffemodel"), "-o", str(out)]
    args += ["--manifest", str(manifest), "--report", str(report), "--report-md", str(md)]
    result = CliRunner().invoke(main, args, catch_exceptions=False)
    assert result.exit_code == 0, result.output
    doc = json.loads(manifest.read_text())
    assert doc["schema_version"] == 1 and "keras" in doc["environment"]["packages"]
    assert doc["environment"]["keras_backend"] == "tensorflow"
    (entry,) = doc["models"]
    assert entry["prototxt"]["sha256"] == sha(proto)
    assert entry["caffemodel"]["sha256"] == sha(TINY / "tiny.caffemodel")
    assert entry["outputs"] == [{"path": str(out), "sha256": sha(out), "bytes": out.stat().st_size}]
    assert entry["input_shapes"] == {"data": [1, 3, 33, 33]}
    assert {h["key"]: h["value"] for h in entry["preprocessing"]} == {
        "scale": 0.017,
        "mean_value": [104.0, 117.0, 123.0],
    }
    verdict = entry["verification"]
    assert verdict["passed"] and verdict["blobs_failed"] == 0 and verdict["culprit"] is None
    assert "seconds" not in json.dumps(entry)  # no timings: the manifest is reproducible
    full = json.loads(report.read_text())
    jsonschema.validate(full, REPORT_SCHEMA)
    assert full["manifest"] == entry
    assert "### Manifest" in md.read_text() and sha(out) in md.read_text()


def test_failed_verification_manifest_lists_no_output(tmp_path) -> None:
    out, manifest = tmp_path / "t.h5", tmp_path / "m.json"
    args = ["convert", str(TINY / "tiny.prototxt"), str(TINY / "tiny.caffemodel"), "-o", str(out)]
    args += ["--rtol", "0", "--noise-factor", "0", "--manifest", str(manifest), "-q"]
    result = CliRunner().invoke(main, args, catch_exceptions=False)
    assert result.exit_code == 1 and not out.exists()
    (entry,) = json.loads(manifest.read_text())["models"]
    assert entry["outputs"] == [] and entry["verification"]["passed"] is False
    assert entry["verification"]["culprit"]


def test_a_manifest_in_a_missing_folder_fails_before_any_work(tmp_path) -> None:
    out, manifest = tmp_path / "t.h5", tmp_path / "nope" / "m.json"
    args = ["convert", str(TINY / "tiny.prototxt"), str(TINY / "tiny.caffemodel"), "-o", str(out)]
    result = CliRunner().invoke(main, [*args, "--manifest", str(manifest)])
    assert result.exit_code == 2, result.output
    assert "manifest" in result.output and "does not exist" in result.output
    assert not out.exists() and not manifest.parent.exists()


def test_manifests_and_reports_leave_no_partial_files(tmp_path) -> None:
    out, manifest, md = tmp_path / "t.h5", tmp_path / "m.json", tmp_path / "r.md"
    args = ["convert", str(TINY / "tiny.prototxt"), str(TINY / "tiny.caffemodel"), "-o", str(out)]
    args += ["--manifest", str(manifest), "--report-md", str(md), "-q"]
    assert CliRunner().invoke(main, args, catch_exceptions=False).exit_code == 0
    assert sorted(p.name for p in tmp_path.iterdir()) == ["m.json", "r.md", "t.h5"]
    assert md.read_text().count("### Manifest") == 1


def test_prefetched_hash_is_the_file_hash(tmp_path) -> None:
    """A hash started in the background is the file's sha256; a changed file is hashed again;
    paths that are no regular file are left to the reader (no error, nothing read)."""
    import os

    from caffe2keras.outputs import manifest

    data = tmp_path / "w.bin"
    data.write_bytes(os.urandom(3 << 20))
    fifo = tmp_path / "pipe"
    os.mkfifo(fifo)
    manifest.prefetch_sha256(data, tmp_path / "missing", fifo, tmp_path)
    assert manifest.sha256(data) == hashlib.sha256(data.read_bytes()).hexdigest()
    data.write_bytes(b"other")
    os.utime(data, ns=(1, 1))  # a new mtime: not the prefetched key
    manifest.prefetch_sha256(data)
    assert manifest.sha256(data) == hashlib.sha256(b"other").hexdigest()
