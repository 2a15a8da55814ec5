"""Input, data-source and Dropout params."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from caffe2keras.frontend.params.registry import param_parser, require

DATA_LAYER_TYPES = ("Data", "ImageData", "HDF5Data", "WindowData", "MemoryData", "DummyData")


@dataclass(frozen=True)
class InputParams:
    shapes: tuple[tuple[int, ...], ...]  # one per top (a single shape applies to all tops)


@dataclass(frozen=True)
class DataParams:
    """What a data-source layer tells about its first top's shape (None where it cannot say)."""

    batch_size: int | None
    crop_size: int | None
    shape: tuple[int, ...] | None  # MemoryData / DummyData give a full shape


@dataclass(frozen=True)
class DropoutParams:
    """BVLC's Dropout is an identity at test time (dropout_layer.cpp copies the bottom)."""

    ratio: float


@param_parser("Input")
def parse_input(layer_pb: Any) -> InputParams:
    shapes = tuple(tuple(int(d) for d in s.dim) for s in layer_pb.input_param.shape)
    n_tops = len(layer_pb.top)
    require(
        len(shapes) in (1, n_tops),
        layer_pb,
        "shape",
        f"{len(shapes)} shapes for {n_tops} tops (give one, or one per top)",
    )
    if len(shapes) == 1 and n_tops > 1:
        shapes = shapes * n_tops
    return InputParams(shapes=shapes)


def _batch(layer_pb: Any) -> int | None:
    for field in ("data_param", "image_data_param", "hdf5_data_param", "window_data_param"):
        if layer_pb.HasField(field):
            return int(getattr(layer_pb, field).batch_size) or None
    return None


@param_parser(*DATA_LAYER_TYPES)
def parse_data(layer_pb: Any) -> DataParams:
    crop = int(layer_pb.transform_param.crop_size) or None
    shape: tuple[int, ...] | None = None
    if layer_pb.type == "MemoryData":
        m = layer_pb.memory_data_param
        shape = (int(m.batch_size), int(m.channels), int(m.height), int(m.width))
    elif layer_pb.type == "DummyData" and layer_pb.dummy_data_param.shape:
        shape = tuple(int(d) for d in layer_pb.dummy_data_param.shape[0].dim)
    return DataParams(batch_size=_batch(layer_pb), crop_size=crop, shape=shape)


@param_parser("Dropout")
def parse_dropout(layer_pb: Any) -> DropoutParams:
    p = layer_pb.dropout_param
    require(
        0.0 <= p.dropout_ratio < 1.0,
        layer_pb,
        "dropout_ratio",
        f"must be in [0, 1), got {p.dropout_ratio}",
    )
    return DropoutParams(ratio=float(p.dropout_ratio))
