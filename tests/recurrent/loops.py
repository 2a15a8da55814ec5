"""Scalar loops written from Caffe's C++ (``lstm_unit_layer.cpp``, ``lstm_layer.cpp``,
``rnn_layer.cpp``): one element at a time, time-major, float64. The expectations of the
recurrent tests; they share nothing with the reference ops or the Keras layers."""

from __future__ import annotations

import math

import numpy as np


def _sig(v: float) -> float:
    return 1.0 / (1.0 + math.exp(-v))


def lstm_loop(x, cont, w_xc, b_c, w_hc, static=None, w_s=None, h0=None, c0=None):
    """Caffe's LSTM. x (T, N, D), cont (T, N); returns h (T, N, H), h_T, c_T (N, H)."""
    t_len, n, _ = x.shape
    hd = w_hc.shape[1]
    h = np.zeros((n, hd)) if h0 is None else np.array(h0, np.float64)
    c = np.zeros((n, hd)) if c0 is None else np.array(c0, np.float64)
    out = np.zeros((t_len, n, hd))
    for t in range(t_len):
        h_new, c_new = np.zeros_like(h), np.zeros_like(c)
        for s in range(n):
            k = float(cont[t, s])
            gate = [0.0] * (4 * hd)
            for j in range(4 * hd):
                v = float(b_c[j]) + sum(float(w_xc[j, d]) * x[t, s, d] for d in range(x.shape[2]))
                v += sum(float(w_hc[j, m]) * k * h[s, m] for m in range(hd))
                if static is not None:
                    v += sum(float(w_s[j, d]) * static[s, d] for d in range(static.shape[1]))
                gate[j] = v
            for d in range(hd):
                i = _sig(gate[d])
                f = 0.0 if k == 0 else k * _sig(gate[hd + d])
                o = _sig(gate[2 * hd + d])
                g = math.tanh(gate[3 * hd + d])
                c_new[s, d] = f * c[s, d] + i * g
                h_new[s, d] = o * math.tanh(c_new[s, d])
        h, c = h_new, c_new
        out[t] = h
    return out, h, c


def rnn_loop(x, cont, w_xh, b_h, w_hh, w_ho, b_o, h0=None):
    """Caffe's RNN. Returns o (T, N, H) and h_T (N, H)."""
    t_len, n, _ = x.shape
    hd = w_hh.shape[0]
    h = np.zeros((n, hd)) if h0 is None else np.array(h0, np.float64)
    out = np.zeros((t_len, n, hd))
    for t in range(t_len):
        h_new = np.zeros_like(h)
        for s in range(n):
            for j in range(hd):
                v = float(b_h[j]) + sum(float(w_xh[j, d]) * x[t, s, d] for d in range(x.shape[2]))
                v += sum(float(w_hh[j, m]) * cont[t, s] * h[s, m] for m in range(hd))
                h_new[s, j] = math.tanh(v)
        h = h_new
        for s in range(n):
            for j in range(hd):
                v = float(b_o[j]) + sum(float(w_ho[j, m]) * h[s, m] for m in range(hd))
                out[t, s, j] = math.tanh(v)
    return out, h
