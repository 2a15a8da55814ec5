"""Embed (ids out of range), an LRCN-style net (Embed -> LSTM -> InnerProduct axis 2 -> Softmax
axis 2) through the CLI, the recurrent goldens through the CLI's saved .h5 compared batch-major,
and the saved recurrent models under the JAX backend."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import keras
import numpy as np
import pytest
from bounds import SMALL_NET_BOUND, assert_within, log_bound, rel_linf
from click.testing import CliRunner
from conftest import shared_or_skip
from keras_helpers import convert_case, model_input
from netfiles import input_layer, write_net

import caffe2keras.layers  # noqa: F401  (custom layers for safe-mode loading)
from caffe2keras.cli import main
from caffe2keras.errors import ValidationError
from caffe2keras.frontend.load import LoadOptions
from caffe2keras.frontend.net import load_net
from caffe2keras.reference import run_reference
from recurrent.nets import batch_major, run_saved

RUNNER = Path(__file__).resolve().parents[1] / "release" / "backend_runner.py"
CASES = ("lstm", "lstm_static", "lstm_expose", "embed")


def _embed_net(tmp_path: Path, bias: bool) -> tuple[Path, Path, list[np.ndarray]]:
    rng = np.random.default_rng(0)
    blobs = [rng.normal(0, 1, (10, 4)).astype(np.float32)]
    if bias:
        blobs.append(rng.normal(0, 1, 4).astype(np.float32))
    text = input_layer((3, 2), "ids") + (
        'layer { name: "emb" type: "Embed" bottom: "ids" top: "out" '
        f"embed_param {{ num_output: 4 input_dim: 10 bias_term: {str(bias).lower()} }} }}\n"
    )
    proto, model = write_net(tmp_path, text, {"emb": blobs})
    return proto, model, blobs


@pytest.mark.parametrize("bias", [True, False])
def test_embed_ids_in_range_read_their_row(tmp_path, bias: bool) -> None:
    proto, model, blobs = _embed_net(tmp_path, bias)
    ids = np.array([[0, 9], [3, 3], [7, 1]], np.float32)
    got = run_saved(proto, model, {"ids": ids}, tmp_path)["out"]
    want = blobs[0][ids.astype(int)] + (blobs[1] if bias else 0)
    assert_within("embed rows", rel_linf(got, want), SMALL_NET_BOUND)


def test_embed_ids_out_of_range(tmp_path) -> None:
    """Caffe refuses an id that is negative, >= input_dim or not an integer: the reference
    refuses it, naming the layer; the Keras model gives NaN for that position only."""
    proto, model, blobs = _embed_net(tmp_path, True)
    ids = np.array([[0, -1], [10, 3], [2.5, 1e9]], np.float32)
    net = load_net(proto, model, LoadOptions())
    with pytest.raises(ValidationError, match="layer 'emb', field 'bottom'.*input_dim = 10"):
        run_reference(net.reference, {"ids": ids})
    got = run_saved(proto, model, {"ids": ids}, tmp_path)["out"]
    bad = np.array([[False, True], [True, False], [True, True]])
    assert np.isnan(got[bad]).all()
    np.testing.assert_allclose(got[~bad], (blobs[0] + blobs[1])[[0, 3]], rtol=1e-6)


def lrcn_net(tmp_path: Path) -> tuple[Path, Path]:
    rng = np.random.default_rng(1)
    text = (
        input_layer((5, 2), "ids")
        + input_layer((5, 2), "cont")
        + (
            'layer { name: "emb" type: "Embed" bottom: "ids" top: "emb" '
            "embed_param { num_output: 6 input_dim: 12 } }\n"
            'layer { name: "lstm" type: "LSTM" bottom: "emb" bottom: "cont" top: "lstm" '
            "recurrent_param { num_output: 5 } }\n"
            'layer { name: "pred" type: "InnerProduct" bottom: "lstm" top: "pred" '
            "inner_product_param { num_output: 12 axis: 2 } }\n"
            'layer { name: "prob" type: "Softmax" bottom: "pred" top: "prob" '
            "softmax_param { axis: 2 } }\n"
        )
    )
    blobs = {
        "emb": [rng.normal(0, 1, (12, 6)), rng.normal(0, 0.1, 6)],
        "lstm": [rng.normal(0, 0.5, (20, 6)), rng.normal(0, 0.5, 20), rng.normal(0, 0.5, (20, 5))],
        "pred": [rng.normal(0, 1, (12, 5)), rng.normal(0, 0.1, 12)],
    }
    return write_net(tmp_path, text, blobs)


def test_lrcn_net_converts_and_verifies_through_the_cli(tmp_path) -> None:
    proto, model = lrcn_net(tmp_path)
    out, report = tmp_path / "lrcn.h5", tmp_path / "report.json"
    result = CliRunner().invoke(
        main, ["convert", str(proto), str(model), "-o", str(out), "--report", str(report)]
    )
    assert result.exit_code == 0, result.output
    data = json.loads(report.read_text())
    assert data["passed"] and data["summary"]["blobs_compared"] == 6
    log_bound("lrcn cli", data["summary"]["max_rel_error"], SMALL_NET_BOUND)
    assert data["summary"]["max_rel_error"] <= SMALL_NET_BOUND
    assert any("batch-major" in n for n in data["notes"])
    loaded = keras.models.load_model(out, safe_mode=True, compile=False)
    assert [tuple(i.shape) for i in loaded.inputs] == [(None, 5), (None, 5)]  # (N, T)
    assert tuple(loaded.outputs[0].shape) == (None, 5, 12)  # (N, T, V)


def test_recurrent_inputs_of_the_wrong_shape_are_refused_naming_the_layer(tmp_path) -> None:
    proto, model = lrcn_net(tmp_path)
    result = CliRunner().invoke(
        main,
        [
            "convert",
            str(proto),
            str(model),
            "-o",
            str(tmp_path / "x.h5"),
            "--input-shape",
            "cont=5,3",
        ],
    )
    assert result.exit_code != 0
    assert "lstm" in result.output and "cont" in result.output


def _golden(case: str) -> tuple[Path, dict[str, np.ndarray], dict[str, np.ndarray]]:
    root = shared_or_skip() / "golden" / "layers" / case
    with np.load(root / "golden.npz") as z:
        inputs = {k[6:]: z[k] for k in z.files if k.startswith("input/")}
        blobs = {k[5:]: z[k] for k in z.files if k.startswith("blob/")}
    return root, inputs, blobs


@pytest.mark.parametrize("case", CASES)
def test_golden_through_the_cli_compared_batch_major(case: str, tmp_path) -> None:
    root, inputs, blobs = _golden(case)
    out = tmp_path / f"{case}.h5"
    shapes = [f"{k}={','.join(map(str, v.shape))}" for k, v in inputs.items()]
    args = ["convert", str(root / "net.prototxt"), str(root / "weights.caffemodel"), "-o", str(out)]
    for s in shapes:
        args += ["--input-shape", s]  # Caffe's order, time-major
    result = CliRunner().invoke(main, args)
    assert result.exit_code == 0, result.output
    loaded = keras.models.load_model(out, safe_mode=True, compile=False)
    names = [i.name for i in loaded.inputs]
    feed = [batch_major(n, inputs[n]) for n in names]
    outs = keras.tree.flatten(loaded(model_input(loaded, feed), training=False))
    for key, got in zip([o._keras_history.operation.name for o in loaded.outputs], outs):
        want = batch_major(key if case != "embed" else "x", blobs[key])  # (N, T, H) / (N, H)
        assert_within(f"{case} cli {key}", rel_linf(np.asarray(got), want), SMALL_NET_BOUND)


def test_saved_recurrent_models_run_under_jax(tmp_path) -> None:
    pytest.importorskip("jax")
    jobs = []
    expected = []
    for case in ("lstm_static", "lstm_expose", "embed"):
        root, inputs, blobs = _golden(case)
        shapes = {k: v.shape for k, v in inputs.items()}

        net, built = convert_case(root / "net.prototxt", root / "weights.caffemodel", shapes)
        path = tmp_path / f"{case}.h5"
        built.model.save(path)
        feed = [batch_major(s.name, inputs[s.name]) for s in net.keras.inputs]
        np.savez(tmp_path / f"{case}_in.npz", *feed)
        jobs.append(
            {
                "model": str(path),
                "inputs": str(tmp_path / f"{case}_in.npz"),
                "outputs": str(tmp_path / f"{case}_out.npz"),
            }
        )
        expected.append(
            [batch_major(b if case != "embed" else "x", blobs[b]) for b in net.keras.outputs]
        )
    spec = tmp_path / "jobs.json"
    spec.write_text(json.dumps(jobs))
    env = {**os.environ, "KERAS_BACKEND": "jax", "JAX_PLATFORMS": "cpu"}
    done = subprocess.run(
        [sys.executable, str(RUNNER), str(spec)],
        env=env,
        capture_output=True,
        text=True,
        check=False,
    )
    assert done.returncode == 0, done.stderr[-3000:]
    assert done.stdout.strip().splitlines()[-1] == "jax"
    for job, want in zip(jobs, expected):
        with np.load(job["outputs"]) as z:
            got = [z[f"arr_{i}"] for i in range(len(z.files))]
        for g, w in zip(got, want):
            assert_within(f"jax {job['model']}", rel_linf(g, w), SMALL_NET_BOUND)
