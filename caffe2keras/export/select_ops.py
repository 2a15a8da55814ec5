"""Which layers need TensorFlow operators in TFLite (``SELECT_TF_OPS``, "Flex" ops), statically.

The converter asks TFLite for builtin operators first; a few Keras constructs have none and keep
their TensorFlow operator, which a deployment runtime runs only when it links the Flex delegate.
This table says, per Caffe layer type (and its params), which Flex operators its Keras layers
become. ``inspect`` reads it (no TensorFlow import); a verified TFLite export reads the operators
actually in the file and attributes them to layers with it. ``tests/export/test_select_ops.py``
converts every layer golden and zoo model to TFLite and checks the file's Flex ops against it.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

from caffe2keras.ir.graph import Graph, Layer

# Keras' recurrent loop (LSTM, RNN) keeps its TensorList ops: TFLite's WHILE has no builtin for
# them. An exposed last state (``expose_hidden``) is read back with GetItem.
_RECURRENT = ("FlexTensorListReserve", "FlexTensorListSetItem", "FlexTensorListStack")


def _recurrent(layer: Layer) -> tuple[str, ...]:
    exposed = ("FlexTensorListGetItem",) if layer.params.expose_hidden else ()
    return tuple(sorted(_RECURRENT + exposed))


def _lrn(layer: Layer) -> tuple[str, ...]:
    """ACROSS_CHANNELS is an AveragePooling3D (channels as depth): TFLite has no 3-D average
    pooling builtin. WITHIN_CHANNEL is a builtin 2-D average pooling."""
    return ("FlexAvgPool3D",) if layer.params.region == "ACROSS_CHANNELS" else ()


FLEX_OPS: dict[str, Callable[[Layer], tuple[str, ...]]] = {
    "LRN": _lrn,
    "LSTM": _recurrent,
    "RNN": _recurrent,
}


def layer_flex_ops(layer: Layer) -> tuple[str, ...]:
    """The Flex operators ``layer``'s TFLite form may hold (empty: builtin operators only)."""
    rule = FLEX_OPS.get(layer.type)
    return rule(layer) if rule is not None else ()


def claimed(graph: Graph) -> list[dict[str, Any]]:
    """Per layer of ``graph`` that needs Flex ops: {"layer", "type", "ops"} (the static claim)."""
    out = []
    for layer in graph.layers:
        ops = layer_flex_ops(layer)
        if ops:
            out.append({"layer": "+".join(layer.sources), "type": layer.type, "ops": list(ops)})
    return out


def attribute_flex_ops(graph: Graph, file_ops: Sequence[str]) -> list[dict[str, Any]]:
    """The Flex operators found in a TFLite file (``file_ops``: all its operator names), per
    layer by the static claim; Flex ops no layer claims are listed under layer ``null``."""
    flex = {op for op in file_ops if op.startswith("Flex")}
    out, seen = [], set()
    for entry in claimed(graph):
        ops = sorted(flex.intersection(entry["ops"]))
        if ops:
            out.append({**entry, "ops": ops})
            seen.update(ops)
    if flex - seen:
        out.append({"layer": None, "type": None, "ops": sorted(flex - seen)})
    return out
