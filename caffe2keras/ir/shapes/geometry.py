"""Caffe's size arithmetic, shared by the families' shape rules and the reference ops: output
sizes of convolution, deconvolution and pooling, and the axis bookkeeping of Slice, Permute and
Crop (each rule as Caffe's own source computes it)."""

from __future__ import annotations

from caffe2keras.errors import UnsupportedParameterError, ValidationError
from caffe2keras.ir.graph import Layer, Shape


def conv_out(size: int, k: int, s: int, p: int, d: int) -> int:
    """Caffe's convolution output size (``conv_layer.cpp`` compute_output_shape)."""
    return (size + 2 * p - (d * (k - 1) + 1)) // s + 1


def deconv_out(size: int, k: int, s: int, p: int, d: int) -> int:
    """Caffe's deconvolution output size (``deconv_layer.cpp`` compute_output_shape)."""
    return s * (size - 1) + (d * (k - 1) + 1) - 2 * p


def pool_out(size: int, k: int, s: int, p: int, ceil: bool) -> int:
    """Caffe's pooling output size (``pooling_layer.cpp`` Reshape): round up or down, then drop a
    last window that would start inside the bottom/right padding."""
    span = size + 2 * p - k
    out = (-(-span // s) if ceil else span // s) + 1
    if p > 0 and (out - 1) * s >= size + p:
        out -= 1
    return out


def slice_sizes(layer: Layer, total: int) -> list[int]:
    """Caffe's Slice sizes along the axis: from slice_point, else an even split."""
    points = list(layer.params.slice_points)
    n = len(layer.tops)
    if points:
        if len(points) != n - 1:
            raise ValidationError(
                f"{len(points)} slice points for {n} tops (need {n - 1})",
                layer=layer.name,
                field="slice_point",
            )
        edges = [0, *points, total]
        if points[-1] >= total:
            raise ValidationError(
                f"slice point {points[-1]} is beyond the axis size {total}",
                layer=layer.name,
                field="slice_point",
            )
        return [b - a for a, b in zip(edges, edges[1:])]
    if total % n:
        raise ValidationError(
            f"axis size {total} cannot be split evenly into {n} tops",
            layer=layer.name,
            field="slice_point",
        )
    return [total // n] * n


def full_order(layer: Layer, ndim: int) -> tuple[int, ...]:
    """A Permute order completed with the missing axes in increasing order (SSD's rule)."""
    order = list(layer.params.order)
    for a in order:
        if not 0 <= a < ndim:
            raise ValidationError(
                f"axis {a} out of range for a {ndim}-D blob", layer=layer.name, field="order"
            )
    return tuple(order + [a for a in range(ndim) if a not in order])


def crop_offsets(layer: Layer, ndim: int) -> tuple[int, ...]:
    """The offset on every axis (0 before ``axis``); one value applies to all cropped axes."""
    start = layer.params.axis + ndim if layer.params.axis < 0 else layer.params.axis
    given = layer.params.offsets
    n_cropped = ndim - start
    if len(given) not in (0, 1, n_cropped):
        raise ValidationError(
            f"{len(given)} offsets for {n_cropped} cropped axes", layer=layer.name, field="offset"
        )
    per_axis = [0] * n_cropped if not given else list(given) * (n_cropped if len(given) == 1 else 1)
    return (0,) * start + tuple(per_axis)


def need_4d(layer: Layer, shape: Shape) -> None:
    """Spatial layers handle N, C, H, W blobs only."""
    if len(shape) != 4:
        raise UnsupportedParameterError(
            f"only 2-D spatial (4-D N,C,H,W) bottoms are supported, got {list(shape)}",
            layer=layer.name,
            field="bottom",
        )


def spp_level(size: int, level: int) -> tuple[int, int]:
    """(kernel = stride, pad) of SPP pyramid level ``level`` along an axis of ``size``
    (``spp_layer.cpp`` GetPoolingParam): 2**level bins, kernel ceil(size / bins), and half the
    shortfall kernel * bins - size (rounded up) as padding on each side."""
    bins = 2**level
    kernel = -(-size // bins)
    return kernel, (kernel * bins - size + 1) // 2
