"""Caffe's LSTM and RNN as Keras layers that apply Caffe's ``cont`` input, and the id guard of
Embed. ``keras.ops`` only (a ``scan`` over time), registered serializable as ``caffe2keras>...``.

Layouts are batch-major like Keras' own recurrent layers: ``x (N, T, D)``, ``cont (N, T)``, a
static input ``(N, Ds)``, states ``(N, H)``. Weights use Keras' LSTM conventions (``kernel``
(D, 4H), ``recurrent_kernel`` (H, 4H), ``bias`` (4H), gates in Keras' order i, f, c, o), so they
read like ``keras.layers.LSTM``'s; :func:`lstm_weights` re-orders Caffe's i, f, o, g.
"""

from __future__ import annotations

from typing import Any

import keras
import numpy as np
from keras import ops

_register = keras.saving.register_keras_serializable(package="caffe2keras")

# Caffe's gate blocks (i, f, o, g) taken in Keras' order (i, f, c = g, o).
CAFFE_TO_KERAS_GATES = (0, 1, 3, 2)


def _gates(w: np.ndarray, h: int) -> np.ndarray:
    """A Caffe (4H, ...) blob with its gate blocks in Keras' order."""
    return np.asarray(w).reshape(4, h, *w.shape[1:])[list(CAFFE_TO_KERAS_GATES)].reshape(w.shape)


def lstm_weights(blobs: list[np.ndarray], static: bool, h: int) -> tuple[np.ndarray, ...]:
    """Caffe's W_xc (4H, D), b_c (4H), [W_xc_static (4H, Ds)], W_hc (4H, H) as CaffeLSTM's
    kernel, recurrent_kernel, bias[, static_kernel]."""
    w_x, b, *rest = blobs
    w_s = rest.pop(0) if static else None
    w_h = rest[0]
    out = [_gates(w_x, h).T, _gates(w_h, h).T, _gates(b, h)]
    if w_s is not None:
        out.append(_gates(w_s, h).T)
    return tuple(out)


def rnn_weights(blobs: list[np.ndarray], static: bool, h: int) -> tuple[np.ndarray, ...]:
    """Caffe's W_xh, b_h, [W_xh_static], W_hh, W_ho, b_o as CaffeRNN's kernel,
    recurrent_kernel, bias, output_kernel, output_bias[, static_kernel]."""
    w_x, b, *rest = (np.asarray(a) for a in blobs)
    w_s = rest.pop(0) if static else None
    w_h, w_o, b_o = rest
    out = [w_x.T, w_h.T, b, w_o.T, b_o]
    if w_s is not None:
        out.append(w_s.T)
    return tuple(out)


class _Recurrent(keras.layers.Layer):
    """Shared parts: inputs ``[x, cont, (static), (states...)]``, weights, config."""

    gates = 1
    states = 1

    def __init__(
        self,
        units: int,
        static_input: bool = False,
        expose_hidden: bool = False,
        kernel_initializer: str = "glorot_uniform",
        **kwargs: Any,
    ) -> None:
        super().__init__(**kwargs)
        self.units = int(units)
        self.static_input = bool(static_input)
        self.expose_hidden = bool(expose_hidden)
        self.kernel_initializer = kernel_initializer

    def _weight(self, name: str, shape: tuple[int, ...]) -> Any:
        return self.add_weight(name=name, shape=shape, initializer=self.kernel_initializer)

    def build(self, input_shape: Any) -> None:
        g = self.gates * self.units
        self.kernel = self._weight("kernel", (int(input_shape[0][-1]), g))
        self.recurrent_kernel = self._weight("recurrent_kernel", (self.units, g))
        self.bias = self._weight("bias", (g,))
        self._build_extra()
        if self.static_input:
            self.static_kernel = self._weight("static_kernel", (int(input_shape[2][-1]), g))

    def _build_extra(self) -> None:
        pass

    def _split(self, inputs: list[Any]) -> tuple[Any, Any, Any, list[Any]]:
        x, cont, *rest = inputs
        static = rest.pop(0) if self.static_input else None
        return x, cont, static, rest

    def _time_major_inputs(self, x: Any, cont: Any, static: Any) -> tuple[Any, Any]:
        """x W + b (+ static W_s) for every step, and cont, both time-major."""
        z = ops.matmul(ops.transpose(x, (1, 0, 2)), self.kernel) + self.bias
        if static is not None:
            z = z + ops.matmul(static, self.static_kernel)[None]
        return z, ops.transpose(cont, (1, 0))

    def _initial(self, z: Any, given: list[Any]) -> tuple[Any, ...]:
        """The exposed states, else zeros (Caffe's state at its first forward pass)."""
        if self.expose_hidden:
            return tuple(given)
        zeros = ops.zeros_like(z[0, :, : self.units])
        return (zeros,) * self.states

    def _outputs(self, seq: Any, final: tuple[Any, ...]) -> Any:
        out = ops.transpose(seq, (1, 0, 2))
        return [out, *final] if self.expose_hidden else out

    def compute_output_shape(self, input_shape: Any) -> Any:
        n, t = input_shape[0][0], input_shape[0][1]
        out = (n, t, self.units)
        if not self.expose_hidden:
            return out
        return [out, *[(n, self.units)] * self.states]

    def get_config(self) -> dict[str, Any]:
        return {
            **super().get_config(),
            "units": self.units,
            "static_input": self.static_input,
            "expose_hidden": self.expose_hidden,
            "kernel_initializer": self.kernel_initializer,
        }


def _forget(cont: Any, f: Any) -> Any:
    """``lstm_unit_layer.cpp``: the forget gate is 0 where cont is 0, else cont * sigmoid(f)
    (so a reset ignores even a non-finite previous cell)."""
    return ops.where(ops.equal(cont, 0), ops.zeros_like(f), cont * ops.sigmoid(f))


@_register
class CaffeLSTM(_Recurrent):
    """Caffe's LSTM: ``gates = x W + b (+ s W_s) + (cont * h) U``; ``i, f, o`` sigmoids, ``g``
    tanh; ``c = f' c + i g`` with ``f' = 0 if cont == 0 else cont * f``; ``h = o tanh(c)``.

    Inputs ``[x (N, T, D), cont (N, T), (static (N, Ds)), (h0 (N, H), c0 (N, H))]``; output
    ``h (N, T, H)``, plus ``hT, cT (N, H)`` with ``expose_hidden``."""

    gates = 4
    states = 2

    def call(self, inputs: list[Any]) -> Any:
        x, cont, static, given = self._split(inputs)
        z, cont_t = self._time_major_inputs(x, cont, static)

        def step(carry: Any, xs: Any) -> Any:
            # One tensor [h, c] is both carry and output: Keras' TensorFlow scan needs the
            # output shaped like the carry.
            h, c = ops.split(carry, 2, axis=-1)
            zt, k = xs
            k = k[:, None]
            gates = zt + ops.matmul(h * k, self.recurrent_kernel)
            i, f, g, o = ops.split(gates, 4, axis=-1)
            c = _forget(k, f) * c + ops.sigmoid(i) * ops.tanh(g)
            h = ops.sigmoid(o) * ops.tanh(c)
            hc = ops.concatenate([h, c], axis=-1)
            return hc, hc

        init = ops.concatenate(self._initial(z, given), axis=-1)
        final, seq = ops.scan(step, init, (z, cont_t))
        h_t, c_t = ops.split(final, 2, axis=-1)
        return self._outputs(seq[:, :, : self.units], (h_t, c_t))


@_register
class CaffeRNN(_Recurrent):
    """Caffe's RNN: ``h = tanh(x W + b (+ s W_s) + (cont * h) U)``, ``o = tanh(h V + b_o)``.

    Inputs ``[x (N, T, D), cont (N, T), (static (N, Ds)), (h0 (N, H))]``; output
    ``o (N, T, H)``, plus ``hT (N, H)`` with ``expose_hidden``."""

    def _build_extra(self) -> None:
        self.output_kernel = self._weight("output_kernel", (self.units, self.units))
        self.output_bias = self._weight("output_bias", (self.units,))

    def call(self, inputs: list[Any]) -> Any:
        x, cont, static, given = self._split(inputs)
        z, cont_t = self._time_major_inputs(x, cont, static)

        def step(h: Any, xs: Any) -> Any:
            zt, k = xs
            h = ops.tanh(zt + ops.matmul(h * k[:, None], self.recurrent_kernel))
            return h, ops.tanh(ops.matmul(h, self.output_kernel) + self.output_bias)

        (h_t,) = self._initial(z, given)
        h_t, seq = ops.scan(step, h_t, (z, cont_t))
        return self._outputs(seq, (h_t,))


def embed_table(blobs: list[np.ndarray]) -> np.ndarray:
    """Caffe's W (input_dim, E) plus its bias (``embed_layer.cpp`` adds it to the row read), and
    one more row of NaN that :class:`EmbedIds` sends invalid ids to."""
    table = np.asarray(blobs[0], np.float32)
    if len(blobs) > 1:
        table = table + np.asarray(blobs[1], np.float32)[None]
    return np.concatenate([table, np.full((1, table.shape[1]), np.nan, np.float32)])


@_register
class EmbedIds(keras.layers.Layer):
    """Caffe's float ids as integer Embedding ids. Caffe refuses an id that is negative,
    ``>= input_dim`` or not an integer; here such an id becomes ``input_dim``, the NaN row of the
    table (:func:`embed_table`), so it is never read out of range and never silently valid."""

    def __init__(self, input_dim: int, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.input_dim = int(input_dim)

    def call(self, x: Any) -> Any:
        valid = ops.logical_and(
            ops.logical_and(ops.greater_equal(x, 0), ops.less(x, self.input_dim)),
            ops.equal(ops.floor(x), x),
        )
        ids = ops.where(valid, x, ops.cast(self.input_dim, x.dtype))
        return ops.cast(ids, "int32")

    def compute_output_shape(self, input_shape: Any) -> Any:
        return input_shape

    def compute_output_spec(self, x: Any) -> Any:
        return keras.KerasTensor(x.shape, dtype="int32")

    def get_config(self) -> dict[str, Any]:
        return {**super().get_config(), "input_dim": self.input_dim}
