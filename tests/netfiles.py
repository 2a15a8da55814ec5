"""Write small test nets: a prototxt text and a caffemodel from numpy blobs (via our schema)."""

from __future__ import annotations

from pathlib import Path

import numpy as np

from caffe2keras._proto import caffe_pb2


def write_net(
    folder: Path, prototxt: str, blobs: dict[str, list[np.ndarray]] | None = None
) -> tuple[Path, Path]:
    """Files ``net.prototxt`` and ``net.caffemodel`` in ``folder``."""
    proto = folder / "net.prototxt"
    proto.write_text(prototxt)
    net = caffe_pb2.NetParameter(name="test")
    for name, arrays in (blobs or {}).items():
        layer = net.layer.add(name=name)
        for arr in arrays:
            blob = layer.blobs.add()
            blob.shape.dim.extend(np.shape(arr))
            blob.data.extend(np.asarray(arr, np.float32).ravel().tolist())
    model = folder / "net.caffemodel"
    model.write_bytes(net.SerializeToString())
    return proto, model


def input_layer(shape: tuple[int, ...], name: str = "data") -> str:
    dims = " ".join(f"dim: {d}" for d in shape)
    head = f'layer {{ name: "{name}" type: "Input" top: "{name}" '
    return head + f"input_param {{ shape {{ {dims} }} }} }}\n"


# Every custom layer of caffe2keras/layers.py (keras.ops only), as (name, type, bottom, params).
CUSTOM_LAYERS = (
    ("abs", "AbsVal", "data", ""),
    ("pow", "Power", "abs", "power_param { power: 0.5 shift: 1 }"),
    ("log", "Log", "pow", ""),
    ("th", "Threshold", "data", "threshold_param { threshold: 0.1 }"),
    ("clip", "Clip", "data", "clip_param { min: -0.5 max: 0.5 }"),
    ("mvn", "MVN", "data", ""),
    ("am", "ArgMax", "data", "argmax_param { axis: 1 top_k: 2 }"),
    ("lrn", "LRN", "data", "lrn_param { local_size: 3 }"),
    ("padc", "Pad", "data", "pad_param { pad_u: 1 pad_d: 2 pad_r: 1 pad_value: -0.5 }"),
    ("padm", "Pad", "data", "pad_param { pad_type: REFLECT pad_u: 2 pad_l: 1 pad_r: 3 }"),
    ("pade", "Pad", "data", "pad_param { pad_type: REPLICATE pad_d: 3 pad_l: 2 }"),
    # windows past the input (issue 13): -FLT_MAX rows (MAX), signed zeros (AVE, sizes < 0)
    ("pmax", "Pooling", "data", "pooling_param { pool: MAX kernel_size: 1 stride: 2 }"),
    ("pave", "Pooling", "data", "pooling_param { pool: AVE kernel_size: 1 stride: 3 }"),
)


def chain_net(shape: tuple[int, ...], layers: tuple[tuple[str, str, str, str], ...]) -> str:
    """An input of ``shape`` followed by one single-top layer per (name, type, bottom, params)."""
    return input_layer(shape) + "".join(
        f'layer {{ name: "{name}" type: "{ltype}" bottom: "{bottom}" top: "{name}" {params} }}\n'
        for name, ltype, bottom, params in layers
    )
