"""Layer fields caffe.proto does not know, on layers of custom (non-built-in) types.

A custom layer type usually comes with its own parameter message (the CRNN forks' Reverse:
``reverse_param``), which our schema rejects. When protobuf rejects a prototxt, the loader
asks :func:`split_custom_fields` to cut such fields out of the ``layer`` entries whose type is not
built in (blanking them keeps every other line and column where it was), parses the rest strictly,
and hands the cut fields to the type's plugin. A typo in a built-in layer stays an error.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from caffe2keras._proto import caffe_pb2
from caffe2keras.frontend.textproto import Entry, Fields, TextFormatError, parse_text

_LAYER_FIELDS = frozenset(caffe_pb2.LayerParameter.DESCRIPTOR.fields_by_name)


@dataclass(frozen=True)
class Misplaced:
    """An unknown field on a layer of a built-in type (a typo, or a fork field we lack)."""

    layer: str
    type: str
    field: str
    offset: int


@dataclass(frozen=True)
class Split:
    """The prototxt with custom fields blanked, the cut fields per ``layer`` index, and the
    unknown fields found on built-in layers."""

    text: str
    fields: dict[int, Fields] = field(default_factory=dict)
    misplaced: tuple[Misplaced, ...] = ()


def _layer_entries(top: tuple[Entry, ...]) -> list[tuple[Entry, ...]]:
    return [e.value for e in top if e.name == "layer" and isinstance(e.value, tuple)]


def split_custom_fields(text: str, builtin_types: frozenset[str]) -> Split | None:
    """Cut the unknown fields of non-built-in ``layer`` entries; None if there are none to cut
    (or the text is not text format at all: protobuf's own error then stands)."""
    try:
        top = parse_text(text)
    except (TextFormatError, UnicodeDecodeError, ValueError):
        return None
    chars = list(text)
    cut: dict[int, Fields] = {}
    misplaced: list[Misplaced] = []
    for index, entries in enumerate(_layer_entries(top)):
        unknown = [e for e in entries if e.name not in _LAYER_FIELDS]
        if not unknown:
            continue
        known = Fields(entries)
        ltype, name = str(known.value("type", "")), str(known.value("name", ""))
        if not ltype or ltype in builtin_types:
            misplaced += [Misplaced(name, ltype, e.name, e.start) for e in unknown]
            continue
        for e in unknown:
            chars[e.start : e.end] = [c if c == "\n" else " " for c in chars[e.start : e.end]]
        cut[index] = Fields(tuple(unknown))
    if not cut and not misplaced:
        return None
    return Split(text="".join(chars), fields=cut, misplaced=tuple(misplaced))


def line_column(text: str, offset: int) -> tuple[int, int]:
    """1-based line and column of a character offset."""
    line = text.count("\n", 0, offset) + 1
    return line, offset - (text.rfind("\n", 0, offset) + 1) + 1
