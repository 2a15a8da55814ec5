"""The frozen, typed intermediate representation every later stage works on.

A :class:`Graph` is a topologically ordered tuple of :class:`Layer` nodes whose blob names are
unique (in-place tops have been renamed by :mod:`caffe2keras.passes.inplace`). Blob shapes are in
Caffe order (N, C, H, W for 4-D blobs) including the batch dimension.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field, fields, replace
from types import MappingProxyType
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    import numpy as np

Shape = tuple[int, ...]


@dataclass(frozen=True)
class InputSpec:
    """A net input: its blob name and declared Caffe shape (batch first)."""

    name: str
    shape: Shape


@dataclass(frozen=True)
class Layer:
    """One node. ``params`` is the layer type's frozen params dataclass; ``blobs`` its weights.

    ``sources`` names the Caffe layers this node stands for (more than one after a fusion).
    """

    name: str
    type: str
    bottoms: tuple[str, ...]
    tops: tuple[str, ...]
    params: Any
    blobs: tuple[np.ndarray, ...] = ()
    sources: tuple[str, ...] = ()

    def __post_init__(self) -> None:
        if not self.sources:
            object.__setattr__(self, "sources", (self.name,))

    def with_(self, **changes: Any) -> Layer:
        """A copy with some fields replaced: ``dataclasses.replace`` without its per-call
        introspection (passes copy every layer, and ``inspect`` must stay fast)."""
        unknown = changes.keys() - _LAYER_FIELDS
        if unknown:
            raise TypeError(f"Layer has no field(s) {sorted(unknown)}")
        new = object.__new__(Layer)
        new.__dict__.update(self.__dict__)
        new.__dict__.update(changes)
        new.__post_init__()
        return new


_LAYER_FIELDS = frozenset(f.name for f in fields(Layer))


def _freeze(mapping: Mapping[str, str] | None) -> Mapping[str, str]:
    return MappingProxyType(dict(mapping or {}))


@dataclass(frozen=True)
class Graph:
    """A whole net: inputs in declaration order, layers in topological order, output blobs.

    ``caffe_names`` maps a renamed blob (an in-place layer's intermediate value) to the Caffe blob
    it is a version of; blobs that kept their Caffe name are not listed. ``aliases`` maps a blob
    that a removed identity layer (Split, Dropout) produced to the blob that now carries its value.
    """

    name: str
    inputs: tuple[InputSpec, ...]
    layers: tuple[Layer, ...]
    outputs: tuple[str, ...]
    caffe_names: Mapping[str, str] = field(default_factory=lambda: MappingProxyType({}))
    aliases: Mapping[str, str] = field(default_factory=lambda: MappingProxyType({}))
    notes: tuple[str, ...] = ()

    def __post_init__(self) -> None:
        object.__setattr__(self, "caffe_names", _freeze(self.caffe_names))
        object.__setattr__(self, "aliases", _freeze(self.aliases))

    def with_(self, **changes: Any) -> Graph:
        """A copy with some fields replaced."""
        return replace(self, **changes)

    def producers(self) -> dict[str, Layer]:
        """Blob name -> the layer that writes it (inputs are absent)."""
        return {top: layer for layer in self.layers for top in layer.tops}

    def consumers(self) -> dict[str, list[Layer]]:
        """Blob name -> the layers that read it, in order."""
        out: dict[str, list[Layer]] = {}
        for layer in self.layers:
            for bottom in layer.bottoms:
                out.setdefault(bottom, []).append(layer)
        return out

    def layer(self, name: str) -> Layer:
        """The layer called ``name`` (KeyError if absent)."""
        for layer in self.layers:
            if layer.name == name:
                return layer
        raise KeyError(name)

    def resolve(self, blob: str) -> str:
        """The blob that carries ``blob``'s value (itself unless an identity layer was removed)."""
        while blob in self.aliases:
            blob = self.aliases[blob]
        return blob

    def caffe_name(self, blob: str) -> str:
        """The Caffe blob a (possibly renamed) blob is a version of."""
        return self.caffe_names.get(blob, blob)


def net_outputs(inputs: tuple[InputSpec, ...], layers: tuple[Layer, ...]) -> tuple[str, ...]:
    """Caffe's rule (``net.cpp``): blobs still available after the last layer, in name order.

    A layer removes its bottoms from the available set and adds its tops, so an in-place chain's
    blob stays available. Caffe keeps the set sorted (std::set), so outputs come in name order.
    Unconsumed net inputs are not outputs here (Caffe would list them; Keras has no use for them).
    """
    available: set[str] = set()
    for layer in layers:
        available.difference_update(layer.bottoms)
        available.update(layer.tops)
    written = {top for layer in layers for top in layer.tops}
    unwritten_inputs = {spec.name for spec in inputs} - written
    return tuple(sorted(available - unwritten_inputs))
