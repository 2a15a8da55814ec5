"""The numpy reference against blobs computed by real Caffe (../shared/golden)."""

from __future__ import annotations

import numpy as np
import pytest
from bounds import assert_within, rel_linf, rounding_bound, spreads, within
from conftest import layer_cases, zoo_cases
from detection_checks import DEEP_SSD_ROWS, is_detection, rows_error
from pending import pending_in
from refusals import check_load_refusal

from caffe2keras.frontend.load import LoadOptions
from caffe2keras.frontend.net import load_net
from caffe2keras.ir.graph import Graph
from caffe2keras.ir.shapes import infer_shapes
from caffe2keras.reference import run_reference
from caffe2keras.verify.detections import match_detections

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


def worst_errors(
    graph: Graph, out: dict[str, np.ndarray], golden, rows: float = 1.0
) -> dict[str, float]:
    """rel L-inf error of every golden blob (Caffe names are the final graph names); detection
    blobs: that of their matched rows, infinite unless ``rows`` of them match
    (``tests/detection_checks.py``)."""
    errors = {}
    for name, want in golden.blobs.items():
        got = out[graph.resolve(name)]
        if is_detection(graph, name):
            found = match_detections(got, want)
            errors[name] = rows_error(found, want) if found.fraction >= rows else float("inf")
        else:
            errors[name] = rel_linf(got, want)
    return errors


def refused_as_expected(golden, expected_refusal) -> bool:
    """True when the case waits for an open issue: then its refusal has been checked."""
    pending = pending_in(golden.prototxt)
    if not pending:
        return False
    check_load_refusal(golden.prototxt, golden.caffemodel, golden.input_shapes, pending)
    expected_refusal(golden.root.name, pending)
    return True


@pytest.mark.parametrize("case", layer_cases())
def test_layer_case(golden_layer, case: str, expected_refusal) -> None:
    """float64 and float32 (Caffe's arithmetic) runs, every blob within the rounding bound of
    its own measured float32 spread (``tests/bounds.py``)."""
    golden = golden_layer(case)
    if refused_as_expected(golden, expected_refusal):
        return
    graph = load_reference(golden)
    spread, out32, out64 = spreads(graph, golden.inputs, golden.blobs)
    for dtype, out in ((np.float32, out32), (np.float64, out64)):
        assert all(v.dtype == np.dtype(dtype) for v in out.values())
        errors = worst_errors(graph, out, golden)
        bounds = {k: rounding_bound(spread[k]) for k in errors}
        what = f"{case} {np.dtype(dtype).name}"
        bad = {
            k: (v, bounds[k]) for k, v in errors.items() if not within(f"{what} {k}", v, bounds[k])
        }
        assert not bad, f"{what}: blobs beyond their bound (error, bound): {bad}"


@pytest.mark.parametrize("case", layer_cases())
def test_layer_case_shapes_agree_with_shape_rules(
    golden_layer, case: str, expected_refusal
) -> None:
    golden = golden_layer(case)
    if refused_as_expected(golden, expected_refusal):
        return
    graph = load_reference(golden)
    out = run_reference(graph, golden.inputs)
    # a detection top's rule gives the converter's fixed (N, K, 7); Caffe's is (1, 1, rows, 7)
    shapes = {k: v for k, v in infer_shapes(graph).items() if not is_detection(graph, k)}
    assert {k: tuple(v.shape) for k, v in out.items() if k in shapes} == shapes
    assert set(graph.aliases) <= set(out)


@pytest.mark.slow
@pytest.mark.parametrize("case", zoo_cases())
def test_zoo_model(golden_zoo, case: str, expected_refusal) -> None:
    """float32 (Caffe's arithmetic) and float64, every kept blob (outputs and deep intermediates
    alike) within ROUNDING_MARGIN x its own float32 spread measured on this run, floored by the
    golden's noise_floor (``tests/bounds.py``)."""
    golden = golden_zoo(case)
    if refused_as_expected(golden, expected_refusal):
        return
    graph = load_reference(golden)
    spread, out32, out64 = spreads(graph, golden.inputs, golden.blobs)
    for label, out in (("float32", out32), ("float64", out64)):
        for name, err in worst_errors(graph, out, golden, DEEP_SSD_ROWS).items():
            bound = rounding_bound(spread[name], golden.noise_floor)
            assert_within(f"{case} {label} {name} (spread {spread[name]:.2e})", err, bound)


@pytest.mark.parametrize("case", OPENCV_CASES)
def test_opencv_agrees(golden_layer, case: str) -> None:
    """A second opinion: OpenCV's dnn module on the same net and weights."""
    cv2 = pytest.importorskip("cv2")
    golden = golden_layer(case)
    graph = load_reference(golden)
    (name,) = golden.meta["outputs"]  # the cases chosen have one output: net.forward()'s
    spread, _, out = spreads(graph, golden.inputs, [name])
    net = cv2.dnn.readNetFromCaffe(str(golden.prototxt), str(golden.caffemodel))
    for input_name, value in golden.inputs.items():
        net.setInput(value, input_name)
    err = rel_linf(net.forward(), out[graph.resolve(name)])
    assert_within(f"{case} opencv {name}", err, rounding_bound(spread[name]))
