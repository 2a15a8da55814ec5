"""Run a verification: reference blobs vs the Keras model's blobs, probed by layer name."""

from __future__ import annotations

import time
from collections.abc import Mapping
from typing import Any

import numpy as np

from caffe2keras.frontend.net import LoadedNet
from caffe2keras.ir.graph import Graph
from caffe2keras.ir.layouts import Values, input_values, layout_kinds
from caffe2keras.layout import CAFFE, caffe_batch_axis, to_caffe, to_keras
from caffe2keras.verify.compare import Tolerance
from caffe2keras.verify.report import Report
from caffe2keras.verify.second import EngineRunner, compare_engine


def random_inputs(graph: Graph, seed: int = 0, batch: int = 2) -> dict[str, np.ndarray]:
    """Seeded inputs (Caffe layout) at the graph's input shapes with the given batch: standard
    normal, except where a consumer says what an input holds (:func:`draw_values`)."""
    rng = np.random.default_rng(seed)
    layouts = layout_kinds(graph)
    values = input_values(graph)
    out = {}
    for spec in graph.inputs:
        shape = list(spec.shape)
        shape[caffe_batch_axis(layouts.get(spec.name, CAFFE))] = batch
        out[graph.caffe_name(spec.name)] = draw_values(rng, tuple(shape), values.get(spec.name))
    return out


def draw_values(rng: np.random.Generator, shape: tuple[int, ...], values: Values | None) -> Any:
    """Standard normal; ``indicator`` (a recurrent ``cont`` (T, N)): 0 at the first step, then 1
    with a 1 in 4 chance of a new sequence; ``index``: integer ids in [0, size)."""
    if values is None:
        return rng.standard_normal(shape).astype(np.float32)
    if values.kind == "index":
        return rng.integers(0, values.size, shape).astype(np.float32)
    cont = (rng.random(shape) >= 0.25).astype(np.float32)
    cont[0] = 0
    return cont


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
    layouts = layout_kinds(graph)
    feed = [
        to_keras(
            np.asarray(inputs[graph.caffe_name(spec.name)], np.float32),
            layouts.get(spec.name, CAFFE),
        )
        for spec in graph.inputs
    ]
    values = probe(feed, training=False)
    if not isinstance(values, (list, tuple)):
        values = [values]
    out = {b: to_caffe(np.asarray(v), layouts.get(b, CAFFE)) for b, v in zip(blobs, values)}
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
    timings: dict[str, float] | None = None,
) -> Report:
    """Compare every blob the Keras model shares with the Caffe reference.

    Streamed (``stream.py``): the Keras model runs eagerly node by node (``walk.py``) while the
    float64 and float32 reference passes advance in lockstep; each blob is compared as soon as
    its three values exist, then dropped. ``second_opinions`` (engine name -> runner) are run on
    the same inputs first and compared with the numpy reference blobs they show (only those are
    kept); they are reported beside it and do not change the verdict. ``timings``, when given,
    receives the seconds spent in the Keras walk (``keras``, main thread), the comparisons'
    thread's waits for the walk (``keras_wait``) and for the reference passes (``reference``),
    the comparisons (``compare``) and the main thread's waits for them (``handover``).
    """
    from caffe2keras.verify.stream import stream_compare
    from caffe2keras.verify.walk import keras_blob_values

    start = time.perf_counter()
    runs = {engine: runner(inputs) for engine, runner in (second_opinions or {}).items()}
    keep = frozenset(
        top
        for layer in net.reference.layers
        for top in layer.tops
        if any(top in run.blobs for run in runs.values())
    )
    streamed = stream_compare(
        net,
        lambda wanted: keras_blob_values(model, blob_layers, inputs, net.keras, wanted),
        blob_layers,
        inputs,
        blob_order(net.keras),
        tolerance,
        reference_dtype,
        keep,
    )
    opinions = tuple(
        compare_engine(engine, run, streamed.kept, net.reference, tolerance, streamed.noise)
        for engine, run in runs.items()
    )
    if timings is not None:
        timings.update(streamed.seconds)
    info = dict(inputs_info or {})
    info.setdefault("shapes", {k: list(np.shape(v)) for k, v in inputs.items()})
    return Report(
        model=name,
        rows=tuple(streamed.rows),
        tolerance=tolerance,
        inputs=info,
        reference=f"numpy-{reference_dtype}",
        seconds=time.perf_counter() - start,
        second_opinions=opinions,
        # what the loader noted (dropped layers, NaN, empty pooling windows), the recurrent
        # layouts, then numpy's warnings
        extra={
            "notes": [
                *net.reference.notes,
                *layout_notes(layout_kinds(net.keras)),
                *streamed.notes,
            ],
            **_classes(streamed.scores, net.keras.outputs, info),
        },
    )


def _classes(
    scores: Mapping[str, tuple[Any, Any]], outputs: Any, info: Mapping[str, Any]
) -> dict[str, Any]:
    """``classes``: the top-5 classes per image (image inputs only; see verify/classes.py)."""
    from caffe2keras.verify.classes import top_classes

    keras = {b: k for b, (k, _) in scores.items()}
    ref = {b: r for b, (_, r) in scores.items()}
    found = top_classes(keras, ref, outputs, info)
    return {"classes": found} if found else {}


def layout_notes(layouts: Mapping[str, str]) -> list[str]:
    """What the report says about batch-major recurrent blobs."""
    if not layouts:
        return []
    blobs = ", ".join(sorted(layouts))
    return [
        f"recurrent blobs ({blobs}) are fed and compared batch-major, as the Keras model holds "
        "them: Caffe's (T, N, ...) as (N, T, ...), states (1, N, H) as (N, H)"
    ]
