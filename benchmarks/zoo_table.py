"""Convert every zoo model in ../shared/golden/zoo and tabulate errors against real Caffe.

For each model: generate its weights (../shared/tools/make_caffemodel.py, or the given LeNet
weights), convert with caffe2keras to .h5, load the file back with keras.models.load_model
(safe mode), feed the golden input and report the relative L-inf error of every output blob and
the worst intermediate blob, the number of BatchNormalization layers, the conversion wall time
(including the built-in verification) and its verdict.

Usage: python benchmarks/zoo_table.py [MODEL ...] [--work DIR]
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

SHARED = Path(__file__).resolve().parents[2] / "shared"


def caffemodel_for(model: str, work: Path) -> Path:
    meta = json.loads((SHARED / "golden" / "zoo" / model / "meta.json").read_text())
    if meta.get("weights") == "given":
        return SHARED / "zoo" / f"{model}_iter_10000.caffemodel"
    out = work / f"{model}.caffemodel"
    if not out.exists():
        manifest = SHARED / "golden" / "zoo" / model / "manifest.json"
        tool = SHARED / "tools" / "make_caffemodel.py"
        subprocess.run([sys.executable, str(tool), str(manifest), str(out)], check=True)
    return out


def rel(a: np.ndarray, b: np.ndarray) -> float:
    return float(np.max(np.abs(a - b)) / np.max(np.abs(b)))


def row(model: str, work: Path) -> dict:
    import keras

    from caffe2keras import api
    from caffe2keras.keras_model.model import build_model
    from caffe2keras.verify.run import probe_keras

    root = SHARED / "golden" / "zoo" / model
    meta = json.loads((root / "meta.json").read_text())
    with np.load(root / "golden.npz") as z:
        inputs = {k[6:]: z[k] for k in z.files if k.startswith("input/")}
        blobs = {k[5:]: z[k] for k in z.files if k.startswith("blob/")}
    shapes = {k: v.shape for k, v in inputs.items()}
    options = api.ConvertOptions(input_shapes=shapes)
    caffemodel = caffemodel_for(model, work)
    start = time.perf_counter()
    result = api.convert(root / "net.prototxt", caffemodel, work / f"{model}.h5", options)
    seconds = time.perf_counter() - start
    net = api.load(root / "net.prototxt", caffemodel, options)
    built = build_model(net.keras)
    loaded = keras.models.load_model(work / f"{model}.h5", safe_mode=True, compile=False)
    wanted = {b: n for b, n in built.blob_layers.items() if b in blobs}
    got = probe_keras(loaded, wanted, inputs, net.keras)
    outs = meta["outputs"]
    tol = max(5e-5, 10 * meta["noise_floor"])
    inner = [b for b in blobs if b not in outs]
    return {
        "model": model,
        "output_err": max(rel(got[b], blobs[b]) for b in outs),
        "inner_err": max((rel(got[b], blobs[b]) for b in inner), default=0.0),
        "tolerance": tol,
        "bn": sum(type(layer).__name__ == "BatchNormalization" for layer in loaded.layers),
        "seconds": seconds,
        "verified": result.report.passed if result.report else None,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("models", nargs="*")
    parser.add_argument("--work", type=Path, default=None)
    args = parser.parse_args()
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
    models = args.models or sorted(p.name for p in (SHARED / "golden" / "zoo").iterdir())
    work = args.work or Path(tempfile.mkdtemp(prefix="c2k_zoo_"))
    print(
        "| model | output rel L-inf | worst intermediate | zoo bar | BN layers | convert+verify s "
        "| verify |"
    )
    print("|---|---:|---:|---:|---:|---:|---|")
    for model in models:
        r = row(model, work)
        print(
            f"| {r['model']} | {r['output_err']:.2e} | {r['inner_err']:.2e} | "
            f"{r['tolerance']:.1e} | {r['bn']} | {r['seconds']:.1f} | "
            f"{'pass' if r['verified'] else 'FAIL'} |",
            flush=True,
        )


if __name__ == "__main__":
    main()
