"""A verified deployment export: write the artifact beside the target, run it in its own runtime,
compare with the reference, and put it in place only when it passes.

The ``export`` section of the report (``Report.extra["export"]``) gets one entry per artifact:
format, path, runtime, float16, passed, seconds, bytes, select_tf_ops (per layer), outputs
(per output blob: shape, max_abs, max_rel, allowed_rel, top1, top5, passed) and the bar.
"""

from __future__ import annotations

import os
import time
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from caffe2keras.export.check import (
    BAR_FLOAT16,
    BAR_FLOAT32,
    caffe_outputs,
    compare_outputs,
    feed,
    reference_outputs,
)
from caffe2keras.export.probe import detection_bottoms, detection_own_inputs
from caffe2keras.export.runtime import RUNTIMES, run_deployed
from caffe2keras.export.select_ops import attribute_flex_ops
from caffe2keras.frontend.net import LoadedNet
from caffe2keras.outputs.staging import interrupt_hook, staged
from caffe2keras.verify.report import Report


def _size(path: Path) -> int:
    if path.is_dir():
        return sum(p.stat().st_size for p in path.rglob("*") if p.is_file())
    return path.stat().st_size


def _write(model: Any, fmt: str, path: Path, target: Path, float16: bool) -> None:
    if fmt == "savedmodel":
        from caffe2keras.outputs.savedmodel import write_savedmodel

        write_savedmodel(model, path)
    else:
        from caffe2keras.outputs.tflite import write_tflite

        write_tflite(model, path, target.absolute().parent, float16)


def check_artifact(
    fmt: str,
    path: Path,
    shown: str,
    built: Any,
    net: LoadedNet,
    inputs: Mapping[str, Any],
    report: Report,
    float16: bool = False,
    images: bool = False,
) -> dict[str, Any]:
    """The ``export`` entry of the artifact at ``path`` (``shown``: the name the user gave)."""
    start = time.perf_counter()
    fed = feed(net, built.model, inputs)
    deployed = run_deployed(fmt, path, fed)
    entry: dict[str, Any] = {
        "format": fmt,
        "path": shown,
        "runtime": RUNTIMES[fmt],
        "float16": float16,
        "passed": False,
        "seconds": 0.0,
        "bytes": _size(path),
        "select_tf_ops": attribute_flex_ops(net.keras, deployed.ops),
        "outputs": [],
        "bar": BAR_FLOAT16 if float16 else BAR_FLOAT32,
    }
    dtype = report.reference.removeprefix("numpy-")
    own: dict[str, Any] = {}
    error = deployed.error
    if not error and detection_bottoms(net):
        own, error = detection_own_inputs(fmt, built, net, path.parent, fed, dtype, float16)
    if error:
        entry["error"] = error
    else:
        reference = reference_outputs(net, inputs, dtype)
        got = caffe_outputs(net, deployed.outputs)
        entry["outputs"] = compare_outputs(net, report, got, reference, own, float16, images)
        entry["passed"] = bool(entry["outputs"]) and all(o["passed"] for o in entry["outputs"])
    entry["seconds"] = round(time.perf_counter() - start, 3)
    return entry


def write_export(
    built: Any,
    net: LoadedNet,
    output: str | os.PathLike[str],
    fmt: str,
    *,
    float16: bool = False,
    check: tuple[Mapping[str, Any], Report, bool] | None = None,
    write_on_failure: bool = False,
) -> tuple[bool, dict[str, Any] | None]:
    """Write ``built.model`` as ``fmt`` at ``output``; with ``check`` (inputs, the Keras model's
    report, whether the inputs are images) verify it in its own runtime first and put it in
    place only when it passes (or ``write_on_failure``). Returns (written, export entry)."""
    target = Path(output)
    suffix = ".tflite" if fmt == "tflite" else ""
    with staged(target, suffix) as stage:
        _write(built.model, fmt, stage.path, target, float16)
        interrupt_hook()
        entry = None
        if check is not None:
            inputs, report, images = check
            entry = check_artifact(
                fmt, stage.path, os.fspath(output), built, net, inputs, report, float16, images
            )
        stage.commit = entry is None or entry["passed"] or write_on_failure
    return stage.commit, entry


def export_converted(
    built: Any, net: LoadedNet, output: str | os.PathLike[str], fmt: str, options: Any, report: Any
) -> bool:
    """``api.convert``'s export step (``options``: its ConvertOptions; ``report``: the Keras
    model's, None when verification is skipped): write, verify against the same inputs, add the
    ``export`` entry to the report. Returns whether the artifact was put in place."""
    from caffe2keras.verify.inputs import verification_inputs

    check = None
    if report is not None:
        inputs, info = verification_inputs(
            net.reference, options.seed, options.batch, options.input_npy, options.image
        )
        check = (inputs, report, str(info.get("source", "")).startswith("image"))
    written, entry = write_export(
        built,
        net,
        output,
        fmt,
        float16=options.tflite_float16,
        check=check,
        write_on_failure=options.write_on_failure,
    )
    if report is not None and entry is not None:
        report.extra.setdefault("export", []).append(entry)
    return written
