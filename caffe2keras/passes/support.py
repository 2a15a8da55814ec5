"""Support check.

Given: a raw graph.
Result: the same graph, if every layer type is supported (has a shape rule; tests keep builders and
reference ops in step with the shape rules).
Guards: otherwise one UnsupportedLayersError lists every unsupported type with the layers using
it, and the nearest known type names for each (:mod:`.suggest`). Python layers are refused here
too: we never import or run model code.
"""

from __future__ import annotations

from caffe2keras.errors import UnsupportedLayersError
from caffe2keras.ir.graph import Graph
from caffe2keras.ir.shapes import shape_types


def run(graph: Graph) -> Graph:
    """Raise listing all unsupported layer types, else return the graph unchanged."""
    known = shape_types()
    missing: dict[str, list[str]] = {}
    for layer in graph.layers:
        if layer.type not in known:
            missing.setdefault(layer.type, []).append(layer.name)
    if missing:
        reason = None
        if "Python" in missing:
            reason = "Python layers run arbitrary model code and are never imported or executed"
        from caffe2keras.passes.suggest import suggestions

        raise UnsupportedLayersError(missing, reason, hints=suggestions(missing))
    return graph
