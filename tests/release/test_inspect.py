"""``caffe2keras inspect``: the layer table, its JSON schema, hints, and no TensorFlow."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import jsonschema
import pytest
from click.testing import CliRunner
from conftest import SHARED, shared_or_skip
from pending import pending_in
from refusals import check_inspect_refusal

from caffe2keras.cli import main
from caffe2keras.frontend.load import LoadOptions
from caffe2keras.inspection import inspect_net, to_text
from caffe2keras.keras_model.registry import described_types

REPO = Path(__file__).resolve().parents[2]
TINY = REPO / "fixtures" / "tiny"
SCHEMA = json.loads(
    (REPO / "caffe2keras" / "inspection" / "inspect.schema.json").read_text(encoding="utf-8")
)
DENSENET = SHARED / "golden" / "zoo" / "densenet121" / "net.prototxt"


def run_cli(*args: str):
    return CliRunner().invoke(main, ["inspect", *args], catch_exceptions=False)


def test_every_registered_type_has_a_keras_description() -> None:
    from caffe2keras.ir.shapes import shape_types
    from caffe2keras.keras_model.registry import builder_types

    assert (builder_types() | shape_types()) <= described_types()


def test_densenet121_table_fusions_and_schema() -> None:
    shared_or_skip()
    result = run_cli(str(DENSENET), "--json")
    assert result.exit_code == 0, result.output
    doc = json.loads(result.output)
    jsonschema.validate(doc, SCHEMA)
    assert doc["totals"]["layers"] == 547 and doc["totals"]["fusions"] == 121
    assert doc["totals"]["by_role"]["absorbed"] == 121 and doc["unsupported"] == {}
    rows = {row["name"]: row for row in doc["layers"]}
    assert rows["conv1"]["shapes"] == [[1, 64, 112, 112]] and rows["conv1"]["parameters"] == 9408
    assert rows["conv1/bn"]["role"] == "fused" and rows["conv1/bn"]["fused_with"] == ["conv1/scale"]
    assert rows["conv1/scale"]["keras"].startswith("absorbed into 'conv1/bn'")
    assert rows["fc6"]["shapes"] == [[1, 1000, 1, 1]]
    assert rows["pool5"]["keras"] == "GlobalAveragePooling2D"
    assert doc["inputs"] == [{"name": "data", "shape": [1, 3, 224, 224]}]


def test_densenet121_text_table_totals() -> None:
    """Speed is measured by benchmarks/bench_inspect.py (issue 6: <= 0.3 s), not here."""
    shared_or_skip()
    text = to_text(inspect_net(DENSENET))
    assert "547 Caffe layers -> 426 converter nodes (121 BatchNorm+Scale pairs fused)" in text
    assert "by role: 305 converted, 121 fused, 121 absorbed" in text


@pytest.mark.parametrize("with_weights", [False, True])
def test_inspect_reports_the_fusions_convert_makes(with_weights: bool) -> None:
    from caffe2keras import api

    model = TINY / "tiny.caffemodel"
    found = inspect_net(TINY / "tiny.prototxt", model if with_weights else None)
    fused = {row.name: row.fused_with for row in found.layers if row.role == "fused"}
    net = api.load(TINY / "tiny.prototxt", model)
    nodes = [n for n in net.keras.layers if n.type == "BatchNormScale"]
    assert fused == {n.name: tuple(s for s in n.sources if s != n.name) for n in nodes}
    assert len(fused) >= 1


def test_inspect_never_imports_tensorflow() -> None:
    code = (
        "import sys\nfrom click.testing import CliRunner\nfrom caffe2keras.cli import main\n"
        f"r = CliRunner().invoke(main, ['inspect', {str(TINY / 'tiny.prototxt')!r}, "
        f"{str(TINY / 'tiny.caffemodel')!r}])\n"
        "assert r.exit_code == 0, r.output\n"
        "bad = [m for m in ('tensorflow', 'keras', 'jax', 'torch') if m in sys.modules]\n"
        "assert not bad, bad\n"
    )
    subprocess.run([sys.executable, "-c", code], check=True)


def test_with_caffemodel_counts_match_the_blobs() -> None:
    found = inspect_net(TINY / "tiny.prototxt", TINY / "tiny.caffemodel")
    rows = {row.name: row for row in found.layers}
    assert rows["conv1"].parameters == 8 * 3 * 3 * 3
    assert rows["fc"].parameters == 10 * 12 * 4 * 4 + 10
    assert rows["conv1/bn"].role == "fused" and rows["conv1/scale"].role == "absorbed"
    assert not any("no caffemodel" in note for note in found.notes)
    jsonschema.validate(found.to_dict(), SCHEMA)


def test_a_caffemodel_of_another_net_is_an_input_error(tmp_path) -> None:
    shared_or_skip()
    result = run_cli(
        str(TINY / "tiny.prototxt"), str(SHARED / "zoo" / "lenet_iter_10000.caffemodel")
    )
    assert result.exit_code == 3, result.output


def test_comment_and_transform_param_hints() -> None:
    shared_or_skip()
    mobilenet = inspect_net(SHARED / "zoo" / "mobilenet_v2.prototxt").to_dict()
    hints = {h["key"]: h["value"] for h in mobilenet["preprocessing"]}
    assert hints == {
        "scale": 0.017,
        "mirror": False,
        "crop_size": 224,
        "mean_value": [103.94, 116.78, 123.68],
    }
    options = LoadOptions(input_shapes={"data": (100, 1, 28, 28)})
    train = inspect_net(SHARED / "zoo" / "mnist_autoencoder.prototxt", None, options).to_dict()
    jsonschema.validate(train, SCHEMA)
    found = [h for h in train["preprocessing"] if h["source"] == "transform_param"]
    assert found and all(
        h["key"] == "scale" and h["value"] == pytest.approx(1 / 255) for h in found
    )


def test_repeated_mean_value_comments_merge(tmp_path) -> None:
    text = (TINY / "tiny.prototxt").read_text()
    proto = tmp_path / "n.prototxt"
    named = text.replace('name: "tiny"', 'name: "t#y scale: 9" # scale: 3, then scale = 2', 1)
    proto.write_text(
        '# mean_value: 104\n# mean_value: 117\n# mean_value: 123\n# mean_file: "m.binaryproto"\n'
        + named
    )
    hints = [h.to_dict() for h in inspect_net(proto).hints]
    assert hints[0] == {
        "source": "comment",
        "where": "line 1",
        "key": "mean_value",
        "value": [104.0, 117.0, 123.0],
    }
    assert hints[1]["value"] == "m.binaryproto"
    assert [(h["key"], h["value"], h["where"]) for h in hints[2:]] == [
        ("scale", 3.0, "line 5"),
        ("scale", 2.0, "line 5"),
    ]


def test_unsupported_types_are_listed_with_exit_code_4(tmp_path) -> None:
    proto = tmp_path / "u.prototxt"
    proto.write_text(
        'input: "data" input_shape { dim: 1 dim: 3 dim: 8 dim: 8 }\n'
        'layer { name: "a" type: "Frobnicate" bottom: "data" top: "a" }\n'
        'layer { name: "d" type: "Dropout" bottom: "a" top: "b" }\n'
        'layer { name: "p" type: "Python" bottom: "b" top: "c" }\n'
    )
    result = run_cli(str(proto), "--json")
    assert result.exit_code == 4
    doc = json.loads(result.output)
    jsonschema.validate(doc, SCHEMA)
    assert doc["unsupported"] == {"Frobnicate": ["a"], "Python": ["p"]}
    assert [r["role"] for r in doc["layers"]] == ["unsupported", "converted", "unsupported"]
    text = run_cli(str(proto)).output
    assert "UNSUPPORTED Frobnicate: a" in text and "UNSUPPORTED Python: p" in text


def test_removed_layers_and_phase(tmp_path) -> None:
    proto = tmp_path / "d.prototxt"
    proto.write_text(
        'input: "data" input_shape { dim: 2 dim: 4 }\n'
        'layer { name: "fc" type: "InnerProduct" bottom: "data" top: "fc"\n'
        "  inner_product_param { num_output: 3 } }\n"
        'layer { name: "drop" type: "Dropout" bottom: "fc" top: "fc" }\n'
        'layer { name: "s" type: "Split" bottom: "fc" top: "s1" top: "s2" }\n'
        'layer { name: "sum" type: "Eltwise" bottom: "s1" bottom: "s2" top: "sum" }\n'
    )
    found = inspect_net(proto)
    roles = {r.name: (r.role, r.parameters) for r in found.layers}
    assert roles == {
        "fc": ("converted", 15),
        "drop": ("removed", 0),
        "s": ("removed", 0),
        "sum": ("converted", 0),
    }
    assert found.outputs == ("sum",)
    jsonschema.validate(found.to_dict(), SCHEMA)


def test_nvcaffe_batchnorm_shows_its_inserted_scale_as_absorbed(tmp_path) -> None:
    proto = tmp_path / "nv.prototxt"
    proto.write_text(
        'input: "data" input_shape { dim: 1 dim: 4 dim: 5 dim: 5 }\n'
        'layer { name: "bn" type: "BatchNorm" bottom: "data" top: "bn"\n'
        "  batch_norm_param { scale_bias: true } }\n"
        'layer { name: "relu" type: "ReLU" bottom: "bn" top: "bn" }\n'
    )
    rows = {r.name: r for r in inspect_net(proto).layers}
    assert rows["bn"].role == "fused" and rows["bn"].fused_with == ("bn/scale_bias",)
    assert rows["bn/scale_bias"].role == "absorbed"
    assert rows["bn/scale_bias"].tops == ("bn",) and rows["relu"].bottoms == ("bn",)


DATA_LAYER_SHAPES = {
    "mnist_autoencoder": {"data": (100, 1, 28, 28)},
    "cifar10_full_sigmoid_train_test_bn": {"data": (1000, 3, 32, 32)},
}


def _shared_prototxts() -> list[Path]:
    roots = [SHARED / "zoo", SHARED / "golden"]
    return sorted(p for root in roots if root.is_dir() for p in root.rglob("*.prototxt"))


@pytest.mark.parametrize("path", _shared_prototxts(), ids=lambda p: f"{p.parent.name}/{p.name}")
def test_every_shared_prototxt_inspects_to_a_valid_document(path: Path, expected_refusal) -> None:
    """Types that open issues add are listed as unsupported, exactly (``pending.py``)."""
    model = path.with_name("weights.caffemodel")
    shapes = DATA_LAYER_SHAPES.get(path.stem, {})  # Data layers: the shape is in the database
    options = LoadOptions(input_shapes=shapes)
    found = inspect_net(path, model if model.is_file() else None, options)
    doc = found.to_dict()
    jsonschema.validate(doc, SCHEMA)
    pending = pending_in(path)
    check_inspect_refusal(doc, found.exit_code, pending)
    if pending.types:  # no shapes are inferred in a net with unsupported layers
        expected_refusal(f"inspect {path.parent.name}/{path.name}", pending)
        return
    assert all(row["shapes"] for row in doc["layers"] if row["role"] != "removed")
