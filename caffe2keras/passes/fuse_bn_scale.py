"""BatchNorm + Scale fusion.

Given: a graph with unique blob names, Split/Dropout removed.
Result: each safe BatchNorm -> Scale pair is one ``BatchNormScale`` node (named after the
BatchNorm, writing the Scale's top) whose blobs are (mean, variance, gamma, beta) already divided
by Caffe's moving-average factor, ready for one Keras BatchNormalization.
Guards: the BatchNorm uses global statistics and has its 3 blobs; its top has exactly one consumer,
that consumer is a Scale with one bottom on axis 1 covering one axis (the channels), with learned
blobs (gamma, and beta when bias_term); the gamma length equals the BatchNorm's channel count.
Anything else stays as separate nodes.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from caffe2keras.ir.batchnorm import bn_statistics
from caffe2keras.ir.graph import Graph, Layer

if TYPE_CHECKING:
    import numpy as np

FUSED_TYPE = "BatchNormScale"


@dataclass(frozen=True)
class BatchNormScaleParams:
    """Params of the fused node: Caffe's BatchNorm epsilon."""

    eps: float


def _size(blob: Any) -> int:
    return math.prod(blob.shape)


def _fusable(bn: Layer, consumers: list[Layer]) -> Layer | None:
    if bn.type != "BatchNorm" or bn.params.use_global_stats is False or len(bn.blobs) != 3:
        return None
    if len(consumers) != 1:
        return None
    scale = consumers[0]
    p = scale.params
    if scale.type != "Scale" or len(scale.bottoms) != 1 or p.axis != 1 or p.num_axes != 1:
        return None
    if len(scale.blobs) != (2 if p.bias_term else 1):
        return None
    if _size(scale.blobs[0]) != _size(bn.blobs[0]):
        return None
    return scale


def plan(graph: Graph) -> dict[str, Layer]:
    """BatchNorm name -> the Scale it fuses with: the pass's decision. The guards read only blob
    counts and shapes, so ``inspect`` can decide with shape-only stand-ins for the blobs."""
    consumers = graph.consumers()
    pairs: dict[str, Layer] = {}
    for layer in graph.layers:
        scale = _fusable(layer, consumers.get(layer.tops[0], [])) if layer.tops else None
        if scale is not None:
            pairs[layer.name] = scale
    return pairs


def fused_node(bn: Layer, scale: Layer, blobs: tuple[np.ndarray, ...] = ()) -> Layer:
    """The node replacing a planned pair (named after the BatchNorm, writing the Scale's top)."""
    return Layer(
        name=bn.name,
        type=FUSED_TYPE,
        bottoms=bn.bottoms,
        tops=scale.tops,
        params=BatchNormScaleParams(eps=bn.params.eps),
        blobs=blobs,
        sources=(*bn.sources, *scale.sources),
    )


def _fused_blobs(bn: Layer, scale: Layer) -> tuple[np.ndarray, ...]:
    """(mean, variance, gamma, beta), the statistics divided by the moving-average factor."""
    import numpy as np

    mean, var = bn_statistics(bn)
    gamma = np.asarray(scale.blobs[0], dtype=np.float32).reshape(-1)
    beta = (
        np.asarray(scale.blobs[1], dtype=np.float32).reshape(-1)
        if scale.params.bias_term
        else np.zeros_like(gamma)
    )
    return mean, var, gamma, beta


def run(graph: Graph) -> Graph:
    """Fuse every safe BatchNorm -> Scale pair."""
    pairs = plan(graph)
    absorbed: dict[str, Layer] = {}  # scale name -> fused node replacing it
    for layer in graph.layers:
        scale = pairs.get(layer.name)
        if scale is not None:
            absorbed[scale.name] = fused_node(layer, scale, _fused_blobs(layer, scale))
    layers = tuple(absorbed.get(lay.name, lay) for lay in graph.layers if lay.name not in pairs)
    return graph.with_(layers=layers)
