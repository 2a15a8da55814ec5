"""Create TensorFlow variable handles without compiling a kernel per variable shape.

Every eager ``tf.Variable`` starts with a ``VarHandleOp`` whose attributes are the variable's
shape and name. TensorFlow's eager runtime caches one op kernel per attribute set, so each new
shape costs a kernel instantiation (~1.5 ms here, against ~0.2 ms for the whole variable once the
kernel is cached), and ``keras.backend.clear_session()`` (between the models of ``convert-all``)
empties that cache. DenseNet-121 has ~290 distinct (shape, name) pairs among its 606 variables:
about a third of its build time.

Inside :func:`shape_free_handles` the op is created with an unknown shape attribute, so every
handle of one name shares one kernel. Nothing else changes: in eager mode TensorFlow takes the
variable's shape and the handle's shape data (used when a ``tf.function`` captures it) from the
initial value in Python, not from the op (``resource_variable_ops
._variable_handle_from_shape_and_dtype``), and the variable's value is the same tensor.
``tests/perf/test_handles.py`` checks shapes, handle data, values, ``tf.function`` and
saved files. The hook is private TensorFlow API, so it is feature-detected and skipped (the
ordinary, slower path) when absent.
"""

from __future__ import annotations

import threading
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

_LOCK = threading.Lock()
_SWAPPED: list[Any] = []  # while swapped: the original op, then one entry per user


def _ops() -> Any:
    try:
        from tensorflow.python.ops import gen_resource_variable_ops, resource_variable_ops
    except ImportError:  # pragma: no cover - depends on the TensorFlow version
        return None
    creator = getattr(resource_variable_ops, "_variable_handle_from_shape_and_dtype", None)
    if creator is None or not hasattr(gen_resource_variable_ops, "var_handle_op"):
        return None  # pragma: no cover - depends on the TensorFlow version
    return gen_resource_variable_ops


@contextmanager
def shape_free_handles() -> Iterator[None]:
    """Eager variables created inside get handles whose op carries no shape (one cached
    kernel for all shapes); their Python-side shape and handle data are unchanged. Nested and
    concurrent uses share one swap (counted under a lock), so the op is restored exactly once."""
    ops = _ops()
    if ops is None:  # pragma: no cover - depends on the TensorFlow version
        yield
        return
    with _LOCK:
        if not _SWAPPED:
            _SWAPPED.append(ops.var_handle_op)
            ops.var_handle_op = _shape_free(ops.var_handle_op)
        _SWAPPED.append(None)  # one entry per user after the original
    try:
        yield
    finally:
        with _LOCK:
            _SWAPPED.pop()
            if len(_SWAPPED) == 1:
                ops.var_handle_op = _SWAPPED.pop()


def _shape_free(original: Any) -> Any:
    import tensorflow as tf
    from tensorflow.python.framework import tensor_shape

    def var_handle_op(*args: Any, **kwargs: Any) -> Any:
        if tf.executing_eagerly():  # a graph takes the handle's shape from the op: kept
            kwargs["shape"] = tensor_shape.TensorShape(None)
        return original(*args, **kwargs)

    return var_handle_op
