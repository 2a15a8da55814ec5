"""Caffe's recurrent layers LSTM and RNN (``recurrent_layer.cpp``, ``lstm_layer.cpp``,
``rnn_layer.cpp``) and Embed (``embed_layer.cpp``): params, shapes, layouts and builders.

Caffe's recurrent blobs are time-major (``x (T, N, ...)``, ``cont (T, N)``, states
``(1, N, H)``); the Keras model holds them batch-major (:mod:`caffe2keras.ir.layouts`). The
recurrence itself is a :mod:`caffe2keras.keras_layers.recurrent` layer, because ``cont`` (0 where a
sequence starts, at any step) is an input that Keras' own LSTM/SimpleRNN cannot apply.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

from caffe2keras.errors import ValidationError
from caffe2keras.frontend.params.registry import param_parser, require
from caffe2keras.ir.graph import Layer, Shape
from caffe2keras.ir.layouts import Values, layout_rule, sequence_transparent, value_rule
from caffe2keras.ir.shapes.registry import LayerShapes, canonical_axis, shape_rule
from caffe2keras.keras_model.registry import SET_LATER, BuildContext, BuildResult, builder
from caffe2keras.layout import CAFFE, SEQUENCE, STATE

# Recurrent states per type: LSTM has (h, c), RNN has h (``Recurrent{Input,Output}BlobNames``).
STATES = {"LSTM": 2, "RNN": 1}
# How many hidden-sized blocks the x transform produces: LSTM's four gates i, f, o, g.
GATES = {"LSTM": 4, "RNN": 1}


@dataclass(frozen=True)
class RecurrentParams:
    num_output: int
    expose_hidden: bool


@dataclass(frozen=True)
class EmbedParams:
    num_output: int
    input_dim: int
    bias_term: bool


@param_parser("LSTM", "RNN")
def parse_recurrent(layer_pb: Any) -> RecurrentParams:
    p = layer_pb.recurrent_param
    require(p.num_output > 0, layer_pb, "num_output", "num_output must be positive")
    return RecurrentParams(num_output=int(p.num_output), expose_hidden=bool(p.expose_hidden))


@param_parser("Embed")
def parse_embed(layer_pb: Any) -> EmbedParams:
    p = layer_pb.embed_param
    require(p.num_output > 0, layer_pb, "num_output", "num_output must be positive")
    require(p.input_dim > 0, layer_pb, "input_dim", "input_dim must be positive")
    return EmbedParams(int(p.num_output), int(p.input_dim), bool(p.bias_term))


def has_static(layer: Layer) -> bool:
    """Caffe's rule: a bottom beyond x, cont and the exposed states is the static input."""
    exposed = STATES[layer.type] if layer.params.expose_hidden else 0
    return len(layer.bottoms) > 2 + exposed


def _check(cond: bool, layer: Layer, field: str, message: str) -> None:
    if not cond:
        raise ValidationError(message, layer=layer.name, field=field)


@shape_rule("LSTM", "RNN")
def recurrent_shapes(layer: Layer, bottoms: list[Shape]) -> LayerShapes:
    """``recurrent_layer.cpp`` Reshape: x (T, N, ...), cont (T, N), optional static (N, ...),
    exposed states (1, N, H); blobs in the order the unrolled net creates them."""
    p, states = layer.params, STATES[layer.type]
    exposed = states if p.expose_hidden else 0
    _check(
        len(bottoms) in (2 + exposed, 3 + exposed),
        layer,
        "bottom",
        f"{layer.type} takes x, cont, an optional static input"
        + (f" and {exposed} states" if exposed else "")
        + f"; got {len(bottoms)} bottoms",
    )
    _check(
        len(layer.tops) == 1 + exposed,
        layer,
        "top",
        f"{layer.type} has {1 + exposed} tops here, got {len(layer.tops)}",
    )
    x, cont = bottoms[0], bottoms[1]
    _check(len(x) >= 3, layer, "bottom", f"x must be (T, N, ...) with >= 3 axes, got {list(x)}")
    t, n, h = x[0], x[1], p.num_output
    _check(
        tuple(cont) == (t, n), layer, "bottom", f"cont must be (T, N) = {[t, n]}, got {list(cont)}"
    )
    static = has_static(layer)
    if static:
        _check(
            len(bottoms[2]) >= 1 and bottoms[2][0] == n,
            layer,
            "bottom",
            f"the static input must be (N, ...) with N = {n}, got {list(bottoms[2])}",
        )
    for s in bottoms[2 + static :]:
        _check(
            tuple(s) == (1, n, h),
            layer,
            "bottom",
            f"an exposed state must be (1, N, H) = {[1, n, h]}, got {list(s)}",
        )
    g = GATES[layer.type] * h
    blobs: list[Shape] = [(g, math.prod(x[2:])), (g,)]
    if static:
        blobs.append((g, math.prod(bottoms[2][1:])))
    blobs.append((g, h))
    if layer.type == "RNN":
        blobs += [(h, h), (h,)]  # W_ho, b_o
    return LayerShapes(tops=((t, n, h), *[(1, n, h)] * exposed), blobs=tuple(blobs))


@layout_rule("LSTM", "RNN")
def recurrent_layouts(layer: Layer) -> tuple[tuple[str, ...], tuple[str, ...]]:
    states = len(layer.tops) - 1
    bottoms = (SEQUENCE, SEQUENCE) + (CAFFE,) * has_static(layer) + (STATE,) * states
    return bottoms, (SEQUENCE,) + (STATE,) * states


@value_rule("LSTM", "RNN")
def recurrent_values(layer: Layer) -> dict[int, Values]:
    return {1: Values("indicator")}


@shape_rule("Embed")
def embed_shapes(layer: Layer, bottoms: list[Shape]) -> LayerShapes:
    p = layer.params
    weight = (p.input_dim, p.num_output)
    blobs = (weight, (p.num_output,)) if p.bias_term else (weight,)
    return LayerShapes(tops=((*bottoms[0], p.num_output),), blobs=blobs)


@value_rule("Embed")
def embed_values(layer: Layer) -> dict[int, Values]:
    return {0: Values("index", layer.params.input_dim)}


def _trailing_axis(layer: Layer, shape: Shape, kind: str) -> bool:
    """InnerProduct/Softmax along the last axis of a (T, N, D) or state blob: Keras' last axis."""
    axis = canonical_axis(layer.params.axis, len(shape), layer)
    return len(shape) == 3 and axis == 2 and (kind == SEQUENCE or layer.type == "InnerProduct")


sequence_transparent("Embed")
sequence_transparent("InnerProduct", "Softmax", when=_trailing_axis)
sequence_transparent(
    "ReLU",
    "Sigmoid",
    "TanH",
    "AbsVal",
    "BNLL",
    "ELU",
    "Power",
    "Exp",
    "Log",
    "Dropout",
    "Split",
    "Eltwise",
)


def _recurrent_weights(layer: Layer, klayer: Any) -> tuple[Any, ...]:
    """Caffe's blobs as the layer's Keras weights (see CaffeLSTM/CaffeRNN for the layouts)."""
    from caffe2keras.keras_layers.recurrent import lstm_weights, rnn_weights

    convert = lstm_weights if layer.type == "LSTM" else rnn_weights
    return convert(list(layer.blobs), has_static(layer), layer.params.num_output)


@builder(
    "LSTM",
    "RNN",
    emits={
        "LSTM": "CaffeLSTM (keras.ops scan, applies cont)",
        "RNN": "CaffeRNN (keras.ops scan, applies cont)",
    },
    notes="batch-major in Keras: x (N, T, ...), cont (N, T), states (N, H); `expose_hidden`; "
    "static input",
)
def build_recurrent(layer: Layer, inputs: list[Any], ctx: BuildContext) -> BuildResult:
    import keras

    from caffe2keras.keras_layers.recurrent import CaffeLSTM, CaffeRNN

    p = layer.params
    x_shape = ctx.bottom_shapes(layer)[0]
    x = inputs[0]
    if len(x_shape) > 3:  # Caffe's x transform flattens every axis after the second
        flat = (x_shape[0], math.prod(x_shape[2:]))
        x = keras.layers.Reshape(flat, name=ctx.names.make(layer.name, "flatten"))(x)
    cls = CaffeLSTM if layer.type == "LSTM" else CaffeRNN
    rnn = cls(
        p.num_output,
        static_input=has_static(layer),
        expose_hidden=p.expose_hidden,
        kernel_initializer=SET_LATER,
        name=ctx.names.make(layer.name),
    )
    out = rnn([x, *inputs[1:]])
    outs = tuple(out) if isinstance(out, (list, tuple)) else (out,)
    if len(outs) > 1:  # one Keras layer per top, so that every blob can be probed
        outs = tuple(
            keras.layers.Identity(name=ctx.names.make(top))(t) for top, t in zip(layer.tops, outs)
        )
    if not layer.blobs:
        return BuildResult(outputs=outs)
    return BuildResult(outputs=outs, weights=((rnn, _recurrent_weights(layer, rnn)),))


@builder(
    "Embed",
    emits="EmbedIds + Embedding",
    notes="bias folded into the table; an id outside [0, input_dim) or not an integer gives NaN",
)
def build_embed(layer: Layer, inputs: list[Any], ctx: BuildContext) -> BuildResult:
    import keras

    from caffe2keras.keras_layers.recurrent import EmbedIds, embed_table

    p = layer.params
    ids = EmbedIds(p.input_dim, name=ctx.names.make(layer.name, "ids"))(inputs[0])
    embedding = keras.layers.Embedding(
        p.input_dim + 1,
        p.num_output,
        embeddings_initializer=SET_LATER,
        name=ctx.names.make(layer.name),
    )
    out = embedding(ids)
    if not layer.blobs:
        return BuildResult(outputs=(out,))
    return BuildResult(outputs=(out,), weights=((embedding, (embed_table(list(layer.blobs)),)),))
