"""brocolli-caffe's Pad (``pad_layer.cpp``): params, shape and builder.

``pad_param { pad_type pad_u pad_d pad_l pad_r pad_value }`` pads an N, C, H, W blob by its own
amount on each side:

- CONSTANT writes ``pad_value``; REPLICATE repeats the edge row/column; REFLECT mirrors without
  repeating the edge (rows pad_u + 1, pad_u + 2, ... go above), as numpy's ``reflect``. Rows are
  done after columns, so the corners come out as a 2-D pad of the same mode.
- Negative amounts crop, in every mode, but only when all four are negative (Caffe's crop
  branch): with mixed signs Caffe writes outside its blobs, refused here.
- REFLECT reads its source rows from the blob being written: an amount of H (or W) or more reads
  rows not yet written (Caffe's result is garbage), refused; amounts up to H - 1 are exact.
- Caffe refuses in-place Pad (top == bottom), and so do we.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from caffe2keras.errors import UnsupportedParameterError, ValidationError
from caffe2keras.frontend.params.registry import param_parser, require
from caffe2keras.ir.graph import Layer, Shape
from caffe2keras.ir.shapes.geometry import need_4d
from caffe2keras.ir.shapes.registry import LayerShapes, shape_rule
from caffe2keras.keras_model.registry import BuildContext, BuildResult, builder

PAD_TYPES = {0: "CONSTANT", 1: "REPLICATE", 2: "REFLECT"}
SIDES = ("pad_u", "pad_d", "pad_l", "pad_r")


@dataclass(frozen=True)
class PadParams:
    mode: str  # "CONSTANT" | "REPLICATE" | "REFLECT"
    pads: tuple[tuple[int, int], tuple[int, int]]  # ((pad_u, pad_d), (pad_l, pad_r))
    value: float

    @property
    def crops(self) -> bool:
        """Whether every amount is negative: then Caffe crops (whatever the mode)."""
        return all(a < 0 for pair in self.pads for a in pair)


@param_parser("Pad")
def parse_pad(layer_pb: Any) -> PadParams:
    p = layer_pb.pad_param
    amounts = {side: int(getattr(p, side)) for side in SIDES}
    negative = [side for side, a in amounts.items() if a < 0]
    require(
        not negative or len(negative) == len(SIDES),
        layer_pb,
        negative[0] if negative else "pad_u",
        f"negative amounts crop only when all four are negative (Caffe's crop branch), got "
        f"{amounts}",
    )
    require(
        list(layer_pb.top) != list(layer_pb.bottom),
        layer_pb,
        "top",
        "Pad cannot be computed in place (Caffe checks top != bottom)",
    )
    return PadParams(
        mode=PAD_TYPES[int(p.pad_type)],
        pads=((amounts["pad_u"], amounts["pad_d"]), (amounts["pad_l"], amounts["pad_r"])),
        value=float(p.pad_value),
    )


@shape_rule("Pad")
def pad_shapes(layer: Layer, bottoms: list[Shape]) -> LayerShapes:
    """``pad_layer.cpp`` Reshape: H + pad_u + pad_d, W + pad_l + pad_r (4-D blobs: Caffe's
    Forward reads num/channels/height/width, wrong for other ranks)."""
    shape = bottoms[0]
    need_4d(layer, shape)
    n, c, h, w = shape
    p = layer.params
    (u, d), (left, right) = p.pads
    out = (h + u + d, w + left + right)
    for size, field in zip(out, ("pad_d", "pad_r")):
        if size <= 0:
            raise ValidationError(
                f"the crop leaves no {'rows' if field == 'pad_d' else 'columns'} of {h}x{w}",
                layer=layer.name,
                field=field,
            )
    if p.mode == "REFLECT" and not p.crops:
        for side, amount, size in zip(SIDES, (u, d, left, right), (h, h, w, w)):
            if amount >= size:
                raise UnsupportedParameterError(
                    f"REFLECT by {amount} needs more than {size} rows/columns (Caffe would read "
                    "rows it has not written)",
                    layer=layer.name,
                    field=side,
                )
    return LayerShapes(tops=((n, c, *out),))


def _describe(layer: Layer, bottoms: list[Shape]) -> str:
    p = layer.params
    if p.crops:
        return "Cropping2D"
    if p.mode == "CONSTANT" and p.value == 0.0:
        return "ZeroPadding2D"
    return f"Pad2D ({p.mode.lower()}, custom)"


@builder(
    "Pad",
    emits="ZeroPadding2D / Cropping2D / Pad2D (custom, keras.ops)",
    refine=_describe,
    notes="CONSTANT (`pad_value`), REPLICATE, REFLECT; per-side amounts; all four negative crop",
    origin="brocolli-caffe (inisis/caffe)",
)
def build_pad(layer: Layer, inputs: list[Any], ctx: BuildContext) -> BuildResult:
    """Cropping2D when all amounts are negative, ZeroPadding2D for a zero CONSTANT pad, else
    :class:`caffe2keras.keras_layers.padding.Pad2D` (keras.ops.pad has no edge mode on TensorFlow
    and no standard layer pads with a value or a mirror)."""
    import keras

    from caffe2keras.keras_layers.padding import Pad2D

    p = layer.params
    name = ctx.names.make(layer.name)
    if p.crops:
        crop = tuple((-a, -b) for a, b in p.pads)
        return BuildResult(outputs=(keras.layers.Cropping2D(crop, name=name)(inputs[0]),))
    if p.mode == "CONSTANT" and p.value == 0.0:
        return BuildResult(outputs=(keras.layers.ZeroPadding2D(p.pads, name=name)(inputs[0]),))
    pad = Pad2D(p.pads, mode=p.mode.lower(), value=p.value, name=name)
    return BuildResult(outputs=(pad(inputs[0]),))
