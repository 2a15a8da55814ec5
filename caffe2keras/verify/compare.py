"""Blob-by-blob comparison of Keras outputs against the reference, with the culprit rule."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass

import numpy as np


@dataclass(frozen=True)
class Tolerance:
    """A blob passes when max|keras - ref| <= atol + max(rtol, noise_factor * noise) * max|ref|.

    ``noise`` is the blob's float32 rounding noise, measured as the relative gap between the
    reference run in float32 and in float64: deep nets amplify rounding (ResNet-152 reaches
    ~4e-4 at its last blocks even in Caffe itself), so a fixed rtol alone would flag them.
    ``noise_factor`` 0 disables this and uses rtol alone.
    """

    rtol: float = 1e-4
    atol: float = 0.0
    noise_factor: float = 4.0


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


def _cosine(a: np.ndarray, b: np.ndarray) -> float:
    na, nb = float(np.linalg.norm(a)), float(np.linalg.norm(b))
    if na == 0.0 and nb == 0.0:
        return 1.0
    if na == 0.0 or nb == 0.0:
        return 0.0
    return float(np.dot(a, b) / (na * nb))


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
) -> BlobComparison:
    """All the numbers for one blob; a wrong shape is the worst mismatch there is."""
    allowed = max(tol.rtol, tol.noise_factor * noise)
    k = np.asarray(keras, dtype=np.float64)
    r = np.asarray(ref, dtype=np.float64)
    same_shape = k.shape == r.shape
    if same_shape and r.size:
        special = _same_specials(k, r)
        if special.any():
            k, r = k[~special], r[~special]
    finite = np.abs(r[np.isfinite(r)])  # an infinite scale would let any error pass
    ref_max = float(np.max(finite)) if finite.size else 0.0
    inf = float("inf")
    max_abs = mean_abs = inf
    cosine, top1, top5 = 0.0, None, None
    if same_shape:
        with np.errstate(invalid="ignore"):  # inf - inf: NaN, the worst mismatch below
            diff = np.abs(k - r)
        # a NaN anywhere is the worst mismatch (np.nanmax would warn on an all-NaN blob)
        max_abs = inf if np.isnan(diff).any() else (float(np.max(diff)) if diff.size else 0.0)
        mean_abs = float(diff.mean()) if diff.size else 0.0
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
) -> list[BlobComparison]:
    """Compare every (blob, layer, type) of ``order`` present in both mappings, in that order."""
    noise = noise or {}
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
                )
            )
    return rows


def rounding_noise(a: Mapping[str, np.ndarray], b: Mapping[str, np.ndarray]) -> dict[str, float]:
    """Per blob, max|a - b| / max|b|: the gap between two precisions of the same reference
    (positions where both hold the same special value, see :func:`_same_specials`, left out)."""
    out = {}
    for blob, ref in b.items():
        if blob in a and np.shape(a[blob]) == np.shape(ref) and np.size(ref):
            other = np.asarray(a[blob], np.float64)
            ref = np.asarray(ref, np.float64)
            keep = ~_same_specials(other, ref)
            other, ref = other[keep], ref[keep]
            if not ref.size:
                out[blob] = 0.0
                continue
            scale = float(np.max(np.abs(ref)))
            gap = float(np.max(np.abs(other - ref)))
            out[blob] = gap / scale if scale > 0 else 0.0
    return out
