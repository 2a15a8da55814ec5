"""Blob check: every learned blob present, of the shape the layer's params demand, and finite.

Given: a graph with unique blob names (after :mod:`.inplace`), blobs paired from the caffemodel.
Result: the same graph with each blob reshaped to its expected shape where the caffemodel used
Caffe's legacy 4-D (num, channels, height, width) form, as ``blob.cpp`` ShapeEquals allows; a note
for every layer whose blobs hold NaN or Inf (converted as they are: Caffe would run them too).
Guards, each a ValidationError naming the layer and field, before anything is built:
- the net has inputs of at most INT_MAX elements and at least one output;
- every layer has as many bottoms and tops as Caffe allows for its type (:mod:`.arity`);
- every bottom is produced earlier (else :func:`.cycles.undefined_bottom` explains why not);
- a blob the params demand has at most INT_MAX elements (Caffe's Blob::Reshape limit);
- when no layer with parameters found its blobs, or most of them disagree in blob count or shape,
  the caffemodel is another model's: said so once, naming both files (:mod:`.foreign`);
- a layer with parameters but no blobs, a wrong blob count, or a shape that differs (beyond
  legacy padding with leading 1s) names both counts or shapes. Layers without parameters must
  carry none. With ``require_blobs=False`` (no caffemodel given) missing blobs are allowed.
"""

from __future__ import annotations

import dataclasses
import math
from typing import TYPE_CHECKING

from caffe2keras.errors import ValidationError
from caffe2keras.ir.graph import Graph, Layer, Shape
from caffe2keras.ir.shapes import infer_layer
from caffe2keras.ir.shapes.registry import INT_MAX
from caffe2keras.passes import foreign
from caffe2keras.passes.arity import check_counts
from caffe2keras.passes.cycles import undefined_bottom
from caffe2keras.passes.foreign import blob_fits

if TYPE_CHECKING:
    import numpy as np

_CHUNK = 1 << 22  # elements checked for NaN/Inf per step (bounded temporary memory)


def fit_blob(layer: Layer, index: int, blob: np.ndarray, expected: Shape) -> np.ndarray:
    """``blob`` reshaped to ``expected`` if it is that shape or its legacy 4-D form."""
    actual = tuple(blob.shape)
    if actual == tuple(expected):
        return blob
    if blob_fits(actual, expected):  # legacy 4-D form, or () vs (1,) for shared params
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


def _check_io(graph: Graph) -> None:
    for spec in graph.inputs:
        if math.prod(spec.shape) > INT_MAX:
            raise ValidationError(
                f"input '{spec.name}' has shape {list(spec.shape)}, {math.prod(spec.shape)} "
                f"elements: beyond Caffe's limit of {INT_MAX} (2**31 - 1)",
                field="input_shape",
            )
    if not graph.outputs:
        what = "no layers" if not graph.layers else "layers, but none leaves an output blob"
        raise ValidationError(f"the net has {what}: there is nothing to convert")


def _check_blob_sizes(layer: Layer, expected: tuple[Shape, ...]) -> None:
    for i, shape in enumerate(expected):
        if math.prod(shape) > INT_MAX:
            raise ValidationError(
                f"the parameters need blob {i} of shape {list(shape)}, {math.prod(shape)} "
                f"elements: beyond Caffe's limit of {INT_MAX} (2**31 - 1)",
                layer=layer.name,
                field="blobs",
            )


def _nonfinite(blob: np.ndarray) -> tuple[int, int]:
    """(NaN count, Inf count) of a blob, in bounded chunks."""
    import numpy as np  # only with a caffemodel: numpy stays unloaded for a bare prototxt

    from caffe2keras.frontend.pages import release_pages

    flat = np.asarray(blob).reshape(-1)
    nan = inf = 0
    for start in range(0, flat.size, _CHUNK):
        part = flat[start : start + _CHUNK]
        if not np.isfinite(part).all():
            nan += int(np.isnan(part).sum())
            inf += int(np.isinf(part).sum())
        release_pages(part)  # a scan must not leave the whole caffemodel resident
    return nan, inf


def _nonfinite_params(params: object) -> list[str]:
    """Names of float params (or float tuples) that are NaN or +-Inf (1e40 in a float field)."""
    if not dataclasses.is_dataclass(params):
        return []
    bad = []
    for name, value in vars(params).items():  # a frozen dataclass's fields, cheaply
        values = value if isinstance(value, tuple) else (value,)
        if any(isinstance(v, float) and not math.isfinite(v) for v in values):
            bad.append(f"{name} = {value}")
    return bad


# Every note of nonfinite_notes() ends so; verification reads it back (has_nonfinite).
_NONFINITE_TAIL = "converted as they are; verification fails wherever they reach"


def has_nonfinite(graph: Graph) -> bool:
    """Whether the checker noted NaN/Inf weights or parameters in ``graph`` (no rescan)."""
    return any(note.endswith(_NONFINITE_TAIL) for note in graph.notes)


def nonfinite_notes(graph: Graph) -> tuple[str, ...]:
    """One note per layer whose blobs or parameters hold NaN or Inf."""
    notes = []
    for layer in graph.layers:
        found = [(i, *_nonfinite(b)) for i, b in enumerate(layer.blobs)]
        bad = [f"blob {i}: {n} NaN, {f} Inf" for i, n, f in found if n or f]
        if bad:
            notes.append(
                f"layer '{layer.name}' has non-finite weights ({'; '.join(bad)}): {_NONFINITE_TAIL}"
            )
        params = _nonfinite_params(layer.params)
        if params:
            notes.append(
                f"layer '{layer.name}' has non-finite parameters ({'; '.join(params)}): "
                f"{_NONFINITE_TAIL}"
            )
    return tuple(notes)


def run(graph: Graph, require_blobs: bool = True) -> Graph:
    """Validate and fit every layer's blobs (shape inference runs along the way)."""
    _check_io(graph)
    shapes: dict[str, Shape] = {spec.name: spec.shape for spec in graph.inputs}
    expected: dict[str, tuple[Shape, ...]] = {}
    shape_notes: list[str] = []
    for layer in graph.layers:
        check_counts(layer)
        for b in layer.bottoms:
            if b not in shapes:
                raise undefined_bottom(graph, layer, b)
        result = infer_layer(layer, [shapes[b] for b in layer.bottoms])
        shapes.update(zip(layer.tops, result.tops))
        _check_blob_sizes(layer, result.blobs)
        expected[layer.name] = result.blobs
        shape_notes += result.notes
    if require_blobs:
        foreign.check(graph, expected)
    layers = tuple(check_layer(lay, expected[lay.name], require_blobs) for lay in graph.layers)
    checked = graph.with_(layers=layers)
    return checked.with_(notes=(*graph.notes, *shape_notes, *nonfinite_notes(checked)))
