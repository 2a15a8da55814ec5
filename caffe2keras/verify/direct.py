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
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

Runner = Callable[[Mapping[int, Any]], list[Any]]


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
    fn = op.call if direct and direct_ok(node) else op
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
