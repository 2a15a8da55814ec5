"""The ``--reference`` choices: the numpy reference (always on) and the optional second opinions."""

from __future__ import annotations

import os
from collections.abc import Sequence

from caffe2keras.errors import UsageError
from caffe2keras.frontend.phase import NetState
from caffe2keras.ir.graph import Graph
from caffe2keras.verify.second import ENGINES, EngineRunner

REFERENCES = ("numpy", *ENGINES)


def make_runners(
    names: Sequence[str],
    prototxt: str | os.PathLike[str],
    caffemodel: str | os.PathLike[str],
    graph: Graph,
    state: NetState,
) -> dict[str, EngineRunner]:
    """A runner per requested second opinion ("numpy" is the verdict's own and needs none).

    Raises UsageError for an unknown name or an engine that is not installed, before any work.
    """
    from caffe2keras.verify.caffe_ref import caffe_runner
    from caffe2keras.verify.opencv_ref import opencv_runner

    factories = {"opencv": opencv_runner, "caffe": caffe_runner}
    runners: dict[str, EngineRunner] = {}
    for name in dict.fromkeys(names):
        if name == "numpy":
            continue
        if name not in factories:
            raise UsageError(f"unknown --reference '{name}' (choose from {', '.join(REFERENCES)})")
        runners[name] = factories[name](prototxt, caffemodel, graph, state)
    return runners
