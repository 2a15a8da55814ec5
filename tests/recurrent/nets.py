"""Small recurrent nets for the tests: prototxt + caffemodel from seeded blobs, and running a
saved, safe-mode-reloaded conversion on Caffe-layout inputs (transposed here, by hand, to the
batch-major layout the Keras model takes)."""

from __future__ import annotations

from pathlib import Path

import keras
import numpy as np
from keras_helpers import convert_case, model_input
from netfiles import input_layer, write_net

import caffe2keras.layers  # noqa: F401  (custom layers for safe-mode loading)


def lstm_blobs(rng, d: int, h: int, static_dim: int = 0, rnn: bool = False) -> list[np.ndarray]:
    """Caffe's blob order: W_xc, b_c, [W_xc_static], W_hc (RNN: + W_ho, b_o)."""
    g = h if rnn else 4 * h
    blobs = [rng.normal(0, 0.5, (g, d)), rng.normal(0, 0.5, g)]
    if static_dim:
        blobs.append(rng.normal(0, 0.5, (g, static_dim)))
    blobs.append(rng.normal(0, 0.5, (g, h)))
    if rnn:
        blobs += [rng.normal(0, 0.5, (h, h)), rng.normal(0, 0.5, h)]
    return [b.astype(np.float32) for b in blobs]


def recurrent_net(
    folder: Path,
    t: int,
    n: int,
    d: int,
    h: int,
    blobs: list[np.ndarray],
    *,
    kind: str = "LSTM",
    static_dim: int = 0,
    expose: bool = False,
) -> tuple[Path, Path]:
    """Inputs data (T, N, D), cont (T, N), [static (N, Ds)], [h0, c0 (1, N, H)] -> one layer."""
    text = input_layer((t, n, d)) + input_layer((t, n), "cont")
    bottoms = ["data", "cont"]
    if static_dim:
        text += input_layer((n, static_dim), "static")
        bottoms.append("static")
    states = (["h0", "c0"] if kind == "LSTM" else ["h0"]) if expose else []
    for s in states:
        text += input_layer((1, n, h), s)
    bottoms += states
    tops = ["out"] + [s.replace("0", "T") for s in states]
    text += (
        f'layer {{ name: "rec" type: "{kind}" '
        + " ".join(f'bottom: "{b}"' for b in bottoms)
        + " "
        + " ".join(f'top: "{t_}"' for t_ in tops)
        + f" recurrent_param {{ num_output: {h} expose_hidden: {str(expose).lower()} }} }}\n"
    )
    return write_net(folder, text, {"rec": blobs})


def batch_major(name: str, array: np.ndarray) -> np.ndarray:
    """A Caffe-layout blob of these tests' recurrent nets as the Keras model holds it (written
    out by hand): states (1, N, H) -> (N, H), sequences (T, N, ...) -> (N, T, ...)."""
    if name in ("h0", "c0", "hT", "cT"):
        return array[0]
    if name in ("data", "cont", "out"):
        return np.swapaxes(array, 0, 1)
    return array


def run_saved(
    proto: Path, model: Path, inputs: dict[str, np.ndarray], tmp_path: Path
) -> dict[str, np.ndarray]:
    """Convert, save as .h5, reload in safe mode and run: every output by Caffe blob name,
    batch-major."""
    shapes = {k: v.shape for k, v in inputs.items()}
    net, built = convert_case(proto, model, shapes)
    path = tmp_path / "model.h5"
    built.model.save(path)
    loaded = keras.models.load_model(path, safe_mode=True, compile=False)
    feed = [batch_major(s.name, inputs[s.name]).astype(np.float32) for s in net.keras.inputs]
    outs = keras.tree.flatten(loaded(model_input(loaded, feed), training=False))
    return {b: np.asarray(o) for b, o in zip(net.keras.outputs, outs)}
