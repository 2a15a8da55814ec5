"""Run one ``caffe2keras convert`` on given bytes and classify how it ended.

Shared by the Hypothesis tests and ``benchmarks/fuzz.py``. A run is *ours* when it exits 0-4 and,
for 2-4, prints one ``error:`` line (click's own usage errors print ``Error:``); anything else
(exit 70, an exception escaping the CLI, a traceback in the output) is a finding. Files left in the
case folder other than the inputs (and the output after a successful run) are leftovers.
"""

from __future__ import annotations

import shutil
import sys
from dataclasses import dataclass
from pathlib import Path

from click.testing import CliRunner

from caffe2keras.cli import main

OUTCOMES = {0: "ok", 1: "mismatch", 2: "usage", 3: "bad_input", 4: "unsupported"}
INPUTS = ("net.prototxt", "net.caffemodel")
_BUILT = [0]  # models built so far in this process


@dataclass(frozen=True)
class Outcome:
    """How one run ended: ``kind`` is an OUTCOMES value, 'internal' or 'uncaught'."""

    exit_code: int
    kind: str
    message: str
    leftovers: tuple[str, ...]

    @property
    def ours(self) -> bool:
        return self.kind in OUTCOMES.values()


def _kind(exit_code: int, output: str, exception: BaseException | None) -> str:
    if exception is not None and not isinstance(exception, SystemExit):
        return "uncaught"
    if "Traceback (most recent call last)" in output:
        return "uncaught"
    if exit_code not in OUTCOMES:
        return "internal"
    if exit_code >= 2 and "error: " not in output and "Error: " not in output:
        return "uncaught"
    return OUTCOMES[exit_code]


def run_convert(
    folder: Path,
    prototxt: bytes,
    caffemodel: bytes,
    *,
    suffix: str = ".h5",
    verify: bool = False,
    extra: tuple[str, ...] = (),
) -> Outcome:
    """Write the inputs into ``folder`` (emptied first), convert, classify, then clean up."""
    if folder.exists():
        shutil.rmtree(folder)
    folder.mkdir(parents=True)
    proto, model = folder / INPUTS[0], folder / INPUTS[1]
    proto.write_bytes(prototxt)
    model.write_bytes(caffemodel)
    out = folder / f"out{suffix}"
    args = ["convert", str(proto), str(model), "-o", str(out), *extra]
    if not verify:
        args.append("--no-verify")
    result = CliRunner().invoke(main, args, catch_exceptions=True)
    kind = _kind(result.exit_code, result.output, result.exception)
    if kind == "uncaught" and result.exc_info is not None:
        import traceback

        detail = "".join(traceback.format_exception(*result.exc_info))
    else:
        detail = result.output
    allowed = set(INPUTS) | ({out.name} if result.exit_code == 0 else set())
    leftovers = tuple(sorted(p.name for p in folder.iterdir() if p.name not in allowed))
    shutil.rmtree(folder)
    if result.exit_code in (0, 1):  # a model was built: clear now and then to keep memory flat
        _BUILT[0] += 1
        if _BUILT[0] % 20 == 0 and "keras" in sys.modules:
            sys.modules["keras"].backend.clear_session()
    return Outcome(result.exit_code, kind, detail.strip(), leftovers)
