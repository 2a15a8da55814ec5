"""Bilinear resizing: brocolli-caffe's ``BilinearInterpolate`` and PSPNet/DeepLab's ``Interp``.

Both are separable: out = A_h . x . A_w^T per (N, C) plane, with constant matrices whose rows
hold the (at most two) interpolation weights of each output row/column, computed with the
fork's float32 coordinate arithmetic. Keras' resize has no align-corners mode, so each matrix is
a bias-free, frozen ``Dense`` along W, then along H (the order of the forks' own sums), between
``Permute`` layers: standard layers, exact for finite inputs (an inf or NaN input spreads NaN
along its whole row/column through the matrices' zeros, where the forks touch four neighbours).

- ``BilinearInterpolate`` (``bilinear_interpolate_layer.cpp``): size ``dst_h``/``dst_w`` (a
  missing one keeps the bottom's) or ``int(bottom * scale_factor)``; source coordinate
  ``(i + 0.5) * src / dst - 0.5`` (``align_corners: false``) or ``i * (src - 1) / (dst - 1)``,
  clamped to [0, src - 1]; the lower neighbour is clamped to [0, src - 2].
- ``Interp`` (PSPNet ``interp_layer.cpp`` + ``util/interp.cpp``): the bottom cropped by
  ``pad_beg``/``pad_end`` (<= 0; the crop starts at ``-pad_beg`` on both axes), then align-corners
  interpolation; the size from, in this order: ``shrink_factor`` alone, ``zoom_factor`` alone,
  ``height`` and ``width``, both factors (shrink, then zoom).
"""

from __future__ import annotations

import struct
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from caffe2keras.errors import ValidationError
from caffe2keras.frontend.params.registry import param_parser, require
from caffe2keras.ir.graph import Layer, Shape
from caffe2keras.ir.shapes.geometry import need_4d
from caffe2keras.ir.shapes.registry import LayerShapes, shape_rule
from caffe2keras.keras_model.registry import BuildContext, BuildResult, builder

if TYPE_CHECKING:
    import numpy as np

Pair = tuple[int, int]


@dataclass(frozen=True)
class BilinearParams:
    dst_h: int | None  # None: the bottom's (or from scale_factor)
    dst_w: int | None
    scale_factor: float | None  # set only when no dst_h/dst_w is
    align_corners: bool


@param_parser("BilinearInterpolate")
def parse_bilinear(layer_pb: Any) -> BilinearParams:
    """bilinear_interpolate_param: dst_h/dst_w or scale_factor (one of the two forms)."""
    p = layer_pb.bilinear_interpolate_param
    has_dst = p.HasField("dst_h") or p.HasField("dst_w")
    require(
        has_dst != p.HasField("scale_factor"),
        layer_pb,
        "scale_factor",
        "give dst_h/dst_w or scale_factor (exactly one form; brocolli-caffe leaves the size "
        "undefined otherwise)",
    )
    if has_dst:
        for name in ("dst_h", "dst_w"):
            require(
                not p.HasField(name) or getattr(p, name) > 0, layer_pb, name, f"{name} must be > 0"
            )
        return BilinearParams(
            int(p.dst_h) if p.HasField("dst_h") else None,
            int(p.dst_w) if p.HasField("dst_w") else None,
            None,
            bool(p.align_corners),
        )
    require(p.scale_factor > 0, layer_pb, "scale_factor", "scale_factor must be > 0")
    return BilinearParams(None, None, float(p.scale_factor), bool(p.align_corners))


def bilinear_out(layer: Layer, bottom: Shape) -> Pair:
    """The output (H, W): dst_h/dst_w (the bottom's where missing) or int(size * scale_factor)
    in float32, as C++ ``int(int * float)``."""
    p = layer.params
    if p.scale_factor is not None:  # no numpy here: inspect runs shape rules
        return int(_f32(bottom[2] * _f32(p.scale_factor))), int(
            _f32(bottom[3] * _f32(p.scale_factor))
        )
    return (p.dst_h or bottom[2], p.dst_w or bottom[3])


def _f32(value: float) -> float:
    """``value`` rounded to float32 (to nearest, as a C++ float product is)."""
    return float(struct.unpack("f", struct.pack("f", value))[0])


@shape_rule("BilinearInterpolate")
def bilinear_shapes(layer: Layer, bottoms: list[Shape]) -> LayerShapes:
    need_4d(layer, bottoms[0])
    n, c, h, w = bottoms[0]
    out = bilinear_out(layer, bottoms[0])
    for src, dst, name in ((h, out[0], "dst_h"), (w, out[1], "dst_w")):
        if dst <= 0:
            raise ValidationError(f"the output size {out} is empty", layer=layer.name, field=name)
        if layer.params.align_corners and dst == 1 and src > 1:
            raise ValidationError(
                "align_corners with an output size of 1 divides by zero in brocolli-caffe",
                layer=layer.name,
                field=name,
            )
    return LayerShapes(tops=((n, c) + out,))


@dataclass(frozen=True)
class InterpParams:
    size: Pair | None  # height/width when both are given
    zoom: int | None
    shrink: int | None
    pad_beg: int
    pad_end: int


@param_parser("Interp")
def parse_interp(layer_pb: Any) -> InterpParams:
    """interp_param with PSPNet's checks (pads <= 0, factors >= 1, some size rule applies)."""
    p = layer_pb.interp_param
    for name in ("pad_beg", "pad_end"):
        require(
            getattr(p, name) <= 0,
            layer_pb,
            name,
            f"{name} must be <= 0 (PSPNet's Interp only crops), got {getattr(p, name)}",
        )
    for name in ("zoom_factor", "shrink_factor"):
        require(
            not p.HasField(name) or getattr(p, name) >= 1,
            layer_pb,
            name,
            f"{name} must be >= 1, got {getattr(p, name)}",
        )
    size = (int(p.height), int(p.width)) if p.HasField("height") and p.HasField("width") else None
    zoom = int(p.zoom_factor) if p.HasField("zoom_factor") else None
    shrink = int(p.shrink_factor) if p.HasField("shrink_factor") else None
    require(
        size is not None or zoom is not None or shrink is not None,
        layer_pb,
        "height",
        "give height and width, zoom_factor, or shrink_factor",
    )
    return InterpParams(size, zoom, shrink, int(p.pad_beg), int(p.pad_end))


def interp_out(layer: Layer, bottom: Shape) -> Pair:
    """``interp_layer.cpp`` Reshape: the output size, rules in Caffe's order of precedence."""
    p = layer.params
    eff = (bottom[2] + p.pad_beg + p.pad_end, bottom[3] + p.pad_beg + p.pad_end)
    if min(eff) <= 0:
        raise ValidationError(
            f"the pads crop the {bottom[2]}x{bottom[3]} bottom to nothing",
            layer=layer.name,
            field="pad_end",
        )
    if p.shrink is not None and p.zoom is None:
        return ((eff[0] - 1) // p.shrink + 1, (eff[1] - 1) // p.shrink + 1)
    if p.zoom is not None and p.shrink is None:
        return (eff[0] + (eff[0] - 1) * (p.zoom - 1), eff[1] + (eff[1] - 1) * (p.zoom - 1))
    if p.size is not None:
        return p.size
    shrunk = ((eff[0] - 1) // p.shrink + 1, (eff[1] - 1) // p.shrink + 1)
    return (shrunk[0] + (shrunk[0] - 1) * (p.zoom - 1), shrunk[1] + (shrunk[1] - 1) * (p.zoom - 1))


@shape_rule("Interp")
def interp_shapes(layer: Layer, bottoms: list[Shape]) -> LayerShapes:
    if len(bottoms) != 1:
        raise ValidationError(
            f"takes one bottom, got {len(bottoms)}", layer=layer.name, field="bottom"
        )
    need_4d(layer, bottoms[0])
    out = interp_out(layer, bottoms[0])
    if min(out) <= 0:
        raise ValidationError(f"the output size {out} is empty", layer=layer.name, field="height")
    return LayerShapes(tops=(tuple(bottoms[0][:2]) + out,))


def bilinear_matrix(src: int, dst: int, align_corners: bool) -> np.ndarray:
    """(dst, src) weights of ``bilinear_interpolate_layer.cpp`` along one axis."""
    import numpy as np

    i = np.arange(dst)
    if align_corners:
        ratio = np.float32(src - 1) / np.float32(dst - 1) if dst > 1 else np.float32(0)
        pos = (ratio * i.astype(np.float32)).astype(np.float32)
    else:  # float ratio, then double arithmetic, stored as float
        ratio = np.float32(src) / np.float32(dst)
        pos = (np.float64(ratio) * (i + 0.5) - 0.5).astype(np.float32)
    pos = np.clip(pos, np.float32(0), np.float32(src - 1))
    low = np.clip(np.floor(pos).astype(np.int64), 0, src - 2)  # -1 when src == 1
    a = np.zeros((dst, src), np.float32)
    upper = (pos - low.astype(np.float32)).astype(np.float32)
    lower = ((low + 1).astype(np.float32) - pos).astype(np.float32)
    keep = low >= 0  # src == 1: the lower neighbour (row -1) has weight 0
    np.add.at(a, (i[keep], low[keep]), lower[keep])
    np.add.at(a, (i, low + 1), upper)
    return a


def interp_matrix(src: int, start: int, eff: int, dst: int) -> np.ndarray:
    """(dst, src) weights of ``util/interp.cpp`` (align corners) over rows start..start+eff-1."""
    import numpy as np

    ratio = np.float32(eff - 1) / np.float32(dst - 1) if dst > 1 else np.float32(0)
    i = np.arange(dst)
    pos = (ratio * i.astype(np.float32)).astype(np.float32)
    low = pos.astype(np.int64)  # C++ int(float): truncation (pos >= 0)
    step = (low < eff - 1).astype(np.int64)
    upper = (pos - low.astype(np.float32)).astype(np.float32)
    a = np.zeros((dst, src), np.float32)
    np.add.at(a, (i, start + low), np.float32(1) - upper)
    np.add.at(a, (i, start + low + step), upper)
    return a


def _separable(
    layer: Layer, x: Any, ctx: BuildContext, rows: np.ndarray, cols: np.ndarray
) -> BuildResult:
    """x (N, H, W, C) -> rows . x . cols^T per plane: Dense along W, then along H."""
    import keras
    import numpy as np

    weights = []
    y = keras.layers.Permute((1, 3, 2), name=ctx.names.make(layer.name, "to_w"))(x)
    for axis, a in (("w", cols), ("h", rows)):
        if not (a.shape[0] == a.shape[1] and np.array_equal(a, np.eye(a.shape[0]))):
            dense = keras.layers.Dense(
                a.shape[0],
                use_bias=False,
                trainable=False,
                kernel_initializer="zeros",
                name=ctx.names.make(layer.name, axis),
            )
            y = dense(y)
            weights.append((dense, (np.ascontiguousarray(a.T),)))
        if axis == "w":  # (N, H, C, W') -> (N, W', C, H)
            y = keras.layers.Permute((3, 2, 1), name=ctx.names.make(layer.name, "to_h"))(y)
    y = keras.layers.Permute((3, 1, 2), name=ctx.names.make(layer.name))(y)
    return BuildResult(outputs=(y,), weights=tuple(weights))


def _describe_bilinear(layer: Layer, bottoms: list[Shape]) -> str:
    h, w = bilinear_out(layer, bottoms[0])
    mode = "align corners" if layer.params.align_corners else "half-pixel"
    return f"Permute + Dense (bilinear to {h}x{w}, {mode})"


def _describe_interp(layer: Layer, bottoms: list[Shape]) -> str:
    h, w = interp_out(layer, bottoms[0])
    return f"Permute + Dense (bilinear to {h}x{w}, align corners)"


@builder(
    "BilinearInterpolate",
    emits="Permute + Dense (constant interpolation matrices, frozen)",
    refine=_describe_bilinear,
    notes="`dst_h`/`dst_w` or `scale_factor`; `align_corners` true and false, with "
    "brocolli-caffe's coordinate arithmetic",
    origin="brocolli-caffe",
)
def build_bilinear(layer: Layer, inputs: list[Any], ctx: BuildContext) -> BuildResult:
    """Bilinear resize as two constant matrix products."""
    _, _, h, w = ctx.bottom_shapes(layer)[0]
    out = bilinear_out(layer, ctx.bottom_shapes(layer)[0])
    align = layer.params.align_corners
    rows, cols = bilinear_matrix(h, out[0], align), bilinear_matrix(w, out[1], align)
    return _separable(layer, inputs[0], ctx, rows, cols)


@builder(
    "Interp",
    emits="Permute + Dense (constant interpolation matrices, frozen)",
    refine=_describe_interp,
    notes="align-corners bilinear; `height`/`width`, `zoom_factor`, `shrink_factor` (PSPNet's "
    "order of precedence), cropping `pad_beg`/`pad_end`",
    origin="PSPNet (hszhao/PSPNet)",
)
def build_interp(layer: Layer, inputs: list[Any], ctx: BuildContext) -> BuildResult:
    """PSPNet's Interp as two constant matrix products (the crop folded into them)."""
    bottom = ctx.bottom_shapes(layer)[0]
    p = layer.params
    out = interp_out(layer, bottom)
    start = -p.pad_beg  # interp_layer.cpp passes -pad_beg as both the row and column offset
    eff = (bottom[2] + p.pad_beg + p.pad_end, bottom[3] + p.pad_beg + p.pad_end)
    rows = interp_matrix(bottom[2], start, eff[0], out[0])
    cols = interp_matrix(bottom[3], start, eff[1], out[1])
    return _separable(layer, inputs[0], ctx, rows, cols)
