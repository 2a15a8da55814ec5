"""Bring old NetParameter forms to today's: V1 ``layers`` -> V2 ``layer``, legacy input forms.

Follows Caffe's ``upgrade_proto.cpp`` (UpgradeV1Net / UpgradeV1LayerParameter) and ``net.cpp``
(the ``input`` + ``input_dim``/``input_shape`` forms become inputs of the net).
"""

from __future__ import annotations

from typing import Any

from caffe2keras._proto import caffe_pb2
from caffe2keras.errors import ValidationError
from caffe2keras.frontend.v1types import V1_TYPE_NAMES

# Fields that V1LayerParameter and LayerParameter share by name (numbers differ: copy by name).
_COMMON = ("name", "bottom", "top", "loss_weight", "include", "exclude")


def upgrade_v1_layer(v1: Any) -> Any:
    """One V1LayerParameter as a V2 LayerParameter (params copied field by field, by name)."""
    if v1.HasField("layer"):
        raise ValidationError(
            "the V0 layer form (layers { layer { ... } }) is not supported; upgrade the file "
            "with Caffe's upgrade_net_proto_text first",
            layer=v1.layer.name or None,
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
    if v1.type not in V1_TYPE_NAMES:
        raise ValidationError(
            f"unknown V1 layer type number {v1.type}", layer=v1.name, field="type"
        )
    v2.type = V1_TYPE_NAMES[v1.type]
    v2_fields = {f.name for f in caffe_pb2.LayerParameter.DESCRIPTOR.fields}
    for fdesc, value in v1.ListFields():
        if fdesc.name.endswith("_param") and fdesc.name in v2_fields:
            getattr(v2, fdesc.name).CopyFrom(value)
    return v2


def upgrade_net(net: Any) -> Any:
    """A copy of ``net`` in V2 form. Mixing ``layer`` and ``layers`` is an error, as in Caffe."""
    if not net.layers:
        return net
    if net.layer:
        raise ValidationError(
            "the net mixes V1 'layers' and V2 'layer' entries; Caffe refuses that"
        )
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
