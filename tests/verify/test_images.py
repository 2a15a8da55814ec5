"""Image inputs: Caffe's preprocessing order, checked against a numpy expectation."""

from __future__ import annotations

import json
import sys
from pathlib import Path

import numpy as np
import pytest
from click.testing import CliRunner

from caffe2keras import api
from caffe2keras.cli import main
from caffe2keras.errors import UsageError, ValidationError
from caffe2keras.verify.images import ImageOptions, image_inputs, image_options

Image = pytest.importorskip("PIL.Image")

TINY = Path(__file__).resolve().parents[2] / "fixtures" / "tiny"
PROTO, MODEL = TINY / "tiny.prototxt", TINY / "tiny.caffemodel"


def _png(path: Path, h: int, w: int, seed: int = 0, mode: str = "RGB") -> np.ndarray:
    """Write a random PNG; return its pixels (H, W, 3) or (H, W) as uint8."""
    rng = np.random.default_rng(seed)
    shape = (h, w, 3) if mode == "RGB" else (h, w)
    pixels = rng.integers(0, 256, shape, dtype=np.uint8)
    Image.fromarray(pixels, mode).save(path)
    return pixels


def test_bgr_mean_scale_in_caffe_order(tmp_path) -> None:
    pixels = _png(tmp_path / "a.png", 33, 33)
    mean, scale = (103.94, 116.78, 123.68), 0.017
    opts = ImageOptions(paths={"": (str(tmp_path / "a.png"),)}, mean=mean, scale=scale)
    arrays, info = image_inputs(opts, {"data": (1, 3, 33, 33)})
    # Caffe: HWC RGB -> CHW -> BGR -> minus mean (BGR order) -> times scale
    expected = pixels.transpose(2, 0, 1)[::-1].astype(np.float64) - np.reshape(mean, (3, 1, 1))
    expected *= scale
    assert arrays["data"].dtype == np.float32
    assert arrays["data"].shape == (1, 3, 33, 33)
    np.testing.assert_allclose(arrays["data"][0], expected, rtol=0, atol=1e-5)
    pre = info["preprocessing"]
    assert pre["order"] == ["resize", "channel order", "subtract mean", "multiply scale"]
    assert pre["channel_order"] == "bgr" and pre["mean"] == list(mean) and pre["scale"] == scale


def test_rgb_keeps_order_and_gray_uses_luminance(tmp_path) -> None:
    pixels = _png(tmp_path / "a.png", 8, 9)
    opts = ImageOptions(paths={"x": (str(tmp_path / "a.png"),)}, channel_order="rgb")
    arrays, _ = image_inputs(opts, {"x": (1, 3, 8, 9)})
    np.testing.assert_array_equal(arrays["x"][0], pixels.transpose(2, 0, 1).astype(np.float32))
    gray = _png(tmp_path / "g.png", 8, 9, mode="L")
    arrays, _ = image_inputs(
        ImageOptions(paths={"": (str(tmp_path / "g.png"),)}, mean=(10.0,)), {"x": (1, 1, 8, 9)}
    )
    np.testing.assert_array_equal(arrays["x"][0, 0], gray.astype(np.float32) - 10)


def test_resize_defaults_to_the_input_and_batches_images(tmp_path) -> None:
    _png(tmp_path / "a.png", 40, 50, seed=1)
    _png(tmp_path / "b.png", 20, 10, seed=2)
    paths = (str(tmp_path / "a.png"), str(tmp_path / "b.png"))
    arrays, info = image_inputs(ImageOptions(paths={"": paths}), {"data": (1, 3, 12, 16)})
    assert arrays["data"].shape == (2, 3, 12, 16)
    with Image.open(tmp_path / "a.png") as img:
        want = np.asarray(img.resize((16, 12), Image.Resampling.BILINEAR), np.float32)
    np.testing.assert_array_equal(arrays["data"][0], want.transpose(2, 0, 1)[::-1])
    assert info["preprocessing"]["resize"] == {"data": [12, 16]}
    arrays, _ = image_inputs(
        ImageOptions(paths={"": paths[:1]}, resize=(6, 7)), {"data": (1, 3, 12, 16)}
    )
    assert arrays["data"].shape == (1, 3, 6, 7)


def test_make_inputs_feeds_images_and_records_them(tmp_path) -> None:
    _png(tmp_path / "a.png", 33, 33)
    opts = api.ConvertOptions(
        image=image_options([str(tmp_path / "a.png")] * 3, "1,2,3", 0.5, "bgr", None)
    )
    net = api.load(PROTO, MODEL, opts)
    inputs, info = api.make_inputs(net, opts)
    assert inputs["data"].shape == (3, 3, 33, 33)
    assert info["source"] == "image" and info["batch"] == 3
    assert info["images"] == {"data": [str(tmp_path / "a.png")] * 3}
    json.dumps(info)  # goes into the JSON report as is
    bad = api.ConvertOptions(
        image=image_options([str(tmp_path / "a.png")], None, None, None, "20,20")
    )
    with pytest.raises(ValidationError, match="--resize"):
        api.make_inputs(net, bad)


def test_option_errors_are_usage_errors(tmp_path, monkeypatch) -> None:
    with pytest.raises(UsageError, match="only apply to --image"):
        image_options([], "1,2,3", None, None, None)
    with pytest.raises(UsageError, match="no such file"):
        image_options([str(tmp_path / "missing.png")])
    _png(tmp_path / "a.png", 4, 4)
    with pytest.raises(UsageError, match="--mean"):
        image_options([str(tmp_path / "a.png")], "1,x")
    with pytest.raises(UsageError, match="--resize"):
        image_options([str(tmp_path / "a.png")], resize="0,3")
    opts = image_options([str(tmp_path / "a.png")], "1,2")
    assert opts is not None
    with pytest.raises(UsageError, match="2 values"):
        image_inputs(opts, {"data": (1, 3, 4, 4)})
    with pytest.raises(UsageError, match="name the one"):
        image_inputs(opts, {"a": (1, 3, 4, 4), "b": (1, 3, 4, 4)})
    monkeypatch.setitem(sys.modules, "PIL", None)  # Pillow not installed
    with pytest.raises(UsageError, match="needs Pillow"):
        image_inputs(image_options([str(tmp_path / "a.png")]), {"data": (1, 3, 4, 4)})


def test_cli_image_verify_and_usage_exit_codes(tmp_path) -> None:
    _png(tmp_path / "cat.png", 64, 48)
    out, report = tmp_path / "tiny.h5", tmp_path / "r.json"
    args = ["convert", str(PROTO), str(MODEL), "-o", str(out), "--report", str(report)]
    image = ["--image", str(tmp_path / "cat.png"), "--mean", "104,117,123", "--scale", "0.017"]
    result = CliRunner().invoke(main, args + image, catch_exceptions=False)
    assert result.exit_code == 0, result.output
    doc = json.loads(report.read_text())
    assert doc["inputs"]["source"] == "image"
    assert doc["inputs"]["preprocessing"]["mean"] == [104.0, 117.0, 123.0]
    assert doc["inputs"]["shapes"] == {"data": [1, 3, 33, 33]}
    result = CliRunner().invoke(main, args + ["--mean", "1,2,3"], catch_exceptions=False)
    assert result.exit_code == 2 and "only apply to --image" in result.output
    bad = ["--image", f"nosuch={tmp_path / 'cat.png'}"]
    result = CliRunner().invoke(main, args + bad, catch_exceptions=False)
    assert result.exit_code == 2 and "not an input of the net" in result.output
