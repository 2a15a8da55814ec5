"""Progress: a bar only on a terminal, nothing when quiet or piped, step details with -v."""

from __future__ import annotations

import io
from pathlib import Path

from click.testing import CliRunner

from caffe2keras import api
from caffe2keras.cli import main
from caffe2keras.runtime.progress import NullReporter, TerminalReporter, make_reporter

REPO = Path(__file__).resolve().parents[2]
TINY = REPO / "fixtures" / "tiny"
PROTO, MODEL = str(TINY / "tiny.prototxt"), str(TINY / "tiny.caffemodel")
STEPS = ("read:", "keras:", "build:", "write:")


class Tty(io.StringIO):
    def isatty(self) -> bool:
        return True


class RecordingReporter:
    """A reporter for the API: records steps, their totals and how far they counted."""

    def __init__(self) -> None:
        self.steps: list[list] = []

    def step(self, name: str, total: int | None = None):
        reporter = self

        class Step:
            def __enter__(self):
                reporter.steps.append([name, total, 0, []])
                return self

            def __exit__(self, *exc):
                return False

            def advance(self, n: int = 1) -> None:
                reporter.steps[-1][2] += n

            def note(self, text: str) -> None:
                reporter.steps[-1][3].append(text)

        return Step()

    def detail(self, message: str) -> None:
        pass


def convert(tmp_path: Path, *flags: str):
    runner = CliRunner()
    out = tmp_path / "tiny.weights.h5"
    return runner.invoke(main, ["convert", PROTO, MODEL, "-o", str(out), *flags])


def test_piped_stderr_shows_no_bar(tmp_path) -> None:
    result = convert(tmp_path, "--no-verify")
    assert result.exit_code == 0, result.output
    assert "\r" not in result.stderr and "[" not in result.stderr
    assert not any(s in result.stderr for s in STEPS)


def test_quiet_prints_nothing(tmp_path) -> None:
    result = convert(tmp_path, "--no-verify", "-q")
    assert result.exit_code == 0
    assert result.stdout == "" and result.stderr == ""


def test_verbose_prints_step_times_on_stderr(tmp_path) -> None:
    result = convert(tmp_path, "--no-verify", "-v")
    assert result.exit_code == 0, result.output
    for step in STEPS:
        assert step in result.stderr
    assert "10 Caffe layers, 10 learned blobs (weight arrays)" in result.stderr
    assert "\r" not in result.stderr  # not a terminal: details, no bar
    assert "converted 10 Caffe layers" in result.stdout


def test_quiet_wins_over_verbose(tmp_path) -> None:
    result = convert(tmp_path, "--no-verify", "-q", "-v")
    assert result.stderr == ""


def test_api_reports_every_step_with_counts(tmp_path) -> None:
    rec = RecordingReporter()
    api.convert(PROTO, MODEL, tmp_path / "t.weights.h5", api.ConvertOptions(), reporter=rec)
    names = [s[0] for s in rec.steps]
    assert names == ["read", "keras", "build", "verify", "write"]
    build = rec.steps[2]
    assert build[1] == build[2] > 0  # one tick per layer of the Keras graph


def test_streamed_write_counts_each_weight(tmp_path) -> None:
    rec = RecordingReporter()
    options = api.ConvertOptions(verify=False)
    api.convert(PROTO, MODEL, tmp_path / "t.weights.h5", options, reporter=rec)
    write = rec.steps[-1]
    assert write[0] == "write" and write[1] == write[2] > 0


def test_make_reporter_choices() -> None:
    assert isinstance(make_reporter(stream=io.StringIO()), NullReporter)
    assert isinstance(make_reporter(quiet=True, verbose=True, stream=Tty()), NullReporter)
    assert make_reporter(stream=Tty()).bar
    piped = make_reporter(verbose=True, stream=io.StringIO())
    assert isinstance(piped, TerminalReporter) and not piped.bar


def test_terminal_bar_draws_and_clears() -> None:
    stream = Tty()
    reporter = TerminalReporter(stream, bar=True, verbose=False)
    with reporter.step("build", total=4) as step:
        for _ in range(4):
            step.advance()
        reporter.redraw()
    text = stream.getvalue()
    assert "build" in text and "[" + "#" * 24 + "] 4/4" in text
    assert text.endswith("\r\x1b[K")  # the line is cleared when the step ends
    assert "\n" not in text  # nothing persistent without -v
