"""Byte-reproducible outputs: the same inputs always give the same file.

HDF5 outputs (``.h5``, ``.weights.h5``, keras2-weights) are reproducible as written: h5py creates
datasets with ``track_times=False`` (no modification times in object headers), files use the
default ``libver='earliest'`` (version-1 object headers, which carry no times), Keras writes
groups and datasets in model order, and our ``caffe2keras_*`` attributes are added in sorted
order as ``json.dumps(..., sort_keys=True)``.

A ``.keras`` archive is not: Keras stamps ``metadata.json`` with ``date_saved`` (the wall clock),
gives the weights entry the current zip time, and numbers shared objects in ``config.json`` by
their memory address (``id()``). :func:`normalize_keras_archive` rewrites those three things
(``date_saved`` becomes :data:`FIXED_DATE`, or ``$SOURCE_DATE_EPOCH`` when set; every entry gets
the zip epoch 1980-01-01; shared-object ids are renumbered 1, 2, ... in order of first
appearance, which keeps which objects are shared) and nothing else, so the archive loads as
before.
"""

from __future__ import annotations

import datetime
import io
import json
import os
import zipfile
from pathlib import Path
from typing import Any

FIXED_DATE = "1980-01-01@00:00:00"
ZIP_EPOCH = (1980, 1, 1, 0, 0, 0)
_SHARED_ID = "shared_object_id"


def saved_date() -> str:
    """The ``date_saved`` written into .keras metadata: ``$SOURCE_DATE_EPOCH`` or a fixed date."""
    epoch = os.environ.get("SOURCE_DATE_EPOCH")
    if not epoch:
        return FIXED_DATE
    stamp = datetime.datetime.fromtimestamp(int(epoch), tz=datetime.timezone.utc)
    return stamp.strftime("%Y-%m-%d@%H:%M:%S")


def _renumber(node: Any, ids: dict[Any, int]) -> Any:
    """``node`` with every shared-object id replaced by its order of first appearance."""
    if isinstance(node, dict):
        out = {}
        for key, value in node.items():
            if key == _SHARED_ID:
                out[key] = ids.setdefault(value, len(ids) + 1)
            else:
                out[key] = _renumber(value, ids)
        return out
    if isinstance(node, list):
        return [_renumber(v, ids) for v in node]
    return node


def _normalized_entry(name: str, data: bytes) -> bytes:
    if name == "metadata.json":
        meta = json.loads(data)
        if "date_saved" in meta:
            meta["date_saved"] = saved_date()
        return json.dumps(meta).encode()
    if name == "config.json":
        return json.dumps(_renumber(json.loads(data), {})).encode()
    return data


def normalize_keras_archive(path: str | os.PathLike[str]) -> None:
    """Rewrite a .keras zip in place with fixed dates and address-free shared-object ids."""
    path = Path(path)
    with zipfile.ZipFile(path) as src:
        entries = [(info, src.read(info)) for info in src.infolist()]
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as dst:
        for info, data in entries:
            fixed = zipfile.ZipInfo(info.filename, date_time=ZIP_EPOCH)
            fixed.compress_type = info.compress_type
            fixed.create_system = 3  # unix, whatever the platform
            fixed.external_attr = 0o644 << 16
            dst.writestr(fixed, _normalized_entry(info.filename, data))
    path.write_bytes(buffer.getvalue())
