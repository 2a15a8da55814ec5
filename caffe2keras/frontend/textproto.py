"""A small, schema-free reader of protobuf text format, for layer fields our schema lacks.

Custom layer types (plugins) carry their own parameter messages, e.g. the CRNN forks'
``reverse_param { axis: 1 }``, which ``proto/caffe.proto`` cannot know. The loader parses
the prototxt with this reader only when protobuf rejects it, cuts such fields out of the layers of
non-built-in types, and hands them to the plugin as :class:`Fields`. Grammar: protobuf's text
format (``name: value``, ``name { ... }``, ``name < ... >``, ``name: [a, b]``, ``#`` comments,
optional ``,``/``;`` separators); extension names (``[pkg.ext]``) are not supported.
"""

from __future__ import annotations

import codecs
import re
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

_TOKEN = re.compile(
    r"""(?P<skip>\s+|\#[^\n]*)
      | (?P<str>"(?:[^"\\\n]|\\.)*"|'(?:[^'\\\n]|\\.)*')
      | (?P<num>[-+]?(?:0[xX][0-9a-fA-F]+|(?:\d+\.?\d*|\.\d+)(?:[eE][-+]?\d+)?)[fF]?)
      | (?P<ident>-?[A-Za-z_][\w.]*)
      | (?P<punct>[{}<>:\[\],;])""",
    re.VERBOSE,
)
_CLOSE = {"{": "}", "<": ">"}
_SPECIAL_FLOATS = ("inf", "infinity", "nan")
_BOOLS = {"true": True, "True": True, "false": False, "False": False}


class TextFormatError(ValueError):
    """The text is not protobuf text format (the caller reports protobuf's own error)."""


@dataclass(frozen=True)
class Entry:
    """One field occurrence: its name, value (a tuple of entries for messages) and text span."""

    name: str
    value: Any
    start: int
    end: int


class Fields:
    """A message's fields by name, in file order; nested messages are Fields too."""

    def __init__(self, entries: tuple[Entry, ...] = ()) -> None:
        self._values: dict[str, list[Any]] = {}
        for e in entries:
            value = Fields(e.value) if isinstance(e.value, tuple) else e.value
            self._values.setdefault(e.name, []).append(value)

    def names(self) -> tuple[str, ...]:
        """The field names present, in order of first appearance."""
        return tuple(self._values)

    def __contains__(self, name: object) -> bool:
        return name in self._values

    def values(self, name: str) -> tuple[Any, ...]:
        """Every value given for ``name`` (a repeated field), possibly none."""
        return tuple(self._values.get(name, ()))

    def value(self, name: str, default: Any = None) -> Any:
        """The value of a singular field: the last one given wins, as in protobuf."""
        found = self._values.get(name)
        return found[-1] if found else default

    def message(self, name: str) -> Fields:
        """A nested message (empty Fields when absent)."""
        found = self.value(name)
        if found is None:
            return Fields()
        if not isinstance(found, Fields):
            raise TypeError(f"field '{name}' is a scalar ({found!r}), not a message")
        return found

    def __repr__(self) -> str:
        return f"Fields({self._values!r})"


def _tokens(text: str) -> Iterator[tuple[str, str, int, int]]:
    pos = 0
    while pos < len(text):
        m = _TOKEN.match(text, pos)
        if m is None:
            raise TextFormatError(f"unexpected character {text[pos]!r} at offset {pos}")
        kind = m.lastgroup or ""
        if kind != "skip":
            yield kind, m.group(), m.start(), m.end()
        pos = m.end()


def _scalar(kind: str, tok: str) -> Any:
    if kind == "str":
        return codecs.escape_decode(tok[1:-1].encode("utf-8"))[0].decode("utf-8")
    if kind == "num":
        body = tok.rstrip("fF") if not tok.lower().startswith(("0x", "-0x", "+0x")) else tok
        try:
            return int(body, 0)
        except ValueError:
            return float(body)
    if tok.lstrip("-").lower() in _SPECIAL_FLOATS:
        return float(tok)
    return _BOOLS.get(tok, tok)  # other identifiers: booleans and enum names


class _Parser:
    def __init__(self, text: str) -> None:
        self.toks = list(_tokens(text))
        self.i = 0
        self.size = len(text)

    def peek(self) -> tuple[str, str, int, int] | None:
        return self.toks[self.i] if self.i < len(self.toks) else None

    def take(self, want: str | None = None) -> tuple[str, str, int, int]:
        tok = self.peek()
        if tok is None or (want is not None and tok[1] != want):
            raise TextFormatError(f"expected {want or 'a token'}, got {tok[1] if tok else 'EOF'}")
        self.i += 1
        return tok

    def message(self, close: str | None) -> tuple[Entry, ...]:
        entries: list[Entry] = []
        while (tok := self.peek()) is not None and tok[1] != close:
            entries.extend(self.field())
            if (sep := self.peek()) is not None and sep[1] in ",;":
                self.i += 1
        if close is not None:
            self.take(close)
        return tuple(entries)

    def field(self) -> list[Entry]:
        kind, name, start, _ = self.take()
        if kind != "ident":
            raise TextFormatError(f"expected a field name, got {name!r}")
        tok = self.peek()
        colon = tok is not None and tok[1] == ":"
        if colon:
            self.i += 1
            tok = self.peek()
        if tok is not None and tok[1] in _CLOSE:
            self.i += 1
            value = self.message(_CLOSE[tok[1]])
            return [Entry(name, value, start, self.toks[self.i - 1][3])]
        if not colon:
            raise TextFormatError(f"expected ':' or a message after {name!r}")
        if tok is not None and tok[1] == "[":
            return self.list_values(name, start)
        return [Entry(name, self.scalar(), start, self.toks[self.i - 1][3])]

    def scalar(self) -> Any:
        kind, tok, _, _ = self.take()
        if kind not in ("str", "num", "ident"):
            raise TextFormatError(f"expected a value, got {tok!r}")
        value = _scalar(kind, tok)
        while kind == "str" and (nxt := self.peek()) is not None and nxt[0] == "str":
            self.i += 1  # adjacent string literals concatenate
            value += _scalar("str", nxt[1])
        return value

    def list_values(self, name: str, start: int) -> list[Entry]:
        self.take("[")
        values: list[Any] = []
        while (tok := self.peek()) is not None and tok[1] != "]":
            if tok[1] in _CLOSE:
                self.i += 1
                values.append(self.message(_CLOSE[tok[1]]))
            else:
                values.append(self.scalar())
            if (sep := self.peek()) is not None and sep[1] == ",":
                self.i += 1
        end = self.take("]")[3]
        return [Entry(name, v, start, end) for v in values]


def parse_text(text: str) -> tuple[Entry, ...]:
    """The top-level entries of a text-format message (TextFormatError when malformed)."""
    return _Parser(text).message(None)
