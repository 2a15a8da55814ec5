"""Shape rules of layers that move data between axes or blobs."""

from __future__ import annotations

import math

from caffe2keras.errors import ValidationError
from caffe2keras.ir.graph import Layer, Shape
from caffe2keras.ir.shapes.registry import LayerShapes, canonical_axis, shape_rule


@shape_rule("Concat")
def concat_shapes(layer: Layer, bottoms: list[Shape]) -> LayerShapes:
    axis = canonical_axis(layer.params.axis, len(bottoms[0]), layer)
    for shape in bottoms[1:]:
        if len(shape) != len(bottoms[0]) or any(
            a != b for i, (a, b) in enumerate(zip(shape, bottoms[0])) if i != axis
        ):
            raise ValidationError(
                f"bottom shapes {list(bottoms[0])} and {list(shape)} differ outside axis {axis}",
                layer=layer.name,
                field="axis",
            )
    out = list(bottoms[0])
    out[axis] = sum(s[axis] for s in bottoms)
    return LayerShapes(tops=(tuple(out),))


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


@shape_rule("Slice")
def slice_shapes(layer: Layer, bottoms: list[Shape]) -> LayerShapes:
    shape = bottoms[0]
    axis = canonical_axis(layer.params.axis, len(shape), layer)
    tops = []
    for size in slice_sizes(layer, shape[axis]):
        out = list(shape)
        out[axis] = size
        tops.append(tuple(out))
    return LayerShapes(tops=tuple(tops))


@shape_rule("Reshape")
def reshape_shapes(layer: Layer, bottoms: list[Shape]) -> LayerShapes:
    """Caffe's ``reshape_layer.cpp``: dims replace bottom axes [axis, axis + num_axes)."""
    p = layer.params
    shape = bottoms[0]
    nd = len(shape)
    if not -(nd + 1) <= p.axis <= nd:
        raise ValidationError(f"axis {p.axis} out of range", layer=layer.name, field="axis")
    start = p.axis + nd + 1 if p.axis < 0 else p.axis
    end = nd if p.num_axes == -1 else start + p.num_axes
    if end > nd:
        raise ValidationError(
            "axis + num_axes exceed the bottom's axes", layer=layer.name, field="num_axes"
        )
    dims = []
    for i, d in enumerate(p.dims):
        if d == 0:
            if start + i >= nd:
                raise ValidationError(
                    f"dim {i} is 0 (copy) but the bottom has no axis {start + i}",
                    layer=layer.name,
                    field="shape",
                )
            d = shape[start + i]
        dims.append(d)
    out = [*shape[:start], *dims, *shape[end:]]
    total = math.prod(shape)
    if -1 in out:
        known = math.prod(d for d in out if d != -1)
        if known == 0 or total % known:
            raise ValidationError(
                f"cannot infer -1: {total} elements into {list(out)}",
                layer=layer.name,
                field="shape",
            )
        out[out.index(-1)] = total // known
    if math.prod(out) != total:
        raise ValidationError(
            f"shape {list(out)} has {math.prod(out)} elements, the bottom "
            f"{list(shape)} has {total}",
            layer=layer.name,
            field="shape",
        )
    return LayerShapes(tops=(tuple(out),))


@shape_rule("Flatten")
def flatten_shapes(layer: Layer, bottoms: list[Shape]) -> LayerShapes:
    shape = bottoms[0]
    start = canonical_axis(layer.params.axis, len(shape), layer)
    end = canonical_axis(layer.params.end_axis, len(shape), layer, "end_axis")
    out = (*shape[:start], math.prod(shape[start : end + 1]), *shape[end + 1 :])
    return LayerShapes(tops=(out,))


def full_order(layer: Layer, ndim: int) -> tuple[int, ...]:
    """A Permute order completed with the missing axes in increasing order (SSD's rule)."""
    order = list(layer.params.order)
    for a in order:
        if not 0 <= a < ndim:
            raise ValidationError(
                f"axis {a} out of range for a {ndim}-D blob", layer=layer.name, field="order"
            )
    return tuple(order + [a for a in range(ndim) if a not in order])


@shape_rule("Permute")
def permute_shapes(layer: Layer, bottoms: list[Shape]) -> LayerShapes:
    shape = bottoms[0]
    return LayerShapes(tops=(tuple(shape[a] for a in full_order(layer, len(shape))),))


@shape_rule("Tile")
def tile_shapes(layer: Layer, bottoms: list[Shape]) -> LayerShapes:
    out = list(bottoms[0])
    axis = canonical_axis(layer.params.axis, len(out), layer)
    out[axis] *= layer.params.tiles
    return LayerShapes(tops=(tuple(out),))


@shape_rule("Crop")
def crop_shapes(layer: Layer, bottoms: list[Shape]) -> LayerShapes:
    """Caffe's ``crop_layer.cpp``: axes from ``axis`` on take the second bottom's size."""
    if len(bottoms) != 2:
        raise ValidationError("Crop needs 2 bottoms", layer=layer.name, field="bottom")
    src, ref = bottoms
    if len(src) != len(ref):
        raise ValidationError(
            f"bottoms have different ranks: {list(src)} vs {list(ref)}",
            layer=layer.name,
            field="bottom",
        )
    start = canonical_axis(layer.params.axis, len(src), layer)
    offsets = crop_offsets(layer, len(src))
    out = list(src)
    for i in range(start, len(src)):
        if src[i] - offsets[i] < ref[i]:
            raise ValidationError(
                f"offset {offsets[i]} on axis {i} runs past the bottom "
                f"({src[i]} < {offsets[i]} + {ref[i]})",
                layer=layer.name,
                field="offset",
            )
        out[i] = ref[i]
    return LayerShapes(tops=(tuple(out),))


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


@shape_rule("Reduction")
def reduction_shapes(layer: Layer, bottoms: list[Shape]) -> LayerShapes:
    axis = canonical_axis(layer.params.axis, len(bottoms[0]), layer)
    return LayerShapes(tops=(tuple(bottoms[0][:axis]),))


@shape_rule("ArgMax")
def argmax_shapes(layer: Layer, bottoms: list[Shape]) -> LayerShapes:
    """Caffe's ``argmax_layer.cpp``: with axis, that axis becomes top_k; else (N, 1|2, top_k)."""
    p = layer.params
    shape = bottoms[0]
    if p.axis is None:
        if p.top_k > math.prod(shape[1:]):
            raise ValidationError(
                "top_k exceeds the number of values", layer=layer.name, field="top_k"
            )
        # Caffe keeps the bottom's rank (at least 3): (N, 1 or 2 with out_max_val, top_k, 1...)
        out = [1] * max(3, len(shape))
        out[0], out[1], out[2] = shape[0], 2 if p.out_max_val else 1, p.top_k
        return LayerShapes(tops=(tuple(out),))
    axis = canonical_axis(p.axis, len(shape), layer)
    if p.top_k > shape[axis]:
        raise ValidationError("top_k exceeds the axis size", layer=layer.name, field="top_k")
    out = list(shape)
    out[axis] = p.top_k
    return LayerShapes(tops=(tuple(out),))
