"""One node of the eager walk as a plain function: ``layer.call`` without ``Layer.__call__``.

``Layer.__call__`` wraps ``call`` in bookkeeping that, for a built float32 layer of a functional
model with no masks, changes no value: input conversion (a no-op when every input already has the
layer's input dtype), the input-spec check (raises only), ``build`` (done), the call context (it
resolves ``training``, which the walk passes as ``model(x, training=False)`` would: False to every
layer whose ``call`` takes it), mask propagation (no tensor of the graph carries a mask), autocast
scopes (none active, float32 policy), distribution layouts (no distribution), activity
regularizers (none) and traceback filtering. On DenseNet-121 that bookkeeping costs more than the
TensorFlow kernels it wraps (benchmarks/README.md, "Keras walk"). So a node whose layer meets
every condition of :func:`direct_ok` runs ``layer.call`` directly; any other node (a layer that
overrides ``__call__``, holds sublayers whose call context would differ, is quantized or
rematerialized, has another context argument or a non-None mask default, a non-Layer operation)
runs through ``__call__`` as before. ``tests/verify/test_walk.py`` compares every blob of both
paths with the model's own outputs on nets of every layer family the builders emit.

A direct node of a class in :data:`READS_ONLY` (stock Keras layers whose ``call`` only reads its
variables, through ops) also runs with its variables already read: for the duration of its
``call``, the instance attributes that hold the layer's own variables hold their current values
(``variable.value.value()``: the same ``ReadVariableOp`` the layer's ops would run) and are put
back before the node's outputs are used. The same ops then run on those tensors (TensorFlow's fast
path instead of converting a ``KerasVariable`` per use: 1-4% of the walk's CPU,
benchmarks/README.md, "Keras walk, round 2"). Writing the layer's ``__dict__`` bypasses Keras'
attribute tracking on purpose (nothing is tracked or untracked); the attributes are restored in a
``finally`` with no yield in between, so the model must not be used by another thread during a
walk (verification runs it alone). The attribute names are Keras internals (``_kernel``,
``moving_mean``...): found by identity with ``layer.variables``, not by name, and a layer where
none is found runs as before.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

Runner = Callable[[Mapping[int, Any]], list[Any]]

# Stock Keras classes whose ``call`` only reads its variables through ops (``ops.conv``,
# ``ops.matmul``, ``ops.cast``, ``ops.reshape``, arithmetic), reviewed against Keras 3.15: every
# class the builders emit with variables. Exact types, not subclasses, and only with Keras' own
# ``call`` (a replaced one may assign, e.g. a BatchNormalization run in training mode).
READS_ONLY = (
    "BatchNormalization",
    "Conv2D",
    "Conv2DTranspose",
    "Dense",
    "DepthwiseConv2D",
    "PReLU",
)


def graph_allows_direct(model: Any, nodes: list[Any]) -> bool:
    """Whether the walk may skip ``__call__`` at all: no autocast scope or distribution is
    active, and no tensor of the graph carries a Keras mask."""
    import keras
    from keras.src.backend.common.variables import get_autocast_scope

    if get_autocast_scope() is not None or keras.distribution.distribution() is not None:
        return False
    tensors = [*model.inputs, *(x for node in nodes for x in node.outputs)]
    return all(getattr(x, "_keras_mask", None) is None for x in tensors)


def direct_ok(node: Any) -> bool:
    """Whether ``node.operation.call`` computes what ``node.operation(...)`` would (see the
    module docstring), for this node's inputs."""
    import keras

    layer = node.operation
    base = keras.layers.Layer
    if not isinstance(layer, base) or type(layer).__call__ is not base.__call__:
        return False
    if not layer.built or layer._layers or layer._remat_mode:
        return False
    if getattr(layer, "quantization_mode", None) is not None or layer.activity_regularizer:
        return False
    policy = layer.dtype_policy
    if policy.compute_dtype != "float32" or policy.variable_dtype != "float32":
        return False
    if set(layer._call_context_args) - {"training"}:
        return False
    for name, param in layer._call_signature.parameters.items():
        if (name == "mask" or name.endswith("_mask")) and param.default not in (None, param.empty):
            return False
    dtype = keras.backend.standardize_dtype(layer.input_dtype)
    return all(keras.backend.standardize_dtype(x.dtype) == dtype for x in node.input_tensors)


def runner(node: Any, direct: bool) -> Runner:
    """A function of the computed tensors (by id of their Keras tensor) that runs ``node`` in
    inference mode and returns its outputs as a flat list: ``layer.call`` when ``direct`` and
    :func:`direct_ok`, else the operation's ``__call__`` (``training=False`` where the layer
    takes it, as ``model(x, training=False)`` passes it)."""
    from keras import tree

    op = node.operation
    kwargs: dict[str, Any] = {}
    if "training" in getattr(op, "_call_context_args", ()) and getattr(
        op, "_call_has_training_arg", False
    ):
        kwargs["training"] = False
    direct = direct and direct_ok(node)
    fn = op.call if direct else op
    slots = variable_slots(op) if direct else {}
    if slots:
        fn = _with_read_variables(op, fn, slots)
    single = node.arguments._single_positional_tensor
    multi = len(node.outputs) != 1

    def flat(result: Any) -> list[Any]:
        if multi or isinstance(result, (list, tuple, dict)):
            return list(tree.flatten(result))
        return [result]

    if single is not None:
        key = id(single)
        return lambda tensors: flat(fn(tensors[key], **kwargs))

    def run(tensors: Mapping[int, Any]) -> list[Any]:
        args, more = node.arguments.fill_in(tensors)
        return flat(fn(*args, **{**more, **kwargs}))

    return run


def variable_slots(layer: Any) -> dict[str, Any]:
    """The instance attributes of ``layer`` that hold its own variables (name -> variable), when
    its class is one of :data:`READS_ONLY`; else nothing."""
    import keras

    if not any(type(layer) is getattr(keras.layers, name, None) for name in READS_ONLY):
        return {}
    if not getattr(type(layer).call, "__module__", "").startswith("keras."):
        return {}  # its call replaced (e.g. a test's mutation): it may do more than read
    own = {id(v) for v in layer.variables}
    return {k: v for k, v in vars(layer).items() if id(v) in own}


def _read(variable: Any) -> Any:
    """The variable's current value as a tensor: the backend variable's own read
    (``tf.Variable.value()``), else Keras' conversion."""
    import keras

    read = getattr(variable.value, "value", None)
    return read() if callable(read) else keras.ops.convert_to_tensor(variable)


def _with_read_variables(layer: Any, fn: Callable[..., Any], slots: dict[str, Any]) -> Any:
    """``fn`` run with ``slots``' attributes of ``layer`` holding their variables' values."""
    attributes = vars(layer)

    def call(*args: Any, **kwargs: Any) -> Any:
        try:
            attributes.update({k: _read(v) for k, v in slots.items()})
            return fn(*args, **kwargs)
        finally:
            attributes.update(slots)

    return call
