"""Saved models load and reproduce their outputs under the JAX (and, if installed, torch) Keras
backends: converted with TensorFlow, run in a subprocess with ``KERAS_BACKEND`` set."""

from __future__ import annotations

import importlib.util
import json
import os
import subprocess
import sys
from pathlib import Path

import keras
import numpy as np
import pytest
from bounds import SMALL_NET_BOUND, assert_within, rounding_bound
from keras_helpers import model_input
from netfiles import CUSTOM_LAYERS, chain_net, write_net

from caffe2keras import api
from caffe2keras.layout import to_keras

HERE = Path(__file__).resolve().parent
TINY = HERE.parents[1] / "fixtures" / "tiny"
# Every custom layer of caffe2keras/layers.py (keras.ops only), plus standard ones around them.
CUSTOM_NET = chain_net(
    (2, 3, 6, 7),
    (
        *CUSTOM_LAYERS,
        ("lrnw", "LRN", "data", "lrn_param { local_size: 3 norm_region: WITHIN_CHANNEL }"),
    ),
)


def backend_available(name: str) -> bool:
    return importlib.util.find_spec(name) is not None


def run_under(backend: str, jobs: list[dict[str, str]], tmp_path: Path) -> None:
    """Run the jobs in a fresh process with KERAS_BACKEND=backend."""
    spec = tmp_path / f"jobs_{backend}.json"
    spec.write_text(json.dumps(jobs))
    env = {**os.environ, "KERAS_BACKEND": backend, "JAX_PLATFORMS": "cpu"}
    done = subprocess.run(
        [sys.executable, str(HERE / "backend_runner.py"), str(spec)],
        env=env,
        capture_output=True,
        text=True,
        check=False,
    )
    assert done.returncode == 0, done.stderr[-3000:]
    assert done.stdout.strip().splitlines()[-1] == backend


def tf_outputs(path: Path, feed: list[np.ndarray]) -> list[np.ndarray]:
    import caffe2keras.layers  # noqa: F401

    model = keras.models.load_model(path, safe_mode=True, compile=False)
    return [
        np.asarray(o) for o in keras.tree.flatten(model(model_input(model, feed), training=False))
    ]


def max_rel(got: list[np.ndarray], want: list[np.ndarray]) -> float:
    assert [g.shape for g in got] == [w.shape for w in want]
    worst = 0.0
    for g, w in zip(got, want):
        scale = float(np.max(np.abs(w))) or 1.0
        worst = max(worst, float(np.max(np.abs(g.astype(np.float64) - w))) / scale)
    return worst


def compare(backend: str, cases: list[tuple[Path, list[np.ndarray]]], tmp_path: Path) -> float:
    """Worst relative difference between TensorFlow and ``backend`` over the saved models."""
    jobs = []
    for i, (model, feed) in enumerate(cases):
        np.savez(tmp_path / f"in{i}.npz", *feed)
        jobs.append(
            {
                "model": str(model),
                "inputs": str(tmp_path / f"in{i}.npz"),
                "outputs": str(tmp_path / f"out{i}_{backend}.npz"),
            }
        )
    run_under(backend, jobs, tmp_path)
    worst = 0.0
    for (model, feed), job in zip(cases, jobs):
        with np.load(job["outputs"]) as z:
            got = [z[f"arr_{i}"] for i in range(len(z.files))]
        worst = max(worst, max_rel(got, tf_outputs(model, feed)))
    return worst


@pytest.fixture(scope="module")
def small_cases(tmp_path_factory: pytest.TempPathFactory) -> list[tuple[Path, list[np.ndarray]]]:
    """The tiny fixture and a net of every custom layer, saved as .h5 and .keras (TensorFlow)."""
    tmp_path = tmp_path_factory.mktemp("small_cases")
    proto, weights = write_net(tmp_path, CUSTOM_NET)
    rng = np.random.default_rng(0)
    cases = []
    for suffix in (".h5", ".keras"):
        out = tmp_path / f"tiny{suffix}"
        api.convert(TINY / "tiny.prototxt", TINY / "tiny.caffemodel", out)
        cases.append((out, [to_keras(rng.standard_normal((2, 3, 33, 33)).astype(np.float32))]))
        custom = tmp_path / f"custom{suffix}"
        api.convert(proto, weights, custom, api.ConvertOptions(verify=False))
        cases.append((custom, [to_keras(rng.uniform(-1, 1, (2, 3, 6, 7)).astype(np.float32))]))
    return cases


@pytest.mark.parametrize("backend", ["jax", "torch"])
def test_small_models_and_custom_layers_match_tensorflow(
    backend: str, small_cases, tmp_path
) -> None:
    if not backend_available(backend):
        pytest.skip(f"{backend} is not installed (pip install {backend})")
    worst = compare(backend, small_cases, tmp_path)
    print(f"TensorFlow vs {backend}: max relative difference {worst:.3g}")
    assert_within(f"TensorFlow vs {backend}", worst, SMALL_NET_BOUND)


@pytest.mark.slow
def test_densenet121_h5_matches_under_jax(golden_zoo, golden_spreads, tmp_path) -> None:
    """DenseNet-121's .h5 gives the same outputs on JAX: two float32 runs of one graph, within
    the rounding bound of the reference's float32 spread on fc6 (1.2e-5; the issue asked 1e-5,
    measured ~1e-6)."""
    if not backend_available("jax"):
        pytest.skip("jax is not installed")
    g = golden_zoo("densenet121")
    out = tmp_path / "densenet121.h5"
    api.convert(g.prototxt, g.caffemodel, out, api.ConvertOptions(verify=False))
    worst = compare("jax", [(out, [to_keras(g.inputs["data"])])], tmp_path)
    print(f"densenet121 TensorFlow vs JAX: max relative difference {worst:.3g}")
    spread = golden_spreads(g, api.load(g.prototxt, g.caffemodel).reference)["fc6"]
    assert_within("densenet121 TensorFlow vs JAX", worst, rounding_bound(spread))
