"""Input and data-source layers (params only): the frontend turns them into the model's inputs."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from caffe2keras.frontend.params.registry import param_parser, require
from caffe2keras.keras_model.registry import (
    describe,
)

DATA_LAYER_TYPES = ("Data", "ImageData", "HDF5Data", "WindowData", "MemoryData", "DummyData")


@dataclass(frozen=True)
class InputParams:
    shapes: tuple[tuple[int, ...], ...]  # one per top (a single shape applies to all tops)


# One top's shape as far as the prototxt tells it: None for a dimension that comes from the data
# (a database record, an image file), or None for the whole shape (HDF5 files).
PartialShape = tuple[int | None, ...] | None


@dataclass(frozen=True)
class DataParams:
    """The shapes a data-source layer's tops get, as far as its params determine them."""

    shapes: tuple[PartialShape, ...]  # one per top
    origin: str  # where the undetermined dimensions come from, for messages


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


def _positive(value: int) -> int | None:
    return int(value) if value > 0 else None


def _image_tops(layer_pb: Any, batch: int | None, data: PartialShape) -> tuple[PartialShape, ...]:
    """(data[, label]) tops: Caffe's label is one value per item (``data_layer.cpp``)."""
    n = len(layer_pb.top)
    require(n in (1, 2), layer_pb, "top", f"a {layer_pb.type} layer has 1 or 2 tops, not {n}")
    return (data, (batch,))[:n]


def _data(layer_pb: Any) -> DataParams:
    """``data_layer.cpp``: (batch, C, H, W) from the first database record; crop_size fixes H, W."""
    batch = _positive(layer_pb.data_param.batch_size)
    crop = _positive(layer_pb.transform_param.crop_size)
    data = (batch, None, crop, crop)
    return DataParams(_image_tops(layer_pb, batch, data), "the records of its database")


def _image_data(layer_pb: Any) -> DataParams:
    """``image_data_layer.cpp``: channels from ``is_color``; H, W from crop_size, else from
    new_height/new_width, else from the first image."""
    p = layer_pb.image_data_param
    batch = _positive(p.batch_size)
    crop = _positive(layer_pb.transform_param.crop_size)
    h, w = (crop, crop) if crop else (_positive(p.new_height), _positive(p.new_width))
    data = (batch, 3 if p.is_color else 1, h, w)
    return DataParams(_image_tops(layer_pb, batch, data), "its image files")


def _window_data(layer_pb: Any) -> DataParams:
    """``window_data_layer.cpp``: (batch, channels of the window file, crop_size, crop_size)."""
    batch = _positive(layer_pb.window_data_param.batch_size)
    crop = _positive(layer_pb.transform_param.crop_size)
    require(crop is not None, layer_pb, "crop_size", "WindowData needs transform_param.crop_size")
    data = (batch, None, crop, crop)
    return DataParams(_image_tops(layer_pb, batch, data), "its window file")


def _memory_data(layer_pb: Any) -> DataParams:
    """``memory_data_layer.cpp``: (batch_size, channels, height, width) as given."""
    m = layer_pb.memory_data_param
    batch = _positive(m.batch_size)
    data = (batch, _positive(m.channels), _positive(m.height), _positive(m.width))
    return DataParams(_image_tops(layer_pb, batch, data), "the arrays fed to it")


def _hdf5_data(layer_pb: Any) -> DataParams:
    """``hdf5_data_layer.cpp``: every top's shape comes from the HDF5 datasets."""
    return DataParams(tuple(None for _ in layer_pb.top), "its HDF5 files")


def _dummy_data(layer_pb: Any) -> DataParams:
    """``dummy_data_layer.cpp``: one shape for all tops, or one per top (``shape`` or the legacy
    num/channels/height/width fields, which may not be mixed)."""
    p = layer_pb.dummy_data_param
    n = len(layer_pb.top)
    legacy = [list(p.num), list(p.channels), list(p.height), list(p.width)]
    if any(legacy):
        require(not p.shape, layer_pb, "shape", "both shape and num/channels/... are given")
        for field, values in zip(("num", "channels", "height", "width"), legacy):
            require(len(values) in (1, n), layer_pb, field, f"needs 1 or {n} values")
        shapes = [tuple(int(v[0] if len(v) == 1 else v[i]) for v in legacy) for i in range(n)]
    else:
        require(len(p.shape) in (1, n), layer_pb, "shape", f"needs 1 or {n} shapes")
        dims = [tuple(int(d) for d in s.dim) for s in p.shape]
        shapes = [dims[0] if len(dims) == 1 else dims[i] for i in range(n)]
    return DataParams(tuple(shapes), "its fillers")


_DATA_PARSERS = {
    "Data": _data,
    "ImageData": _image_data,
    "WindowData": _window_data,
    "MemoryData": _memory_data,
    "HDF5Data": _hdf5_data,
    "DummyData": _dummy_data,
}


@param_parser(*DATA_LAYER_TYPES)
def parse_data(layer_pb: Any) -> DataParams:
    """The top shapes of a data-source layer (these layers become inputs of the model)."""
    return _DATA_PARSERS[layer_pb.type](layer_pb)


describe("Input", emits="Input", notes="also `input`+`input_dim`/`input_shape`; shapes overridable")
describe(
    *DATA_LAYER_TYPES,
    emits="Input",
    notes="shape from the params (`crop_size`, `new_height`/`new_width`, `is_color`, "
    "MemoryData/DummyData shapes) or `--input-shape`; only tops some layer reads",
)
