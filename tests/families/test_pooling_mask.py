"""Pooling's second top (Caffe's max-index mask) through the CLI: converted, verified, saved; the
saved model reloads in safe mode and gives Caffe's mask (hand-computed here: 4x4 input, 2x2
windows, the first maximum of each window in row-major order wins)."""

from __future__ import annotations

from pathlib import Path

import keras
import numpy as np
import pytest
from click.testing import CliRunner
from protowire import ld

from caffe2keras.cli import main

NET = """\
name: "mask"
layer { name: "data" type: "Input" top: "data"
  input_param { shape { dim: 1 dim: 1 dim: 4 dim: 4 } } }
layer { name: "pool" type: "Pooling" bottom: "data" top: "out" top: "mask"
  pooling_param { pool: MAX kernel_size: 2 stride: 2 } }
"""

X = np.array(
    [[1, 1, 0, 5], [1, 1, 5, 2], [-3, -1, 7, 7], [-2, -1, 7, 7]], dtype=np.float32
).reshape(1, 1, 4, 4)
# windows: {1,1,1,1} ties -> index 0; {0,5,5,2} -> 3 (first 5); {-3,-1,-2,-1} -> 9; 7s -> 10
MASK = np.array([[0, 3], [9, 10]], dtype=np.float32)
POOLED = np.array([[1, 5], [-1, 7]], dtype=np.float32)


@pytest.mark.parametrize("verify", [True, False], ids=["verified", "no-verify"])
def test_mask_top_converts_and_reloads(tmp_path: Path, verify: bool) -> None:
    proto, model, out = tmp_path / "n.prototxt", tmp_path / "n.caffemodel", tmp_path / "o.h5"
    proto.write_text(NET)
    model.write_bytes(ld(1, b"mask"))  # a NetParameter with a name and no learned blobs
    args = ["convert", str(proto), str(model), "-o", str(out), "-q"]
    result = CliRunner().invoke(main, args + ([] if verify else ["--no-verify"]))
    assert result.exit_code == 0, result.output
    import caffe2keras.layers  # noqa: F401

    loaded = keras.models.load_model(out, safe_mode=True, compile=False)
    got = [np.asarray(o) for o in keras.tree.flatten(loaded(np.transpose(X, (0, 2, 3, 1))))]
    by_shape = {tuple(g.shape): g for g in got}
    assert len(got) == 2 and len(by_shape) == 1  # both tops (1, 2, 2, 1)
    pooled, mask = sorted(got, key=lambda g: float(np.sum(g)))  # mask sums to 22 > 12
    np.testing.assert_array_equal(mask[0, :, :, 0], MASK)
    np.testing.assert_array_equal(pooled[0, :, :, 0], POOLED)


def test_mask_of_ave_pooling_is_refused(tmp_path: Path) -> None:
    proto, model, out = tmp_path / "n.prototxt", tmp_path / "n.caffemodel", tmp_path / "o.h5"
    proto.write_text(NET.replace("pool: MAX", "pool: AVE"))
    model.write_bytes(ld(1, b"mask"))
    result = CliRunner().invoke(main, ["convert", str(proto), str(model), "-o", str(out), "-q"])
    assert result.exit_code != 0
    assert "layer 'pool', field 'top'" in result.output
    assert "only MAX pooling has a mask top" in result.output
    assert not out.exists()
