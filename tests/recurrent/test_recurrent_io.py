"""How recurrent nets meet the user: ``inspect`` says which inputs are time-major, verification
draws valid cont/ids and takes ``--input`` arrays in Caffe's time-major order."""

from __future__ import annotations

import numpy as np
from click.testing import CliRunner
from conftest import shared_or_skip

from caffe2keras.cli import main
from caffe2keras.frontend.load import LoadOptions
from caffe2keras.frontend.net import load_net
from caffe2keras.verify.run import random_inputs
from recurrent.nets import lstm_blobs, recurrent_net
from recurrent.test_embed_lrcn import lrcn_net


def test_inspect_names_the_time_major_inputs_and_their_keras_layout() -> None:
    proto = shared_or_skip() / "golden" / "layers" / "lstm_expose" / "net.prototxt"
    result = CliRunner().invoke(main, ["inspect", str(proto)])
    assert result.exit_code == 0, result.output
    lines = result.output.splitlines()
    assert any(line.startswith("input data: 4x2x3 (T, N, ...) time-major") for line in lines)
    assert any("batch-major (N, T, ...)" in line for line in lines if "input cont" in line)
    assert any("takes it as (N, H)" in line for line in lines if line.startswith("input h0"))
    assert "| CaffeLSTM" in result.output or "CaffeLSTM" in result.output


def test_inspect_notes_a_layer_the_recurrent_layout_refuses(tmp_path) -> None:
    rng = np.random.default_rng(0)
    proto, _ = recurrent_net(tmp_path, 3, 2, 3, 4, lstm_blobs(rng, 3, 4))
    proto.write_text(
        proto.read_text() + 'layer { name: "flat" type: "Reshape" bottom: "out" top: "flat" '
        "reshape_param { shape { dim: 0 dim: -1 } } }\n"
    )
    result = CliRunner().invoke(main, ["inspect", str(proto)])
    assert result.exit_code == 0, result.output
    assert "convert will refuse: layer 'flat', field 'bottom'" in result.output


def test_random_inputs_hold_valid_cont_and_ids(tmp_path) -> None:
    proto, model = lrcn_net(tmp_path)
    graph = load_net(proto, model, LoadOptions()).reference
    inputs = random_inputs(graph, seed=3, batch=4)
    ids, cont = inputs["ids"], inputs["cont"]
    assert ids.shape == cont.shape == (5, 4)  # time-major, the batch on axis 1
    assert np.array_equal(ids, np.floor(ids)) and ids.min() >= 0 and ids.max() < 12
    assert set(np.unique(cont)) <= {0.0, 1.0} and not cont[0].any()


def test_input_arrays_are_taken_time_major(tmp_path) -> None:
    proto, model = lrcn_net(tmp_path)
    ids = np.array([[1, 2, 3], [4, 5, 6], [7, 8, 9], [10, 11, 0], [1, 1, 1]], np.float32)
    cont = np.ones((5, 3), np.float32)
    cont[0] = 0
    cont[2, 1] = 0
    np.save(tmp_path / "ids.npy", ids)
    np.save(tmp_path / "cont.npy", cont)
    args = ["convert", str(proto), str(model), "-o", str(tmp_path / "m.h5")]
    args += ["--input", f"ids={tmp_path / 'ids.npy'}", "--input", f"cont={tmp_path / 'cont.npy'}"]
    result = CliRunner().invoke(main, args)
    assert result.exit_code == 0, result.output
    np.save(tmp_path / "cont.npy", cont.T)  # batch-major is not what --input takes
    result = CliRunner().invoke(main, args)
    assert result.exit_code != 0
    assert "expects (5, N)" in result.output
