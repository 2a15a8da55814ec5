"""Test helpers: V2 prototxts rewritten in the V1 ``layers`` form, and make_caffemodel.py."""

from __future__ import annotations

import importlib.util
from functools import cache
from types import ModuleType

from conftest import SHARED
from google.protobuf import text_format

from caffe2keras._proto import caffe_pb2
from caffe2keras.frontend.v1types import V1_TYPE_NAMES

_V1_NUMBER = {name: number for number, name in V1_TYPE_NAMES.items() if name}
_V1_FIELDS = frozenset(caffe_pb2.V1LayerParameter.DESCRIPTOR.fields_by_name)


@cache
def make_caffemodel() -> ModuleType:
    """``../shared/tools/make_caffemodel.py`` as a module (its ``build`` and ``V1_TYPES``)."""
    path = SHARED / "tools" / "make_caffemodel.py"
    spec = importlib.util.spec_from_file_location("make_caffemodel", path)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


class NotV1(ValueError):
    """The net uses something the V1 format cannot say."""


def _inputs(net: caffe_pb2.NetParameter, v1: caffe_pb2.NetParameter) -> None:
    shapes = [
        (top, list(layer.input_param.shape[min(i, len(layer.input_param.shape) - 1)].dim))
        for layer in net.layer
        if layer.type == "Input"
        for i, top in enumerate(layer.top)
    ]
    shapes += [(n, list(s.dim)) for n, s in zip(net.input, net.input_shape)]
    if net.input_dim:
        shapes += [(n, list(net.input_dim[4 * i : 4 * i + 4])) for i, n in enumerate(net.input)]
    v1.input.extend(n for n, _ in shapes)
    if all(len(s) == 4 for _, s in shapes):
        v1.input_dim.extend(d for _, s in shapes for d in s)
    else:
        for _, s in shapes:
            v1.input_shape.add().dim.extend(s)


def to_v1(net: caffe_pb2.NetParameter) -> caffe_pb2.NetParameter:
    """The same net in the V1 form: ``layers`` with enum types, inputs as net fields."""
    v1 = caffe_pb2.NetParameter(name=net.name)
    _inputs(net, v1)
    for layer in net.layer:
        if layer.type == "Input":
            continue
        if layer.type not in _V1_NUMBER:
            raise NotV1(f"type {layer.type} has no V1 enum value")
        entry = v1.layers.add(name=layer.name, type=_V1_NUMBER[layer.type])
        entry.bottom.extend(layer.bottom)
        entry.top.extend(layer.top)
        entry.include.extend(layer.include)
        entry.exclude.extend(layer.exclude)
        entry.blobs_lr.extend(p.lr_mult for p in layer.param)
        for fdesc, value in layer.ListFields():
            if fdesc.name.endswith("_param") and fdesc.name != "param":
                if fdesc.name not in _V1_FIELDS:
                    raise NotV1(f"{fdesc.name} has no V1 field")
                getattr(entry, fdesc.name).CopyFrom(value)
    return v1


def v1_text(v2_text: str) -> str:
    """A V2 prototxt's text rewritten as V1 text."""
    net = text_format.Parse(v2_text, caffe_pb2.NetParameter())
    return text_format.MessageToString(to_v1(net))
