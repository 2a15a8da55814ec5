"""Shape rules of layers with learned weights: convolutions, pooling, InnerProduct, norms."""

from __future__ import annotations

import math

from caffe2keras.errors import UnsupportedParameterError, ValidationError
from caffe2keras.ir.graph import Layer, Shape
from caffe2keras.ir.shapes.registry import LayerShapes, canonical_axis, shape_rule


def _need_4d(layer: Layer, shape: Shape) -> None:
    if len(shape) != 4:
        raise UnsupportedParameterError(
            f"only 2-D spatial (4-D N,C,H,W) bottoms are supported, got {list(shape)}",
            layer=layer.name,
            field="bottom",
        )


def conv_out(size: int, k: int, s: int, p: int, d: int) -> int:
    """Caffe's convolution output size (``conv_layer.cpp`` compute_output_shape)."""
    return (size + 2 * p - (d * (k - 1) + 1)) // s + 1


def deconv_out(size: int, k: int, s: int, p: int, d: int) -> int:
    """Caffe's deconvolution output size (``deconv_layer.cpp`` compute_output_shape)."""
    return s * (size - 1) + (d * (k - 1) + 1) - 2 * p


def pool_out(size: int, k: int, s: int, p: int, ceil: bool) -> int:
    """Caffe's pooling output size (``pooling_layer.cpp`` Reshape): round up or down, then drop a
    last window that would start inside the bottom/right padding."""
    span = size + 2 * p - k
    out = (-(-span // s) if ceil else span // s) + 1
    if p > 0 and (out - 1) * s >= size + p:
        out -= 1
    return out


@shape_rule("Convolution", "Deconvolution")
def conv_shapes(layer: Layer, bottoms: list[Shape]) -> LayerShapes:
    p = layer.params
    shape = bottoms[0]
    _need_4d(layer, shape)
    if p.axis != 1:
        raise UnsupportedParameterError(
            "only axis 1 (channels) is supported", layer=layer.name, field="axis"
        )
    n, c, h, w = shape
    if c % p.group:
        raise ValidationError(
            f"{c} input channels are not a multiple of group {p.group}",
            layer=layer.name,
            field="group",
        )
    fn = conv_out if layer.type == "Convolution" else deconv_out
    oh = fn(h, p.kernel[0], p.stride[0], p.pad[0], p.dilation[0])
    ow = fn(w, p.kernel[1], p.stride[1], p.pad[1], p.dilation[1])
    if layer.type == "Convolution":
        weight = (p.num_output, c // p.group, *p.kernel)
    else:
        weight = (c, p.num_output // p.group, *p.kernel)
    blobs = (weight, (p.num_output,)) if p.bias_term else (weight,)
    return LayerShapes(tops=((n, p.num_output, oh, ow),), blobs=blobs)


@shape_rule("Pooling")
def pooling_shapes(layer: Layer, bottoms: list[Shape]) -> LayerShapes:
    p = layer.params
    shape = bottoms[0]
    _need_4d(layer, shape)
    n, c, h, w = shape
    if p.global_pooling:
        return LayerShapes(tops=tuple((n, c, 1, 1) for _ in layer.tops))
    oh = pool_out(h, p.kernel[0], p.stride[0], p.pad[0], p.ceil)
    ow = pool_out(w, p.kernel[1], p.stride[1], p.pad[1], p.ceil)
    return LayerShapes(tops=tuple((n, c, oh, ow) for _ in layer.tops))


@shape_rule("InnerProduct")
def inner_product_shapes(layer: Layer, bottoms: list[Shape]) -> LayerShapes:
    p = layer.params
    shape = bottoms[0]
    axis = canonical_axis(p.axis, len(shape), layer)
    k = math.prod(shape[axis:])
    weight = (k, p.num_output) if p.transpose else (p.num_output, k)
    blobs = (weight, (p.num_output,)) if p.bias_term else (weight,)
    return LayerShapes(tops=((*shape[:axis], p.num_output),), blobs=blobs)


@shape_rule("BatchNorm")
def batch_norm_shapes(layer: Layer, bottoms: list[Shape]) -> LayerShapes:
    c = bottoms[0][1] if len(bottoms[0]) > 1 else 1
    return LayerShapes(tops=(bottoms[0],), blobs=((c,), (c,), (1,)))


@shape_rule("BatchNormScale")
def fused_bn_shapes(layer: Layer, bottoms: list[Shape]) -> LayerShapes:
    c = bottoms[0][1]
    return LayerShapes(tops=(bottoms[0],), blobs=((c,),) * 4)


def _param_shape(layer: Layer, shape: Shape) -> Shape:
    p = layer.params
    axis = canonical_axis(p.axis, len(shape), layer)
    end = len(shape) if p.num_axes == -1 else axis + p.num_axes
    if end > len(shape):
        raise ValidationError(
            f"axis {p.axis} + num_axes {p.num_axes} exceed the bottom's {len(shape)} axes",
            layer=layer.name,
            field="num_axes",
        )
    return shape[axis:end]


@shape_rule("Scale", "Bias")
def scale_shapes(layer: Layer, bottoms: list[Shape]) -> LayerShapes:
    p = layer.params
    if len(bottoms) == 2:
        # the second bottom supplies the scale (or bias); its shape sits at bottom[0][axis:]
        axis = canonical_axis(p.axis, len(bottoms[0]), layer)
        other = bottoms[1]
        if tuple(bottoms[0][axis : axis + len(other)]) != tuple(other):
            raise ValidationError(
                f"second bottom shape {list(other)} does not match the first "
                f"bottom {list(bottoms[0])} at axis {axis}",
                layer=layer.name,
                field="axis",
            )
        blobs: tuple[Shape, ...] = (other,) if layer.type == "Scale" and p.bias_term else ()
        return LayerShapes(tops=(bottoms[0],), blobs=blobs)
    pshape = _param_shape(layer, bottoms[0])
    blobs = (pshape, pshape) if (layer.type == "Scale" and p.bias_term) else (pshape,)
    return LayerShapes(tops=(bottoms[0],), blobs=blobs)


@shape_rule("PReLU")
def prelu_shapes(layer: Layer, bottoms: list[Shape]) -> LayerShapes:
    shape = bottoms[0]
    c = shape[1] if len(shape) > 1 else 1
    blob: Shape = () if layer.params.channel_shared else (c,)
    return LayerShapes(tops=(shape,), blobs=(blob,))
