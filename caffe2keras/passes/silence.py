"""Silence removal.

Given: a graph with unique blob names.
Result: Silence layers (which consume blobs and compute nothing) are gone. Net outputs were fixed
from the raw graph, so the blobs they swallowed do not become outputs.
"""

from __future__ import annotations

from caffe2keras.ir.graph import Graph


def run(graph: Graph) -> Graph:
    """Drop Silence layers."""
    return graph.with_(layers=tuple(lay for lay in graph.layers if lay.type != "Silence"))
