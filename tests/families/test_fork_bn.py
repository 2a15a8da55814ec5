"""The forks' BN (yjxiong/caffe, hszhao/PSPNet, SegNet): hand-computed cases from each fork's
``bn_layer.cpp``, eps placement, fork detection, refusals (CLI exit codes and messages)."""

from __future__ import annotations

import numpy as np
import pytest
from bounds import SMALL_NET_BOUND, assert_within, rel_linf
from click.testing import CliRunner
from netfiles import input_layer, write_net

from caffe2keras import api
from caffe2keras.cli import main
from caffe2keras.errors import UnsupportedParameterError, ValidationError
from caffe2keras.frontend.net import load_net
from caffe2keras.reference import run_reference

C = 3
SLOPE = np.array([1.5, -0.5, 2.0])
BIAS = np.array([0.25, 1.0, -3.0])
MEAN = np.array([0.5, -1.0, 2.0])
VAR = np.array([4.0, 0.25, 0.0])  # a zero variance makes eps matter
X = np.random.default_rng(7).normal(size=(2, C, 3, 4)).astype(np.float32)


def yjxiong_loop(x: np.ndarray, eps: float) -> np.ndarray:
    """yjxiong ``bn_layer.cpp`` Forward_cpu in the TEST phase, element by element (float64):
    top = x - mean; top *= (var + eps)^-0.5; top *= slope; top += bias."""
    out = np.empty(x.shape, np.float64)
    for n, c, h, w in np.ndindex(*x.shape):
        inv_std = (VAR[c] + float(np.float32(eps))) ** -0.5  # eps is a float field
        out[n, c, h, w] = (float(x[n, c, h, w]) - MEAN[c]) * inv_std * SLOPE[c] + BIAS[c]
    return out


def _bn_net(bn_param: str = "", inplace: bool = False, relu: bool = True) -> str:
    top = "data" if inplace else "bn"
    text = input_layer((2, C, 3, 4))
    text += f'layer {{ name: "bn" type: "BN" bottom: "data" top: "{top}" {bn_param} }}\n'
    if relu:
        text += f'layer {{ name: "relu" type: "ReLU" bottom: "{top}" top: "{top}" }}\n'
    return text


def _convert_and_run(tmp_path, proto, model) -> np.ndarray:
    import keras

    out = tmp_path / "m.h5"
    result = api.convert(proto, model, out, api.ConvertOptions())
    assert result.exit_code == 0 and result.report is not None and result.report.passed
    loaded = keras.models.load_model(out, safe_mode=True, compile=False)
    return np.asarray(loaded(X.transpose(0, 2, 3, 1))).transpose(0, 3, 1, 2)


YJXIONG_BLOBS = [b.reshape(1, C) for b in (SLOPE, BIAS, MEAN, VAR)]  # yjxiong: (1, C)
PSPNET_BLOBS = [b.reshape(1, C, 1, 1) for b in (SLOPE, BIAS, MEAN, VAR)]  # PSPNet: (1, C, 1, 1)


@pytest.mark.parametrize(
    ("blobs", "bn_param", "eps"),
    [
        (YJXIONG_BLOBS, "", 1e-5),  # bn_param's default eps
        (PSPNET_BLOBS, "bn_param { eps: 0.001 }", 1e-3),
        (PSPNET_BLOBS, "bn_param { frozen: true eps: 0.5 }", 0.5),
        (YJXIONG_BLOBS, "bn_param { slope_filler { type: 'constant' value: 1 } }", 1e-5),
    ],
)
def test_yjxiong_and_pspnet_bn_match_the_hand_loop(tmp_path, blobs, bn_param, eps) -> None:
    proto, model = write_net(tmp_path, _bn_net(bn_param), {"bn": blobs})
    expected = np.maximum(yjxiong_loop(X, eps), 0)
    ref = run_reference(load_net(proto, model).reference, {"data": X}, np.float64)["bn"]
    assert_within("BN reference vs hand loop", rel_linf(ref, expected), SMALL_NET_BOUND)
    got = _convert_and_run(tmp_path, proto, model)
    assert_within("BN Keras vs hand loop", rel_linf(got, expected), SMALL_NET_BOUND)


def test_eps_is_added_to_the_variance_under_the_square_root(tmp_path) -> None:
    # channel 2 has variance 0: (x - mean) / sqrt(0 + eps), not / (sqrt(0) + eps)
    text = _bn_net("bn_param { eps: 0.25 }", relu=False)
    proto, model = write_net(tmp_path, text, {"bn": PSPNET_BLOBS})
    got = _convert_and_run(tmp_path, proto, model)[:, 2]
    right = (X[:, 2] - 2.0) / np.sqrt(0.25) * 2.0 - 3.0
    wrong = (X[:, 2] - 2.0) / (0.0 + 0.25) * 2.0 - 3.0
    assert_within("BN eps placement", rel_linf(got, right), SMALL_NET_BOUND)
    assert rel_linf(got, wrong) > 0.1


def test_segnet_inference_is_scale_and_shift(tmp_path) -> None:
    blobs = [SLOPE.reshape(1, C, 1, 1), BIAS.reshape(1, C, 1, 1)]
    proto, model = write_net(tmp_path, _bn_net("bn_param { bn_mode: INFERENCE }"), {"bn": blobs})
    # caffe-segnet bn_layer.cpp, INFERENCE: top = bottom * scale + shift (no statistics)
    expected = np.maximum(X * SLOPE.reshape(1, C, 1, 1) + BIAS.reshape(1, C, 1, 1), 0)
    ref = run_reference(load_net(proto, model).reference, {"data": X}, np.float64)["bn"]
    assert_within("SegNet BN reference", rel_linf(ref, expected), SMALL_NET_BOUND)
    got = _convert_and_run(tmp_path, proto, model)
    assert_within("SegNet BN Keras", rel_linf(got, expected), SMALL_NET_BOUND)


def test_segnet_learn_reference_uses_batch_statistics(tmp_path) -> None:
    blobs = [SLOPE.reshape(1, C, 1, 1), BIAS.reshape(1, C, 1, 1)]
    proto, model = write_net(tmp_path, _bn_net(), {"bn": blobs})
    graph = load_net(proto, model).reference
    ref = run_reference(graph, {"data": X}, np.float64)["bn"]
    x = X.astype(np.float64)
    expected = np.empty_like(x)
    for c in range(C):  # E(x), E(x²) - E(x)², var_eps_ = 1e-9 (LayerSetUp), then scale, shift
        m = x[:, c].mean()
        v = (x[:, c] ** 2).mean() - m * m
        expected[:, c] = (x[:, c] - m) / np.sqrt(v + 1e-9) * SLOPE[c] + BIAS[c]
    assert_within("SegNet LEARN reference", rel_linf(ref, np.maximum(expected, 0)), SMALL_NET_BOUND)


def invoke(*args):
    return CliRunner().invoke(main, [str(a) for a in args], catch_exceptions=False)


@pytest.mark.parametrize("bn_param", ["bn_param { bn_mode: LEARN }", ""])
def test_segnet_learn_is_refused_by_the_cli(tmp_path, bn_param: str) -> None:
    blobs = [SLOPE.reshape(1, C, 1, 1), BIAS.reshape(1, C, 1, 1)]  # 2 blobs: SegNet's BN
    proto, model = write_net(tmp_path, _bn_net(bn_param), {"bn": blobs})
    out = tmp_path / "o.h5"
    result = invoke("convert", proto, model, "-o", out)
    assert result.exit_code == 4
    assert "layer 'bn'" in result.output and "field 'bn_mode'" in result.output
    assert "statistics of each batch" in result.output and "INFERENCE" in result.output
    assert not out.exists()


def test_train_phase_needs_frozen(tmp_path) -> None:
    proto, model = write_net(tmp_path, _bn_net(), {"bn": PSPNET_BLOBS})
    result = invoke("convert", proto, model, "-o", tmp_path / "o.h5", "--phase", "TRAIN")
    assert result.exit_code == 4 and "field 'frozen'" in result.output
    proto, model = write_net(tmp_path, _bn_net("bn_param { frozen: true }"), {"bn": PSPNET_BLOBS})
    result = invoke("convert", proto, model, "-o", tmp_path / "o.h5", "--phase", "TRAIN")
    assert result.exit_code == 0, result.output


@pytest.mark.parametrize(
    ("bn_param", "blobs", "field", "match"),
    [
        ("bn_param { bn_mode: INFERENCE }", PSPNET_BLOBS, "bn_mode", "SegNet's BN"),
        ("bn_param { eps: 0.001 }", PSPNET_BLOBS[:2], "eps", "yjxiong/caffe or PSPNet's BN"),
        ("", PSPNET_BLOBS[:3], "blobs", "3 blobs"),
        ("bn_param { frozen: true bn_mode: INFERENCE }", PSPNET_BLOBS, "bn_mode", "mixes"),
    ],
)
def test_inconsistent_forks_are_refused(tmp_path, bn_param, blobs, field, match) -> None:
    proto, model = write_net(tmp_path, _bn_net(bn_param), {"bn": blobs})
    with pytest.raises(ValidationError, match=match) as info:
        api.load(proto, model)
    assert info.value.layer == "bn" and info.value.field == field
    result = invoke("convert", proto, model, "-o", tmp_path / "o.h5")
    assert result.exit_code == 3 and "layer 'bn'" in result.output


def test_wrong_blob_shapes_name_both_shapes(tmp_path) -> None:
    blobs = [b.reshape(1, C)[:, :2] for b in (SLOPE, BIAS, MEAN, VAR)]  # 2 channels, not 3
    proto, model = write_net(tmp_path, _bn_net(), {"bn": blobs})
    with pytest.raises(ValidationError, match=r"\[1, 2, 1, 1\].*\[1, 3, 1, 1\]"):
        api.load(proto, model)


def test_inplace_bn_then_relu(tmp_path) -> None:
    proto, model = write_net(
        tmp_path, _bn_net("bn_param { eps: 0.001 }", True), {"bn": PSPNET_BLOBS}
    )
    got = _convert_and_run(tmp_path, proto, model)
    expected = np.maximum(yjxiong_loop(X, 1e-3), 0)
    assert_within("in-place BN -> ReLU", rel_linf(got, expected), SMALL_NET_BOUND)


def test_builder_refusal_is_an_unsupported_parameter(tmp_path) -> None:
    blobs = [SLOPE.reshape(1, C, 1, 1), BIAS.reshape(1, C, 1, 1)]
    proto, model = write_net(tmp_path, _bn_net(), {"bn": blobs})
    with pytest.raises(UnsupportedParameterError, match="bn_mode LEARN"):
        api.convert(proto, model, tmp_path / "o.h5", api.ConvertOptions())


def test_inspect_without_caffemodel_uses_the_fields(tmp_path) -> None:
    import json

    for bn_param, count in (("", 4 * C), ("bn_param { bn_mode: INFERENCE }", 2 * C)):
        proto, _ = write_net(tmp_path, _bn_net(bn_param))
        result = invoke("inspect", proto, "--json")
        assert result.exit_code == 0, result.output
        rows = {row["name"]: row for row in json.loads(result.output)["layers"]}
        assert rows["bn"]["parameters"] == count
        assert rows["bn"]["keras"].startswith("BatchNormalization")
