"""The golden cases of HardSwish, HardSigmoid, PixelShuffle, Pad and SPP through the command
line: ``caffe2keras convert`` on the golden input verifies and writes an .h5 that, loaded in safe
mode, reproduces real Caffe's top within the rounding bound of ``tests/bounds.py``."""

from __future__ import annotations

import keras
import numpy as np
import pytest
from bounds import assert_within, rel_linf, rounding_bound
from click.testing import CliRunner

import caffe2keras.layers  # noqa: F401  (custom layers for safe-mode loading)
from caffe2keras import api
from caffe2keras.cli import main

CASES = ["hardswish", "hardsigmoid", "pixelshuffle", "pad_constant", "pad_reflect", "spp_max"]


@pytest.mark.parametrize("case", CASES)
def test_cli_convert_matches_caffe(case, golden_layer, golden_spreads, tmp_path) -> None:
    g = golden_layer(case)
    (name,) = g.inputs
    feed = tmp_path / "in.npy"
    np.save(feed, g.inputs[name])
    out = tmp_path / "model.h5"
    args = ["convert", str(g.prototxt), str(g.caffemodel), "-o", str(out)]
    result = CliRunner().invoke(main, [*args, "--input", f"{name}={feed}"])
    assert result.exit_code == 0, result.output
    assert "EQUIVALENT" in result.output
    model = keras.models.load_model(out, safe_mode=True, compile=False)
    x = g.inputs[name].transpose(0, 2, 3, 1)
    y = np.asarray(model(x, training=False))
    expected = g.blobs["out"]
    if y.ndim == 4:
        y = y.transpose(0, 3, 1, 2)
    spread = golden_spreads(g, api.load(g.prototxt, g.caffemodel).reference)["out"]
    assert_within(f"{case} cli .h5", rel_linf(y, expected), rounding_bound(spread))
