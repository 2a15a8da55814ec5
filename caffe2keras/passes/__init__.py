"""Graph passes. Order matters; each constraint is stated next to the pass.

``REFERENCE_PIPELINE`` keeps Caffe's semantics layer by layer (what the numpy reference runs);
``KERAS_PIPELINE`` continues from its result with rewrites that only change how layers map onto
Keras.
"""

from __future__ import annotations

from collections.abc import Callable

from caffe2keras.ir.graph import Graph
from caffe2keras.passes import (
    checker,
    fork_bn,
    fuse_bn_scale,
    identity,
    inplace,
    nvcaffe_bn,
    silence,
    support,
)

Pass = Callable[[Graph], Graph]

REFERENCE_PIPELINE: tuple[Pass, ...] = (
    support.run,  # first: one error listing every unsupported type, before anything else fails
    nvcaffe_bn.run,  # before inplace: its Scale writes the BatchNorm's top in place
    fork_bn.run,  # before checker: settles which fork's blob layout the shape rule expects
    inplace.run,  # every later pass assumes one writer per blob
    checker.run,  # needs unique names for shapes; fits legacy blob shapes before anyone reads them
    identity.run,  # needs unique names to rewire consumers
    silence.run,  # after identity: a Silence may read a removed Split's top (already rewired)
)
KERAS_PIPELINE: tuple[Pass, ...] = (
    fuse_bn_scale.run,  # consumer counts are only right once Split/Dropout are gone
)
# ``inspect`` reports fusions from ``fuse_bn_scale.plan`` without running this pipeline (no blobs,
# no numpy): a new pass here must also be described in ``inspection/analyze.py``.


def run_reference_pipeline(graph: Graph, check: Pass = checker.run) -> tuple[Graph, Graph]:
    """(the graph right after the blob check: Caffe's layers, plus any a pass inserted, with
    unique blob names; the reference graph at the end of REFERENCE_PIPELINE). ``check`` stands
    in for :func:`checker.run` (``inspect`` without a caffemodel allows missing blobs)."""
    checked = graph
    for step in REFERENCE_PIPELINE:
        graph = (check if step is checker.run else step)(graph)
        if step is checker.run:
            checked = graph
    return checked, graph


def run_pipeline(graph: Graph, pipeline: tuple[Pass, ...]) -> Graph:
    """Apply the passes in order."""
    for step in pipeline:
        graph = step(graph)
    return graph
