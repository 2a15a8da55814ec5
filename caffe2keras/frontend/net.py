"""From files to the graphs the rest of the tool works on."""

from __future__ import annotations

import os
from dataclasses import dataclass

from caffe2keras.frontend.blobs import read_caffemodel
from caffe2keras.frontend.load import LoadOptions, build_raw_graph, naming_files, parse_prototxt
from caffe2keras.ir.graph import Graph
from caffe2keras.passes import KERAS_PIPELINE, REFERENCE_PIPELINE, run_pipeline


@dataclass(frozen=True)
class LoadedNet:
    """``reference`` keeps one node per Caffe layer; ``keras`` has the Keras-only rewrites."""

    reference: Graph
    keras: Graph


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
        reference = run_pipeline(raw, REFERENCE_PIPELINE)
        keras = run_pipeline(reference, KERAS_PIPELINE)
    return LoadedNet(reference=reference, keras=keras)
