"""``--tflite-float16`` on LeNet (real trained weights): half the bytes, an error that is measured
(not zero) and held to the float16 bar, derived from the Keras row's measured float32 noise."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
from click.testing import CliRunner

from caffe2keras import api
from caffe2keras.cli import main


def test_float16_tflite_measured_against_its_own_bar(golden_zoo, tmp_path: Path) -> None:
    g = golden_zoo("lenet")
    npy = tmp_path / "x.npy"
    np.save(npy, g.inputs["data"])
    out, report = tmp_path / "lenet16.tflite", tmp_path / "r.json"
    args = ["convert", str(g.prototxt), str(g.caffemodel), "-o", str(out), "--tflite-float16"]
    args += ["--input", f"data={npy}", "--input-shape", "data=2,1,28,28", "--report", str(report)]
    result = CliRunner().invoke(main, args)
    assert result.exit_code == 0, result.output
    doc = json.loads(report.read_text())
    [entry] = doc["export"]
    assert entry["float16"] is True and entry["passed"] is True
    [o] = entry["outputs"]
    row = next(r for r in doc["blobs"] if r["blob"] == o["blob"])
    bar = max(row["allowed_rel"], 8 * 2.0**-11, 4 * row["noise"] * 2.0**13)
    assert o["allowed_rel"] == bar and o["allowed_rel"] > row["allowed_rel"]
    assert 0 < o["max_rel"] <= bar  # the float16 rounding shows, within its bar
    assert o["top1"] == 1.0
    params = sum(
        b.size for layer in api.load(g.prototxt, g.caffemodel).reference.layers for b in layer.blobs
    )
    assert 2 * params <= entry["bytes"] < 2.2 * params  # float16: 2 bytes per weight
    assert out.stat().st_size == entry["bytes"]
