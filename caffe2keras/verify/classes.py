"""The top-5 classes of each image, by the reference and by the Keras model, for the reports."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np

TOP = 5


def _top(scores: np.ndarray) -> list[list[float]]:
    """[[class index, score], ...], best first (ties: the lower index)."""
    order = np.argsort(-scores, kind="stable")[:TOP]
    return [[int(i), float(scores[i])] for i in order]


def top_classes(
    keras: Mapping[str, np.ndarray],
    ref: Mapping[str, np.ndarray],
    outputs: Sequence[str],
    info: Mapping[str, Any],
) -> list[dict[str, Any]]:
    """For image inputs: per output blob shaped like class scores ((N, K) or (N, K, 1, 1), K >= 5)
    and per sample, the reference's and the Keras model's top-5 (class, score). Empty otherwise."""
    images = info.get("images") or {}
    if not images:
        return []
    files = next(iter(images.values()))
    out = []
    for blob in outputs:
        if blob not in keras or blob not in ref:
            continue
        k, r = np.asarray(keras[blob]), np.asarray(ref[blob])
        if k.shape != r.shape or not (k.ndim == 2 or (k.ndim == 4 and k.shape[2:] == (1, 1))):
            continue
        k, r = k.reshape(len(k), -1), r.reshape(len(r), -1)
        if k.shape[1] < TOP:
            continue
        for i in range(len(k)):
            out.append(
                {
                    "blob": blob,
                    "sample": i,
                    "image": files[i] if i < len(files) else None,
                    "reference": _top(r[i].astype(np.float64)),
                    "keras": _top(k[i].astype(np.float64)),
                }
            )
    return out
