"""The frame prefetcher: order kept, errors surface, stopping early stops the worker."""

from __future__ import annotations

import threading
from collections.abc import Iterator

import pytest

from coach.analyze import prefetch


def test_order_and_completeness() -> None:
    assert list(prefetch(iter(range(1000)), depth=3)) == list(range(1000))


def test_error_in_the_worker_is_raised_to_the_consumer() -> None:
    def items() -> Iterator[int]:
        yield 1
        raise OSError("disk went away")

    got = []
    with pytest.raises(OSError, match="disk went away"):
        for x in prefetch(items()):
            got.append(x)
    assert got == [1]


def test_stopping_early_stops_the_worker() -> None:
    produced = []

    def items() -> Iterator[int]:
        for i in range(10_000):
            produced.append(i)
            yield i

    gen = prefetch(items(), depth=4)
    assert [next(gen) for _ in range(3)] == [0, 1, 2]
    gen.close()
    assert not any(t.name == "frame-prefetch" and t.is_alive() for t in threading.enumerate())
    assert len(produced) < 20  # bounded look-ahead, not the whole stream
