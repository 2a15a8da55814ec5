"""Layer fields caffe.proto lacks: allowed (and handed to plugins) on layers of types that are
not built in, still a parse error with line and column on built-in layers; the schema-free
text-format reader they rely on."""

from __future__ import annotations

import math

import pytest
from google.protobuf import text_format

from caffe2keras._proto import caffe_pb2
from caffe2keras.errors import ParseError, UnsupportedLayersError
from caffe2keras.frontend.custom_fields import line_column, split_custom_fields
from caffe2keras.frontend.load import parse_prototxt
from caffe2keras.frontend.net import load_net
from caffe2keras.frontend.textproto import Fields, TextFormatError, parse_text

HEAD = 'layer { name: "data" type: "Input" top: "data" input_param { shape { dim: 1 dim: 4 } } }\n'


def test_reader_handles_the_text_format_grammar() -> None:
    text = (
        'name: "n"  # comment\n'
        "m { a: 1 b: -2.5e3 c: 0x1F d: 1.5f e: -inf f: nan g: true h: False i: ENUM_NAME }\n"
        'n < s: \'x\\\'y\' t: "a" "b" >; r: [1, 2, 3], q: [{ v: 1 }, < v: 2 >]\n'
        "m2: { a: 7 }\n"
    )
    entries = parse_text(text)
    top = Fields(entries)
    assert top.names() == ("name", "m", "n", "r", "q", "m2")
    m = top.message("m")
    assert (m.value("a"), m.value("b"), m.value("c"), m.value("d")) == (1, -2500.0, 31, 1.5)
    assert m.value("e") == -math.inf and math.isnan(m.value("f"))
    assert (m.value("g"), m.value("h"), m.value("i")) == (True, False, "ENUM_NAME")
    assert top.message("n").value("s") == "x'y" and top.message("n").value("t") == "ab"
    assert top.values("r") == (1, 2, 3) and [q.value("v") for q in top.values("q")] == [1, 2]
    assert top.message("m2").value("a") == 7
    assert top.value("missing", 5) == 5 and top.message("missing").names() == ()
    assert text[entries[1].start : entries[1].end].startswith("m {")
    with pytest.raises(TypeError, match="scalar"):
        top.message("name")


@pytest.mark.parametrize("bad", ["a {", "a: }", "a b", '"x": 1', "a: [1, ", "a: @"])
def test_reader_rejects_malformed_text(bad: str) -> None:
    with pytest.raises(TextFormatError):
        parse_text(bad)


def test_split_blanks_custom_fields_and_keeps_positions() -> None:
    text = (
        HEAD
        + 'layer { name: "s" type: "Reverse" bottom: "data" top: "s"\n'
        + "  reverse_param { axis: 1 }\n  other: 3 }\n"
    )
    split = split_custom_fields(text, frozenset({"Input"}))
    assert split is not None and not split.misplaced
    assert len(split.text) == len(text) and split.text.count("\n") == text.count("\n")
    net = text_format.Parse(split.text, caffe_pb2.NetParameter())
    assert net.layer[1].type == "Reverse"
    fields = split.fields[1]
    assert fields.names() == ("reverse_param", "other")
    assert fields.message("reverse_param").value("axis") == 1


def test_unknown_field_on_a_builtin_layer_is_a_parse_error_with_position(tmp_path) -> None:
    text = (
        HEAD
        + 'layer { name: "s" type: "Shuffle" bottom: "data" top: "s" custom_param { g: 1 } }\n'
        + 'layer { name: "r" type: "ReLU" bottom: "s" top: "r"\n  relu_parm { slope: 1 } }\n'
    )
    path = tmp_path / "n.prototxt"
    path.write_text(text)
    with pytest.raises(ParseError) as info:
        parse_prototxt(path)
    assert (info.value.line, info.value.column) == (4, 3)
    assert "layer 'r' (ReLU) has no field named 'relu_parm'" in str(info.value)
    assert line_column(text, text.index("relu_parm")) == (4, 3)


def test_typo_inside_a_known_message_of_a_custom_layer_stays_an_error(tmp_path) -> None:
    text = HEAD + (
        'layer { name: "s" type: "Foo" bottom: "data" top: "s" foo_param { a: 1 }\n'
        "  include { phase: TEST bogus: 1 } }\n"
    )
    path = tmp_path / "n.prototxt"
    path.write_text(text)
    with pytest.raises(ParseError, match="bogus") as info:
        parse_prototxt(path)
    assert info.value.line == 3


def test_custom_type_without_plugin_is_reported_as_unsupported(tmp_path) -> None:
    text = HEAD + (
        'layer { name: "s" type: "Reverse" bottom: "data" top: "s" '
        "reverse_param { axis: 1 } }\n"
        'layer { name: "u" type: "PSROIPooling" bottom: "s" top: "u" '
        "psroi_pooling_param { output_dim: 1 } }\n"
    )
    path = tmp_path / "n.prototxt"
    path.write_text(text)
    parsed = parse_prototxt(path)
    assert sorted(parsed.custom_fields) == [1, 2]
    with pytest.raises(UnsupportedLayersError) as info:
        load_net(path)
    assert set(info.value.by_type) == {"Reverse", "PSROIPooling"}
