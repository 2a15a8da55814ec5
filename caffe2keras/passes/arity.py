"""How many bottoms and tops each built-in layer type takes, as Caffe's ``Layer::CheckBlobCounts``
enforces from each layer's ``ExactNum``/``Min``/``Max`` ``BottomBlobs``/``TopBlobs`` (BVLC layer
headers; Permute from SSD, Axpy from SENet's fork, ReLU6/Clip/Swish are neuron layers).

Checked before shape inference so that no rule ever sees a missing bottom. Types not listed
(plugins, the converter's own fused types) are left to their own rules.
"""

from __future__ import annotations

from caffe2keras.errors import ValidationError
from caffe2keras.ir.graph import Layer

ANY = 10**9
# type -> (min bottoms, max bottoms, min tops, max tops)
_NEURON = (1, 1, 1, 1)
COUNTS: dict[str, tuple[int, int, int, int]] = {
    **dict.fromkeys(
        ["AbsVal", "BNLL", "Clip", "Dropout", "ELU", "Exp", "Log", "Power", "PReLU", "ReLU",
         "ReLU6", "Sigmoid", "Swish", "TanH", "Threshold"],
        _NEURON,
    ),
    **dict.fromkeys(
        ["ArgMax", "BatchNorm", "Flatten", "InnerProduct", "LRN", "MVN", "Permute", "Reduction",
         "Reshape", "Softmax", "Tile"],
        (1, 1, 1, 1),
    ),
    "Axpy": (3, 3, 1, 1),
    "Bias": (1, 2, 1, 1),
    "Scale": (1, 2, 1, 1),
    "Concat": (1, ANY, 1, 1),
    "Eltwise": (2, ANY, 1, 1),
    "Crop": (2, 2, 1, 1),
    "Convolution": (1, ANY, 1, ANY),  # and as many tops as bottoms (checked below)
    "Deconvolution": (1, ANY, 1, ANY),
    "Pooling": (1, 1, 1, 2),  # MAX may add a mask top
    "Slice": (1, 1, 1, ANY),
    "Split": (1, 1, 1, ANY),
    "Silence": (1, ANY, 0, 0),
}  # fmt: skip


def _expect(low: int, high: int) -> str:
    if low == high:
        return f"exactly {low}"
    return f"at least {low}" if high == ANY else f"{low} to {high}"


def check_counts(layer: Layer) -> None:
    """Raise unless ``layer`` has as many bottoms and tops as Caffe allows for its type."""
    counts = COUNTS.get(layer.type)
    if counts is None:
        return
    low_b, high_b, low_t, high_t = counts
    for what, n, low, high in (
        ("bottom", len(layer.bottoms), low_b, high_b),
        ("top", len(layer.tops), low_t, high_t),
    ):
        if not low <= n <= high:
            raise ValidationError(
                f"a {layer.type} layer takes {_expect(low, high)} {what}{'' if high == 1 else 's'}"
                f", this one has {n}",
                layer=layer.name,
                field=what,
            )
    if layer.type in ("Convolution", "Deconvolution") and len(layer.tops) != len(layer.bottoms):
        raise ValidationError(
            f"a {layer.type} layer needs one top per bottom; this one has "
            f"{len(layer.bottoms)} bottoms and {len(layer.tops)} tops",
            layer=layer.name,
            field="top",
        )
