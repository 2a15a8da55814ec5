"""outputs/ahead.py: items in order, at most ``depth`` produced ahead, the producer's errors
raised in the consumer, and no thread left behind however the consumer leaves."""

from __future__ import annotations

import threading
from collections.abc import Iterator

import pytest

from caffe2keras.outputs.ahead import ahead


def _threads() -> set[str]:
    return {t.name for t in threading.enumerate() if t.name == "caffe2keras-ahead"}


def test_items_in_order_and_bounded() -> None:
    made: list[int] = []
    seen = threading.Event()

    def items() -> Iterator[int]:
        for i in range(50):
            made.append(i)
            yield i

    with ahead(items(), depth=2) as stream:
        first = next(stream)
        seen.wait(0.2)  # give the producer every chance to run ahead
        assert first == 0 and len(made) <= 1 + 2 + 1  # taken, queued (2), the one being put
        rest = list(stream)
    assert [first, *rest] == list(range(50))
    assert not _threads()


def test_producer_error_is_raised_in_the_consumer() -> None:
    def items() -> Iterator[int]:
        yield 1
        raise MemoryError("no room for the next block")

    got = []
    with pytest.raises(MemoryError, match="next block"), ahead(items()) as stream:
        for item in stream:
            got.append(item)
    assert got == [1]
    assert not _threads()


def test_consumer_leaving_early_stops_the_producer() -> None:
    def endless() -> Iterator[int]:
        n = 0
        while True:
            yield n
            n += 1

    with pytest.raises(KeyboardInterrupt), ahead(endless(), depth=1) as stream:
        for item in stream:
            if item == 3:
                raise KeyboardInterrupt  # what Ctrl-C raises in the writing thread
    assert not _threads()
