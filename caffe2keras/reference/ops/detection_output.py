"""SSD's DetectionOutput, following weiliu89/caffe ``detection_output_layer.cpp`` (Forward_cpu)
and ``util/bbox_util.cpp`` (GetLocPredictions, GetConfidenceScores, GetPriorBBoxes, DecodeBBox,
GetMaxScoreIndex, ApplyNMSFast, JaccardOverlap) as brocolli-caffe, the goldens' Caffe, has them.

Written as Caffe's loops, per image and per class, apart from the fixed-size Keras layer on
purpose. Returns Caffe's own (1, 1, n, 7) top.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np

from caffe2keras.ir.graph import Layer
from caffe2keras.reference.registry import reference_op

if TYPE_CHECKING:
    from caffe2keras.families.detection_output import DetectionOutputParams

Inputs = list[np.ndarray]


def decode_boxes(
    prior: np.ndarray, variance: np.ndarray, loc: np.ndarray, p: DetectionOutputParams
) -> tuple[np.ndarray, np.ndarray]:
    """DecodeBBox for every prior: (P, 4) boxes and their sizes, as Caffe stores them (the size of
    the decoded box; 0 when inverted). Caffe's CPU path never clips (``clip_bbox = false``);
    OpenCV's ``clip`` clips to [0, 1] and sizes the clipped box."""
    code, in_target = p.code_type, p.variance_encoded_in_target
    d = loc if in_target else variance * loc
    pxmin, pymin, pxmax, pymax = (prior[:, k] for k in range(4))
    if code == "CORNER":
        box = prior + d
    elif code == "CENTER_SIZE":
        pw, ph = pxmax - pxmin, pymax - pymin
        cx = d[:, 0] * pw + (pxmin + pxmax) / 2
        cy = d[:, 1] * ph + (pymin + pymax) / 2
        w, h = np.exp(d[:, 2]) * pw, np.exp(d[:, 3]) * ph
        box = np.stack([cx - w / 2, cy - h / 2, cx + w / 2, cy + h / 2], axis=1)
    else:  # CORNER_SIZE
        pw, ph = pxmax - pxmin, pymax - pymin
        box = prior + d * np.stack([pw, ph, pw, ph], axis=1)
    if p.clip:
        box = np.clip(box, 0, 1)
    return box, bbox_size(box)


def bbox_size(box: np.ndarray) -> np.ndarray:
    """BBoxSize (normalized): width x height, 0 when xmax < xmin or ymax < ymin."""
    w, h = box[..., 2] - box[..., 0], box[..., 3] - box[..., 1]
    inverted = (box[..., 2] < box[..., 0]) | (box[..., 3] < box[..., 1])
    return np.where(inverted, 0, w * h).astype(box.dtype)


def jaccard(a: np.ndarray, size_a: np.ndarray, b: np.ndarray, size_b: np.ndarray) -> np.ndarray:
    """JaccardOverlap(a, b) of box ``a`` with each box of ``b`` (normalized)."""
    apart = (b[:, 0] > a[2]) | (b[:, 2] < a[0]) | (b[:, 1] > a[3]) | (b[:, 3] < a[1])
    w = np.minimum(a[2], b[:, 2]) - np.maximum(a[0], b[:, 0])
    h = np.minimum(a[3], b[:, 3]) - np.maximum(a[1], b[:, 1])
    meet = ~apart & (w > 0) & (h > 0)
    inter = w * h
    with np.errstate(divide="ignore", invalid="ignore"):
        iou = inter / (size_a + size_b - inter)
    return np.where(meet, iou, 0)


def nms_fast(
    boxes: np.ndarray,
    sizes: np.ndarray,
    scores: np.ndarray,
    p: DetectionOutputParams,
    dtype: np.dtype,
) -> list[int]:
    """ApplyNMSFast: GetMaxScoreIndex (scores strictly above the threshold, std::stable_sort
    decreasing, cut to top_k), then greedy NMS: keep a box when its overlap with every kept box
    is <= the adaptive threshold; after a kept box, threshold *= eta while it is > 0.5."""
    threshold = dtype.type(p.confidence_threshold)
    candidates = [i for i in range(len(scores)) if scores[i] > threshold]
    candidates.sort(key=lambda i: -scores[i])  # Python's sort is stable, like std::stable_sort
    top_k = p.top_k
    if top_k > -1 and top_k < len(candidates):
        candidates = candidates[:top_k]
    adaptive = dtype.type(p.nms_threshold)
    eta = dtype.type(p.eta)
    kept: list[int] = []
    for idx in candidates:
        keep = True
        if kept:
            overlap = jaccard(boxes[idx], sizes[idx], boxes[kept], sizes[kept])
            keep = bool(np.all(overlap <= adaptive))
        if keep:
            kept.append(idx)
            if eta < 1 and adaptive > 0.5:
                adaptive = dtype.type(adaptive * eta)
    return kept


def image_indices(
    boxes: dict[int, np.ndarray],
    sizes: dict[int, np.ndarray],
    conf: np.ndarray,
    p: DetectionOutputParams,
    dtype: np.dtype,
) -> dict[int, list[int]]:
    """One image's kept prior indices per label: NMS per class, then the keep_top_k best of the
    image (Caffe sorts those with std::sort, which is not stable: ties at the cut may go either
    way there; here they keep label order, then NMS order)."""
    indices: dict[int, list[int]] = {}
    for c in range(p.num_classes):
        if c == p.background_label_id:
            continue
        label = -1 if p.share_location else c
        indices[c] = nms_fast(boxes[label], sizes[label], conf[:, c], p, dtype)
    keep_top_k = p.keep_top_k
    if keep_top_k > -1 and sum(len(v) for v in indices.values()) > keep_top_k:
        pairs = [(conf[i, c], c, i) for c in sorted(indices) for i in indices[c]]
        pairs.sort(key=lambda t: -t[0])
        chosen: dict[int, list[int]] = {}
        for _, c, i in pairs[:keep_top_k]:
            chosen.setdefault(c, []).append(i)
        indices = chosen
    return indices


@reference_op("DetectionOutput")
def detection_output(layer: Layer, inputs: Inputs, dtype: np.dtype) -> Inputs:
    """Forward_cpu: rows [image, label, score, xmin, ymin, xmax, ymax] ordered by image, label
    (map order), then the kept order; when the whole batch has no detection, one row
    [i, -1, -1, -1, -1, -1, -1] per image. Shape (1, 1, rows, 7)."""
    loc, conf, prior = inputs
    p = layer.params
    num = loc.shape[0]
    priors = prior.shape[2] // 4
    n_loc = 1 if p.share_location else p.num_classes
    loc = loc.reshape(num, priors, n_loc, 4)  # GetLocPredictions
    conf = conf.reshape(num, priors, p.num_classes)  # GetConfidenceScores
    flat = prior.reshape(-1)  # GetPriorBBoxes: the boxes, then the variances
    prior_boxes = flat[: priors * 4].reshape(priors, 4)
    variances = flat[priors * 4 : priors * 8].reshape(priors, 4)
    rows: list[list[float]] = []
    for i in range(num):
        boxes, sizes = {}, {}
        for c in range(n_loc):  # DecodeBBoxesAll
            label = -1 if p.share_location else c
            if label == p.background_label_id:
                continue
            boxes[label], sizes[label] = decode_boxes(prior_boxes, variances, loc[i, :, c], p)
        for c, kept in sorted(image_indices(boxes, sizes, conf[i], p, dtype).items()):
            box = boxes[-1 if p.share_location else c]
            rows += [[i, c, conf[i, idx, c], *box[idx]] for idx in kept]
    if not rows:
        rows = [[i, -1, -1, -1, -1, -1, -1] for i in range(num)]
    return [np.asarray(rows, dtype=dtype).reshape(1, 1, len(rows), 7)]
