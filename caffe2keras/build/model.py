"""The driver: a Graph (after the Keras pipeline) -> a Keras functional model with its weights."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from caffe2keras.build import registry
from caffe2keras.build.registry import BuildContext, Names, sanitize
from caffe2keras.errors import UnsupportedLayersError
from caffe2keras.ir.graph import Graph
from caffe2keras.ir.nonneg import nonnegative_blobs
from caffe2keras.ir.shapes import infer_shapes
from caffe2keras.layout import keras_shape


@dataclass(frozen=True)
class BuiltModel:
    """The Keras model, the Keras tensor of every graph blob, and Keras name -> Caffe name.

    ``blob_layers`` maps each graph blob to the Keras layer whose output carries it, which is how
    a saved model is probed for intermediate blobs later.
    """

    model: Any
    tensors: dict[str, Any]
    layer_names: dict[str, str]
    blob_layers: dict[str, str]
    graph: Graph


def _check_builders(graph: Graph) -> None:
    known = registry.builder_types()
    missing: dict[str, list[str]] = {}
    for layer in graph.layers:
        if layer.type not in known:
            missing.setdefault(layer.type, []).append(layer.name)
    if missing:
        raise UnsupportedLayersError(missing, "no Keras builder is registered for them")


def _named_outputs(graph: Graph, tensors: dict[str, Any], names: Names) -> list[Any]:
    """The output tensors, each wrapped in an Identity named after its Caffe blob if needed."""
    import keras

    outs = []
    for blob in graph.outputs:
        t = tensors[graph.resolve(blob)]
        want = sanitize(graph.caffe_name(blob))
        producer = t._keras_history.operation.name
        if producer != want:
            t = keras.layers.Identity(name=names.make(graph.caffe_name(blob)))(t)
        outs.append(t)
    return outs


def build_model(graph: Graph) -> BuiltModel:
    """Build every layer through the registry, then set all weights."""
    import keras

    _check_builders(graph)
    names = Names()
    ctx = BuildContext(
        shapes=infer_shapes(graph), nonnegative=nonnegative_blobs(graph), names=names
    )
    tensors: dict[str, Any] = {}
    inputs = []
    for spec in graph.inputs:
        t = keras.Input(shape=keras_shape(spec.shape)[1:], name=names.make(spec.name))
        tensors[spec.name] = t
        inputs.append(t)
    pending: list[tuple[Any, tuple[Any, ...]]] = []
    for layer in graph.layers:
        result = registry.get_builder(layer.type)(layer, [tensors[b] for b in layer.bottoms], ctx)
        tensors.update(zip(layer.tops, result.outputs))
        pending.extend(result.weights)
    outputs = _named_outputs(graph, tensors, names)
    model = keras.Model(inputs=inputs, outputs=outputs, name=sanitize(graph.name))
    for klayer, weights in pending:
        klayer.set_weights([w.astype("float32", copy=False) for w in weights])
    for alias in graph.aliases:
        tensors[alias] = tensors[graph.resolve(alias)]
    blob_layers = {blob: t._keras_history.operation.name for blob, t in tensors.items()}
    return BuiltModel(
        model=model,
        tensors=tensors,
        layer_names=dict(names.origin),
        blob_layers=blob_layers,
        graph=graph,
    )
