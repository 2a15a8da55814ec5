"""The fast prototxt reader against protobuf's own text_format, the reference it stands in for.

Contract: whenever ``parse_message`` accepts a text, ``text_format.Parse`` accepts it too and
gives the same serialized bytes; whatever it is unsure of, it declines (and the loader falls back
to text_format, so error messages stay protobuf's). Checked on every prototxt we have, on
hand-picked edge cases, and on seeded random mutations.
"""

from __future__ import annotations

import random
from pathlib import Path

import pytest
from conftest import REPO, SHARED
from google.protobuf import text_format
from pending import pending_in
from refusals import check_parse_refusal

from caffe2keras._proto import caffe_pb2
from caffe2keras.errors import ParseError
from caffe2keras.frontend.fasttext import parse_message
from caffe2keras.frontend.load import parse_prototxt


def _prototxts() -> list[Path]:
    roots = [REPO / "fixtures", REPO / "benchmarks", REPO / "examples", SHARED / "zoo"]
    roots.append(SHARED / "golden")
    return sorted(p for root in roots if root.is_dir() for p in root.rglob("*.prototxt"))


def _reference(text: str) -> bytes | None:
    net = caffe_pb2.NetParameter()
    try:
        text_format.Parse(text, net)
    except text_format.ParseError:
        return None
    return net.SerializeToString(deterministic=True)


def _fast(text: str) -> bytes | None:
    net = caffe_pb2.NetParameter()
    return net.SerializeToString(deterministic=True) if parse_message(text, net) else None


def test_there_are_many_prototxts_to_compare() -> None:
    found = _prototxts()
    assert len(found) >= (90 if SHARED.is_dir() else 5), [str(p) for p in found]


@pytest.mark.parametrize("path", _prototxts(), ids=lambda p: p.name)
def test_every_prototxt_we_have_parses_fast_and_identically(path: Path, expected_refusal) -> None:
    """A prototxt with fork fields that open issues add to our schema (``pending.py``) is
    declined by the fast reader, refused by text_format naming one of them, and compared with
    those fields blanked."""
    text = path.read_text(encoding="utf-8")
    pending = pending_in(path)
    if pending.fields:
        assert _fast(text) is None
        text = check_parse_refusal(text, pending)
        expected_refusal(f"fast reader {path.parent.name}/{path.name}", pending)
    expected = _reference(text)
    assert expected is not None, f"{path} is not valid text format"
    assert _fast(text) == expected


LAYER = 'layer { name: "c" type: "Convolution" bottom: "x" top: "c" %s }'
ACCEPTED = [
    'name: "n" input: "data" input_shape { dim: 1 dim: 3 }',
    "name: 'single quotes'",
    'name: "卷积层 é\tx" input: ""',  # non-ASCII, a tab, an empty string
    'name:"no-space";input:"a",input:"b"',
    LAYER % "convolution_param: { num_output: 4 kernel_size: 3 }",
    LAYER % "convolution_param < num_output: 4 >",
    LAYER % "param { lr_mult: 1.5f decay_mult: 0 } param { lr_mult: 2 }",
    LAYER % "convolution_param { num_output: 4 weight_filler { type: 'msra' std: 1e-3 } }",
    LAYER % "convolution_param { bias_term: false } propagate_down: t propagate_down: 0",
    LAYER % "include { phase: TEST } exclude { stage: 'deploy' }",
    LAYER % 'batch_norm_param { eps: -0.0 moving_average_fraction: 1. } # comment "{\n',
    LAYER % "pooling_param { pool: AVE } convolution_param {}",
    "name: 'x'  # a comment with 'quotes' and { braces",
]
DECLINED = [
    'name: "with \\"escape\\""',  # escapes: text_format's unescaping decides
    'name: "adjacent" "literals"',
    LAYER % "convolution_param { kernel_size: [3, 3] }",  # list syntax
    LAYER % "convolution_param { num_output: 0x10 }",  # hex
    LAYER % "convolution_param { num_output: 010 }",  # octal
    LAYER % "convolution_param { num_output: 4.0 }",  # float in an int field: invalid
    LAYER % "convolution_param { num_output: -1 }",  # negative uint32: invalid
    LAYER % "convolution_param { num_output: 4294967296 }",  # out of range: invalid
    LAYER % "pooling_param { pool: 1 }",  # enum by number
    LAYER % "pooling_param { pool: MEAN }",  # unknown enum name: invalid
    LAYER % "batch_norm_param { eps: inf }",
    LAYER % "batch_norm_param { eps: .5 }",
    LAYER % "convolution_param { num_output: 4 num_output: 5 }",  # singular twice: invalid
    'name: "a" name: "b"',
    LAYER % "no_such_param { x: 1 }",  # unknown field: invalid (or a plugin's)
    LAYER % "convolution_param { num_output 4 }",  # missing colon: invalid
    LAYER % "convolution_param { num_output: 4 ",  # unclosed: invalid
    LAYER % "convolution_param { num_output: 4 >",  # mismatched close: invalid
    'name: "a",, input: "b"',
    "[caffe.ext] { }",
]


@pytest.mark.parametrize("text", ACCEPTED)
def test_the_common_subset_is_read_fast(text: str) -> None:
    expected = _reference(text)
    assert expected is not None
    assert _fast(text) == expected


@pytest.mark.parametrize("text", DECLINED)
def test_anything_else_is_left_to_text_format(text: str) -> None:
    assert _fast(text) is None


def test_declined_texts_still_load_through_text_format(tmp_path: Path) -> None:
    path = tmp_path / "net.prototxt"
    path.write_text(
        'name: "with \\"escape\\"" input: "data" input_shape { dim: [1, 3, 4, 4] }\n'
        + LAYER.replace('bottom: "x"', 'bottom: "data"') % "convolution_param { num_output: 0x2 }"
    )
    net = parse_prototxt(path).net
    assert net.name == 'with "escape"'
    assert list(net.input_shape[0].dim) == [1, 3, 4, 4]
    assert net.layer[0].convolution_param.num_output == 2


SNIPPETS = [
    "{", "}", "<", ">", ":", ",", ";", "[", "]", '"', "'", "#", "\n", " ", "-", "0", "01",
    "0x1", "1e5", "1.5f", ".5", "inf", "nan", "true", "t", "MAX", "name", "top", "layer",
    '"a\\"b"', '"x" "y"', "lr_mult: 1", "pooling_param { pool: AVE }", "pool: 1",
    "stride: 4294967296", "stride: -1", "eps: 1e-400", "eps: 1e400", "kernel_size: 2.0",
]  # fmt: skip


def _mutate(text: str, rng: random.Random) -> str:
    for _ in range(rng.randint(1, 3)):
        pos = rng.randrange(len(text))
        op = rng.random()
        if op < 0.3:
            text = text[:pos] + text[pos + rng.randint(1, 8) :]
        elif op < 0.8:
            text = text[:pos] + rng.choice(SNIPPETS) + text[pos:]
        else:
            text = text[:pos] + text[pos + 1 : pos + rng.randint(2, 30)] + text[pos:]
    return text


def test_random_mutations_are_read_identically_or_declined() -> None:
    sources = [p.read_text(encoding="utf-8") for p in _prototxts() if p.stat().st_size < 8000]
    assert sources
    rng = random.Random(20261126)
    accepted = 0
    for _ in range(1500):
        text = _mutate(rng.choice(sources), rng)
        fast = _fast(text)
        if fast is not None:
            accepted += 1
            assert fast == _reference(text), text
    assert accepted > 20  # the mutations do reach the accepting path


def test_a_byte_order_mark_and_windows_line_ends_are_accepted(tmp_path: Path) -> None:
    text = (REPO / "fixtures" / "tiny" / "tiny.prototxt").read_text(encoding="utf-8")
    expected = parse_prototxt(REPO / "fixtures" / "tiny" / "tiny.prototxt").net
    path = tmp_path / "bom.prototxt"
    path.write_bytes(b"\xef\xbb\xbf" + text.replace("\n", "\r\n").encode("utf-8"))
    assert parse_prototxt(path).net == expected


def test_other_encodings_are_tolerated_in_comments_only(tmp_path: Path) -> None:
    text = (REPO / "fixtures" / "tiny" / "tiny.prototxt").read_text(encoding="utf-8")
    expected = parse_prototxt(REPO / "fixtures" / "tiny" / "tiny.prototxt").net
    gbk = "# 卷积层 (a GBK comment)\n".encode("gbk")
    path = tmp_path / "gbk.prototxt"
    path.write_bytes(gbk + text.encode("utf-8") + b"  # caf\xe9 (Latin-1)\n")
    assert parse_prototxt(path).net == expected
    path.write_bytes(text.encode("utf-8") + b'name: "caf\xe9" # in a name, not a comment\n')
    with pytest.raises(ParseError) as info:
        parse_prototxt(path)
    lines = text.count("\n") + 1
    assert str(info.value).startswith(f"{path}:{lines}:11: not UTF-8 text")


def test_inspect_and_manifest_read_comments_in_other_encodings(tmp_path: Path) -> None:
    from caffe2keras import api
    from caffe2keras.inspection import inspect_net
    from caffe2keras.outputs import manifest

    text = (REPO / "fixtures" / "tiny" / "tiny.prototxt").read_text(encoding="utf-8")
    path = tmp_path / "gbk.prototxt"
    path.write_bytes("# 均值 mean_value: 104\n".encode("gbk") + text.encode("utf-8"))
    found = inspect_net(path)
    assert found.exit_code == 0 and [h.key for h in found.hints] == ["mean_value"]
    facts = manifest.net_facts(path, api.ConvertOptions())
    assert facts["preprocessing"][0]["value"] == 104.0
