"""Caffe's BatchNorm blob layout, read in one place for the builders and the fusion pass."""

from __future__ import annotations

from typing import TYPE_CHECKING

from caffe2keras.errors import ValidationError
from caffe2keras.ir.graph import Layer

if TYPE_CHECKING:
    import numpy as np


def bn_statistics(layer: Layer) -> tuple[np.ndarray, np.ndarray]:
    """(mean, variance) of a Caffe BatchNorm layer, as float32 vectors.

    Caffe stores (mean * s, variance * s, s) where s is the moving-average factor; it multiplies by
    1 / s, and by 0 when s == 0 (``batch_norm_layer.cpp``, Forward_cpu with use_global_stats).
    """
    import numpy as np  # blobs exist, so numpy is loaded already

    if len(layer.blobs) != 3:
        raise ValidationError(
            f"BatchNorm needs 3 blobs (mean, variance, moving-average factor), "
            f"the caffemodel has {len(layer.blobs)}",
            layer=layer.name,
            field="blobs",
        )
    s = float(np.asarray(layer.blobs[2], dtype=np.float32).reshape(-1)[0])
    factor = np.float32(0.0 if s == 0.0 else np.float32(1.0) / np.float32(s))
    mean = np.asarray(layer.blobs[0], dtype=np.float32).reshape(-1) * factor
    var = np.asarray(layer.blobs[1], dtype=np.float32).reshape(-1) * factor
    return mean.astype(np.float32), var.astype(np.float32)
