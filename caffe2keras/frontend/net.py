"""From files to the graphs the rest of the tool works on."""

from __future__ import annotations

import os
from dataclasses import dataclass

from caffe2keras.frontend.blobs import read_caffemodel
from caffe2keras.frontend.load import LoadOptions, build_raw_graph, naming_files, parse_prototxt
from caffe2keras.ir.counts import NetCounts, count_net
from caffe2keras.ir.graph import Graph, Layer
from caffe2keras.passes import KERAS_PIPELINE, run_pipeline, run_reference_pipeline
from caffe2keras.passes.fuse_bn_scale import FUSED_TYPE


@dataclass(frozen=True)
class LoadedNet:
    """``reference`` keeps one node per Caffe layer; ``keras`` has the Keras-only rewrites."""

    reference: Graph
    keras: Graph
    counts: NetCounts  # what inspect, convert and verify count, labelled alike


def load_net(
    prototxt: str | os.PathLike[str],
    caffemodel: str | os.PathLike[str] | None = None,
    options: LoadOptions | None = None,
) -> LoadedNet:
    """Parse, pair blobs, check and run the pass pipelines."""
    options = options or LoadOptions()
    parsed = parse_prototxt(prototxt)
    weights = read_caffemodel(caffemodel) if caffemodel is not None else None
    with naming_files(prototxt, caffemodel):
        raw = build_raw_graph(parsed.net, weights, options, parsed.custom_fields)
        checked, reference = run_reference_pipeline(raw)
        keras = run_pipeline(reference, KERAS_PIPELINE)
    fusions = sum(1 for layer in keras.layers if layer.type == FUSED_TYPE)
    counts = count_net(checked, reference, fusions, _blob_shapes)
    return LoadedNet(reference=reference, keras=keras, counts=counts)


def _blob_shapes(layer: Layer) -> list[tuple[int, ...]]:
    return [tuple(blob.shape) for blob in layer.blobs]
