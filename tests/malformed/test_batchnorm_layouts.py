"""BatchNorm blob layouts: NVCaffe's 5 blobs with scale_bias convert exactly; others are refused
(see the corpus for the refusals)."""

from __future__ import annotations

from pathlib import Path

import keras
import numpy as np
import pytest
from click.testing import CliRunner

import caffe2keras.layers  # noqa: F401  (custom layers for safe-mode loading)
from caffe2keras._proto import caffe_pb2
from caffe2keras.cli import main

SHAPE = (2, 3, 5, 4)


def _files(folder: Path, bn_param: str, blobs: list[np.ndarray]) -> tuple[Path, Path]:
    dims = " ".join(f"dim: {d}" for d in SHAPE)
    proto = folder / "net.prototxt"
    proto.write_text(
        f'layer {{ name: "data" type: "Input" top: "data" input_param {{ shape {{ {dims} }} }} }}\n'
        f'layer {{ name: "bn" type: "BatchNorm" bottom: "data" top: "bn" {bn_param} }}\n'
    )
    net = caffe_pb2.NetParameter(name="bn")
    layer = net.layer.add(name="bn", type="BatchNorm")
    for arr in blobs:
        blob = layer.blobs.add()
        blob.shape.dim.extend(arr.shape)
        blob.data.extend(arr.astype(np.float32).ravel().tolist())
    model = folder / "net.caffemodel"
    model.write_bytes(net.SerializeToString())
    return proto, model


@pytest.mark.parametrize(
    "bn_param, eps",
    [
        ("batch_norm_param { scale_bias: true eps: 1e-7 }", 1e-5),  # NVCaffe: eps >= 1e-5
        ('batch_norm_param { scale_filler { type: "constant" value: 1 } eps: 0.01 }', 0.01),
    ],
)
def test_nvcaffe_scale_bias_layout_is_exact(tmp_path: Path, bn_param: str, eps: float) -> None:
    """NVCaffe batch_norm_layer.cpp (TEST): (x - mean) / sqrt(var + max(eps, 1e-5)) * scale +
    bias; blob 2 (the variance correction) is never read, so a value other than 1 is ignored."""
    rng = np.random.default_rng(7)
    c = SHAPE[1]
    mean, var = rng.normal(size=c), rng.uniform(0.01, 0.05, c)  # small var: eps matters
    scale, bias = rng.normal(size=c), rng.normal(size=c)
    proto, model = _files(tmp_path, bn_param, [mean, var, np.array([7.0]), scale, bias])
    out = tmp_path / "bn.h5"
    args = ["convert", str(proto), str(model), "-o", str(out)]
    result = CliRunner().invoke(main, args, catch_exceptions=False)
    assert result.exit_code == 0, result.output
    x = rng.normal(size=SHAPE).astype(np.float32)
    m, v, g, b = (a.astype(np.float32)[None, :, None, None] for a in (mean, var, scale, bias))
    want = (x - m) / np.sqrt(v + np.float32(eps)) * g + b
    loaded = keras.models.load_model(out, safe_mode=True, compile=False)
    got = np.transpose(np.asarray(loaded(np.transpose(x, (0, 2, 3, 1)))), (0, 3, 1, 2))
    np.testing.assert_allclose(got, want, rtol=2e-5, atol=2e-5 * float(np.abs(want).max()))
    bns = [layer for layer in loaded.layers if isinstance(layer, keras.layers.BatchNormalization)]
    assert len(bns) == 1 and bns[0].epsilon == pytest.approx(eps)
