"""Params of layers that combine, split, reshape or reduce blobs, and InnerProduct/Eltwise."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from caffe2keras.frontend.params.registry import no_params, param_parser, require

no_params("Split", "Silence", "Axpy")


@dataclass(frozen=True)
class AxisParams:
    """Concat and Softmax: one Caffe axis (may be negative)."""

    axis: int


@dataclass(frozen=True)
class SliceParams:
    axis: int
    slice_points: tuple[int, ...]


@dataclass(frozen=True)
class ReshapeParams:
    dims: tuple[int, ...]  # 0 copies the bottom dim, -1 is inferred
    axis: int
    num_axes: int


@dataclass(frozen=True)
class FlattenParams:
    axis: int
    end_axis: int


@dataclass(frozen=True)
class PermuteParams:
    order: tuple[int, ...]  # as given; the shape step completes it to the full rank


@dataclass(frozen=True)
class TileParams:
    axis: int
    tiles: int


@dataclass(frozen=True)
class CropParams:
    axis: int
    offsets: tuple[int, ...]


@dataclass(frozen=True)
class ReductionParams:
    operation: str  # "SUM" | "ASUM" | "SUMSQ" | "MEAN"
    axis: int
    coeff: float


@dataclass(frozen=True)
class ArgMaxParams:
    out_max_val: bool
    top_k: int
    axis: int | None


@dataclass(frozen=True)
class EltwiseParams:
    operation: str  # "PROD" | "SUM" | "MAX"
    coeffs: tuple[float, ...]  # empty means all 1


@dataclass(frozen=True)
class InnerProductParams:
    num_output: int
    bias_term: bool
    axis: int
    transpose: bool


@param_parser("Concat")
def parse_concat(layer_pb: Any) -> AxisParams:
    p = layer_pb.concat_param
    return AxisParams(axis=int(p.concat_dim) if p.HasField("concat_dim") else int(p.axis))


@param_parser("Softmax")
def parse_softmax(layer_pb: Any) -> AxisParams:
    return AxisParams(axis=int(layer_pb.softmax_param.axis))


@param_parser("Slice")
def parse_slice(layer_pb: Any) -> SliceParams:
    p = layer_pb.slice_param
    axis = int(p.slice_dim) if p.HasField("slice_dim") else int(p.axis)
    points = tuple(int(v) for v in p.slice_point)
    require(
        list(points) == sorted(set(points)),
        layer_pb,
        "slice_point",
        f"slice points must be strictly increasing, got {list(points)}",
    )
    return SliceParams(axis=axis, slice_points=points)


@param_parser("Reshape")
def parse_reshape(layer_pb: Any) -> ReshapeParams:
    p = layer_pb.reshape_param
    dims = tuple(int(d) for d in p.shape.dim)
    require(sum(1 for d in dims if d == -1) <= 1, layer_pb, "shape", "at most one dim may be -1")
    require(all(d >= -1 for d in dims), layer_pb, "shape", f"invalid dims {list(dims)}")
    require(p.num_axes >= -1, layer_pb, "num_axes", f"must be >= -1, got {p.num_axes}")
    return ReshapeParams(dims=dims, axis=int(p.axis), num_axes=int(p.num_axes))


@param_parser("Flatten")
def parse_flatten(layer_pb: Any) -> FlattenParams:
    p = layer_pb.flatten_param
    return FlattenParams(axis=int(p.axis), end_axis=int(p.end_axis))


@param_parser("Permute")
def parse_permute(layer_pb: Any) -> PermuteParams:
    order = tuple(int(v) for v in layer_pb.permute_param.order)
    require(len(set(order)) == len(order), layer_pb, "order", f"repeated axis in {list(order)}")
    return PermuteParams(order=order)


@param_parser("Tile")
def parse_tile(layer_pb: Any) -> TileParams:
    p = layer_pb.tile_param
    require(p.HasField("tiles") and p.tiles > 0, layer_pb, "tiles", "tiles must be positive")
    return TileParams(axis=int(p.axis), tiles=int(p.tiles))


@param_parser("Crop")
def parse_crop(layer_pb: Any) -> CropParams:
    p = layer_pb.crop_param
    return CropParams(axis=int(p.axis), offsets=tuple(int(v) for v in p.offset))


@param_parser("Reduction")
def parse_reduction(layer_pb: Any) -> ReductionParams:
    p = layer_pb.reduction_param
    names = {1: "SUM", 2: "ASUM", 3: "SUMSQ", 4: "MEAN"}
    return ReductionParams(
        operation=names[int(p.operation)], axis=int(p.axis), coeff=float(p.coeff)
    )


@param_parser("ArgMax")
def parse_argmax(layer_pb: Any) -> ArgMaxParams:
    p = layer_pb.argmax_param
    require(p.top_k >= 1, layer_pb, "top_k", f"must be >= 1, got {p.top_k}")
    axis = int(p.axis) if p.HasField("axis") else None
    return ArgMaxParams(out_max_val=bool(p.out_max_val), top_k=int(p.top_k), axis=axis)


@param_parser("Eltwise")
def parse_eltwise(layer_pb: Any) -> EltwiseParams:
    p = layer_pb.eltwise_param
    op = {0: "PROD", 1: "SUM", 2: "MAX"}[int(p.operation)]
    coeffs = tuple(float(c) for c in p.coeff)
    require(not coeffs or op == "SUM", layer_pb, "coeff", "coefficients apply to SUM only")
    require(
        not coeffs or len(coeffs) == len(layer_pb.bottom),
        layer_pb,
        "coeff",
        f"{len(coeffs)} coefficients for {len(layer_pb.bottom)} bottoms",
    )
    return EltwiseParams(operation=op, coeffs=coeffs)


@param_parser("InnerProduct")
def parse_inner_product(layer_pb: Any) -> InnerProductParams:
    p = layer_pb.inner_product_param
    require(
        p.HasField("num_output") and p.num_output > 0,
        layer_pb,
        "num_output",
        "num_output must be given and positive",
    )
    return InnerProductParams(
        num_output=int(p.num_output),
        bias_term=bool(p.bias_term),
        axis=int(p.axis),
        transpose=bool(p.transpose),
    )
