"""A fast reader for the common subset of protobuf text format, filling real protobuf messages.

protobuf's own ``text_format`` tokenizes in pure Python and takes about 0.1 s for DenseNet-121's
prototxt, most of ``inspect``'s budget. This reader handles what real prototxts use: plain
``name: value`` and ``name { ... }`` fields, ``#`` comments, ``,``/``;`` separators, decimal
numbers, enum names, booleans and quoted strings without escapes. Whenever it meets anything else
(an escape, ``[a, b]`` lists, hex or octal numbers, ``inf``, a field given twice, an unknown name,
a value out of range, a syntax error) it gives up and returns None, and the caller parses with
``text_format``, which then produces the exact result or the exact error message.

The contract, checked by tests/frontend/test_fasttext.py on every prototxt we have and on
mutations of them: when this reader returns a message, ``text_format.Parse`` accepts the same text
and produces the same serialized bytes.
"""

from __future__ import annotations

import re
from typing import Any

# Every character outside whitespace belongs to a token: a lone quote (a string with an escape, a
# newline or no end) and everything else unusual make a token that no rule below accepts.
_TOKEN = re.compile(
    r"""\"[^"\\\n]*\"|'[^'\\\n]*'|\#[^\n]*|[{}<>:\[\],;]|[^\s{}<>:\[\],;\#"']+|["']"""
)
_INT = re.compile(r"-?(?:0|[1-9]\d*)\Z")
_FLOAT = re.compile(r"-?(?:0|[1-9]\d*)(?:\.\d*)?(?:[eE][-+]?\d+)?[fF]?\Z")
_BOOLS = {"true": True, "t": True, "1": True, "True": True}
_BOOLS.update({"false": False, "f": False, "0": False, "False": False})
_CLOSE = {"{": "}", "<": ">"}

# field kinds
_MESSAGE, _INTEGER, _REAL, _BOOL, _ENUM, _STRING = range(6)
# FieldDescriptor.TYPE_* -> kind; bytes and groups are left to text_format
_KINDS = {1: _REAL, 2: _REAL, 8: _BOOL, 9: _STRING, 11: _MESSAGE, 14: _ENUM}
_KINDS.update(dict.fromkeys((3, 4, 5, 6, 7, 13, 15, 16, 17, 18), _INTEGER))

Table = dict[str, tuple[int, bool, Any]]
_TABLES: dict[str, Table] = {}


class _GiveUp(Exception):
    """Not in the subset (or not valid): text_format decides."""


def _table(descriptor: Any) -> Table:
    """Field name -> (kind, repeated, enum values by name)."""
    table = _TABLES.get(descriptor.full_name)
    if table is None:
        table = {}
        for fd in descriptor.fields:
            kind = _KINDS.get(fd.type)
            if kind is None or fd.containing_oneof is not None:
                continue
            enum = fd.enum_type.values_by_name if kind == _ENUM else None
            table[fd.name] = (kind, fd.is_repeated, enum)
        _TABLES[descriptor.full_name] = table
    return table


def _value(kind: int, tok: str, enum: Any) -> Any:
    if kind == _INTEGER and _INT.match(tok):
        return int(tok)
    if kind == _REAL and _FLOAT.match(tok):
        return float(tok.rstrip("fF"))
    if kind == _BOOL and tok in _BOOLS:
        return _BOOLS[tok]
    if kind == _ENUM and enum is not None and tok in enum:
        return enum[tok].number
    if kind == _STRING and len(tok) > 1 and tok[0] in "\"'" and tok[-1] == tok[0]:
        return tok[1:-1]
    raise _GiveUp


def _parse(toks: list[str], root: Any) -> None:
    stack: list[tuple[Any, Table, str | None]] = []
    msg, table, close = root, _table(root.DESCRIPTOR), None
    i, n = 0, len(toks)
    while i < n:
        tok = toks[i]
        if tok == close:
            msg, table, close = stack.pop()
            i += 1
        else:
            entry = table.get(tok)
            if entry is None:
                raise _GiveUp
            kind, repeated, enum = entry  # past the end, toks[...] raises IndexError: give up
            sep = toks[i + 1]
            if kind == _MESSAGE:
                if sep == ":":
                    i += 1
                opener = toks[i + 1]
                if opener not in _CLOSE:
                    raise _GiveUp
                if repeated:
                    sub = getattr(msg, tok).add()
                elif msg.HasField(tok):
                    raise _GiveUp  # text_format refuses a singular field given twice
                else:
                    sub = getattr(msg, tok)
                    sub.SetInParent()
                stack.append((msg, table, close))
                msg, table, close = sub, _table(sub.DESCRIPTOR), _CLOSE[opener]
                i += 2
                continue
            if sep != ":":
                raise _GiveUp
            value = _value(kind, toks[i + 2], enum)
            if kind == _STRING and i + 3 < n and toks[i + 3][0] in "\"'":
                raise _GiveUp  # adjacent literals concatenate
            if repeated:
                getattr(msg, tok).append(value)
            elif msg.HasField(tok):
                raise _GiveUp
            else:
                setattr(msg, tok, value)
            i += 3
        if i < n and toks[i] in (",", ";"):
            i += 1
    if close is not None:
        raise _GiveUp


def comment_start(line: str) -> int | None:
    """Where a ``#`` comment starts on one line (a ``#`` inside a quoted string is no comment)."""
    if "#" not in line:
        return None
    quote = ""
    for i, ch in enumerate(line):
        if quote:
            quote = "" if ch == quote else quote
        elif ch in "\"'":
            quote = ch
        elif ch == "#":
            return i
    return None


def parse_message(text: str, message: Any) -> bool:
    """Fill an empty ``message`` from ``text``; False (message then unspecified) when the text is
    outside the subset or invalid, and text_format must decide."""
    toks = [t for t in _TOKEN.findall(text) if t[0] != "#"]
    try:
        _parse(toks, message)
    except (_GiveUp, ValueError, TypeError, IndexError):
        return False
    return True
