"""Where a net's inputs come from: net-level declarations, Input layers, data-source layers.

Caffe's ``net.cpp`` makes ``input`` + ``input_dim``/``input_shape`` and Input layers the net's
inputs. For a conversion, a data-source layer (Data, ImageData, HDF5Data, WindowData, MemoryData,
DummyData) is an input too: where its values come from (a database, files) is not part of the
model. Only tops that a kept layer reads become inputs, so a label read only by a loss is not one.
Shapes come from the layer's params where they determine them, else from ``--input-shape``.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

from caffe2keras.errors import UsageError, ValidationError
from caffe2keras.families.io import DATA_LAYER_TYPES, PartialShape
from caffe2keras.frontend.upgrade import declared_inputs
from caffe2keras.ir.graph import InputSpec

SOURCE_TYPES = ("Input", *DATA_LAYER_TYPES)


@dataclass(frozen=True)
class Source:
    """One input blob, its shape as far as the prototxt gives it, and where it comes from."""

    blob: str
    shape: PartialShape
    origin: str  # e.g. "Data layer 'cifar'"
    unknown_from: str = ""  # where undetermined dimensions come from


def collect_sources(
    net: Any, layers: Iterable[tuple[Any, Any]], consumed: set[str]
) -> tuple[list[Source], list[str]]:
    """The inputs of a net whose kept layers are ``layers`` ((layer_pb, params) pairs) and read
    the blobs ``consumed``; returns (sources in declaration order, notes)."""
    found = [Source(n, s or None, "net input") for n, s in declared_inputs(net)]
    notes: list[str] = []
    for layer_pb, params in layers:
        origin = f"{layer_pb.type} layer '{layer_pb.name}'"
        if layer_pb.type == "Input":
            found += [Source(t, s, origin) for t, s in zip(layer_pb.top, params.shapes)]
        elif layer_pb.type in DATA_LAYER_TYPES:
            used = [(t, s) for t, s in zip(layer_pb.top, params.shapes) if t in consumed]
            found += [Source(t, s, origin, params.origin) for t, s in used]
            names = ", ".join(f"'{t}'" for t, _ in used) or "nothing"
            note = f"data layer '{layer_pb.name}' ({layer_pb.type}) became input {names}"
            unused = [f"'{t}'" for t in layer_pb.top if t not in consumed]
            if unused:
                note += f"; top {', '.join(unused)} is read by no kept layer and is left out"
            notes.append(note)
    return found, notes


def _shape_text(shape: PartialShape) -> str:
    if shape is None:
        return "N,C,H,W"
    return ",".join("?" if d is None else str(d) for d in shape)


def _check_rank(source: Source, shape: tuple[int, ...]) -> None:
    """An override must have as many dimensions as the prototxt declares (when it declares a
    shape at all): another rank is a slip in the option, not a different net."""
    rank = len(source.shape) if source.shape else None
    if rank is not None and len(shape) != rank:
        axes = " (N, C, H, W)" if rank == 4 else ""
        given = ",".join(map(str, shape))
        raise UsageError(
            f"--input-shape {source.blob}={given} gives {len(shape)} dimensions, but input "
            f"'{source.blob}' ({source.origin}) has {rank}{axes}"
        )


def _complete(source: Source) -> tuple[int, ...]:
    """The full shape; the batch may stay open (Keras' batch is free; 1 is used)."""
    shape = source.shape
    if shape and all(d is not None for d in shape[1:]):
        return tuple(1 if d is None else int(d) for d in shape)
    if shape:
        detail = f"has only a partial shape in the prototxt ({_shape_text(shape)})"
        hint = " (replace each ? by its size)"
    else:
        detail, hint = "has no shape in the prototxt", ""
    if source.unknown_from:
        detail += f"; the rest comes from {source.unknown_from}"
    raise ValidationError(
        f"input '{source.blob}' ({source.origin}) {detail}. Give it with "
        f"--input-shape {source.blob}={_shape_text(shape)}{hint}",
        field="input",
    )


def input_specs(
    sources: list[Source], overrides: Mapping[str, tuple[int, ...]]
) -> tuple[InputSpec, ...]:
    """The inputs with their final shapes (``overrides`` from ``--input-shape`` win)."""
    names = [s.blob for s in sources]
    for name in overrides:
        if name not in names:
            raise UsageError(
                f"--input-shape names '{name}', which is not an input of the net "
                f"(inputs: {', '.join(names) or 'none'})"
            )
    specs = []
    for source in sources:
        if source.blob in overrides:
            _check_rank(source, tuple(overrides[source.blob]))
        shape = tuple(overrides[source.blob]) if source.blob in overrides else _complete(source)
        if any(d <= 0 for d in shape):
            raise ValidationError(
                f"input '{source.blob}' has a non-positive dimension {list(shape)}",
                field="input_shape",
            )
        specs.append(InputSpec(name=source.blob, shape=shape))
    return tuple(specs)
