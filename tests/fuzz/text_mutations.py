"""Mutators of prototxt text, driven by a ``random.Random``: changed numbers, enums, names and
field names, duplicated/deleted/swapped layer blocks, deleted spans, stray characters, added
parameter blocks, truncation, and structure-aware edits (one field of one layer's own params set
to a random, often extreme, value through the protobuf schema).
"""

from __future__ import annotations

import random
import re
from collections.abc import Callable
from typing import Any

from google.protobuf import text_format
from google.protobuf.descriptor import FieldDescriptor

from caffe2keras._proto import caffe_pb2

Mutator = Callable[[bytes, random.Random], bytes]

_NUMBER = re.compile(rb"-?\d+(?:\.\d+)?(?:e-?\d+)?")
_QUOTED = re.compile(rb'"[^"\n]*"')
_WORD = re.compile(rb"\b[a-z_]+\b")
_INTERESTING = [
    b"0", b"-1", b"1", b"2", b"3", b"7", b"65536", b"2147483647", b"2147483648",
    b"-2147483648", b"4294967295", b"99999999999", b"1e40", b"nan", b"inf", b"-0.0", b"0.5",
]  # fmt: skip
_ENUMS = [
    b"MAX", b"AVE", b"STOCHASTIC", b"SUM", b"PROD", b"ACROSS_CHANNELS", b"WITHIN_CHANNEL",
    b"true", b"false", b"TRAIN", b"TEST", b"FLOOR", b"CEIL", b"SUM_SQ", b"ASUM", b"MEAN",
]  # fmt: skip
_ENUM = re.compile(rb"\b(?:" + rb"|".join(_ENUMS) + rb")\b")
_TYPES = [
    b"Convolution", b"Deconvolution", b"Pooling", b"BatchNorm", b"Scale", b"ReLU", b"Concat",
    b"Eltwise", b"InnerProduct", b"Softmax", b"Flatten", b"Reshape", b"Split", b"Dropout",
    b"Slice", b"Crop", b"LRN", b"PReLU", b"Python", b"Input", b"Silence", b"Data", b"Bias",
    b"Permute", b"Tile", b"Reduction", b"ArgMax", b"MVN", b"Power", b"Axpy", b"Frobnicate",
]  # fmt: skip


def layer_spans(text: bytes) -> list[tuple[int, int]]:
    """Byte spans of the top-level ``layer { ... }`` / ``layers { ... }`` blocks."""
    spans, depth, start = [], 0, -1
    for m in re.finditer(rb"\blayers?\s*\{|[{}]", text):
        tok = m.group()
        if tok.startswith(b"layer"):
            if depth == 0:
                start = m.start()
            depth += 1
        elif tok == b"{":
            depth += 1
        else:
            depth -= 1
            if depth == 0 and start >= 0:
                spans.append((start, m.end()))
                start = -1
            depth = max(depth, 0)
    return spans


def _replace_match(data: bytes, rng: random.Random, pattern: re.Pattern, choices: list) -> bytes:
    found = list(pattern.finditer(data))
    if not found:
        return data
    m = rng.choice(found)
    return data[: m.start()] + rng.choice(choices) + data[m.end() :]


def p_number(data: bytes, rng: random.Random) -> bytes:
    """Replace one number with an interesting value or a small one."""
    small = [str(n).encode() for n in range(1, 13)]
    return _replace_match(data, rng, _NUMBER, _INTERESTING + small)


def p_enum(data: bytes, rng: random.Random) -> bytes:
    """Swap one enum or boolean value for another."""
    return _replace_match(data, rng, _ENUM, _ENUMS)


def p_name(data: bytes, rng: random.Random) -> bytes:
    """Replace one quoted string (name, type, bottom, top) with another one from the file."""
    quoted = [m.group() for m in _QUOTED.finditer(data)]
    extra = [b'"nowhere"', b'""', b'"a/b"', b'"\\303\\251"', *(b'"%s"' % t for t in _TYPES)]
    return _replace_match(data, rng, _QUOTED, quoted + extra)


def p_field(data: bytes, rng: random.Random) -> bytes:
    """Replace one field name with another field name from the file."""
    words = sorted({m.group() for m in _WORD.finditer(data)})
    return _replace_match(data, rng, _WORD, words)


def p_duplicate_layer(data: bytes, rng: random.Random) -> bytes:
    spans = layer_spans(data)
    if not spans:
        return data
    a, b = rng.choice(spans)
    at = rng.choice([a, b, len(data)])
    return data[:at] + b"\n" + data[a:b] + b"\n" + data[at:]


def p_delete_layer(data: bytes, rng: random.Random) -> bytes:
    spans = layer_spans(data)
    if not spans:
        return data
    a, b = rng.choice(spans)
    return data[:a] + data[b:]


def p_swap_layers(data: bytes, rng: random.Random) -> bytes:
    spans = layer_spans(data)
    if len(spans) < 2:
        return data
    (a, b), (c, d) = sorted(rng.sample(spans, 2))
    return data[:a] + data[c:d] + data[b:c] + data[a:b] + data[d:]


def p_delete_span(data: bytes, rng: random.Random) -> bytes:
    if not data:
        return data
    a = rng.randrange(len(data))
    return data[:a] + data[a + rng.randint(1, 40) :]


def p_insert(data: bytes, rng: random.Random) -> bytes:
    snippets = [b"{", b"}", b'"', b":", b"\x00", b"\xff\xfe", b"#", b"\n", b" layer { ", b"-"]
    at = rng.randrange(len(data) + 1)
    return data[:at] + rng.choice(snippets) + data[at:]


def p_add_param(data: bytes, rng: random.Random) -> bytes:
    """Add a parameter block or value to a random layer."""
    spans = layer_spans(data)
    if not spans:
        return data
    extra = rng.choice([
        b" convolution_param { num_output: 0 }", b" pooling_param { kernel_size: 0 }",
        b" include { phase: TRAIN }", b" exclude { phase: TEST }", b' bottom: "data"',
        b' top: "data"', b" batch_norm_param { use_global_stats: false }",
        b" eltwise_param { operation: PROD coeff: 2 }", b" pooling_param { global_pooling: true }",
        b" reshape_param { shape { dim: -1 dim: -1 } }", b" slice_param { slice_point: 99 }",
        b" python_param { module: 'os' layer: 'system' }", b" scale_param { num_axes: 0 }",
        b" concat_param { axis: 5 }", b" softmax_param { axis: -9 }",
    ])  # fmt: skip
    _, b = rng.choice(spans)
    return data[: b - 1] + extra + data[b - 1 :]


_INTS = [0, 1, 2, 3, 4, 5, 7, 16, -1, -2, -7, 65536, 2**31 - 1, 2**32 - 1]
_FLOATS = [0.0, 1.0, -1.0, 0.5, 2.0, 1e-30, 1e30, -1e30, float("nan"), float("inf"), -0.0]
_INT_RANGES = {
    FieldDescriptor.TYPE_INT32: (-(2**31), 2**31 - 1),
    FieldDescriptor.TYPE_INT64: (-(2**63), 2**63 - 1),
    FieldDescriptor.TYPE_UINT32: (0, 2**32 - 1),
    FieldDescriptor.TYPE_UINT64: (0, 2**64 - 1),
}


def _value(field: FieldDescriptor, rng: random.Random) -> object:
    if field.type in _INT_RANGES:
        low, high = _INT_RANGES[field.type]
        return min(max(rng.choice(_INTS), low), high)
    if field.type in (FieldDescriptor.TYPE_FLOAT, FieldDescriptor.TYPE_DOUBLE):
        return rng.choice(_FLOATS)
    if field.type == FieldDescriptor.TYPE_BOOL:
        return rng.random() < 0.5
    if field.type == FieldDescriptor.TYPE_ENUM:
        return rng.choice(field.enum_type.values).number
    return rng.choice(["", "x", "data"])


def _set_random_field(msg: Any, rng: random.Random, depth: int = 0) -> None:
    """Give one random field of ``msg`` a random (often extreme) value."""
    fields = list(msg.DESCRIPTOR.fields)
    if not fields:
        return
    field = rng.choice(fields)
    if field.type == FieldDescriptor.TYPE_MESSAGE:
        if depth < 2:
            sub = getattr(msg, field.name)
            target = sub.add() if field.is_repeated else sub
            _set_random_field(target, rng, depth + 1)
        return
    if field.is_repeated:
        values = getattr(msg, field.name)
        del values[:]
        values.extend(_value(field, rng) for _ in range(rng.randint(0, 4)))
    else:
        setattr(msg, field.name, _value(field, rng))


def _param_fields(layer: Any) -> list[str]:
    """The ``*_param`` fields of a layer message that belong to its type (by name)."""
    ltype = layer.type if isinstance(layer.type, str) else ""
    key = ltype.lower().replace("deconvolution", "convolution")
    names = [f.name for f in layer.DESCRIPTOR.fields if f.name.endswith("_param")]
    own = [n for n in names if n[: -len("_param")].replace("_", "") == key]
    return own or [n for n in names if layer.HasField(n)]


def p_structured(data: bytes, rng: random.Random) -> bytes:
    """Parse the prototxt, set one field of one layer's own params (or of the layer itself) to a
    random, often extreme value, and print it back; unparsable text is left alone."""
    net = caffe_pb2.NetParameter()
    try:
        text_format.Parse(data.decode("utf-8"), net)
    except (text_format.ParseError, UnicodeDecodeError):
        return data
    layers = list(net.layer) or list(net.layers)
    if not layers:
        return data
    layer = rng.choice(layers)
    params = _param_fields(layer)
    if params and rng.random() < 0.8:
        _set_random_field(getattr(layer, rng.choice(params)), rng)
    else:
        _set_random_field(layer, rng)
    return text_format.MessageToString(net).encode()


def p_truncate(data: bytes, rng: random.Random) -> bytes:
    return data[: rng.randrange(len(data) + 1)]


PROTOTXT_MUTATORS: tuple[Mutator, ...] = (
    p_structured, p_structured, p_structured, p_number, p_number, p_enum, p_name, p_field,
    p_duplicate_layer, p_delete_layer, p_swap_layers, p_delete_span, p_insert, p_add_param,
    p_truncate,
)  # fmt: skip
