"""Run the TF-free half of the converter (parse, passes, shape rules) and describe every layer.

No Keras or TensorFlow import, and for a bare prototxt not even numpy: the IR, shape rules and
passes only touch blobs when a caffemodel supplies them, and what each layer becomes in Keras
comes from what each builder declares it emits (:mod:`caffe2keras.keras_model.registry`, no
Keras import). Fusions are decided by the plan of the real
:mod:`caffe2keras.passes.fuse_bn_scale` pass, so ``inspect`` and ``convert`` always agree.
"""

from __future__ import annotations

import math
import os
from dataclasses import dataclass
from functools import partial
from pathlib import Path
from typing import Any

from caffe2keras.errors import UnsupportedParameterError
from caffe2keras.export.select_ops import claimed
from caffe2keras.frontend.load import LoadOptions, build_raw_graph, naming_files, parse_prototxt
from caffe2keras.frontend.params import registered_types
from caffe2keras.inspection.hints import preprocessing_hints
from caffe2keras.inspection.model import Inspection, LayerRow
from caffe2keras.ir.counts import NetCounts, count_net
from caffe2keras.ir.graph import Graph, Layer, Shape
from caffe2keras.ir.layouts import blob_layouts
from caffe2keras.ir.shapes import LayerShapes, infer_layer, infer_shapes, shape_types
from caffe2keras.keras_model.registry import keras_info
from caffe2keras.passes import checker, fuse_bn_scale, run_reference_pipeline
from caffe2keras.plugins import load_plugins, plugin_origin

NO_WEIGHTS_NOTE = (
    "no caffemodel given: parameter counts follow from the layer params, and fusions assume the "
    "caffemodel holds every learned blob"
)
Facts = dict[str, tuple[list[Shape], LayerShapes]]


def _reference(raw: Graph, require_blobs: bool) -> tuple[Graph, Graph]:
    """(the graph right after the blob check, the reference graph at the end of the pipeline)."""
    return run_reference_pipeline(raw, partial(checker.run, require_blobs=require_blobs))


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


def keras_description(layer: Layer, bottoms: list[Shape] | None, unknown: str = "") -> str:
    """What a layer becomes in Keras, as its builder declares it (refined by its params and
    bottom shapes when they are known); a plugin type names its plugin."""
    info = keras_info(layer.type)
    if info is not None:
        return info.describe(layer, bottoms) if bottoms is not None else info.emits
    origin = plugin_origin(layer.type)
    if origin is not None:
        return f"custom (plugin {origin})"
    return unknown or "unsupported"


@dataclass(frozen=True)
class _ShapeOnly:
    """A stand-in for a blob the caffemodel would hold: the fusion guards read only shapes."""

    shape: Shape


def _fusions(reference: Graph, facts: Facts) -> dict[str, tuple[Layer, tuple[str, ...]]]:
    """Caffe layer name -> (the Keras-graph node that fuses it, the names of the layers it fuses).
    The node keeps the name of the layer that leads the fusion; the absorbed layer's top is
    written by the fused node.

    Without a caffemodel the layers get shape-only stand-ins for their expected blobs, so the
    fusion plan (whose guards need blob counts and shapes) decides on structure alone."""

    def with_blobs(layer: Layer) -> Layer:
        shapes = facts[layer.name][1].blobs
        if layer.blobs or not shapes:
            return layer
        return layer.with_(blobs=tuple(_ShapeOnly(s) for s in shapes))

    graph = reference.with_(layers=tuple(with_blobs(lay) for lay in reference.layers))
    fused: dict[str, tuple[Layer, tuple[str, ...]]] = {}
    pairs = fuse_bn_scale.plan(graph)
    for layer in graph.layers:
        scale = pairs.get(layer.name)
        if scale is not None:
            fusion = (fuse_bn_scale.fused_node(layer, scale), (layer.name, scale.name))
            fused[layer.name] = fused[scale.name] = fusion
    return fused


def _row(
    layer: Layer,
    graph: Graph,
    facts: Facts,
    fused: dict[str, tuple[Layer, tuple[str, ...]]],
    kept: set[str],
) -> LayerRow:
    """One node of the checked graph (Caffe's layers, plus any a pass inserted, such as the
    Scale that stands for NVCaffe's BatchNorm scale/bias), blobs under their Caffe names."""
    bottoms, result = facts[layer.name]
    role, keras = "converted", keras_description(layer, bottoms)
    partners: tuple[str, ...] = ()
    if layer.name in fused:
        node, members = fused[layer.name]
        lead = node.name
        partners = tuple(n for n in members if n != layer.name)
        keras = keras_description(node, facts[lead][0])
        role = "fused" if layer.name == lead else "absorbed"
        if role == "absorbed":
            keras = f"absorbed into '{lead}' ({keras})"
    elif layer.name not in kept:
        role, keras = "removed", keras_description(layer, None, "nothing")
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


def _rows(raw: Graph, require_blobs: bool) -> tuple[tuple[LayerRow, ...], NetCounts]:
    checked, reference = _reference(raw, require_blobs)
    facts = _facts(checked)
    fused = _fusions(reference, facts)
    kept = {layer.name for layer in reference.layers}
    rows = tuple(_row(layer, checked, facts, fused, kept) for layer in checked.layers)
    counts = count_net(checked, reference, len(fused) // 2, lambda lay: facts[lay.name][1].blobs)
    return rows, counts


def _unsupported_rows(raw: Graph, missing: set[str]) -> tuple[LayerRow, ...]:
    """Without shape rules for some types nothing downstream can be inferred: names only."""
    return tuple(
        LayerRow(
            name=layer.name,
            type=layer.type,
            bottoms=layer.bottoms,
            tops=layer.tops,
            shapes=None,
            parameters=sum(math.prod(b.shape) for b in layer.blobs),
            role="unsupported" if layer.type in missing else "converted",
            keras="unsupported" if layer.type in missing else keras_description(layer, None),
        )
        for layer in raw.layers
    )


def _unsupported_details(unsupported: dict[str, list[str]], text: str) -> dict[str, str]:
    """Per unsupported type: the prototxt lines that use it and the nearest known type."""
    from caffe2keras.passes.suggest import suggestions, type_lines  # only on this path

    lines, hints = type_lines(text, unsupported), suggestions(unsupported)
    details = {}
    for ltype in unsupported:
        parts = []
        if lines.get(ltype):
            word = "line" if len(lines[ltype]) == 1 else "lines"
            parts.append(f"{word} {', '.join(map(str, lines[ltype]))}")
        if ltype in hints:
            parts.append(hints[ltype])
        if parts:
            details[ltype] = "; ".join(parts)
    return details


def _read_weights(caffemodel: str | os.PathLike[str] | None) -> Any:
    if caffemodel is None:
        return None
    from caffe2keras.frontend.blobs import read_caffemodel  # numpy: only with a caffemodel

    return read_caffemodel(caffemodel)


def inspect_net(
    prototxt: str | os.PathLike[str],
    caffemodel: str | os.PathLike[str] | None = None,
    options: LoadOptions | None = None,
    plugins: tuple[str | os.PathLike[str], ...] = (),
) -> Inspection:
    """Describe a net layer by layer; with a caffemodel its blobs are checked too.

    Plugin files load first; installed (entry-point) plugins load only when the net has a type
    nothing registered knows, since a plugin can only add types (this keeps start-up fast)."""
    options = options or LoadOptions()
    load_plugins(plugins, entry_points=False)
    parsed = parse_prototxt(prototxt)
    net_pb = parsed.net
    if {layer.type for layer in net_pb.layer} - registered_types():
        load_plugins((), entry_points=True)
    weights = _read_weights(caffemodel)
    with naming_files(prototxt, caffemodel):
        raw = build_raw_graph(net_pb, weights, options, parsed.custom_fields)
        known = shape_types()
        unsupported: dict[str, list[str]] = {}
        for layer in raw.layers:
            if layer.type not in known:
                unsupported.setdefault(layer.type, []).append(layer.name)
        counts = None
        flex: tuple[dict[str, Any], ...] = ()
        layouts: dict[str, str] = {}
        layout_notes: tuple[str, ...] = ()
        if unsupported:
            rows = _unsupported_rows(raw, set(unsupported))
        else:
            rows, counts = _rows(raw, require_blobs=weights is not None)
            layouts, layout_notes = _input_layouts(raw)
            flex = tuple(claimed(raw))
    text = Path(prototxt).read_text(encoding="utf-8", errors="replace")  # comments may be GBK
    notes = raw.notes if weights is not None else (*raw.notes, NO_WEIGHTS_NOTE)
    notes = (*notes, *layout_notes)
    details = _unsupported_details(unsupported, text) if unsupported else {}
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
        unsupported_details=details,
        counts=counts,
        layouts=layouts,
        select_tf_ops=flex,
    )


def _input_layouts(graph: Graph) -> tuple[dict[str, str], tuple[str, ...]]:
    """The inputs the Keras model takes batch-major (recurrent ones), or a note saying why the
    converter will refuse the net's recurrent blobs."""
    try:
        kinds = blob_layouts(graph, infer_shapes(graph))
    except UnsupportedParameterError as exc:
        return {}, (f"convert will refuse: {exc}",)
    return {s.name: kinds[s.name] for s in graph.inputs if s.name in kinds}, ()
