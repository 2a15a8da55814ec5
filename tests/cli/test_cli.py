"""The command line: exit codes, messages, outputs, and no TensorFlow import for --help."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import h5py
import numpy as np
from click.testing import CliRunner

from caffe2keras.cli import main

REPO = Path(__file__).resolve().parents[2]
TINY = REPO / "fixtures" / "tiny"
PROTO, MODEL = str(TINY / "tiny.prototxt"), str(TINY / "tiny.caffemodel")


def invoke(*args: str):
    return CliRunner().invoke(main, list(args), catch_exceptions=False)


def test_help_does_not_import_tensorflow() -> None:
    code = (
        "import sys\nfrom click.testing import CliRunner\nfrom caffe2keras.cli import main\n"
        "r = CliRunner().invoke(main, ['--help'])\nassert r.exit_code == 0, r.output\n"
        "assert 'convert' in r.output\n"
        "bad = [m for m in ('tensorflow', 'keras') if m in sys.modules]\n"
        "assert not bad, bad\n"
    )
    subprocess.run([sys.executable, "-c", code], check=True)


def test_convert_fixture_writes_model_and_report(tmp_path) -> None:
    out, report = tmp_path / "tiny.h5", tmp_path / "r.json"
    result = invoke(
        "convert",
        PROTO,
        MODEL,
        "-o",
        str(out),
        "--report",
        str(report),
        "--report-md",
        str(tmp_path / "r.md"),
    )
    assert result.exit_code == 0, result.output
    assert "1 BatchNorm+Scale pair fused" in result.output and "EQUIVALENT" in result.output
    assert out.exists()
    doc = json.loads(report.read_text())
    assert doc["passed"] is True and doc["exit_code"] == 0
    assert doc["summary"]["blobs_compared"] >= 9 and doc["culprit"] is None
    assert (tmp_path / "r.md").read_text().count("\n| `") >= 9
    leftovers = [p.name for p in tmp_path.iterdir() if "partial" in p.name]
    assert not leftovers


def test_unsupported_layers_listed_together(tmp_path) -> None:
    text = Path(PROTO).read_text() + "".join(
        f'layer {{ name: "x{i}" type: "{t}" bottom: "prob" top: "x{i}" }}\n'
        for i, t in enumerate(["Frobnicate", "Zorp", "Frobnicate", "Quux"])
    )
    proto = tmp_path / "net.prototxt"
    proto.write_text(text)
    out = tmp_path / "o.h5"
    result = invoke("convert", str(proto), MODEL, "-o", str(out))
    assert result.exit_code == 4
    for t in ("Frobnicate", "Zorp", "Quux", "'x0'", "'x2'"):
        assert t in result.output
    assert not out.exists()


def test_syntax_error_names_file_line_and_field(tmp_path) -> None:
    proto = tmp_path / "bad.prototxt"
    proto.write_text('name: "n"\nlayer {\n  name: "a"\n  bogus_field: 3\n}\n')
    result = invoke("convert", str(proto), MODEL, "-o", str(tmp_path / "o.h5"))
    assert result.exit_code == 3
    assert f"{proto}:4:" in result.output and "bogus_field" in result.output


def test_bad_output_suffix_is_a_usage_error(tmp_path) -> None:
    result = invoke("convert", PROTO, MODEL, "-o", str(tmp_path / "o.txt"))
    assert result.exit_code == 2 and ".weights.h5" in result.output


def test_verify_flags_a_sabotaged_layer(tmp_path) -> None:
    out = tmp_path / "tiny.weights.h5"
    assert invoke("convert", PROTO, MODEL, "-o", str(out)).exit_code == 0
    with h5py.File(out, "a") as f:
        names: list[str] = []
        f.visititems(lambda n, o: names.append(n) if isinstance(o, h5py.Dataset) else None)
        kernel = next(n for n in names if f[n].shape == (3, 3, 8, 4))  # conv2's kernel
        f[kernel][...] = np.asarray(f[kernel]) * 1.01
    report = tmp_path / "r.json"
    result = invoke("verify", PROTO, MODEL, str(out), "--report", str(report))
    assert result.exit_code == 1, result.output
    doc = json.loads(report.read_text())
    assert doc["culprit"]["layer"] == "conv2"
    assert "likely culprit: layer 'conv2'" in result.output


def test_running_out_of_memory_is_a_clear_error_and_writes_nothing(tmp_path, monkeypatch) -> None:
    from caffe2keras import api

    class ResourceExhaustedError(Exception):  # TensorFlow's OOM, recognised by name
        pass

    out = tmp_path / "t.h5"
    for exc in (MemoryError(), ResourceExhaustedError("OOM when allocating tensor")):

        def fail(*args, exc=exc, **kwargs):
            raise exc

        monkeypatch.setattr(api, "_verify_built", fail)
        result = invoke("convert", PROTO, MODEL, "-o", str(out))
        assert result.exit_code == 71, result.output
        assert "out of memory" in result.output and "Traceback" not in result.output
        assert list(tmp_path.iterdir()) == []
