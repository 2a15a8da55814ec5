"""Train/test nets from BVLC's examples convert in the TEST phase: Data layers become inputs
(shapes from --input-shape), labels read only by losses are left out, losses and accuracy are
dropped with notes, BatchNorm uses its stored statistics, and Keras matches the numpy reference.
mnist_autoencoder's TEST Data layers need a stage; with none given, one still supplies 'data'."""

from __future__ import annotations

from pathlib import Path

import pytest
from click.testing import CliRunner
from conftest import shared_or_skip
from legacy_nets import make_caffemodel

from caffe2keras import api
from caffe2keras.cli import main
from caffe2keras.errors import UnsupportedParameterError, ValidationError


def _bn(name: str, channels: int) -> dict:
    return {"name": name, "type": "BatchNorm", "shapes": [[channels], [channels], [1]]}


# The learned layers of each net, shapes worked out by hand from the prototxts (32x32 CIFAR
# input: conv pad 2 keeps 32; pools 3/2 with ceil give 16, 8, 4; ip1 sees 64*4*4).
CIFAR_BN = {
    "seed": 11,
    "layers": [
        {"name": "conv1", "type": "Convolution", "shapes": [[32, 3, 5, 5]]},
        _bn("bn1", 32),
        {"name": "conv2", "type": "Convolution", "shapes": [[32, 32, 5, 5]]},
        _bn("bn2", 32),
        {"name": "conv3", "type": "Convolution", "shapes": [[64, 32, 5, 5]]},
        _bn("bn3", 64),
        {"name": "ip1", "type": "InnerProduct", "shapes": [[10, 1024], [10]]},
    ],
}
_SIZES = [784, 1000, 500, 250, 30]
MNIST_AE = {
    "seed": 12,
    "layers": [
        {"name": f"encode{i + 1}", "type": "InnerProduct", "shapes": [[o, n], [o]]}
        for i, (n, o) in enumerate(zip(_SIZES, _SIZES[1:]))
    ]
    + [
        {"name": f"decode{i + 1}", "type": "InnerProduct", "shapes": [[n, o], [n]]}
        for i, (n, o) in enumerate(zip(_SIZES, _SIZES[1:]))
    ],
}


def _files(name: str, manifest: dict, tmp_path: Path) -> tuple[Path, Path]:
    proto = shared_or_skip() / "zoo" / f"{name}.prototxt"
    model = tmp_path / f"{name}.caffemodel"
    model.write_bytes(make_caffemodel().build(manifest))
    return proto, model


def test_cifar10_bn_train_test_net_converts_and_verifies(tmp_path) -> None:
    proto, model = _files("cifar10_full_sigmoid_train_test_bn", CIFAR_BN, tmp_path)
    out = tmp_path / "cifar.h5"
    options = api.ConvertOptions(input_shapes={"data": (2, 3, 32, 32)}, phase="TEST")
    result = api.convert(proto, model, out, options)
    assert result.exit_code == 0 and result.written and out.exists()
    assert result.report is not None and result.report.passed
    net = api.load(proto, model, options)
    assert [(s.name, s.shape) for s in net.reference.inputs] == [("data", (2, 3, 32, 32))]
    assert net.reference.outputs == ("ip1",)
    assert "label" not in {b for layer in net.reference.layers for b in layer.bottoms}
    kinds = [layer.type for layer in net.reference.layers]
    assert kinds.count("BatchNorm") == 3 and "Accuracy" not in kinds
    assert all(layer.params.use_global_stats for layer in net.reference.layers
               if layer.type == "BatchNorm")  # fmt: skip
    notes = "\n".join(result.notes)
    assert "dropped training-only layer 'accuracy' (Accuracy)" in notes
    assert "dropped training-only layer 'loss' (SoftmaxWithLoss)" in notes
    assert "data layer 'cifar' (Data) became input 'data'" in notes and "'label'" in notes


def test_cifar10_bn_without_input_shape_says_what_is_missing(tmp_path) -> None:
    proto, model = _files("cifar10_full_sigmoid_train_test_bn", CIFAR_BN, tmp_path)
    with pytest.raises(ValidationError) as info:
        api.load(proto, model, api.ConvertOptions())
    message = str(info.value)
    assert "Data layer 'cifar'" in message and "--input-shape data=1000,?,?,?" in message
    assert "database" in message


def test_cifar10_bn_in_the_train_phase_refuses_batch_statistics(tmp_path) -> None:
    proto, model = _files("cifar10_full_sigmoid_train_test_bn", CIFAR_BN, tmp_path)
    options = api.ConvertOptions(input_shapes={"data": (2, 3, 32, 32)}, phase="TRAIN")
    net = api.load(proto, model, options)  # TRAIN: BatchNorm defaults to batch statistics
    assert not any(layer.params.use_global_stats for layer in net.reference.layers
                   if layer.type == "BatchNorm")  # fmt: skip
    with pytest.raises(UnsupportedParameterError, match="use_global_stats"):
        api.convert(proto, model, tmp_path / "o.h5", options)


def test_mnist_autoencoder_converts_without_a_stage(tmp_path) -> None:
    proto, model = _files("mnist_autoencoder", MNIST_AE, tmp_path)
    out = tmp_path / "ae.keras"
    result = api.convert(
        proto, model, out, api.ConvertOptions(input_shapes={"data": (2, 1, 28, 28)})
    )
    assert result.exit_code == 0 and result.written
    notes = "\n".join(result.notes)
    assert "no --stage given" in notes and "--stage test-on-train" in notes
    assert "--stage test-on-test" in notes
    assert notes.count("dropped training-only layer 'loss'") == 2
    net = api.load(proto, model, api.ConvertOptions(input_shapes={"data": (2, 1, 28, 28)}))
    assert set(net.reference.outputs) == {"decode1neuron", "flatdata"}


@pytest.mark.parametrize("stage", ["test-on-train", "test-on-test"])
def test_mnist_autoencoder_with_either_stage(stage: str, tmp_path) -> None:
    proto, model = _files("mnist_autoencoder", MNIST_AE, tmp_path)
    options = api.ConvertOptions(input_shapes={"data": (2, 1, 28, 28)}, stages=(stage,))
    net = api.load(proto, model, options)
    assert not any("no --stage" in n for n in net.reference.notes)
    assert [s.name for s in net.reference.inputs] == ["data"]


def test_mnist_autoencoder_with_an_unknown_stage_lists_the_stages(tmp_path) -> None:
    proto, model = _files("mnist_autoencoder", MNIST_AE, tmp_path)
    options = api.ConvertOptions(input_shapes={"data": (2, 1, 28, 28)}, stages=("deploy",))
    with pytest.raises(ValidationError) as info:
        api.load(proto, model, options)
    message = str(info.value)
    assert "layer 'flatdata'" in message and "'data'" in message
    assert "'test-on-test', 'test-on-train'" in message and "--stage" in message


def test_cli_prints_the_notes_and_verifies(tmp_path) -> None:
    proto, model = _files("mnist_autoencoder", MNIST_AE, tmp_path)
    out = tmp_path / "ae.h5"
    args = ["convert", str(proto), str(model), "-o", str(out), "--phase", "TEST"]
    result = CliRunner().invoke(main, [*args, "--input-shape", "data=2,1,28,28"])
    assert result.exit_code == 0, result.output
    assert "note: no --stage given" in result.output and "EQUIVALENT" in result.output
    verify = ["verify", str(proto), str(model), str(out), "--input-shape", "data=2,1,28,28"]
    assert CliRunner().invoke(main, verify).exit_code == 0
