"""A net of every upsampling, unpooling and interpolation layer (Pooling's mask top, SegNet's
Upsample, MaxUnPool, YOLO's Upsample, BilinearInterpolate, Interp): converted and verified with
TensorFlow, saved as .h5 and .keras, reloaded in safe mode under JAX with the same outputs."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from bounds import SMALL_NET_BOUND, assert_within
from netfiles import input_layer, write_net

from caffe2keras import api
from caffe2keras.layout import to_keras

from .test_backends import backend_available, compare

NET = input_layer((2, 3, 7, 9)) + "".join(
    f"layer {{ {text} }}\n"
    for text in (
        'name: "pool" type: "Pooling" bottom: "data" top: "p" top: "m" '
        "pooling_param { pool: MAX kernel_size: 3 stride: 2 pad: 1 }",
        'name: "shift" type: "Power" bottom: "p" top: "q" power_param { shift: -0.25 }',
        'name: "segnet" type: "Upsample" bottom: "q" bottom: "m" top: "segnet" '
        "upsample_param { upsample_h: 7 upsample_w: 9 }",
        'name: "unpool" type: "MaxUnPool" bottom: "p" bottom: "m" top: "unpool" '
        "max_unpool_param { dst_h: 7 dst_w: 9 }",
        'name: "yolo" type: "Upsample" bottom: "segnet" top: "yolo" upsample_param { scale: 2 }',
        'name: "bil" type: "BilinearInterpolate" bottom: "unpool" top: "bil" '
        "bilinear_interpolate_param { dst_h: 5 dst_w: 12 align_corners: false }",
        'name: "interp" type: "Interp" bottom: "data" top: "interp" '
        "interp_param { zoom_factor: 2 pad_beg: -1 pad_end: -1 }",
    )
)


def test_resize_layers_convert_verified_and_run_under_jax(tmp_path: Path) -> None:
    proto, weights = write_net(tmp_path, NET)
    x = np.random.default_rng(5).uniform(-1, 1, (2, 3, 7, 9)).astype(np.float32)
    cases = []
    for suffix in (".h5", ".keras"):
        out = tmp_path / f"resize{suffix}"
        result = api.convert(proto, weights, out)  # verified against the numpy reference
        assert result.written and result.report is not None and result.report.passed
        verified = {row.blob for row in result.report.rows}
        assert {"m", "segnet", "unpool", "yolo", "bil", "interp"} <= verified
        cases.append((out, [to_keras(x)]))
    if not backend_available("jax"):
        pytest.skip("jax is not installed")
    worst = compare("jax", cases, tmp_path)
    assert_within("resize layers: TensorFlow vs JAX", worst, SMALL_NET_BOUND)
