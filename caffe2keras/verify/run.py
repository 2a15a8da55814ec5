"""Run a verification: reference blobs vs the Keras model's blobs, probed by layer name."""

from __future__ import annotations

import time
from collections.abc import Mapping
from typing import Any

import numpy as np

from caffe2keras.frontend.net import LoadedNet
from caffe2keras.ir.graph import Graph
from caffe2keras.layout import to_caffe, to_keras
from caffe2keras.verify.compare import Tolerance, compare_all, rounding_noise
from caffe2keras.verify.report import Report
from caffe2keras.verify.second import EngineRunner, compare_engine


def random_inputs(graph: Graph, seed: int = 0, batch: int = 2) -> dict[str, np.ndarray]:
    """Seeded standard-normal NCHW inputs at the graph's input shapes, with the given batch."""
    rng = np.random.default_rng(seed)
    return {
        graph.caffe_name(spec.name): rng.standard_normal((batch, *spec.shape[1:])).astype(
            np.float32
        )
        for spec in graph.inputs
    }


def probe_keras(
    model: Any, blob_layers: Mapping[str, str], inputs: Mapping[str, np.ndarray], graph: Graph
) -> dict[str, np.ndarray]:
    """Every blob the model can show (by its layer's output), in Caffe layout."""
    import keras

    blobs = [b for b in blob_layers if graph.resolve(b) == b]
    aliases = [b for b in blob_layers if graph.resolve(b) != b]
    if not blobs:
        return {}
    outputs = [model.get_layer(blob_layers[b]).output for b in blobs]
    probe = keras.Model(inputs=model.inputs, outputs=outputs)
    feed = [
        to_keras(np.asarray(inputs[graph.caffe_name(spec.name)], np.float32))
        for spec in graph.inputs
    ]
    values = probe(feed, training=False)
    if not isinstance(values, (list, tuple)):
        values = [values]
    out = {b: to_caffe(np.asarray(v)) for b, v in zip(blobs, values)}
    out.update({a: out[graph.resolve(a)] for a in aliases if graph.resolve(a) in out})
    return out


def blob_order(graph: Graph) -> list[tuple[str, str, str]]:
    """(blob, producing Caffe layer(s), layer type) in topological order, inputs first.

    A fused node names every Caffe layer it stands for ("conv1/bn+conv1/scale")."""
    order = [(spec.name, spec.name, "Input") for spec in graph.inputs]
    for layer in graph.layers:
        order += [(top, "+".join(layer.sources), layer.type) for top in layer.tops]
    return order


def verify_model(
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
    """Compare every blob the Keras model shares with the Caffe reference.

    ``second_opinions`` (engine name -> runner) are run on the same inputs and compared with the
    numpy reference; they are reported beside it and do not change the verdict.
    """
    from caffe2keras.reference.executor import run_reference
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
    with numpy_warnings("the comparison", notes):
        rows = compare_all(keras_blobs, ref, order, net.keras.outputs, tolerance, noise)
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
        # what the loader noted (dropped layers, NaN, empty pooling windows), then numpy's warnings
        extra={"notes": [*net.reference.notes, *notes]},
    )
