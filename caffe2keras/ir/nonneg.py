"""Which blobs are provably non-negative (so zero padding can stand in for Caffe's -inf padding in
max pooling). A small forward dataflow over the graph; conservative: unknown means "may be < 0"."""

from __future__ import annotations

from caffe2keras.ir.graph import Graph, Layer

# Outputs >= 0 whatever the input.
_ALWAYS = frozenset({"ReLU6", "Sigmoid", "AbsVal", "BNLL", "Softmax", "Exp", "Threshold"})
# Outputs >= 0 when every bottom is (they only move, select, or positively combine values).
_PRESERVING = frozenset(
    {
        "Pooling",
        "Concat",
        "Flatten",
        "Reshape",
        "Permute",
        "Crop",
        "Slice",
        "Tile",
        "Split",
        "Dropout",
    }
)


def _nonneg_top(layer: Layer, known: set[str]) -> bool:
    p = layer.params
    inputs_nonneg = all(b in known for b in layer.bottoms)
    if layer.type in _ALWAYS:
        return True
    if layer.type == "ReLU":
        return p.negative_slope == 0.0 or (p.negative_slope > 0 and inputs_nonneg)
    if layer.type == "Clip":
        return p.min >= 0.0
    if layer.type in _PRESERVING:
        return inputs_nonneg
    if layer.type == "Eltwise":
        if p.operation == "MAX":
            return any(b in known for b in layer.bottoms)
        if p.operation == "SUM":
            return inputs_nonneg and all(c >= 0 for c in p.coeffs)
        return inputs_nonneg  # PROD
    return False


def nonnegative_blobs(graph: Graph) -> frozenset[str]:
    """Names of blobs whose every element is >= 0 for any input."""
    known: set[str] = set()
    for layer in graph.layers:
        if _nonneg_top(layer, known):
            known.update(layer.tops)
    return frozenset(known)
