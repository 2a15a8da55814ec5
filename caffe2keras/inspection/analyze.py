"""Run the TF-free half of the converter (parse, passes, shape rules) and describe every layer.

No Keras or TensorFlow import: the IR, shape rules and passes are numpy-only, and what each
layer becomes in Keras comes from :mod:`.keras_map`. Fusions are decided by the real
:mod:`caffe2keras.passes.fuse_bn_scale` pass, so ``inspect`` and ``convert`` always agree.
"""

from __future__ import annotations

import math
import os
from functools import partial
from pathlib import Path

import numpy as np

from caffe2keras.frontend.blobs import read_caffemodel
from caffe2keras.frontend.load import LoadOptions, build_raw_graph, read_prototxt
from caffe2keras.inspection.hints import preprocessing_hints
from caffe2keras.inspection.keras_map import KERAS_LAYERS, keras_description
from caffe2keras.inspection.model import Inspection, LayerRow
from caffe2keras.ir.graph import Graph, Layer, Shape
from caffe2keras.ir.shapes import LayerShapes, infer_layer, shape_types
from caffe2keras.passes import KERAS_PIPELINE, REFERENCE_PIPELINE, checker, run_pipeline

NO_WEIGHTS_NOTE = (
    "no caffemodel given: parameter counts follow from the layer params, and fusions assume the "
    "caffemodel holds every learned blob"
)
Facts = dict[str, tuple[list[Shape], LayerShapes]]


def _reference(raw: Graph, require_blobs: bool) -> tuple[Graph, Graph]:
    """(the graph right after the blob check: Caffe's layers, plus any a pass inserted, with
    unique blob names; the reference graph at the end of the pipeline)."""
    check = partial(checker.run, require_blobs=require_blobs)
    graph, checked = raw, raw
    for step in REFERENCE_PIPELINE:
        graph = (check if step is checker.run else step)(graph)
        if step is checker.run:
            checked = graph
    return checked, graph


def _facts(graph: Graph) -> Facts:
    """Per layer: its bottom shapes and its shape rule's result."""
    shapes: dict[str, Shape] = {spec.name: spec.shape for spec in graph.inputs}
    facts: Facts = {}
    for layer in graph.layers:
        bottoms = [shapes[b] for b in layer.bottoms]
        result = infer_layer(layer, bottoms)
        shapes.update(zip(layer.tops, result.tops))
        facts[layer.name] = (bottoms, result)
    return facts


def _fusions(reference: Graph, facts: Facts) -> dict[str, Layer]:
    """Caffe layer name -> the Keras-graph node that fuses it (the node keeps the name of the
    layer that leads the fusion; an absorbed layer's top is written by the fused node).

    Without a caffemodel the layers get zero-copy placeholder blobs of their expected shapes,
    so the fusion pass (whose guards need blobs) decides on structure alone."""

    def with_blobs(layer: Layer) -> Layer:
        if layer.blobs:
            return layer
        shapes = facts[layer.name][1].blobs
        return layer.with_(blobs=tuple(np.broadcast_to(np.float32(0), s) for s in shapes))

    graph = reference.with_(layers=tuple(with_blobs(lay) for lay in reference.layers))
    nodes = run_pipeline(graph, KERAS_PIPELINE).layers
    by_name = {node.name: node for node in nodes}
    by_top = {top: node for node in nodes for top in node.tops}
    fused: dict[str, Layer] = {}
    for layer in reference.layers:
        node = by_name.get(layer.name)
        if node is None and layer.tops and layer.tops[0] in by_top:
            fused[layer.name] = by_top[layer.tops[0]]  # absorbed
        elif node is not None and node.type != layer.type:
            fused[layer.name] = node  # leads the fusion
    return fused


def _row(
    layer: Layer, graph: Graph, facts: Facts, fused: dict[str, Layer], kept: set[str]
) -> LayerRow:
    """One node of the checked graph (Caffe's layers, plus any a pass inserted, such as the
    Scale that stands for NVCaffe's BatchNorm scale/bias), blobs under their Caffe names."""
    bottoms, result = facts[layer.name]
    node = fused.get(layer.name)
    role, keras = "converted", keras_description(layer, bottoms)
    partners: tuple[str, ...] = ()
    if node is not None:
        lead = node.name
        partners = tuple(n for n, other in fused.items() if other is node and n != layer.name)
        keras = keras_description(node, facts[lead][0])
        role = "fused" if layer.name == lead else "absorbed"
        if role == "absorbed":
            keras = f"absorbed into '{lead}' ({keras})"
    elif layer.name not in kept:
        role, keras = "removed", KERAS_LAYERS.get(layer.type, "nothing")
    return LayerRow(
        name=layer.name,
        type=layer.type,
        bottoms=tuple(graph.caffe_name(b) for b in layer.bottoms),
        tops=tuple(graph.caffe_name(t) for t in layer.tops),
        shapes=result.tops,
        parameters=sum(math.prod(s) for s in result.blobs),
        role=role,
        keras=keras,
        fused_with=partners,
    )


def _rows(raw: Graph, require_blobs: bool) -> tuple[LayerRow, ...]:
    checked, reference = _reference(raw, require_blobs)
    facts = _facts(checked)
    fused = _fusions(reference, facts)
    kept = {layer.name for layer in reference.layers}
    return tuple(_row(layer, checked, facts, fused, kept) for layer in checked.layers)


def _unsupported_rows(raw: Graph, missing: set[str]) -> tuple[LayerRow, ...]:
    """Without shape rules for some types nothing downstream can be inferred: names only."""
    return tuple(
        LayerRow(
            name=layer.name,
            type=layer.type,
            bottoms=layer.bottoms,
            tops=layer.tops,
            shapes=None,
            parameters=sum(int(np.size(b)) for b in layer.blobs),
            role="unsupported" if layer.type in missing else "converted",
            keras="unsupported" if layer.type in missing else KERAS_LAYERS[layer.type],
        )
        for layer in raw.layers
    )


def inspect_net(
    prototxt: str | os.PathLike[str],
    caffemodel: str | os.PathLike[str] | None = None,
    options: LoadOptions | None = None,
) -> Inspection:
    """Describe a net layer by layer; with a caffemodel its blobs are checked too."""
    options = options or LoadOptions()
    net_pb = read_prototxt(prototxt)
    weights = read_caffemodel(caffemodel) if caffemodel is not None else None
    raw = build_raw_graph(net_pb, weights, options)
    known = shape_types()
    unsupported: dict[str, list[str]] = {}
    for layer in raw.layers:
        if layer.type not in known:
            unsupported.setdefault(layer.type, []).append(layer.name)
    if unsupported:
        rows = _unsupported_rows(raw, set(unsupported))
    else:
        rows = _rows(raw, require_blobs=weights is not None)
    text = Path(prototxt).read_text(encoding="utf-8")
    notes = raw.notes if weights is not None else (*raw.notes, NO_WEIGHTS_NOTE)
    return Inspection(
        net=raw.name,
        prototxt=os.fspath(prototxt),
        caffemodel=None if caffemodel is None else os.fspath(caffemodel),
        inputs=tuple((spec.name, spec.shape) for spec in raw.inputs),
        outputs=raw.outputs,
        layers=rows,
        unsupported={t: tuple(n) for t, n in sorted(unsupported.items())},
        hints=tuple(preprocessing_hints(net_pb, text)),
        notes=tuple(notes),
    )
