"""The builder registry, the builder contract, and what each builder emits (for ``inspect``).

A builder is pure: ``builder(layer, inputs, ctx) -> BuildResult``. It creates Keras layers, applies
them to the Keras tensors of the layer's bottoms, and returns one tensor per top plus the weights
each created Keras layer must receive. It never touches the graph or other layers' state.
"""

from __future__ import annotations

import sys
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field, replace
from typing import TYPE_CHECKING, Any, TypeVar

from caffe2keras.ir.graph import Layer, Shape

if TYPE_CHECKING:
    from caffe2keras.keras_model.weights import Weight

# Initializer of every Keras variable the converter sets: random initialization of a 400 MB kernel
# costs seconds and, transiently, three times its size, only to be overwritten.
SET_LATER = "zeros"


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
# What a type becomes in Keras, for ``inspect`` and the README's table: one text, or one per type
# when one builder serves several types.
Emits = str | Mapping[str, str]


@dataclass(frozen=True)
class KerasInfo:
    """What a builder emits, declared next to it: ``emits`` (the general text, e.g. for the
    README), ``refine`` (the text for one layer, when its params decide), ``notes`` (for docs),
    ``origin`` (the Caffe fork that defines the type, e.g. ``"SSD (weiliu89/caffe)"``; empty for
    BVLC Caffe's own types)."""

    emits: str
    refine: Callable[[Layer, list[Shape]], str] | None = None
    notes: str = ""
    origin: str = ""
    module: str = ""  # the family module that declared it

    def describe(self, layer: Layer, bottoms: list[Shape]) -> str:
        """The Keras layers this layer becomes (refined by its params and bottom shapes)."""
        return self.refine(layer, bottoms) if self.refine is not None else self.emits


_BUILDERS: dict[str, Builder] = {}
_INFO: dict[str, KerasInfo] = {}
B = TypeVar("B", bound=Builder)


def builder(
    *type_names: str,
    emits: Emits,
    refine: Callable[[Layer, list[Shape]], str] | None = None,
    notes: str = "",
    origin: str = "",
) -> Callable[[B], B]:
    """Register a builder for the given layer types (V2 names) and what it emits; duplicates are
    errors."""

    def register(fn: B) -> B:
        for name in type_names:
            register_builder(name, fn)
        _declare(
            type_names,
            KerasInfo(emits="", refine=refine, notes=notes, origin=origin, module=fn.__module__),
            emits,
        )
        return fn

    return register


def describe(
    *type_names: str,
    emits: Emits,
    refine: Callable[[Layer, list[Shape]], str] | None = None,
    notes: str = "",
    origin: str = "",
) -> None:
    """Declare what the given types become in Keras (builders do it through :func:`builder`;
    types the passes remove, or that become inputs, call this directly)."""
    module = sys._getframe(1).f_globals.get("__name__", "")
    info = KerasInfo(emits="", refine=refine, notes=notes, origin=origin, module=module)
    _declare(type_names, info, emits)


def _declare(type_names: tuple[str, ...], info: KerasInfo, emits: Emits) -> None:
    for name in type_names:
        if name in _INFO:
            raise RuntimeError(f"layer type '{name}' already says what it emits")
        text = emits if isinstance(emits, str) else emits[name]
        _INFO[name] = replace(info, emits=text)


def register_builder(type_name: str, fn: Builder) -> None:
    """Register one builder (plugins use this too)."""
    if type_name in _BUILDERS:
        raise RuntimeError(f"a builder for layer type '{type_name}' is already registered")
    _BUILDERS[type_name] = fn


def get_builder(type_name: str) -> Builder:
    """The builder of a type (KeyError if none)."""
    load_families()
    return _BUILDERS[type_name]


def builder_types() -> frozenset[str]:
    """Every layer type with a builder."""
    load_families()
    return frozenset(_BUILDERS)


def keras_info(type_name: str) -> KerasInfo | None:
    """What a built-in type becomes in Keras (None for unknown and plugin types)."""
    load_families()
    return _INFO.get(type_name)


def described_types() -> frozenset[str]:
    """Every type that says what it becomes in Keras."""
    load_families()
    return frozenset(_INFO)


def load_families() -> None:
    """Register every built-in layer family (once)."""
    from caffe2keras.families import load

    load()
