"""Run one layer's numpy reference op on given bottoms (the layer parsed from prototxt text)."""

from __future__ import annotations

import numpy as np

from caffe2keras.ir.graph import Layer
from caffe2keras.reference.registry import lookup_reference_op


def reference_tops(
    ltype: str, params: str, inputs: list[np.ndarray], tops: tuple[str, ...] = ("out",)
) -> list[np.ndarray]:
    """The reference tops of a layer ``L`` of type ``ltype`` with bottoms in0, in1, ..."""
    from google.protobuf import text_format

    from caffe2keras._proto import caffe_pb2
    from caffe2keras.frontend.params.registry import parse_params

    bottoms = tuple(f"in{i}" for i in range(len(inputs)))
    text = f'name: "L" type: "{ltype}" ' + "".join(f'bottom: "{b}" ' for b in bottoms) + params
    proto = text_format.Parse(text, caffe_pb2.LayerParameter())
    layer = Layer("L", ltype, bottoms, tops, parse_params(proto))
    op = lookup_reference_op(ltype)
    assert op is not None, ltype
    return op(layer, inputs, np.dtype(np.float32))
