"""Build a one-layer Caffe net from text + numpy blobs, convert it, and read its blobs back."""

from __future__ import annotations

from pathlib import Path

import numpy as np
from bounds import SMALL_NET_BOUND, assert_within, rel_linf
from keras_helpers import convert_case, keras_blobs
from netfiles import input_layer, write_net

RNG_SEED = 1234


def one_layer(
    ltype: str, params: str, shapes: list[tuple[int, ...]], tops: tuple[str, ...] = ("out",)
) -> str:
    """A prototxt: inputs in0.. of the given shapes feeding one layer ``L`` with the given tops."""
    text = "".join(input_layer(s, f"in{i}") for i, s in enumerate(shapes))
    bottoms = " ".join(f'bottom: "in{i}"' for i in range(len(shapes)))
    top_text = " ".join(f'top: "{t}"' for t in tops)
    return text + f'layer {{ name: "L" type: "{ltype}" {bottoms} {top_text} {params} }}\n'


def run_net(
    folder: Path,
    prototxt: str,
    inputs: dict[str, np.ndarray],
    blobs: dict[str, list[np.ndarray]] | None = None,
) -> dict[str, np.ndarray]:
    """Every blob of the converted net for ``inputs`` (Caffe layout)."""
    proto, model = write_net(folder, prototxt, blobs)
    net, built = convert_case(proto, model, {k: v.shape for k, v in inputs.items()})
    return keras_blobs(built.model, built, net, inputs)


def run_layer(
    folder: Path,
    ltype: str,
    params: str,
    inputs: list[np.ndarray],
    blobs: list[np.ndarray] | None = None,
    tops: tuple[str, ...] = ("out",),
) -> list[np.ndarray]:
    """The tops of one layer ``L`` fed with ``inputs`` (bound to in0, in1, ...)."""
    text = one_layer(ltype, params, [x.shape for x in inputs], tops)
    feed = {f"in{i}": x for i, x in enumerate(inputs)}
    got = run_net(folder, text, feed, {"L": blobs} if blobs else None)
    return [got[t] for t in tops]


def rand(*shape: int, seed: int = RNG_SEED, low: float = -2.0, high: float = 2.0) -> np.ndarray:
    """Uniform float32 values (deterministic)."""
    return np.random.default_rng(seed).uniform(low, high, shape).astype(np.float32)


def assert_close(actual: np.ndarray, expected: np.ndarray, tol: float = SMALL_NET_BOUND) -> None:
    """rel L-inf (to max|expected|) within ``tol``, shapes equal: by default the small-net float32
    bound of ``tests/bounds.py`` (one Keras layer in float32 against a float64 expectation)."""
    expected = np.asarray(expected, np.float64)
    assert actual.shape == expected.shape, f"shape {actual.shape} != {expected.shape}"
    assert_within("small net", rel_linf(actual, expected), tol)
