"""Blob check: every learned blob present and of the shape the layer's params demand.

Given: a graph with unique blob names (after :mod:`.inplace`), blobs paired from the caffemodel.
Result: the same graph with each blob reshaped to its expected shape where the caffemodel used
Caffe's legacy 4-D (num, channels, height, width) form, as ``blob.cpp`` ShapeEquals allows.
Guards: a layer with parameters but no blobs, a wrong blob count, or a shape that differs (beyond
legacy padding with leading 1s) is a ValidationError naming the layer and both shapes.
Layers without parameters must carry none. With ``require_blobs=False`` (no caffemodel given)
missing blobs are allowed.
"""

from __future__ import annotations

import math

import numpy as np

from caffe2keras.errors import ValidationError
from caffe2keras.ir.graph import Graph, Layer, Shape
from caffe2keras.ir.shapes import infer_layer


def _legacy(shape: Shape) -> Shape:
    return (1,) * (4 - len(shape)) + tuple(shape) if len(shape) <= 4 else tuple(shape)


def fit_blob(layer: Layer, index: int, blob: np.ndarray, expected: Shape) -> np.ndarray:
    """``blob`` reshaped to ``expected`` if it is that shape or its legacy 4-D form."""
    actual = tuple(blob.shape)
    if actual == tuple(expected):
        return blob
    legacy_ok = len(actual) == 4 and _legacy(expected) == actual
    scalar_ok = math.prod(expected) == 1 and blob.size == 1  # () vs (1,) for shared params
    if legacy_ok or scalar_ok:
        return blob.reshape(expected)
    raise ValidationError(
        f"blob {index} has shape {list(actual)} in the caffemodel, but the layer's parameters "
        f"need {list(expected)}",
        layer=layer.name,
        field="blobs",
    )


def check_layer(layer: Layer, expected: tuple[Shape, ...], require_blobs: bool) -> Layer:
    """One layer's blobs validated and fitted."""
    if not layer.blobs:
        if expected and require_blobs:
            raise ValidationError(
                f"has learned parameters ({len(expected)} blobs) but the caffemodel holds no "
                f"blobs for it (is the caffemodel from another model?)",
                layer=layer.name,
                field="blobs",
            )
        return layer
    if len(layer.blobs) != len(expected):
        raise ValidationError(
            f"the caffemodel has {len(layer.blobs)} blobs, the layer's "
            f"parameters need {len(expected)}",
            layer=layer.name,
            field="blobs",
        )
    blobs = tuple(fit_blob(layer, i, b, e) for i, (b, e) in enumerate(zip(layer.blobs, expected)))
    return layer.with_(blobs=blobs)


def run(graph: Graph, require_blobs: bool = True) -> Graph:
    """Validate and fit every layer's blobs (shape inference runs along the way)."""
    shapes: dict[str, Shape] = {spec.name: spec.shape for spec in graph.inputs}
    layers = []
    for layer in graph.layers:
        for b in layer.bottoms:
            if b not in shapes:
                raise ValidationError(
                    f"bottom '{b}' is not produced by any earlier layer or input",
                    layer=layer.name,
                    field="bottom",
                )
        result = infer_layer(layer, [shapes[b] for b in layer.bottoms])
        shapes.update(zip(layer.tops, result.tops))
        layers.append(check_layer(layer, result.blobs, require_blobs))
    return graph.with_(layers=tuple(layers))
