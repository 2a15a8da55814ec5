"""Layer families: one module per family of Caffe layer types, discovered, not listed.

Each module holds, for each of its types, the four parts of the contract, registered by
decorators where they are defined:

- the params parser (:func:`caffe2keras.frontend.params.registry.param_parser`): a frozen
  dataclass with Caffe's defaults, the only place the protobuf fields are read;
- the shape rule (:func:`caffe2keras.ir.shapes.registry.shape_rule`): top shapes and the shapes
  of the learned blobs;
- the Keras builder and what it emits (:func:`caffe2keras.keras_model.registry.builder`), which
  ``inspect`` and the README's supported-layers table read without running it.

numpy and Keras are imported inside the functions that need them: ``inspect`` loads every family
and must stay free of both. The numpy reference op of each type is elsewhere on purpose, in
:mod:`caffe2keras.reference.ops` (see there). Adding a module here is all it takes to add a
family: :func:`load` imports every module of this package (``pkgutil``); the registries call it
before their first lookup.
"""

from __future__ import annotations

_LOADED: list[str] = []


def load() -> None:
    """Import every family module once (each registers its types as it is imported)."""
    if _LOADED:
        return
    from caffe2keras.runtime.discovery import import_submodules

    _LOADED.extend(import_submodules(__name__, __path__))


def family_modules() -> tuple[str, ...]:
    """The names of the family modules (loading them first)."""
    load()
    return tuple(_LOADED)
