"""The fork layers of issue 13 part 4 (BN of yjxiong/PSPNet and SegNet, ShuffleChannel, Reorg)
saved as .h5 and .keras load in safe mode and give TensorFlow's outputs under JAX."""

from __future__ import annotations

import numpy as np
import pytest
from bounds import SMALL_NET_BOUND, assert_within
from netfiles import input_layer, write_net

from caffe2keras import api
from caffe2keras.layout import to_keras
from release.test_backends import backend_available, compare

C = 8
NET = input_layer((2, C, 4, 6)) + (
    'layer { name: "bn" type: "BN" bottom: "data" top: "bn" bn_param { eps: 0.001 } }\n'
    'layer { name: "seg" type: "BN" bottom: "bn" top: "seg" bn_param { bn_mode: INFERENCE } }\n'
    'layer { name: "shuffle" type: "ShuffleChannel" bottom: "seg" top: "shuffle" '
    "shuffle_channel_param { group: 4 } }\n"
    'layer { name: "down" type: "Reorg" bottom: "shuffle" top: "down" reorg_param { stride: 2 } }\n'
    'layer { name: "up" type: "Reorg" bottom: "down" top: "up" '
    "reorg_param { stride: 2 reverse: true } }\n"
)


def test_fork_layers_run_under_jax(tmp_path) -> None:
    if not backend_available("jax"):
        pytest.skip("jax is not installed (pip install jax)")
    rng = np.random.default_rng(0)
    blobs = {
        "bn": [
            rng.normal(size=(1, C)),
            rng.normal(size=(1, C)),
            rng.normal(size=(1, C)),
            rng.uniform(0.5, 2, (1, C)),
        ],
        "seg": [rng.normal(size=(1, C, 1, 1)), rng.normal(size=(1, C, 1, 1))],
    }
    proto, model = write_net(tmp_path, NET, blobs)
    feed = [to_keras(rng.normal(size=(2, C, 4, 6)).astype(np.float32))]
    cases = []
    for suffix in (".h5", ".keras"):
        out = tmp_path / f"fork{suffix}"
        result = api.convert(proto, model, out, api.ConvertOptions())
        assert result.exit_code == 0 and result.report is not None and result.report.passed
        cases.append((out, feed))
    assert_within(
        "TensorFlow vs jax, fork layers", compare("jax", cases, tmp_path), SMALL_NET_BOUND
    )
