"""The numpy reference against blobs computed by real Caffe (../shared/golden)."""

from __future__ import annotations

import numpy as np
import pytest
from conftest import LAYER_TOLERANCE, layer_cases, rel_linf, zoo_cases, zoo_tolerance
from pending import pending_in
from refusals import check_load_refusal

from caffe2keras.frontend.load import LoadOptions
from caffe2keras.frontend.net import load_net
from caffe2keras.ir.graph import Graph
from caffe2keras.ir.shapes import infer_shapes
from caffe2keras.reference import run_reference

OPENCV_CASES = [
    "conv_group",
    "conv_dilation",
    "deconv_basic",
    "pool_ave_pad",
    "pool_max_clip",
    "lrn_within",
    "mvn",
    "ip_after_conv",
]  # OpenCV's LRN ignores k: no lrn_across


def load_reference(golden) -> Graph:
    return load_net(
        golden.prototxt, golden.caffemodel, LoadOptions(input_shapes=golden.input_shapes)
    ).reference


def worst_errors(graph: Graph, out: dict[str, np.ndarray], golden) -> dict[str, float]:
    """rel L-inf error of every golden blob (Caffe names are the final graph names)."""
    return {name: rel_linf(out[graph.resolve(name)], want) for name, want in golden.blobs.items()}


def refused_as_expected(golden, expected_refusal) -> bool:
    """True when the case waits for an open issue: then its refusal has been checked."""
    pending = pending_in(golden.prototxt)
    if not pending:
        return False
    check_load_refusal(golden.prototxt, golden.caffemodel, golden.input_shapes, pending)
    expected_refusal(golden.root.name, pending)
    return True


@pytest.mark.parametrize("dtype", [np.float64, np.float32], ids=["f64", "f32"])
@pytest.mark.parametrize("case", layer_cases())
def test_layer_case(golden_layer, case: str, dtype, expected_refusal) -> None:
    golden = golden_layer(case)
    if refused_as_expected(golden, expected_refusal):
        return
    graph = load_reference(golden)
    out = run_reference(graph, golden.inputs, dtype)
    assert all(v.dtype == np.dtype(dtype) for v in out.values())
    errors = worst_errors(graph, out, golden)
    bad = {k: v for k, v in errors.items() if v > LAYER_TOLERANCE}
    assert not bad, f"{case}: blobs beyond {LAYER_TOLERANCE}: {bad}"


@pytest.mark.parametrize("case", layer_cases())
def test_layer_case_shapes_agree_with_shape_rules(
    golden_layer, case: str, expected_refusal
) -> None:
    golden = golden_layer(case)
    if refused_as_expected(golden, expected_refusal):
        return
    graph = load_reference(golden)
    out = run_reference(graph, golden.inputs)
    shapes = infer_shapes(graph)
    assert {k: tuple(v.shape) for k, v in out.items() if k in shapes} == shapes
    assert set(graph.aliases) <= set(out)


@pytest.mark.slow
@pytest.mark.parametrize("case", zoo_cases())
def test_zoo_model(golden_zoo, case: str, expected_refusal) -> None:
    """float32 (Caffe's arithmetic) within the zoo bar; float64 within the bar or, in deep nets
    that amplify rounding (ResNet-101/152), within 3x the float32-vs-float64 spread there."""
    golden = golden_zoo(case)
    if refused_as_expected(golden, expected_refusal):
        return
    graph = load_reference(golden)
    tol = zoo_tolerance(golden)
    out32 = run_reference(graph, golden.inputs, np.float32)
    err32 = worst_errors(graph, out32, golden)
    assert max(err32.values()) <= tol, f"float32: {err32} (tolerance {tol:.2e})"
    out64 = run_reference(graph, golden.inputs, np.float64)
    err64 = worst_errors(graph, out64, golden)
    for name, err in err64.items():
        blob = graph.resolve(name)
        spread = rel_linf(out32[blob], out64[blob])
        assert err <= max(tol, 3 * spread), f"float64 {name}: {err:.2e} (spread {spread:.2e})"


@pytest.mark.parametrize("case", OPENCV_CASES)
def test_opencv_agrees(golden_layer, case: str) -> None:
    """A second opinion: OpenCV's dnn module on the same net and weights."""
    cv2 = pytest.importorskip("cv2")
    golden = golden_layer(case)
    graph = load_reference(golden)
    out = run_reference(graph, golden.inputs)
    net = cv2.dnn.readNetFromCaffe(str(golden.prototxt), str(golden.caffemodel))
    for name, value in golden.inputs.items():
        net.setInput(value, name)
    (name,) = golden.meta["outputs"]  # the cases chosen have one output: net.forward()'s
    assert rel_linf(net.forward(), out[graph.resolve(name)]) <= LAYER_TOLERANCE
