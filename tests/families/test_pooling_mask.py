"""Pooling's second top (Caffe's max-index mask) waits for issue 13: until then every path refuses
it, ``--no-verify`` included (it used to write the pooled values as the mask, exit 0)."""

from __future__ import annotations

from pathlib import Path

import pytest
from click.testing import CliRunner
from protowire import ld

from caffe2keras.cli import main

NET = """\
name: "mask"
layer { name: "data" type: "Input" top: "data"
  input_param { shape { dim: 1 dim: 2 dim: 4 dim: 4 } } }
layer { name: "pool" type: "Pooling" bottom: "data" top: "out" top: "mask"
  pooling_param { pool: MAX kernel_size: 2 stride: 2 } }
"""


@pytest.mark.parametrize("verify", [True, False], ids=["verified", "no-verify"])
def test_mask_top_is_refused_and_nothing_is_written(tmp_path: Path, verify: bool) -> None:
    proto, model, out = tmp_path / "n.prototxt", tmp_path / "n.caffemodel", tmp_path / "o.h5"
    proto.write_text(NET)
    model.write_bytes(ld(1, b"mask"))  # a NetParameter with a name and no learned blobs
    args = ["convert", str(proto), str(model), "-o", str(out), "-q"]
    result = CliRunner().invoke(main, args + ([] if verify else ["--no-verify"]))
    assert result.exit_code == 4, result.output
    assert "layer 'pool', field 'top'" in result.output
    assert "second top" in result.output
    assert not out.exists()
