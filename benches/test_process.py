"""Process isolation's cost: the same calls in this process and in a sandbox process (one
cordon, one process), measured in the same run, and how many calls per second one sandbox process
serves. Figures land in the process-isolation table printed at the end of the run
(benches/conftest.py).

A fresh call is a call of a loaded worker (a fresh isolate each time). The env RPC figure is taken
inside one call: a call making `n` env calls, minus a call making none, divided by `n`. Calls per
second are counted over 2 s, from one calling thread and from eight.
"""

from __future__ import annotations

import statistics
import threading
import time
from collections.abc import Callable, Iterator
from typing import Any

import pytest

import dynisolate

SOURCE = """
export default {
  add(a, b) { return a + b },
  async rpc(n, env) { let total = 0; for (let i = 0; i < n; i++) total += await env.ping(i); return total },
}
"""
WAT = '(module (func (export "add") (param i32 i32) (result i32) local.get 0 local.get 1 i32.add))'
MODES = ("in_process", "sandbox")


@pytest.fixture(scope="module")
def loaders() -> Iterator[dict[str, dynisolate.Loader]]:
    settings: dict[str, Any] = {"max_isolates": 64, "max_memory_bytes": 32 << 20}
    with (
        dynisolate.Loader(**settings) as plain,
        dynisolate.Loader(**settings, process_isolation=dynisolate.ProcessIsolation()) as sandboxed,
    ):
        yield {"in_process": plain, "sandbox": sandboxed}


def _js(loader: dynisolate.Loader) -> dynisolate.Entrypoint:
    return loader.load({"w.js": SOURCE}, env={"ping": lambda i: 1}, cordon="bench").get_entrypoint()


def _median_us(call: Callable[[], Any], rounds: int) -> float:
    for _ in range(rounds // 10):
        call()
    times = []
    for _ in range(rounds):
        started = time.perf_counter()
        call()
        times.append(time.perf_counter() - started)
    return statistics.median(times) * 1e6


@pytest.mark.parametrize("mode", MODES)
def test_fresh_js_call(benchmark, process_figures, loaders, mode) -> None:  # type: ignore[no-untyped-def]
    entry = _js(loaders[mode])
    median = benchmark.pedantic(_median_us, args=(lambda: entry.add(1, 2), 3_000), rounds=1, iterations=1)
    process_figures["fresh_js_call_us"][mode] = median


@pytest.mark.parametrize("mode", MODES)
def test_fresh_wasm_call(benchmark, process_figures, loaders, mode) -> None:  # type: ignore[no-untyped-def]
    entry = loaders[mode].load({"m.wat": WAT}, cordon="bench").get_entrypoint()
    median = benchmark.pedantic(_median_us, args=(lambda: entry.add(1, 2), 3_000), rounds=1, iterations=1)
    process_figures["fresh_wasm_call_us"][mode] = median


@pytest.mark.parametrize("mode", MODES)
def test_env_rpc(benchmark, process_figures, loaders, mode) -> None:  # type: ignore[no-untyped-def]
    entry = _js(loaders[mode])
    n = 1_000

    def per_rpc_us() -> float:
        rounds = []
        for _ in range(7):
            with_rpcs = _median_us(lambda: entry.rpc(n), 3)
            without = _median_us(lambda: entry.rpc(0), 3)
            rounds.append((with_rpcs - without) / n)
        return statistics.median(rounds)

    process_figures["env_rpc_us"][mode] = benchmark.pedantic(per_rpc_us, rounds=1, iterations=1)


@pytest.mark.parametrize("threads", [1, 8])
def test_calls_per_second_one_process(benchmark, process_figures, loaders, threads) -> None:  # type: ignore[no-untyped-def]
    entry = _js(loaders["sandbox"])
    entry.add(1, 2)

    def count() -> float:
        stop = time.monotonic() + 2.0
        done = [0] * threads

        def run(slot: int) -> None:
            while time.monotonic() < stop:
                entry.add(1, 2)
                done[slot] += 1

        workers = [threading.Thread(target=run, args=(slot,)) for slot in range(threads)]
        for worker in workers:
            worker.start()
        for worker in workers:
            worker.join()
        return sum(done) / 2.0

    process_figures[f"calls_per_s_{threads}"]["sandbox"] = benchmark.pedantic(count, rounds=1, iterations=1)
    assert [p["cordon"] for p in loaders["sandbox"].sandbox_processes()] == ["bench"]


def test_sandbox_process_start(benchmark, process_figures) -> None:  # type: ignore[no-untyped-def]
    """A new cordon's first load: start a process, confine it, load a worker (disk cache warm)."""
    starts = []
    with dynisolate.Loader(
        max_isolates=64, max_memory_bytes=32 << 20, process_isolation=dynisolate.ProcessIsolation()
    ) as loader:

        def start() -> None:
            started = time.perf_counter()
            loader.load({"w.js": SOURCE}, cordon=f"c{len(starts)}")
            starts.append(time.perf_counter() - started)

        benchmark.pedantic(start, rounds=20, iterations=1)
    process_figures["process_start_ms"]["sandbox"] = statistics.median(starts) * 1e3
