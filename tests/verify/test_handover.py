"""The comparisons' worker thread (``verify/handover.py``, used by ``verify/stream.py``): the
hand-over bound, errors from either side raised where the inline loop would have met them, no
thread left behind after a success, a failure on either side or a Ctrl-C."""

from __future__ import annotations

import os
import signal
import threading
from collections.abc import Iterator

import pytest
from thread_helpers import wait_for

from caffe2keras.errors import ValidationError
from caffe2keras.verify import handover
from caffe2keras.verify.handover import THREAD_NAME, Behind


def workers() -> list[threading.Thread]:
    return [t for t in threading.enumerate() if t.name == THREAD_NAME]


def counting(made: list[int], n: int) -> Iterator[int]:
    for i in range(n):
        made.append(i)
        yield i


@pytest.mark.parametrize("depth", [1, 2, 3])
def test_caller_at_most_depth_ahead(depth: int) -> None:
    """A worker that takes one item per release: beyond the item the worker holds, the caller
    has made exactly ``depth`` queued items plus the one it waits to queue, never more; the
    worker sees them in order."""
    made: list[int] = []
    taken: list[int] = []
    release = threading.Semaphore(0)
    ahead: list[int] = []

    def work(items: Iterator[int]) -> list[int]:
        for item in items:
            taken.append(item)
            release.acquire()
            ahead.append(len(made) - len(taken))
        return taken

    with Behind(work, depth) as behind:
        result: list[list[int]] = []
        caller = threading.Thread(target=lambda: result.append(behind.feed(counting(made, 12))))
        caller.start()
        for k in range(12):
            wait_for(lambda k=k: len(taken) == k + 1 and len(made) >= min(12, k + depth + 2))
            release.release()
        caller.join()
    assert result == [list(range(12))]
    assert ahead[: 12 - depth - 1] == [depth + 1] * (12 - depth - 1)
    assert max(ahead) == depth + 1  # the last ones: the source was exhausted
    assert not workers()


def test_worker_error_reaches_the_caller_and_stops_the_source() -> None:
    made: list[int] = []

    def work(items: Iterator[int]) -> None:
        for item in items:
            if item == 2:
                raise ValidationError("bad blob", layer="conv9", field="blobs")

    expected = "layer 'conv9', field 'blobs': bad blob"
    with pytest.raises(ValidationError, match=expected), Behind(work, 1) as behind:
        behind.feed(counting(made, 1000))
    assert len(made) < 10  # not advanced once the worker had ended
    assert not workers()


def test_source_error_raised_where_the_worker_meets_it() -> None:
    """The source fails after two items: the worker sees both, then the source's error."""
    seen: list[int] = []

    def source() -> Iterator[int]:
        yield 0
        yield 1
        raise RuntimeError("the Keras walk failed")

    def work(items: Iterator[int]) -> None:
        for item in items:
            seen.append(item)

    with pytest.raises(RuntimeError, match="walk failed"), Behind(work, 2) as behind:
        behind.feed(source())
    assert seen == [0, 1]
    assert not workers()


def test_earlier_worker_error_wins_over_a_later_source_error() -> None:
    def source() -> Iterator[int]:
        yield 0
        yield 1
        raise RuntimeError("later")

    def work(items: Iterator[int]) -> None:
        next(items)
        raise ValidationError("first", layer="a", field="b")

    with pytest.raises(ValidationError, match="first"), Behind(work, 3) as behind:
        behind.feed(source())
    assert not workers()


@pytest.mark.parametrize("error", [KeyboardInterrupt, SystemExit])
def test_caller_leaving_stops_the_worker(error: type[BaseException]) -> None:
    """The source raises a BaseException (not handed on): the worker, waiting for items, ends;
    its own cleanup ran in its thread."""
    cleaned: list[str] = []

    def source() -> Iterator[int]:
        yield 0
        raise error()

    def work(items: Iterator[int]) -> None:
        try:
            for _ in items:
                pass
        finally:
            cleaned.append(threading.current_thread().name)

    with pytest.raises(error), Behind(work, 1) as behind:
        behind.feed(source())
    assert cleaned == [THREAD_NAME]
    assert not workers()


@pytest.mark.usefixtures("python_sigint_handler")
def test_ctrl_c_while_the_caller_waits_for_room() -> None:
    """A real SIGINT while the main thread waits to queue (the worker is inside an item):
    KeyboardInterrupt in the main thread, and the worker's thread ends."""
    gate = threading.Event()
    made: list[int] = []

    def work(items: Iterator[int]) -> None:
        for _ in items:
            gate.wait(30)  # a long comparison

    def interrupt() -> None:
        wait_for(lambda: len(made) >= 3)
        os.kill(os.getpid(), signal.SIGINT)
        gate.set()

    assert signal.getsignal(signal.SIGINT) is signal.default_int_handler
    sender = threading.Thread(target=interrupt)
    with pytest.raises(KeyboardInterrupt), Behind(work, 1) as behind:
        sender.start()
        behind.feed(counting(made, 1000))
    sender.join()
    assert not workers()


def test_timed_closes_its_source() -> None:
    closed: list[bool] = []

    def source() -> Iterator[int]:
        try:
            yield from range(5)
        finally:
            closed.append(True)

    with handover.Timed(source()) as timed:
        assert next(iter(timed)) == 0
    assert closed == [True]
    assert timed.seconds >= 0.0
