"""A DetectionOutput net fed directly (loc, conf, prior as net inputs): convert it, run Keras and
the numpy reference, return both."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np
from keras_helpers import convert_case
from netfiles import input_layer, write_net

from caffe2keras.reference import run_reference
from caffe2keras.verify.detections import caffe_rows

BOTTOMS = ("loc", "conf", "prior")


def detection_net(params: str, shapes: list[tuple[int, ...]]) -> str:
    """Inputs loc, conf, prior of the given shapes and one DetectionOutput ``det``."""
    text = "".join(input_layer(s, name) for s, name in zip(shapes, BOTTOMS))
    bottoms = " ".join(f'bottom: "{b}"' for b in BOTTOMS)
    return text + (
        f'layer {{ name: "det" type: "DetectionOutput" {bottoms} top: "det" '
        f"detection_output_param {{ {params} }} }}\n"
    )


def priors(boxes: list[list[float]], variance: tuple[float, ...] = (0.1, 0.1, 0.2, 0.2)):
    """PriorBox's (1, 2, 4P) blob: the boxes, then one variance per box."""
    b = np.asarray(boxes, np.float32).reshape(-1)
    v = np.tile(np.asarray(variance, np.float32), len(boxes))
    return np.stack([b, v])[None]


@dataclass
class Detected:
    keras: np.ndarray  # the converter's (N, K, 7)
    reference: np.ndarray  # Caffe's (1, 1, n, 7), numpy reference in float64
    reference32: np.ndarray  # the same in float32
    model: object
    prototxt: Path

    @property
    def rows(self) -> np.ndarray:
        """The Keras output as Caffe's rows."""
        return caffe_rows(self.keras)


def detect(folder: Path, params: str, loc, conf, prior) -> Detected:
    """Convert and run the net on (loc, conf, prior)."""
    arrays = [np.asarray(a, np.float32) for a in (loc, conf, prior)]
    proto, model = write_net(folder, detection_net(params, [a.shape for a in arrays]))
    net, built = convert_case(proto, model, {b: a.shape for b, a in zip(BOTTOMS, arrays)})
    out = np.asarray(built.model(arrays, training=False))
    feed = dict(zip(BOTTOMS, arrays))
    ref64 = run_reference(net.reference, feed, np.float64)["det"]
    ref32 = run_reference(net.reference, feed, np.float32)["det"]
    return Detected(out, ref64, ref32, built.model, proto)


def assert_rows(got: Detected, expected: list[list[float]], tol: float) -> None:
    """Keras and both references give exactly these Caffe rows (values within ``tol`` of
    max|expected|; image and label exact)."""
    want = np.asarray(expected, np.float64).reshape(-1, 7)
    scale = float(np.max(np.abs(want)))
    for what, rows in (
        ("keras", got.rows),
        ("reference", caffe_rows(got.reference)),
        ("reference float32", caffe_rows(got.reference32)),
    ):
        assert rows.shape == want.shape, f"{what}: {rows.shape} rows, expected {want.shape}"
        np.testing.assert_array_equal(rows[:, :2], want[:, :2], err_msg=what)
        err = float(np.max(np.abs(rows - want))) / scale
        assert err <= tol, f"{what}: rel error {err:.3g} > {tol:.3g}\n{rows}\n{want}"
