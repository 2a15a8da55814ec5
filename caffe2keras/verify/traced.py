"""Verification as it was before streaming: every blob of both reference passes and of a traced
probe model held at once, then compared. Kept as the oracle of the streamed path
(``caffe2keras/verify/stream.py``): ``tests/verify/test_streamed.py`` asserts that both give the
same rows and notes; ``benchmarks/bench_verify.py --traced`` measures it."""

from __future__ import annotations

import time
from collections.abc import Mapping
from typing import Any

import numpy as np

from caffe2keras.frontend.net import LoadedNet
from caffe2keras.ir.layouts import layout_kinds
from caffe2keras.layout import CAFFE, batch_major
from caffe2keras.verify.compare import Tolerance, compare_all, rounding_noise
from caffe2keras.verify.report import Report
from caffe2keras.verify.run import blob_order, layout_notes, probe_keras
from caffe2keras.verify.second import EngineRunner, compare_engine


def verify_model_traced(
    net: LoadedNet,
    model: Any,
    blob_layers: Mapping[str, str],
    inputs: Mapping[str, np.ndarray],
    *,
    tolerance: Tolerance,
    reference_dtype: str = "float64",
    inputs_info: Mapping[str, Any] | None = None,
    name: str = "model",
    second_opinions: Mapping[str, EngineRunner] | None = None,
) -> Report:
    """:func:`caffe2keras.verify.run.verify_model`, holding every blob at once."""
    from caffe2keras.passes.checker import has_nonfinite
    from caffe2keras.reference.executor import run_reference
    from caffe2keras.verify.detections import own_input_references
    from caffe2keras.verify.numeric_notes import float32_overflow_note, numpy_warnings

    start = time.perf_counter()
    notes: list[str] = []
    with numpy_warnings(f"the numpy-{reference_dtype} reference", notes):
        ref = run_reference(net.reference, inputs, dtype=np.dtype(reference_dtype))
    noise: dict[str, float] = {}
    order = blob_order(net.keras)
    if tolerance.noise_factor > 0:
        other = "float32" if reference_dtype == "float64" else "float64"
        with numpy_warnings(f"the numpy-{other} reference", notes):
            second = run_reference(net.reference, inputs, dtype=np.dtype(other))
        f32, f64 = (second, ref) if other == "float32" else (ref, second)
        overflow = float32_overflow_note(f32, f64, order)
        notes += [overflow] if overflow else []
        with numpy_warnings("the comparison", notes):
            noise = rounding_noise(second, ref)
    keras_blobs = probe_keras(model, blob_layers, inputs, net.keras)
    own = own_input_references(net.reference, keras_blobs, np.dtype(reference_dtype))
    # Recurrent blobs are compared batch-major (N, T, ...), the layout the Keras model holds.
    layouts = layout_kinds(net.keras)
    keras_blobs = {b: batch_major(v, layouts.get(b, CAFFE)) for b, v in keras_blobs.items()}
    ref_bm = {b: batch_major(v, layouts.get(b, CAFFE)) for b, v in ref.items()}
    specials = not has_nonfinite(net.reference)
    with numpy_warnings("the comparison", notes):
        rows = compare_all(
            keras_blobs, ref_bm, order, net.keras.outputs, tolerance, noise, own, specials
        )
    opinions = tuple(
        compare_engine(engine, runner(inputs), ref, net.reference, tolerance, noise)
        for engine, runner in (second_opinions or {}).items()
    )
    info = dict(inputs_info or {})
    info.setdefault("shapes", {k: list(np.shape(v)) for k, v in inputs.items()})
    return Report(
        model=name,
        rows=tuple(rows),
        tolerance=tolerance,
        inputs=info,
        reference=f"numpy-{reference_dtype}",
        seconds=time.perf_counter() - start,
        second_opinions=opinions,
        extra={"notes": [*net.reference.notes, *layout_notes(layouts), *notes]},
    )
