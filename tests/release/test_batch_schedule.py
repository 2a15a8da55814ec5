"""``convert-all``'s batch level: the longest models are handed out first while the report
keeps the list's order, each worker's thread pools are sized for the cores it shares, and
``--timeline`` says which worker did what when."""

from __future__ import annotations

import json
from functools import partial
from pathlib import Path

import pytest
from click.testing import CliRunner

from caffe2keras.cli import main
from caffe2keras.convert_all import schedule, warm
from caffe2keras.convert_all.pool import PoolOptions, Tasks, run_pool

from .pool_tasks import die_or_echo, spec, threads_seen

REPO = Path(__file__).resolve().parents[2]
TINY = REPO / "fixtures" / "tiny"


def net_files(folder: Path, name: str, layers: int, weight_bytes: int) -> tuple[Path, Path]:
    """A prototxt with ``layers`` layer blocks and a caffemodel of ``weight_bytes`` (only
    their sizes are read by the estimate)."""
    prototxt, caffemodel = folder / f"{name}.prototxt", folder / f"{name}.caffemodel"
    prototxt.write_text("".join(f'layer {{\n  name: "l{i}"\n}}\n' for i in range(layers)))
    caffemodel.write_bytes(b"\0" * weight_bytes)
    return prototxt, caffemodel


def test_longest_first_by_layers_and_weights(tmp_path) -> None:
    sizes = {
        "small": (10, 1000),
        "deep": (900, 30 << 20),
        "heavy": (40, 500 << 20),
        "mid": (200, 0),
    }
    specs = [spec(n, *net_files(tmp_path, n, *s), tmp_path, [f"{n}.h5"]) for n, s in sizes.items()]
    assert [specs[i].name for i in schedule.longest_first(specs)] == [
        "heavy",  # 500 MB of weights: 60 s by the fitted rates
        "deep",  # 900 layers: 54 s + 3.8 s
        "mid",
        "small",
    ]
    missing = spec("gone", tmp_path / "no.prototxt", tmp_path / "no.caffemodel", tmp_path, ["x"])
    assert schedule.estimate(missing) == 0.0  # its own error comes when it is converted


def test_the_pool_takes_items_in_the_given_order_and_reports_in_the_lists() -> None:
    items = [str(i) for i in range(5)]
    order = [3, 1, 4, 0, 2]
    results = run_pool(items, Tasks(task=die_or_echo), PoolOptions(jobs=1), None, None, order)  # type: ignore[arg-type]
    assert [r[0] for r in results] == items
    with pytest.raises(ValueError, match="permutation"):
        run_pool(items, Tasks(task=die_or_echo), PoolOptions(jobs=1), None, None, [0, 0, 1, 2, 3])  # type: ignore[arg-type]


def test_worker_threads_share_the_cores(monkeypatch) -> None:
    monkeypatch.setattr(warm, "usable_cores", lambda: 8)
    assert warm.worker_threads(warm.BatchOptions(jobs=2), 2) == 4
    assert warm.worker_threads(warm.BatchOptions(jobs=3), 3) == 2
    assert warm.worker_threads(warm.BatchOptions(jobs=16), 16) == 1
    assert warm.worker_threads(warm.BatchOptions(jobs=2, threads=3), 2) == 3


def test_a_worker_runs_tensorflow_and_blas_on_the_threads_it_was_given() -> None:
    tasks = Tasks(task=threads_seen, init=partial(warm.init, 1))
    [(item, intra, inter, compute, blas)] = run_pool(["x"], tasks, PoolOptions(jobs=1), None)  # type: ignore[arg-type]
    assert (item, intra, inter) == ("x", 1, 1)
    assert compute == 1  # TensorFlow's own default: one per core (2 in CI)
    assert blas and set(blas) == {1}


def test_timeline_names_each_models_worker_and_steps(tmp_path) -> None:
    entries = [
        {
            "name": name,
            "prototxt": str(TINY / "tiny.prototxt"),
            "caffemodel": str(TINY / "tiny.caffemodel"),
            "outputs": [f"{name}.h5", f"{name}.weights.h5"],
        }
        for name in ("one", "two")
    ]
    config = tmp_path / "models.json"
    config.write_text(json.dumps({"models": entries}))
    timeline = tmp_path / "timeline.json"
    args = ["convert-all", str(config), "--out-dir", str(tmp_path / "out")]
    result = CliRunner().invoke(main, [*args, "--timeline", str(timeline)])
    assert result.exit_code == 0, result.output
    doc = json.loads(timeline.read_text())
    assert [m["name"] for m in doc["models"]] == ["one", "two"]
    first, second = doc["models"]
    assert 0 <= first["start"] <= first["end"] <= second["start"] <= second["end"]
    assert set(first["steps"]) == {"read", "keras", "build", "verify", "write"}
    assert first["pid"] == second["pid"]  # --jobs 1: this process, no worker start-up
    assert doc["workers"] == {}
