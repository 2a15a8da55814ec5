"""Legacy layer type names: V1 enum numbers and V0 strings, mapped to V2 type strings.

Source: BVLC Caffe ``src/caffe/proto/caffe.proto`` (``V1LayerParameter.LayerType``) and
``src/caffe/util/upgrade_proto.cpp`` (``UpgradeV1LayerType`` and ``UpgradeV0LayerType``),
commit 9b891540183ddc834a02b2bd81b31afae71b2153. Caffe maps ``NONE = 0`` to the empty string and
aborts on any other number it does not know; so do we (with a ValueError instead of an abort).
"""

from __future__ import annotations

from collections.abc import Mapping
from types import MappingProxyType

# V1LayerParameter.LayerType number -> the V2 type string UpgradeV1LayerType returns.
V1_TYPE_NAMES: Mapping[int, str] = MappingProxyType(
    {
        0: "",  # NONE
        1: "Accuracy",
        2: "BNLL",
        3: "Concat",
        4: "Convolution",
        5: "Data",
        6: "Dropout",
        7: "EuclideanLoss",
        8: "Flatten",
        9: "HDF5Data",
        10: "HDF5Output",
        11: "Im2col",
        12: "ImageData",
        13: "InfogainLoss",
        14: "InnerProduct",
        15: "LRN",
        16: "MultinomialLogisticLoss",
        17: "Pooling",
        18: "ReLU",
        19: "Sigmoid",
        20: "Softmax",
        21: "SoftmaxWithLoss",
        22: "Split",
        23: "TanH",
        24: "WindowData",
        25: "Eltwise",
        26: "Power",
        27: "SigmoidCrossEntropyLoss",
        28: "HingeLoss",
        29: "MemoryData",
        30: "ArgMax",
        31: "Threshold",
        32: "DummyData",
        33: "Slice",
        34: "MVN",
        35: "AbsVal",
        36: "Silence",
        37: "ContrastiveLoss",
        38: "Exp",
        39: "Deconvolution",
    }
)

# V0LayerParameter.type string -> V2 type string (UpgradeV0LayerType gives the V1 enum, which
# UpgradeV1LayerType then names). V0 "padding" layers are not here: Caffe folds them into the
# following convolution (UpgradeV0PaddingLayers) before naming types.
V0_TYPE_NAMES: Mapping[str, str] = MappingProxyType(
    {
        "accuracy": "Accuracy",
        "bnll": "BNLL",
        "concat": "Concat",
        "conv": "Convolution",
        "data": "Data",
        "dropout": "Dropout",
        "euclidean_loss": "EuclideanLoss",
        "flatten": "Flatten",
        "hdf5_data": "HDF5Data",
        "hdf5_output": "HDF5Output",
        "im2col": "Im2col",
        "images": "ImageData",
        "infogain_loss": "InfogainLoss",
        "innerproduct": "InnerProduct",
        "lrn": "LRN",
        "multinomial_logistic_loss": "MultinomialLogisticLoss",
        "pool": "Pooling",
        "relu": "ReLU",
        "sigmoid": "Sigmoid",
        "softmax": "Softmax",
        "softmax_loss": "SoftmaxWithLoss",
        "split": "Split",
        "tanh": "TanH",
        "window_data": "WindowData",
    }
)


def v1_type_name(number: int) -> str:
    """Return the V2 type string for a V1 ``LayerType`` enum number.

    Raises ValueError (not KeyError) for numbers BVLC Caffe does not define.
    """
    try:
        return V1_TYPE_NAMES[number]
    except KeyError:
        raise ValueError(
            f"unknown V1 layer type number {number} (BVLC Caffe defines 0 to 39)"
        ) from None


def v0_type_name(name: str) -> str:
    """Return the V2 type string for a V0 layer type string such as ``"conv"``.

    Raises ValueError for strings Caffe's ``UpgradeV0LayerType`` does not know.
    """
    try:
        return V0_TYPE_NAMES[name]
    except KeyError:
        raise ValueError(f"unknown V0 layer type {name!r}") from None
