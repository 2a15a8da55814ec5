"""A deliberately broken conversion for the failing report: one BatchNorm's variance scaled on
the Keras side only (the converter's ``bn_statistics``; the numpy reference reads the blobs
itself), as ``tests/verify/test_sabotage.py`` breaks the tiny net's."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

BROKEN_LAYER = "conv3_1/x1/bn"  # DenseNet-121's first BatchNorm of the second dense block
FACTOR = 4.0


@contextmanager
def scaled_variance(layer: str = BROKEN_LAYER, factor: float = FACTOR) -> Iterator[None]:
    """While active, the fused BatchNorm ``layer`` gets ``factor`` x its variance."""
    from caffe2keras.passes import fuse_bn_scale

    real = fuse_bn_scale.bn_statistics

    def broken(bn):  # type: ignore[no-untyped-def]
        mean, var = real(bn)
        return (mean, var * factor) if bn.name == layer else (mean, var)

    fuse_bn_scale.bn_statistics = broken
    try:
        yield
    finally:
        fuse_bn_scale.bn_statistics = real
