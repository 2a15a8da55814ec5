"""SSD's DetectionOutput (weiliu89/caffe; the oracle brocolli-caffe runs the same CPU code):
params, shape rule and builder.

Caffe's top is (1, 1, n, 7) with n known only at run time (every kept row of every image, or one
"no detection" row per image when the whole batch has none). A Keras model needs a fixed shape, so
the converter's top is (N, K, 7): K = ``keep_top_k`` when it is set (> -1), else the largest count
possible (the non-background classes x the per-class candidates), the rows of sample i in Caffe's
order, unused rows -1. :func:`caffe2keras.verify.detections.caffe_rows` turns it back into Caffe's
rows; verification compares detection blobs row by row (``caffe2keras/verify/detections.py``).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from caffe2keras.errors import UnsupportedParameterError, ValidationError
from caffe2keras.frontend.params.registry import param_parser, require
from caffe2keras.ir.graph import Layer, Shape
from caffe2keras.ir.shapes.registry import LayerShapes, shape_rule
from caffe2keras.keras_model.registry import BuildContext, BuildResult, builder

ORIGIN = "SSD (weiliu89/caffe)"
FLT_MAX = 3.4028234663852886e38  # <cfloat>'s FLT_MAX: Caffe's threshold when none is given
CODE_TYPES = {1: "CORNER", 2: "CENTER_SIZE", 3: "CORNER_SIZE"}  # PriorBoxParameter.CodeType


@dataclass(frozen=True)
class DetectionOutputParams:
    num_classes: int
    share_location: bool
    background_label_id: int
    code_type: str  # "CORNER", "CENTER_SIZE" or "CORNER_SIZE"
    variance_encoded_in_target: bool
    keep_top_k: int  # -1 (or below): keep every detection
    confidence_threshold: float  # strict: a score is kept when > this (-FLT_MAX when unset)
    nms_threshold: float
    eta: float
    top_k: int  # per class, before NMS; -1: all
    clip: bool  # OpenCV's field: decoded boxes clipped to [0, 1] (Caffe's CPU path never clips)

    @property
    def num_loc_classes(self) -> int:
        return 1 if self.share_location else self.num_classes

    @property
    def labels(self) -> tuple[int, ...]:
        """The classes that get detections: every class but the background (none when -1)."""
        return tuple(c for c in range(self.num_classes) if c != self.background_label_id)


@param_parser("DetectionOutput")
def parse_detection_output(layer_pb: Any) -> DetectionOutputParams:
    p = layer_pb.detection_output_param
    require(p.HasField("num_classes"), layer_pb, "num_classes", "DetectionOutput needs num_classes")
    require(p.num_classes > 0, layer_pb, "num_classes", "num_classes must be positive")
    # brocolli-caffe (the goldens' Caffe) skips NMS *and* the threshold without nms_param, while
    # weiliu89/caffe and OpenCV run NMS with nms_param's defaults: the forks disagree, refuse.
    require(
        p.HasField("nms_param"),
        layer_pb,
        "nms_param",
        "DetectionOutput without nms_param: SSD forks disagree on its meaning "
        "(weiliu89/caffe applies NMS with threshold 0.3, brocolli-caffe keeps every box); "
        "give nms_param { nms_threshold: ... } explicitly",
    )
    # DecodeBBoxesAll skips the location label equal to background_label_id, and the shared
    # location's label is -1: Caffe (and OpenCV) abort "Could not find location predictions".
    require(
        not (p.share_location and p.background_label_id == -1),
        layer_pb,
        "background_label_id",
        "background_label_id -1 with share_location: Caffe aborts ('Could not find location "
        "predictions for label -1'); use share_location: false for a net without background",
    )
    nms = p.nms_param
    require(nms.nms_threshold >= 0, layer_pb, "nms_param.nms_threshold", "must be non-negative")
    require(0 < nms.eta <= 1, layer_pb, "nms_param.eta", f"must be in (0, 1], got {nms.eta}")
    require(p.code_type in CODE_TYPES, layer_pb, "code_type", f"unknown code_type {p.code_type}")
    return DetectionOutputParams(
        num_classes=int(p.num_classes),
        share_location=bool(p.share_location),
        background_label_id=int(p.background_label_id),
        code_type=CODE_TYPES[p.code_type],
        variance_encoded_in_target=bool(p.variance_encoded_in_target),
        keep_top_k=int(p.keep_top_k),
        confidence_threshold=float(p.confidence_threshold)
        if p.HasField("confidence_threshold")
        else -FLT_MAX,
        nms_threshold=float(nms.nms_threshold),
        eta=float(nms.eta),
        top_k=int(nms.top_k) if nms.HasField("top_k") else -1,
        clip=bool(p.clip),
    )


def num_priors(layer: Layer, bottoms: list[Shape]) -> int:
    """The prior count, checked against the three bottoms as Caffe's Reshape does."""
    if len(bottoms) != 3:
        raise UnsupportedParameterError(
            f"{len(bottoms)} bottoms: the converter takes (loc, conf, prior)",
            layer=layer.name,
            field="bottom",
        )
    loc, conf, prior = bottoms
    if len(prior) != 3 or prior[1] != 2 or prior[2] % 4:
        raise ValidationError(
            f"the prior bottom has shape {list(prior)}: expected PriorBox's (1, 2, 4 x priors)",
            layer=layer.name,
            field="bottom",
        )
    priors = prior[2] // 4
    p: DetectionOutputParams = layer.params
    for shape, per, what in ((loc, p.num_loc_classes * 4, "location"), (conf, p.num_classes, "")):
        count = 1
        for d in shape[1:]:
            count *= d
        if count != priors * per or shape[1] != count:
            raise ValidationError(
                f"bottom of shape {list(shape)} does not hold {priors} priors x {per} "
                f"{what or 'confidence'} values per sample (Caffe: 'Number of priors must match "
                f"number of {what or 'confidence'} predictions')",
                layer=layer.name,
                field="bottom",
            )
    if loc[0] != conf[0]:
        raise ValidationError(
            "loc and conf have different batch sizes", layer=layer.name, field="bottom"
        )
    return priors


def candidates_per_class(params: DetectionOutputParams, priors: int) -> int:
    """How many boxes of one class enter NMS: ``top_k`` of them when set, else every prior (at
    least 1: with ``top_k`` 0 that one is never valid)."""
    return max(min(params.top_k, priors) if params.top_k > -1 else priors, 1)


def max_rows(params: DetectionOutputParams, priors: int) -> int:
    """K, the rows per sample of the converter's top (at least 1; the Keras layer's ``rows``)."""
    possible = len(params.labels) * candidates_per_class(params, priors)
    if params.keep_top_k > -1:
        possible = min(possible, params.keep_top_k)
    return max(possible, 1)


@shape_rule("DetectionOutput")
def detection_output_shapes(layer: Layer, bottoms: list[Shape]) -> LayerShapes:
    """(N, K, 7): the converter's fixed-size form of Caffe's (1, 1, n, 7) (see the module doc)."""
    priors = num_priors(layer, bottoms)
    return LayerShapes(tops=((bottoms[0][0], max_rows(layer.params, priors), 7),))


def _describe(layer: Layer, bottoms: list[Shape]) -> str:
    p: DetectionOutputParams = layer.params
    rows = max_rows(p, bottoms[2][2] // 4)
    return f"DetectionOutput (custom, keras.ops; {p.code_type}, up to {rows} rows per sample)"


@builder(
    "DetectionOutput",
    emits="DetectionOutput (custom, keras.ops)",
    refine=_describe,
    notes="CORNER/CENTER_SIZE/CORNER_SIZE, per-class NMS with `top_k`/`eta`, `keep_top_k`, "
    "OpenCV's `clip`; top (N, K, 7), unused rows -1",
    origin=ORIGIN,
)
def build_detection_output(layer: Layer, inputs: list[Any], ctx: BuildContext) -> BuildResult:
    """Caffe detection_output_layer.cpp Forward_cpu as one fixed-size keras.ops layer."""
    from caffe2keras.keras_layers.detection import DetectionOutput

    p: DetectionOutputParams = layer.params
    priors = num_priors(layer, ctx.bottom_shapes(layer))
    out = DetectionOutput(
        num_classes=p.num_classes,
        num_priors=priors,
        share_location=p.share_location,
        background_label_id=p.background_label_id,
        code_type=p.code_type,
        variance_encoded_in_target=p.variance_encoded_in_target,
        keep_top_k=p.keep_top_k,
        confidence_threshold=p.confidence_threshold,
        nms_threshold=p.nms_threshold,
        eta=p.eta,
        top_k=p.top_k,
        clip=p.clip,
        name=ctx.names.make(layer.name),
    )
    return BuildResult(outputs=(out(inputs),))
