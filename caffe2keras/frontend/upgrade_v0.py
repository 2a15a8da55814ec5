"""V0 nets (``layers { layer { name type ... } bottom top }``) -> V1 nets, as Caffe's
``upgrade_proto.cpp`` does: UpgradeV0PaddingLayers folds each ``padding`` layer into the ``pad`` of
the conv/pool layer that reads it, then UpgradeV0LayerParameter moves every flat V0 field into the
V1 params of its layer type. Where Caffe logs "Unknown parameter ... for layer type ..." and goes
on, we raise: a field that would be dropped changes the net.
"""

from __future__ import annotations

from typing import Any

from caffe2keras._proto import caffe_pb2
from caffe2keras.errors import ValidationError
from caffe2keras.frontend.v1types import V0_TYPE_NAMES, V1_TYPE_NAMES

# V0 field -> {V0 type (or "*" for any): (V1 params message, field)}. Repeated V1 fields (the
# convolution's pad/kernel_size/stride) get the value appended, as Caffe's add_* calls do.
_V0_FIELDS: dict[str, dict[str, tuple[str, str]]] = {
    "num_output": {
        "conv": ("convolution_param", "num_output"),
        "innerproduct": ("inner_product_param", "num_output"),
    },
    "biasterm": {
        "conv": ("convolution_param", "bias_term"),
        "innerproduct": ("inner_product_param", "bias_term"),
    },
    "weight_filler": {
        "conv": ("convolution_param", "weight_filler"),
        "innerproduct": ("inner_product_param", "weight_filler"),
    },
    "bias_filler": {
        "conv": ("convolution_param", "bias_filler"),
        "innerproduct": ("inner_product_param", "bias_filler"),
    },
    "pad": {"conv": ("convolution_param", "pad"), "pool": ("pooling_param", "pad")},
    "kernelsize": {
        "conv": ("convolution_param", "kernel_size"),
        "pool": ("pooling_param", "kernel_size"),
    },
    "group": {"conv": ("convolution_param", "group")},
    "stride": {"conv": ("convolution_param", "stride"), "pool": ("pooling_param", "stride")},
    "pool": {"pool": ("pooling_param", "pool")},  # MAX/AVE/STOCHASTIC: same numbers
    "dropout_ratio": {"dropout": ("dropout_param", "dropout_ratio")},
    "local_size": {"lrn": ("lrn_param", "local_size")},
    "alpha": {"lrn": ("lrn_param", "alpha")},
    "beta": {"lrn": ("lrn_param", "beta")},
    "k": {"lrn": ("lrn_param", "k")},
    "source": {
        "data": ("data_param", "source"),
        "hdf5_data": ("hdf5_data_param", "source"),
        "images": ("image_data_param", "source"),
        "window_data": ("window_data_param", "source"),
        "infogain_loss": ("infogain_loss_param", "source"),
    },
    "scale": {"*": ("transform_param", "scale")},
    "meanfile": {"*": ("transform_param", "mean_file")},
    "batchsize": {
        "data": ("data_param", "batch_size"),
        "hdf5_data": ("hdf5_data_param", "batch_size"),
        "images": ("image_data_param", "batch_size"),
        "window_data": ("window_data_param", "batch_size"),
    },
    "cropsize": {"*": ("transform_param", "crop_size")},
    "mirror": {"*": ("transform_param", "mirror")},
    "rand_skip": {"data": ("data_param", "rand_skip"), "images": ("image_data_param", "rand_skip")},
    "shuffle_images": {"images": ("image_data_param", "shuffle")},
    "new_height": {"images": ("image_data_param", "new_height")},
    "new_width": {"images": ("image_data_param", "new_width")},
    "concat_dim": {"concat": ("concat_param", "concat_dim")},
    "det_fg_threshold": {"window_data": ("window_data_param", "fg_threshold")},
    "det_bg_threshold": {"window_data": ("window_data_param", "bg_threshold")},
    "det_fg_fraction": {"window_data": ("window_data_param", "fg_fraction")},
    "det_context_pad": {"window_data": ("window_data_param", "context_pad")},
    "det_crop_mode": {"window_data": ("window_data_param", "crop_mode")},
    "hdf5_output_param": {"hdf5_output": ("hdf5_output_param", "")},  # whole message
}
_COPIED = ("name", "type", "blobs", "blobs_lr", "weight_decay")
_V1_NUMBER = {v2_name: number for number, v2_name in V1_TYPE_NAMES.items()}


def _v1_type(v0_type: str, name: str) -> int:
    """UpgradeV0LayerType: the V0 type string as a V1 enum number."""
    if v0_type not in V0_TYPE_NAMES:
        raise ValidationError(f"unknown V0 layer type '{v0_type}'", layer=name, field="type")
    return _V1_NUMBER[V0_TYPE_NAMES[v0_type]]


def _set(message: Any, field: str, value: Any) -> None:
    target = getattr(message, field)
    if hasattr(target, "CopyFrom"):
        target.CopyFrom(value)
    elif hasattr(target, "append"):
        target.append(value)
    else:
        setattr(message, field, value)


def upgrade_v0_layer(connection: Any) -> Any:
    """UpgradeV0LayerParameter: one V0 layer (with its bottoms and tops) as a V1 layer."""
    v0 = connection.layer
    v1 = caffe_pb2.V1LayerParameter(bottom=connection.bottom, top=connection.top)
    if v0.HasField("name"):
        v1.name = v0.name
    if v0.HasField("type"):
        v1.type = _v1_type(v0.type, v0.name)
    v1.blobs.extend(v0.blobs)
    v1.blobs_lr.extend(v0.blobs_lr)
    v1.weight_decay.extend(v0.weight_decay)
    for fdesc, value in v0.ListFields():
        if fdesc.name in _COPIED:
            continue
        targets = _V0_FIELDS.get(fdesc.name, {})
        target = targets.get(v0.type) or targets.get("*")
        if target is None:
            raise ValidationError(
                f"V0 parameter '{fdesc.name}' does not apply to a '{v0.type}' layer (Caffe's "
                "upgrade would drop it)",
                layer=v0.name,
                field=fdesc.name,
            )
        holder, field = target
        if field:
            _set(getattr(v1, holder), field, value)
        else:
            getattr(v1, holder).CopyFrom(value)
    return v1


def _fold_padding(net: Any) -> list[Any]:
    """UpgradeV0PaddingLayers: drop ``padding`` layers, giving their pad to the conv/pool layer
    that reads their top (and that layer the padding layer's bottom)."""
    last_writer: dict[str, int] = {name: -1 for name in net.input}
    kept: list[Any] = []
    for i, connection in enumerate(net.layers):
        layer = connection.layer
        if layer.type != "padding":
            kept.append(caffe_pb2.V1LayerParameter())
            kept[-1].CopyFrom(connection)
        for j, blob in enumerate(connection.bottom):
            if blob not in last_writer:
                raise ValidationError(
                    f"bottom '{blob}' is not produced by any earlier layer or input",
                    layer=layer.name,
                    field="bottom",
                )
            source = net.layers[last_writer[blob]] if last_writer[blob] >= 0 else None
            if source is None or source.layer.type != "padding":
                continue
            if layer.type not in ("conv", "pool") or len(connection.bottom) != 1:
                raise ValidationError(
                    f"reads the padding layer '{source.layer.name}'; Caffe folds padding only "
                    "into a single-bottom conv or pool layer",
                    layer=layer.name,
                    field="bottom",
                )
            if len(source.bottom) != 1 or len(source.top) != 1:
                raise ValidationError(
                    "a padding layer needs exactly one bottom and one top",
                    layer=source.layer.name,
                    field="bottom",
                )
            kept[-1].layer.pad = source.layer.pad
            kept[-1].bottom[j] = source.bottom[0]
        for blob in connection.top:
            last_writer[blob] = i
    return kept


def upgrade_v0_net(net: Any) -> Any:
    """UpgradeV0Net: a V0 net (every ``layers`` entry holds a V0 ``layer``) as a V1 net."""
    for connection in net.layers:
        if not connection.HasField("layer"):
            raise ValidationError(
                "the net mixes V0 layers ('layers { layer { ... } }') and V1 layers; Caffe's "
                "V0 upgrade would drop the V1 layers' names and types",
                layer=connection.name or None,
            )
    out = caffe_pb2.NetParameter()
    if net.HasField("name"):
        out.name = net.name
    out.input.extend(net.input)
    out.input_dim.extend(net.input_dim)
    if net.HasField("force_backward"):
        out.force_backward = net.force_backward
    for connection in _fold_padding(net):
        out.layers.append(upgrade_v0_layer(connection))
    return out
