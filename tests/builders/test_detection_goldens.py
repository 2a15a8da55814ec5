"""DetectionOutput against real Caffe: the golden blobs that fed Caffe's DetectionOutput
(``detection_ssd`` and MobileNet-SSD, ``../shared``) fed to ours; OpenCV as a second oracle; the
saved model under JAX; the CLI's verification of a detection blob."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import keras
import numpy as np
import pytest
from bounds import SMALL_NET_BOUND, assert_within, rel_linf, rounding_bound
from click.testing import CliRunner
from detection_nets import detect, detection_net
from netfiles import write_net

import caffe2keras.layers  # noqa: F401  (custom layers for safe-mode loading)
from caffe2keras.verify.detections import caffe_rows, match_detections

HERE = Path(__file__).resolve().parent
RUNNER = HERE.parent / "release" / "backend_runner.py"
# The DetectionOutput params of each golden, as in its prototxt; (loc, conf, prior) golden blobs.
CASES = {
    "layers/detection_ssd": (
        "num_classes: 3 share_location: true background_label_id: 0 nms_param "
        "{ nms_threshold: 0.45 top_k: 100 } code_type: CENTER_SIZE keep_top_k: 50 "
        "confidence_threshold: 0.3",
        ("mbox_loc", "conf_flat", "mbox_prior"),
    ),
    "zoo/mobilenet_ssd": (
        "num_classes: 21 share_location: true background_label_id: 0 nms_param "
        "{ nms_threshold: 0.45 top_k: 100 } code_type: CENTER_SIZE keep_top_k: 100 "
        "confidence_threshold: 0.25",
        ("mbox_loc", "mbox_conf_flatten", "mbox_priorbox"),
    ),
}


def golden_feed(case: str) -> tuple[list[np.ndarray], np.ndarray]:
    from conftest import shared_or_skip

    with np.load(shared_or_skip() / "golden" / case / "golden.npz") as z:
        feed = [z[f"blob/{b}"] for b in CASES[case][1]]
        return feed, z["blob/detection_out"]


@pytest.mark.parametrize("case", sorted(CASES))
def test_fed_the_golden_blobs_every_caffe_row_matches(case, tmp_path) -> None:
    feed, golden = golden_feed(case)
    got = detect(tmp_path, CASES[case][0], *feed)
    path = tmp_path / "det.h5"
    got.model.save(path)  # type: ignore[attr-defined]
    loaded = keras.models.load_model(path, safe_mode=True, compile=False)
    saved = np.asarray(loaded(feed, training=False))
    np.testing.assert_array_equal(saved, got.keras)
    want = caffe_rows(golden)
    spread = rel_linf(caffe_rows(got.reference32), caffe_rows(got.reference))
    for what, blob in (("keras .h5", saved), ("reference", got.reference)):
        found = match_detections(blob, golden)
        assert found.got_rows == found.want_rows == found.matched == len(want), (what, found)
        assert_within(f"{case} {what}", rel_linf(caffe_rows(blob), want), rounding_bound(spread))


def test_golden_rows_survive_jax(tmp_path) -> None:
    feed, golden = golden_feed("layers/detection_ssd")
    got = detect(tmp_path, CASES["layers/detection_ssd"][0], *feed)
    model = tmp_path / "det.h5"
    got.model.save(model)  # type: ignore[attr-defined]
    np.savez(tmp_path / "in.npz", *feed)
    jobs = tmp_path / "jobs.json"
    job = {"model": str(model), "inputs": str(tmp_path / "in.npz")}
    jobs.write_text(json.dumps([{**job, "outputs": str(tmp_path / "out.npz")}]))
    env = {**os.environ, "KERAS_BACKEND": "jax", "JAX_PLATFORMS": "cpu"}
    done = subprocess.run(
        [sys.executable, str(RUNNER), str(jobs)], env=env, capture_output=True, text=True
    )
    assert done.returncode == 0, done.stderr[-3000:]
    assert done.stdout.strip().splitlines()[-1] == "jax"
    with np.load(tmp_path / "out.npz") as z:
        jax_out = z["arr_0"]
    assert jax_out.shape == got.keras.shape
    found = match_detections(jax_out, golden)
    assert found.matched == found.want_rows == found.got_rows == 100
    assert_within("jax vs tensorflow", rel_linf(jax_out, got.keras), SMALL_NET_BOUND)


def opencv_rows(prototxt: Path, feed: list[np.ndarray]) -> np.ndarray:
    """OpenCV dnn's DetectionOutput rows (score > 0), in Caffe's order (image, label, score)."""
    cv2 = pytest.importorskip("cv2")
    net = cv2.dnn.readNetFromCaffe(str(prototxt))
    for name, value in zip(("loc", "conf", "prior"), feed):
        net.setInput(value, name)
    out = net.forward("det").reshape(-1, 7).astype(np.float64)
    out = out[out[:, 2] > 0]
    return out[np.lexsort((-out[:, 2], out[:, 1], out[:, 0]))]


def random_head(p: int = 60, c: int = 4, seed: int = 7) -> list[np.ndarray]:
    """(loc, conf, prior) of a random two-image SSD head: softmax scores, priors in the image."""
    rng = np.random.default_rng(seed)
    centres = rng.uniform(0.1, 0.9, (p, 2))
    sizes = rng.uniform(0.05, 0.4, (p, 2))
    boxes = np.concatenate([centres - sizes / 2, centres + sizes / 2], 1)
    prior = np.stack([boxes.reshape(-1), np.tile([0.1, 0.1, 0.2, 0.2], p)])[None]
    logits = rng.standard_normal((2, p, c)) * 2
    conf = (np.exp(logits) / np.exp(logits).sum(-1, keepdims=True)).reshape(2, -1)
    loc = rng.standard_normal((2, p * 4)) * 0.5
    return [a.astype(np.float32) for a in (loc, conf, prior)]


# every field OpenCV requires spelled out (it has no proto defaults)
OPENCV_PARAMS = (
    "num_classes: 4 share_location: true background_label_id: 0 code_type: CENTER_SIZE "
    "nms_param { nms_threshold: 0.45 top_k: 20 } keep_top_k: 30 confidence_threshold: 0.3"
)


def test_opencv_agrees_on_a_random_head(tmp_path) -> None:
    feed = random_head()
    got = detect(tmp_path, OPENCV_PARAMS, *feed)
    cv = opencv_rows(tmp_path / "net.prototxt", feed)
    found = match_detections(got.keras, cv.reshape(1, 1, -1, 7))
    assert len(cv) > 20 and found.matched == found.want_rows == found.got_rows, found
    assert found.max_abs <= SMALL_NET_BOUND * float(np.max(np.abs(cv))), found


def test_opencv_second_opinion_compares_detection_rows(tmp_path) -> None:
    pytest.importorskip("cv2")
    from caffe2keras.cli import main

    feed = random_head()
    proto, model = write_net(tmp_path, detection_net(OPENCV_PARAMS, [f.shape for f in feed]))
    args = ["convert", str(proto), str(model), "-o", str(tmp_path / "det.h5")]
    for name, value in zip(("loc", "conf", "prior"), feed):
        np.save(tmp_path / f"{name}.npy", value)
        args += ["--input", f"{name}={tmp_path / name}.npy"]
    args += ["--reference", "opencv", "--report", str(tmp_path / "r.json")]
    result = CliRunner().invoke(main, args, catch_exceptions=False)
    assert result.exit_code == 0, result.output
    opinion = json.loads((tmp_path / "r.json").read_text())["second_opinions"]["opencv"]
    (blob,) = [b for b in opinion["blobs"] if b["blob"] == "det"]
    assert blob["known_gap"] is None and blob["rows_matched"] == 1.0 and blob["passed"], blob
    assert_within("opencv second opinion det", blob["max_rel"], SMALL_NET_BOUND)


def test_cli_verifies_a_detection_blob(tmp_path) -> None:
    from caffe2keras.cli import main

    feed, _ = golden_feed("layers/detection_ssd")
    shapes = [f.shape for f in feed]
    proto, model = write_net(tmp_path, detection_net(CASES["layers/detection_ssd"][0], shapes))
    args = ["convert", str(proto), str(model), "-o", str(tmp_path / "det.h5")]
    for name, value in zip(("loc", "conf", "prior"), feed):
        np.save(tmp_path / f"{name}.npy", value)
        args += ["--input", f"{name}={tmp_path / name}.npy"]
    args += ["--report", str(tmp_path / "r.json"), "--detection-rows", "0.98"]
    result = CliRunner().invoke(main, args, catch_exceptions=False)
    assert result.exit_code == 0, result.output
    assert (
        "detections det: 100.0% of rows match the reference layer on Keras' own inputs "
        "(required 98%); 100.0% match the reference's whole forward pass"
    ) in " ".join(result.output.split())
    blobs = json.loads((tmp_path / "r.json").read_text())["blobs"]
    blob = next(b for b in blobs if b["blob"] == "det")
    assert blob["rows_matched"] == 1.0 and blob["rows_matched_own_inputs"] == 1.0 and blob["passed"]
