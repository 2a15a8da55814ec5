"""The net definition handed to another engine (OpenCV, pycaffe) for a second opinion.

It is the user's prototxt, parsed with our own schema (never edited as text) and rewritten so
the engine runs exactly the net we verified:

- the layers of the instantiated graph only (phase/stage rules applied, data and training-only
  layers dropped; Split and Dropout kept so their consumers still find their bottoms);
- the inputs declared with ``input`` + ``input_shape`` at the shapes actually fed;
- for OpenCV, pooling rounding in the fork's ``ceil_mode`` form: OpenCV 4.x knows ``ceil_mode``
  but fails on BVLC's ``round_mode`` (``round_mode: FLOOR`` -> ``ceil_mode: false``).
"""

from __future__ import annotations

import os
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any

import numpy as np

from caffe2keras._proto import caffe_pb2
from caffe2keras.errors import UsageError
from caffe2keras.frontend.load import read_prototxt
from caffe2keras.frontend.phase import NetState, layer_included
from caffe2keras.ir.graph import Graph
from caffe2keras.verify.second import EngineRun, EngineRunner

_KEPT_IDENTITIES = ("Split", "Dropout")  # removed from our graph, still wired in the prototxt


def _opencv_pooling(layer: Any) -> None:
    """BVLC ``round_mode`` -> the ``ceil_mode`` OpenCV understands (same rounding)."""
    p = layer.pooling_param
    if p.HasField("round_mode"):
        floor = p.round_mode == caffe_pb2.PoolingParameter.FLOOR
        p.ClearField("round_mode")
        if floor:
            p.ceil_mode = False


def engine_net(
    prototxt: str | os.PathLike[str],
    graph: Graph,
    state: NetState,
    input_shapes: Mapping[str, tuple[int, ...]],
    *,
    for_opencv: bool,
) -> Any:
    """The rewritten NetParameter. ``input_shapes`` maps each input's Caffe name to its shape."""
    net = read_prototxt(prototxt)
    names = {source for layer in graph.layers for source in layer.sources}
    out = caffe_pb2.NetParameter()
    out.name = net.name or graph.name
    for spec in graph.inputs:
        name = graph.caffe_name(spec.name)
        out.input.append(name)
        out.input_shape.add().dim.extend(int(d) for d in input_shapes.get(name, spec.shape))
    for layer in net.layer:
        if not layer_included(layer, state):
            continue
        if layer.name not in names and layer.type not in _KEPT_IDENTITIES:
            continue
        kept = out.layer.add()
        kept.CopyFrom(layer)
        kept.ClearField("include")
        kept.ClearField("exclude")
        kept.ClearField("blobs")
        if for_opencv and kept.type == "Pooling":
            _opencv_pooling(kept)
    return out


def engine_prototxt(
    prototxt: str | os.PathLike[str],
    graph: Graph,
    state: NetState,
    input_shapes: Mapping[str, tuple[int, ...]],
    *,
    for_opencv: bool,
) -> str:
    """:func:`engine_net` as prototxt text."""
    from google.protobuf import text_format

    net = engine_net(prototxt, graph, state, input_shapes, for_opencv=for_opencv)
    return str(text_format.MessageToString(net))


def engine_runner(
    engine: str,
    prototxt: str | os.PathLike[str],
    caffemodel: str | os.PathLike[str],
    graph: Graph,
    state: NetState,
    run_text: Callable[[str, Mapping[str, np.ndarray]], EngineRun],
) -> EngineRunner:
    """A runner for ``verify_model`` that rewrites the net for the inputs' shapes and hands its
    text to ``run_text(prototxt_text, inputs)``; fails now when the caffemodel is missing."""
    if not Path(caffemodel).is_file():
        raise UsageError(f"--reference {engine} needs the caffemodel file '{caffemodel}'")

    def run(inputs: Mapping[str, np.ndarray]) -> EngineRun:
        shapes = {name: tuple(np.shape(v)) for name, v in inputs.items()}
        text = engine_prototxt(prototxt, graph, state, shapes, for_opencv=engine == "opencv")
        return run_text(text, inputs)

    return run
