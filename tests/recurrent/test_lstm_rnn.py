"""LSTM and RNN against scalar loops written from Caffe's C++ (tests/recurrent/loops.py): the
saved Keras model (batch-major) and the numpy reference (time-major), on resets in the middle of
a sequence, Caffe's gate order, T = 1 and T = 50, static inputs and exposed states."""

from __future__ import annotations

import keras
import numpy as np
import pytest
from bounds import SMALL_NET_BOUND, assert_within, rel_linf

from caffe2keras.errors import UnsupportedParameterError, ValidationError
from caffe2keras.frontend.load import LoadOptions
from caffe2keras.frontend.net import load_net
from caffe2keras.keras_layers.recurrent import CaffeLSTM, lstm_weights
from caffe2keras.keras_model.model import build_model
from caffe2keras.reference import run_reference
from recurrent.loops import lstm_loop, rnn_loop
from recurrent.nets import lstm_blobs, recurrent_net, run_saved

# cont 0 starts a sequence: at t = 0 for both samples, and again at t = 2 (sample 0) and
# t = 3 (sample 1), in the middle of the batch.
RESET_CONT = np.array([[0, 0], [1, 1], [0, 1], [1, 0], [1, 1]], np.float32)


def _inputs(rng, t, n, d, cont=None):
    x = rng.normal(0, 1, (t, n, d)).astype(np.float32)
    if cont is None:
        cont = np.ones((t, n), np.float32)
        cont[0] = 0
    return {"data": x, "cont": cont}


def _check_lstm(tmp_path, t, n, d, h, cont=None, static_dim=0, expose=False, seed=0):
    rng = np.random.default_rng(seed)
    blobs = lstm_blobs(rng, d, h, static_dim)
    proto, model = recurrent_net(tmp_path, t, n, d, h, blobs, static_dim=static_dim, expose=expose)
    inputs = _inputs(rng, t, n, d, cont)
    kw = {}
    if static_dim:
        inputs["static"] = rng.normal(0, 1, (n, static_dim)).astype(np.float32)
        kw = {"static": inputs["static"], "w_s": blobs[2]}
    if expose:
        inputs["h0"] = rng.normal(0, 1, (1, n, h)).astype(np.float32)
        inputs["c0"] = rng.normal(0, 1, (1, n, h)).astype(np.float32)
        kw.update(h0=inputs["h0"][0], c0=inputs["c0"][0])
    out, h_t, c_t = lstm_loop(inputs["data"], inputs["cont"], blobs[0], blobs[1], blobs[-1], **kw)
    got = run_saved(proto, model, inputs, tmp_path)
    assert_within("keras out", rel_linf(got["out"], out.transpose(1, 0, 2)), SMALL_NET_BOUND)
    net = load_net(proto, model, LoadOptions(input_shapes={k: v.shape for k, v in inputs.items()}))
    ref = run_reference(net.reference, inputs)
    assert_within("reference out", rel_linf(ref["out"], out), SMALL_NET_BOUND)
    if expose:
        for name, want in (("hT", h_t), ("cT", c_t)):
            assert got[name].shape == want.shape  # (N, H) in Keras
            assert_within(f"keras {name}", rel_linf(got[name], want), SMALL_NET_BOUND)
            assert_within(f"reference {name}", rel_linf(ref[name][0], want), SMALL_NET_BOUND)
    return got, out


def test_reset_in_the_middle_of_a_sequence(tmp_path) -> None:
    got, out = _check_lstm(tmp_path, 5, 2, 3, 4, cont=RESET_CONT)
    # the reset matters: without it (cont all ones after t = 0) the outputs differ
    rng = np.random.default_rng(0)
    blobs = lstm_blobs(rng, 3, 4)
    x = _inputs(rng, 5, 2, 3)["data"]
    no_reset = np.ones_like(RESET_CONT)
    no_reset[0] = 0
    other, _, _ = lstm_loop(x, no_reset, blobs[0], blobs[1], blobs[-1])
    assert rel_linf(other, out) > 100 * SMALL_NET_BOUND


def test_gate_order_is_caffes(tmp_path) -> None:
    """Caffe's blocks are i, f, o, g; reading them in Keras' i, f, c, o order is wrong."""
    got, out = _check_lstm(tmp_path, 4, 2, 3, 4, seed=1)
    rng = np.random.default_rng(1)
    w_xc, b_c, w_hc = lstm_blobs(rng, 3, 4)
    x = _inputs(rng, 4, 2, 3)

    def as_keras_order(w):  # what a converter that forgot to re-order would compute
        return w.reshape(4, 4, *w.shape[1:])[[0, 1, 3, 2]].reshape(w.shape)

    wrong, _, _ = lstm_loop(
        x["data"], x["cont"], as_keras_order(w_xc), as_keras_order(b_c), as_keras_order(w_hc)
    )
    assert rel_linf(got["out"], wrong.transpose(1, 0, 2)) > 100 * SMALL_NET_BOUND


@pytest.mark.parametrize("t", [1, 50])
def test_sequence_lengths(tmp_path, t: int) -> None:
    cont = np.ones((t, 2), np.float32)
    cont[0] = 0
    if t > 10:
        cont[17, 1] = 0  # and one reset in the middle
    _check_lstm(tmp_path, t, 2, 3, 4, cont=cont, seed=t)


def test_static_input_and_exposed_states(tmp_path) -> None:
    _check_lstm(tmp_path, 5, 2, 3, 4, cont=RESET_CONT, static_dim=3, expose=True, seed=3)


def test_exposed_states_carry_over_when_cont_is_one_at_the_start(tmp_path) -> None:
    cont = np.ones((3, 2), np.float32)  # no reset: h0, c0 flow into step 0
    _check_lstm(tmp_path, 3, 2, 3, 4, cont=cont, expose=True, seed=4)


@pytest.mark.parametrize("expose", [False, True])
def test_rnn_matches_loop(tmp_path, expose: bool) -> None:
    rng = np.random.default_rng(5)
    blobs = lstm_blobs(rng, 3, 4, rnn=True)
    proto, model = recurrent_net(tmp_path, 5, 2, 3, 4, blobs, kind="RNN", expose=expose)
    inputs = _inputs(rng, 5, 2, 3, RESET_CONT)
    h0 = None
    if expose:
        inputs["h0"] = rng.normal(0, 1, (1, 2, 4)).astype(np.float32)
        h0 = inputs["h0"][0]
    out, h_t = rnn_loop(inputs["data"], inputs["cont"], *blobs, h0=h0)
    got = run_saved(proto, model, inputs, tmp_path)
    assert_within("keras rnn", rel_linf(got["out"], out.transpose(1, 0, 2)), SMALL_NET_BOUND)
    net = load_net(proto, model, LoadOptions(input_shapes={k: v.shape for k, v in inputs.items()}))
    ref = run_reference(net.reference, inputs)
    assert_within("reference rnn", rel_linf(ref["out"], out), SMALL_NET_BOUND)
    if expose:
        assert_within("keras hT", rel_linf(got["hT"], h_t), SMALL_NET_BOUND)
        assert_within("reference hT", rel_linf(ref["hT"][0], h_t), SMALL_NET_BOUND)


def test_keras_lstm_equals_caffe_lstm_when_cont_is_one_after_the_first_step() -> None:
    """What Keras' own LSTM computes, with the re-ordered weights, is Caffe's LSTM when cont is
    0 at t = 0 and 1 after (why the weights use its layout); a cont input that may reset at any
    step is why the converter emits CaffeLSTM."""
    rng = np.random.default_rng(6)
    blobs = lstm_blobs(rng, 3, 4)
    x = rng.normal(0, 1, (2, 6, 3)).astype(np.float32)
    cont = np.ones((2, 6), np.float32)
    cont[:, 0] = 0
    weights = lstm_weights(blobs, False, 4)
    ours = CaffeLSTM(4)
    ours([x, cont])
    ours.set_weights(list(weights))
    theirs = keras.layers.LSTM(4, return_sequences=True)
    theirs(x)
    theirs.set_weights(list(weights))
    a, b = np.asarray(ours([x, cont])), np.asarray(theirs(x))
    assert_within("keras LSTM vs CaffeLSTM", rel_linf(a, b), SMALL_NET_BOUND)


def test_a_layer_that_cannot_hold_a_recurrent_blob_is_refused(tmp_path) -> None:
    rng = np.random.default_rng(7)
    proto, model = recurrent_net(tmp_path, 3, 2, 3, 4, lstm_blobs(rng, 3, 4))
    text = proto.read_text()
    text += 'layer { name: "flat" type: "Reshape" bottom: "out" top: "flat" '
    text += "reshape_param { shape { dim: 0 dim: -1 } } }\n"
    proto.write_text(text)
    net = load_net(proto, model, LoadOptions())
    with pytest.raises(UnsupportedParameterError, match="layer 'flat', field 'bottom'.*'out'"):
        build_model(net.keras)


def test_cont_of_the_wrong_shape_is_refused(tmp_path) -> None:
    rng = np.random.default_rng(8)
    proto, model = recurrent_net(tmp_path, 3, 2, 3, 4, lstm_blobs(rng, 3, 4))
    cont = 'top: "cont" input_param { shape { dim: 3 dim: 2 } }'
    assert cont in proto.read_text()
    proto.write_text(proto.read_text().replace(cont, cont.replace("dim: 2", "dim: 1")))
    with pytest.raises(ValidationError, match="layer 'rec'.*cont must be"):
        build_model(load_net(proto, model, LoadOptions()).keras)
