"""The registry of numpy reference ops, one per Caffe layer type.

An op is ``op(layer, inputs, dtype) -> outputs``: ``inputs`` are the layer's bottoms (NCHW numpy
arrays, already in ``dtype``), ``outputs`` one array per top, in ``dtype``. Ops are pure: they
never mutate their inputs or the layer.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TypeVar

import numpy as np

from caffe2keras.ir.graph import Layer

ReferenceOp = Callable[[Layer, list[np.ndarray], np.dtype], list[np.ndarray]]
F = TypeVar("F", bound=ReferenceOp)

_OPS: dict[str, ReferenceOp] = {}


def register_reference_op(type_name: str, fn: ReferenceOp) -> None:
    """Register ``fn`` as the reference op of ``type_name``; a second registration is an error."""
    if type_name in _OPS:
        raise RuntimeError(f"a reference op for layer type '{type_name}' is already registered")
    _OPS[type_name] = fn


def reference_op(*type_names: str) -> Callable[[F], F]:
    """Decorator: register the function for every given layer type (V1 aliases included)."""

    def register(fn: F) -> F:
        for name in type_names:
            register_reference_op(name, fn)
        return fn

    return register


def reference_types() -> frozenset[str]:
    """Every layer type that has a reference op."""
    load()
    return frozenset(_OPS)


def lookup_reference_op(type_name: str) -> ReferenceOp | None:
    """The op registered for ``type_name``, or None."""
    load()
    return _OPS.get(type_name)


def load() -> None:
    """Register every built-in reference op (once)."""
    from caffe2keras.reference.ops import load

    load()
