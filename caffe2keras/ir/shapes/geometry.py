"""Caffe's size arithmetic, shared by the families' shape rules and the reference ops: output
sizes of convolution, deconvolution and pooling, and the axis bookkeeping of Slice, Permute and
Crop (each rule as Caffe's own source computes it)."""

from __future__ import annotations

from caffe2keras.errors import UnsupportedParameterError, ValidationError
from caffe2keras.ir.graph import Layer, Shape


def c_div(a: int, b: int) -> int:
    """C++ integer division of ints: the quotient truncated toward zero (Python's ``//`` floors:
    ``-1 // 2`` is -1 where C++ gives 0)."""
    q = abs(a) // abs(b)
    return q if (a >= 0) == (b >= 0) else -q


def conv_out(size: int, k: int, s: int, p: int, d: int) -> int:
    """Caffe's convolution output size (``conv_layer.cpp`` compute_output_shape), in C++ int
    arithmetic: a dilated kernel up to ``stride - 1`` larger than the padded input still gives
    one output, whose window reads zeros beyond the input (``im2col.cpp``)."""
    return c_div(size + 2 * p - (d * (k - 1) + 1), s) + 1


def conv_extent(size: int, k: int, s: int, p: int, d: int) -> int:
    """How far past ``size + p`` the last convolution window reaches (zeros to pad after the
    input, beyond ``p``): positive only when truncating division kept a window that overhangs."""
    return max((conv_out(size, k, s, p, d) - 1) * s + d * (k - 1) + 1 - size - 2 * p, 0)


def deconv_out(size: int, k: int, s: int, p: int, d: int) -> int:
    """Caffe's deconvolution output size (``deconv_layer.cpp`` compute_output_shape)."""
    return s * (size - 1) + (d * (k - 1) + 1) - 2 * p


def pool_out(size: int, k: int, s: int, p: int, ceil: bool, padded: bool | None = None) -> int:
    """Caffe's pooling output size (``pooling_layer.cpp`` Reshape): ``ceil``/``floor`` of a float
    quotient (true rounding, not C++ truncation), then, when the layer has any padding
    (``padded``: ``pad_h || pad_w``; default ``p > 0``), drop a last window that would start at
    or past ``size + p``. That rule runs for both axes when either is padded; without any
    padding a ceil-rounded last window can start past the input and cover no pixel at all."""
    span = size + 2 * p - k
    out = (-(-span // s) if ceil else span // s) + 1
    if (p > 0 if padded is None else padded) and (out - 1) * s >= size + p:
        out -= 1
    return out


def empty_pool_windows(size: int, k: int, s: int, p: int, out: int) -> int:
    """How many trailing pooling windows along an axis start at or past the input's end (0 or
    1 in practice): Caffe leaves MAX at -FLT_MAX there and AVE at 0 / (clipped size)."""
    return sum(1 for o in range(out) if o * s - p >= size)


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
