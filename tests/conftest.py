"""Shared fixtures: the read-only ../shared folder and zoo weights generated once per run."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
from bounds import rel_linf  # noqa: F401  (re-exported: the tests import it from here)

REPO = Path(__file__).resolve().parents[1]
SHARED = REPO.parent / "shared"


def shared_or_skip() -> Path:
    """The shared folder; a hard failure in CI, a skip with a reason elsewhere."""
    if SHARED.is_dir():
        return SHARED
    if os.environ.get("CI"):
        pytest.fail(f"{SHARED} is missing: CI must provide ../shared beside the checkout")
    pytest.skip(f"{SHARED} is missing (reference data lives beside the checkout)")


def layer_cases() -> list[str]:
    """Names of the golden layer cases (empty when ../shared is absent)."""
    root = SHARED / "golden" / "layers"
    return sorted(p.name for p in root.iterdir()) if root.is_dir() else []


def zoo_cases() -> list[str]:
    """Names of the golden zoo models (empty when ../shared is absent)."""
    root = SHARED / "golden" / "zoo"
    return sorted(p.name for p in root.iterdir()) if root.is_dir() else []


class Golden:
    """One golden case: its files, inputs and the blobs real Caffe computed."""

    def __init__(self, root: Path, caffemodel: Path) -> None:
        self.root = root
        self.prototxt = root / "net.prototxt"
        self.caffemodel = caffemodel
        self.meta = json.loads((root / "meta.json").read_text())
        with np.load(root / "golden.npz") as z:
            self.inputs = {k[len("input/") :]: z[k] for k in z.files if k.startswith("input/")}
            self.blobs = {k[len("blob/") :]: z[k] for k in z.files if k.startswith("blob/")}

    @property
    def noise_floor(self) -> float:
        return float(self.meta.get("noise_floor", 0.0))

    @property
    def input_shapes(self) -> dict[str, tuple[int, ...]]:
        return {k: tuple(v.shape) for k, v in self.inputs.items()}


@pytest.fixture
def python_sigint_handler():
    """Python's own SIGINT handler for the test (the tests that send themselves a Ctrl-C), as in
    an interactive run (a background job
    inherits SIGINT ignored, and Python then leaves it ignored)."""
    from caffe2keras.runtime import interrupts

    previous = signal.signal(signal.SIGINT, signal.default_int_handler)
    try:
        yield
    finally:
        signal.signal(signal.SIGINT, previous)
        interrupts.clear()  # the test's Ctrl-C must not outlive it in this worker process


@pytest.fixture
def expected_refusal(record_property):
    """``expected_refusal(what, pending)``: record that this test checked an expected refusal
    (a case waiting for an open issue, see ``pending.py``); the run's summary counts them."""

    def record(what: str, pending) -> None:
        record_property("expected_refusal", f"{what}: {pending.describe()}")

    return record


_REFUSALS: list[str] = []


def pytest_runtest_logreport(report: pytest.TestReport) -> None:
    """Collect the expected refusals checked (workers' user_properties reach the controller)."""
    if report.when == "call" and report.passed:
        _REFUSALS.extend(v for k, v in report.user_properties if k == "expected_refusal")


def pytest_terminal_summary(terminalreporter) -> None:
    """Say how many checks were expected refusals instead of normal cases: none is silent."""
    if not _REFUSALS:
        return
    issues = sorted({v.rsplit("[", 1)[-1].rstrip("]") for v in _REFUSALS})
    terminalreporter.write_line(
        f"{len(_REFUSALS)} checked expected refusals of ../shared cases that wait for open "
        f"issues ({'; '.join(issues)}; list them with -rA or see tests/pending.py)"
    )


@pytest.fixture(scope="session")
def zoo_weights_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("zoo_weights")


def make_zoo_caffemodel(name: str, out_dir: Path) -> Path:
    """The caffemodel of a zoo golden, generated once into ``out_dir`` (or the given one)."""
    shared = shared_or_skip()
    meta = json.loads((shared / "golden" / "zoo" / name / "meta.json").read_text())
    if meta.get("weights") == "given":
        return shared / "zoo" / f"{name}_iter_10000.caffemodel"
    out = out_dir / f"{name}.caffemodel"
    if not out.exists():
        tool = shared / "tools" / "make_caffemodel.py"
        manifest = shared / "golden" / "zoo" / name / "manifest.json"
        subprocess.run([sys.executable, str(tool), str(manifest), str(out)], check=True)
    return out


@pytest.fixture(scope="session")
def golden_layer():
    """``golden_layer(name)`` -> Golden for a layer case."""

    def get(name: str) -> Golden:
        root = shared_or_skip() / "golden" / "layers" / name
        return Golden(root, root / "weights.caffemodel")

    return get


@pytest.fixture(scope="session")
def golden_spreads(tmp_path_factory: pytest.TempPathFactory):
    """``golden_spreads(golden, graph)`` -> {golden blob: float32 spread of our reference}, each
    model measured once per run (shared by the xdist workers through the run's temp folder)."""
    base = tmp_path_factory.getbasetemp()
    cache = (base.parent if base.name.startswith("popen-gw") else base) / "spreads"
    cache.mkdir(exist_ok=True)

    def get(golden: Golden, graph) -> dict[str, float]:
        from bounds import spreads

        path = cache / f"{golden.root.parent.name}-{golden.root.name}.json"
        if path.exists():
            return json.loads(path.read_text())
        found, _, _ = spreads(graph, golden.inputs, golden.blobs)
        tmp = path.with_suffix(f".{os.getpid()}.tmp")
        tmp.write_text(json.dumps(found))
        tmp.replace(path)
        return found

    return get


@pytest.fixture(scope="session")
def golden_zoo(zoo_weights_dir: Path):
    """``golden_zoo(name)`` -> Golden for a zoo model, its weights generated once per run."""

    def get(name: str) -> Golden:
        root = shared_or_skip() / "golden" / "zoo" / name
        return Golden(root, make_zoo_caffemodel(name, zoo_weights_dir))

    return get
