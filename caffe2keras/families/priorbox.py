"""SSD's PriorBox (weiliu89/caffe ``prior_box_layer.cpp``): the default boxes of one feature
map, which depend only on shapes. Params, shape rule and builder: the builder computes the boxes
with numpy at conversion time into a constant the Keras model repeats for every sample."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from caffe2keras.errors import ValidationError
from caffe2keras.families.normalize import SSD
from caffe2keras.frontend.params.registry import param_parser, require
from caffe2keras.ir.graph import Layer, Shape
from caffe2keras.ir.shapes.registry import LayerShapes, shape_rule
from caffe2keras.keras_model.registry import BuildContext, BuildResult, builder

if TYPE_CHECKING:
    import numpy as np


@dataclass(frozen=True)
class PriorBoxParams:
    """``prior_box_param`` as written (Caffe derives its ratio list and sizes in LayerSetUp)."""

    min_sizes: tuple[float, ...]
    max_sizes: tuple[float, ...]  # empty, or one per min size
    aspect_ratios: tuple[float, ...]  # as listed (before de-duplication and flipping)
    flip: bool
    clip: bool
    variances: tuple[float, ...]  # as listed: none (Caffe uses 0.1), one, or four
    img_h: int  # 0: the image bottom's height
    img_w: int
    step_h: float  # 0: image size / feature map size
    step_w: float
    offset: float
    notes: tuple[str, ...] = field(default=(), compare=False)  # for inspect and the report


def clip_note(name: str) -> str:
    """The note of a PriorBox that leaves ``clip`` out: the forks disagree on its default."""
    return (
        f"PriorBox '{name}' does not set clip: applied clip: true, the default of brocolli-caffe "
        f"(the Caffe our goldens come from); weiliu89/caffe's SSD defaults to clip: false. Set "
        f"clip in the prototxt to choose"
    )


def _img_size(layer_pb: Any) -> tuple[int, int]:
    p = layer_pb.prior_box_param
    if p.HasField("img_h") or p.HasField("img_w"):
        require(
            not p.HasField("img_size"),
            layer_pb,
            "img_size",
            "give img_size or img_h/img_w, not both",
        )
        require(p.img_h > 0, layer_pb, "img_h", f"img_h must be positive, got {p.img_h}")
        require(p.img_w > 0, layer_pb, "img_w", f"img_w must be positive, got {p.img_w}")
        return int(p.img_h), int(p.img_w)
    if p.HasField("img_size"):
        require(p.img_size > 0, layer_pb, "img_size", "img_size must be positive")
        return int(p.img_size), int(p.img_size)
    return 0, 0


def _step(layer_pb: Any) -> tuple[float, float]:
    p = layer_pb.prior_box_param
    if p.HasField("step_h") or p.HasField("step_w"):
        require(not p.HasField("step"), layer_pb, "step", "give step or step_h/step_w, not both")
        require(p.step_h > 0, layer_pb, "step_h", f"step_h must be positive, got {p.step_h}")
        require(p.step_w > 0, layer_pb, "step_w", f"step_w must be positive, got {p.step_w}")
        return float(p.step_h), float(p.step_w)
    if p.HasField("step"):
        require(p.step > 0, layer_pb, "step", f"step must be positive, got {p.step}")
        return float(p.step), float(p.step)
    return 0.0, 0.0


@param_parser("PriorBox")
def parse_prior_box(layer_pb: Any) -> PriorBoxParams:
    """The checks of ``PriorBoxLayer::LayerSetUp``, each naming its field."""
    p = layer_pb.prior_box_param
    mins, maxs = tuple(float(v) for v in p.min_size), tuple(float(v) for v in p.max_size)
    require(len(mins) > 0, layer_pb, "min_size", "PriorBox needs min_size")
    require(all(v > 0 for v in mins), layer_pb, "min_size", "min_size must be positive")
    require(
        not maxs or len(maxs) == len(mins),
        layer_pb,
        "max_size",
        f"{len(maxs)} max_size values for {len(mins)} min_size values",
    )
    require(
        all(b > a for a, b in zip(mins, maxs)),
        layer_pb,
        "max_size",
        "max_size must be greater than min_size",
    )
    variances = tuple(float(v) for v in p.variance)
    require(
        len(variances) in (0, 1, 4),
        layer_pb,
        "variance",
        f"give 1 or 4 variance values, got {len(variances)}",
    )
    require(all(v > 0 for v in variances), layer_pb, "variance", "variance must be positive")
    (img_h, img_w), (step_h, step_w) = _img_size(layer_pb), _step(layer_pb)
    return PriorBoxParams(
        min_sizes=mins,
        max_sizes=maxs,
        aspect_ratios=tuple(float(v) for v in p.aspect_ratio),
        flip=bool(p.flip),
        clip=bool(p.clip),
        variances=variances,
        img_h=img_h,
        img_w=img_w,
        step_h=step_h,
        step_w=step_w,
        offset=float(p.offset),
        notes=() if p.HasField("clip") else (clip_note(layer_pb.name),),
    )


def box_ratios(p: PriorBoxParams) -> list[float]:
    """The aspect ratios besides 1: each listed ratio unless within 1e-6 of one already kept
    (1 is kept first), followed by its inverse when ``flip``."""
    kept = [1.0]
    for ratio in p.aspect_ratios:
        if all(abs(ratio - k) >= 1e-6 for k in kept):
            kept += [ratio, 1.0 / ratio] if p.flip else [ratio]
    return [r for r in kept if abs(r - 1.0) >= 1e-6]


def priors_per_cell(p: PriorBoxParams) -> int:
    return len(p.min_sizes) * (1 + len(box_ratios(p))) + len(p.max_sizes)


def _hw(shape: Shape) -> tuple[int, int]:
    """Caffe's legacy ``height()``/``width()``: axes 2 and 3, 1 where the blob has fewer."""
    return (shape[2] if len(shape) > 2 else 1), (shape[3] if len(shape) > 3 else 1)


@shape_rule("PriorBox")
def prior_box_shapes(layer: Layer, bottoms: list[Shape]) -> LayerShapes:
    """(1, 2, H * W * priors * 4) whatever the batch: boxes, then variances."""
    if len(bottoms) != 2:
        raise ValidationError(
            f"PriorBox needs 2 bottoms (feature map, image), got {len(bottoms)}",
            layer=layer.name,
            field="bottom",
        )
    for shape in bottoms:
        if len(shape) > 4:
            raise ValidationError(
                f"PriorBox reads height and width of bottoms of at most 4 axes, got {list(shape)}",
                layer=layer.name,
                field="bottom",
            )
    h, w = _hw(bottoms[0])
    return LayerShapes(tops=((1, 2, h * w * priors_per_cell(layer.params) * 4),))


def half_sizes(p: PriorBoxParams) -> list[tuple[float, float]]:
    """(width / 2, height / 2) of each prior of a cell, in Caffe's order: per min size, the
    square of min size, the square of sqrt(min * max), then one box per ratio (ratios and box
    sides are Caffe floats). Caffe truncates the sizes to integers (``int min_size_ =
    min_sizes_[s]``) before using them."""
    import numpy as np

    f32 = np.float32
    ratios = [f32(r) for r in box_ratios(p)]
    out = []
    for s, min_size in enumerate(p.min_sizes):
        size = int(min_size)
        sides = [(f32(size), f32(size))]
        if p.max_sizes:
            side = f32(np.sqrt(float(size * int(p.max_sizes[s]))))
            sides.append((side, side))
        sides += [(f32(size * np.sqrt(r)), f32(size / np.sqrt(r))) for r in ratios]
        out += [(float(w) / 2, float(h) / 2) for w, h in sides]
    return out


def prior_boxes(p: PriorBoxParams, feature: Shape, image: Shape) -> np.ndarray:
    """Caffe's PriorBox top for these bottom shapes, (1, 2, H * W * priors * 4), float32.

    Cells in row-major order (h, then w), priors within a cell, (xmin, ymin, xmax, ymax) each:
    centre ((w + offset) * step_w, (h + offset) * step_h) (float32, as Caffe's floats), the box
    edges in double, divided by the image size; then clipped to [0, 1] when ``clip``. Row 1
    holds the variances (one value everywhere, or the four repeated per box)."""
    import numpy as np

    height, width = _hw(feature)
    img_h, img_w = (p.img_h, p.img_w) if p.img_h and p.img_w else _hw(image)
    f32 = np.float32
    if p.step_h and p.step_w:
        step_h, step_w = f32(p.step_h), f32(p.step_w)
    else:
        step_h, step_w = f32(img_h) / f32(height), f32(img_w) / f32(width)
    offset = f32(p.offset)
    cy = ((np.arange(height, dtype=f32) + offset) * step_h).astype(np.float64)
    cx = ((np.arange(width, dtype=f32) + offset) * step_w).astype(np.float64)
    half = np.array(half_sizes(p), np.float64)
    grid_y, grid_x = np.meshgrid(cy, cx, indexing="ij")  # (H, W)
    x, y = grid_x[..., None], grid_y[..., None]  # against the priors: (H, W, P)
    hw, hh = half[:, 0], half[:, 1]
    corners = np.stack([(x - hw) / img_w, (y - hh) / img_h, (x + hw) / img_w, (y + hh) / img_h], -1)
    boxes = corners.astype(np.float32).reshape(-1)
    if p.clip:
        boxes = np.clip(boxes, f32(0), f32(1))
    variances = np.array(p.variances or (0.1,), np.float32)
    per_box = np.resize(variances, boxes.size) if variances.size == 4 else variances[0]
    return np.stack([boxes, np.broadcast_to(per_box, boxes.shape)])[None].astype(np.float32)


def _describe(layer: Layer, bottoms: list[Shape]) -> str:
    h, w = _hw(bottoms[0])
    n = h * w * priors_per_cell(layer.params)
    return f"BatchConstant (custom, keras.ops; {n} priors computed at conversion)"


@builder(
    "PriorBox",
    emits="BatchConstant (custom, keras.ops; the boxes computed at conversion)",
    refine=_describe,
    notes="all of `prior_box_param`; output (N, 2, 4·priors), the same for every sample; "
    "`clip` defaults to true (brocolli-caffe; weiliu89/caffe: false), noted when omitted",
    origin=SSD,
)
def build_prior_box(layer: Layer, inputs: list[Any], ctx: BuildContext) -> BuildResult:
    """prior_box_layer.cpp reads only its bottoms' shapes: the boxes are one constant."""
    from caffe2keras.layers import BatchConstant

    feature, image = ctx.bottom_shapes(layer)
    value = prior_boxes(layer.params, feature, image)[0]
    const = BatchConstant(value.shape, name=ctx.names.make(layer.name))
    return BuildResult(outputs=(const(inputs[0]),), weights=((const, (value,)),))
