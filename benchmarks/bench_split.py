#!/usr/bin/env python3
"""What a process split of the streamed verification would give: a timing prototype (issue 15).

    python benchmarks/bench_split.py PROTOTXT CAFFEMODEL [--rounds 3] [--partition child|twin]
                                     [--cold]

The verification's threads overlap little because the Keras walk runs Python and every numpy
call of the other threads waits for the GIL after it (``bench_gil.py``). This prototype puts part
of the work in another process: after the model is built, ``os.fork``; the two processes share
an anonymous memory map (the arena) and talk over pipes. Two partitions:

- ``child``: the child runs both reference passes (``reference_feed.reference_ahead``, one
  thread each as in the product) and the fused comparisons; the parent walks the Keras model and
  copies each Keras value (its contiguous NHWC memory, a plain copy) into the arena.
- ``twin``: the parent walks the Keras model *and* runs the float32 pass, in its one thread, in
  the order the comparisons take them; it copies each float32 value and each Keras value into
  the arena. The child runs the float64 pass and the comparisons (``judge.BlobJudge``), in its one
  thread. The arena's space is reused: the child hands back each region when it is done with it.

Per round, interleaved: ``verify_model`` as shipped (threads) and the prototype, wall seconds,
each process's own seconds and the parent's minor page faults. The child's max |keras - ref| of
every compared blob is checked equal to the product's rows. ``--cold``: one round, the prototype
first in a fresh process (no verification ran before it; the shipped rows are computed after).

Not a product path: the child inherits TensorFlow's state without its threads (it must not touch
TensorFlow; it never does here, and leaves with ``os._exit``), detections, second opinions, notes
and the report are left out, and it runs on Linux only.
"""

from __future__ import annotations

import argparse
import mmap
import os
import pickle
import resource
import select
import struct
import time
from collections import Counter
from typing import Any

HEADER = struct.Struct("QQ")  # message length, arena offset
WORD = struct.Struct("Q")


class Arena:
    """An anonymous shared memory map (made before the fork, so both processes see it), its
    space handed out first fit and handed back by offset."""

    def __init__(self, size: int) -> None:
        import numpy as np

        self.map = mmap.mmap(-1, size)
        self.bytes = np.frombuffer(self.map, np.uint8)
        self.free: list[tuple[int, int]] = [(0, size)]
        self.used: dict[int, int] = {}

    def take(self, nbytes: int) -> int | None:
        """The offset of a free region of ``nbytes`` (None when none is free)."""
        nbytes = (nbytes + 63) // 64 * 64
        for i, (start, size) in enumerate(self.free):
            if size >= nbytes:
                self.free[i] = (start + nbytes, size - nbytes)
                self.used[start] = nbytes
                return start
        return None

    def give(self, offset: int) -> None:
        """Hand the region at ``offset`` back (merged with its free neighbours)."""
        self.free = sorted([*self.free, (offset, self.used.pop(offset))])
        merged: list[tuple[int, int]] = []
        for start, size in self.free:
            if merged and sum(merged[-1]) == start:
                merged[-1] = (merged[-1][0], merged[-1][1] + size)
            elif size:
                merged.append((start, size))
        self.free = merged

    def view(self, offset: int, shape: tuple[int, ...], dtype: str) -> Any:
        import numpy as np

        n = int(np.prod(shape)) * np.dtype(dtype).itemsize
        return self.bytes[offset : offset + n].view(dtype).reshape(shape)


class Sender:
    """The parent's end: copies arrays into the arena (waiting for space the child hands back)
    and announces them, in order."""

    def __init__(self, arena: Arena, out: int, back: int) -> None:
        self.arena, self.out, self.back = arena, os.fdopen(out, "wb", buffering=0), back
        self.waited = 0.0

    def _collect(self, block: bool) -> None:
        while block or select.select([self.back], [], [], 0)[0]:
            data = os.read(self.back, WORD.size * 512)
            if not data:
                raise RuntimeError("the child ended early")
            for (offset,) in WORD.iter_unpack(data):
                self.arena.give(offset)
            block = False

    def send(self, name: str, value: Any) -> None:
        import numpy as np

        from caffe2keras.verify.fused import memory_order

        order = memory_order(value)
        plain = value.transpose(order)  # the array's own memory order: a plain copy
        self._collect(False)
        offset = self.arena.take(plain.nbytes)
        while offset is None:
            start = time.perf_counter()
            self._collect(True)
            self.waited += time.perf_counter() - start
            offset = self.arena.take(plain.nbytes)
        np.copyto(self.arena.view(offset, plain.shape, plain.dtype.str), plain)
        back = tuple(int(i) for i in np.argsort(order))
        message = pickle.dumps((name, plain.shape, plain.dtype.str, back))
        self.out.write(HEADER.pack(len(message), offset) + message)

    def close(self) -> None:
        self.out.close()


class Receiver:
    """The child's end: the announced arrays, as views of the arena, in order."""

    def __init__(self, arena: Arena, into: int, back: int) -> None:
        self.arena, self.pipe, self.back = arena, os.fdopen(into, "rb", buffering=0), back

    def next(self) -> tuple[str, int, Any]:
        """The next array's name, arena offset and value (a view of the arena)."""
        size, offset = HEADER.unpack(self.pipe.read(HEADER.size))
        name, shape, dtype, back = pickle.loads(self.pipe.read(size))
        return name, offset, self.arena.view(offset, shape, dtype).transpose(back)

    def done(self, offset: int) -> None:
        os.write(self.back, WORD.pack(offset))


def _reply(fd: int, payload: Any) -> None:
    data = pickle.dumps(payload)
    os.write(fd, WORD.pack(len(data)) + data)


def _child_all(state: dict[str, Any], inbox: Receiver, reply: int) -> None:
    """Partition ``child``: both reference passes and the comparisons."""
    import numpy as np

    from caffe2keras.verify.fused import Scratch, measure
    from caffe2keras.verify.numeric_notes import WarningNotes
    from caffe2keras.verify.reference_feed import Passes, reference_ahead
    from caffe2keras.verify.stream import blas_limit

    p, start = state["plan"], time.perf_counter()
    got: dict[str, tuple[int, Any]] = {}
    uses = Counter(p.keras_wanted)  # a Keras value's space is handed back after its last use

    def keras(blob: str) -> tuple[Any, int | None]:
        """The Keras value of ``blob`` and, at its last use, the offset to hand back once
        it has been read."""
        while blob not in got:
            name, offset, value = inbox.next()
            got[name] = (offset, value)
        offset, value = got[blob]
        uses[blob] -= 1
        if uses[blob]:
            return value, None
        del got[blob]
        return value, offset

    found: dict[str, float] = {}
    with blas_limit():
        warn = WarningNotes()
        f64, f32 = np.dtype("float64"), np.dtype("float32")
        passes = Passes(state["graph"], state["inputs"], f64, f32, frozenset(p.by_ref), warn)
        scratch = Scratch(blas=True)
        with warn.routed():
            for name, value, twin in reference_ahead(passes, {"reference": 0.0}):
                for i in p.by_ref.get(name, []):
                    blob = p.order[i][0]
                    k, last = keras(p.source[blob])
                    if k.shape == value.shape and value.size > scratch.size:
                        m = measure(k, value, twin, scratch)
                        if m is not None and m.max_abs is not None:
                            found[blob] = m.max_abs
                    del k
                    if last is not None:
                        inbox.done(last)
    _reply(reply, (time.perf_counter() - start, found))


def _child_f64(state: dict[str, Any], inbox: Receiver, reply: int) -> None:
    """Partition ``twin``: the float64 pass and the comparisons, the float32 values and the
    Keras values read from the arena in the order the parent sends them."""
    import numpy as np

    from caffe2keras.layout import CAFFE
    from caffe2keras.verify.fused import Scratch
    from caffe2keras.verify.judge import BlobJudge
    from caffe2keras.verify.numeric_notes import WarningNotes
    from caffe2keras.verify.reference_feed import Passes, one_pass
    from caffe2keras.verify.stream import blas_limit

    p, net, start = state["plan"], state["net"], time.perf_counter()
    layouts, tolerance = state["layouts"], state["tolerance"]
    found: dict[str, float] = {}
    with blas_limit():
        f64 = np.dtype("float64")
        passes = Passes(
            state["graph"], state["inputs"], f64, None, frozenset(p.by_ref), WarningNotes()
        )
        scratch = Scratch(blas=True)
        for name, value in one_pass(passes, f64):
            _, twin_at, twin = inbox.next()
            judge = BlobJudge(value, twin, tolerance, True, scratch)
            for i in p.by_ref.get(name, []):
                blob, layer, kind = p.order[i]
                _, at, got = inbox.next()
                outputs = net.keras.outputs
                row = judge.row(
                    blob, layer, kind, got, layouts.get(blob, CAFFE), blob in outputs, None
                )
                found[blob] = row.max_abs
                del got
                inbox.done(at)
            judge.noise()
            del judge, twin
            inbox.done(twin_at)
    _reply(reply, (time.perf_counter() - start, found))


def _parent_all(state: dict[str, Any], outbox: Sender) -> None:
    from caffe2keras.verify.walk import keras_blob_values

    net, built, inputs = state["net"], state["built"], state["inputs"]
    wanted = sorted(state["plan"].keras_wanted)
    for blob, value in keras_blob_values(built.model, built.blob_layers, inputs, net.keras, wanted):
        outbox.send(blob, value)


def _parent_twin(state: dict[str, Any], outbox: Sender) -> None:
    import numpy as np

    from caffe2keras.verify.numeric_notes import WarningNotes
    from caffe2keras.verify.reference_feed import Passes, one_pass
    from caffe2keras.verify.stream import Pull, blas_limit
    from caffe2keras.verify.walk import keras_blob_values

    net, built, inputs, p = state["net"], state["built"], state["inputs"], state["plan"]
    wanted = sorted(p.keras_wanted)
    walk = keras_blob_values(built.model, built.blob_layers, inputs, net.keras, wanted)
    keras = Pull(walk, Counter(p.keras_wanted))
    f32 = np.dtype("float32")
    with blas_limit():
        passes = Passes(net.reference, inputs, f32, None, frozenset(p.by_ref), WarningNotes())
        for name, twin in one_pass(passes, f32):
            outbox.send(name, twin)
            for i in p.by_ref.get(name, []):
                source = p.source[p.order[i][0]]
                outbox.send(source, keras.take(source))


PARTITIONS = {"child": (_parent_all, _child_all), "twin": (_parent_twin, _child_f64)}


def split_verify(state: dict[str, Any], partition: str) -> dict[str, Any]:
    """One prototype verification: wall, parent and child seconds, the parent's minor faults
    and its waits for arena space, the child's max_abs by blob."""
    import gc

    parent, child = PARTITIONS[partition]
    arena = Arena(state["arena_bytes"])
    into, out = os.pipe()
    back_in, back_out = os.pipe()
    reply_in, reply_out = os.pipe()
    faults = resource.getrusage(resource.RUSAGE_SELF).ru_minflt
    start = time.perf_counter()
    pid = os.fork()
    if pid == 0:  # pragma: no cover - the child
        gc.disable()  # no collection of objects whose finalizers would call TensorFlow
        code = 0
        try:
            for fd in (out, back_in, reply_in):
                os.close(fd)
            child(state, Receiver(arena, into, back_out), reply_out)
        except BaseException as exc:  # noqa: BLE001 - reported to the parent as text
            _reply(reply_out, (-1.0, repr(exc)))
            code = 1
        os._exit(code)
    for fd in (into, back_out, reply_out):
        os.close(fd)
    outbox = Sender(arena, out, back_in)
    parent(state, outbox)
    outbox.close()
    walked = time.perf_counter() - start
    faults = resource.getrusage(resource.RUSAGE_SELF).ru_minflt - faults
    answer = os.fdopen(reply_in, "rb", buffering=0)
    (size,) = WORD.unpack(answer.read(WORD.size))
    child_seconds, found = pickle.loads(answer.read(size))
    os.waitpid(pid, 0)
    wall = time.perf_counter() - start
    answer.close()
    os.close(back_in)
    if child_seconds < 0:
        raise RuntimeError(f"the child failed: {found}")
    return {
        "wall": wall,
        "parent": walked,
        "child": child_seconds,
        "faults": faults,
        "waited": outbox.waited,
        "found": found,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("prototxt")
    parser.add_argument("caffemodel")
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--partition", choices=sorted(PARTITIONS), default="child")
    parser.add_argument("--cold", action="store_true", help="one round, the prototype first")
    parser.add_argument("--arena-mib", type=int, default=1024)
    args = parser.parse_args()

    from prof_verify import loaded_with_predict

    from caffe2keras.ir.layouts import layout_kinds
    from caffe2keras.verify.compare import Tolerance
    from caffe2keras.verify.run import blob_order, verify_model
    from caffe2keras.verify.stream import plan, reference_names

    net, built, inputs, predict = loaded_with_predict(args.prototxt, args.caffemodel)
    p = plan(net, built.blob_layers, blob_order(net.keras), reference_names(net.reference))
    state = {
        "net": net,
        "built": built,
        "inputs": inputs,
        "graph": net.reference,
        "plan": p,
        "layouts": layout_kinds(net.keras),
        "tolerance": Tolerance(),
        "arena_bytes": args.arena_mib << 20,
    }
    call = (net, built.model, built.blob_layers, inputs)
    rounds = 1 if args.cold else args.rounds
    print(f"steady predict {predict:.3f} s; {len(p.order)} compared blobs", flush=True)
    print(f"| round | threads (shipped), s | split ({args.partition}), s | parent / child, s |")
    print("|---|---:|---:|---:|")
    rows: dict[str, float] = {}
    for r in range(rounds):
        threads = float("nan")
        if not args.cold:
            start = time.perf_counter()
            rows = {
                row.blob: row.max_abs for row in verify_model(*call, tolerance=Tolerance()).rows
            }
            threads = time.perf_counter() - start
        got = split_verify(state, args.partition)
        if args.cold:
            rows = {
                row.blob: row.max_abs for row in verify_model(*call, tolerance=Tolerance()).rows
            }
        for blob, max_abs in got["found"].items():
            assert max_abs == rows[blob], (blob, max_abs, rows[blob])
        cells = f"{got['parent']:.3f} / {got['child']:.3f}"
        print(f"| {r + 1} | {threads:.3f} | {got['wall']:.3f} | {cells} |", flush=True)
        print(
            f"  parent's minor faults {got['faults']}, waits for arena space {got['waited']:.3f} s"
        )
    own = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 2**20
    child = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 2**20
    print(f"peak RSS GiB: this process {own:.2f}, largest child {child:.2f}", flush=True)


if __name__ == "__main__":
    main()
