"""Export every zoo golden to TFLite and SavedModel through the CLI and check both against real
Caffe.

For each model in ../shared/golden/zoo: generate its weights (as zoo_table.py does), run
``caffe2keras convert`` twice on the golden input (``--input``): ``-o MODEL.tflite`` and
``-o MODEL_savedmodel --format savedmodel``. Each run verifies its artifact in its own runtime
against the numpy reference (the ``export`` section of its JSON report: the CLI's verdict and the
artifact's error against the reference). Then the written artifact is run again in a fresh
process (caffe2keras.export.runtime: caffe2keras blocked) on the golden input and compared with
the golden computed by real Caffe: relative L-inf error per output, held to the zoo bar
max(5e-5, 10 x noise_floor); MobileNet-SSD's detections by the fraction of rows matched one to
one. Also: the Flex ops (SELECT_TF_OPS) in each TFLite file, sizes and CLI wall times.

Usage: python benchmarks/export_zoo.py [MODEL ...] [--work DIR] [--json OUT]
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
from zoo_table import SHARED, caffemodel_for

FORMATS = {
    "tflite": ("{m}.tflite", []),
    "savedmodel": ("{m}_savedmodel", ["--format", "savedmodel"]),
}


def golden_of(model: str) -> tuple[Path, dict, dict, dict]:
    root = SHARED / "golden" / "zoo" / model
    meta = json.loads((root / "meta.json").read_text())
    with np.load(root / "golden.npz") as z:
        inputs = {k[6:]: z[k] for k in z.files if k.startswith("input/")}
        blobs = {k[5:]: z[k] for k in z.files if k.startswith("blob/")}
    return root, meta, inputs, blobs


def cli(model: str, fmt: str, work: Path) -> tuple[int, float, dict, Path]:
    """Run the CLI export; (exit code, seconds, JSON report, artifact path)."""
    root, _, inputs, _ = golden_of(model)
    args = []
    for name, value in inputs.items():
        npy = work / f"{model}.{name}.npy"
        np.save(npy, value)
        args += [
            "--input",
            f"{name}={npy}",
            "--input-shape",
            f"{name}={','.join(map(str, value.shape))}",
        ]
    name, extra = FORMATS[fmt]
    out = work / name.format(m=model)
    report = work / f"{model}.{fmt}.json"
    command = [
        sys.executable,
        "-m",
        "caffe2keras.cli",
        "convert",
        str(root / "net.prototxt"),
        str(caffemodel_for(model, work)),
        "-o",
        str(out),
        *extra,
        *args,
        "--report",
        str(report),
        "-q",
    ]
    start = time.perf_counter()
    done = subprocess.run(command, capture_output=True, text=True, check=False)
    seconds = time.perf_counter() - start
    if done.returncode != 0:
        print(done.stdout[-2000:], done.stderr[-2000:], file=sys.stderr)
    doc = json.loads(report.read_text()) if report.exists() else {}
    return done.returncode, seconds, doc, out


def against_golden(model: str, fmt: str, artifact: Path, work: Path) -> dict:
    """The artifact run on the golden input in a fresh process, compared with real Caffe."""
    from caffe2keras import api
    from caffe2keras.export.check import caffe_outputs
    from caffe2keras.export.runtime import run_deployed
    from caffe2keras.ir.layouts import layout_kinds
    from caffe2keras.keras_model.registry import sanitize
    from caffe2keras.layout import CAFFE, to_keras
    from caffe2keras.verify.detections import match_detections

    root, meta, inputs, blobs = golden_of(model)
    shapes = {k: v.shape for k, v in inputs.items()}
    net = api.load(
        root / "net.prototxt", caffemodel_for(model, work), api.ConvertOptions(input_shapes=shapes)
    )
    layouts = layout_kinds(net.keras)
    feed = {
        sanitize(s.name): to_keras(inputs[net.keras.caffe_name(s.name)], layouts.get(s.name, CAFFE))
        for s in net.keras.inputs
    }
    deployed = run_deployed(fmt, artifact, feed)
    if deployed.error:
        return {"error": deployed.error}
    got = caffe_outputs(net, deployed.outputs)
    bar = max(5e-5, 10 * float(meta.get("noise_floor", 0.0)))
    out = {"bar": bar, "flex": [op for op in deployed.ops if op.startswith("Flex")], "outputs": {}}
    for blob in meta["outputs"]:
        ref = blobs[blob]
        if blob == "detection_out":
            found = match_detections(got[blob], ref, 1e-4)
            out["outputs"][blob] = {"rows_matched": found.fraction}
            continue
        err = float(np.max(np.abs(got[blob] - ref)) / np.max(np.abs(ref)))
        out["outputs"][blob] = {"rel": err, "within": err <= bar}
    return out


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("models", nargs="*")
    parser.add_argument("--work", type=Path)
    parser.add_argument("--json", type=Path)
    args = parser.parse_args()
    models = args.models or sorted(p.name for p in (SHARED / "golden" / "zoo").iterdir())
    work = args.work or Path(tempfile.mkdtemp(prefix="export-zoo-"))
    work.mkdir(parents=True, exist_ok=True)
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
    rows = []
    print(
        "| model | format | CLI exit | vs reference (max rel / allowed) "
        "| vs real Caffe (rel L-inf, bar) | Flex ops | MB | CLI s |"
    )
    print("|---|---|---:|---|---|---|---:|---:|")
    for model in models:
        for fmt in FORMATS:
            code, seconds, doc, artifact = cli(model, fmt, work)
            entry = (doc.get("export") or [{}])[0]
            ref = "; ".join(
                f"{o['blob']} {o.get('max_rel', np.nan):.2g}/{o.get('allowed_rel', np.nan):.2g}"
                + (
                    f" rows {o.get('rows_matched_own_inputs', 0):.1%} own bottoms"
                    if "rows_matched" in o
                    else ""
                )
                for o in entry.get("outputs", [])
            ) or entry.get("error", "no report")
            gold = (
                against_golden(model, fmt, artifact, work)
                if artifact.exists()
                else {"error": "not written"}
            )
            if "error" in gold:
                gtext = gold["error"][:120]
            else:
                gtext = (
                    "; ".join(
                        f"{b} rows matched {v['rows_matched']:.1%}"
                        if "rows_matched" in v
                        else f"{b} {v['rel']:.2g}{'' if v['within'] else ' OVER'}"
                        for b, v in gold["outputs"].items()
                    )
                    + f" (bar {gold['bar']:.2g})"
                )
            flex = ", ".join(gold.get("flex", [])) or ("none" if fmt == "tflite" else "-")
            size = entry.get("bytes", 0) / 1e6
            print(
                f"| {model} | {fmt} | {code} | {ref} | {gtext} | {flex} | {size:.1f} "
                f"| {seconds:.0f} |",
                flush=True,
            )
            rows.append(
                {
                    "model": model,
                    "format": fmt,
                    "exit": code,
                    "seconds": seconds,
                    "export": entry,
                    "golden": gold,
                }
            )
            if artifact.is_dir():
                import shutil

                shutil.rmtree(artifact)
            elif artifact.exists():
                artifact.unlink()
    if args.json:
        args.json.write_text(json.dumps(rows, indent=1))
    return 0


if __name__ == "__main__":
    sys.exit(main())
