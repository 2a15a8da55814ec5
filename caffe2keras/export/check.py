"""Compare an exported artifact's outputs, computed in its own runtime, with the numpy reference.

Each output blob is held to the bar of the Keras model's row for that blob in the verification
report (the same :func:`caffe2keras.verify.compare.compare_blob`, the same tolerance and float32
noise), so an artifact passes exactly when it is as close to the reference as the verified Keras
model had to be. A float16-weight TFLite file has its own bar (:func:`float16_tolerance`).
Detection blobs are matched row by row against the reference layer run on the bottoms the
artifact's own runtime computed (:mod:`caffe2keras.export.probe`), as the Keras model's are; the
fraction matched against the reference's whole forward pass is reported beside it.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import replace
from typing import Any

import numpy as np

from caffe2keras.frontend.net import LoadedNet
from caffe2keras.verify.compare import BlobComparison, Tolerance, compare_blob
from caffe2keras.verify.report import Report

# float16 keeps 11 significant bits: a weight is stored with relative error <= 2^-11, where
# float32 rounds at 2^-24. The float32 noise of a blob measured by the verification (the reference
# in float32 vs float64) times 2^13 is the same conditioning at float16 weight precision.
FLOAT16_EPS = 2.0**-11
FLOAT16_OVER_FLOAT32 = 2.0**13
FLOAT16_FLOOR = 8 * FLOAT16_EPS  # blobs whose float32 noise was not measured (noise factor 0)

BAR_FLOAT32 = "the float32 bar of the Keras model's output blobs"
BAR_FLOAT16 = (
    "float16 weights: max abs error <= max(rtol, 8 x 2^-11, noise factor x float32 noise x 2^13)"
    " x max|reference| per output; with --image inputs every image's top-1 class must agree"
)


def float16_tolerance(row: BlobComparison, tol: Tolerance) -> float:
    """The relative error a float16-weight artifact may have on an output blob."""
    return max(tol.rtol, FLOAT16_FLOOR, tol.noise_factor * row.noise * FLOAT16_OVER_FLOAT32)


def feed(net: LoadedNet, model: Any, inputs: Mapping[str, np.ndarray]) -> dict[str, np.ndarray]:
    """The verification inputs as the ``serve`` signature takes them: by the Keras input names,
    in Keras layout."""
    from caffe2keras.ir.layouts import layout_kinds
    from caffe2keras.layout import CAFFE, to_keras

    graph = net.keras
    layouts = layout_kinds(graph)
    names = [t.name for t in model.inputs]
    return {
        name: to_keras(
            np.asarray(inputs[graph.caffe_name(spec.name)], np.float32),
            layouts.get(spec.name, CAFFE),
        )
        for name, spec in zip(names, graph.inputs)
    }


def caffe_outputs(net: LoadedNet, outputs: Mapping[str, Any]) -> dict[str, np.ndarray]:
    """Signature outputs (``output_0``, ...) as the net's output blobs, in Caffe layout."""
    from caffe2keras.ir.layouts import layout_kinds
    from caffe2keras.layout import CAFFE, to_caffe

    layouts = layout_kinds(net.keras)
    out = {}
    for i, blob in enumerate(net.keras.outputs):
        key = f"output_{i}"
        if key in outputs:
            out[blob] = to_caffe(np.asarray(outputs[key]), layouts.get(blob, CAFFE))
    return out


def reference_outputs(
    net: LoadedNet, inputs: Mapping[str, np.ndarray], dtype: str
) -> dict[str, np.ndarray]:
    """The reference's values of the net's output blobs (streamed: only those are kept)."""
    from caffe2keras.reference.executor import iter_reference

    graph = net.reference
    wanted = {graph.resolve(b): b for b in net.keras.outputs}
    got = {}
    for blob, value in iter_reference(graph, inputs, np.dtype(dtype)):
        if blob in wanted:
            got[wanted[blob]] = value
    return got


def compare_outputs(
    net: LoadedNet,
    report: Report,
    artifact: Mapping[str, np.ndarray],
    reference: Mapping[str, np.ndarray],
    own_inputs: Mapping[str, np.ndarray],
    float16: bool,
    images: bool,
) -> list[dict[str, Any]]:
    """One entry per output blob: the artifact against the reference, at the Keras row's bar
    (``own_inputs``: detection tops' reference rows on the artifact's own bottoms)."""
    from caffe2keras.ir.layouts import layout_kinds
    from caffe2keras.layout import CAFFE, batch_major

    rows = {r.blob: r for r in report.rows if r.is_output}
    layouts = layout_kinds(net.keras)
    tol = report.tolerance
    entries = []
    for blob in net.keras.outputs:
        row = rows.get(blob)
        if row is None or blob not in reference:
            continue  # not compared for the Keras model either
        kind = layouts.get(blob, CAFFE)
        if blob not in artifact:
            entries.append({"blob": blob, "passed": False, "error": "missing from the artifact"})
            continue
        got, ref = batch_major(artifact[blob], kind), batch_major(reference[blob], kind)
        bar = tol
        if float16 and row.rows_matched is None:
            bar = replace(tol, rtol=float16_tolerance(row, tol), noise_factor=0.0)
        own = own_inputs.get(blob) if row.rows_matched is not None else None
        c = compare_blob(
            blob, row.layer, row.layer_type, got, ref, bar, True, row.noise, own_inputs=own
        )
        passed = c.passed and not (float16 and images and c.top1 is not None and c.top1 < 1.0)
        entries.append(_output_entry(c, passed))
    return entries


def _output_entry(c: BlobComparison, passed: bool) -> dict[str, Any]:
    entry: dict[str, Any] = {
        "blob": c.blob,
        "shape": list(c.shape),
        "max_abs": c.max_abs,
        "max_rel": c.max_rel,
        "allowed_rel": c.allowed_rel,
        "top1": c.top1,
        "top5": c.top5,
        "passed": passed,
    }
    if c.rows_matched is not None:
        entry["rows_matched"] = c.rows_matched
        entry["rows_matched_own_inputs"] = c.rows_matched_own_inputs
    return entry
