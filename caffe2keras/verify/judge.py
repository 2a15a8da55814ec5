"""One reference blob of the streamed pass judged against the Keras values that resolve to it.

The fused pass (``fused.py``) where it applies: a float64 reference, the special-value rule on,
a non-detection blob larger than one chunk (a smaller one is in cache already: nothing to
gain), and nothing special found in the pass. Everywhere else the old functions
(``compare_blob``, ``blob_noise``), which own the rules for special values, broadcast
(batch-shared) blobs, shape mismatches, detections and float32 references.
"""

from __future__ import annotations

import math

import numpy as np

from caffe2keras.layout import batch_major
from caffe2keras.verify.compare import (
    BlobComparison,
    Tolerance,
    _topk,
    blob_noise,
    compare_blob,
)
from caffe2keras.verify.detections import DETECTION_TYPES
from caffe2keras.verify.fused import Measured, Scratch, measure


class BlobJudge:
    """``value`` (a reference blob, Caffe layout) and ``twin`` (the other precision's value of
    it; None when the noise is not measured). The first Keras row measures the twin's noise in
    the same pass; :meth:`noise` measures it alone when no row did."""

    def __init__(
        self,
        value: np.ndarray,
        twin: np.ndarray | None,
        tolerance: Tolerance,
        specials: bool,
        scratch: Scratch,
    ) -> None:
        self.value, self.twin, self.tolerance = value, twin, tolerance
        self.specials, self.scratch = specials, scratch
        self.fusable = (
            specials and value.dtype == np.float64 and (twin is None or twin.dtype == np.float32)
        )
        self.settled = twin is None
        self.gap: float | None = None
        self.finite = False  # the twin was measured finite everywhere (no overflow note)

    def _settle(self, found: Measured | None) -> None:
        """The noise from a fused pass over the twin, or the old function's."""
        assert self.twin is not None
        self.settled = True
        if found is not None and found.twin_finite:
            self.gap, self.finite = found.noise, True
        else:
            self.gap = blob_noise(self.twin, self.value)

    def noise(self) -> float | None:
        """``blob_noise(twin, value)``: None when unmeasured or when the shapes differ or the
        blob is empty."""
        if not self.settled:
            assert self.twin is not None
            self._settle(
                measure(None, self.value, self.twin, self.scratch) if self.fusable else None
            )
        return self.gap

    def twin_finite(self) -> bool:
        """True when the twin is known to be finite everywhere (then no overflow note applies);
        False when it is not, or not known."""
        self.noise()
        return self.finite

    def row(
        self,
        blob: str,
        layer: str,
        layer_type: str,
        keras: np.ndarray,
        kind: str,
        is_output: bool,
        own: np.ndarray | None,
    ) -> BlobComparison:
        """``compare_blob`` of ``keras`` (Caffe layout) against the reference, batch-major as
        ``kind`` says, with the blob's noise."""
        k, r = batch_major(keras, kind), batch_major(self.value, kind)
        # a blob of one chunk gains nothing (it is in cache already): the old functions
        if self.fusable and layer_type not in DETECTION_TYPES and r.size > self.scratch.size:
            twin = None if self.settled or self.twin is None else batch_major(self.twin, kind)
            found = measure(k, r, twin, self.scratch)
            if twin is not None:
                self._settle(found)
            if found is not None:
                return _row(
                    blob,
                    layer,
                    layer_type,
                    k,
                    r,
                    found,
                    self.noise() or 0.0,
                    self.tolerance,
                    is_output,
                )
        noise = self.noise() or 0.0
        return compare_blob(
            blob, layer, layer_type, k, r, self.tolerance, is_output, noise, own, self.specials
        )


def _row(
    blob: str,
    layer: str,
    layer_type: str,
    keras: np.ndarray,
    ref: np.ndarray,
    found: Measured,
    noise: float,
    tol: Tolerance,
    is_output: bool,
) -> BlobComparison:
    """The row ``compare_blob`` makes of a plain blob, from the fused pass's numbers."""
    assert found.max_abs is not None and found.mean_abs is not None and found.cosine is not None
    allowed = max(tol.rtol, tol.noise_factor * noise)
    max_abs, ref_max = found.max_abs, found.ref_max
    max_rel = max_abs / ref_max if ref_max > 0 else (0.0 if max_abs == 0 else math.inf)
    # top-1/top-5 only apply to small class-score outputs: computed as compare_blob does
    top1, top5 = _topk(np.asarray(keras, np.float64), ref) if is_output else (None, None)
    return BlobComparison(
        blob=blob,
        layer=layer,
        layer_type=layer_type,
        shape=tuple(int(d) for d in ref.shape),
        max_abs=max_abs,
        max_rel=max_rel,
        mean_abs=found.mean_abs,
        cosine=found.cosine,
        ref_max=ref_max,
        noise=noise,
        allowed_rel=allowed,
        top1=top1,
        top5=top5,
        passed=max_abs <= tol.atol + allowed * ref_max,
        is_output=is_output,
    )
