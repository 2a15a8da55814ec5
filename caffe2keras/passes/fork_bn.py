"""Which fork's ``BN`` each layer is, from its ``bn_param`` fields and its caffemodel blobs.

Given: a raw graph, blobs paired from the caffemodel (or none).
Result: every BN layer's ``params.variant`` settled (:mod:`caffe2keras.families.fork_bn`):
4 blobs are yjxiong/PSPNet's (slope, bias, mean, variance), 2 are SegNet's (scale, shift); yjxiong's
(1, C) blobs take PSPNet's and SegNet's (1, C, 1, 1) shape, so the checker sees one layout.
Guards: another blob count, or a count that contradicts the fork-specific fields the prototxt
sets (e.g. ``bn_mode`` with 4 blobs), is refused naming the layer and the field. Without blobs
the fields decide (yjxiong's when none is set). Blob shapes are checked afterwards by
:mod:`.checker`.
"""

from __future__ import annotations

from dataclasses import replace

from caffe2keras.errors import ValidationError
from caffe2keras.families.fork_bn import BLOB_NAMES, FORK_NAMES, SEGNET, YJXIONG, BNParams
from caffe2keras.ir.graph import Graph, Layer

_BY_COUNT = {4: YJXIONG, 2: SEGNET}


def _settle(layer: Layer) -> Layer:
    params: BNParams = layer.params
    count = len(layer.blobs)
    if count == 0:
        return layer
    found = _BY_COUNT.get(count)
    if found is None:
        raise ValidationError(
            f"the caffemodel has {count} blobs; a BN layer has 4 (yjxiong/PSPNet: "
            f"{BLOB_NAMES[YJXIONG]}) or 2 (SegNet: {BLOB_NAMES[SEGNET]})",
            layer=layer.name,
            field="blobs",
        )
    if params.variant and params.variant != found:
        raise ValidationError(
            f"bn_param sets {', '.join(params.fields)} ({FORK_NAMES[params.variant]}'s BN, "
            f"blobs {BLOB_NAMES[params.variant]}) but the caffemodel has {count} blobs "
            f"({FORK_NAMES[found]}'s BN: {BLOB_NAMES[found]})",
            layer=layer.name,
            field=params.fields[0],
        )
    blobs = tuple(
        b.reshape(1, b.shape[1], 1, 1) if b.ndim == 2 and b.shape[0] == 1 else b
        for b in layer.blobs
    )
    return layer.with_(params=replace(params, variant=found), blobs=blobs)


def run(graph: Graph) -> Graph:
    """Settle every BN layer's fork."""
    layers = tuple(_settle(layer) if layer.type == "BN" else layer for layer in graph.layers)
    return graph.with_(layers=layers)
