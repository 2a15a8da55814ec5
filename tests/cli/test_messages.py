"""Messages that help (issue 11, part 5): a misspelt layer type gets the nearest known type and
its prototxt line; a wrong-rank --input-shape is a usage error; another net's caffemodel is named
as such, with both files."""

from __future__ import annotations

from pathlib import Path

import pytest
from click.testing import CliRunner

from caffe2keras.cli import main
from caffe2keras.passes.suggest import nearest_types, type_lines

REPO = Path(__file__).resolve().parents[2]
TINY = REPO / "fixtures" / "tiny"
PROTO_TEXT = (TINY / "tiny.prototxt").read_text()
MODEL = str(TINY / "tiny.caffemodel")


def invoke(*args: str):
    return CliRunner().invoke(main, list(args), catch_exceptions=False)


def _typo(tmp_path: Path) -> tuple[str, list[int]]:
    """The fixture with both Convolution layers misspelt; the lines counted here by hand."""
    text = PROTO_TEXT.replace('type: "Convolution"', 'type: "Convolutoin"')
    path = tmp_path / "typo.prototxt"
    path.write_text(text)
    lines = [i for i, line in enumerate(text.splitlines(), 1) if '"Convolutoin"' in line]
    assert len(lines) == 2
    return str(path), lines


def test_convert_suggests_the_nearest_type_and_names_the_lines(tmp_path) -> None:
    proto, lines = _typo(tmp_path)
    result = invoke("convert", proto, MODEL, "-o", str(tmp_path / "x.h5"))
    assert result.exit_code == 4, result.output
    out = result.output
    # the one-error-lists-everything form stays: type and every layer using it
    assert "unsupported layer types: Convolutoin (used by 'conv1', 'conv2')" in out
    assert f"lines {lines[0]}, {lines[1]} of {proto}" in out
    assert "did you mean 'Convolution'?" in out
    assert not (tmp_path / "x.h5").exists()


def test_inspect_suggests_the_nearest_type_and_names_the_lines(tmp_path) -> None:
    proto, lines = _typo(tmp_path)
    result = invoke("inspect", proto)
    assert result.exit_code == 4, result.output
    expected = (
        f"UNSUPPORTED Convolutoin: conv1, conv2 (lines {lines[0]}, {lines[1]}; "
        "did you mean 'Convolution'?)"
    )
    assert expected in result.output


@pytest.mark.parametrize(
    ("typed", "meant"),
    [
        ("Convolutoin", "Convolution"),
        ("BatchNrom", "BatchNorm"),
        ("INNER_PRODUCT", "InnerProduct"),  # a V1 enum name written as a V2 type string
        ("relu", "ReLU"),
        ("Poolling", "Pooling"),
        ("Slcie", "Slice"),
    ],
)
def test_nearest_types(typed: str, meant: str) -> None:
    assert nearest_types(typed) == [meant]


@pytest.mark.parametrize(
    "fork_type",
    ["ShuffleChannel", "PSROIPooling", "ROIPooling", "DepthwiseConvolution", "Upsample"],
)
def test_other_types_are_not_taken_for_typos(fork_type: str) -> None:
    # a fork's type that contains or resembles a known name is another type, not a misspelling
    assert nearest_types(fork_type) == []


def test_no_suggestion_for_a_type_nothing_resembles(tmp_path) -> None:
    text = PROTO_TEXT.replace('name: "prob" type: "Softmax"', 'name: "prob" type: "Zzyzx"')
    path = tmp_path / "odd.prototxt"
    path.write_text(text)
    result = invoke("convert", str(path), MODEL, "-o", str(tmp_path / "x.h5"))
    assert result.exit_code == 4
    assert "Zzyzx (used by 'prob')" in result.output
    assert "did you mean" not in result.output


def test_type_lines_skip_comments() -> None:
    text = '# type: "Foo"\nlayer { type: "Foo" }  # type: "Foo"\n\nlayers { type: FOO }\n'
    assert type_lines(text, ["Foo", "FOO", "Bar"]) == {"Foo": (2,), "FOO": (4,)}


@pytest.mark.parametrize("command", ["convert", "inspect"])
def test_input_shape_of_the_wrong_rank_is_a_usage_error(tmp_path, command: str) -> None:
    proto = str(TINY / "tiny.prototxt")
    args = [proto] if command == "inspect" else [proto, MODEL, "-o", str(tmp_path / "x.h5")]
    result = invoke(command, *args, "--input-shape", "data=1,3,224")
    assert result.exit_code == 2, result.output
    assert "input 'data'" in result.output
    assert "gives 3 dimensions" in result.output and "has 4 (N, C, H, W)" in result.output


def test_input_shape_of_an_unknown_input_stays_a_usage_error(tmp_path) -> None:
    result = invoke("inspect", str(TINY / "tiny.prototxt"), "--input-shape", "image=1,3,9,9")
    assert result.exit_code == 2, result.output
    assert "'image', which is not an input of the net" in result.output


def test_caffemodel_of_another_net_names_both_files(tmp_path) -> None:
    # conv1 doubled: every layer with parameters after it (bn, scale, conv2, fc) changes shape
    text = PROTO_TEXT.replace(
        "num_output: 8 kernel_size: 3 stride: 2", "num_output: 16 kernel_size: 3 stride: 2"
    )
    assert text != PROTO_TEXT
    proto = tmp_path / "other.prototxt"
    proto.write_text(text)
    for command in ("convert", "inspect"):
        extra = ("-o", str(tmp_path / "x.h5")) if command == "convert" else ()
        result = invoke(command, str(proto), MODEL, *extra)
        assert result.exit_code == 3, result.output
        out = result.output
        assert out.startswith(f"error: {MODEL}: ")
        assert f"(prototxt: {proto})" in out
        assert "seems to belong to another net: 5 of the 5 layers" in out
        assert "'conv1'" in out and "[8, 3, 3, 3]" in out and "[16, 3, 3, 3]" in out


def test_one_bad_layer_keeps_its_precise_message(tmp_path) -> None:
    text = PROTO_TEXT.replace("num_output: 10", "num_output: 11")
    proto = tmp_path / "fc.prototxt"
    proto.write_text(text)
    result = invoke("inspect", str(proto), MODEL)
    assert result.exit_code == 3, result.output
    assert "another net" not in result.output
    assert "layer 'fc'" in result.output and "[11, 192]" in result.output  # 12 channels x 4 x 4
