"""Building blocks of the malformed-input corpus: the bundled fixture, the Case record, and
edits of the fixture's prototxt text and caffemodel (parsed with our schema, changed, serialized).
Nothing binary is committed: every file is made by these functions.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from caffe2keras._proto import caffe_pb2

REPO = Path(__file__).resolve().parents[2]
TINY = REPO / "fixtures" / "tiny"
PROTO = (TINY / "tiny.prototxt").read_text()
MODEL = (TINY / "tiny.caffemodel").read_bytes()

# (prototxt text or bytes, caffemodel bytes, extra CLI args); "{dir}" in args is the case folder
Files = tuple[str | bytes, bytes, tuple[str, ...]]


@dataclass(frozen=True)
class Case:
    """One malformed input. ``expect`` fragments may use {proto} / {model} for the file paths."""

    name: str
    make: Callable[[], Files]
    exit_code: int
    expect: tuple[str, ...]
    output: str = "out.h5"  # the -o file name; it must not exist afterwards (unless exit 0)
    verify: bool = False
    leaves_output: bool = False
    notes: tuple[str, ...] = field(default=())


def net() -> caffe_pb2.NetParameter:
    """The fixture's caffemodel, parsed (it is small)."""
    parsed = caffe_pb2.NetParameter()
    parsed.ParseFromString(MODEL)
    return parsed


def edit_model(fn: Callable[[caffe_pb2.NetParameter], None]) -> bytes:
    parsed = net()
    fn(parsed)
    return parsed.SerializeToString()


def layer(parsed: caffe_pb2.NetParameter, name: str) -> caffe_pb2.LayerParameter:
    return next(lay for lay in parsed.layer if lay.name == name)


def swap(old: str, new: str) -> str:
    assert PROTO.count(old) == 1, old
    return PROTO.replace(old, new)


def tiny(text: str | bytes = PROTO, model: bytes = MODEL, *args: str) -> Callable[[], Files]:
    return lambda: (text, model, tuple(args))


def delete_layer(name: str) -> bytes:
    def fn(parsed: caffe_pb2.NetParameter) -> None:
        del parsed.layer[[lay.name for lay in parsed.layer].index(name)]

    return edit_model(fn)


def rename_all(parsed: caffe_pb2.NetParameter) -> None:
    for lay in parsed.layer:
        lay.name = "other_" + lay.name.replace("/", "_")


def bn_blobs(count: int) -> bytes:
    def fn(parsed: caffe_pb2.NetParameter) -> None:
        bn = layer(parsed, "conv1/bn")
        while len(bn.blobs) > count:
            del bn.blobs[-1]
        while len(bn.blobs) < count:
            bn.blobs.add().CopyFrom(bn.blobs[0])

    return edit_model(fn)


def nan_weights(parsed: caffe_pb2.NetParameter) -> None:
    data = layer(parsed, "conv2").blobs[0].data
    data[0], data[1] = float("nan"), float("inf")


def huge_blob_shape(parsed: caffe_pb2.NetParameter) -> None:
    shape = layer(parsed, "fc").blobs[0].shape
    del shape.dim[:]
    shape.dim.extend([65536, 65536])


def short_blob(parsed: caffe_pb2.NetParameter) -> None:
    shape = layer(parsed, "conv2").blobs[0].shape
    shape.dim[0] = 40  # the file holds 4 * 8 * 3 * 3 values


def extra_layer(parsed: caffe_pb2.NetParameter) -> None:
    extra = parsed.layer.add(name="old_classifier", type="InnerProduct")
    blob = extra.blobs.add()
    blob.shape.dim.append(2)
    blob.data.extend([1.0, 2.0])


def flip_byte(data: bytes, offset: int, mask: int) -> bytes:
    out = bytearray(data)
    out[offset] ^= mask
    return bytes(out)


LAYER_TAG = MODEL.index(b"\xa2\x06")  # the first NetParameter.layer (field 100, length-delimited)


def long_length(data: bytes) -> bytes:
    """The first layer's length varint rewritten to claim far more bytes than the file has."""
    pos = LAYER_TAG + 2
    while data[pos] & 0x80:
        pos += 1
    return data[: LAYER_TAG + 2] + b"\xff\xff\xff\xff\x07" + data[pos + 1 :]


def binaryproto() -> bytes:
    blob = caffe_pb2.BlobProto()
    blob.shape.dim.extend([1, 3, 2, 2])
    blob.data.extend(np.zeros(12).tolist())
    return blob.SerializeToString()


HDF5 = b"\x89HDF\r\n\x1a\n" + bytes(64)
