"""Recognise a caffemodel that belongs to another net, before any single layer's blob error.

Given: the checked graph's layers with the blob shapes their params demand (``expected``).
Result: nothing, or one ForeignCaffemodelError when the caffemodel fits few of the layers.
Guards: a caffemodel whose layer names match none of the layers with parameters, or one where most
of those layers (more than half, and at least two) lack blobs or disagree in blob count or shape,
holds another net's weights: the message says so, with the counts and the first disagreement,
instead of only the first layer's blob count. A single bad layer keeps its own precise error.
"""

from __future__ import annotations

import math
from collections.abc import Mapping

from caffe2keras.errors import ForeignCaffemodelError
from caffe2keras.ir.graph import Graph, Layer, Shape


def _legacy(shape: Shape) -> Shape:
    return (1,) * (4 - len(shape)) + tuple(shape) if len(shape) <= 4 else tuple(shape)


def blob_fits(actual: Shape, expected: Shape) -> bool:
    """Whether a caffemodel blob of shape ``actual`` can serve as ``expected``: the same shape,
    its legacy 4-D (num, channels, height, width) form (``blob.cpp`` ShapeEquals), or a single
    value for a single-value blob."""
    actual, expected = tuple(actual), tuple(expected)
    if actual == expected:
        return True
    if len(actual) == 4 and _legacy(expected) == actual:
        return True
    return math.prod(expected) == 1 and math.prod(actual) == 1


def disagreement(layer: Layer, expected: tuple[Shape, ...]) -> str | None:
    """How ``layer``'s caffemodel blobs disagree with its params, or None when they fit."""
    if not layer.blobs:
        return "no blobs"
    if len(layer.blobs) != len(expected):
        return f"{len(layer.blobs)} blobs where its parameters need {len(expected)}"
    for i, (blob, shape) in enumerate(zip(layer.blobs, expected)):
        if not blob_fits(blob.shape, shape):
            return f"blob {i} of shape {list(blob.shape)} where its parameters need {list(shape)}"
    return None


def check(graph: Graph, expected: Mapping[str, tuple[Shape, ...]]) -> None:
    """Raise ForeignCaffemodelError when the caffemodel fits few of the net's layers."""
    needing = [layer for layer in graph.layers if expected[layer.name]]
    if not needing:
        return
    if not any(layer.blobs for layer in needing):
        names = ", ".join(f"'{layer.name}'" for layer in needing[:5])
        more = f" and {len(needing) - 5} more" if len(needing) > 5 else ""
        raise ForeignCaffemodelError(
            f"the caffemodel has no blobs for any of the {len(needing)} layers with learned "
            f"parameters ({names}{more}): its layer names match nothing in the prototxt, so it "
            f"holds the weights of another model (or none at all)"
        )
    bad = [(layer, disagreement(layer, expected[layer.name])) for layer in needing]
    bad = [(layer, why) for layer, why in bad if why is not None]
    if len(bad) >= 2 and 2 * len(bad) > len(needing):
        first, why = bad[0]
        raise ForeignCaffemodelError(
            f"the caffemodel seems to belong to another net: {len(bad)} of the {len(needing)} "
            f"layers with learned parameters disagree with it in blob count or shape (the first, "
            f"layer '{first.name}', has {why})"
        )
