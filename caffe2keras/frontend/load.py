"""Read a prototxt (and optionally a caffemodel) into a raw :class:`~caffe2keras.ir.graph.Graph`.

The raw graph keeps Caffe's blob names, in-place tops included; :mod:`caffe2keras.passes` makes
them unique. Layer parameters always come from the prototxt; the caffemodel supplies only blobs.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from caffe2keras._proto import caffe_pb2
from caffe2keras.errors import ParseError, UsageError, ValidationError
from caffe2keras.frontend.blobs import Caffemodel
from caffe2keras.frontend.params import parse_params
from caffe2keras.frontend.params.io import DATA_LAYER_TYPES
from caffe2keras.frontend.phase import NetState, layer_included
from caffe2keras.frontend.upgrade import declared_inputs, upgrade_net
from caffe2keras.ir.graph import Graph, InputSpec, Layer, net_outputs

# Layers that only matter for training: dropped, with a note.
_TRAINING_ONLY_SUFFIXES = ("Loss", "Accuracy")


@dataclass(frozen=True)
class LoadOptions:
    """How to instantiate the net: shape overrides (Caffe order) and the net state."""

    input_shapes: Mapping[str, tuple[int, ...]] = field(default_factory=dict)
    state: NetState = NetState()


def read_prototxt(path: str | os.PathLike[str]) -> Any:
    """Parse a prototxt into a V2 NetParameter; syntax errors name file, line and column."""
    from google.protobuf import text_format

    path = os.fspath(path)
    try:
        with open(path, "rb") as f:
            raw = f.read()
    except OSError as exc:
        raise ParseError(f"cannot read the prototxt: {exc.strerror}", path=path) from None
    if not raw.strip():
        raise ParseError("the prototxt is empty", path=path)
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError as exc:
        hint = " (is this a binary caffemodel?)" if b"\x00" in raw[:4096] else ""
        raise ParseError(f"not UTF-8 text at byte {exc.start}{hint}", path=path) from None
    net = caffe_pb2.NetParameter()
    try:
        text_format.Parse(text, net, allow_unknown_extension=False)
    except text_format.ParseError as exc:
        line, col = exc.GetLine(), exc.GetColumn()
        detail = str(exc)
        prefix = f"{line}:{col} : "
        if detail.startswith(prefix):
            detail = detail[len(prefix) :]
        raise ParseError(detail, path=path, line=line, column=col) from None
    return upgrade_net(net)


def _input_specs(
    net: Any, layers: list[Any], options: LoadOptions
) -> tuple[list[InputSpec], list[str]]:
    """Inputs from every declaration form, overrides applied; returns (specs, notes)."""
    found: list[tuple[str, tuple[int, ...], str]] = [
        (name, shape, "net input") for name, shape in declared_inputs(net)
    ]
    notes: list[str] = []
    for layer in layers:
        params = parse_params(layer)
        if layer.type == "Input":
            found += [(t, s, layer.name) for t, s in zip(layer.top, params.shapes)]
        elif layer.type in DATA_LAYER_TYPES:
            shape = params.shape or ()
            found.append((layer.top[0], shape, layer.name))
            notes.append(f"data layer '{layer.name}' ({layer.type}) became input '{layer.top[0]}'")
    names = [n for n, _, _ in found]
    for name in options.input_shapes:
        if name not in names:
            raise UsageError(
                f"--input-shape names '{name}', which is not an input of the net "
                f"(inputs: {', '.join(names) or 'none'})"
            )
    specs = []
    for name, shape, origin in found:
        shape = tuple(options.input_shapes.get(name, shape))
        if not shape:
            raise ValidationError(
                f"input '{name}' ({origin}) has no declared shape; "
                f"give one with --input-shape {name}=N,C,H,W",
                field="input",
            )
        if any(d <= 0 for d in shape):
            raise ValidationError(
                f"input '{name}' has a non-positive dimension {list(shape)}", field="input_shape"
            )
        specs.append(InputSpec(name=name, shape=shape))
    return specs, notes


def _blobs_for(layer: Any, weights: Caffemodel | None) -> tuple[np.ndarray, ...]:
    if weights is None:
        return ()
    found = weights.by_name().get(layer.name)
    return found.blobs if found is not None else ()


def build_raw_graph(net: Any, weights: Caffemodel | None, options: LoadOptions) -> Graph:
    """The raw graph of a V2 NetParameter in the given state, blobs paired by layer name."""
    kept = [layer for layer in net.layer if layer_included(layer, options.state)]
    notes: list[str] = []
    active = []
    for layer in kept:
        if layer.type.endswith(_TRAINING_ONLY_SUFFIXES):
            notes.append(f"dropped training-only layer '{layer.name}' ({layer.type})")
        else:
            active.append(layer)
    inputs, input_notes = _input_specs(net, active, options)
    notes += input_notes
    source_types = ("Input", *DATA_LAYER_TYPES)
    layers = tuple(
        Layer(
            name=layer.name,
            type=layer.type,
            bottoms=tuple(layer.bottom),
            tops=tuple(layer.top),
            params=parse_params(layer),
            blobs=_blobs_for(layer, weights),
        )
        for layer in active
        if layer.type not in source_types
    )
    if weights is not None:
        names = {layer.name for layer in net.layer}
        unused = [w.name for w in weights.layers if w.blobs and w.name not in names]
        if unused:
            notes.append(f"caffemodel layers not in the prototxt (ignored): {', '.join(unused)}")
    specs = tuple(inputs)
    return Graph(
        name=net.name or "net",
        inputs=specs,
        layers=layers,
        outputs=net_outputs(specs, layers),
        notes=tuple(notes),
    )
