"""Second opinions: OpenCV's dnn and pycaffe beside the numpy reference, never in the verdict."""

from __future__ import annotations

import json
import sys
import textwrap
from pathlib import Path

import numpy as np
import pytest
from bounds import SMALL_NET_BOUND, assert_within, rounding_bound
from click.testing import CliRunner

from caffe2keras import api
from caffe2keras.cli import main
from caffe2keras.errors import UsageError
from caffe2keras.frontend.phase import NetState
from caffe2keras.verify.compare import Tolerance
from caffe2keras.verify.netdef import engine_net
from caffe2keras.verify.second import EngineRun

REPO = Path(__file__).resolve().parents[2]
TINY = REPO / "fixtures" / "tiny"
PROTO, MODEL = TINY / "tiny.prototxt", TINY / "tiny.caffemodel"


def _verify(prototxt, caffemodel, engines, **kw):
    """Convert without writing anything useful; return the report."""
    opts = api.ConvertOptions(second_opinions=tuple(engines), **kw)
    net = api.load(prototxt, caffemodel, opts)
    from caffe2keras.keras_model.model import build_model
    from caffe2keras.verify.run import verify_model

    built = build_model(net.keras)
    inputs, info = api.make_inputs(net, opts)
    runners = api.second_opinion_runners(prototxt, caffemodel, net, opts)
    return verify_model(
        net,
        built.model,
        built.blob_layers,
        inputs,
        tolerance=Tolerance(),
        inputs_info=info,
        second_opinions=runners,
    )


def test_engine_net_rewrites_round_mode_for_opencv_only(tmp_path) -> None:
    proto = tmp_path / "n.prototxt"
    proto.write_text(
        textwrap.dedent(
            """
            name: "n"
            layer { name: "d" type: "Input" top: "d"
                    input_param { shape { dim: 1 dim: 2 dim: 7 dim: 7 } } }
            layer { name: "t" type: "Data" top: "t" include { phase: TRAIN } }
            layer { name: "p" type: "Pooling" bottom: "d" top: "p"
                    pooling_param { pool: MAX kernel_size: 2 stride: 2 round_mode: FLOOR } }
            layer { name: "q" type: "Pooling" bottom: "p" top: "q"
                    pooling_param { pool: AVE kernel_size: 2 stride: 2 round_mode: CEIL } }
            """
        )
    )
    net = api.load(proto, None)
    cv = engine_net(proto, net.reference, NetState(), {"d": (2, 2, 7, 7)}, for_opencv=True)
    assert [layer.name for layer in cv.layer] == ["p", "q"]  # Input and TRAIN Data gone
    assert list(cv.input) == ["d"] and list(cv.input_shape[0].dim) == [2, 2, 7, 7]
    p, q = (layer.pooling_param for layer in cv.layer)
    assert not p.HasField("round_mode") and p.HasField("ceil_mode") and not p.ceil_mode
    assert not q.HasField("round_mode") and not q.HasField("ceil_mode")  # CEIL is the default
    caffe = engine_net(proto, net.reference, NetState(), {}, for_opencv=False)
    assert caffe.layer[0].pooling_param.HasField("round_mode")  # Caffe gets the user's form
    assert list(caffe.input_shape[0].dim) == [1, 2, 7, 7]
    cv2 = pytest.importorskip("cv2")
    from caffe2keras.verify.opencv_ref import opencv_runner

    x = np.random.default_rng(0).standard_normal((2, 2, 7, 7)).astype(np.float32)
    run = opencv_runner(proto, MODEL, net.reference, NetState())({"d": x})
    assert run.error is None, run.error
    assert run.blobs["p"].shape == (2, 2, 3, 3)  # floor: OpenCV understood the rounding
    assert cv2 is not None


def test_opencv_rows_beside_numpy_and_schema(tmp_path) -> None:
    pytest.importorskip("cv2")
    import jsonschema

    report = _verify(PROTO, MODEL, ["numpy", "opencv"])
    (op,) = report.second_opinions
    assert op.name == "opencv" and op.error is None and op.engine.startswith("OpenCV 4.")
    # every layer's first top, in-place versions included (conv1/bn is BatchNorm->Scale->ReLU)
    assert {r.blob for r in op.rows} >= {"conv1", "conv1/bn@conv1/bn", "conv1/bn", "prob"}
    assert_within("opencv tiny", op.max_rel, SMALL_NET_BOUND)
    assert all(r.passed for r in op.rows)
    doc = json.loads(report.to_json())
    schema = json.loads((REPO / "caffe2keras" / "verify" / "report.schema.json").read_text())
    jsonschema.validate(doc, schema)
    assert doc["second_opinions"]["opencv"]["blobs_compared"] == len(op.rows)
    text = report.to_text()
    assert "opencv rel" in text and "second opinion opencv" in text
    md = report.to_markdown().splitlines()
    header = next(i for i, line in enumerate(md) if line.startswith("| blob |"))
    rows = [line for line in md[header + 2 :] if line.startswith("| `")]
    assert "opencv rel" in md[header]
    assert all(row.count("|") == md[header].count("|") == md[header + 1].count("|") for row in rows)


def test_opencv_known_gaps_and_failures_leave_the_verdict_alone(golden_layer) -> None:
    pytest.importorskip("cv2")
    lrn = golden_layer("lrn_across")  # k = 2: OpenCV's LRN ignores k
    report = _verify(lrn.prototxt, lrn.caffemodel, ["opencv"])
    (op,) = report.second_opinions
    assert report.passed and report.exit_code == 0
    (row,) = [r for r in op.rows if r.layer_type == "LRN"]
    assert not row.passed and "OpenCV known gap" in op.gaps[row.blob]
    assert op.max_rel == 0.0 and "known gap" in op.summary()
    argmax = golden_layer("argmax")  # a layer type OpenCV cannot create
    report = _verify(argmax.prototxt, argmax.caffemodel, ["opencv"])
    (op,) = report.second_opinions
    assert report.passed and op.error is not None and "ArgMax" in op.error
    assert "could not run" in report.to_text()


def test_missing_engines_are_usage_errors(monkeypatch) -> None:
    monkeypatch.setitem(sys.modules, "cv2", None)
    with pytest.raises(UsageError, match="opencv-python-headless"):
        _verify(PROTO, MODEL, ["opencv"])
    monkeypatch.setattr("importlib.util.find_spec", lambda name, *a: None)
    with pytest.raises(UsageError, match="pycaffe"):
        _verify(PROTO, MODEL, ["caffe"])
    result = CliRunner().invoke(
        main,
        ["convert", str(PROTO), str(MODEL), "-o", "x.h5", "--reference", "caffe"],
        catch_exceptions=False,
    )
    assert result.exit_code == 2 and "pycaffe" in result.output


FAKE_CAFFE = '''
"""A stand-in for pycaffe: our numpy reference behind pycaffe's API (tests only)."""
import os
import sys
import numpy as np
from caffe2keras import api
from caffe2keras.reference.executor import run_reference

TEST = 1
__version__ = "0.0-fake"


def set_mode_cpu():
    pass


class _Blob:
    def __init__(self):
        self.data = np.zeros(0, np.float32)

    def reshape(self, *shape):
        self.data = np.zeros(shape, np.float32)


class Net:
    def __init__(self, prototxt, caffemodel, phase):
        if os.environ.get("FAKE_CAFFE_ABORT"):
            sys.stderr.write("F1126 12:00:00 net.cpp:1] Check failed: fake failure\\n")
            sys.stderr.flush()
            os.abort()
        self._graph = api.load(prototxt, caffemodel).reference
        g = self._graph
        self.blobs = {g.caffe_name(s.name): _Blob() for s in g.inputs}
        self.blobs.update({g.caffe_name(t): _Blob() for l in g.layers for t in l.tops})
        self._layer_names = ["data_split_0"] + [l.name for l in g.layers]
        self.top_names = {l.name: [g.caffe_name(t) for t in l.tops] for l in g.layers}
        self.top_names["data_split_0"] = ["data"]
        self._values = None

    def reshape(self):
        pass

    def _forward(self, start, end):
        g = self._graph
        if self._values is None:
            feed = {g.caffe_name(s.name): self.blobs[g.caffe_name(s.name)].data for s in g.inputs}
            self._values = run_reference(g, feed, np.float32)
        if start == 0:
            return
        for top in g.layers[start - 1].tops:
            self.blobs[g.caffe_name(top)].data = np.array(self._values[top])
'''


@pytest.fixture()
def fake_pycaffe(tmp_path, monkeypatch) -> Path:
    (tmp_path / "caffe").mkdir()
    (tmp_path / "caffe" / "__init__.py").write_text(FAKE_CAFFE)
    monkeypatch.syspath_prepend(str(tmp_path))
    return tmp_path


def test_pycaffe_runs_in_a_subprocess_and_maps_every_top(fake_pycaffe) -> None:
    report = _verify(PROTO, MODEL, ["caffe"])
    (op,) = report.second_opinions
    assert op.error is None, op.error
    assert op.engine == "Caffe 0.0-fake (pycaffe, CPU)"
    assert "caffe" not in sys.modules  # only the child process imported it
    blobs = {r.blob for r in op.rows}
    assert {"conv1", "conv1/bn@conv1/bn", "conv1/bn@conv1/scale", "conv1/bn", "prob"} <= blobs
    assert_within("pycaffe tiny", op.max_rel, SMALL_NET_BOUND)  # float32 vs float64
    assert report.passed


def test_pycaffe_abort_is_reported_not_raised(fake_pycaffe, monkeypatch) -> None:
    monkeypatch.setenv("FAKE_CAFFE_ABORT", "1")
    report = _verify(PROTO, MODEL, ["caffe"])
    (op,) = report.second_opinions
    assert op.error is not None and "aborted" in op.error and "fake failure" in op.error
    assert report.passed and report.exit_code == 0


def test_second_opinion_rows_never_change_the_exit_code() -> None:
    """An engine that disagrees everywhere: its rows fail, the report does not."""
    opts = api.ConvertOptions()
    net = api.load(PROTO, MODEL, opts)
    from caffe2keras.keras_model.model import build_model
    from caffe2keras.verify.run import verify_model

    built = build_model(net.keras)
    inputs, _ = api.make_inputs(net, opts)

    def liar(feed):
        tops = [t for layer in net.reference.layers for t in layer.tops]
        return EngineRun("liar", blobs={t: np.full((2, 1), 1e9) for t in tops})

    report = verify_model(
        net,
        built.model,
        built.blob_layers,
        inputs,
        tolerance=Tolerance(),
        second_opinions={"liar": liar},
    )
    (op,) = report.second_opinions
    assert op.rows and not any(r.passed for r in op.rows)
    assert report.passed and report.exit_code == 0
    assert json.loads(report.to_json())["passed"] is True


@pytest.mark.slow
@pytest.mark.parametrize("case", ["densenet121", "squeezenet_v1.0"])
def test_opencv_agrees_with_the_reference_on_zoo_models(golden_zoo, case: str) -> None:
    """Every layer of a real net (DenseNet's fork ceil_mode, in-place chains) matched and close."""
    pytest.importorskip("cv2")
    from caffe2keras.reference.executor import run_reference
    from caffe2keras.verify.compare import rounding_noise
    from caffe2keras.verify.opencv_ref import opencv_runner
    from caffe2keras.verify.second import compare_engine

    golden = golden_zoo(case)
    opts = api.ConvertOptions(input_shapes=golden.input_shapes)
    net = api.load(golden.prototxt, golden.caffemodel, opts)
    ref = run_reference(net.reference, golden.inputs)
    noise = rounding_noise(run_reference(net.reference, golden.inputs, np.float32), ref)
    run = opencv_runner(golden.prototxt, golden.caffemodel, net.reference, NetState())
    op = compare_engine("opencv", run(golden.inputs), ref, net.reference, Tolerance(), noise)
    assert op.error is None and not op.notes, (op.error, op.notes)
    assert len(op.rows) == len(net.reference.layers)
    for row in op.rows:  # each blob within the rounding bound of its own measured noise
        bound = rounding_bound(row.noise, golden.noise_floor)
        assert_within(f"{case} opencv {row.blob}", row.max_rel, bound)
    assert all(r.passed for r in op.rows)
