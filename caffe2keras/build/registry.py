"""The builder registry and the builder contract.

A builder is pure: ``builder(layer, inputs, ctx) -> BuildResult``. It creates Keras layers, applies
them to the Keras tensors of the layer's bottoms, and returns one tensor per top plus the weights
each created Keras layer must receive. It never touches the graph or other layers' state.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any, TypeVar

from caffe2keras.build.weights import Weight
from caffe2keras.ir.graph import Layer, Shape


@dataclass
class Names:
    """Deterministic, unique Keras layer names derived from Caffe names ('/' is not allowed)."""

    taken: set[str] = field(default_factory=set)
    origin: dict[str, str] = field(default_factory=dict)  # keras name -> caffe layer name

    def make(self, caffe_name: str, suffix: str = "") -> str:
        """A fresh Keras name for a layer built from ``caffe_name``."""
        base = sanitize(caffe_name) + (f"_{suffix}" if suffix else "")
        name, n = base, 1
        while name in self.taken:
            n += 1
            name = f"{base}_{n}"
        self.taken.add(name)
        self.origin[name] = caffe_name
        return name


def sanitize(name: str) -> str:
    """A Caffe name as a Keras name: characters other than letters, digits, '_', '-', '.' -> '_'."""
    out = "".join(c if c.isalnum() or c in "_-." else "_" for c in name)
    return out or "layer"


@dataclass(frozen=True)
class BuildContext:
    """What a builder may read: Caffe shapes of all blobs, non-negativity facts, the namer."""

    shapes: Mapping[str, Shape]
    nonnegative: frozenset[str]
    names: Names

    def bottom_shapes(self, layer: Layer) -> list[Shape]:
        return [self.shapes[b] for b in layer.bottoms]


@dataclass(frozen=True)
class BuildResult:
    """One Keras tensor per top, and (Keras layer, weights) pairs to set once the model exists."""

    outputs: tuple[Any, ...]
    weights: tuple[tuple[Any, tuple[Weight, ...]], ...] = ()


Builder = Callable[[Layer, list[Any], BuildContext], BuildResult]
_BUILDERS: dict[str, Builder] = {}
B = TypeVar("B", bound=Builder)


def builder(*type_names: str) -> Callable[[B], B]:
    """Register a builder for the given layer types (V2 names); duplicates are errors."""

    def register(fn: B) -> B:
        for name in type_names:
            register_builder(name, fn)
        return fn

    return register


def register_builder(type_name: str, fn: Builder) -> None:
    """Register one builder (plugins use this too)."""
    if type_name in _BUILDERS:
        raise RuntimeError(f"a builder for layer type '{type_name}' is already registered")
    _BUILDERS[type_name] = fn


def get_builder(type_name: str) -> Builder:
    """The builder of a type (KeyError if none)."""
    return _BUILDERS[type_name]


def builder_types() -> frozenset[str]:
    """Every layer type with a builder."""
    return frozenset(_BUILDERS)
