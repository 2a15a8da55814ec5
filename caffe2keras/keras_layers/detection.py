"""SSD's DetectionOutput as a fixed-size, serializable ``keras.ops`` layer (TensorFlow and JAX).

Caffe (weiliu89/caffe ``detection_output_layer.cpp`` Forward_cpu, ``bbox_util.cpp``) decodes every
prior's box, then per image and per non-background class keeps the scores strictly above
``confidence_threshold``, sorts them in decreasing order (``std::stable_sort``: ties keep the lower
prior first), cuts them to ``top_k`` and runs greedy NMS (a box survives when its overlap with every
box kept before it is <= the threshold, which ``eta`` lowers after each kept box while it is above
0.5); then keeps the ``keep_top_k`` best of the image, written in label order, each label's boxes
in decreasing score.

Here every step has a fixed size: the candidates of a class are the ``top_k`` best scores
(``ops.top_k``, which puts the lower index first among equal values on both backends), NMS is a
``fori_loop`` over those candidates for all images and classes at once, and the image's best are
chosen by another ``top_k`` over the kept candidates in (label, rank) order. The output is
(N, K, 7): the rows of sample i, then rows of -1.
"""

from __future__ import annotations

from typing import Any

import keras
from keras import ops

_register = keras.saving.register_keras_serializable(package="caffe2keras")

FLT_MAX = 3.4028234663852886e38
CODE_TYPES = ("CORNER", "CENTER_SIZE", "CORNER_SIZE")
_FIELDS = (
    "num_classes",
    "num_priors",
    "share_location",
    "background_label_id",
    "code_type",
    "variance_encoded_in_target",
    "keep_top_k",
    "confidence_threshold",
    "nms_threshold",
    "eta",
    "top_k",
    "clip",
)


@_register
class DetectionOutput(keras.layers.Layer):
    """Inputs ``[loc (N, P*L*4), conf (N, P*C), prior (B, 2, P*4)]`` (only the first prior
    sample is read: Caffe's PriorBox blob has batch 1); output (N, :attr:`rows`, 7), rows
    ``[image, label, score, xmin, ymin, xmax, ymax]``, unused rows -1."""

    def __init__(
        self,
        num_classes: int,
        num_priors: int,
        share_location: bool = True,
        background_label_id: int = 0,
        code_type: str = "CORNER",
        variance_encoded_in_target: bool = False,
        keep_top_k: int = -1,
        confidence_threshold: float = -FLT_MAX,
        nms_threshold: float = 0.3,
        eta: float = 1.0,
        top_k: int = -1,
        clip: bool = False,
        **kwargs: Any,
    ) -> None:
        super().__init__(**kwargs)
        if code_type not in CODE_TYPES:
            raise ValueError(f"code_type must be one of {CODE_TYPES}, got {code_type!r}")
        self.num_classes = int(num_classes)
        self.num_priors = int(num_priors)
        self.share_location = bool(share_location)
        self.background_label_id = int(background_label_id)
        self.code_type = code_type
        self.variance_encoded_in_target = bool(variance_encoded_in_target)
        self.keep_top_k = int(keep_top_k)
        self.confidence_threshold = float(confidence_threshold)
        self.nms_threshold = float(nms_threshold)
        self.eta = float(eta)
        self.top_k = int(top_k)
        self.clip = bool(clip)

    @property
    def labels(self) -> list[int]:
        return [c for c in range(self.num_classes) if c != self.background_label_id]

    @property
    def candidates(self) -> int:
        """Boxes per class entering NMS (at least 1: a ``top_k`` of 0 leaves them all invalid)."""
        t = min(self.top_k, self.num_priors) if self.top_k > -1 else self.num_priors
        return max(t, 1)

    @property
    def rows(self) -> int:
        """K: ``keep_top_k`` when set, else every candidate of every class (at least 1)."""
        possible = len(self.labels) * self.candidates
        return max(min(possible, self.keep_top_k) if self.keep_top_k > -1 else possible, 1)

    def call(self, inputs: Any) -> Any:
        loc, conf, prior = inputs
        coords, sizes = self._decode(loc, prior)
        n_loc = 1 if self.share_location else self.num_classes
        scores = ops.transpose(
            ops.reshape(conf, (-1, self.num_priors, self.num_classes)), (0, 2, 1)
        )
        scores = ops.take(scores, self.labels, axis=1)  # (N, C', P)
        loc_index = [0] * len(self.labels) if n_loc == 1 else self.labels
        coords = [ops.take(c, loc_index, axis=1) for c in coords]
        sizes = ops.take(sizes, loc_index, axis=1)
        # per class: the best `top_k` strictly above the threshold, decreasing, ties lower first
        thr = ops.cast(self.confidence_threshold, scores.dtype)
        masked = ops.where(scores > thr, scores, ops.cast(float("-inf"), scores.dtype))
        values, order = ops.top_k(masked, self.candidates, sorted=True)
        valid = values > thr
        if self.top_k == 0:
            valid = ops.logical_and(valid, False)
        coords = [ops.take_along_axis(c, order, axis=2) for c in coords]
        sizes = ops.take_along_axis(sizes, order, axis=2)
        keep = self._nms(coords, sizes, valid)
        return self._rows(values, coords, keep, loc)

    def _decode(self, loc: Any, prior: Any) -> tuple[list[Any], Any]:
        """bbox_util.cpp DecodeBBox per prior: four (N, L, P) coordinate planes and the box sizes
        (0 for an inverted box), computed before clipping in Caffe; OpenCV's ``clip`` clips to
        [0, 1] and sizes the clipped box."""
        n_loc = 1 if self.share_location else self.num_classes
        p = self.num_priors
        pr = ops.reshape(prior[:1], (2, p, 4))
        box = [pr[0, :, k] for k in range(4)]
        var = [pr[1, :, k] for k in range(4)]
        offsets = ops.transpose(ops.reshape(loc, (-1, p, n_loc, 4)), (0, 2, 1, 3))
        d = [offsets[..., k] for k in range(4)]  # (N, L, P)
        if not self.variance_encoded_in_target:
            d = [v * x for v, x in zip(var, d)]
        if self.code_type == "CORNER":
            out = [b + x for b, x in zip(box, d)]
        else:
            width, height = box[2] - box[0], box[3] - box[1]
            if self.code_type == "CORNER_SIZE":
                out = [box[0] + d[0] * width, box[1] + d[1] * height]
                out += [box[2] + d[2] * width, box[3] + d[3] * height]
            else:  # CENTER_SIZE
                cx = d[0] * width + (box[0] + box[2]) * 0.5
                cy = d[1] * height + (box[1] + box[3]) * 0.5
                w, h = ops.exp(d[2]) * width, ops.exp(d[3]) * height
                out = [cx - w * 0.5, cy - h * 0.5, cx + w * 0.5, cy + h * 0.5]
        if self.clip:
            out = [ops.clip(c, 0.0, 1.0) for c in out]
        return out, _size(out)

    def _nms(self, coords: list[Any], sizes: Any, valid: Any) -> Any:
        """bbox_util.cpp ApplyNMSFast on the sorted candidates of every (image, class) at once:
        candidate i is kept when valid and its overlap with each kept j < i is <= the adaptive
        threshold; each kept box then multiplies the threshold by eta while it is above 0.5."""
        t = self.candidates
        positions = ops.arange(t)
        eta = ops.cast(self.eta, sizes.dtype)

        def step(i: Any, state: tuple[Any, Any]) -> tuple[Any, Any]:
            keep, threshold = state
            box = [ops.expand_dims(ops.take(c, i, axis=2), -1) for c in coords]
            size = ops.expand_dims(ops.take(sizes, i, axis=2), -1)
            overlap = _jaccard(box, size, coords, sizes)
            clash = ops.logical_not(overlap <= ops.expand_dims(threshold, -1))
            kept_i = ops.logical_and(
                ops.take(valid, i, axis=2), ops.logical_not(ops.any(keep & clash, axis=-1))
            )
            keep = ops.logical_or(keep, ops.expand_dims(kept_i, -1) & (positions == i))
            if self.eta < 1:
                lower = ops.logical_and(kept_i, threshold > 0.5)
                threshold = ops.where(lower, threshold * eta, threshold)
            return keep, threshold

        start = ops.zeros_like(valid)
        threshold = ops.full(ops.shape(sizes)[:2], self.nms_threshold, dtype=sizes.dtype)
        keep, _ = ops.fori_loop(0, t, step, (start, threshold))
        return keep

    def _rows(self, values: Any, coords: list[Any], keep: Any, like: Any) -> Any:
        """The image's ``keep_top_k`` best kept boxes (ties: lower label, then earlier rank),
        written in (label, rank) order: Caffe's rows, padded with -1."""
        t, k = self.candidates, self.rows
        m = len(self.labels) * t
        flat_keep = ops.reshape(keep, (-1, m))
        flat_values = ops.reshape(values, (-1, m))
        best = ops.where(flat_keep, flat_values, ops.cast(float("-inf"), values.dtype))
        _, chosen = ops.top_k(best, k, sorted=True)
        used = ops.take_along_axis(flat_keep, chosen, axis=1)
        if self.keep_top_k == 0:
            used = ops.logical_and(used, False)
        position = ops.sort(ops.where(used, chosen, m), axis=1)
        used = position < m
        position = ops.minimum(position, m - 1)
        dtype = values.dtype
        labels = ops.convert_to_tensor([float(c) for c in self.labels for _ in range(t)], dtype)
        image = ops.cumsum(ops.ones_like(like[:, :1]), axis=0) - 1.0
        columns = [ops.broadcast_to(image, ops.shape(position)), ops.take(labels, position)]
        columns += [ops.take_along_axis(flat_values, position, axis=1)]
        columns += [ops.take_along_axis(ops.reshape(c, (-1, m)), position, axis=1) for c in coords]
        table = ops.stack([ops.cast(c, dtype) for c in columns], axis=-1)
        return ops.where(ops.expand_dims(used, -1), table, ops.cast(-1.0, dtype))

    def compute_output_shape(self, input_shape: Any) -> Any:
        return (input_shape[0][0], self.rows, 7)

    def get_config(self) -> dict[str, Any]:
        return {**super().get_config(), **{f: getattr(self, f) for f in _FIELDS}}


def _size(box: list[Any]) -> Any:
    """bbox_util.cpp BBoxSize (normalized): width x height, 0 for an inverted box."""
    width, height = box[2] - box[0], box[3] - box[1]
    inverted = ops.logical_or(box[2] < box[0], box[3] < box[1])
    return ops.where(inverted, ops.zeros_like(width), width * height)


def _jaccard(a: list[Any], size_a: Any, b: list[Any], size_b: Any) -> Any:
    """bbox_util.cpp JaccardOverlap(a, b) (normalized): 0 unless the boxes intersect with a
    positive width and height; the sizes are the decoded boxes' stored sizes."""
    apart = (b[0] > a[2]) | (b[2] < a[0]) | (b[1] > a[3]) | (b[3] < a[1])
    width = ops.minimum(a[2], b[2]) - ops.maximum(a[0], b[0])
    height = ops.minimum(a[3], b[3]) - ops.maximum(a[1], b[1])
    meet = ops.logical_not(apart) & (width > 0) & (height > 0)
    inter = width * height
    union = ops.where(meet, size_a + size_b - inter, ops.ones_like(inter))
    return ops.where(meet, inter / union, ops.zeros_like(inter))
