"""The awaitable API: guests run off the event loop; async env methods run on it."""

from __future__ import annotations

import asyncio
import time

import pytest

import dynisolate
from conftest import wat


def test_awaiting_a_call(numeric: dynisolate.Worker) -> None:
    async def main() -> list[int]:
        entry = numeric.get_async_entrypoint()
        return await asyncio.gather(*(entry.add(i, i) for i in range(50)))

    assert asyncio.run(main()) == [2 * i for i in range(50)]


def test_a_running_guest_does_not_block_the_event_loop(loader: dynisolate.Loader) -> None:
    worker = loader.load({"numeric.wat": wat("numeric.wat")}, limits=dynisolate.Limits(cpu_ms=200))

    async def main() -> int:
        ticks = 0

        async def ticker() -> None:
            nonlocal ticks
            while True:
                await asyncio.sleep(0.005)
                ticks += 1

        task = asyncio.create_task(ticker())
        with pytest.raises(dynisolate.CpuLimitError):
            await worker.get_async_entrypoint().spin()
        task.cancel()
        return ticks

    assert asyncio.run(main()) >= 10


def test_async_env_methods_run_on_the_callers_loop(loader: dynisolate.Loader) -> None:
    seen_loops = []

    async def lookup(key: str) -> str:
        seen_loops.append(asyncio.get_running_loop())
        await asyncio.sleep(0.001)
        return key[::-1]

    worker = loader.load({"json.wat": wat("json.wat")}, env={"lookup": lookup})

    async def main() -> tuple[object, asyncio.AbstractEventLoop]:
        result = await worker.get_async_entrypoint().env("lookup", "abc")
        return result, asyncio.get_running_loop()

    result, loop = asyncio.run(main())
    assert result == {"ok": "cba"}
    assert seen_loops == [loop]


def test_async_errors_are_the_same_typed_errors(numeric: dynisolate.Worker) -> None:
    async def main() -> None:
        entry = numeric.get_async_entrypoint()
        with pytest.raises(dynisolate.TrapError):
            await entry.trap()
        with pytest.raises(dynisolate.ArgumentError):
            await entry.add(1)
        with pytest.raises(dynisolate.ExportNotFoundError):
            await entry.call("missing")
        assert await entry.add(1, 2) == 3

    asyncio.run(main())


def test_async_session(numeric: dynisolate.Worker) -> None:
    async def main() -> list[int]:
        with numeric.session() as session:
            entry = session.get_async_entrypoint()
            return [await entry.bump() for _ in range(3)]

    assert asyncio.run(main()) == [1, 2, 3]


def test_concurrent_async_calls_overlap(loader: dynisolate.Loader) -> None:
    def slow(ms: int) -> int:
        time.sleep(ms / 1000)
        return ms

    worker = loader.load({"json.wat": wat("json.wat")}, env={"slow": slow})

    async def main() -> float:
        entry = worker.get_async_entrypoint()
        start = time.perf_counter()
        results = await asyncio.gather(*(entry.env("slow", 100) for _ in range(4)))
        assert results == [{"ok": 100}] * 4
        return time.perf_counter() - start

    assert asyncio.run(main()) < 0.35


def test_cancelling_the_awaiting_task_stops_the_guest(loader: dynisolate.Loader) -> None:
    worker = loader.load({"numeric.wat": wat("numeric.wat")}, limits=dynisolate.Limits(cpu_ms=10_000))

    async def main() -> float:
        task = asyncio.create_task(worker.get_async_entrypoint().spin())
        await asyncio.sleep(0.05)
        assert loader.stats()["live_isolates"] == 1
        task.cancel()
        with pytest.raises(asyncio.CancelledError):
            await task
        start = time.perf_counter()
        while loader.stats()["live_isolates"]:
            await asyncio.sleep(0.001)
        return time.perf_counter() - start

    assert asyncio.run(main()) < 0.5
    assert worker.get_entrypoint().add(1, 2) == 3


def test_a_cancel_token_passed_to_a_session_call_ends_the_session(numeric: dynisolate.Worker) -> None:
    import threading

    from dynisolate._core import CancelToken

    token = CancelToken()
    with numeric.session() as session:
        threading.Timer(0.03, token.cancel).start()
        with pytest.raises(dynisolate.CallCancelledError):
            session._isolate.call("spin", (), None, token)
        assert token.cancelled
        assert not session.alive
