"""Seed nets for fuzzing: the bundled fixture plus small hand-written nets of more layer types.

Each seed is (prototxt text, caffemodel bytes). The caffemodels of the hand-written nets are made
here from the blob shapes our own shape rules demand, filled with seeded random values (BatchNorm
variances positive, moving-average factor 1), so every seed converts and verifies cleanly.
"""

from __future__ import annotations

import tempfile
from functools import cache
from pathlib import Path

import numpy as np

from caffe2keras._proto import caffe_pb2

REPO = Path(__file__).resolve().parents[2]
TINY = REPO / "fixtures" / "tiny"

WIDE = """\
name: "wide"
layer { name: "data" type: "Input" top: "data"
  input_param { shape { dim: 1 dim: 4 dim: 9 dim: 9 } } }
layer { name: "split" type: "Split" bottom: "data" top: "a" top: "b" }
layer { name: "conv" type: "Convolution" bottom: "a" top: "conv"
  convolution_param { num_output: 4 kernel_size: 3 pad: 1 group: 2 } }
layer { name: "prelu" type: "PReLU" bottom: "conv" top: "conv" }
layer { name: "lrn" type: "LRN" bottom: "b" top: "lrn" lrn_param { local_size: 3 } }
layer { name: "sum" type: "Eltwise" bottom: "conv" bottom: "lrn" top: "sum"
  eltwise_param { operation: SUM coeff: 1 coeff: -0.5 } }
layer { name: "deconv" type: "Deconvolution" bottom: "sum" top: "deconv"
  convolution_param { num_output: 2 kernel_size: 4 stride: 2 pad: 1 } }
layer { name: "crop" type: "Crop" bottom: "deconv" bottom: "data" top: "crop"
  crop_param { axis: 2 offset: 1 } }
layer { name: "slice" type: "Slice" bottom: "crop" top: "s1" top: "s2"
  slice_param { axis: 1 slice_point: 1 } }
layer { name: "mul" type: "Eltwise" bottom: "s1" bottom: "s2" top: "mul"
  eltwise_param { operation: PROD } }
layer { name: "pool" type: "Pooling" bottom: "mul" top: "pool"
  pooling_param { pool: AVE kernel_size: 3 stride: 2 pad: 1 } }
layer { name: "drop" type: "Dropout" bottom: "pool" top: "pool" }
layer { name: "flat" type: "Flatten" bottom: "pool" top: "flat" }
layer { name: "ip" type: "InnerProduct" bottom: "flat" top: "ip"
  inner_product_param { num_output: 5 } }
layer { name: "sig" type: "Sigmoid" bottom: "ip" top: "sig" }
layer { name: "reshape" type: "Reshape" bottom: "sig" top: "out"
  reshape_param { shape { dim: 0 dim: 5 dim: 1 } } }
"""

LEGACY = """\
name: "legacy"
input: "data"
input_dim: 1
input_dim: 3
input_dim: 8
input_dim: 8
layers { name: "conv1" type: CONVOLUTION bottom: "data" top: "conv1"
  convolution_param { num_output: 3 kernel_size: 3 stride: 1 } }
layers { name: "relu1" type: RELU bottom: "conv1" top: "conv1" }
layers { name: "pool1" type: POOLING bottom: "conv1" top: "pool1"
  pooling_param { pool: MAX kernel_size: 2 stride: 2 } }
layers { name: "norm" type: LRN bottom: "pool1" top: "norm" lrn_param { local_size: 3 } }
layers { name: "ip1" type: INNER_PRODUCT bottom: "norm" top: "ip1"
  inner_product_param { num_output: 4 } }
layers { name: "prob" type: SOFTMAX bottom: "ip1" top: "prob" }
"""


def _blob_values(layer_type: str, index: int, shape: tuple[int, ...], rng: np.random.Generator):
    if layer_type == "BatchNorm":
        if index == 2:
            return np.ones(shape)
        if index == 1:
            return rng.uniform(0.5, 2.0, shape)
    return rng.normal(0.0, 0.3, shape)


def synthesize_caffemodel(prototxt: str, seed: int = 0) -> bytes:
    """A caffemodel holding random blobs of the shapes the prototxt's layers need."""
    from caffe2keras.frontend.load import LoadOptions, build_raw_graph, read_prototxt
    from caffe2keras.ir.shapes import infer_layer
    from caffe2keras.passes import inplace

    with tempfile.TemporaryDirectory(prefix="c2k-seed-") as folder:
        path = Path(folder) / "seed.prototxt"
        path.write_text(prototxt)
        graph = inplace.run(build_raw_graph(read_prototxt(path), None, LoadOptions()))
    shapes = {spec.name: spec.shape for spec in graph.inputs}
    rng = np.random.default_rng(seed)
    net = caffe_pb2.NetParameter(name=graph.name)
    for layer in graph.layers:
        result = infer_layer(layer, [shapes[b] for b in layer.bottoms])
        shapes.update(zip(layer.tops, result.tops))
        if not result.blobs:
            continue
        out = net.layer.add(name=layer.name, type=layer.type)  # V2 layers, also for V1 nets
        for i, shape in enumerate(result.blobs):
            blob = out.blobs.add()
            blob.shape.dim.extend(shape)
            values = _blob_values(layer.type, i, tuple(shape), rng)
            blob.data.extend(np.asarray(values, np.float32).ravel().tolist())
    return net.SerializeToString()


@cache
def seed_nets() -> tuple[tuple[str, bytes, bytes], ...]:
    """(name, prototxt bytes, caffemodel bytes) of every seed net."""
    tiny = ((TINY / "tiny.prototxt").read_bytes(), (TINY / "tiny.caffemodel").read_bytes())
    return (
        ("tiny", *tiny),
        ("wide", WIDE.encode(), synthesize_caffemodel(WIDE, 1)),
        ("legacy", LEGACY.encode(), synthesize_caffemodel(LEGACY, 2)),
    )
