"""The HTML report of the tiny net: its content, self-containment, provenance, the Markdown
summary, the export section, image inputs' top-5 classes and the missing-extra error."""

from __future__ import annotations

import hashlib
import json
import re
import sys
from pathlib import Path

import jsonschema
import pytest
from click.testing import CliRunner

from caffe2keras.cli import main

REPO = Path(__file__).resolve().parents[2]
TINY = REPO / "fixtures" / "tiny"
SCHEMA = json.loads((REPO / "caffe2keras" / "verify" / "report.schema.json").read_text())
URL = re.compile(r"https?://")
# an attribute that loads something: any value but a same-document #fragment
FETCHING = re.compile(r"""\b(src|href|action|data|poster)\s*=\s*["']?(?![#"'])""", re.I)

pytest.importorskip("matplotlib")


def convert(tmp_path: Path, *extra: str, code: int = 0) -> dict[str, Path]:
    files = {k: tmp_path / f"tiny.{k}" for k in ("html", "json", "md")}
    args = ["convert", str(TINY / "tiny.prototxt"), str(TINY / "tiny.caffemodel")]
    args += ["-o", str(tmp_path / "tiny.h5"), "--report-html", str(files["html"])]
    args += ["--report", str(files["json"]), "--report-md", str(files["md"]), *extra]
    result = CliRunner().invoke(main, args)
    assert result.exit_code == code, result.output
    assert f"wrote report {files['html']}" in result.output
    return files


def assert_self_contained(html: str) -> None:
    """Nothing to fetch: no URL, no attribute that loads anything, a CSP forbidding fetches."""
    assert not URL.search(html), URL.search(html)
    assert not FETCHING.search(html), FETCHING.search(html)
    assert "default-src 'none'" in html
    assert "<script" not in html and "@import" not in html
    assert not re.search(r"url\(\s*['\"]?(?!#)", html)  # clip paths: url(#id), same document


def test_passing_page(tmp_path) -> None:
    files = convert(tmp_path)
    html = files["html"].read_text()
    doc = json.loads(files["json"].read_text())
    jsonschema.validate(doc, SCHEMA)
    assert_self_contained(html)
    assert '<section id="verdict" class="banner pass"><h1>EQUIVALENT</h1>' in html
    assert '<svg id="error-plot"' in html and "Keras vs reference" in html
    # every blob in the table, worst first, with its topological position
    table = html[html.index('<table class="blobs">') :]
    cells = re.findall(r"<tr><td>(\d+)</td><td><code>([^<]+)</code>", table)
    assert sorted(int(i) for i, _ in cells) == list(range(len(doc["blobs"])))
    assert [b for _, b in cells] == [
        b["blob"] for b in sorted(doc["blobs"], key=lambda r: -r["max_rel"])
    ]
    assert "BatchNorm+Scale" in table and "conv1/bn+conv1/scale" in table
    # provenance: sha256 computed here, independently of the code under test
    for name in ("tiny.prototxt", "tiny.caffemodel"):
        digest = hashlib.sha256((TINY / name).read_bytes()).hexdigest()
        assert digest in html
    roles = {f["role"]: f for f in doc["files"]}
    assert (
        roles["output"]["sha256"] == hashlib.sha256((tmp_path / "tiny.h5").read_bytes()).hexdigest()
    )
    packages = doc["environment"]["packages"]
    for name in ("caffe2keras", "keras", "numpy"):
        assert f"<td>{name}</td><td>{packages[name]}</td>" in html
    assert "random normal" in html and "<td>seed</td><td>0</td>" in html


def test_failing_page_names_the_culprit(tmp_path, monkeypatch) -> None:
    import numpy as np

    from caffe2keras.passes import fuse_bn_scale

    def raw(layer):  # the BatchNorm's moving-average factor ignored, as test_sabotage does
        return (np.asarray(layer.blobs[0]).ravel(), np.asarray(layer.blobs[1]).ravel())

    monkeypatch.setattr(fuse_bn_scale, "bn_statistics", raw)
    files = convert(tmp_path, code=1)
    html = files["html"].read_text()
    assert_self_contained(html)
    assert 'class="banner fail"><h1>NOT EQUIVALENT</h1>' in html and "exit code 1" in html
    assert '<b id="culprit">conv1/bn+conv1/scale</b>' in html
    assert "culprit: conv1/bn+conv1/scale (BatchNorm+Scale)" in html  # labelled on the plot
    assert "failing blobs (" in html
    md = files["md"].read_text().splitlines()
    assert md[0].endswith("**FAILED**")
    block = "\n".join(md[: next(i for i, line in enumerate(md) if line.startswith("| blob |"))])
    assert "- **Culprit** (first failing blob in topological order): layer " in block
    assert "`conv1/bn+conv1/scale`" in block and "- **Inputs**: random normal; seed 0" in block


def test_verify_page_lists_the_model_checked(tmp_path) -> None:
    convert(tmp_path)
    page = tmp_path / "v.html"
    args = ["verify", str(TINY / "tiny.prototxt"), str(TINY / "tiny.caffemodel")]
    args += [str(tmp_path / "tiny.h5"), "--report-html", str(page), "-q"]
    result = CliRunner().invoke(main, args)
    assert result.exit_code == 0, result.output
    html = page.read_text()
    assert "<td>model</td><td><code>tiny.h5</code></td>" in html
    assert hashlib.sha256((tmp_path / "tiny.h5").read_bytes()).hexdigest() in html


def test_image_inputs_show_top5_classes_side_by_side(tmp_path) -> None:
    import numpy as np
    from PIL import Image

    rng = np.random.default_rng(3)
    images = []
    for i in range(2):
        images.append(tmp_path / f"img{i}.png")
        Image.fromarray(rng.integers(0, 256, (40, 50, 3), dtype=np.uint8)).save(images[-1])
    extra = [a for p in images for a in ("--image", str(p))]
    files = convert(tmp_path, *extra, "--mean", "100,110,120", "--scale", "0.02")
    doc = json.loads(files["json"].read_text())
    jsonschema.validate(doc, SCHEMA)
    html = files["html"].read_text()
    assert [(c["blob"], c["sample"]) for c in doc["classes"]] == [("prob", 0), ("prob", 1)]
    for entry in doc["classes"]:
        ref = [i for i, _ in entry["reference"]]
        assert ref == [i for i, _ in entry["keras"]] and len(ref) == 5
        scores = [s for _, s in entry["reference"]]
        assert scores == sorted(scores, reverse=True)
    assert "<h2>Top-5 classes</h2>" in html and "<h3>img1.png: blob <code>prob</code></h3>" in html
    for value in ("<td>preprocessing: mean</td><td>100, 110, 120</td>", "preprocessing: scale"):
        assert value in html
    md = files["md"].read_text()
    assert "mean 100,110,120; scale 0.02" in md and "`img0.png`, `img1.png`" in md


EXPORT = [
    {
        "format": "tflite",
        "path": "out/model.tflite",
        "runtime": "tf.lite.Interpreter",
        "float16": False,
        "passed": False,
        "seconds": 3.2,
        "bytes": 13456789,
        "select_tf_ops": [
            {"layer": "detection_out", "type": "DetectionOutput", "ops": ["FlexTopKV2"]}
        ],
        "outputs": [
            {
                "blob": "prob",
                "shape": [2, 10],
                "max_abs": 1.1e-7,
                "max_rel": 3.0e-7,
                "allowed_rel": 1e-4,
                "top1": 1.0,
                "top5": 1.0,
                "passed": True,
            },
            {
                "blob": "fc",
                "shape": [2, 10],
                "max_abs": 0.5,
                "max_rel": 0.25,
                "allowed_rel": 1e-4,
                "top1": 0.5,
                "top5": 0.5,
                "passed": False,
            },
        ],
        "bar": "the float32 bar of the Keras model's output blobs",
    }
]


def test_export_section_when_present_and_only_then(tmp_path) -> None:
    from caffe2keras import api
    from caffe2keras.report_html.page import model_page

    result = api.convert(TINY / "tiny.prototxt", TINY / "tiny.caffemodel", tmp_path / "o.h5")
    report = result.report
    assert report is not None
    assert "Exported artifacts" not in model_page(report.to_dict())
    assert "Exported artifacts" not in report.to_markdown()
    report.extra["export"] = EXPORT
    html = model_page(report.to_dict())
    section = html[html.index("<h2>Exported artifacts</h2>") :]
    rows = re.findall(r"<tr><td>tflite</td>.*?</tr>", section)
    assert len(rows) == 2 and "<code>prob</code>" in rows[0] and 'class="no">no' in rows[1]
    assert "<code>detection_out</code> (DetectionOutput) needs SELECT_TF_OPS: FlexTopKV2" in section
    md = report.to_markdown()
    table = md[md.index("### Exported artifacts") :].splitlines()
    assert sum(line.startswith("| tflite |") for line in table) == 2
    assert any(
        "`detection_out` (DetectionOutput) needs SELECT_TF_OPS: FlexTopKV2" in s for s in table
    )


def test_missing_matplotlib_is_a_usage_error_before_any_work(tmp_path, monkeypatch) -> None:
    for name in [m for m in sys.modules if m == "matplotlib" or m.startswith("matplotlib.")]:
        monkeypatch.delitem(sys.modules, name)
    monkeypatch.setitem(sys.modules, "matplotlib", None)  # import matplotlib -> ImportError
    out = tmp_path / "tiny.h5"
    args = ["convert", str(TINY / "tiny.prototxt"), str(TINY / "tiny.caffemodel"), "-o", str(out)]
    result = CliRunner().invoke(main, [*args, "--report-html", str(tmp_path / "r.html")])
    assert result.exit_code == 2, result.output
    assert "pip install 'caffe2keras[report]'" in result.output
    assert not out.exists() and not (tmp_path / "r.html").exists()
