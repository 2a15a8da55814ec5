"""Checked expected refusals: what every sweep over ``../shared`` asserts for a pending case.

A case that needs something an open issue will add (``pending.py``) is not skipped: the product
must refuse it, naming exactly what is pending, and nothing else may go wrong. So a BVLC
regression in such a case (a layer type lost, a parse error elsewhere) still fails.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from pending import Pending, without_pending_fields


def _assert_names_types(message: str, pending: Pending) -> None:
    for ltype, layers in pending.types.items():
        assert ltype in message, f"{ltype} not named in: {message}"
        for layer in layers[:5]:  # the message names five layers per type, then a count
            assert f"'{layer}'" in message, f"layer '{layer}' not named in: {message}"


def check_load_refusal(
    prototxt: Path, caffemodel: Path | None, shapes: dict[str, Any], pending: Pending
) -> None:
    """Loading refuses with exit code 4, naming exactly the pending types with their layers (or,
    for pending fields alone, each field)."""
    from caffe2keras.errors import (
        EXIT_UNSUPPORTED,
        Caffe2KerasError,
        UnsupportedLayersError,
    )
    from caffe2keras.frontend.load import LoadOptions
    from caffe2keras.frontend.net import load_net

    assert pending, "not a pending case"
    options = LoadOptions(input_shapes=shapes)
    if pending.types:
        with pytest.raises(UnsupportedLayersError) as info:
            load_net(prototxt, caffemodel, options)
        assert info.value.by_type == pending.types
        assert info.value.exit_code == EXIT_UNSUPPORTED
        _assert_names_types(str(info.value), pending)
    else:  # pending fields on layers of supported types: the loader must name each one
        with pytest.raises(Caffe2KerasError) as failed:
            load_net(prototxt, caffemodel, options)
        for fname in pending.fields:
            assert fname in str(failed.value), f"{fname} not named in: {failed.value}"


def check_cli_refusal(
    prototxt: Path, caffemodel: Path, shapes: dict[str, Any], pending: Pending, out_dir: Path
) -> None:
    """``caffe2keras convert`` exits with 4, its message naming every pending type and the
    layers using it (exactness of the set: :func:`check_load_refusal`); nothing is written."""
    from click.testing import CliRunner

    from caffe2keras.cli import main

    assert pending, "not a pending case"
    out = out_dir / "refused.h5"
    args = ["convert", str(prototxt), str(caffemodel), "-o", str(out)]
    for name, shape in shapes.items():
        args += ["--input-shape", f"{name}={','.join(str(d) for d in shape)}"]
    result = CliRunner().invoke(main, args, catch_exceptions=False)
    message = result.output
    assert result.exit_code == 4, message
    if pending.types:
        _assert_names_types(message, pending)
    assert not out.exists()


def check_parse_refusal(text: str, pending: Pending) -> str:
    """protobuf's text_format refuses ``text`` naming a pending field (it stops at the first),
    and accepts it once exactly the pending fields are blanked. Returns the blanked text."""
    from google.protobuf import text_format

    from caffe2keras._proto import caffe_pb2

    assert pending.fields, "no pending fields"
    with pytest.raises(text_format.ParseError) as info:
        text_format.Parse(text, caffe_pb2.NetParameter())
    named = [f for f in pending.fields if f'"{f}"' in str(info.value)]
    assert named, f"text_format's error names none of {sorted(pending.fields)}: {info.value}"
    blanked = without_pending_fields(text)
    text_format.Parse(blanked, caffe_pb2.NetParameter())  # everything else is our schema's
    return blanked


def check_inspect_refusal(doc: dict[str, Any], exit_code: int, pending: Pending) -> None:
    """``inspect`` lists exactly the pending types with their layers, with exit code 4."""
    want = {t: list(layers) for t, layers in pending.types.items()}
    assert doc["unsupported"] == want
    assert exit_code == (4 if want else 0)
