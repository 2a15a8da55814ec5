"""Custom layer types: one call registers a type in the same four registries as the built-ins.

A plugin is Python code the user names explicitly: a file given with ``--plugin my_layers.py``,
or an installed package that advertises the entry-point group ``caffe2keras.layers``. Model files
never cause imports. A plugin calls :func:`register_layer` once per type::

    register_layer("Reverse", params=..., shape=..., build=..., reference=...)

The contracts are the built-ins' (see CONTRIBUTING.md, "How to add a layer"), except that the
params parser also receives the layer's fields that ``caffe.proto`` does not know, such as
``reverse_param { axis: 1 }``, as :class:`Fields`. ``examples/plugins/reverse.py``
is a complete plugin. Errors name the plugin; a failing plugin file registers nothing.
"""

from __future__ import annotations

import functools
import os
import sys
import types
from collections.abc import Callable, Iterable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from caffe2keras.errors import Caffe2KerasError, UsageError
from caffe2keras.frontend.params import param_parser, parse_params, registered_types
from caffe2keras.ir.graph import Layer
from caffe2keras.ir.shapes import LayerShapes, shape_rule, shape_types

if TYPE_CHECKING:
    from caffe2keras.frontend.textproto import Fields
    from caffe2keras.keras_model.registry import BuildContext, BuildResult

__all__ = [
    "ENTRY_POINT_GROUP",
    "BuildContext",
    "BuildResult",
    "Fields",
    "Layer",
    "LayerShapes",
    "load_plugins",
    "parse_layer_params",
    "plugin_origin",
    "plugin_types",
    "register_layer",
]

ENTRY_POINT_GROUP = "caffe2keras.layers"


def __getattr__(name: str) -> Any:
    """``BuildContext``, ``BuildResult`` and ``Fields`` on first use: the builder package stays
    unloaded while only params are parsed (``inspect`` must start fast)."""
    if name in ("BuildContext", "BuildResult"):
        from caffe2keras.keras_model import registry

        return getattr(registry, name)
    if name == "Fields":
        from caffe2keras.frontend import textproto

        return textproto.Fields
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


@dataclass(frozen=True)
class _Plugin:
    params: Callable[[Any, Fields], Any]
    origin: str


_TYPES: dict[str, _Plugin] = {}  # registered custom types
_LOADED: dict[str, tuple[str, ...]] = {}  # plugin file or entry point -> the types it registered
_PENDING: list[tuple[str, dict[str, Any]]] = []  # registrations of the plugin being loaded
_LOADING: list[str] = []  # the plugin being loaded (its registrations commit when it succeeds)


def register_layer(
    type_name: str,
    *,
    params: Callable[[Any, Fields], Any] | None = None,
    shape: Callable[[Layer, list[tuple[int, ...]]], LayerShapes] | None = None,
    build: Callable[[Layer, list[Any], BuildContext], BuildResult] | None = None,
    reference: Callable[[Layer, list[Any], Any], list[Any]] | None = None,
) -> None:
    """Register a custom layer type: all four parts are required; a known type is refused.

    ``params(layer_pb, fields) -> frozen params`` (``layer_pb`` the LayerParameter, ``fields``
    the fields caffe.proto lacks); ``shape(layer, bottom_shapes) -> LayerShapes``;
    ``build(layer, inputs, ctx) -> BuildResult``; ``reference(layer, inputs, dtype) -> outputs``.
    """
    parts = {"params": params, "shape": shape, "build": build, "reference": reference}
    if not isinstance(type_name, str) or not type_name.strip():
        raise UsageError(f"register_layer needs a layer type name, got {type_name!r}")
    missing = [name for name, fn in parts.items() if fn is None]
    if missing:
        raise UsageError(
            f"register_layer('{type_name}') needs all of params, shape, build and reference; "
            f"missing: {', '.join(missing)}"
        )
    for name, fn in parts.items():
        if not callable(fn):
            raise UsageError(f"register_layer('{type_name}'): {name} must be callable")
    if _is_known(type_name) or any(t == type_name for t, _ in _PENDING):
        owner = _TYPES[type_name].origin if type_name in _TYPES else "built in"
        raise UsageError(f"layer type '{type_name}' is already registered ({owner})")
    if _LOADING:
        _PENDING.append((type_name, parts))
    else:
        _commit(type_name, parts, "register_layer")


def plugin_types() -> frozenset[str]:
    """The layer types registered by plugins."""
    return frozenset(_TYPES)


def plugin_origin(type_name: str) -> str | None:
    """Which plugin registered a type (its file or entry point), None for other types."""
    plugin = _TYPES.get(type_name)
    return plugin.origin if plugin is not None else None


def parse_layer_params(layer_pb: Any, fields: Fields | None = None) -> Any:
    """The params of a layer; a plugin type's parser also gets the fields caffe.proto lacks."""
    plugin = _TYPES.get(layer_pb.type)
    if plugin is None:
        return parse_params(layer_pb)
    from caffe2keras.frontend.textproto import Fields

    return _guard(layer_pb.type, "params parser", plugin.params)(layer_pb, fields or Fields())


def load_plugins(paths: Iterable[str | os.PathLike[str]] = (), entry_points: bool = True) -> None:
    """Load plugin files (each once per process) and, unless disabled, installed entry points."""
    for path in paths:
        _load_file(os.fspath(path))
    if entry_points:
        _load_entry_points()


def _is_known(type_name: str) -> bool:
    from caffe2keras.keras_model.registry import builder_types
    from caffe2keras.reference import reference_types

    return any(
        type_name in known
        for known in (registered_types(), shape_types(), builder_types(), reference_types())
    )


def _commit(type_name: str, parts: dict[str, Any], origin: str) -> None:
    from caffe2keras.keras_model.registry import register_builder
    from caffe2keras.reference import register_reference_op

    plugin = _Plugin(params=parts["params"], origin=origin)
    param_parser(type_name)(lambda layer_pb: parse_layer_params(layer_pb))
    shape_rule(type_name)(_guard(type_name, "shape rule", parts["shape"]))
    register_builder(type_name, _guard(type_name, "builder", parts["build"]))
    register_reference_op(type_name, _guard(type_name, "reference op", parts["reference"]))
    _TYPES[type_name] = plugin


def _guard(type_name: str, what: str, fn: Callable[..., Any]) -> Callable[..., Any]:
    """``fn`` with its unexpected exceptions reported as the plugin's, naming the layer."""

    @functools.wraps(fn)
    def call(*args: Any) -> Any:
        try:
            return fn(*args)
        except Caffe2KerasError:
            raise
        except Exception as exc:
            layer = getattr(args[0], "name", "?") if args else "?"
            origin = _TYPES[type_name].origin if type_name in _TYPES else "plugin"
            raise UsageError(
                f"layer '{layer}': the {what} of plugin type '{type_name}' ({origin}) failed: "
                f"{type(exc).__name__}: {exc}"
            ) from exc

    return call


@contextmanager
def _loading(origin: str, key: str) -> Iterator[None]:
    """Collect the registrations of one plugin; commit them only if it loads completely."""
    _LOADING.append(origin)
    _PENDING.clear()
    try:
        yield
        if not _PENDING:
            raise UsageError(
                f"plugin {origin} registered no layer types "
                "(call caffe2keras.plugins.register_layer)"
            )
        for type_name, parts in _PENDING:
            _commit(type_name, parts, origin)
        _LOADED[key] = tuple(t for t, _ in _PENDING)
    finally:
        _PENDING.clear()
        _LOADING.pop()


def _load_file(path: str) -> None:
    full = os.path.realpath(path)
    origin = f"'{path}'"
    if full in _LOADED:
        return
    if not os.path.isfile(full):
        raise UsageError(f"--plugin {origin}: no such file")
    if not full.endswith(".py"):
        raise UsageError(f"--plugin {origin}: a plugin is a Python file (.py)")
    import hashlib
    import importlib.util

    digest = hashlib.sha1(full.encode()).hexdigest()[:12]
    module_name = f"caffe2keras_plugin_{digest}"
    spec = importlib.util.spec_from_file_location(module_name, full)
    if spec is None or spec.loader is None:
        raise UsageError(f"--plugin {origin}: cannot be loaded as a Python module")
    module = importlib.util.module_from_spec(spec)
    sys.modules[module_name] = module  # dataclasses and pickling look plugins up here
    try:
        with _loading(origin, full):
            _run_plugin(origin, lambda: spec.loader.exec_module(module))  # type: ignore[union-attr]
    except BaseException:
        sys.modules.pop(module_name, None)
        raise


def _load_entry_points() -> None:
    from importlib.metadata import entry_points

    for ep in entry_points(group=ENTRY_POINT_GROUP):
        dist = getattr(getattr(ep, "dist", None), "name", None)
        origin = f"entry point '{ep.name} = {ep.value}'" + (f" of '{dist}'" if dist else "")
        key = f"entry point {ep.name} = {ep.value}"
        if key in _LOADED:
            continue

        def run(ep: Any = ep) -> None:
            loaded = ep.load()
            if callable(loaded) and not isinstance(loaded, types.ModuleType):
                loaded()

        with _loading(origin, key):
            _run_plugin(origin, run)


def _run_plugin(origin: str, run: Callable[[], None]) -> None:
    try:
        run()
    except UsageError as exc:
        raise UsageError(f"plugin {origin}: {exc}") from exc
    except Exception as exc:
        raise UsageError(f"plugin {origin} failed to load: {type(exc).__name__}: {exc}") from exc
