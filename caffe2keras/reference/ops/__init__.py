"""The reference ops, one module per family, discovered (``pkgutil``), not listed.

Written apart from :mod:`caffe2keras.families` ON PURPOSE: each op is plain numpy arithmetic
taken from Caffe's own sources (``*_layer.cpp``), in Caffe's NCHW layouts, sharing nothing with
the Keras builders but the graph, the params and the size arithmetic of
:mod:`caffe2keras.ir.shapes.geometry`. Verification compares the two; had they shared code, a
mistake in that code would be made twice and never show. So a new Caffe type is a family module
*and* a module (or a function) here, written from Caffe's source, not from the builder.
"""

from __future__ import annotations

_LOADED: list[str] = []


def load() -> None:
    """Import every op module of this package once (each registers its ops as it is imported)."""
    if _LOADED:
        return
    from caffe2keras.runtime.discovery import import_submodules

    _LOADED.extend(import_submodules(__name__, __path__))
