"""Split and Dropout removal.

Given: a graph with unique blob names (after :mod:`.inplace`).
Result: Split layers and test-time-identity Dropout layers are gone; their consumers read the
bottom directly and ``Graph.aliases`` records each removed top -> the blob carrying its value, so
outputs and comparisons can still name it.
Guards: only single-bottom layers; BVLC's Dropout copies its bottom at test time.
"""

from __future__ import annotations

from caffe2keras.ir.graph import Graph, Layer


def is_identity(layer: Layer) -> bool:
    """Whether the layer copies its single bottom to every top at test time."""
    if layer.type == "Split":
        return len(layer.bottoms) == 1
    if layer.type == "Dropout":
        return len(layer.bottoms) == 1 and len(layer.tops) == 1
    return False


def run(graph: Graph) -> Graph:
    """Remove identity layers, rewiring consumers and recording aliases."""
    aliases = dict(graph.aliases)
    kept: list[Layer] = []
    for layer in graph.layers:
        if is_identity(layer):
            for top in layer.tops:
                aliases[top] = layer.bottoms[0]
            continue
        kept.append(layer)
    view = graph.with_(aliases=aliases)
    layers = tuple(lay.with_(bottoms=tuple(view.resolve(b) for b in lay.bottoms)) for lay in kept)
    return view.with_(layers=layers)
