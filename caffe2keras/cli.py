"""The command line: a thin click shell over :mod:`caffe2keras.api`.

Only this module turns errors into messages and exit codes. Nothing here imports TensorFlow or
Keras at import time, so ``--help`` and usage errors are instant.
"""

from __future__ import annotations

import os
import signal
import sys
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any, NoReturn

import click

from caffe2keras import interrupts, paths, quiet
from caffe2keras.cli_options import CHECK_OPTIONS, NET_OPTIONS, with_options
from caffe2keras.cli_release import output_options, record_manifest, register
from caffe2keras.errors import Caffe2KerasError, UsageError

EXIT_INTERNAL = 70
EXIT_OUT_OF_MEMORY = 71


def _parse_shape(text: str) -> tuple[str, tuple[int, ...]]:
    name, sep, dims = text.rpartition("=")
    try:
        shape = tuple(int(d) for d in dims.split(","))
    except ValueError:
        shape = ()
    if not sep or not name or not shape or any(d <= 0 for d in shape):
        raise click.BadParameter(f"expected NAME=N,C,H,W with positive integers, got '{text}'")
    return name, shape


def _shapes(values: tuple[str, ...]) -> dict[str, tuple[int, ...]]:
    return dict(_parse_shape(v) for v in values)


def _npy(values: tuple[str, ...], inputs: list[str] | None = None) -> dict[str, str]:
    out = {}
    for v in values:
        name, sep, path = v.rpartition("=")
        out[name if sep else ""] = path
    return out


def _interrupted() -> NoReturn:
    click.echo("interrupted; no output was written", err=True)
    sys.exit(130)


@contextmanager
def _sigint_seen() -> Iterator[None]:
    """Record a Ctrl-C (still raising KeyboardInterrupt, like Python's own handler): a library
    may turn the KeyboardInterrupt into another exception (h5py does, mid-write), or drop it when
    it lands in a garbage-collector callback; :mod:`caffe2keras.interrupts` keeps the record."""
    interrupts.clear()  # a record left by an earlier call in this process is not this run's
    main = threading.current_thread() is threading.main_thread()
    if not main or signal.getsignal(signal.SIGINT) is not signal.default_int_handler:
        yield
        return

    def handler(signum: int, frame: Any) -> None:
        interrupts.record()
        raise KeyboardInterrupt

    previous_hook = sys.unraisablehook
    signal.signal(signal.SIGINT, handler)
    sys.unraisablehook = interrupts.quiet_dropped_interrupts(previous_hook)
    try:
        yield
    finally:
        signal.signal(signal.SIGINT, signal.default_int_handler)
        sys.unraisablehook = previous_hook


def _out_of_memory(exc: BaseException) -> bool:
    """Python's MemoryError, or TensorFlow's ResourceExhaustedError (without importing it)."""
    return isinstance(exc, MemoryError) or type(exc).__name__ == "ResourceExhaustedError"


def _run(fn: Callable[[], int], debug: bool) -> None:
    """Call ``fn``; our errors become one clear line and their exit code."""
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")  # TensorFlow's C++ start-up chatter
    quiet.install()  # and what it logs before reading that (absl, oneDNN)
    with _sigint_seen():
        _call(fn, debug)


def _call(fn: Callable[[], int], debug: bool) -> None:
    try:
        code = fn()
        interrupts.check()  # a Ctrl-C some library dropped: still an interruption
    except Caffe2KerasError as exc:
        if debug:
            raise
        click.echo(f"error: {exc}", err=True)
        sys.exit(exc.exit_code)
    except click.ClickException:  # a bad option value found late: still a usage error (2)
        raise
    except KeyboardInterrupt:
        _interrupted()
    except Exception as exc:  # an internal bug: say so plainly, traceback only with --debug
        if interrupts.pending():  # the Ctrl-C surfaced as another exception
            _interrupted()
        if debug:
            raise
        if _out_of_memory(exc):
            click.echo(
                f"error: out of memory ({type(exc).__name__}); nothing was written. A verified "
                "conversion holds the Keras model, the reference and both sets of activations: "
                "try smaller --input-shape values (batch 1), or --no-verify",
                err=True,
            )
            sys.exit(EXIT_OUT_OF_MEMORY)
        click.echo(
            f"internal error ({type(exc).__name__}): {exc}. Re-run with --debug for the "
            "traceback and please report it.",
            err=True,
        )
        sys.exit(EXIT_INTERNAL)
    sys.exit(code)


def _common(fn: Callable[..., Any]) -> Callable[..., Any]:
    return with_options(fn, *NET_OPTIONS, *CHECK_OPTIONS)


def _options(kw: dict[str, Any], **extra: Any) -> Any:
    from caffe2keras.api import ConvertOptions
    from caffe2keras.verify.compare import Tolerance
    from caffe2keras.verify.images import image_options

    _check_report_folders(kw)
    npy = _npy(kw["input_npy"])
    return ConvertOptions(
        input_shapes=_shapes(kw["input_shape"]),
        phase=kw["phase"],
        stages=tuple(kw["stage"]),
        tolerance=Tolerance(rtol=kw["rtol"], atol=kw["atol"], noise_factor=kw["noise_factor"]),
        reference_dtype=kw["reference_dtype"],
        seed=kw["seed"],
        input_npy=npy,
        plugins=tuple(kw.get("plugin", ())),
        image=image_options(
            kw["image"], kw["mean"], kw["scale"], kw["channel_order"], kw["resize"]
        ),
        second_opinions=tuple(kw["references"]),
        **extra,
    )


def _reporter(kw: dict[str, Any]) -> Any:
    """Progress on stderr: a bar on a terminal, step details with -v, nothing with -q."""
    from caffe2keras.progress import make_reporter

    return make_reporter(quiet=kw["quiet"], verbose=kw.get("verbose", False))


def _check_report_folders(kw: dict[str, Any]) -> None:
    """Fail before any work when a report could not be written."""
    for key in ("report_json", "report_md", "manifest"):
        if kw.get(key) and not Path(kw[key]).absolute().parent.is_dir():
            what = "manifest" if key == "manifest" else "report"
            raise UsageError(f"the folder of the {what} '{kw[key]}' does not exist")


def _write_reports(report: Any, kw: dict[str, Any]) -> None:
    from caffe2keras.writers import write_text_atomic

    for key, text in (("report_json", report.to_json), ("report_md", report.to_markdown)):
        if kw[key]:
            write_text_atomic(kw[key], text())  # complete or absent, like the model
            if not kw["quiet"]:
                click.echo(f"wrote report {kw[key]}")


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(package_name="caffe2keras")
def main() -> None:
    """Convert Caffe models to Keras 3, exactly, and prove it blob by blob.

    Exit codes: 0 equivalent, 1 beyond tolerance, 2 usage error, 3 unreadable or invalid input
    files, 4 unsupported layers, 70 internal error, 71 out of memory, 130 interrupted.
    """


@main.command()
@click.argument("prototxt", type=click.Path(dir_okay=False))
@click.argument("caffemodel", type=click.Path(dir_okay=False))
@click.option(
    "-o",
    "--output",
    required=True,
    type=click.Path(dir_okay=False),
    help="Output: .h5 (full model), .keras, or .weights.h5.",
)
@click.option("--no-verify", is_flag=True, help="Skip the equivalence check.")
@click.option(
    "--write-on-failure",
    is_flag=True,
    help="Write the output even when verification fails (exit code stays 1).",
)
@output_options
@_common
def convert(
    prototxt: str, caffemodel: str, output: str, no_verify: bool, write_on_failure: bool, **kw: Any
) -> None:
    """Convert PROTOTXT + CAFFEMODEL into a Keras model and verify it."""

    def go() -> int:
        paths.check_command(kw, prototxt, caffemodel, output=output)  # before any work
        from caffe2keras import api

        options = _options(
            kw,
            verify=not no_verify,
            write_on_failure=write_on_failure,
            format=kw["output_format"],
            split_scale=kw["split_scale"],
        )
        result = api.convert(prototxt, caffemodel, output, options, reporter=_reporter(kw))
        if not kw["quiet"]:
            for note in result.notes:
                click.echo(f"note: {note}")
            click.echo(result.summary())
        if result.report is not None:
            _write_reports(result.report, kw)
            if not kw["quiet"] or not result.report.passed:
                click.echo(result.report.to_text())
        record_manifest(prototxt, caffemodel, options, result, kw)
        if not kw["quiet"]:
            verb = "wrote" if result.written else "did NOT write (verification failed)"
            click.echo(f"{verb} {result.output} ({result.format})")
        return result.exit_code

    _run(go, kw["debug"])


@main.command()
@click.argument("prototxt", type=click.Path(dir_okay=False))
@click.argument("caffemodel", type=click.Path(dir_okay=False))
@click.argument("model", type=click.Path(dir_okay=False))
@_common
def verify(prototxt: str, caffemodel: str, model: str, **kw: Any) -> None:
    """Verify an existing Keras MODEL (.h5, .keras, .weights.h5) against the Caffe reference."""

    def go() -> int:
        paths.check_command(kw, prototxt, caffemodel, model=model)  # before any work
        from caffe2keras import api

        report = api.verify(prototxt, caffemodel, model, _options(kw), reporter=_reporter(kw))
        _write_reports(report, kw)
        if not kw["quiet"] or not report.passed:
            click.echo(report.to_text())
        return report.exit_code

    _run(go, kw["debug"])


register(main)  # inspect, convert-all

if __name__ == "__main__":  # pragma: no cover
    main()
