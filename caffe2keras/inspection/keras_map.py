"""What each Caffe layer type becomes in Keras, as a static table (no Keras import).

``inspect`` must stay instant, so it cannot run the builders; this table restates what
``caffe2keras/build/`` produces per type. A test keeps it in step with the builder and shape
registries: every registered type must have an entry here.
"""

from __future__ import annotations

from caffe2keras.ir.graph import Layer, Shape
from caffe2keras.plugins import plugin_origin

# Type -> the Keras layers its builder emits (helpers in parentheses appear only when needed).
KERAS_LAYERS: dict[str, str] = {
    "AbsVal": "Rescaling(-1) + Maximum",
    "ArgMax": "TopK (custom, keras.ops)",
    "Axpy": "Multiply + Add",
    "BNLL": "Activation(softplus)",
    "BatchNorm": "BatchNormalization (no gamma/beta)",
    "BatchNormScale": "BatchNormalization",
    "Bias": "BatchNormalization as an affine map (or Reshape + Add for a second bottom)",
    "Clip": "ReLU(max_value) or Clip (custom, keras.ops)",
    "Concat": "Concatenate",
    "Convolution": "Conv2D (+ ZeroPadding2D)",
    "Crop": "Cropping1D/2D/3D",
    "Deconvolution": "Conv2DTranspose (+ Cropping2D)",
    "Dropout": "nothing (identity at test time)",
    "ELU": "ELU",
    "Eltwise": "Add (+ Rescaling for coeff) / Multiply / Maximum",
    "Exp": "Activation(exponential) + Rescaling",
    "Flatten": "Permute + Reshape",
    "InnerProduct": "Flatten + Dense",
    "LRN": "Multiply + AveragePooling + Reshape + ElementwisePower (custom, keras.ops)",
    "Log": "ElementwiseLog (custom, keras.ops) + Rescaling",
    "MVN": "MeanVarianceNormalization (custom, keras.ops)",
    "PReLU": "PReLU",
    "Permute": "Permute",
    "Pooling": "MaxPooling2D / AveragePooling2D (+ ZeroPadding2D, Cropping2D)",
    "Power": "Rescaling / Multiply / ElementwisePower (custom, keras.ops)",
    "ReLU": "ReLU",
    "ReLU6": "ReLU(max_value=6)",
    "Reduction": "Dense with a ones kernel (+ Reshape, Rescaling)",
    "Reshape": "Permute + Reshape",
    "Scale": "BatchNormalization as an affine map (or Reshape + Multiply for a second bottom)",
    "Sigmoid": "Activation(sigmoid)",
    "Silence": "nothing (consumes blobs, computes nothing)",
    "Slice": "Cropping / Permute + Reshape per piece",
    "Softmax": "Softmax",
    "Split": "nothing (its consumers read the bottom)",
    "Swish": "Activation(silu) or Activation(sigmoid) + Multiply",
    "TanH": "Activation(tanh)",
    "Threshold": "Step (custom, keras.ops)",
    "Tile": "Concatenate of copies",
}


def _convolution(layer: Layer, bottoms: list[Shape]) -> str:
    p = layer.params
    pad = " + ZeroPadding2D" if any(p.pad) else ""
    if p.group > 1 and bottoms and p.group == bottoms[0][1]:
        return f"DepthwiseConv2D{pad}"
    grouped = f" (groups={p.group})" if p.group > 1 else ""
    return f"Conv2D{grouped}{pad}"


def _pooling(layer: Layer, bottoms: list[Shape]) -> str:
    p = layer.params
    kind = {"MAX": "Max", "AVE": "Average"}.get(p.method, p.method)
    if p.global_pooling:
        return f"Global{kind}Pooling2D"
    pad = " (+ padding)" if any(p.pad) else ""
    return f"{kind}Pooling2D{pad}"


_REFINED = {"Convolution": _convolution, "Pooling": _pooling}


def keras_description(layer: Layer, bottoms: list[Shape]) -> str:
    """The Keras layers a node becomes (refined by its params and bottom shapes where needed)."""
    refine = _REFINED.get(layer.type)
    if refine is not None:
        return refine(layer, bottoms)
    if layer.type in KERAS_LAYERS:
        return KERAS_LAYERS[layer.type]
    origin = plugin_origin(layer.type)
    return f"custom (plugin {origin})" if origin is not None else "unsupported"
