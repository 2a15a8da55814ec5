"""Read layer names, types and weight blobs from a binary .caffemodel without protobuf.

The file is memory-mapped and scanned in the protobuf wire format; only the fields needed here are
decoded (NetParameter.layer = 100 / layers = 2, the layer name, type and blobs, BlobProto shape and
data) and every other field is skipped by its wire type. Packed little-endian float32 data becomes a
read-only ``np.frombuffer`` view on the map, so a file of any size (also beyond protobuf's 2 GiB
message limit) costs no more memory than the pages the caller touches. The arrays keep the map
alive; it is never closed explicitly.

Field numbers follow BVLC ``src/caffe/proto/caffe.proto``; the blob shape rule (legacy 4-D dims win
when any of them is present) and the double_data preference follow ``Blob::FromProto`` in
``src/caffe/blob.cpp``; V0 layers nested in V1 ones are read as ``UpgradeV0LayerParameter`` does.
"""

from __future__ import annotations

import mmap
import os
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from types import MappingProxyType

import numpy as np

from caffe2keras.errors import CaffemodelError
from caffe2keras.frontend.v1types import v0_type_name, v1_type_name
from caffe2keras.frontend.wire import I32, I64, LEN, VARINT, WireScanner, signed

_MAX_COUNT = 2**31 - 1  # Blob::Reshape: "blob size exceeds INT_MAX"
_MAX_AXES = 32  # kMaxBlobAxes
_TEXT_CHARS = re.compile(rb"[^\x00-\x08\x0b\x0c\x0e-\x1f\x7f]*")
_TEXT_START = re.compile(rb"(?:\s|#[^\n]*\n)*[A-Za-z_]\w*\s*[:{]")
_HDF5_MAGIC = b"\x89HDF\r\n\x1a\n"

# Per layer message kind: field numbers of name, type, blobs, and how the type is encoded.
_LAYER_FIELDS = {
    "v2": (1, 2, 7, "string"),  # LayerParameter
    "v1": (4, 5, 6, "enum"),  # V1LayerParameter (field 1 holds a V0LayerParameter)
    "v0": (1, 2, 50, "v0"),  # V0LayerParameter
}


@dataclass(frozen=True)
class CaffemodelLayer:
    """One layer as stored in the caffemodel: its name, V2 type name and weight blobs."""

    name: str
    type: str
    blobs: tuple[np.ndarray, ...]


@dataclass(frozen=True)
class Caffemodel:
    """All layers of a caffemodel in file order; ``format`` is "v2", "v1" or "mixed"."""

    path: str
    format: str
    layers: tuple[CaffemodelLayer, ...]
    name: str = ""
    _index: Mapping[str, CaffemodelLayer] = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        index = MappingProxyType({layer.name: layer for layer in self.layers})
        object.__setattr__(self, "_index", index)

    def by_name(self) -> Mapping[str, CaffemodelLayer]:
        """Layers keyed by name (read-only); a later duplicate wins, as in CopyTrainedLayersFrom."""
        return self._index


class _Scanner(WireScanner):
    """The caffemodel's messages: layers, their types and blobs."""

    def layer(self, start: int, end: int, index: int, kind: str) -> CaffemodelLayer:
        """Decode one LayerParameter / V1LayerParameter / V0LayerParameter."""
        name_f, type_f, blobs_f, type_kind = _LAYER_FIELDS[kind]
        self.where = f"layer #{index}"
        name, ltype, spans, v0, pos = "", "", [], None, start
        while pos < end:
            num, wire, a, b = self.next_field(pos, end)
            if num == name_f:
                self.expect(num, wire, LEN, "layer name", pos)
                name = self.text(a, b, "layer name")
                self.where = f"layer '{name}'"
            elif num == type_f:
                ltype = self.layer_type(num, wire, a, b, pos, type_kind)
            elif num == blobs_f:
                self.expect(num, wire, LEN, "layer blobs", pos)
                spans.append((a, b))
            elif kind == "v1" and num == 1:
                self.expect(num, wire, LEN, "V0 layer", pos)
                v0 = (a, b)
            pos = b
        if v0 is not None:  # UpgradeV0LayerParameter keeps only the V0 content
            return self.layer(v0[0], v0[1], index, "v0")
        blobs = tuple(self.blob(a, b, i) for i, (a, b) in enumerate(spans))
        return CaffemodelLayer(name=name, type=ltype, blobs=blobs)

    def layer_type(self, num: int, wire: int, a: int, b: int, pos: int, type_kind: str) -> str:
        if type_kind == "enum":
            self.expect(num, wire, VARINT, "V1 layer type", pos)
            try:
                return v1_type_name(a)
            except ValueError as exc:
                self.fail(str(exc), pos)
        self.expect(num, wire, LEN, "layer type", pos)
        raw = self.text(a, b, "layer type")
        if type_kind == "string":
            return raw
        try:
            return v0_type_name(raw)
        except ValueError as exc:
            self.fail(str(exc), pos)

    def blob(self, start: int, end: int, index: int) -> np.ndarray:
        """Decode one BlobProto into a read-only array of its shape."""
        legacy: list[int | None] = [None] * 4
        dims: list[int] = []
        pieces: dict[int, list[np.ndarray]] = {5: [], 8: []}
        pos = start
        while pos < end:
            num, wire, a, b = self.next_field(pos, end)
            if 1 <= num <= 4:
                self.expect(num, wire, VARINT, "BlobProto legacy dimension", pos)
                legacy[num - 1] = signed(a)
            elif num == 7:
                self.expect(num, wire, LEN, "BlobProto shape", pos)
                dims += self.dims(a, b)  # a repeated message field merges: dims concatenate
            elif num in pieces:
                b = self.values(num, wire, pos, a, b, end, pieces[num])
            pos = b
        has_legacy = any(d is not None for d in legacy)
        shape = tuple(d or 0 for d in legacy) if has_legacy else tuple(dims)
        count = self.check_shape(shape, index, start)
        data = pieces[8] if sum(p.size for p in pieces[8]) else pieces[5]
        arr = data[0] if len(data) == 1 else np.concatenate(data or [np.empty(0, "<f4")])
        if arr.size != count:
            self.fail(f"blob {index} holds {arr.size} values but its shape {shape} needs {count}")
        if not arr.dtype.isnative:
            arr = arr.astype(arr.dtype.newbyteorder("="))
        arr = arr.reshape(shape)
        arr.flags.writeable = False
        return arr

    def dims(self, pos: int, end: int) -> list[int]:
        """The dims of one BlobShape, packed or not."""
        out = []
        while pos < end:
            num, wire, a, b = self.next_field(pos, end)
            if num == 1 and wire == VARINT:
                out.append(signed(a))
            elif num == 1:
                self.expect(num, wire, LEN, "BlobShape dim", pos)
                while a < b:
                    value, a = self.varint(a, b)
                    out.append(signed(value))
            pos = b
        return out

    def values(
        self, num: int, wire: int, tag: int, a: int, b: int, end: int, out: list[np.ndarray]
    ) -> int:
        """Append the floats (field 5) or doubles (field 8) of one field; return the next offset.

        A packed field is a zero-copy view. Unpacked elements (one tag each) are gathered with one
        strided view over the run of identical one-byte tags that starts here, then copied.
        """
        dtype = np.dtype("<f4" if num == 5 else "<f8")
        item = dtype.itemsize
        if wire == LEN:
            if (b - a) % item:
                self.fail(f"field {num} holds {b - a} bytes, not a multiple of {item}", tag)
            out.append(np.frombuffer(self.buf, dtype, (b - a) // item, a))
            return b
        self.expect(num, wire, I32 if item == 4 else I64, "BlobProto data", tag)
        if a - tag != 1:  # a tag in a non-canonical (longer) varint: take this element alone
            out.append(np.frombuffer(self.buf, dtype, 1, a))
            return b
        stride = 1 + item
        rows, run, window = (end - tag) // stride, 0, 16
        while run < rows:  # growing windows: the cost stays linear in the run, however it ends
            n = min(window, rows - run)
            column = np.frombuffer(self.buf, np.uint8, n * stride, tag + run * stride)[::stride]
            breaks = np.flatnonzero(column != self.buf[tag])
            run, window = run + (int(breaks[0]) if breaks.size else n), window * 4
            if breaks.size:
                break
        strided = np.ndarray((run,), dtype, buffer=self.buf, offset=a, strides=(stride,))
        out.append(strided.copy())
        return tag + run * stride

    def check_shape(self, shape: tuple[int, ...], index: int, pos: int) -> int:
        if len(shape) > _MAX_AXES:
            self.fail(f"blob {index} has {len(shape)} axes (Caffe allows {_MAX_AXES})", pos)
        if any(d < 0 for d in shape):
            self.fail(f"blob {index} has a negative dimension in shape {shape}", pos)
        count = 1
        for d in shape:
            count *= d
            if count > _MAX_COUNT:
                self.fail(f"blob {index} shape {shape} exceeds Caffe's 2**31-1 elements", pos)
        return count


def _sniff(scanner: _Scanner) -> None:
    """Refuse files that are obviously not a binary protobuf, naming what they look like."""
    head = bytes(scanner.buf[:512])
    if head.startswith(_HDF5_MAGIC):
        scanner.fail("looks like an HDF5 file (Caffe's .caffemodel.h5), not a binary caffemodel")
    if _TEXT_CHARS.fullmatch(head) and _TEXT_START.match(head):
        scanner.fail("looks like a prototxt (text), not a binary caffemodel")


def _top_field(scanner: _Scanner, pos: int, index: int) -> tuple[int, int, int, int]:
    """Read a NetParameter field; a layer cut off by the end of the file is named if possible."""
    try:
        return scanner.next_field(pos, scanner.size)
    except CaffemodelError:
        name = _partial_layer_name(scanner, pos)
        if name is None:
            raise
    where = f"layer #{index} ('{name}') runs past the end of the file ({scanner.size} bytes)"
    scanner.fail(f"{where}: is the file truncated?", pos)


def _partial_layer_name(scanner: _Scanner, pos: int) -> str | None:
    """The name of a V2/V1 layer whose bytes are cut short, when the name itself is complete."""
    try:
        tag, p = scanner.varint(pos, scanner.size)
        if tag not in ((100 << 3) | LEN, (2 << 3) | LEN):
            return None
        name_field = 1 if tag >> 3 == 100 else 4
        _, p = scanner.varint(p, scanner.size)
        while p < scanner.size:
            num, wire, a, p = scanner.next_field(p, scanner.size)
            if num == name_field and wire == LEN:
                return bytes(scanner.buf[a:p]).decode("utf-8", "replace")
    except CaffemodelError:
        return None
    return None


def parse_caffemodel_bytes(
    buf: bytes | bytearray | memoryview | mmap.mmap, path: str = "<bytes>"
) -> Caffemodel:
    """Scan a serialized NetParameter held in memory (or mapped) and return its layers."""
    view = memoryview(buf)
    if view.ndim != 1 or view.itemsize != 1:
        view = view.cast("B")
    scanner = _Scanner(view, path)
    if scanner.size == 0:
        scanner.fail("the file is empty")
    _sniff(scanner)
    layers: list[CaffemodelLayer] = []
    kinds: set[str] = set()
    net_name, has_name, pos = "", False, 0
    while pos < scanner.size:
        num, wire, a, b = _top_field(scanner, pos, len(layers))
        if num == 1:
            scanner.expect(num, wire, LEN, "NetParameter name", pos)
            net_name, has_name = scanner.text(a, b, "net name"), True
        elif num in (100, 2):
            kind = "v2" if num == 100 else "v1"
            scanner.expect(num, wire, LEN, f"NetParameter layer{'' if num == 100 else 's'}", pos)
            layers.append(scanner.layer(a, b, len(layers), kind))
            kinds.add(kind)
            scanner.where = ""
        pos = b
    if not layers and not has_name:  # a named net without weights is legal (and in ../shared)
        scanner.fail("holds no layers and no net name: not a caffemodel (a .binaryproto?)")
    fmt = kinds.pop() if len(kinds) == 1 else ("mixed" if kinds else "v2")
    return Caffemodel(path=path, format=fmt, layers=tuple(layers), name=net_name)


def read_caffemodel(path: str | os.PathLike[str]) -> Caffemodel:
    """Memory-map a .caffemodel file and return its layers; blobs are views on the map."""
    name = os.fspath(path)
    try:
        with open(name, "rb") as handle:
            if os.fstat(handle.fileno()).st_size == 0:
                raise CaffemodelError("the file is empty", path=name)
            mapped = mmap.mmap(handle.fileno(), 0, access=mmap.ACCESS_READ)
    except OSError as exc:
        raise CaffemodelError(f"cannot read the file: {exc.strerror or exc}", path=name) from exc
    return parse_caffemodel_bytes(mapped, name)
