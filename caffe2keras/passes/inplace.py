"""In-place top renaming.

Given: a raw graph in which a layer may write a blob that already exists (Caffe's in-place
``top == bottom``, e.g. BatchNorm -> Scale -> ReLU on one blob).
Result: every blob is written exactly once. The last writer of a Caffe blob keeps the Caffe name
(so outputs and goldens, which hold the value after the last writer, align by name); each earlier
version is renamed ``<blob>@<writer layer>`` and recorded in ``Graph.caffe_names``.
Guards: layer names are unique (weights pair by name); a top that rewrites an existing blob must be
in place (top i == bottom i), as Caffe's ``net.cpp`` demands; anything else is "produced by
multiple sources" and refused, naming the earlier producer.
"""

from __future__ import annotations

from collections import Counter

from caffe2keras.errors import ValidationError
from caffe2keras.ir.graph import Graph, InputSpec, Layer
from caffe2keras.passes.cycles import undefined_bottom


def _check_names(graph: Graph) -> None:
    """Layer names must be unique: blobs pair with layers by name, and Caffe versions disagree on
    which of two same-named layers gets the caffemodel's weights (the first or the last)."""
    seen: set[str] = set()
    for layer in graph.layers:
        if layer.name in seen:
            raise ValidationError(
                "two layers of the net have this name; caffemodel weights pair with layers by "
                "name, so every layer needs its own",
                layer=layer.name,
                field="name",
            )
        seen.add(layer.name)


def _check_sources(graph: Graph) -> None:
    writer = {spec.name: "a net input" for spec in graph.inputs}
    for layer in graph.layers:
        for i, top in enumerate(layer.tops):
            in_place = i < len(layer.bottoms) and layer.bottoms[i] == top
            if top in writer and not in_place:
                raise ValidationError(
                    f"top '{top}' is already produced by {writer[top]}; only an in-place layer "
                    f"(the same blob as bottom and top at one position) may write a blob again",
                    layer=layer.name,
                    field="top",
                )
            if in_place and top not in writer:
                raise undefined_bottom(graph, layer, top)
            writer[top] = f"layer '{layer.name}'"


def run(graph: Graph) -> Graph:
    """Rename in-place tops so that every blob has one writer."""
    _check_names(graph)
    _check_sources(graph)
    writes = Counter(spec.name for spec in graph.inputs)
    writes.update(top for layer in graph.layers for top in layer.tops)
    taken = set(writes)
    seen: Counter[str] = Counter()
    current: dict[str, str] = {}
    caffe_names = dict(graph.caffe_names)

    def write(blob: str, writer: str) -> str:
        seen[blob] += 1
        if seen[blob] == writes[blob]:
            name = blob
        else:
            name, n = f"{blob}@{writer}", 1
            while name in taken:
                name, n = f"{blob}@{writer}#{n}", n + 1
            taken.add(name)
            caffe_names[name] = blob
        current[blob] = name
        return name

    inputs = tuple(InputSpec(write(s.name, "input"), s.shape) for s in graph.inputs)
    layers: list[Layer] = []
    for layer in graph.layers:
        bottoms = tuple(current.get(b, b) for b in layer.bottoms)
        tops = tuple(write(t, layer.name) for t in layer.tops)
        layers.append(layer.with_(bottoms=bottoms, tops=tops))
    return graph.with_(inputs=inputs, layers=tuple(layers), caffe_names=caffe_names)
