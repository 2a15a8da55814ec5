"""The static SELECT_TF_OPS table (caffe2keras/export/select_ops.py, read by ``inspect`` without
TensorFlow) is what TFLite's converter actually does: each layer golden is converted to TFLite and
the Flex operators in the file must be exactly the union of the table's claims for its layers.

To keep the CI budget, the layer goldens are taken one per new (layer type, claimed ops) pair, in
name order, chosen from the claims alone (every layer type and every claim variant, e.g. LRN's
two regions and LSTM with and without ``expose_hidden``, is converted at least once); Caffe's RNN
(no golden) with and without exposed states; the zoo models in test_zoo_export.py and
benchmarks/export_zoo.py.
"""

from __future__ import annotations

import warnings
from pathlib import Path

import numpy as np
import pytest
from click.testing import CliRunner
from recurrent.nets import lstm_blobs, recurrent_net

from caffe2keras import api
from caffe2keras.export.select_ops import claimed, layer_flex_ops
from caffe2keras.outputs.tflite import tflite_bytes

SHARED = Path(__file__).resolve().parents[3] / "shared"


def file_flex_ops(model, scratch: Path) -> set[str]:
    import tensorflow as tf

    content = tflite_bytes(model, scratch)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        interpreter = tf.lite.Interpreter(model_content=content)
    return {
        op["op_name"] for op in interpreter._get_ops_details() if op["op_name"].startswith("Flex")
    }


def claimed_ops(net) -> set[str]:
    return {op for entry in claimed(net.keras) for op in entry["ops"]}


def layer_cases() -> list[tuple[str, object]]:
    """One layer golden per new (type, claimed ops) pair, by the static claims alone."""
    root = SHARED / "golden" / "layers"
    if not root.is_dir():
        pytest.skip("../shared is not there")
    seen, picked = set(), []
    for case in sorted(p.name for p in root.iterdir()):
        net = api.load(root / case / "net.prototxt", root / case / "weights.caffemodel")
        keys = {(layer.type, layer_flex_ops(layer)) for layer in net.keras.layers}
        if keys - seen:
            seen |= keys
            picked.append((case, net))
    return picked


@pytest.mark.slow
def test_static_claims_match_the_tflite_files(tmp_path: Path) -> None:
    from caffe2keras.keras_model.model import build_model

    cases = layer_cases()
    claims = [case for case, net in cases if claimed_ops(net)]
    assert {"lrn_across", "lstm", "lstm_expose"} <= set(claims)  # the claims are exercised
    wrong = {}
    for case, net in cases:
        found = file_flex_ops(build_model(net.keras).model, tmp_path)
        if found != claimed_ops(net):
            wrong[case] = (sorted(found), sorted(claimed_ops(net)))
    assert not wrong, f"file Flex ops != static claim: {wrong}"


@pytest.mark.slow
@pytest.mark.parametrize("expose", [False, True])
def test_rnn_claims_match_the_tflite_file(tmp_path: Path, expose: bool) -> None:
    from caffe2keras.keras_model.model import build_model

    blobs = lstm_blobs(np.random.default_rng(5), 3, 4, rnn=True)
    proto, model = recurrent_net(tmp_path, 5, 2, 3, 4, blobs, kind="RNN", expose=expose)
    shapes = {"data": (5, 2, 3), "cont": (5, 2)} | ({"h0": (1, 2, 4)} if expose else {})
    net = api.load(proto, model, api.ConvertOptions(input_shapes=shapes))
    assert claimed_ops(net)
    assert file_flex_ops(build_model(net.keras).model, tmp_path) == claimed_ops(net)


def test_inspect_lists_select_tf_ops_per_layer() -> None:
    from caffe2keras.cli import main

    case = SHARED / "golden" / "layers" / "lrn_across" / "net.prototxt"
    if not case.exists():
        pytest.skip("../shared is not there")
    result = CliRunner().invoke(main, ["inspect", str(case)])
    assert result.exit_code == 0, result.output
    assert "TFLite: layer 'lrn' (LRN) needs SELECT_TF_OPS: FlexAvgPool3D" in result.output
    result = CliRunner().invoke(
        main, ["inspect", str(case.parent.parent / "lrn_within" / "net.prototxt")]
    )
    assert "SELECT_TF_OPS" not in result.output
