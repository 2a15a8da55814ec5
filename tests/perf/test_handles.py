"""Variables created with shape-free handles (keras_model/handles.py) are ordinary variables:
same shape, handle data, values and behaviour in tf.function; a built model's variables hold
exactly the caffemodel's values, read here with protobuf (not our reader)."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from caffe2keras import api
from caffe2keras._proto import caffe_pb2
from caffe2keras.keras_model import handles
from tests.netfiles import input_layer, write_net

tf = pytest.importorskip("tensorflow")


@pytest.mark.parametrize("shape", [(), (5,), (3, 3, 4, 7), (1, 1, 300, 2)])
def test_shape_free_variable_is_an_ordinary_variable(shape) -> None:
    value = np.random.default_rng(0).standard_normal(shape).astype(np.float32)
    with handles.shape_free_handles():
        variable = tf.Variable(value, name="kernel")
    assert tuple(variable.shape) == shape
    data = variable.handle._handle_data.shape_and_type[0]  # what a tf.function capture reads
    assert [d.size for d in data.shape.dim] == list(shape) and not data.shape.unknown_rank
    np.testing.assert_array_equal(variable.numpy(), value)

    @tf.function
    def twice() -> object:
        return variable * 2.0

    assert tuple(twice.get_concrete_function().output_shapes) == shape  # static shape known
    np.testing.assert_array_equal(twice().numpy(), value * 2)
    variable.assign(value + 1)
    np.testing.assert_array_equal(variable.numpy(), value + 1)


def test_graph_mode_and_exit_keep_tensorflow_unchanged() -> None:
    from tensorflow.python.ops import gen_resource_variable_ops

    original = gen_resource_variable_ops.var_handle_op
    with pytest.raises(RuntimeError), handles.shape_free_handles():
        assert gen_resource_variable_ops.var_handle_op is not original
        with tf.Graph().as_default():  # a graph reads the shape from the op: it keeps it
            variable = tf.Variable(np.zeros((2, 3), np.float32))
            assert variable.handle.op.get_attr("shape").dim[1].size == 3
        raise RuntimeError("the context restores the op on errors too")
    assert gen_resource_variable_ops.var_handle_op is original


def _blobs_by_protobuf(caffemodel: Path) -> dict[str, list[np.ndarray]]:
    net = caffe_pb2.NetParameter()
    net.ParseFromString(caffemodel.read_bytes())
    return {
        layer.name: [np.array(b.data, np.float32).reshape(tuple(b.shape.dim)) for b in layer.blobs]
        for layer in net.layer
    }


def test_built_variables_hold_the_caffemodel_values(tmp_path) -> None:
    """Convolution kernels above and below the adoption threshold, biases and an InnerProduct
    after a flatten: every variable equals the caffemodel's blob in Keras' layout."""
    rng = np.random.default_rng(3)
    blobs = {
        "big": [rng.standard_normal((64, 16, 5, 5)), rng.standard_normal(64)],  # 100 KiB kernel
        "small": [rng.standard_normal((6, 64, 1, 1)), rng.standard_normal(6)],
        "fc": [rng.standard_normal((10, 6 * 4 * 4)), rng.standard_normal(10)],
    }
    text = input_layer((1, 16, 8, 8)) + "".join(
        f'layer {{ name: "{n}" type: "{t}" bottom: "{b}" top: "{n}" {p} }}\n'
        for n, t, b, p in (
            ("big", "Convolution", "data", "convolution_param { num_output: 64 kernel_size: 5 }"),
            ("small", "Convolution", "big", "convolution_param { num_output: 6 kernel_size: 1 }"),
            ("fc", "InnerProduct", "small", "inner_product_param { num_output: 10 }"),
        )
    )
    proto, model = write_net(tmp_path, text, blobs)
    from caffe2keras.keras_model.model import build_model

    built = build_model(api.load(proto, model).keras)
    want = _blobs_by_protobuf(model)
    by_name = {layer.name: layer for layer in built.model.layers}
    for name in ("big", "small"):
        kernel, bias = (v.numpy() for v in by_name[name].weights)
        np.testing.assert_array_equal(kernel, want[name][0].transpose(2, 3, 1, 0))
        np.testing.assert_array_equal(bias, want[name][1])
    fc_kernel, fc_bias = (v.numpy() for v in by_name["fc"].weights)
    caffe_order = want["fc"][0].reshape(10, 6, 4, 4).transpose(2, 3, 1, 0).reshape(-1, 10)
    np.testing.assert_array_equal(fc_kernel, caffe_order)  # Keras flattens H, W, C
    np.testing.assert_array_equal(fc_bias, want["fc"][1])


def test_overlapping_uses_restore_the_op_once() -> None:
    """Two uses that overlap without nesting (two threads building at once) leave TensorFlow's
    own op in place at the end, not one of the wrappers."""
    from tensorflow.python.ops import gen_resource_variable_ops

    original = gen_resource_variable_ops.var_handle_op
    first, second = handles.shape_free_handles(), handles.shape_free_handles()
    first.__enter__()
    second.__enter__()
    first.__exit__(None, None, None)
    assert gen_resource_variable_ops.var_handle_op is not original  # the second still uses it
    second.__exit__(None, None, None)
    assert gen_resource_variable_ops.var_handle_op is original
