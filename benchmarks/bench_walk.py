#!/usr/bin/env python3
"""Benchmark the Keras walk of verification (``verify/walk.py``): ``Layer.__call__`` against
``layer.call`` (``verify/direct.py``), side by side in one process.

For each net (zoo prototxts with the weights ``bench_convert_all.caffemodel`` makes, VGG-16 with
``vgg16_deploy.prototxt`` and ``synth.py`` weights): the model is built once, then each round
times, in turn, a steady ``model.predict`` of the batch-2 input, the walk through ``__call__``
(``direct=False``, the code before) and the direct walk, each walk yielding exactly the blobs
verification asks for (``stream.plan``); medians over the rounds, wall and process CPU seconds.
Before the rounds, both walks are checked to yield bit-identical values. The first ``predict``
(tracing and optimizing the graph: what running the nodes inside ``tf.function``s would pay
before any gain) is printed too. ``--busy`` runs one numpy thread (BLAS held to 1 thread, as
verification holds it) doing matrix products beside the walks, as a reference pass running
concurrently would. ``--verify`` also runs ``verify_model`` with each walk and prints its split
(Keras walk / reference passes / comparisons). ``--intra/--inter`` set TensorFlow's thread pools
before it starts (``tf.config.threading``).

``--old DIR`` instead times the walk alone, the code of another checkout (``PYTHONPATH=DIR``, e.g.
``/work/main``) beside this one: per net, one child process for each, alive together, each
building the model once and walking it once to warm up; then each round asks the new child for
a steady ``model.predict`` and both children for one walk, in alternating order; medians of wall
and of each child's own CPU seconds. Before the rounds both walks' values are checked
bit-identical (a digest of every blob, in order). ``--busy`` runs the numpy thread above inside
each child during each timed walk and predict (as verification's reference thread shares the
process, its cores and the GIL with the walk). ``--vgg-weights`` names VGG-16's caffemodel
(default: the ``synth.py`` one above). ``--old-env KEY=VALUE`` (repeatable) sets environment
variables of the old child only: ``--old . --old-env TF_NUM_INTRAOP_THREADS=1`` compares this
code with one TensorFlow intra-op thread against the default.

    python benchmarks/bench_walk.py [--nets densenet121,resnet50,vgg16] [--rounds 5] [--busy]
        [--verify] [--intra N] [--inter N]
    python benchmarks/bench_walk.py --old /work/main [--nets ...] [--rounds 7] [--busy]
        [--vgg-weights F] [--old-env KEY=VALUE]
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import threading
import time
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))
SHARED = HERE.parent.parent / "shared"
VGG_WEIGHTS = Path("/tmp/caffe2keras-bench-walk-vgg16.caffemodel")  # made once by synth.py


def files(name: str, vgg_weights: Path = VGG_WEIGHTS) -> tuple[Path, Path]:
    """The prototxt and caffemodel of a net (weights made once, reused)."""
    if name == "vgg16":
        proto = HERE / "vgg16_deploy.prototxt"
        if vgg_weights != VGG_WEIGHTS:
            return proto, vgg_weights
        if not VGG_WEIGHTS.exists():
            from synth import blob_plan, write_caffemodel

            tmp = VGG_WEIGHTS.with_suffix(".tmp")
            write_caffemodel(tmp, blob_plan(proto))
            tmp.replace(VGG_WEIGHTS)
        return proto, VGG_WEIGHTS
    from bench_convert_all import caffemodel

    return SHARED / "golden" / "zoo" / name / "net.prototxt", Path(caffemodel(name))


def wanted_blobs(net: Any, blob_layers: Any) -> list[str]:
    """The Keras blobs verification pulls from the walk (``stream.plan``)."""
    from caffe2keras.verify.run import blob_order
    from caffe2keras.verify.stream import plan, reference_names

    p = plan(net, blob_layers, blob_order(net.keras), reference_names(net.reference))
    return sorted(p.keras_wanted)


class Busy:
    """One numpy thread doing float64 matrix products (BLAS on one thread) until stopped."""

    def __init__(self) -> None:
        self.stop = threading.Event()
        self.thread = threading.Thread(target=self._spin, daemon=True)
        self.products = 0

    def _spin(self) -> None:
        import numpy as np

        a = np.random.default_rng(0).standard_normal((512, 512))
        while not self.stop.is_set():
            a = a @ a
            a /= np.abs(a).max()
            self.products += 1

    def __enter__(self) -> Busy:
        self.thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop.set()
        self.thread.join()


def walk_seconds(walk: Any, direct: bool, cpu: list[float] | None = None) -> float:
    """Wall seconds of one walk (its process CPU seconds appended to ``cpu``)."""
    start, used = time.perf_counter(), time.process_time()
    for _ in walk(direct):
        pass
    if cpu is not None:
        cpu.append(time.process_time() - used)
    return time.perf_counter() - start


def same_values(walk: Any) -> int:
    """Both walks in lockstep: the same blobs, bit-identical values; returns the blob count."""
    import numpy as np

    count = 0
    for (a, x), (b, y) in zip(walk(False), walk(True), strict=True):
        assert a == b and x.shape == y.shape, (a, b)
        assert np.array_equal(x, y, equal_nan=True), f"blob {a} differs"
        count += 1
    return count


def bench(name: str, rounds: int, busy: bool, verify: bool) -> None:
    from caffe2keras import api
    from caffe2keras.keras_model.model import build_model
    from caffe2keras.verify import walk as walk_module
    from caffe2keras.verify.walk import keras_blob_values, model_feed

    proto, weights = files(name)
    net = api.load(proto, weights, api.ConvertOptions())
    built = build_model(net.keras)
    inputs, _ = api.make_inputs(net, api.ConvertOptions())
    model, blob_layers = built.model, built.blob_layers
    feed = model_feed(model, inputs, net.keras)
    wanted = wanted_blobs(net, blob_layers)

    def walk(direct: bool) -> Any:
        return keras_blob_values(model, blob_layers, inputs, net.keras, wanted, direct)

    start = time.perf_counter()
    model.predict(feed, verbose=0)  # traces and optimizes the graph: what a tf.function costs
    first = time.perf_counter() - start
    model.predict(feed, verbose=0)
    count = same_values(walk)
    times: dict[str, list[float]] = {"predict": [], "__call__": [], "direct": []}
    cpu: dict[str, list[float]] = {"predict": [], "__call__": [], "direct": []}
    from caffe2keras.verify.stream import blas_limit

    with blas_limit():
        ctx = Busy() if busy else None
        if ctx:
            ctx.__enter__()
        try:
            for _ in range(rounds):
                start, used = time.perf_counter(), time.process_time()
                model.predict(feed, verbose=0)
                times["predict"].append(time.perf_counter() - start)
                cpu["predict"].append(time.process_time() - used)
                times["__call__"].append(walk_seconds(walk, False, cpu["__call__"]))
                times["direct"].append(walk_seconds(walk, True, cpu["direct"]))
        finally:
            if ctx:
                ctx.__exit__()
    med = {k: statistics.median(v) for k, v in times.items()}
    c = {k: statistics.median(v) for k, v in cpu.items()}
    print(
        f"| {name} | {len(model.layers)} | {count} | {first:.2f} "
        f"| {med['predict']:.3f} ({c['predict']:.3f}) | "
        f"{med['__call__']:.3f} ({c['__call__']:.3f}) | {med['direct']:.3f} ({c['direct']:.3f}) "
        f"| {med['__call__'] / med['direct']:.2f} |{' busy' if busy else ''}",
        flush=True,
    )
    if not verify:
        return
    from caffe2keras.verify.compare import Tolerance
    from caffe2keras.verify.run import verify_model

    original = walk_module.keras_blob_values
    for direct in (False, True, False, True):
        walk_module.keras_blob_values = lambda *a, d=direct: original(*a, d)  # type: ignore
        timings: dict[str, float] = {}
        start = time.perf_counter()
        report = verify_model(
            net, model, blob_layers, inputs, tolerance=Tolerance(), timings=timings
        )
        total = time.perf_counter() - start
        split = " / ".join(f"{timings[k]:.2f}" for k in ("keras", "reference", "compare"))
        print(f"  verify {name} direct={direct}: {total:.2f} s ({split}) passed={report.passed}")
    walk_module.keras_blob_values = original


def child(name: str, vgg_weights: Path, busy: bool) -> None:
    """``--child``: build the net with whatever ``caffe2keras`` is on the path, then answer
    ``walk``/``predict`` lines from stdin with ``wall cpu main`` lines (seconds: wall, this
    process' CPU, its main thread's CPU)."""
    import hashlib

    import caffe2keras
    from caffe2keras import api
    from caffe2keras.keras_model.model import build_model
    from caffe2keras.verify.walk import keras_blob_values, model_feed

    proto, weights = files(name, vgg_weights)
    net = api.load(proto, weights, api.ConvertOptions())
    built = build_model(net.keras)
    inputs, _ = api.make_inputs(net, api.ConvertOptions())
    model, blob_layers = built.model, built.blob_layers
    feed = model_feed(model, inputs, net.keras)
    wanted = wanted_blobs(net, blob_layers)
    digest, count = hashlib.sha256(), 0
    for blob, value in keras_blob_values(model, blob_layers, inputs, net.keras, wanted):
        digest.update(f"{blob} {value.shape} {value.dtype}".encode())
        digest.update(value.tobytes())  # Caffe-layout copy: the same bytes for the same values
        count += 1
    if len(feed) == 1:
        feed = feed[0]
    model.predict(feed, verbose=0)
    model.predict(feed, verbose=0)
    ready = {"code": str(Path(caffe2keras.__file__).parent.parent), "blobs": count}
    print(json.dumps({**ready, "digest": digest.hexdigest()}), flush=True)
    for line in sys.stdin:
        spin = Busy() if busy else None
        if spin:
            spin.__enter__()
        start, used, own = time.perf_counter(), time.process_time(), time.thread_time()
        if line.strip() == "walk":
            for _ in keras_blob_values(model, blob_layers, inputs, net.keras, wanted):
                pass
        else:
            model.predict(feed, verbose=0)
        if spin:
            spin.__exit__()
        wall, cpu = time.perf_counter() - start, time.process_time() - used
        print(f"{wall} {cpu} {time.thread_time() - own}", flush=True)


def versus(
    name: str, old: Path, rounds: int, vgg_weights: Path, busy: bool, old_env: dict[str, str]
) -> None:
    """The walk of ``old``'s code beside this checkout's, one child each (see the docstring)."""
    here = HERE.parent
    procs = {}
    for label, code in (("old", old), ("new", here)):
        env = {**os.environ, "PYTHONPATH": str(code), **(old_env if label == "old" else {})}
        cmd = [sys.executable, str(Path(__file__).resolve()), "--child", name]
        cmd += ["--vgg-weights", str(vgg_weights)] + (["--busy"] if busy else [])
        procs[label] = subprocess.Popen(
            cmd, stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True, env=env, cwd=here
        )
    try:
        ready = {label: json.loads(p.stdout.readline()) for label, p in procs.items()}  # type: ignore[union-attr]
        same = ready["old"]["digest"] == ready["new"]["digest"]
        assert ready["old"]["code"] != ready["new"]["code"] or old_env, ready
        samples: dict[str, list[tuple[float, ...]]] = {"predict": [], "old": [], "new": []}

        def ask(label: str, what: str) -> tuple[float, ...]:
            proc = procs[label]
            proc.stdin.write(what + "\n")  # type: ignore[union-attr]
            proc.stdin.flush()  # type: ignore[union-attr]
            return tuple(map(float, proc.stdout.readline().split()))  # type: ignore[union-attr]

        for r in range(rounds):
            samples["predict"].append(ask("new", "predict"))
            for label in ("old", "new") if r % 2 == 0 else ("new", "old"):
                samples[label].append(ask(label, "walk"))
    finally:
        for proc in procs.values():
            proc.stdin.close()  # type: ignore[union-attr]
            proc.wait()
    med = {k: [statistics.median(x) for x in zip(*v)] for k, v in samples.items()}
    p, o, n = med["predict"], med["old"], med["new"]
    print(
        f"| {name} | {ready['new']['blobs']} | {'yes' if same else '**NO**'} "
        f"| {p[0]:.3f} ({p[1]:.3f}) | {o[0]:.3f} ({o[1]:.3f}; {o[2]:.3f}) "
        f"| {n[0]:.3f} ({n[1]:.3f}; {n[2]:.3f}) | {o[1] / n[1]:.2f} | {n[0] / p[0]:.2f} "
        f"| {n[1] / p[1]:.2f} |",
        flush=True,
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--nets", default="densenet121,resnet50,vgg16")
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--busy", action="store_true")
    parser.add_argument("--verify", action="store_true")
    parser.add_argument("--intra", type=int)
    parser.add_argument("--inter", type=int)
    parser.add_argument("--old", type=Path, help="another checkout: its walk beside this one")
    parser.add_argument("--vgg-weights", type=Path, default=VGG_WEIGHTS)
    parser.add_argument("--old-env", action="append", default=[], help="KEY=VALUE, old child")
    parser.add_argument("--child", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        from caffe2keras.verify.stream import blas_limit

        with blas_limit():  # the Busy thread's BLAS on one thread, as verification holds it
            child(args.child, args.vgg_weights, args.busy)
        return
    if args.intra is not None or args.inter is not None:
        import tensorflow as tf

        if args.intra is not None:
            tf.config.threading.set_intra_op_parallelism_threads(args.intra)
        if args.inter is not None:
            tf.config.threading.set_inter_op_parallelism_threads(args.inter)
    from machine import describe

    print(describe(), f"intra={args.intra} inter={args.inter}")
    if args.old:
        print(f"load average at start: {os.getloadavg()}; old: {args.old} {args.old_env}")
        print(
            "(wall seconds, medians; in brackets the child's CPU seconds: whole process; "
            "its main thread)"
        )
        print(
            "| net | blobs | same values | predict s | walk old s | walk new s "
            "| CPU old / new | walk / predict wall | walk / predict CPU |"
        )
        print("|---|---:|---|---:|---:|---:|---:|---:|---:|")
        for name in args.nets.split(","):
            old_env = dict(item.split("=", 1) for item in args.old_env)
            versus(name, args.old, args.rounds, args.vgg_weights, args.busy, old_env)
        print(f"load average at end: {os.getloadavg()}")
        return
    print("(wall seconds, medians; in brackets the process' CPU seconds, busy thread included)")
    print(
        "| net | layers | blobs | first predict s | predict s | walk `__call__` s "
        "| walk direct s | speed-up |"
    )
    print("|---|---:|---:|---:|---:|---:|---:|---:|")
    for name in args.nets.split(","):
        bench(name, args.rounds, args.busy, args.verify)


if __name__ == "__main__":
    main()
