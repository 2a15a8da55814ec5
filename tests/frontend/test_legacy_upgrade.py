"""The V0 and V1 upgrades follow Caffe's upgrade_proto.cpp: V0 padding layers fold into the next
conv/pool, flat V0 fields move into their params, V1 ``param``/``blobs_lr`` become ParamSpecs,
V1-era transformation fields move into transform_param; what Caffe would drop is refused."""

from __future__ import annotations

import tempfile
from pathlib import Path

import numpy as np
import pytest
from bounds import assert_within, rel_linf, rounding_bound, spreads
from google.protobuf import text_format
from keras_helpers import convert_case, keras_blobs
from netfiles import write_net

from caffe2keras._proto import caffe_pb2
from caffe2keras.errors import ValidationError
from caffe2keras.frontend.load import LoadOptions, read_prototxt
from caffe2keras.frontend.net import load_net
from caffe2keras.frontend.upgrade import upgrade_net
from caffe2keras.reference import run_reference

V0_NET = """name: "v0net"
input: "data"
input_dim: 2 input_dim: 3 input_dim: 9 input_dim: 11
layers { layer { name: "pad1" type: "padding" pad: 2 } bottom: "data" top: "pad1" }
layers { layer { name: "conv1" type: "conv" num_output: 4 kernelsize: 3 stride: 2
                 weight_filler { type: "gaussian" } } bottom: "pad1" top: "conv1" }
layers { layer { name: "relu1" type: "relu" } bottom: "conv1" top: "conv1" }
layers { layer { name: "pad2" type: "padding" pad: 1 } bottom: "conv1" top: "pad2" }
layers { layer { name: "pool1" type: "pool" pool: AVE kernelsize: 3 stride: 2 }
         bottom: "pad2" top: "pool1" }
layers { layer { name: "norm1" type: "lrn" local_size: 3 alpha: 0.5 beta: 0.75 k: 2 }
         bottom: "pool1" top: "norm1" }
layers { layer { name: "fc" type: "innerproduct" num_output: 5 biasterm: true }
         bottom: "norm1" top: "fc" }
layers { layer { name: "prob" type: "softmax" } bottom: "fc" top: "prob" }
"""
V2_NET = """name: "v0net"
layer { name: "data" type: "Input" top: "data"
        input_param { shape { dim: 2 dim: 3 dim: 9 dim: 11 } } }
layer { name: "conv1" type: "Convolution" bottom: "data" top: "conv1"
        convolution_param { num_output: 4 kernel_size: 3 stride: 2 pad: 2 } }
layer { name: "relu1" type: "ReLU" bottom: "conv1" top: "conv1" }
layer { name: "pool1" type: "Pooling" bottom: "conv1" top: "pool1"
        pooling_param { pool: AVE kernel_size: 3 stride: 2 pad: 1 } }
layer { name: "norm1" type: "LRN" bottom: "pool1" top: "norm1"
        lrn_param { local_size: 3 alpha: 0.5 beta: 0.75 k: 2 } }
layer { name: "fc" type: "InnerProduct" bottom: "norm1" top: "fc"
        inner_product_param { num_output: 5 } }
layer { name: "prob" type: "Softmax" bottom: "fc" top: "prob" }
"""


def _v0_caffemodel(blobs: dict[str, list[np.ndarray]]) -> bytes:
    """A V0 caffemodel: ``layers { layer { name blobs } }`` with legacy num/channels/h/w dims."""
    net = caffe_pb2.NetParameter(name="v0net")
    for name, arrays in blobs.items():
        v0 = net.layers.add().layer
        v0.name = name
        for arr in arrays:
            blob = v0.blobs.add()
            dims = (1,) * (4 - arr.ndim) + arr.shape
            blob.num, blob.channels, blob.height, blob.width = dims
            blob.data.extend(arr.ravel().tolist())
    return net.SerializeToString()


def test_v0_net_with_padding_layers_equals_its_v2_form(tmp_path) -> None:
    rng = np.random.default_rng(0)
    # conv: 9x11 padded by 2 -> (13-3)//2+1 = 6, (15-3)//2+1 = 7; pool: ceil((6+2-3)/2)+1 = 4, 4
    blobs = {
        "conv1": [rng.normal(size=(4, 3, 3, 3)), rng.normal(size=4)],
        "fc": [rng.normal(size=(5, 64)), rng.normal(size=5)],
    }
    blobs = {k: [a.astype(np.float32) for a in v] for k, v in blobs.items()}
    v2_proto, v2_model = write_net(tmp_path, V2_NET, blobs)
    v0_proto, v0_model = tmp_path / "v0.prototxt", tmp_path / "v0.caffemodel"
    v0_proto.write_text(V0_NET)
    v0_model.write_bytes(_v0_caffemodel(blobs))
    net = read_prototxt(v0_proto)
    assert [layer.type for layer in net.layer] == [
        "Convolution", "ReLU", "Pooling", "LRN", "InnerProduct", "Softmax"
    ]  # fmt: skip
    assert list(net.layer[0].bottom) == ["data"] and list(net.layer[0].convolution_param.pad) == [2]
    assert net.layer[2].pooling_param.pad == 1 and list(net.layer[2].bottom) == ["conv1"]
    shapes = {"data": (2, 3, 9, 11)}
    net0, built0 = convert_case(v0_proto, v0_model, shapes)
    net2, built2 = convert_case(v2_proto, v2_model, shapes)
    x = {"data": rng.normal(size=(2, 3, 9, 11)).astype(np.float32)}
    got0 = keras_blobs(built0.model, built0, net0, x)
    got2 = keras_blobs(built2.model, built2, net2, x)
    ref = run_reference(net0.reference, x)
    for blob in ("conv1", "pool1", "norm1", "fc", "prob"):
        np.testing.assert_array_equal(got0[blob], got2[blob])
    spread, _, _ = spreads(net0.reference, x, ["prob"])
    assert_within("v0 prob", rel_linf(got0["prob"], ref["prob"]), rounding_bound(spread["prob"]))


def _upgraded(text: str):
    """The V2 NetParameter of a prototxt text (written to a temporary file and read back)."""
    with tempfile.TemporaryDirectory() as d:
        path = Path(d) / "net.prototxt"
        path.write_text(text)
        return read_prototxt(path)


def test_v0_data_layer_fields_move_to_their_params() -> None:
    net = _upgraded(
        'layers { layer { name: "d" type: "data" source: "db" batchsize: 4 cropsize: 9 '
        'meanfile: "m" mirror: true scale: 0.5 } top: "data" top: "label" }'
    )
    (d,) = net.layer
    assert d.type == "Data" and d.data_param.source == "db" and d.data_param.batch_size == 4
    t = d.transform_param
    assert (t.crop_size, t.mean_file, t.mirror, t.scale) == (9, "m", True, 0.5)


@pytest.mark.parametrize(
    "v0, field", [('type: "relu" num_output: 3', "num_output"), ('type: "pool" group: 2', "group")]
)
def test_v0_field_caffe_would_drop_is_refused(v0: str, field: str) -> None:
    text = f'input: "a" layers {{ layer {{ name: "x" {v0} }} bottom: "a" top: "b" }}'
    with pytest.raises(ValidationError, match=field) as info:
        _upgraded(text)
    assert info.value.field == field


def test_v0_padding_into_a_non_conv_layer_is_refused() -> None:
    text = (
        'input: "a" layers { layer { name: "p" type: "padding" pad: 1 } bottom: "a" top: "p" }'
        'layers { layer { name: "r" type: "relu" } bottom: "p" top: "r" }'
    )
    with pytest.raises(ValidationError, match="padding"):
        _upgraded(text)


def test_v0_and_v1_layers_mixed_are_refused() -> None:
    text = (
        'layers { layer { name: "r" type: "relu" } bottom: "a" top: "b" }'
        'layers { name: "s" type: SIGMOID bottom: "b" top: "c" }'
    )
    with pytest.raises(ValidationError, match="mixes V0"):
        _upgraded(text)


def test_v1_and_v2_layers_mixed_are_refused() -> None:
    text = 'layers { name: "s" type: SIGMOID } layer { name: "t" type: "TanH" }'
    with pytest.raises(ValidationError, match="mixes V1"):
        _upgraded(text)


def test_v1_param_names_rates_and_share_modes_become_param_specs() -> None:
    net = _upgraded(
        'layers { name: "c" type: CONVOLUTION param: "w" param: "b" blobs_lr: 1 blobs_lr: 2 '
        "weight_decay: 1 weight_decay: 0 blob_share_mode: PERMISSIVE "
        'convolution_param { num_output: 2 kernel_size: 1 } bottom: "a" top: "c" }'
    )
    p = net.layer[0].param
    assert [s.name for s in p] == ["w", "b"]
    assert [s.lr_mult for s in p] == [1, 2] and [s.decay_mult for s in p] == [1, 0]
    assert p[0].share_mode == caffe_pb2.ParamSpec.PERMISSIVE


@pytest.mark.parametrize(
    "v1_type, holder", [("DATA", "data_param"), ("IMAGE_DATA", "image_data_param"),
                        ("WINDOW_DATA", "window_data_param")],
)  # fmt: skip
def test_v1_transformation_fields_move_into_transform_param(v1_type: str, holder: str) -> None:
    net = _upgraded(
        f'layers {{ name: "d" type: {v1_type} top: "data" {holder} {{ crop_size: 7 '
        'mean_file: "m.binaryproto" mirror: true scale: 0.25 batch_size: 3 } }'
    )
    layer = net.layer[0]
    t = layer.transform_param
    assert (t.crop_size, t.mean_file, t.mirror, t.scale) == (7, "m.binaryproto", True, 0.25)
    params = getattr(layer, holder)
    assert params.batch_size == 3 and not params.HasField("crop_size")


def test_v1_data_layer_with_crop_size_gives_the_input_its_spatial_shape(tmp_path) -> None:
    text = (
        'layers { name: "d" type: DATA top: "data" top: "label" '
        "data_param { crop_size: 5 batch_size: 3 } }\n"
        'layers { name: "s" type: SIGMOID bottom: "data" top: "s" }\n'
    )
    proto, model = write_net(tmp_path, text)
    with pytest.raises(ValidationError, match=r"data=3,\?,5,5"):
        load_net(proto, model)
    net = load_net(proto, model, LoadOptions(input_shapes={"data": (3, 2, 5, 5)}))
    assert [(s.name, s.shape) for s in net.reference.inputs] == [("data", (3, 2, 5, 5))]


def test_text_round_trip_of_v1_enum_names() -> None:
    net = text_format.Parse('layers { name: "x" type: ABSVAL }', caffe_pb2.NetParameter())
    assert upgrade_net(net).layer[0].type == "AbsVal"
