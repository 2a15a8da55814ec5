"""The driver: a Graph (after the Keras pipeline) -> a Keras functional model with its weights."""

from __future__ import annotations

from collections.abc import Callable
from contextlib import nullcontext
from dataclasses import dataclass
from typing import Any

from caffe2keras.errors import UnsupportedLayersError
from caffe2keras.ir.graph import Graph, Layer
from caffe2keras.ir.layouts import blob_layouts
from caffe2keras.ir.nonneg import nonnegative_blobs
from caffe2keras.ir.shapes import infer_shapes
from caffe2keras.keras_model import handover, registry
from caffe2keras.keras_model.registry import BuildContext, Names, sanitize
from caffe2keras.keras_model.weights import set_layer_weights
from caffe2keras.layout import CAFFE, keras_shape


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
    # (Keras layer, weights) of every layer the converter sets, in build order: views on the
    # caffemodel map (no memory). Built with fill_weights=False the variables hold nothing until
    # a writer streams these (caffe2keras.outputs.weights_h5); filled, a weights-only writer still
    # streams them rather than copy every variable out of the model.
    sources: tuple[tuple[Any, tuple[Any, ...]], ...] = ()
    filled: bool = True

    @property
    def pending(self) -> tuple[tuple[Any, tuple[Any, ...]], ...]:
        """The weights no variable holds yet (all of them when built unfilled)."""
        return () if self.filled else self.sources


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


def build_model(
    graph: Graph, fill_weights: bool = True, tick: Callable[[], None] | None = None
) -> BuiltModel:
    """Build every layer through the registry, filling each layer's weights as it is built.

    Each layer's variables are created deferred and filled from its weights right after its
    builder ran (:mod:`.handover`: the transposed copy becomes the variable, nothing else is
    copied; the caffemodel pages are released), so copies never pile up. With
    ``fill_weights=False`` the variables stay deferred (no memory) and the weights are returned as
    ``pending`` for a streaming writer. ``tick`` is called after each Caffe layer (progress).
    """
    import keras

    _check_builders(graph)
    names = Names()
    shapes = infer_shapes(graph)
    layouts = blob_layouts(graph, shapes)  # recurrent blobs are batch-major in Keras
    ctx = BuildContext(shapes=shapes, nonnegative=nonnegative_blobs(graph), names=names)
    tensors: dict[str, Any] = {}
    inputs = []
    sources: list[tuple[Any, tuple[Any, ...]]] = []
    adopt = fill_weights and handover.supported()
    scope = keras.StatelessScope(initialize_variables=False) if not fill_weights else nullcontext()
    with scope:
        for spec in graph.inputs:
            kshape = keras_shape(spec.shape, layouts.get(spec.name, CAFFE))
            t = keras.Input(shape=kshape[1:], name=names.make(spec.name))
            tensors[spec.name] = t
            inputs.append(t)
        for layer in graph.layers:
            bottoms = [tensors[b] for b in layer.bottoms]
            result = _build_layer(layer, bottoms, ctx, fill_weights, adopt)
            tensors.update(zip(layer.tops, result.outputs))
            sources.extend(result.weights)
            if tick is not None:
                tick()
        outputs = _named_outputs(graph, tensors, names)
        # One input is a bare tensor, so model(x) and model.predict(x) take a bare array without
        # Keras warning that the structure does not match; several stay a list (in graph order).
        # One output comes back bare from a list already.
        structure = inputs[0] if len(inputs) == 1 else inputs
        model = keras.Model(inputs=structure, outputs=outputs, name=sanitize(graph.name))
    for alias in graph.aliases:
        tensors[alias] = tensors[graph.resolve(alias)]
    blob_layers = {blob: t._keras_history.operation.name for blob, t in tensors.items()}
    return BuiltModel(
        model=model,
        tensors=tensors,
        layer_names=dict(names.origin),
        blob_layers=blob_layers,
        graph=graph,
        sources=tuple(sources),
        filled=fill_weights,
    )


def _build_layer(
    layer: Layer, bottoms: list[Any], ctx: BuildContext, fill: bool, adopt: bool
) -> registry.BuildResult:
    """Run one builder; with ``fill``, set the weights of the layers it made (adopted by their
    variables when ``adopt``, else through ``set_weights``)."""
    builder = registry.get_builder(layer.type)
    if not adopt:
        result = builder(layer, bottoms, ctx)
        if fill:
            for klayer, weights in result.weights:
                set_layer_weights(klayer, weights)
        return result
    with handover.deferred_variables() as created:
        result = builder(layer, bottoms, ctx)
    handover.fill(created, result.weights)
    return result
