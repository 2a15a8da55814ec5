"""Read a prototxt (and optionally a caffemodel) into a raw :class:`~caffe2keras.ir.graph.Graph`.

The raw graph keeps Caffe's blob names, in-place tops included; :mod:`caffe2keras.passes` makes
them unique. Layer parameters always come from the prototxt; the caffemodel supplies only blobs.
"""

from __future__ import annotations

import os
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass, field, replace
from typing import TYPE_CHECKING, Any

from caffe2keras._proto import caffe_pb2
from caffe2keras.errors import (
    ForeignCaffemodelError,
    ParseError,
    UnsupportedLayersError,
    ValidationError,
)
from caffe2keras.families.batchnorm import BatchNormParams
from caffe2keras.frontend.fasttext import comment_start, parse_message
from caffe2keras.frontend.params import registered_types
from caffe2keras.frontend.phase import NetState, select_layers
from caffe2keras.frontend.sources import SOURCE_TYPES, collect_sources, input_specs
from caffe2keras.frontend.upgrade import declared_inputs, upgrade_net
from caffe2keras.ir.graph import Graph, Layer, net_outputs
from caffe2keras.plugins import parse_layer_params, plugin_types

if TYPE_CHECKING:
    import numpy as np

    from caffe2keras.frontend.blobs import Caffemodel
    from caffe2keras.frontend.textproto import Fields


@dataclass(frozen=True)
class LoadOptions:
    """How to instantiate the net: shape overrides (Caffe order) and the net state."""

    input_shapes: Mapping[str, tuple[int, ...]] = field(default_factory=dict)
    state: NetState = NetState()


@dataclass(frozen=True)
class ParsedNet:
    """A prototxt in V2 form, plus the fields caffe.proto lacks on custom-type layers (by index
    into ``net.layer``), which their plugins read."""

    net: Any
    custom_fields: Mapping[int, Fields] = field(default_factory=dict)


def read_prototxt(path: str | os.PathLike[str]) -> Any:
    """Parse a prototxt into a V2 NetParameter; syntax errors name file, line and column."""
    return parse_prototxt(path).net


def parse_prototxt(path: str | os.PathLike[str]) -> ParsedNet:
    """Parse a prototxt (any format version) into a V2 NetParameter and its custom fields."""
    path = os.fspath(path)
    try:
        with open(path, "rb") as f:
            raw = f.read()
    except OSError as exc:
        raise ParseError(f"cannot read the prototxt: {exc.strerror}", path=path) from None
    if not raw.strip():
        raise ParseError("the prototxt is empty", path=path)
    text = _decode(raw, path)
    try:
        return ParsedNet(upgrade_net(_parse_text(text, path)))
    except ParseError as exc:
        from caffe2keras.frontend.custom_fields import line_column, split_custom_fields

        split = split_custom_fields(text, registered_types() - plugin_types())
        if split is None:
            raise
        exc_from = exc
    for bad in split.misplaced:
        line, col = line_column(text, bad.offset)
        kind = f" ({bad.type})" if bad.type else ""
        raise ParseError(
            f"layer '{bad.layer}'{kind} has no field named '{bad.field}'",
            path=path,
            line=line,
            column=col,
        ) from exc_from
    return ParsedNet(upgrade_net(_parse_text(split.text, path)), split.fields)


@contextmanager
def naming_files(
    prototxt: str | os.PathLike[str], caffemodel: str | os.PathLike[str] | None
) -> Iterator[None]:
    """Consistency errors raised inside name the file they are about: the caffemodel for its
    blobs, the prototxt for everything else (a batch of conversions shows which model failed).
    Unsupported layer types get the prototxt lines that use them."""
    try:
        yield
    except UnsupportedLayersError as exc:
        if exc.path is not None:
            raise
        raise _locate_types(exc, os.fspath(prototxt)) from exc
    except ForeignCaffemodelError as exc:
        if exc.path is not None or caffemodel is None:
            raise
        raise exc.naming(os.fspath(prototxt), os.fspath(caffemodel)) from exc
    except ValidationError as exc:
        blobs = exc.field in ("blobs", "scale_bias") and caffemodel is not None
        path = os.fspath(caffemodel if blobs and caffemodel is not None else prototxt)
        located = exc.in_file(path)
        if located is exc:
            raise
        raise located from exc


def _locate_types(exc: UnsupportedLayersError, prototxt: str) -> UnsupportedLayersError:
    from caffe2keras.passes.suggest import type_lines  # only on this error

    try:
        with open(prototxt, "rb") as f:
            text = f.read().decode("utf-8", errors="replace")
    except OSError:
        return exc
    return exc.located(prototxt, type_lines(text, exc.by_type))


def _decode(raw: bytes, path: str) -> str:
    """The prototxt's text, without a byte order mark (Windows editors write one). Bytes that are
    not UTF-8 are tolerated inside ``#`` comments, where older files often carry GBK or Latin-1
    text that Caffe skips unread; anywhere else they are an error naming line and column."""
    try:
        return raw.decode("utf-8").removeprefix("\ufeff")
    except UnicodeDecodeError as exc:
        if b"\x00" in raw[:4096]:
            message = f"not UTF-8 text at byte {exc.start} (is this a binary caffemodel?)"
            raise ParseError(message, path=path) from None
    text = raw.decode("utf-8", errors="replace").removeprefix("\ufeff")
    for number, line in enumerate(text.split("\n"), start=1):
        bad = line.find("\ufffd")
        if bad < 0:
            continue
        start = comment_start(line)
        if start is None or bad < start:
            raise ParseError(
                "not UTF-8 text (only comments may hold other encodings)",
                path=path,
                line=number,
                column=bad + 1,
            )
    return text


def _parse_text(text: str, path: str) -> Any:
    net = caffe_pb2.NetParameter()
    if parse_message(text, net):
        return net
    from google.protobuf import text_format  # outside the fast reader's subset, or invalid

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
    return net


def _params(layer_pb: Any, fields: Fields | None, state: NetState) -> Any:
    params = parse_layer_params(layer_pb, fields)
    if isinstance(params, BatchNormParams) and params.use_global_stats is None:
        # batch_norm_layer.cpp: use_global_stats defaults to (phase == TEST)
        params = replace(params, use_global_stats=state.phase == "TEST")
    return params


def _blobs_for(layer: Any, weights: Caffemodel | None) -> tuple[np.ndarray, ...]:
    if weights is None:
        return ()
    found = weights.by_name().get(layer.name)
    return found.blobs if found is not None else ()


def _weight_notes(net: Any, weights: Caffemodel | None) -> list[str]:
    if weights is None:
        return []
    names = {layer.name for layer in net.layer}
    unused = [w.name for w in weights.layers if w.blobs and w.name not in names]
    if unused:
        return [f"caffemodel layers not in the prototxt (ignored): {', '.join(unused)}"]
    return []


def build_raw_graph(
    net: Any,
    weights: Caffemodel | None,
    options: LoadOptions,
    custom_fields: Mapping[int, Fields] | None = None,
) -> Graph:
    """The raw graph of a V2 NetParameter in the given state, blobs paired by layer name."""
    custom = custom_fields or {}
    declared = [name for name, _ in declared_inputs(net)]
    # net.cpp (Net::Net): the phase and level given override the file's, stages add to its own
    state = replace(options.state, stages=(*net.state.stage, *options.state.stages))
    selection = select_layers(net.layer, state, declared)
    kept = [(net.layer[i], _params(net.layer[i], custom.get(i), state)) for i in selection.indices]
    consumed = {b for layer_pb, _ in kept for b in layer_pb.bottom}
    sources, source_notes = collect_sources(
        net, [(pb, p) for pb, p in kept if pb.type in SOURCE_TYPES], consumed
    )
    inputs = input_specs(sources, options.input_shapes)
    layers = tuple(
        Layer(
            name=layer_pb.name,
            type=layer_pb.type,
            bottoms=tuple(layer_pb.bottom),
            tops=tuple(layer_pb.top),
            params=params,
            blobs=_blobs_for(layer_pb, weights),
        )
        for layer_pb, params in kept
        if layer_pb.type not in SOURCE_TYPES
    )
    return Graph(
        name=net.name or "net",
        inputs=inputs,
        layers=layers,
        outputs=net_outputs(inputs, layers),
        notes=(
            *selection.notes,
            *source_notes,
            *_weight_notes(net, weights),
            *(note for layer in layers for note in getattr(layer.params, "notes", ())),
        ),
    )
