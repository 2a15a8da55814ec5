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
