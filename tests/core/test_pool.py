"""The pool under pressure: exhaustion with back-pressure, many threads, many live isolates,
and the GIL released while guests run."""

from __future__ import annotations

import threading
import time
from concurrent.futures import ThreadPoolExecutor

import pytest

import dynisolate
from conftest import assert_healthy, wat


def test_an_exhausted_pool_waits_then_raises_without_leaking() -> None:
    loader = dynisolate.Loader(
        max_isolates=2, max_memory_bytes=1 << 20, cache_dir=None, acquire_timeout_ms=100
    )
    worker = loader.load({"numeric.wat": wat("numeric.wat")})
    held = [worker.session(), worker.session()]
    start = time.perf_counter()
    with pytest.raises(dynisolate.PoolExhaustedError) as info:
        worker.get_entrypoint().add(1, 2)
    assert time.perf_counter() - start >= 0.1
    assert info.value.max_isolates == 2
    assert isinstance(info.value, TimeoutError)
    with pytest.raises(dynisolate.PoolExhaustedError):
        worker.session()
    assert loader.stats()["live_isolates"] == 2
    held[0].close()
    assert_healthy(worker)
    held[1].close()
    assert loader.stats()["live_isolates"] == 0


def test_a_waiting_call_proceeds_when_a_slot_frees() -> None:
    loader = dynisolate.Loader(
        max_isolates=1, max_memory_bytes=1 << 20, cache_dir=None, acquire_timeout_ms=5_000
    )
    worker = loader.load({"numeric.wat": wat("numeric.wat")})
    session = worker.session()
    threading.Timer(0.05, session.close).start()
    assert worker.get_entrypoint().add(1, 2) == 3


def test_sixteen_threads_calling_at_once(loader: dynisolate.Loader) -> None:
    worker = loader.load({"json.wat": wat("json.wat")})
    numeric = loader.load({"numeric.wat": wat("numeric.wat")})

    def work(t: int) -> None:
        for i in range(100):
            assert numeric.get_entrypoint().add(t, i) == t + i
            assert worker.get_entrypoint().echo({"t": t, "i": i}) == [{"t": t, "i": i}]

    with ThreadPoolExecutor(16) as pool:
        list(pool.map(work, range(16)))
    assert loader.stats()["live_isolates"] == 0


def test_faults_under_concurrency_leak_no_slots(loader: dynisolate.Loader) -> None:
    worker = loader.load({"numeric.wat": wat("numeric.wat")}, limits=dynisolate.Limits(cpu_ms=20))

    def work(i: int) -> str:
        entry = worker.get_entrypoint()
        try:
            [entry.trap, entry.spin, entry.recurse, entry.add][i % 4](
                *([0] if i % 4 == 2 else [1, 2] if i % 4 == 3 else [])
            )
        except dynisolate.DynisolateError as e:
            return type(e).__name__
        return "ok"

    with ThreadPoolExecutor(16) as pool:
        outcomes = list(pool.map(work, range(64)))
    assert set(outcomes) == {"TrapError", "CpuLimitError", "StackOverflowError", "ok"}
    assert loader.stats()["live_isolates"] == 0
    assert_healthy(worker)


def test_the_gil_is_released_while_a_guest_runs(loader: dynisolate.Loader) -> None:
    worker = loader.load({"numeric.wat": wat("numeric.wat")}, limits=dynisolate.Limits(cpu_ms=300))
    ticks = 0
    stop = threading.Event()

    def count() -> None:
        nonlocal ticks
        while not stop.is_set():
            ticks += 1

    counter = threading.Thread(target=count)
    counter.start()
    time.sleep(0.01)
    before = ticks
    with pytest.raises(dynisolate.CpuLimitError):
        worker.get_entrypoint().spin()
    during = ticks - before
    stop.set()
    counter.join()
    # With the GIL held for 300 ms the counter could not move at all.
    assert during > 10_000, during


def test_the_default_pool_holds_ten_thousand_live_isolates() -> None:
    loader = dynisolate.Loader(cache_dir=None)
    worker = loader.load({"numeric.wat": wat("numeric.wat")})
    sessions = [worker.session() for _ in range(10_000)]
    assert loader.stats()["live_isolates"] >= 10_000
    assert sessions[-1].get_entrypoint().bump() == 1
    with pytest.raises(dynisolate.PoolExhaustedError):
        dynisolate.Loader(cache_dir=None, acquire_timeout_ms=10).load({"n.wat": wat("numeric.wat")}).session()
    for session in sessions:
        session.close()
    assert loader.stats()["live_isolates"] == 0
