"""LSTM, RNN and Embed, time-major as Caffe computes them.

Written from Caffe's sources: ``recurrent_layer.cpp`` (bottoms x, cont, static, exposed states;
unexposed states start at zero, Caffe's state at its first forward pass), ``lstm_layer.cpp`` and
``rnn_layer.cpp`` (the unrolled nets: which blob multiplies what, in which order),
``lstm_unit_layer.cpp`` (the cell) and ``embed_layer.cpp``.
"""

from __future__ import annotations

import numpy as np

from caffe2keras.errors import ValidationError
from caffe2keras.ir.graph import Layer
from caffe2keras.reference.ops.common import blob
from caffe2keras.reference.registry import reference_op

Inputs = list[np.ndarray]


def _sigmoid(x: np.ndarray) -> np.ndarray:
    return 1.0 / (1.0 + np.exp(-x))


def _split_bottoms(layer: Layer, inputs: Inputs, states: int) -> tuple[Inputs, np.ndarray | None]:
    """(x flattened to (T, N, D) and cont, static or None); exposed states stay in ``inputs``."""
    exposed = states if layer.params.expose_hidden else 0
    static = inputs[2] if len(inputs) > 2 + exposed else None
    x = inputs[0].reshape(inputs[0].shape[0], inputs[0].shape[1], -1)
    return [x, inputs[1]], None if static is None else static.reshape(static.shape[0], -1)


def _initial(layer: Layer, inputs: Inputs, states: int, shape: tuple[int, int]) -> Inputs:
    if layer.params.expose_hidden:
        return [s[0] for s in inputs[len(inputs) - states :]]
    return [np.zeros(shape, inputs[0].dtype) for _ in range(states)]


@reference_op("LSTM")
def lstm(layer: Layer, inputs: Inputs, dtype: np.dtype) -> Inputs:
    """``lstm_layer.cpp`` unrolled: W_xc_x = x W_xc^T + b_c (all steps), W_xc_x_static =
    static W_xc_static^T; per step gate_input = (cont * h_{t-1}) W_hc^T + W_xc_x_t (+ static)
    and ``lstm_unit_layer.cpp``: i, f, o, g blocks; f = 0 where cont == 0, else cont * sigmoid;
    c = f c_{t-1} + i g; h = o tanh(c)."""
    (x, cont), static = _split_bottoms(layer, inputs, 2)
    h_dim = layer.params.num_output
    w_xc, b_c = blob(layer, 0, dtype), blob(layer, 1, dtype)
    w_hc = blob(layer, 3 if static is not None else 2, dtype)
    x_part = x @ w_xc.T + b_c
    static_part = 0.0 if static is None else static @ blob(layer, 2, dtype).T
    h, c = _initial(layer, inputs, 2, (x.shape[1], h_dim))
    out = np.empty((x.shape[0], x.shape[1], h_dim), dtype)
    for t in range(x.shape[0]):
        k = cont[t][:, None]
        gates = (k * h) @ w_hc.T + x_part[t] + static_part
        i = _sigmoid(gates[:, :h_dim])
        f = np.where(k == 0, 0.0, k * _sigmoid(gates[:, h_dim : 2 * h_dim]))
        o = _sigmoid(gates[:, 2 * h_dim : 3 * h_dim])
        g = np.tanh(gates[:, 3 * h_dim :])
        c = f * c + i * g
        h = o * np.tanh(c)
        out[t] = h
    if layer.params.expose_hidden:
        return [out, h[None], c[None]]
    return [out]


@reference_op("RNN")
def rnn(layer: Layer, inputs: Inputs, dtype: np.dtype) -> Inputs:
    """``rnn_layer.cpp`` unrolled: h_t = tanh((cont * h_{t-1}) W_hh^T + x_t W_xh^T + b_h
    (+ static W_xh_static^T)); o_t = tanh(h_t W_ho^T + b_o)."""
    (x, cont), static = _split_bottoms(layer, inputs, 1)
    first = 3 if static is not None else 2
    w_xh, b_h = blob(layer, 0, dtype), blob(layer, 1, dtype)
    w_hh, w_ho, b_o = (blob(layer, first + i, dtype) for i in range(3))
    x_part = x @ w_xh.T + b_h
    static_part = 0.0 if static is None else static @ blob(layer, 2, dtype).T
    (h,) = _initial(layer, inputs, 1, (x.shape[1], layer.params.num_output))
    out = np.empty((x.shape[0], x.shape[1], layer.params.num_output), dtype)
    for t in range(x.shape[0]):
        h = np.tanh((cont[t][:, None] * h) @ w_hh.T + x_part[t] + static_part)
        out[t] = np.tanh(h @ w_ho.T + b_o)
    return [out, h[None]] if layer.params.expose_hidden else [out]


@reference_op("Embed")
def embed(layer: Layer, inputs: Inputs, dtype: np.dtype) -> Inputs:
    """``embed_layer.cpp``: top[..., :] = W[int(id)] (+ bias); Caffe checks that every id is an
    integer in [0, input_dim) and refuses the rest, and so does this op."""
    ids, p = inputs[0], layer.params
    bad = (ids < 0) | (ids >= p.input_dim) | (np.floor(ids) != ids)
    if np.any(bad):
        raise ValidationError(
            f"id {ids[bad].ravel()[0]!r} is not an integer in [0, input_dim = {p.input_dim})",
            layer=layer.name,
            field="bottom",
        )
    out = blob(layer, 0, dtype)[ids.astype(np.int64)]
    if p.bias_term:
        out = out + blob(layer, 1, dtype)
    return [out]
