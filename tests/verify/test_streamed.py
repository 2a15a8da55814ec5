"""The streamed verification (``verify/stream.py`` + ``verify/walk.py``) against the path that
holds every blob at once (``verify/traced.py``, today's oracle): the same rows in the same order,
the same verdicts and culprit, the same numbers to float rounding, the same notes, the same
second opinions. Nets: the bundled fixture (BatchNorm+Scale fused, concat, pooling), recurrent
layers (batch-major blobs), an SSD head (detection rows on Keras' own bottoms, PriorBox's
batch-shared blob), in-place chains, a pooling mask (two tops), several inputs, NaN inputs (the
special-value rule) and a sabotaged weight (a failing verdict)."""

from __future__ import annotations

from dataclasses import asdict, replace
from pathlib import Path

import numpy as np
import pytest

from caffe2keras import api
from caffe2keras.keras_model.model import build_model
from caffe2keras.verify.compare import Tolerance
from caffe2keras.verify.run import verify_model
from caffe2keras.verify.traced import verify_model_traced

TINY = Path(__file__).resolve().parents[2] / "fixtures" / "tiny"
EXACT = ("blob", "layer", "layer_type", "shape", "passed", "is_output", "allowed_rel", "top1")
# the same float64 arithmetic on the same values, possibly summed in another order
CLOSE = ("max_abs", "max_rel", "mean_abs", "cosine", "ref_max", "noise", "top5")


def assert_same(streamed, traced) -> None:
    assert [r.blob for r in streamed.rows] == [r.blob for r in traced.rows]
    assert streamed.passed == traced.passed
    for a, b in zip(streamed.rows, traced.rows):
        da, db = asdict(a), asdict(b)
        for key in EXACT + ("rows_matched", "rows_matched_own_inputs"):
            assert da[key] == db[key], (a.blob, key)
        for key in CLOSE:
            if db[key] is None or not np.isfinite(db[key]):
                assert da[key] == db[key] or (np.isnan(da[key]) and np.isnan(db[key]))
            else:
                assert da[key] == pytest.approx(db[key], rel=1e-9, abs=1e-300), (a.blob, key)
    assert streamed.extra["notes"] == traced.extra["notes"]
    for a, b in zip(streamed.second_opinions, traced.second_opinions, strict=True):
        assert [r.blob for r in a.rows] == [r.blob for r in b.rows]
        assert [r.passed for r in a.rows] == [r.passed for r in b.rows]
        assert [r.max_abs for r in a.rows] == pytest.approx([r.max_abs for r in b.rows])
        assert [r.noise for r in a.rows] == pytest.approx([r.noise for r in b.rows])


def both(net, inputs, tolerance=None, model=None, **kw):
    tolerance = tolerance or Tolerance()
    built = build_model(net.keras)
    model = model or built.model
    args = (net, model, built.blob_layers, inputs)
    streamed = verify_model(*args, tolerance=tolerance, **kw)
    traced = verify_model_traced(*args, tolerance=tolerance, **kw)
    return streamed, traced


def test_fixture_all_settings() -> None:
    net = api.load(TINY / "tiny.prototxt", TINY / "tiny.caffemodel")
    inputs, _ = api.make_inputs(net, api.ConvertOptions())
    for tol, dtype in [
        (Tolerance(), "float64"),
        (Tolerance(noise_factor=0), "float64"),
        (Tolerance(), "float32"),
    ]:
        streamed, traced = both(net, inputs, tol, reference_dtype=dtype)
        assert streamed.passed and len(streamed.rows) > 5
        assert_same(streamed, traced)


def test_nan_inputs_and_second_opinion() -> None:
    """NaN fed in: both sides NaN at the same places (the special-value rule), numpy warnings as
    notes; a stub engine compared on the reference blobs the streamed pass keeps for it."""
    from caffe2keras.reference.executor import run_reference
    from caffe2keras.verify.second import EngineRun

    net = api.load(TINY / "tiny.prototxt", TINY / "tiny.caffemodel")
    inputs, _ = api.make_inputs(net, api.ConvertOptions())
    inputs = {k: v.copy() for k, v in inputs.items()}
    next(iter(inputs.values()))[0, 0, :2, :3] = np.nan

    def stub(feed):
        ref = run_reference(net.reference, feed, np.float32)
        tops = [t for layer in net.reference.layers for t in layer.tops][::2]
        return EngineRun("stub 1.0", blobs={t: ref[t] for t in tops})

    streamed, traced = both(net, inputs, second_opinions={"stub": stub})
    assert_same(streamed, traced)
    assert streamed.second_opinions[0].rows


@pytest.mark.parametrize(
    "case",
    [
        "lstm",
        "lstm_expose",
        "embed",
        "detection_ssd",
        "priorbox_step",
        "bn_scale",
        "inplace_chain",
        "pool_mask",
        "multi_input",
        "split",
    ],
)
def test_layer_goldens(case: str, golden_layer) -> None:
    golden = golden_layer(case)
    net = api.load(
        golden.prototxt,
        golden.caffemodel,
        api.ConvertOptions(input_shapes=golden.input_shapes),
    )
    streamed, traced = both(net, golden.inputs)
    assert streamed.passed
    assert_same(streamed, traced)


def test_sabotaged_weight_same_culprit(golden_layer) -> None:
    """A wrong weight in the middle of an in-place chain: both fail, at the same blob."""
    from caffe2keras.verify.compare import culprit

    golden = golden_layer("bn_scale")
    net = api.load(
        golden.prototxt, golden.caffemodel, api.ConvertOptions(input_shapes=golden.input_shapes)
    )
    built = build_model(net.keras)
    layer = next(la for la in built.model.layers if la.get_weights())
    weights = layer.get_weights()
    weights[0] = weights[0] * 1.01 + 0.1
    layer.set_weights(weights)
    args = (net, built.model, built.blob_layers, golden.inputs)
    streamed = verify_model(*args, tolerance=Tolerance())
    traced = verify_model_traced(*args, tolerance=Tolerance())
    assert not streamed.passed
    assert culprit(streamed.rows) == culprit(traced.rows)
    assert_same(streamed, traced)


def test_stream_holds_one_forward_pass(monkeypatch) -> None:
    """The Keras walk yields each blob once, as its node runs; the reference's values are
    dropped as the comparison advances (no dict of every blob is ever built)."""
    from caffe2keras.reference import executor

    def forbidden(*args, **kwargs):
        raise AssertionError("run_reference holds every blob")

    monkeypatch.setattr(executor, "run_reference", forbidden)
    net = api.load(TINY / "tiny.prototxt", TINY / "tiny.caffemodel")
    inputs, _ = api.make_inputs(net, api.ConvertOptions())
    built = build_model(net.keras)
    timings: dict[str, float] = {}
    report = verify_model(
        net, built.model, built.blob_layers, inputs, tolerance=Tolerance(), timings=timings
    )
    assert report.passed
    # the walk (main thread), the comparisons' waits for it and for the reference and their own
    # time (their thread), the main thread's waits for the comparisons
    assert set(timings) == {"keras", "keras_wait", "reference", "compare", "handover"}
    assert replace(report.rows[0]) == report.rows[0]


def test_keras_values_wait_only_when_asked_for_later(monkeypatch) -> None:
    """The Keras walk runs in the reference's order on a chain-like net: no Keras blob waits in
    the buffer (each is compared and dropped before the next is computed)."""
    from caffe2keras.verify import stream

    waiting: list[int] = []
    take = stream.Pull.take

    def watched(self, name):
        value = take(self, name)
        waiting.append(len(self.buffer))
        return value

    monkeypatch.setattr(stream.Pull, "take", watched)
    net = api.load(TINY / "tiny.prototxt", TINY / "tiny.caffemodel")
    inputs, _ = api.make_inputs(net, api.ConvertOptions())
    built = build_model(net.keras)
    report = verify_model(net, built.model, built.blob_layers, inputs, tolerance=Tolerance())
    assert len(waiting) == len(report.rows) > 5
    assert max(waiting) == 0
