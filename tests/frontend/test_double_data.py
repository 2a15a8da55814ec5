"""Caffemodels whose blobs hold ``double_data`` (Caffe's Blob<double>::ToProto) convert: the
values are read as float64, the reference runs on them, and the Keras model equals the one made
from the same values stored as float32 ``data``."""

from __future__ import annotations

import numpy as np
from keras_helpers import convert_case, keras_blobs
from netfiles import input_layer

from caffe2keras import api
from caffe2keras._proto import caffe_pb2

NET = input_layer((2, 3, 6, 6)) + (
    'layer { name: "conv" type: "Convolution" bottom: "data" top: "conv" '
    "convolution_param { num_output: 4 kernel_size: 3 } }\n"
    'layer { name: "fc" type: "InnerProduct" bottom: "conv" top: "fc" '
    "inner_product_param { num_output: 5 } }\n"
)


def _caffemodel(blobs: dict[str, list[np.ndarray]], double: bool) -> bytes:
    net = caffe_pb2.NetParameter(name="t")
    for name, arrays in blobs.items():
        layer = net.layer.add(name=name)
        for arr in arrays:
            blob = layer.blobs.add()
            blob.shape.dim.extend(arr.shape)
            values = arr.ravel().tolist()
            (blob.double_data if double else blob.data).extend(values)
    return net.SerializeToString()


def test_double_data_blobs_convert_like_float_blobs(tmp_path) -> None:
    rng = np.random.default_rng(3)
    blobs = {
        "conv": [rng.normal(size=(4, 3, 3, 3)), rng.normal(size=4)],
        "fc": [rng.normal(size=(5, 64)), rng.normal(size=5)],
    }
    blobs = {k: [a.astype(np.float32).astype(np.float64) for a in v] for k, v in blobs.items()}
    proto = tmp_path / "net.prototxt"
    proto.write_text(NET)
    (tmp_path / "d.caffemodel").write_bytes(_caffemodel(blobs, double=True))
    (tmp_path / "f.caffemodel").write_bytes(_caffemodel(blobs, double=False))
    shapes = {"data": (2, 3, 6, 6)}
    net_d, built_d = convert_case(proto, tmp_path / "d.caffemodel", shapes)
    net_f, built_f = convert_case(proto, tmp_path / "f.caffemodel", shapes)
    assert net_d.reference.layer("conv").blobs[0].dtype == np.float64
    x = {"data": rng.normal(size=(2, 3, 6, 6)).astype(np.float32)}
    got_d = keras_blobs(built_d.model, built_d, net_d, x)
    got_f = keras_blobs(built_f.model, built_f, net_f, x)
    np.testing.assert_array_equal(got_d["fc"], got_f["fc"])
    result = api.convert(proto, tmp_path / "d.caffemodel", tmp_path / "d.h5")
    assert result.exit_code == 0 and result.report is not None and result.report.passed
