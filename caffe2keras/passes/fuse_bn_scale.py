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

from dataclasses import dataclass

import numpy as np

from caffe2keras.ir.batchnorm import bn_statistics
from caffe2keras.ir.graph import Graph, Layer

FUSED_TYPE = "BatchNormScale"


@dataclass(frozen=True)
class BatchNormScaleParams:
    """Params of the fused node: Caffe's BatchNorm epsilon."""

    eps: float


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
    if np.asarray(scale.blobs[0]).size != np.asarray(bn.blobs[0]).size:
        return None
    return scale


def run(graph: Graph) -> Graph:
    """Fuse every safe BatchNorm -> Scale pair."""
    consumers = graph.consumers()
    absorbed: dict[str, Layer] = {}  # scale name -> fused node replacing it
    skip: set[str] = set()
    for layer in graph.layers:
        scale = _fusable(layer, consumers.get(layer.tops[0], [])) if layer.tops else None
        if scale is None:
            continue
        mean, var = bn_statistics(layer)
        gamma = np.asarray(scale.blobs[0], dtype=np.float32).reshape(-1)
        beta = (
            np.asarray(scale.blobs[1], dtype=np.float32).reshape(-1)
            if scale.params.bias_term
            else np.zeros_like(gamma)
        )
        absorbed[scale.name] = Layer(
            name=layer.name,
            type=FUSED_TYPE,
            bottoms=layer.bottoms,
            tops=scale.tops,
            params=BatchNormScaleParams(eps=layer.params.eps),
            blobs=(mean, var, gamma, beta),
            sources=(*layer.sources, *scale.sources),
        )
        skip.add(layer.name)
    layers = tuple(absorbed.get(lay.name, lay) for lay in graph.layers if lay.name not in skip)
    return graph.with_(layers=layers)
