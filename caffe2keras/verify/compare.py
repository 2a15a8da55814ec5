"""Blob-by-blob comparison of Keras outputs against the reference, with the culprit rule."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass

import numpy as np

from caffe2keras.verify.detections import DETECTION_TYPES, caffe_rows, match_detections


@dataclass(frozen=True)
class Tolerance:
    """A blob passes when max|keras - ref| <= atol + max(rtol, noise_factor * noise) * max|ref|.

    ``noise`` is the blob's float32 rounding noise, measured as the relative gap between the
    reference run in float32 and in float64: deep nets amplify rounding (ResNet-152 reaches
    ~4e-4 at its last blocks even in Caffe itself), so a fixed rtol alone would flag them.
    ``noise_factor`` 0 disables this and uses rtol alone.

    Detection blobs (``caffe2keras/verify/detections.py``) are compared row by row instead: they
    pass when at least ``detection_rows`` of their rows match one to one.
    """

    rtol: float = 1e-4
    atol: float = 0.0
    noise_factor: float = 4.0
    detection_rows: float = 1.0


@dataclass(frozen=True)
class BlobComparison:
    """The numbers for one blob (Caffe layout, batch included)."""

    blob: str
    layer: str
    layer_type: str
    shape: tuple[int, ...]
    max_abs: float
    max_rel: float  # max_abs / max|ref|
    mean_abs: float
    cosine: float
    ref_max: float
    noise: float  # float32-vs-float64 relative gap of the reference on this blob (0 if unmeasured)
    allowed_rel: float  # the relative error this blob was allowed
    top1: float | None  # fraction of samples whose argmax agrees (classification-shaped blobs)
    top5: float | None  # fraction whose top-5 sets agree
    passed: bool
    is_output: bool
    rows_matched: float | None = None  # detection blobs: the fraction of rows matched one to one
    # detection blobs: the fraction matched against the reference op run on Keras' own bottoms
    rows_matched_own_inputs: float | None = None


def _cosine(a: np.ndarray, b: np.ndarray) -> float:
    # einsum's own loops, not BLAS: a threaded BLAS dot spins its threads against TensorFlow's
    # between the Keras walk's operations (3-4x slower per call on 2 busy cores)
    na = float(np.sqrt(np.einsum("i,i->", a, a)))
    nb = float(np.sqrt(np.einsum("i,i->", b, b)))
    if na == 0.0 and nb == 0.0:
        return 1.0
    if na == 0.0 or nb == 0.0:
        return 0.0
    return float(np.einsum("i,i->", a, b) / (na * nb))


def _topk(keras: np.ndarray, ref: np.ndarray) -> tuple[float | None, float | None]:
    """Agreement of top-1 / top-5 classes for (N, K) or (N, K, 1, 1) blobs with K > 1."""
    k_flat, r_flat = keras.reshape(keras.shape[0], -1), ref.reshape(ref.shape[0], -1)
    squeezable = keras.ndim == 2 or (keras.ndim == 4 and keras.shape[2:] == (1, 1))
    if not squeezable or k_flat.shape[1] < 2:
        return None, None
    top1 = float(np.mean(np.argmax(k_flat, 1) == np.argmax(r_flat, 1)))
    if k_flat.shape[1] < 5:
        return top1, None
    k5 = np.sort(np.argsort(-k_flat, 1)[:, :5], 1)
    r5 = np.sort(np.argsort(-r_flat, 1)[:, :5], 1)
    return top1, float(np.mean(np.all(k5 == r5, 1)))


def batch_shared(keras: np.ndarray, ref: np.ndarray) -> bool:
    """Whether ``ref`` is one sample that Keras repeats for each of its samples: a reference of
    batch 1 against a Keras blob of the same per-sample shape. Caffe computes such blobs once per
    net, whatever the batch (PriorBox's (1, 2, 4 * priors)); the Keras model repeats them so that
    every output has a batch axis."""
    return keras.ndim == ref.ndim >= 1 and ref.shape[0] == 1 and keras.shape[1:] == ref.shape[1:]


FLT_MAX = float(np.finfo(np.float32).max)


def _same_specials(k: np.ndarray, r: np.ndarray) -> np.ndarray:
    """Where both hold the same special value: NaN, +-Inf or +-FLT_MAX (Caffe's start value of
    its max reductions, left where a pooling window covers no pixel). Caffe computes these too
    (an AVE window of zero size is 0 / 0): they agree exactly, and must neither count as an
    error nor set the blob's scale (``ref_max``)."""
    both_nan = np.isnan(k) & np.isnan(r)
    extreme = (k == r) & (np.isinf(r) | (np.abs(r) == FLT_MAX))
    return both_nan | extreme


def compare_blob(
    blob: str,
    layer: str,
    layer_type: str,
    keras: np.ndarray,
    ref: np.ndarray,
    tol: Tolerance,
    is_output: bool,
    noise: float = 0.0,
    own_inputs: np.ndarray | None = None,
    specials: bool = True,
) -> BlobComparison:
    """All the numbers for one blob; a wrong shape is the worst mismatch there is.
    ``own_inputs``: for a detection blob, the reference op's rows on Keras' own bottoms.
    ``specials``: whether the same NaN/Inf/FLT_MAX on both sides agree (:func:`_same_specials`);
    else any NaN is the worst mismatch."""
    if layer_type in DETECTION_TYPES:
        return _compare_detections(
            blob, layer, layer_type, keras, ref, tol, is_output, noise, own_inputs
        )
    allowed = max(tol.rtol, tol.noise_factor * noise)
    # one contiguous float64 copy of the Keras blob (its Caffe layout is a transposed view)
    k = np.ascontiguousarray(keras, dtype=np.float64)
    r = np.asarray(ref, dtype=np.float64)
    if k.shape != r.shape and batch_shared(k, r):
        r = np.broadcast_to(r, k.shape)  # each Keras sample must equal the one reference sample
    same_shape = k.shape == r.shape
    plain = plain_max(r)
    if plain is None and specials and same_shape and r.size:
        special = _same_specials(k, r)
        if special.any():
            k, r = k[~special], r[~special]
    if plain is not None:
        ref_max = plain
    else:
        finite = np.abs(r[np.isfinite(r)])  # an infinite scale would let any error pass
        ref_max = float(np.max(finite)) if finite.size else 0.0
    inf = float("inf")
    max_abs = mean_abs = inf
    cosine, top1, top5 = 0.0, None, None
    if same_shape:
        with np.errstate(invalid="ignore"):  # inf - inf: NaN, the worst mismatch below
            diff = np.subtract(k, r)
            np.abs(diff, out=diff)
        # a NaN anywhere is the worst mismatch (np.max propagates it; np.nanmax would warn)
        max_abs = float(np.max(diff)) if diff.size else 0.0
        max_abs = inf if np.isnan(max_abs) else max_abs
        mean_abs = float(diff.mean()) if diff.size else 0.0
        del diff
        with np.errstate(invalid="ignore", over="ignore"):  # +-Inf left in either side
            cosine = _cosine(k.ravel(), r.ravel())
        top1, top5 = _topk(k, r) if is_output and k.shape == np.shape(keras) else (None, None)
    max_rel = max_abs / ref_max if ref_max > 0 else (0.0 if max_abs == 0 else inf)
    return BlobComparison(
        blob=blob,
        layer=layer,
        layer_type=layer_type,
        shape=tuple(int(d) for d in np.shape(ref)),
        max_abs=max_abs,
        max_rel=max_rel,
        mean_abs=mean_abs,
        cosine=cosine,
        ref_max=ref_max,
        noise=noise,
        allowed_rel=allowed,
        top1=top1,
        top5=top5,
        passed=same_shape and max_abs <= tol.atol + allowed * ref_max,
        is_output=is_output,
    )


def _compare_detections(
    blob: str,
    layer: str,
    layer_type: str,
    keras: np.ndarray,
    ref: np.ndarray,
    tol: Tolerance,
    is_output: bool,
    noise: float,
    own_inputs: np.ndarray | None = None,
) -> BlobComparison:
    """A detection blob: rows matched one to one (``detections.py``); the errors are those of the
    matched rows' scores and coordinates, the verdict the fraction matched: against the
    reference op on Keras' own bottoms when given (the layer checked exactly; the bottoms are
    compared as blobs of their own), else against the reference's forward pass."""
    found = match_detections(keras, ref, tol.rtol)  # scores within --rtol (at least 1e-4)
    own = None if own_inputs is None else match_detections(keras, own_inputs, tol.rtol)
    verdict = found.fraction if own is None else own.fraction
    rows = caffe_rows(ref)
    ref_max = float(np.max(np.abs(rows))) if rows.size else 0.0
    max_abs = found.max_abs if found.matched or not rows.size else float("inf")
    return BlobComparison(
        blob=blob,
        layer=layer,
        layer_type=layer_type,
        shape=tuple(int(d) for d in np.shape(ref)),
        max_abs=max_abs,
        max_rel=max_abs / ref_max if ref_max > 0 else max_abs,
        mean_abs=max_abs,
        cosine=found.fraction,  # no cosine between row lists: the matched fraction stands in
        ref_max=ref_max,
        noise=noise,
        allowed_rel=tol.rtol,
        top1=None,
        top5=None,
        passed=verdict >= tol.detection_rows,
        is_output=is_output,
        rows_matched=found.fraction,
        rows_matched_own_inputs=None if own is None else own.fraction,
    )


def culprit(rows: Sequence[BlobComparison]) -> BlobComparison | None:
    """The first failing blob in topological order (rows are in that order)."""
    return next((row for row in rows if not row.passed), None)


def compare_all(
    keras: Mapping[str, np.ndarray],
    ref: Mapping[str, np.ndarray],
    order: Sequence[tuple[str, str, str]],
    outputs: Sequence[str],
    tol: Tolerance,
    noise: Mapping[str, float] | None = None,
    own_inputs: Mapping[str, np.ndarray] | None = None,
    specials: bool = True,
) -> list[BlobComparison]:
    """Compare every (blob, layer, type) of ``order`` present in both mappings, in that order
    (``own_inputs``: detection blobs' rows on Keras' own bottoms, see ``detections.py``)."""
    noise = noise or {}
    own_inputs = own_inputs or {}
    rows = []
    for blob, layer, ltype in order:
        if blob in keras and blob in ref:
            rows.append(
                compare_blob(
                    blob,
                    layer,
                    ltype,
                    keras[blob],
                    ref[blob],
                    tol,
                    blob in outputs,
                    noise.get(blob, 0.0),
                    own_inputs.get(blob),
                    specials,
                )
            )
    return rows


def plain_max(r: np.ndarray) -> float | None:
    """max|r| when ``r`` holds no special value (every value finite and below FLT_MAX in
    magnitude), else None; two passes, no temporary array."""
    if not r.size:
        return None
    top = max(float(np.max(r)), -float(np.min(r)))  # NaN propagates: NaN < FLT_MAX is False
    return top if top < FLT_MAX else None


def blob_noise(a: np.ndarray, b: np.ndarray) -> float | None:
    """max|a - b| / max|b| for one blob (positions where both hold the same special value, see
    :func:`_same_specials`, left out); None when the shapes differ or the blob is empty."""
    if np.shape(a) != np.shape(b) or not np.size(b):
        return None
    scale = plain_max(np.asarray(b))
    if scale is not None:  # no special value in b: no position to leave out
        gap = np.subtract(a, b, dtype=np.float64)
        np.abs(gap, out=gap)
        return float(np.max(gap)) / scale if scale > 0 else 0.0
    other, ref = np.asarray(a, np.float64), np.asarray(b, np.float64)
    keep = ~_same_specials(other, ref)
    other, ref = other[keep], ref[keep]
    if not ref.size:
        return 0.0
    top = float(np.max(np.abs(ref)))
    return float(np.max(np.abs(other - ref))) / top if top > 0 else 0.0


def rounding_noise(a: Mapping[str, np.ndarray], b: Mapping[str, np.ndarray]) -> dict[str, float]:
    """Per blob, max|a - b| / max|b|: the gap between two precisions of the same reference
    (positions where both hold the same special value, see :func:`_same_specials`, left out)."""
    out = {}
    for blob, ref in b.items():
        if blob in a:
            gap = blob_noise(a[blob], ref)
            if gap is not None:
                out[blob] = gap
    return out
