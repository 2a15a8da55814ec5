"""Where a batch's time goes: each model's worker, start and end (wall clock) and step times, so
``convert-all --timeline FILE`` (hidden, for ``benchmarks/bench_convert_all.py``) shows what each
worker did when, the gaps between its models (clean-up, hand-over) and its start-up."""

from __future__ import annotations

import os
import time
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from typing import Any

# This worker's start-up (``init`` of the warm workers): wall-clock start and end.
_started: dict[str, float] = {}


def mark_start_up(start: float, end: float) -> None:
    """Record this process's start-up (called once by a worker after importing Keras)."""
    _started.update(start=start, end=end)


class _Step:
    def advance(self, n: int = 1) -> None:
        pass

    def note(self, text: str) -> None:
        pass


class StepClock:
    """A progress reporter that shows nothing and keeps each step's seconds (summed when a step
    name repeats, as the unverified outputs' ``read``/``build``/``write`` do)."""

    def __init__(self) -> None:
        self.steps: dict[str, float] = {}
        self.start = time.time()
        self.pid = os.getpid()

    @contextmanager
    def step(self, name: str, total: int | None = None) -> Iterator[_Step]:
        begin = time.perf_counter()
        try:
            yield _Step()
        finally:
            seconds = time.perf_counter() - begin
            self.steps[name] = self.steps.get(name, 0.0) + seconds

    def detail(self, message: str) -> None:
        pass

    def record(self) -> dict[str, Any]:
        """The model's timing: pid, wall-clock start and end, step seconds, the worker's own
        start-up when this process had one."""
        out: dict[str, Any] = {
            "pid": self.pid,
            "start": self.start,
            "end": time.time(),
            "steps": {k: round(v, 3) for k, v in self.steps.items()},
        }
        if _started:
            out["worker_start_up"] = dict(_started)
        return out


def document(names: Sequence[str], timings: Sequence[dict[str, Any]], t0: float) -> dict:
    """The timeline of a batch started at wall-clock ``t0``: per model its worker, start, end
    and seconds relative to ``t0``, in the list's order; per worker its start-up."""
    models, workers = [], {}
    for name, timing in zip(names, timings):
        if not timing:
            models.append({"name": name})
            continue
        pid = timing["pid"]
        start, end = timing["start"] - t0, timing["end"] - t0
        models.append(
            {
                "name": name,
                "pid": pid,
                "start": round(start, 3),
                "end": round(end, 3),
                "seconds": round(end - start, 3),
                "steps": timing["steps"],
            }
        )
        up = timing.get("worker_start_up")
        if up:
            workers[str(pid)] = {
                "start_up": round(up["start"] - t0, 3),
                "ready": round(up["end"] - t0, 3),
            }
    return {"t0": t0, "models": models, "workers": workers}
