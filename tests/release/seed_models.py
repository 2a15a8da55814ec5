"""Hand-written Keras 3 models in the seed project's style (flyyufelix's DenseNet-Keras):
BatchNormalization followed by a separate ``Scale`` layer, layer names = Caffe names with '/'
-> '_'. They are what ``--format keras2-weights`` must load into by name."""

from __future__ import annotations

from typing import Any

import keras

L = keras.layers


class Scale(keras.layers.Layer):
    """The seed project's custom Scale layer: ``gamma * x + beta`` per channel, identity at init."""

    def build(self, input_shape: Any) -> None:
        channels = (int(input_shape[-1]),)
        self.gamma = self.add_weight(name="gamma", shape=channels, initializer="ones")
        self.beta = self.add_weight(name="beta", shape=channels, initializer="zeros")

    def call(self, x: Any) -> Any:
        return x * self.gamma + self.beta


def bn_scale_relu(x: Any, base: str, relu: str) -> Any:
    """Caffe's BatchNorm -> Scale -> ReLU triple, as the seed project wrote it."""
    x = L.BatchNormalization(epsilon=1e-5, name=f"{base}_bn")(x)
    x = Scale(name=f"{base}_scale")(x)
    return L.Activation("relu", name=relu)(x)


def tiny() -> keras.Model:
    """fixtures/tiny/tiny.prototxt written by hand."""
    inp = keras.Input((33, 33, 3), name="data")
    x = L.ZeroPadding2D(1)(inp)
    x = L.Conv2D(8, 3, strides=2, use_bias=False, name="conv1")(x)
    p = L.MaxPooling2D(3, strides=2, name="pool1")(bn_scale_relu(x, "conv1", "relu1"))
    y = L.Conv2D(4, 3, name="conv2")(L.ZeroPadding2D(1)(p))
    x = L.AveragePooling2D(2, name="pool2")(L.Concatenate(name="concat")([p, y]))
    out = L.Softmax(name="prob")(L.Dense(10, name="fc")(L.Flatten()(x)))
    return keras.Model(inp, out, name="tiny_by_hand")


def _dense_layer(x: Any, stage: int, i: int) -> Any:
    base = f"conv{stage}_{i}"
    y = bn_scale_relu(x, f"{base}_x1", f"relu{stage}_{i}_x1")
    y = L.Conv2D(128, 1, use_bias=False, name=f"{base}_x1")(y)
    y = bn_scale_relu(y, f"{base}_x2", f"relu{stage}_{i}_x2")
    y = L.Conv2D(32, 3, use_bias=False, name=f"{base}_x2")(L.ZeroPadding2D(1)(y))
    return L.Concatenate(name=f"concat_{stage}_{i}")([x, y])


def densenet121() -> keras.Model:
    """DenseNet-121 (shicai/DenseNet-Caffe) written by hand, 224x224, output fc6 (1x1x1000)."""
    inp = keras.Input((224, 224, 3), name="data")
    x = L.Conv2D(64, 7, strides=2, use_bias=False, name="conv1")(L.ZeroPadding2D(3)(inp))
    x = bn_scale_relu(x, "conv1", "relu1")
    x = L.MaxPooling2D(3, strides=2, name="pool1")(L.ZeroPadding2D(1)(x))  # after ReLU: exact
    channels = 64
    for stage, layers in zip((2, 3, 4, 5), (6, 12, 24, 16)):
        for i in range(1, layers + 1):
            x = _dense_layer(x, stage, i)
        channels += 32 * layers
        x = bn_scale_relu(x, f"conv{stage}_blk", f"relu{stage}_blk")
        if stage < 5:
            channels //= 2
            x = L.Conv2D(channels, 1, use_bias=False, name=f"conv{stage}_blk")(x)
            x = L.AveragePooling2D(2, name=f"pool{stage}")(x)
    x = L.GlobalAveragePooling2D(keepdims=True, name="pool5")(x)
    return keras.Model(inp, L.Conv2D(1000, 1, name="fc6")(x), name="densenet121_by_hand")
