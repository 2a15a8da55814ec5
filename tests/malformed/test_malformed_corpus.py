"""Every malformed input of the corpus: the documented exit code, one clear message naming the
file, layer or field, no traceback, and nothing left behind (no output, no temporary file)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from click.testing import CliRunner
from corpus import CASES, MODEL, PROTO, Case

from caffe2keras.cli import main


def run_case(case: Case, folder: Path, *extra: str) -> tuple[int, str]:
    text, model, args = case.make()
    proto, weights = folder / "net.prototxt", folder / "net.caffemodel"
    proto.write_bytes(text.encode() if isinstance(text, str) else text)
    weights.write_bytes(model)
    out = folder / case.output
    argv = ["convert", str(proto), str(weights), "-o", str(out), *args, *extra]
    if not case.verify:
        argv.append("--no-verify")
    result = CliRunner().invoke(main, argv, catch_exceptions=False)
    return result.exit_code, result.output


def test_corpus_is_large_enough() -> None:
    assert len(CASES) >= 30
    assert len({c.name for c in CASES}) == len(CASES)


@pytest.mark.parametrize("case", CASES, ids=[c.name for c in CASES])
def test_malformed_input(case: Case, tmp_path: Path) -> None:
    code, output = run_case(case, tmp_path)
    proto, model = tmp_path / "net.prototxt", tmp_path / "net.caffemodel"
    assert code == case.exit_code, output
    for fragment in case.expect:
        assert fragment.format(proto=proto, model=model) in output, output
    assert "Traceback" not in output
    if code >= 2:
        errors = [line for line in output.splitlines() if line.startswith(("error: ", "Error: "))]
        assert len(errors) == 1, output
    left = sorted(
        p.name for p in tmp_path.rglob("*") if p.name not in ("net.prototxt", "net.caffemodel")
    )
    assert left == ([case.output] if case.leaves_output else []), left


def test_nan_weights_note_reaches_the_json_report(tmp_path: Path) -> None:
    case = next(c for c in CASES if c.name.startswith("NaN/Inf weights verified"))
    report = tmp_path / "report.json"
    code, _ = run_case(case, tmp_path, "--report", str(report))
    assert code == 1
    notes = json.loads(report.read_text())["notes"]
    assert any("layer 'conv2' has non-finite weights (blob 0: 1 NaN, 1 Inf)" in n for n in notes)


def _another_nets_weights(folder: Path) -> Path:
    """A weights file of a different net (one Dense layer), as Keras writes it."""
    import keras

    model = keras.Sequential([keras.Input((3,)), keras.layers.Dense(2)])
    path = folder / "other.weights.h5"
    model.save_weights(path)
    return path


@pytest.mark.parametrize(
    "name, content",
    [
        ("garbage.h5", b"not hdf5 at all\n"),
        ("garbage.keras", b"PK but not a zip"),
        ("caffemodel.h5", MODEL),
        ("other.weights.h5", None),
    ],
)
def test_verify_refuses_a_file_that_is_not_this_nets_model(
    tmp_path: Path, name: str, content: bytes | None
) -> None:
    proto, weights = tmp_path / "net.prototxt", tmp_path / "net.caffemodel"
    proto.write_text(PROTO)
    weights.write_bytes(MODEL)
    model = tmp_path / name
    if content is None:
        model = _another_nets_weights(tmp_path)
    else:
        model.write_bytes(content)
    args = ["verify", str(proto), str(weights), str(model)]
    result = CliRunner().invoke(main, args, catch_exceptions=False)
    assert result.exit_code == 3, result.output
    assert f"error: {model}: cannot load it as a Keras model of this net" in result.output
