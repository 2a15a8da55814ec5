"""Bring old NetParameter forms to today's: V0/V1 ``layers`` -> V2 ``layer``, legacy inputs.

Follows Caffe's ``upgrade_proto.cpp`` (UpgradeV0Net, UpgradeNetDataTransformation, UpgradeV1Net,
UpgradeV1LayerParameter) and ``net.cpp`` (the ``input`` + ``input_dim``/``input_shape`` forms
become inputs of the net). V1 blobs keep their legacy 4-D shapes here; the blob checker fits them.
"""

from __future__ import annotations

from typing import Any

from caffe2keras._proto import caffe_pb2
from caffe2keras.errors import ValidationError

# Fields that V1LayerParameter and LayerParameter share by name (numbers differ: copy by name).
_COMMON = ("name", "bottom", "top", "loss_weight", "include", "exclude")
_V2_FIELDS = frozenset(caffe_pb2.LayerParameter.DESCRIPTOR.fields_by_name)
# NetNeedsDataUpgrade / UpgradeNetDataTransformation: V1 data layers whose own params still hold
# the transformation fields that later moved to transform_param.
_DATA_TRANSFORM = {"Data": "data_param", "ImageData": "image_data_param"}
_DATA_TRANSFORM["WindowData"] = "window_data_param"
_TRANSFORM_FIELDS = ("scale", "mean_file", "crop_size", "mirror")


def _param_specs(v1: Any, v2: Any) -> None:
    """``param`` names, ``blob_share_mode``, ``blobs_lr`` and ``weight_decay`` -> ParamSpecs."""
    columns = (
        ("name", list(v1.param)),
        ("share_mode", list(v1.blob_share_mode)),  # STRICT/PERMISSIVE: same numbers in both
        ("lr_mult", list(v1.blobs_lr)),
        ("decay_mult", list(v1.weight_decay)),
    )
    for field, values in columns:
        for i, value in enumerate(values):
            while len(v2.param) <= i:
                v2.param.add()
            setattr(v2.param[i], field, value)


def _upgrade_data_transform(v2: Any) -> None:
    """Move V1-era transformation fields from a data layer's params into transform_param."""
    holder = _DATA_TRANSFORM.get(v2.type)
    if holder is None or not v2.HasField(holder):
        return
    params = getattr(v2, holder)
    for field in _TRANSFORM_FIELDS:
        if params.HasField(field):
            setattr(v2.transform_param, field, getattr(params, field))
            params.ClearField(field)


def upgrade_v1_layer(v1: Any) -> Any:
    """One V1LayerParameter as a V2 LayerParameter, as ``UpgradeV1LayerParameter`` does."""
    if v1.HasField("layer"):
        raise ValidationError(
            "a V0 layer ('layer { ... }' inside 'layers') in a net that also has V1 layers; "
            "Caffe ignores such a layer",
            layer=v1.layer.name or v1.name or None,
        )
    v2 = caffe_pb2.LayerParameter()
    for field in _COMMON:
        value = getattr(v1, field)
        if isinstance(value, str):
            if v1.HasField(field):
                setattr(v2, field, value)
        else:
            getattr(v2, field).extend(value)
    if not v1.HasField("type"):
        raise ValidationError("a V1 layer without a type", layer=v1.name, field="type")
    from caffe2keras.frontend.v1types import V1_TYPE_NAMES  # only V1 files pay for the table

    if v1.type not in V1_TYPE_NAMES:
        raise ValidationError(
            f"unknown V1 layer type number {v1.type}", layer=v1.name, field="type"
        )
    v2.type = V1_TYPE_NAMES[v1.type]
    _param_specs(v1, v2)
    for fdesc, value in v1.ListFields():
        if fdesc.name.endswith("_param") and fdesc.name in _V2_FIELDS:
            getattr(v2, fdesc.name).CopyFrom(value)
    _upgrade_data_transform(v2)
    return v2


def upgrade_net(net: Any) -> Any:
    """A copy of ``net`` in V2 form (V0 and V1 ``layers`` upgraded as ``UpgradeNetAsNeeded``
    does). Mixing ``layer`` and ``layers`` is an error: Caffe would silently drop the ``layer``
    entries."""
    if not net.layers:
        return net
    if net.layer:
        raise ValidationError(
            "the net mixes V1 'layers' and V2 'layer' entries; Caffe would ignore every 'layer' "
            "entry. Use one form"
        )
    if any(v1.HasField("layer") for v1 in net.layers):
        from caffe2keras.frontend.upgrade_v0 import upgrade_v0_net

        net = upgrade_v0_net(net)
    out = caffe_pb2.NetParameter()
    out.CopyFrom(net)
    del out.layers[:]
    for v1 in net.layers:
        out.layer.append(upgrade_v1_layer(v1))
    return out


def declared_inputs(net: Any) -> list[tuple[str, tuple[int, ...]]]:
    """The net-level inputs: ``input`` names with ``input_shape`` or 4 ``input_dim`` values each.

    An input declared without any shape gets ``()``; the caller then needs an override.
    """
    names = list(net.input)
    if net.input_shape:
        if len(net.input_shape) != len(names):
            raise ValidationError(
                f"{len(names)} 'input' names but {len(net.input_shape)} 'input_shape' entries",
                field="input_shape",
            )
        return [(n, tuple(int(d) for d in s.dim)) for n, s in zip(names, net.input_shape)]
    if net.input_dim:
        if len(net.input_dim) != 4 * len(names):
            raise ValidationError(
                f"{len(names)} 'input' names need {4 * len(names)} 'input_dim' values, "
                f"got {len(net.input_dim)}",
                field="input_dim",
            )
        dims = [int(d) for d in net.input_dim]
        return [(n, tuple(dims[4 * i : 4 * i + 4])) for i, n in enumerate(names)]
    return [(n, ()) for n in names]  # shapes must then come from --input-shape
