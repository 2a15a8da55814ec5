"""``--tflite-float16`` against float32 TFLite on MobileNet v1/v2 and SqueezeNet v1.1.

Three 256x256 images made with Pillow (a disc, a gradient, a checkerboard) are the verification
inputs (``--image``, the nets' published means and scales). Each model is converted through the
CLI twice: ``-o MODEL.tflite`` and ``-o MODEL16.tflite --tflite-float16``; the table quotes each
artifact's error against the numpy reference as measured in its own runtime (its report's
``export`` section: max relative error, the bar it was held to, top-1 agreement on the images)
and the file sizes. Weights: ../shared's deterministic zoo weights (zoo_table.caffemodel_for).

Usage: python benchmarks/float16_table.py [--work DIR]
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
from pathlib import Path

from zoo_table import SHARED, caffemodel_for

# model -> (--mean, --scale): the published preprocessing (MobileNet-Caffe, SqueezeNet)
MODELS = {
    "mobilenet_v1": ("103.94,116.78,123.68", "0.017"),
    "mobilenet_v2": ("103.94,116.78,123.68", "0.017"),
    "squeezenet_v1.1": ("104,117,123", "1"),
}


def images(work: Path) -> list[Path]:
    from PIL import Image, ImageDraw

    disc = Image.new("RGB", (256, 256), (20, 40, 160))
    ImageDraw.Draw(disc).ellipse((48, 48, 208, 208), fill=(230, 60, 30))
    gradient = Image.linear_gradient("L").convert("RGB")
    checker = Image.new("RGB", (256, 256), (255, 255, 255))
    draw = ImageDraw.Draw(checker)
    for i in range(8):
        for j in range((i % 2), 8, 2):
            draw.rectangle((32 * i, 32 * j, 32 * i + 31, 32 * j + 31), fill=(10, 120, 10))
    paths = []
    for name, img in (("disc", disc), ("gradient", gradient), ("checker", checker)):
        path = work / f"{name}.png"
        img.save(path)
        paths.append(path)
    return paths


def export(model: str, work: Path, pictures: list[Path], float16: bool) -> dict:
    mean, scale = MODELS[model]
    root = SHARED / "golden" / "zoo" / model
    out = work / f"{model}{'16' if float16 else ''}.tflite"
    report = work / f"{model}{'16' if float16 else ''}.json"
    command = [sys.executable, "-m", "caffe2keras.cli", "convert", str(root / "net.prototxt")]
    command += [str(caffemodel_for(model, work)), "-o", str(out), "--report", str(report), "-q"]
    command += ["--mean", mean, "--scale", scale] + [
        a for p in pictures for a in ("--image", str(p))
    ]
    command += ["--tflite-float16"] if float16 else []
    done = subprocess.run(command, capture_output=True, text=True, check=False)
    entry = json.loads(report.read_text())["export"][0] if report.exists() else {}
    return {"exit": done.returncode, "entry": entry, "stderr": done.stderr[-500:]}


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--work", type=Path)
    args = parser.parse_args()
    work = args.work or Path(tempfile.mkdtemp(prefix="float16-"))
    work.mkdir(parents=True, exist_ok=True)
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
    pictures = images(work)
    print("| model | weights | exit | max rel vs reference | bar | top-1 on 3 images | MB |")
    print("|---|---|---:|---:|---:|---:|---:|")
    for model in MODELS:
        for float16 in (False, True):
            r = export(model, work, pictures, float16)
            e = r["entry"]
            if not e.get("outputs"):
                print(
                    f"| {model} | {'float16' if float16 else 'float32'} | {r['exit']} | "
                    f"{e.get('error', r['stderr'])[:100]} | | | |",
                    flush=True,
                )
                continue
            o = e["outputs"][0]
            print(
                f"| {model} | {'float16' if float16 else 'float32'} | {r['exit']} | "
                f"{o['max_rel']:.2e} | {o['allowed_rel']:.2e} | {o['top1']:.2f} | "
                f"{e['bytes'] / 1e6:.2f} |",
                flush=True,
            )
    return 0


if __name__ == "__main__":
    sys.exit(main())
