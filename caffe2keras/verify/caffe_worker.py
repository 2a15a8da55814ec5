"""Run a net in pycaffe and save every layer's outputs: the child process of ``--reference caffe``.

Caffe aborts the whole process on errors (glog CHECK failures), so this runs alone:

    python -m caffe2keras.verify.caffe_worker REQUEST_DIR

``REQUEST_DIR`` holds ``net.prototxt`` (already instantiated: no phase rules, inputs declared at
the shapes fed), ``inputs.npz`` (NCHW float32 by input name) and ``request.json``
(``{"caffemodel": path}``). The worker writes ``blobs.npz`` and ``result.json``
(``{"engine": ..., "tops": [[layer name, top index, npz key], ...]}``). Each layer runs alone
(``Net._forward(i, i)``) and its tops are copied right after, so every version of an in-place
blob is kept. Only numpy, json and caffe are imported: never our own protobuf schema, which would
clash with Caffe's in the protobuf descriptor pool.
"""

from __future__ import annotations

import json
import os
import sys
from typing import Any

import numpy as np


def run(request_dir: str) -> None:
    """Forward the request's net layer by layer and save every top."""
    import caffe

    with open(os.path.join(request_dir, "request.json")) as f:
        request = json.load(f)
    caffe.set_mode_cpu()
    net: Any = caffe.Net(
        os.path.join(request_dir, "net.prototxt"), request["caffemodel"], caffe.TEST
    )
    with np.load(os.path.join(request_dir, "inputs.npz"), allow_pickle=False) as z:
        for name in z.files:
            value = z[name]
            net.blobs[name].reshape(*value.shape)
            net.blobs[name].data[...] = value
    net.reshape()
    saved: dict[str, Any] = {}
    tops: list[list[Any]] = []
    top_names = net.top_names
    for i, layer in enumerate(net._layer_names):
        net._forward(i, i)
        for j, top in enumerate(top_names[layer]):
            key = f"t{len(saved)}"
            saved[key] = np.array(net.blobs[top].data, dtype=np.float32, copy=True)
            tops.append([str(layer), j, key])
    np.savez(os.path.join(request_dir, "blobs.npz"), **saved)
    version = getattr(caffe, "__version__", "")
    result = {"engine": f"Caffe {version}".strip() + " (pycaffe, CPU)", "tops": tops}
    with open(os.path.join(request_dir, "result.json"), "w") as f:
        json.dump(result, f)


if __name__ == "__main__":
    run(sys.argv[1])
