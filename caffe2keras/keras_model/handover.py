"""Hand each weight to its TensorFlow variable without a second copy, and read variables back
without one.

Setting a weight the ordinary way (``layer.set_weights``) holds, at the peak, the zero-initialized
variable, our transposed copy and TensorFlow's conversion copy of it: three times a 411 MB kernel.
Instead the layer's variables are created deferred (``keras.StatelessScope(initialize_variables=
False)``: no memory), the transposed copy is made into a 64-byte-aligned numpy buffer (TensorFlow's
CPU kernels need ``EIGEN_MAX_ALIGN_BYTES`` alignment), that buffer becomes a tensor through DLPack
(zero-copy) and the variable is initialized from it: TensorFlow's ``AssignVariableOp`` adopts the
buffer of a tensor nothing else holds, so the copy *is* the variable. Writing a filled model reads
each variable the same way (:func:`variable_view`), instead of ``convert_to_numpy``'s copy.

Both adoptions are optimizations TensorFlow may decline (it then copies: more memory, the same
values); ``tests/perf/test_lean_h5.py`` checks that this TensorFlow adopts. The hooks are
private Keras API (deferred variables, the uninitialized-variable list), so :func:`supported`
feature-detects them; without them the builder sets weights with ``set_weights``.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from typing import Any

import numpy as np

from caffe2keras.keras_model.handles import shape_free_handles
from caffe2keras.keras_model.weights import Weight, keras_shape, materialize, release_all

ALIGN_BYTES = 64  # EIGEN_MAX_ALIGN_BYTES of TensorFlow's CPU build (AVX-512)
ADOPT_ABOVE = 1 << 16  # bytes; smaller weights take the ordinary conversion copy
_UNINITIALIZED = "uninitialized_variables"  # Keras' global list of deferred variables


def _global_state() -> Any:
    from keras.src.backend.common import global_state

    return global_state


def supported() -> bool:
    """True on the TensorFlow backend with the Keras hooks this module relies on."""
    import keras

    if keras.backend.backend() != "tensorflow":
        return False
    try:
        import tensorflow as tf

        state = _global_state()
        from keras.src.backend.common.stateless_scope import in_stateless_scope
        from keras.src.backend.common.variables import Variable
    except ImportError:  # pragma: no cover - depends on the Keras version
        return False
    return (
        not in_stateless_scope()
        and hasattr(state, "get_global_attribute")
        and hasattr(Variable, "_deferred_initialize")
        and hasattr(tf.experimental.dlpack, "from_dlpack")
        and hasattr(tf.experimental.dlpack, "to_dlpack")
    )


def aligned_empty(shape: tuple[int, ...]) -> np.ndarray:
    """An uninitialized C-contiguous float32 array starting on an ``ALIGN_BYTES`` boundary."""
    nbytes = 4 * int(np.prod(shape, dtype=np.int64))
    raw = np.empty(nbytes + ALIGN_BYTES, np.uint8)
    start = -raw.ctypes.data % ALIGN_BYTES
    return raw[start : start + nbytes].view(np.float32).reshape(shape)


class _Adopt:
    """A Keras initializer that returns ``weight`` as a tensor on an aligned numpy buffer."""

    def __init__(self, weight: Weight, layer: str):
        self.weight, self.layer = weight, layer

    def __call__(self, shape: Any, dtype: Any = None) -> Any:
        import tensorflow as tf

        if tuple(shape) != keras_shape(self.weight):  # checked before; a bug if reached
            raise ValueError(f"layer '{self.layer}': weight shape {keras_shape(self.weight)}")
        if str(dtype) != "float32" or 4 * int(np.prod(shape)) < ADOPT_ABOVE:
            return materialize(self.weight)
        buffer = materialize(self.weight, out=aligned_empty(tuple(shape)))
        return tf.experimental.dlpack.from_dlpack(buffer.__dlpack__())


@contextmanager
def deferred_variables() -> Iterator[list[Any]]:
    """Variables created inside are deferred; on exit the list holds them, in creation order,
    taken off Keras' global list (so no later ``initialize_all_variables`` fills them)."""
    import keras

    registry = _global_state().get_global_attribute(_UNINITIALIZED, [], set_to_default=True)
    start = len(registry)
    created: list[Any] = []
    try:
        with keras.StatelessScope(initialize_variables=False):
            yield created
    finally:  # also when the builder refused the layer: nothing is left on Keras' list
        registry = _global_state().get_global_attribute(_UNINITIALIZED, [], set_to_default=True)
        created.extend(registry[start:])
        del registry[start:]


def _check(layer: Any, weights: Sequence[Weight]) -> None:
    variables = layer.weights
    if len(variables) != len(weights):
        raise ValueError(
            f"layer '{layer.name}' has {len(variables)} weights, the builder gave {len(weights)}"
        )
    for variable, weight in zip(variables, weights):
        if tuple(variable.shape) != keras_shape(weight):
            raise ValueError(
                f"layer '{layer.name}' weight '{variable.name}' has shape "
                f"{tuple(variable.shape)}, the builder gave {keras_shape(weight)}"
            )


def fill(created: Sequence[Any], weights: Sequence[tuple[Any, Sequence[Weight]]]) -> None:
    """Initialize ``created`` (deferred variables): those of ``weights``' layers from their
    weights (adopted, one copy), the others with their own initializers."""
    for layer, layer_weights in weights:
        _check(layer, layer_weights)
        for variable, weight in zip(layer.weights, layer_weights):
            if variable._value is None:
                variable._initializer = _Adopt(weight, layer.name)
            else:  # created before this build step: the ordinary copy
                variable.assign(materialize(weight))
    with shape_free_handles():  # one VarHandleOp kernel for every shape (see .handles)
        for variable in created:
            if variable._value is None:
                variable._deferred_initialize()
    for _, layer_weights in weights:
        release_all(layer_weights)


class _Exported:
    """A DLPack capsule as the object ``np.from_dlpack`` takes."""

    def __init__(self, capsule: Any):
        self.capsule = capsule

    def __dlpack__(self, **_: Any) -> Any:
        return self.capsule

    def __dlpack_device__(self) -> tuple[int, int]:
        return (1, 0)  # kDLCPU


def variable_view(variable: Any) -> np.ndarray:
    """A filled TensorFlow variable's value as a read-only numpy array on its own buffer (a copy
    only where TensorFlow declines to share it, e.g. a variable in copy-on-read mode)."""
    import tensorflow as tf

    tensor = variable.value.read_value() if hasattr(variable.value, "read_value") else None
    if tensor is None or tensor.dtype != tf.float32 or tensor.shape.num_elements() == 0:
        return np.asarray(variable.numpy())
    view = np.from_dlpack(_Exported(tf.experimental.dlpack.to_dlpack(tensor)))
    view.flags.writeable = False
    return view
