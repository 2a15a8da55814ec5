"""Which blobs the Keras model holds batch-major: the layout kind of every blob of a graph.

Caffe's recurrent layers are time-major: ``x (T, N, ...)``, ``cont (T, N)``, states
``(1, N, H)``. The converted model is batch-major, as Keras' own recurrent layers are, so those
blobs get the ``SEQUENCE``/``STATE`` kinds of :mod:`caffe2keras.layout`. Two registries decide:

- ``@layout_rule(type)``: a layer that fixes the kinds of its bottoms and tops (LSTM, RNN);
- ``sequence_transparent(type, when=...)``: a layer whose bottoms and tops share one kind and
  whose Keras builder is correct in either layout (Embed, element-wise layers, InnerProduct and
  Softmax along a trailing axis): kinds flow through it, forwards and backwards (an Embed's ids
  input becomes batch-major because the Embed feeds an LSTM).

Any other layer that touches a recurrent blob is refused, naming the layer and the blob.
``value_rule(type)`` says which values a layer's bottoms take (``cont`` indicators, Embed ids) so
that verification draws valid random inputs.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass

from caffe2keras.errors import UnsupportedParameterError
from caffe2keras.ir.graph import Graph, Layer, Shape
from caffe2keras.layout import CAFFE

LayoutRule = Callable[[Layer], tuple[tuple[str, ...], tuple[str, ...]]]
Transparent = Callable[[Layer, Shape, str], bool]


@dataclass(frozen=True)
class Values:
    """What a bottom holds: ``indicator`` (0/1 per time step, 0 where a sequence starts) or
    ``index`` (integer ids in ``[0, size)``)."""

    kind: str
    size: int = 0


ValueRule = Callable[[Layer], Mapping[int, Values]]

_RULES: dict[str, LayoutRule] = {}
_TRANSPARENT: dict[str, Transparent] = {}
_VALUES: dict[str, ValueRule] = {}


def _add(table: dict, type_names: tuple[str, ...], fn: object, what: str) -> None:
    for name in type_names:
        if name in table:
            raise RuntimeError(f"layer type '{name}' already has a {what}")
        table[name] = fn


def layout_rule(*type_names: str) -> Callable[[LayoutRule], LayoutRule]:
    """Register ``fn(layer) -> (bottom kinds, top kinds)`` for the given types."""

    def register(fn: LayoutRule) -> LayoutRule:
        _add(_RULES, type_names, fn, "layout rule")
        return fn

    return register


def sequence_transparent(*type_names: str, when: Transparent | None = None) -> None:
    """Declare types whose tops take their bottoms' kind; ``when(layer, bottom shape, kind)``
    says whether the layer's params allow it (default: always)."""
    _add(_TRANSPARENT, type_names, when or (lambda layer, shape, kind: True), "layout rule")


def value_rule(*type_names: str) -> Callable[[ValueRule], ValueRule]:
    """Register ``fn(layer) -> {bottom index: Values}`` for the given types."""

    def register(fn: ValueRule) -> ValueRule:
        _add(_VALUES, type_names, fn, "value rule")
        return fn

    return register


def _load() -> None:
    from caffe2keras.families import load

    load()


def blob_layouts(graph: Graph, shapes: Mapping[str, Shape]) -> dict[str, str]:
    """The layout kind of every blob that is not ``CAFFE`` (aliases included), after checking
    that every layer touching a recurrent blob can hold it batch-major."""
    kinds = layout_kinds(graph)
    _check_consumers(graph, kinds, shapes)
    return kinds


def layout_kinds(graph: Graph) -> dict[str, str]:
    """:func:`blob_layouts` without the check and without shapes (the reference and verify's
    inputs use it; a graph without recurrent layers is all ``CAFFE``, whatever its types)."""
    _load()
    if not any(layer.type in _RULES for layer in graph.layers):
        return {}
    parent: dict[str, str] = {}

    def find(b: str) -> str:
        while parent.get(b, b) != b:
            b = parent[b]
        return b

    for layer in graph.layers:
        if layer.type in _TRANSPARENT:
            first, *rest = (*layer.bottoms, *layer.tops)
            for b in rest:
                parent[find(b)] = find(first)
    fixed: dict[str, tuple[str, str]] = {}  # group root -> (kind, layer that fixed it)
    for layer in graph.layers:
        if layer.type not in _RULES:
            continue
        bottoms, tops = _RULES[layer.type](layer)
        for blob, kind in zip((*layer.bottoms, *layer.tops), (*bottoms, *tops)):
            root = find(blob)
            if root in fixed and fixed[root][0] != kind:
                raise UnsupportedParameterError(
                    f"blob '{blob}' would be both {fixed[root][0]} (for layer "
                    f"'{fixed[root][1]}') and {kind}",
                    layer=layer.name,
                    field="bottom",
                )
            fixed[root] = (kind, layer.name)
    kinds = {b: fixed[find(b)][0] for b in _all_blobs(graph) if find(b) in fixed}
    kinds = {b: k for b, k in kinds.items() if k != CAFFE}
    for alias in graph.aliases:
        if graph.resolve(alias) in kinds:
            kinds[alias] = kinds[graph.resolve(alias)]
    return kinds


def _all_blobs(graph: Graph) -> list[str]:
    blobs = [spec.name for spec in graph.inputs]
    return blobs + [b for layer in graph.layers for b in (*layer.bottoms, *layer.tops)]


def _check_consumers(graph: Graph, kinds: Mapping[str, str], shapes: Mapping[str, Shape]) -> None:
    """Refuse a layer that touches a recurrent blob and cannot hold it batch-major."""
    for layer in graph.layers:
        if layer.type in _RULES:
            continue
        for blob in (*layer.bottoms, *layer.tops):
            kind = kinds.get(blob)
            if kind is None:
                continue
            when = _TRANSPARENT.get(layer.type)
            bottom = shapes[layer.bottoms[0]] if layer.bottoms else shapes[blob]
            if when is None or not when(layer, bottom, kind):
                raise UnsupportedParameterError(
                    f"{layer.type} on blob '{blob}', a recurrent ({kind}) blob that the Keras "
                    "model holds batch-major: not supported with these params",
                    layer=layer.name,
                    field="bottom",
                )


def input_values(graph: Graph) -> dict[str, Values]:
    """What the graph's inputs hold, when a consumer says (cont indicators, Embed ids)."""
    _load()
    inputs = {spec.name for spec in graph.inputs}
    found: dict[str, Values] = {}
    for layer in graph.layers:
        rule = _VALUES.get(layer.type)
        if rule is None:
            continue
        for index, values in rule(layer).items():
            if index < len(layer.bottoms) and layer.bottoms[index] in inputs:
                found.setdefault(layer.bottoms[index], values)
    return found
