"""Every data-source layer becomes a model input with the shape its params determine; what the
params leave open must come from --input-shape, and the message says which dimensions."""

from __future__ import annotations

import numpy as np
import pytest
from netfiles import write_net

from caffe2keras.errors import UsageError, ValidationError
from caffe2keras.frontend.load import LoadOptions
from caffe2keras.frontend.net import load_net
from caffe2keras.frontend.phase import NetState
from caffe2keras.reference import run_reference

SIGMOID = 'layer { name: "s" type: "Sigmoid" bottom: "data" top: "s" }\n'


def _load(tmp_path, text: str, **shapes: tuple[int, ...]):
    proto, model = write_net(tmp_path, text)
    return load_net(proto, model, LoadOptions(input_shapes=shapes))


@pytest.mark.parametrize(
    "layer, shape",
    [
        ('type: "MemoryData" memory_data_param { batch_size: 4 channels: 3 height: 5 width: 6 }',
         (4, 3, 5, 6)),
        ('type: "ImageData" image_data_param { batch_size: 2 new_height: 7 new_width: 9 }',
         (2, 3, 7, 9)),
        ('type: "ImageData" image_data_param { batch_size: 2 is_color: false } '
         "transform_param { crop_size: 8 }", (2, 1, 8, 8)),
        ('type: "DummyData" dummy_data_param { shape { dim: 3 dim: 2 dim: 4 dim: 4 } }',
         (3, 2, 4, 4)),
        ('type: "DummyData" dummy_data_param { num: 2 channels: 5 height: 1 width: 3 }',
         (2, 5, 1, 3)),
    ],
)  # fmt: skip
def test_shape_from_the_layer_params(tmp_path, layer: str, shape: tuple[int, ...]) -> None:
    net = _load(tmp_path, f'layer {{ name: "src" {layer} top: "data" top: "label" }}\n' + SIGMOID)
    assert [(s.name, s.shape) for s in net.reference.inputs] == [("data", shape)]
    assert "became input 'data'" in net.reference.notes[0]
    assert "top 'label' is read by no kept layer" in net.reference.notes[0]


@pytest.mark.parametrize(
    "layer, hint",
    [
        ('type: "Data" data_param { batch_size: 8 } transform_param { crop_size: 4 }',
         "data=8,?,4,4"),
        ('type: "WindowData" window_data_param { batch_size: 8 } transform_param { crop_size: 4 }',
         "data=8,?,4,4"),
        ('type: "HDF5Data" hdf5_data_param { batch_size: 8 }', "data=N,C,H,W"),
        ('type: "ImageData" image_data_param { batch_size: 8 }', "data=8,3,?,?"),
    ],
)  # fmt: skip
def test_open_dimensions_need_input_shape(tmp_path, layer: str, hint: str) -> None:
    text = f'layer {{ name: "src" {layer} top: "data" top: "label" }}\n' + SIGMOID
    with pytest.raises(ValidationError, match=f"--input-shape {hint}".replace("?", r"\?")):
        _load(tmp_path, text)
    net = _load(tmp_path, text, data=(2, 3, 4, 4))
    assert [(s.name, s.shape) for s in net.reference.inputs] == [("data", (2, 3, 4, 4))]


def test_a_consumed_label_becomes_an_input_of_one_value_per_item(tmp_path) -> None:
    text = (
        'layer { name: "src" type: "MemoryData" top: "data" top: "label" '
        "memory_data_param { batch_size: 2 channels: 3 height: 1 width: 1 } }\n"
        'layer { name: "f" type: "Flatten" bottom: "data" top: "f" }\n'
        'layer { name: "r" type: "Reshape" bottom: "label" top: "r" '
        "reshape_param { shape { dim: 0 dim: 1 } } }\n"
        'layer { name: "c" type: "Concat" bottom: "f" bottom: "r" top: "c" }\n'
    )
    net = _load(tmp_path, text)
    assert [(s.name, s.shape) for s in net.reference.inputs] == [
        ("data", (2, 3, 1, 1)),
        ("label", (2,)),
    ]
    x = {"data": np.ones((2, 3, 1, 1), np.float32), "label": np.array([5.0, 7.0], np.float32)}
    out = run_reference(net.reference, x)["c"]
    np.testing.assert_array_equal(out[:, 3], [5.0, 7.0])


def test_window_data_needs_a_crop_size(tmp_path) -> None:
    text = 'layer { name: "w" type: "WindowData" top: "data" top: "label" }\n' + SIGMOID
    with pytest.raises(ValidationError, match="crop_size") as info:
        _load(tmp_path, text)
    assert info.value.layer == "w"


def test_data_layer_with_three_tops_is_invalid(tmp_path) -> None:
    text = 'layer { name: "d" type: "Data" top: "data" top: "label" top: "x" }\n' + SIGMOID
    with pytest.raises(ValidationError, match="1 or 2 tops"):
        _load(tmp_path, text)


def test_input_shape_for_a_name_that_is_no_input(tmp_path) -> None:
    text = (
        'layer { name: "src" type: "DummyData" top: "data" '
        "dummy_data_param { shape { dim: 1 dim: 2 } } }\n" + SIGMOID
    )
    with pytest.raises(UsageError, match="inputs: data"):
        _load(tmp_path, text, label=(1,))


def test_net_state_stages_in_the_file_add_to_the_given_ones(tmp_path) -> None:
    text = (
        'state { stage: "deploy" }\n'
        'layer { name: "in" type: "Input" top: "data" input_param { shape { dim: 1 dim: 2 } } }\n'
        'layer { name: "a" type: "Sigmoid" bottom: "data" top: "a" include { stage: "deploy" } }\n'
        'layer { name: "b" type: "TanH" bottom: "data" top: "b" include { stage: "extra" } }\n'
    )
    assert [la.name for la in _load(tmp_path, text).reference.layers] == ["a"]
    proto, model = write_net(tmp_path, text)
    both = load_net(proto, model, LoadOptions(state=NetState(stages=("extra",))))
    assert [la.name for la in both.reference.layers] == ["a", "b"]
