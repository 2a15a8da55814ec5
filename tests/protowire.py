"""A tiny protobuf wire-format encoder for tests, independent of the reader under test
(``caffe2keras/frontend/wire.py``) and of protobuf itself."""

from __future__ import annotations

import struct


def varint(n: int) -> bytes:
    n &= (1 << 64) - 1
    out = bytearray()
    while True:
        out.append((n & 0x7F) | (0x80 if n > 0x7F else 0))
        n >>= 7
        if not n:
            return bytes(out)


def tag(num: int, wire: int) -> bytes:
    return varint((num << 3) | wire)


def ld(num: int, payload: bytes) -> bytes:
    return tag(num, 2) + varint(len(payload)) + payload


def vi(num: int, value: int) -> bytes:
    return tag(num, 0) + varint(value)


def f32(num: int, value: float) -> bytes:
    return tag(num, 5) + struct.pack("<f", value)


def f64(num: int, value: float) -> bytes:
    return tag(num, 1) + struct.pack("<d", value)
