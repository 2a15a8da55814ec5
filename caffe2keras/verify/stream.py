"""Verification streamed blob by blob: the Keras walk, the comparisons and both reference passes
each in its own thread.

The float64 and float32 reference passes (``iter_reference``, ``reference_feed.py``) yield the
same blobs in the same order; the Keras model's blobs come from an eager walk (``walk.py``) in
Keras' own order, run in the main thread and handed one at a time to the comparisons' thread
(``handover.py``). The float64 pass drives: as each reference blob arrives, the Keras values of
every compared blob that resolves to it are pulled from the walk (which buffers only values
asked for later), its float32 twin gives its rounding noise (and the float32 overflow check),
the rows are computed (one fused pass per blob, ``judge.py``) and everything is dropped. So at
any time only a forward pass's live blobs are held, plus what a later comparison still needs:
the Keras bottoms of a detection layer (its rows are also judged on Keras' own bottoms) and the
reference blobs a second-opinion engine is compared on.

The rows, noise and notes are those of :func:`caffe2keras.verify.traced.verify_model_traced`,
which holds everything at once; ``tests/verify/test_streamed.py`` runs both and compares them.
"""

from __future__ import annotations

import time
from collections import Counter
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass, field
from functools import partial
from typing import Any

import numpy as np

from caffe2keras.ir.graph import Graph
from caffe2keras.ir.layouts import layout_kinds
from caffe2keras.layout import CAFFE
from caffe2keras.verify.compare import BlobComparison, Tolerance
from caffe2keras.verify.detections import DETECTION_TYPES
from caffe2keras.verify.fused import Scratch
from caffe2keras.verify.judge import BlobJudge
from caffe2keras.verify.numeric_notes import WarningNotes, overflow_note
from caffe2keras.verify.reference_feed import Passes, reference_ahead

# BLAS threads while the streamed pass runs. The pass alternates between TensorFlow's operations
# (the Keras walk) and numpy's (reference, comparison) hundreds of times: OpenBLAS' threads and
# TensorFlow's spin-wait against each other at each switch. One BLAS thread made DenseNet-121's
# verification 2.3x faster on the 2-core machine (benchmarks/README.md); None leaves BLAS as is.
BLAS_THREADS: int | None = 1

JUDGE_DEPTH: int | None = 0
"""Keras values the walk (main thread) may hand over ahead of the comparisons (their own
thread, ``handover.py``); 0: each is handed over and the next one computed once it was taken
(a verified VGG-16's peak RSS: 1.44 GiB, 1.47 with a queue of 2; benchmarks/README.md); None
compares inline, in the main thread, between the walk's steps."""


def blas_limit() -> Any:
    """A context that holds numpy's BLAS to :data:`BLAS_THREADS` threads (threadpoolctl)."""
    from contextlib import nullcontext

    if BLAS_THREADS is None:
        return nullcontext()
    from threadpoolctl import threadpool_limits

    return threadpool_limits(limits=BLAS_THREADS, user_api="blas")


class Pull:
    """Values of a ``(name, value)`` stream taken on demand: a value arriving before it is asked
    for waits in a buffer only if ``wanted`` counts a later request for it."""

    def __init__(self, items: Iterator[tuple[str, Any]], wanted: Counter[str]) -> None:
        self.items, self.wanted = items, wanted
        self.buffer: dict[str, Any] = {}
        self.seconds = 0.0

    def take(self, name: str) -> Any:
        """The value of ``name`` (which the stream produces), dropped after its last request."""
        start = time.perf_counter()
        while name not in self.buffer:
            got, value = next(self.items, (None, None))
            if got is None:
                raise RuntimeError(f"the Keras model never computed blob '{name}'")
            if self.wanted[got] > 0:
                self.buffer[got] = value
        self.seconds += time.perf_counter() - start
        self.wanted[name] -= 1
        return self.buffer[name] if self.wanted[name] > 0 else self.buffer.pop(name)


@dataclass
class Streamed:
    """What the streamed pass found."""

    rows: list[BlobComparison]
    notes: list[str]
    kept: dict[str, np.ndarray] = field(default_factory=dict)  # second opinions' reference blobs
    noise: dict[str, float] = field(default_factory=dict)  # and their noise
    # class-score-shaped net outputs: (Keras, reference) values, for the reports' top-5 tables
    scores: dict[str, tuple[np.ndarray, np.ndarray]] = field(default_factory=dict)
    # keras (the walk), reference (waiting for the reference passes), compare
    seconds: dict[str, float] = field(default_factory=dict)
    producer_seconds: float = 0.0  # the reference passes' own time, in their thread
    overflow: str | None = None  # the first float32 overflow's note (also in notes)


def reference_names(graph: Graph) -> Callable[[str], str | None]:
    """The reference blob a name reads in ``run_reference``'s dict (an alias wins over a top of
    the same name, as there), or None."""
    produced = {spec.name for spec in graph.inputs} | {t for la in graph.layers for t in la.tops}

    def name(blob: str) -> str | None:
        if blob in graph.aliases and graph.resolve(blob) in produced:
            return graph.resolve(blob)
        return blob if blob in produced else None

    return name


@dataclass(frozen=True)
class Plan:
    """Which blob is compared, and what each stream must keep for it."""

    order: list[tuple[str, str, str]]  # (blob, layer, type) of the compared blobs, in order
    by_ref: dict[str, list[int]]  # reference blob -> indexes into order (and engine names)
    source: dict[str, str]  # compared blob -> the Keras blob carrying it
    detection: dict[str, tuple[Any, list[str]]]  # detection top -> (layer, its Keras bottoms)
    keras_wanted: Counter[str]


def plan(
    net: Any,
    blob_layers: Mapping[str, str],
    order: list[tuple[str, str, str]],
    ref_name: Callable[[str], str | None],
) -> Plan:
    """Compared: each blob of ``order`` that both the Keras model (``blob_layers``) and the
    reference show."""

    def keras_source(blob: str) -> str | None:
        target = net.keras.resolve(blob)
        return target if blob in blob_layers and target in blob_layers else None

    compared = [e for e in order if ref_name(e[0]) and keras_source(e[0])]
    by_ref: dict[str, list[int]] = {}
    source, wanted = {}, Counter[str]()
    for i, (blob, _, _) in enumerate(compared):
        by_ref.setdefault(str(ref_name(blob)), []).append(i)
        source[blob] = str(keras_source(blob))
        wanted[source[blob]] += 1
    detection = {}
    tops = {e[0] for e in compared}
    for layer in net.reference.layers:
        bottoms = [keras_source(b) for b in layer.bottoms]
        if layer.type in DETECTION_TYPES and layer.tops[0] in tops and all(bottoms):
            detection[layer.tops[0]] = (layer, [str(b) for b in bottoms])
            wanted.update(str(b) for b in bottoms)
    return Plan(compared, by_ref, source, detection, wanted)


def stream_compare(*args: Any, **kwargs: Any) -> Streamed:
    """:func:`compare_stream` with numpy's BLAS held to :data:`BLAS_THREADS` threads."""
    with blas_limit():
        return compare_stream(*args, **kwargs)


@dataclass(frozen=True)
class _Job:
    """What the comparisons need, besides the Keras values."""

    net: Any
    plan: Plan
    passes: Passes
    tolerance: Tolerance
    keep_by_ref: dict[str, list[str]]
    other: str  # the noise twin's precision


def compare_stream(
    net: Any,
    keras_values: Callable[[list[str]], Iterator[tuple[str, np.ndarray]]],
    blob_layers: Mapping[str, str],
    inputs: Mapping[str, np.ndarray],
    order: list[tuple[str, str, str]],
    tolerance: Tolerance,
    reference_dtype: str,
    keep: frozenset[str] = frozenset(),
) -> Streamed:
    """The rows of every compared blob (topological order), the numpy notes, and the reference
    blobs (and noise) of ``keep`` (reference tops a second opinion is compared on).
    ``keras_values(blobs)`` yields the Keras model's value of each of ``blobs`` (Caffe layout).
    The walk runs in this thread, the comparisons in a :class:`~caffe2keras.verify.handover.Behind`
    worker (inline when :data:`JUDGE_DEPTH` is None)."""
    from caffe2keras.verify.handover import Behind, Timed

    graph = net.reference
    ref_name = reference_names(graph)
    p = plan(net, blob_layers, order, ref_name)
    keep_by_ref: dict[str, list[str]] = {}
    for top in keep:
        if ref_name(top):
            keep_by_ref.setdefault(str(ref_name(top)), []).append(top)
    dtype, warn = np.dtype(reference_dtype), WarningNotes()
    other = "float32" if reference_dtype == "float64" else "float64"
    needed = frozenset(p.by_ref) | frozenset(keep_by_ref)
    twin = np.dtype(other) if tolerance.noise_factor > 0 else None
    passes = Passes(graph, inputs, dtype, twin, needed, warn)
    job = _Job(net, p, passes, tolerance, keep_by_ref, other)
    walk = Timed(keras_values(sorted(p.keras_wanted)))
    with warn.routed(), walk:
        if JUDGE_DEPTH is None:
            out = _judge_all(job, iter(walk))
            handover = 0.0
        else:
            with Behind(partial(_judge_all, job), JUDGE_DEPTH) as behind:
                out = behind.feed(iter(walk))
            handover = behind.waited
    out.notes = warn.notes(f"the numpy-{reference_dtype} reference")
    out.notes += warn.notes(f"the numpy-{other} reference") if twin else []
    out.notes += [out.overflow] if out.overflow else []
    out.notes += warn.notes("the comparison")
    out.seconds = {"keras": walk.seconds, **out.seconds, "handover": handover}
    return out


def _judge_all(job: _Job, keras_items: Iterator[tuple[str, np.ndarray]]) -> Streamed:
    """The rows, kept blobs, noise and overflow note of :func:`compare_stream`, the Keras
    values taken from ``keras_items`` (the walk) as each reference blob needs them."""
    from contextlib import closing

    from caffe2keras.passes.checker import has_nonfinite

    net, p, tolerance, keep_by_ref = job.net, job.plan, job.tolerance, job.keep_by_ref
    keras = Pull(keras_items, Counter(p.keras_wanted))
    dtype, warn, other = job.passes.dtype, job.passes.warn, job.other
    noisy = job.passes.other is not None
    clock = {"reference": 0.0, "compare": 0.0}
    layouts = layout_kinds(net.keras)
    specials = not has_nonfinite(job.passes.graph)
    rows: list[BlobComparison | None] = [None] * len(p.order)
    out = Streamed(rows=[], notes=[])
    overflow: tuple[int, str] | None = None
    # the fused pass's chunk buffers, reused for every blob (BLAS dots when held to one thread)
    scratch = Scratch(blas=BLAS_THREADS == 1)
    with closing(reference_ahead(job.passes, clock)) as reference:
        for name, value, twin_value in reference:
            wanted = p.by_ref.get(name, [])
            if not wanted and name not in keep_by_ref:
                continue
            judge = BlobJudge(value, twin_value if noisy else None, tolerance, specials, scratch)
            for i in wanted:
                blob, layer, ltype = p.order[i]
                got = keras.take(p.source[blob])
                start = time.perf_counter()
                own = _own_rows(p, blob, keras, dtype) if blob in p.detection else None
                kind = layouts.get(blob, CAFFE)
                with warn.during("the comparison"):  # the first row measures the noise too
                    rows[i] = judge.row(
                        blob, layer, ltype, got, kind, blob in net.keras.outputs, own
                    )
                if blob in net.keras.outputs and class_scores(got):
                    out.scores[blob] = (got, value)
                del got
                clock["compare"] += time.perf_counter() - start
            start = time.perf_counter()
            if noisy:
                f32, f64 = (twin_value, value) if other == "float32" else (value, twin_value)
                with warn.during("the comparison"):
                    gap = judge.noise()
                if gap is not None:
                    for blob in keep_by_ref.get(name, []):
                        out.noise[blob] = gap
                for i in wanted:  # the first overflowing blob in topological order
                    if (overflow is None or i < overflow[0]) and not judge.twin_finite():
                        note = overflow_note(*p.order[i], f32, f64)
                        overflow = (i, note) if note else overflow
                del twin_value, f32, f64
            for blob in keep_by_ref.get(name, []):
                out.kept[blob] = value
            clock["compare"] += time.perf_counter() - start
            del judge
            del value
    out.rows = [r for r in rows if r is not None]
    out.overflow = overflow[1] if overflow else None
    out.producer_seconds = clock.pop("producer")
    out.seconds = {"keras_wait": keras.seconds, **clock}
    return out


def class_scores(value: np.ndarray) -> bool:
    """Whether a blob is shaped like class scores ((N, K) or (N, K, 1, 1)): small, kept."""
    return value.ndim == 2 or (value.ndim == 4 and value.shape[2:] == (1, 1))


def _own_rows(p: Plan, blob: str, keras: Pull, dtype: np.dtype) -> np.ndarray:
    """A detection layer's reference op run on the Keras model's own bottoms (Caffe layout; see
    ``detections.own_input_references``)."""
    from caffe2keras.reference.registry import lookup_reference_op

    layer, sources = p.detection[blob]
    op = lookup_reference_op(layer.type)
    assert op is not None
    bottoms = [np.asarray(keras.take(s), dtype=dtype) for s in sources]
    return np.asarray(op(layer, bottoms, dtype)[0])
