"""Tests for our Caffe schema (proto/caffe.proto) and its generated module."""

from __future__ import annotations

import importlib.util
import os
import subprocess
import sys
from pathlib import Path

import pytest
from google.protobuf import text_format
from pending import pending_in
from refusals import check_parse_refusal

from caffe2keras._proto import caffe_pb2

REPO = Path(__file__).resolve().parents[1]
SHARED = REPO.parent / "shared"
GENERATED = REPO / "caffe2keras" / "_proto" / "caffe_pb2.py"


def _shared_prototxts() -> list[Path]:
    """Every .prototxt under ../shared; fail in CI, skip locally if it is absent."""
    if not SHARED.is_dir():
        reason = f"shared reference material not found at {SHARED}"
        if os.environ.get("CI"):
            pytest.fail(reason)
        pytest.skip(reason)
    paths = sorted(SHARED.rglob("*.prototxt"))
    assert paths, f"no .prototxt files under {SHARED}"
    return paths


def _parse(text: str) -> caffe_pb2.NetParameter:
    return text_format.Parse(text, caffe_pb2.NetParameter())


def test_every_shared_prototxt_parses(expected_refusal) -> None:
    """...or, where it uses fork fields that open issues add to our schema (``pending.py``), is
    refused naming one of them and parses once exactly those are blanked."""
    failures = []
    for path in _shared_prototxts():
        pending = pending_in(path)
        if pending.fields:
            check_parse_refusal(path.read_text(), pending)
            expected_refusal(f"parse {path.relative_to(SHARED)}", pending)
            continue
        try:
            _parse(path.read_text())
        except text_format.ParseError as error:
            failures.append(f"{path.relative_to(SHARED)}: {error}")
    assert not failures, "\n".join(failures)


def _pooling(params: str) -> caffe_pb2.PoolingParameter:
    net = _parse(f'layer {{ name: "p" type: "Pooling" pooling_param {{ {params} }} }}')
    return net.layer[0].pooling_param


def test_fork_ceil_mode_parses() -> None:
    pooling = _pooling("pool: MAX kernel_size: 3 ceil_mode: false")
    assert pooling.HasField("ceil_mode")
    assert pooling.ceil_mode is False
    assert not pooling.HasField("round_mode")


def test_bvlc_round_mode_parses() -> None:
    pooling = _pooling("pool: AVE kernel_size: 3 round_mode: FLOOR")
    assert pooling.round_mode == caffe_pb2.PoolingParameter.FLOOR
    assert not pooling.HasField("ceil_mode")


def test_pooling_rounding_defaults_round_up() -> None:
    pooling = _pooling("pool: MAX")
    assert pooling.round_mode == caffe_pb2.PoolingParameter.CEIL
    assert pooling.ceil_mode is True


def test_unknown_field_error_names_field_and_line() -> None:
    text = 'name: "net"\nlayer {\n  name: "a"\n  bogus_field: 3\n}\n'
    with pytest.raises(text_format.ParseError) as info:
        _parse(text)
    assert "bogus_field" in str(info.value)
    assert info.value.GetLine() == 4
    assert str(info.value).startswith("4:")


def test_wire_numbers_of_fork_and_late_fields() -> None:
    fields = caffe_pb2.LayerParameter.DESCRIPTOR.fields_by_name
    assert fields["permute_param"].number == 202
    assert fields["swish_param"].number == 147
    assert fields["clip_param"].number == 148
    assert caffe_pb2.NetParameter.DESCRIPTOR.fields_by_name["layer"].number == 100
    assert caffe_pb2.NetParameter.DESCRIPTOR.fields_by_name["layers"].number == 2


@pytest.mark.skipif(
    importlib.util.find_spec("grpc_tools") is None,
    reason="grpcio-tools is not installed (needed only to regenerate caffe_pb2.py)",
)
def test_generated_module_is_up_to_date(tmp_path: Path) -> None:
    # In a subprocess: grpc_tools' in-process protoc can crash a pytest worker that already
    # loaded other native libraries.
    script = REPO / "proto" / "generate.py"
    subprocess.run([sys.executable, str(script), "--out", str(tmp_path)], check=True)
    written = tmp_path / GENERATED.name
    assert written.read_bytes() == GENERATED.read_bytes(), (
        "caffe2keras/_proto/caffe_pb2.py is stale: run `python proto/generate.py`"
    )
