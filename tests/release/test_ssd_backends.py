"""SSD's custom layers (ScaledL2Normalization, BatchConstant) saved by TensorFlow as .h5 and
.keras, loaded in safe mode, reproduce their outputs under JAX (and torch when installed)."""

from __future__ import annotations

import keras
import numpy as np
import pytest
from bounds import SMALL_NET_BOUND, assert_within
from netfiles import input_layer, write_net

from caffe2keras import api
from caffe2keras.layout import to_keras
from release.test_backends import backend_available, compare

SSD_NET = input_layer((2, 3, 8, 10)) + (
    'layer { name: "norm" type: "Normalize" bottom: "data" top: "norm" '
    "norm_param { across_spatial: false channel_shared: false } }\n"
    'layer { name: "norm2" type: "Normalize" bottom: "data" top: "norm2" }\n'
    'layer { name: "prior" type: "PriorBox" bottom: "norm" bottom: "data" top: "prior" '
    "prior_box_param { min_size: 3 max_size: 5 aspect_ratio: 2 clip: true variance: 0.1 } }\n"
)


@pytest.fixture(scope="module")
def ssd_cases(tmp_path_factory: pytest.TempPathFactory):
    tmp_path = tmp_path_factory.mktemp("ssd_cases")
    blobs = {"norm": [np.array([0.5, 2.0, 3.0], "f4")], "norm2": [np.array(4.0, "f4")]}
    proto, weights = write_net(tmp_path, SSD_NET, blobs)
    x = to_keras(np.random.default_rng(3).standard_normal((2, 3, 8, 10)).astype(np.float32))
    cases = []
    for suffix in (".h5", ".keras"):
        out = tmp_path / f"ssd{suffix}"
        result = api.convert(proto, weights, out)
        assert result.exit_code == 0 and result.written
        cases.append((out, [x]))
    return cases


def test_the_saved_ssd_layers_load_in_safe_mode(ssd_cases) -> None:
    import caffe2keras.layers  # noqa: F401

    for path, feed in ssd_cases:
        model = keras.models.load_model(path, safe_mode=True, compile=False)
        kinds = {type(layer).__name__ for layer in model.layers}
        assert {"ScaledL2Normalization", "BatchConstant"} <= kinds
        outputs = [np.asarray(o) for o in keras.tree.flatten(model(feed[0], training=False))]
        prior = next(o for o in outputs if o.ndim == 3)
        np.testing.assert_array_equal(prior[0], prior[1])


@pytest.mark.parametrize("backend", ["jax", "torch"])
def test_ssd_layers_match_tensorflow(backend: str, ssd_cases, tmp_path) -> None:
    if not backend_available(backend):
        pytest.skip(f"{backend} is not installed (pip install {backend})")
    worst = compare(backend, ssd_cases, tmp_path)
    print(f"SSD layers, TensorFlow vs {backend}: max relative difference {worst:.3g}")
    assert_within(f"SSD layers, TensorFlow vs {backend}", worst, SMALL_NET_BOUND)
