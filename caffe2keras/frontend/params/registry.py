"""The registry of per-type parameter parsers."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, TypeVar

from caffe2keras.errors import ValidationError

Parser = Callable[[Any], Any]
_PARSERS: dict[str, Parser] = {}
F = TypeVar("F", bound=Parser)


@dataclass(frozen=True)
class NoParams:
    """Params of a layer type that has none (ReLU6, TanH, Split, ...)."""


@dataclass(frozen=True)
class UnknownParams:
    """Placeholder for a type no parser knows; the support check reports it."""

    type: str


def param_parser(*type_names: str) -> Callable[[F], F]:
    """Register ``fn(layer_pb) -> params`` for the given V2 type names; duplicates are errors."""

    def register(fn: F) -> F:
        for name in type_names:
            if name in _PARSERS:
                raise RuntimeError(f"a params parser for layer type '{name}' is already registered")
            _PARSERS[name] = fn
        return fn

    return register


def parse_params(layer_pb: Any) -> Any:
    """The normalised params of one LayerParameter (V2 form)."""
    load_families()
    parser = _PARSERS.get(layer_pb.type)
    if parser is None:
        return UnknownParams(layer_pb.type)
    return parser(layer_pb)


def registered_types() -> frozenset[str]:
    """Every layer type that has a params parser."""
    load_families()
    return frozenset(_PARSERS)


def require(cond: bool, layer_pb: Any, field: str, message: str) -> None:
    """Raise a ValidationError naming the layer and field unless ``cond``."""
    if not cond:
        raise ValidationError(message, layer=layer_pb.name, field=field)


def no_params(*type_names: str) -> None:
    """Register types whose only params are :class:`NoParams`."""
    param_parser(*type_names)(lambda layer_pb: NoParams())


def load_families() -> None:
    """Register every built-in layer family (once)."""
    from caffe2keras.families import load

    load()
