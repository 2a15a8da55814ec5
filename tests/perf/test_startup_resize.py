"""``inspect`` of a net with every resize/unpool type (their shape rules and inspect texts run,
``scale_factor``'s float32 product included) imports no numpy, TensorFlow or Keras."""

from __future__ import annotations

from pathlib import Path

from test_startup import HEAVY, run_cli

NET = """\
name: "resize"
layer { name: "data" type: "Input" top: "data"
  input_param { shape { dim: 1 dim: 2 dim: 8 dim: 10 } } }
layer { name: "pool" type: "Pooling" bottom: "data" top: "p" top: "m"
  pooling_param { pool: MAX kernel_size: 2 stride: 2 } }
layer { name: "segnet" type: "Upsample" bottom: "p" bottom: "m" top: "s" }
layer { name: "unpool" type: "MaxUnPool" bottom: "p" bottom: "m" top: "u"
  max_unpool_param { dst_h: 8 dst_w: 10 } }
layer { name: "yolo" type: "Upsample" bottom: "s" top: "y" upsample_param { scale: 2 } }
layer { name: "bil" type: "BilinearInterpolate" bottom: "u" top: "b"
  bilinear_interpolate_param { scale_factor: 1.5 } }
layer { name: "interp" type: "Interp" bottom: "data" top: "i" interp_param { zoom_factor: 2 } }
"""


def test_inspect_of_resize_layers_imports_no_numpy(tmp_path: Path) -> None:
    proto = tmp_path / "resize.prototxt"
    proto.write_text(NET)
    got = run_cli(["inspect", str(proto)])
    assert got["code"] == 0, got["output"]
    for text in (
        "MaxPoolMask",
        "MaxUnpool (custom, keras.ops; SegNet unpooling",
        "UpSampling2D (nearest, x2; YOLO)",
        "bilinear to 12x15, align corners",  # int(8 * 1.5), int(10 * 1.5)
        "bilinear to 15x19, align corners",  # 8 + 7, 10 + 9
    ):
        assert text in got["output"], got["output"]
    assert not set(got["modules"]) & {*HEAVY, "numpy"}, sorted(set(got["modules"]) & {"numpy"})
