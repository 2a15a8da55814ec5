"""The bounds of ``tests/bounds.py`` stay tight: small real bugs still fail them.

Each test makes a deliberately wrong computation, smaller than any semantic bug we have seen
(a weight off by 1e-4 relative, a BatchNorm epsilon of 1e-3 instead of 1e-5), and checks that the
bound the golden sweeps use rejects it, while the right computation passes.
"""

from __future__ import annotations

import dataclasses

import numpy as np
import pytest
from bounds import ROUNDING_MARGIN, rel_linf, rounding_bound, spreads

from caffe2keras.frontend.load import LoadOptions
from caffe2keras.frontend.net import load_net
from caffe2keras.ir.graph import Graph
from caffe2keras.reference import run_reference


def _graph(golden) -> Graph:
    options = LoadOptions(input_shapes=golden.input_shapes)
    return load_net(golden.prototxt, golden.caffemodel, options).reference


def _worst_ratio(graph: Graph, golden, spread: dict[str, float], out) -> float:
    return max(
        rel_linf(out[graph.resolve(b)], want) / rounding_bound(spread[b], golden.noise_floor)
        for b, want in golden.blobs.items()
    )


def test_the_floor_is_the_single_layer_bar() -> None:
    assert rounding_bound(0.0) == pytest.approx(1e-5)
    assert rounding_bound(1e-4) == pytest.approx(ROUNDING_MARGIN * 1e-4)
    assert rounding_bound(1e-7, noise_floor=3e-5) == pytest.approx(ROUNDING_MARGIN * 3e-5)


@pytest.mark.parametrize("case", ["conv_basic", "ip_chain", "deconv_basic", "lrn_across"])
def test_weights_off_by_1e_4_fail_the_layer_bound(golden_layer, case: str) -> None:
    golden = golden_layer(case)
    graph = _graph(golden)
    spread, out32, _ = spreads(graph, golden.inputs, golden.blobs)
    assert _worst_ratio(graph, golden, spread, out32) <= 1.0
    if case == "lrn_across":  # no weights: a wrong alpha instead
        wrong = [
            dataclasses.replace(
                layer, params=dataclasses.replace(layer.params, alpha=layer.params.alpha * 1.01)
            )
            if layer.type == "LRN"
            else layer
            for layer in graph.layers
        ]
    else:
        wrong = [
            dataclasses.replace(layer, blobs=tuple(b * (1 + 1e-4) for b in layer.blobs))
            for layer in graph.layers
        ]
    bad = run_reference(dataclasses.replace(graph, layers=tuple(wrong)), golden.inputs, np.float32)
    assert _worst_ratio(graph, golden, spread, bad) > 1.0


@pytest.mark.slow
def test_a_batchnorm_epsilon_of_1e_3_fails_the_resnet50_bound(golden_zoo) -> None:
    """ResNet-50's bounds follow the spread up to 2.4e-4 at res5c: still far below a wrong eps."""
    golden = golden_zoo("resnet50")
    graph = _graph(golden)
    spread, out32, _ = spreads(graph, golden.inputs, golden.blobs)
    assert _worst_ratio(graph, golden, spread, out32) <= 1.0
    wrong = [
        dataclasses.replace(layer, params=dataclasses.replace(layer.params, eps=1e-3))
        if layer.type == "BatchNorm"
        else layer
        for layer in graph.layers
    ]
    assert any(layer.type == "BatchNorm" for layer in graph.layers)
    bad = run_reference(dataclasses.replace(graph, layers=tuple(wrong)), golden.inputs, np.float32)
    assert _worst_ratio(graph, golden, spread, bad) > 1.0
