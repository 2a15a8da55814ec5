"""Mutators of caffemodel bytes, driven by a ``random.Random``: truncation, bit flips (anywhere,
or in tags and lengths), rewritten length fields, duplicated/deleted layers and nested fields,
NaN/Inf floats, spliced junk. A small wire-format walker finds the fields to aim at.
"""

from __future__ import annotations

import random
from collections.abc import Callable

Mutator = Callable[[bytes, random.Random], bytes]


def _varint(buf: bytes, pos: int, end: int) -> tuple[int, int] | None:
    shift = value = 0
    while pos < end and shift < 70:
        byte = buf[pos]
        pos += 1
        value |= (byte & 0x7F) << shift
        if byte < 0x80:
            return value, pos
        shift += 7
    return None


def encode_varint(value: int) -> bytes:
    value &= (1 << 64) - 1
    out = bytearray()
    while True:
        byte = value & 0x7F
        value >>= 7
        out.append(byte | (0x80 if value else 0))
        if not value:
            return bytes(out)


def length_fields(buf: bytes, start: int = 0, end: int | None = None, depth: int = 0) -> list:
    """(length varint start, length varint end, payload end, field number, depth) of every
    length-delimited field that parses, recursing into payloads that parse as messages."""
    end = len(buf) if end is None else end
    found: list[tuple[int, int, int, int, int]] = []
    pos = start
    while pos < end:
        tag = _varint(buf, pos, end)
        if tag is None or tag[0] >> 3 == 0:
            return found
        num, wire, pos = tag[0] >> 3, tag[0] & 7, tag[1]
        if wire == 0:
            v = _varint(buf, pos, end)
            if v is None:
                return found
            pos = v[1]
        elif wire in (1, 5):
            pos += 8 if wire == 1 else 4
        elif wire == 2:
            n = _varint(buf, pos, end)
            if n is None or n[1] + n[0] > end:
                return found
            found.append((pos, n[1], n[1] + n[0], num, depth))
            if depth < 4 and num not in (5, 8):  # not packed float/double data
                found += length_fields(buf, n[1], n[1] + n[0], depth + 1)
            pos = n[1] + n[0]
        else:
            return found
    return found


def m_truncate(data: bytes, rng: random.Random) -> bytes:
    return data[: rng.randrange(len(data) + 1)]


def m_bit_flips(data: bytes, rng: random.Random) -> bytes:
    if not data:
        return data
    out = bytearray(data)
    for _ in range(rng.randint(1, 8)):
        i = rng.randrange(len(out))
        out[i] ^= 1 << rng.randrange(8)
    return bytes(out)


def m_header_flip(data: bytes, rng: random.Random) -> bytes:
    """Bit flips in the structural bytes: tags and lengths near field starts."""
    fields = length_fields(data)
    if not fields:
        return m_bit_flips(data, rng)
    out = bytearray(data)
    a, b, _, _, _ = rng.choice(fields)
    i = rng.randrange(max(a - 2, 0), b)
    out[i] ^= 1 << rng.randrange(8)
    return bytes(out)


def m_length(data: bytes, rng: random.Random) -> bytes:
    """Rewrite one length field (shorter, longer, zero, huge)."""
    fields = length_fields(data)
    if not fields:
        return data
    a, b, end, _, _ = rng.choice(fields)
    old = end - b
    new = rng.choice([0, 1, old - 1, old + 1, old + 4, old * 2, 2**31, 2**32 + old, 2**63])
    return data[:a] + encode_varint(max(new, 0)) + data[b:]


def _top_layers(data: bytes) -> list[tuple[int, int]]:
    """Spans (tag start, payload end) of the top-level layer fields (100 and 2)."""
    spans = []
    for a, _, end, num, depth in length_fields(data):
        if depth == 0 and num in (100, 2):
            tag_start = a - (2 if num == 100 else 1)
            spans.append((tag_start, end))
    return spans


def m_duplicate_layer(data: bytes, rng: random.Random) -> bytes:
    spans = _top_layers(data)
    if not spans:
        return data
    a, b = rng.choice(spans)
    return data + data[a:b] if rng.random() < 0.5 else data[:a] + data[a:b] + data[a:]


def m_delete_layer(data: bytes, rng: random.Random) -> bytes:
    spans = _top_layers(data)
    if not spans:
        return data
    a, b = rng.choice(spans)
    return data[:a] + data[b:]


def m_delete_field(data: bytes, rng: random.Random) -> bytes:
    """Remove one nested length-delimited field (a blob, a shape, a name...)."""
    fields = [f for f in length_fields(data) if f[4] > 0]
    if not fields:
        return data
    a, b, end, num, _ = rng.choice(fields)
    tag_start = a - len(encode_varint(num << 3 | 2))
    return data[:tag_start] + data[end:]


def m_nan(data: bytes, rng: random.Random) -> bytes:
    """Overwrite some float data with NaN or Inf."""
    fields = [f for f in length_fields(data) if f[3] == 5 and f[2] - f[1] >= 4]
    if not fields:
        return data
    _, b, end, _, _ = rng.choice(fields)
    i = b + 4 * rng.randrange((end - b) // 4)
    value = rng.choice([b"\x00\x00\xc0\x7f", b"\x00\x00\x80\x7f", b"\x00\x00\x80\xff"])
    return data[:i] + value + data[i + 4 :]


def m_splice(data: bytes, rng: random.Random) -> bytes:
    at = rng.randrange(len(data) + 1)
    junk = bytes(rng.randrange(256) for _ in range(rng.randint(1, 16)))
    return data[:at] + junk + data[at:]


CAFFEMODEL_MUTATORS: tuple[Mutator, ...] = (
    m_truncate, m_bit_flips, m_header_flip, m_length, m_length, m_duplicate_layer,
    m_delete_layer, m_delete_field, m_nan, m_splice,
)  # fmt: skip
