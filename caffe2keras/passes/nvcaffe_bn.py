"""NVCaffe's BatchNorm with its own scale and bias, as a BVLC BatchNorm followed by a Scale.

Given: a raw graph (before :mod:`.inplace`), blobs paired from the caffemodel.
Result: every BatchNorm whose params set ``scale_bias`` (NVCaffe; also implied by its
``scale_filler``/``bias_filler``) becomes a BatchNorm with blobs (mean, variance, 1) and
``eps = max(eps, 1e-5)``, followed by an in-place Scale ``<name>/scale_bias`` with bias holding
blobs 3 and 4 (``sources`` names the BatchNorm). NVCaffe's ``batch_norm_layer.cpp`` computes
``(x - mean) / sqrt(variance + max(eps, 1e-5)) * scale + bias`` and never reads blob 2 (the
"variance correction" it leaves at 1), so the replacement 1 makes BVLC's division by blob 2 a
no-op: the result is NVCaffe's exactly, and the usual fusion makes it one BatchNormalization.
Guards: such a layer needs 5 blobs (or none without a caffemodel); a BatchNorm with 5 blobs but
no ``scale_bias`` is refused with the fix, as NVCaffe would refuse to load it. Blob shapes are
checked afterwards by :mod:`.checker` like any BatchNorm's and Scale's.
"""

from __future__ import annotations

from dataclasses import replace
from typing import TYPE_CHECKING

from caffe2keras.errors import ValidationError
from caffe2keras.families.scale import ScaleParams
from caffe2keras.ir.graph import Graph, Layer

if TYPE_CHECKING:
    import numpy as np

NVCAFFE_MIN_EPS = 1e-5  # batch_norm_layer.cpp: eps_ = std::max<float>(param.eps(), 0.00001f)
_LAYOUT = "NVCaffe's layout: mean, variance, variance correction, scale, bias"


def _check_count(layer: Layer) -> None:
    scale_bias = getattr(layer.params, "scale_bias", False)
    count = len(layer.blobs)
    if scale_bias and count not in (0, 5):
        raise ValidationError(
            f"scale_bias is set, so the layer needs 5 blobs ({_LAYOUT}); the caffemodel has "
            f"{count}",
            layer=layer.name,
            field="blobs",
        )
    if not scale_bias and count == 5:
        raise ValidationError(
            f"the caffemodel has 5 blobs ({_LAYOUT}) but the prototxt does not set "
            f"batch_norm_param {{ scale_bias: true }}; NVCaffe itself needs it to load them",
            layer=layer.name,
            field="scale_bias",
        )


def split(layer: Layer, scale_name: str) -> tuple[Layer, Layer]:
    """The BVLC BatchNorm and the in-place Scale that together compute NVCaffe's layer."""
    top = layer.tops[0] if layer.tops else layer.name
    eps = max(float(layer.params.eps), NVCAFFE_MIN_EPS)
    bn_blobs: tuple[np.ndarray, ...] = ()
    scale_blobs: tuple[np.ndarray, ...] = ()
    if layer.blobs:
        import numpy as np

        correction = np.ones(np.shape(layer.blobs[2]), np.float32)
        bn_blobs = (layer.blobs[0], layer.blobs[1], correction)
        scale_blobs = (layer.blobs[3], layer.blobs[4])
    bn = layer.with_(params=replace(layer.params, eps=eps, scale_bias=False), blobs=bn_blobs)
    scale = Layer(
        name=scale_name,
        type="Scale",
        bottoms=(top,),
        tops=(top,),
        params=ScaleParams(axis=1, num_axes=1, bias_term=True),
        blobs=scale_blobs,
        sources=(layer.name,),
    )
    return bn, scale


def _unique(base: str, taken: set[str]) -> str:
    name, n = base, 2
    while name in taken:
        name, n = f"{base}_{n}", n + 1
    taken.add(name)
    return name


def run(graph: Graph) -> Graph:
    """Split every NVCaffe scale_bias BatchNorm; refuse 5 blobs without scale_bias."""
    taken = {layer.name for layer in graph.layers}
    layers: list[Layer] = []
    for layer in graph.layers:
        if layer.type != "BatchNorm":
            layers.append(layer)
            continue
        _check_count(layer)
        if getattr(layer.params, "scale_bias", False) and len(layer.tops) == 1:
            layers += split(layer, _unique(f"{layer.name}/scale_bias", taken))
        else:
            layers.append(layer)
    return graph.with_(layers=tuple(layers))
