"""Explain a bottom that no earlier layer produces: a typo, a misordered layer, or a cycle.

Caffe (``net.cpp`` AppendBottom) requires every bottom to be produced by an earlier layer or be a
net input, so a prototxt cannot express a cycle directly: a cycle shows up as a bottom produced
only by a *later* layer that itself depends on the reading layer. The message says which case it
is, with the path of the cycle or the layer to move, or the closest existing blob name.
"""

from __future__ import annotations

from caffe2keras.errors import ValidationError
from caffe2keras.ir.graph import Graph, Layer


def _writes(graph: Graph, layer: Layer, blob: str) -> bool:
    return any(graph.caffe_name(top) == blob for top in layer.tops)


def _cycle_path(graph: Graph, start: int, producer: int) -> list[str] | None:
    """Layer names from the reader (``start``) to ``producer`` along top -> bottom edges, if the
    producer depends on the reader's tops at all."""
    layers = graph.layers
    parent: dict[int, int] = {}
    frontier, seen = [start], {start}
    while frontier:
        i = frontier.pop()
        if i == producer:
            path = [i]
            while path[-1] != start:
                path.append(parent[path[-1]])
            return [layers[j].name for j in reversed(path)]
        tops = {graph.caffe_name(t) for t in layers[i].tops}
        for j in range(len(layers)):
            if j not in seen and tops.intersection(graph.caffe_name(b) for b in layers[j].bottoms):
                seen.add(j)
                parent[j] = i
                frontier.append(j)
    return None


def undefined_bottom(graph: Graph, layer: Layer, bottom: str) -> ValidationError:
    """The error for ``layer`` reading ``bottom`` before anything produced it."""
    index = next(i for i, lay in enumerate(graph.layers) if lay is layer)
    name = graph.caffe_name(bottom)
    layers = graph.layers
    later = [j for j in range(index + 1, len(layers)) if _writes(graph, layers[j], name)]
    if later:
        producer = layers[later[0]]
        path = _cycle_path(graph, index, later[0])
        if path is not None:
            cycle = " -> ".join(f"'{n}'" for n in [*path, layer.name])
            message = (
                f"bottom '{name}' comes from layer '{producer.name}', which itself depends on "
                f"this layer: the net has a cycle ({cycle}); Caffe nets must be acyclic"
            )
        else:
            message = (
                f"bottom '{name}' is produced only by layer '{producer.name}', which comes later "
                f"in the prototxt; Caffe runs layers in file order, so move it before this one"
            )
    else:
        known = [spec.name for spec in graph.inputs]
        known += [graph.caffe_name(t) for lay in layers[:index] for t in lay.tops]
        import difflib  # only when explaining an error

        close = difflib.get_close_matches(name, sorted(set(known)), n=1)
        hint = f"; did you mean '{close[0]}'?" if close else ""
        message = (
            f"bottom '{name}' is not produced by any earlier layer or net input (layers that the "
            f"phase/stage rules exclude do not count){hint}"
        )
    return ValidationError(message, layer=layer.name, field="bottom")
