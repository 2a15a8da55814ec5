"""One set of numbers (issue 11, part 6): ``inspect``, ``convert`` and ``verify`` print the same
labelled counts, checked against numbers derived here from the prototxt text and a protobuf parse
of the caffemodel (not from the converter's own reader or passes)."""

from __future__ import annotations

import json
import math
import re
from pathlib import Path

import pytest
from click.testing import CliRunner
from conftest import SHARED, shared_or_skip

from caffe2keras._proto import caffe_pb2
from caffe2keras.cli import main

REPO = Path(__file__).resolve().parents[2]
TINY = REPO / "fixtures" / "tiny"
DENSENET = SHARED / "golden" / "zoo" / "densenet121" / "net.prototxt"
REMOVED = ("Split", "Dropout", "Silence")


def invoke(*args: str):
    return CliRunner().invoke(main, list(args), catch_exceptions=False)


def text_layers(text: str) -> list[tuple[str, int]]:
    """(type, number of tops) of every layer block, read with regular expressions."""
    blocks = re.split(r"(?m)^\s*layer\s*\{", text)[1:]
    out = []
    for block in blocks:
        ltype = re.search(r'\btype:\s*"(\w+)"', block)
        assert ltype is not None, block[:80]
        out.append((ltype.group(1), len(re.findall(r'\btop:\s*"', block))))
    return out


def expected_counts(text: str, caffemodel: Path) -> dict[str, int]:
    """Every number the three commands print, derived from the files alone."""
    layers = [(t, tops) for t, tops in text_layers(text) if t != "Input"]
    declared_inputs = len(re.findall(r'(?m)^input:\s*"', text))
    inputs = declared_inputs + sum(tops for t, tops in text_layers(text) if t == "Input")
    types = [t for t, _ in layers]
    fusions = types.count("BatchNorm")
    assert types.count("Scale") >= fusions  # every BatchNorm is followed by its Scale here
    removed = sum(types.count(t) for t in REMOVED)
    nodes = len(layers) - removed - fusions
    # removed layers' tops are aliases, not compared; a fused BatchNorm's own top is gone
    tops = sum(n for t, n in layers if t not in REMOVED) - fusions
    model = caffe_pb2.NetParameter()
    model.ParseFromString(caffemodel.read_bytes())
    blocks = re.split(r"(?m)^\s*layer\s*\{", text)[1:]
    wanted = {m.group(1) for b in blocks if (m := re.search(r'\bname:\s*"([^"]+)"', b))}
    params = factors = 0
    for layer in model.layer:
        if layer.name not in wanted:
            continue
        sizes = [math.prod(b.shape.dim) if b.shape.dim else len(b.data) for b in layer.blobs]
        params += sum(sizes)
        if layer.type == "BatchNorm":
            factors += sizes[2]
    return {
        "caffe_layers": len(layers),
        "fusions": fusions,
        "removed": removed,
        "nodes": nodes,
        "inputs": inputs,
        "blobs": inputs + tops,
        "parameters": params,
        "bn_factors": factors,
    }


def _plural(n: int, noun: str) -> str:
    return f"{n:,} {noun}" + ("" if n == 1 else "s")


def layers_line(e: dict[str, int]) -> str:
    how = f"{_plural(e['fusions'], 'BatchNorm+Scale pair')} fused"
    if e["removed"]:
        how += f", {_plural(e['removed'], 'Split/Dropout/Silence layer')} removed"
    return f"{e['caffe_layers']} Caffe layers -> {e['nodes']} converter nodes ({how})"


def blobs_line(e: dict[str, int]) -> str:
    return (
        f"{e['blobs']} blobs (the {_plural(e['inputs'], 'input')} and the tops of the "
        f"{e['nodes']} converter nodes)"
    )


def params_line(e: dict[str, int]) -> str:
    word = "factor" if e["bn_factors"] == 1 else "factors"
    return (
        f"{e['parameters']:,} parameters in learned blobs ({e['bn_factors']:,} of them "
        f"BatchNorm moving-average {word}"
    )


def test_densenet121_inspect_counts(golden_zoo) -> None:
    shared_or_skip()
    g = golden_zoo("densenet121")
    e = expected_counts(DENSENET.read_text(), g.caffemodel)
    # the numbers: 547 layers, 121 pairs, 427 blobs, 8,062,625 = 8,062,504 + 121
    assert (e["caffe_layers"], e["fusions"], e["blobs"]) == (547, 121, 427)
    assert (e["parameters"], e["bn_factors"]) == (8_062_625, 121)
    result = invoke("inspect", str(DENSENET), str(g.caffemodel))
    assert result.exit_code == 0, result.output
    for line in (layers_line(e), f"to verify: {blobs_line(e)}", params_line(e)):
        assert line in result.output
    doc = invoke("inspect", str(DENSENET), str(g.caffemodel), "--json")
    totals = json.loads(doc.output)["totals"]
    assert (totals["layers"], totals["converter_nodes"], totals["blobs"]) == (
        e["caffe_layers"],
        e["nodes"],
        e["blobs"],
    )
    assert (totals["parameters"], totals["bn_factors"]) == (e["parameters"], e["bn_factors"])


@pytest.mark.slow
def test_densenet121_convert_counts_match_inspect(golden_zoo, tmp_path) -> None:
    g = golden_zoo("densenet121")
    e = expected_counts(DENSENET.read_text(), g.caffemodel)
    out = tmp_path / "d.weights.h5"
    result = invoke("convert", str(DENSENET), str(g.caffemodel), "-o", str(out), "--no-verify")
    assert result.exit_code == 0, result.output
    assert f"converted {layers_line(e)} -> " in result.output
    assert params_line(e) in result.output
    # every BatchNorm is fused with its Scale: Keras holds gamma, beta, mean, variance (4 C)
    # where Caffe holds mean, variance, factor (2 C + 1) and gamma, beta (2 C)
    keras = e["parameters"] - e["bn_factors"]
    assert f"-> {keras:,} parameters in the Keras model" in result.output


def test_tiny_with_dropout_counts_agree_across_commands(tmp_path) -> None:
    text = (TINY / "tiny.prototxt").read_text()
    text += 'layer { name: "drop" type: "Dropout" bottom: "fc" top: "fc" }\n'
    proto = tmp_path / "drop.prototxt"
    proto.write_text(text)
    model = TINY / "tiny.caffemodel"
    e = expected_counts(text, model)
    assert e["removed"] == 1 and e["fusions"] == 1
    ins = invoke("inspect", str(proto), str(model))
    assert ins.exit_code == 0, ins.output
    assert layers_line(e) in ins.output and blobs_line(e) in ins.output
    assert params_line(e) in ins.output
    out, report = tmp_path / "t.h5", tmp_path / "r.json"
    conv = invoke("convert", str(proto), str(model), "-o", str(out), "--report", str(report))
    assert conv.exit_code == 0, conv.output
    assert f"converted {layers_line(e)} -> " in conv.output and params_line(e) in conv.output
    assert f"EQUIVALENT: {blobs_line(e)} compared" in conv.output
    assert f"wrote report {report}" in conv.output
    md = tmp_path / "r.md"
    ver = invoke("verify", str(proto), str(model), str(out), "--report-md", str(md))
    assert ver.exit_code == 0, ver.output
    assert f"EQUIVALENT: {blobs_line(e)} compared" in ver.output
    assert f"wrote report {md}" in ver.output and md.exists()
    assert f"all {e['blobs']} blobs, worst first:" in ver.output


def test_report_table_says_how_many_blobs_it_leaves_out() -> None:
    from caffe2keras.verify.compare import BlobComparison, Tolerance
    from caffe2keras.verify.report import Report

    rows = [
        BlobComparison(
            blob=f"b{i}",
            layer="data" if i == 0 else f"l{i}",
            layer_type="Input" if i == 0 else "ReLU",
            shape=(1,),
            max_abs=i * 1e-7,
            max_rel=i * 1e-7,
            mean_abs=0.0,
            cosine=1.0,
            ref_max=1.0,
            noise=0.0,
            allowed_rel=1e-4,
            top1=None,
            top5=None,
            passed=True,
            is_output=i == 19,
        )
        for i in range(20)
    ]
    text = Report(model="m", rows=tuple(rows), tolerance=Tolerance(), inputs={}, reference="r")
    out = text.to_text(limit=12)
    assert "the 12 worst of 20 blobs" in out
    assert "20 blobs (the 1 input and the tops of the 19 converter nodes)" in out
