"""The Keras model's blobs, one at a time: an eager walk through its graph.

Probing every blob by building a second ``keras.Model`` with hundreds of outputs holds every
activation at once (and pays that model's construction). Instead the functional model's nodes are
run one by one, eagerly, in the order Keras itself runs them (``Functional._run_through_graph``:
deepest first), each Keras tensor kept only until its last consuming node has run. A blob's value
is yielded (float32, Caffe layout) as soon as its producing node has run; the caller keeps it only
as long as it needs it. The arithmetic is the model's own eager call, layer by layer: the same
kernels, so the same values as calling the model.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable, Iterator, Mapping
from typing import Any

import numpy as np

from caffe2keras.ir.graph import Graph
from caffe2keras.ir.layouts import layout_kinds
from caffe2keras.layout import CAFFE, to_caffe, to_keras


def model_feed(model: Any, inputs: Mapping[str, np.ndarray], graph: Graph) -> list[Any]:
    """The inputs (Caffe layout, by Caffe name) as the model's input tensors, in its order (the
    graph's inputs in declaration order, as the builder made them)."""
    import keras

    layouts = layout_kinds(graph)
    feed = [
        to_keras(
            np.asarray(inputs[graph.caffe_name(spec.name)], np.float32),
            layouts.get(spec.name, CAFFE),
        )
        for spec in graph.inputs
    ]
    return [keras.ops.convert_to_tensor(x, dtype=t.dtype) for x, t in zip(feed, model.inputs)]


def _blob_tensors(model: Any, blob_layers: Mapping[str, str], wanted: Iterable[str]) -> dict:
    """id(Keras tensor) -> the blobs it carries (each wanted blob that is not an alias)."""
    by_tensor: dict[int, list[str]] = {}
    layers = {layer.name: layer for layer in model.layers}  # model.get_layer lists them per call
    for blob in wanted:
        output = layers[blob_layers[blob]].output
        if isinstance(output, (list, tuple)):
            raise RuntimeError(f"blob '{blob}': layer '{blob_layers[blob]}' has several outputs")
        by_tensor.setdefault(id(output), []).append(blob)
    return by_tensor


def _nodes(model: Any) -> list[Any]:
    """The model's computing nodes in Keras' own execution order (deepest first)."""
    by_depth = model._nodes_by_depth
    return [
        node
        for depth in sorted(by_depth, reverse=True)
        for node in by_depth[depth]
        if node.operation and not node.is_input
    ]


def keras_blob_values(
    model: Any,
    blob_layers: Mapping[str, str],
    inputs: Mapping[str, np.ndarray],
    graph: Graph,
    wanted: Iterable[str],
    direct: bool = True,
) -> Iterator[tuple[str, np.ndarray]]:
    """Yield ``(blob, value)`` for each of ``wanted`` (non-alias blobs of ``blob_layers``) as the
    eager walk computes it: float32, Caffe layout (a view of the tensor's memory, not a copy).
    ``direct``: run each layer that allows it through ``layer.call`` (``direct.py``); False runs
    every node through ``Layer.__call__`` (the slower path, kept for comparison)."""
    from caffe2keras.verify.direct import graph_allows_direct, runner

    layouts = layout_kinds(graph)
    probed = _blob_tensors(model, blob_layers, wanted)
    nodes = _nodes(model)
    direct = direct and graph_allows_direct(model, nodes)
    runners = [runner(node, direct) for node in nodes]
    uses: Counter[int] = Counter(id(x) for node in nodes for x in node.input_tensors)
    tensors: dict[int, Any] = {}
    for x, y in zip(model.inputs, model_feed(model, inputs, graph)):
        tensors[id(x)] = y
        yield from _emit(probed.get(id(x), ()), y, layouts)
    for node, run in zip(nodes, runners):
        if any(id(x) not in tensors for x in node.input_tensors):
            continue  # not computable from the inputs (as Keras skips it)
        outputs = run(tensors)
        for x in node.input_tensors:
            uses[id(x)] -= 1
            if uses[id(x)] <= 0:
                tensors.pop(id(x), None)
        for x, y in zip(node.outputs, outputs):
            if uses[id(x)] > 0:
                tensors[id(x)] = y
            yield from _emit(probed.get(id(x), ()), y, layouts)


def _emit(blobs: Iterable[str], value: Any, layouts: Mapping[str, str]) -> Iterator[tuple]:
    for blob in blobs:
        yield blob, to_caffe(np.asarray(value), layouts.get(blob, CAFFE))
