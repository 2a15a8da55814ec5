"""Protobuf wire-format primitives over one buffer, with errors that say where (byte offset and
the message being read). Used by the caffemodel reader, which decodes only the fields it needs and
skips the rest by wire type."""

from __future__ import annotations

from typing import NoReturn

from caffe2keras.errors import CaffemodelError

VARINT, I64, LEN, I32 = 0, 1, 2, 5
WIRE_NAMES = {VARINT: "varint", I64: "64-bit", LEN: "length-delimited", I32: "32-bit"}


def signed(value: int) -> int:
    """A varint read as int64 (protobuf encodes negative int32/int64 in ten bytes)."""
    return value - (1 << 64) if value >= 1 << 63 else value


class WireScanner:
    """Wire-format primitives over one buffer, with error messages that say where."""

    def __init__(self, buf: memoryview, path: str) -> None:
        self.buf = buf
        self.size = len(buf)
        self.path = path
        self.where = ""

    def fail(self, message: str, pos: int | None = None) -> NoReturn:
        where = [f"byte offset {pos}"] if pos is not None else []
        where += [self.where] if self.where else []
        prefix = f"{', '.join(where)}: " if where else ""
        raise CaffemodelError(prefix + message, path=self.path)

    def varint(self, pos: int, end: int) -> tuple[int, int]:
        buf, start, result, shift = self.buf, pos, 0, 0
        while True:
            if pos >= end:
                self.fail("truncated varint", start)
            byte = buf[pos]
            pos += 1
            result |= (byte & 0x7F) << shift
            if byte < 0x80:
                return result & 0xFFFFFFFFFFFFFFFF, pos
            shift += 7
            if shift >= 70:
                self.fail("malformed varint (longer than 10 bytes)", start)

    def next_field(self, pos: int, end: int) -> tuple[int, int, int, int]:
        """Read one field at ``pos``: (number, wire type, value or payload start, next position)."""
        tag, p = self.varint(pos, end)
        num, wire = tag >> 3, tag & 7
        if num == 0 or tag > 0xFFFFFFFF:
            self.fail(f"invalid field number {num}", pos)
        if wire == VARINT:
            value, p = self.varint(p, end)
            return num, wire, value, p
        if wire == LEN:
            length, p = self.varint(p, end)
            need = length
        elif wire in (I64, I32):
            length, need = 0, 8 if wire == I64 else 4
        elif wire in (3, 4):
            self.fail(f"field {num} has the group wire type {wire}, unused by caffe.proto", pos)
        else:
            self.fail(f"invalid wire type {wire} (field {num})", pos)
        if need > end - p:
            limit = "the end of the file" if end == self.size else f"its message (ends at {end})"
            self.fail(f"field {num} needs {need} bytes from offset {p}, past {limit}", pos)
        return num, wire, p, p + need

    def expect(self, num: int, wire: int, wanted: int, message: str, pos: int) -> None:
        if wire != wanted:
            got, need = WIRE_NAMES.get(wire, wire), WIRE_NAMES[wanted]
            self.fail(f"{message} field {num} has wire type {got}, expected {need}", pos)

    def text(self, start: int, end: int, what: str) -> str:
        raw = bytes(self.buf[start:end])
        try:
            return raw.decode("utf-8")
        except UnicodeDecodeError:
            pass
        self.fail(f"{what} {raw[:40]!r} is not valid UTF-8", start)
