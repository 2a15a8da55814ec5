"""What open issues will add, and which ``../shared`` cases wait for it.

``../shared`` runs ahead of the code: it holds real-Caffe goldens of fork and recurrent layers that
issues 13 and 14 will support. Every sweep over ``../shared`` asks :func:`pending_in` what a
prototxt needs that is listed here *and is still missing from the live registries* (the shape,
builder and reference registries, and the schema ``caffe_pb2``):

- nothing: a normal case, held to the normal checks;
- something: an **expected refusal**, checked (see ``refusals.py``): the product must refuse with
  a message naming exactly those types (with their layers) or fields, and nothing else may be
  wrong with the case.

When an issue lands a type, the registries know it, :func:`pending_in` stops reporting it and the
case turns into a normal case by itself; ``tests/test_pending.py`` then says which entry below to
delete (it keeps these tables exact: every entry still missing and needed by a shared case).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from functools import cache
from pathlib import Path

# Layer types an open issue adds -> the issue number.
PENDING_TYPES: dict[str, int] = {}

# LayerParameter fields (fork parameter messages) an open issue adds to proto/caffe.proto.
PENDING_FIELDS: dict[str, int] = {}


@dataclass(frozen=True)
class LayerText:
    """One ``layer``/``layers`` entry as read by the schema-free text reader."""

    name: str
    type: str
    tops: tuple[str, ...]
    fields: tuple[tuple[str, int, int], ...]  # (field name, start, end) of every field


def read_layers(text: str) -> list[LayerText]:
    """The layers of a prototxt text, read without our schema (so unknown fields are kept)."""
    from caffe2keras.frontend.textproto import parse_text

    found = []
    for entry in parse_text(text):
        if entry.name not in ("layer", "layers") or not isinstance(entry.value, tuple):
            continue
        values: dict[str, list[object]] = {}
        for e in entry.value:
            values.setdefault(e.name, []).append(e.value)
        name = str(values.get("name", [""])[-1])
        ltype = str(values.get("type", [""])[-1])
        tops = tuple(str(t) for t in values.get("top", []))
        spans = tuple((e.name, e.start, e.end) for e in entry.value)
        found.append(LayerText(name, ltype, tops, spans))
    return found


def type_supported(type_name: str) -> bool:
    """Whether every registry a conversion goes through knows the type."""
    from caffe2keras.ir.shapes import shape_types
    from caffe2keras.keras_model.registry import builder_types
    from caffe2keras.reference.registry import reference_types

    return all(type_name in kinds for kinds in (shape_types(), builder_types(), reference_types()))


def field_known(field_name: str) -> bool:
    """Whether our schema has the LayerParameter field."""
    from caffe2keras._proto import caffe_pb2

    return field_name in caffe_pb2.LayerParameter.DESCRIPTOR.fields_by_name


@dataclass(frozen=True)
class Pending:
    """What a prototxt needs that open issues will add: name -> the layers that use it."""

    types: dict[str, tuple[str, ...]] = field(default_factory=dict)
    fields: dict[str, tuple[str, ...]] = field(default_factory=dict)

    def __bool__(self) -> bool:
        return bool(self.types or self.fields)

    @property
    def issues(self) -> tuple[int, ...]:
        found = {PENDING_TYPES[t] for t in self.types} | {PENDING_FIELDS[f] for f in self.fields}
        return tuple(sorted(found))

    def describe(self) -> str:
        parts = [f"{k} ({', '.join(v)})" for k, v in self.types.items()]
        parts += [f"field {k}" for k in self.fields]
        issues = ", ".join(str(i) for i in self.issues)
        return f"{'; '.join(parts)} [issue {issues}]"


def pending_in_text(text: str) -> Pending:
    """What of the pending tables ``text`` uses and the live registries still lack."""
    types: dict[str, list[str]] = {}
    fields: dict[str, list[str]] = {}
    for layer in read_layers(text):
        if layer.type in PENDING_TYPES and not type_supported(layer.type):
            types.setdefault(layer.type, []).append(layer.name)
        for fname in dict.fromkeys(f for f, _, _ in layer.fields):
            if fname in PENDING_FIELDS and not field_known(fname):
                fields.setdefault(fname, []).append(layer.name)

    def frozen(d: dict[str, list[str]]) -> dict[str, tuple[str, ...]]:
        return {k: tuple(v) for k, v in sorted(d.items())}

    return Pending(frozen(types), frozen(fields))


@cache
def pending_in(prototxt: Path) -> Pending:
    """:func:`pending_in_text` of a file (cached: the sweeps ask about each file several times)."""
    return pending_in_text(prototxt.read_text(encoding="utf-8"))


def without_pending_fields(text: str) -> str:
    """``text`` with every still-missing pending field blanked (lines and columns kept)."""
    chars = list(text)
    for layer in read_layers(text):
        for fname, start, end in layer.fields:
            if fname in PENDING_FIELDS and not field_known(fname):
                chars[start:end] = [c if c == "\n" else " " for c in chars[start:end]]
    return "".join(chars)
