"""The isolate core against wasmtime-py (new Store + instance from an InstancePre per boot) on the
same trivial module. Figures land in the table printed at the end of the run."""

from __future__ import annotations

import gc
import statistics
from pathlib import Path

import pytest
import wasmtime

import dynisolate
from conftest import memory_kib

MODULE = (Path(__file__).parent.parent / "tests" / "fixtures" / "trivial.wat").read_text()
ROUNDS = 20_000
HELD = 1_000


def _record(figures: dict, who: str, benchmark) -> None:  # type: ignore[no-untyped-def]
    data = sorted(benchmark.stats.stats.data)
    figures[who]["fresh_median_us"] = statistics.median(data) * 1e6
    figures[who]["fresh_p99_us"] = data[int(len(data) * 0.99)] * 1e6


@pytest.fixture(scope="module")
def ours() -> dynisolate.Worker:
    loader = dynisolate.Loader(cache_dir=None)
    return loader.load({"trivial.wat": MODULE})


class WasmtimePy:
    """The peer: one Engine, Module and InstancePre; a new Store and instance per boot."""

    def __init__(self) -> None:
        self.engine = wasmtime.Engine()
        self.module = wasmtime.Module(self.engine, MODULE)
        self.pre = wasmtime.Linker(self.engine).instantiate_pre(self.module)

    def boot(self) -> tuple[wasmtime.Store, wasmtime.Instance]:
        store = wasmtime.Store(self.engine)
        return store, self.pre.instantiate(store)

    def fresh_call(self) -> int:
        store, instance = self.boot()
        return instance.exports(store)["add"](store, 2, 3)


@pytest.fixture(scope="module")
def peer() -> WasmtimePy:
    return WasmtimePy()


def test_fresh_isolate_and_call_dynisolate(benchmark, figures, ours) -> None:  # type: ignore[no-untyped-def]
    entry = ours.get_entrypoint()
    assert benchmark.pedantic(entry.add, args=(2, 3), rounds=ROUNDS, iterations=1, warmup_rounds=1_000) == 5
    _record(figures, "dynisolate", benchmark)


def test_fresh_isolate_and_call_wasmtime_py(benchmark, figures, peer) -> None:  # type: ignore[no-untyped-def]
    assert benchmark.pedantic(peer.fresh_call, rounds=ROUNDS // 4, iterations=1, warmup_rounds=200) == 5
    _record(figures, "wasmtime-py", benchmark)


def test_warm_call_dynisolate(benchmark, figures, ours) -> None:  # type: ignore[no-untyped-def]
    with ours.session() as session:
        entry = session.get_entrypoint()
        assert (
            benchmark.pedantic(entry.add, args=(2, 3), rounds=ROUNDS, iterations=1, warmup_rounds=1_000) == 5
        )
    figures["dynisolate"]["warm_median_us"] = benchmark.stats.stats.median * 1e6


def test_warm_call_wasmtime_py(benchmark, figures, peer) -> None:  # type: ignore[no-untyped-def]
    store, instance = peer.boot()
    add = instance.exports(store)["add"]
    assert benchmark.pedantic(add, args=(store, 2, 3), rounds=ROUNDS, iterations=1, warmup_rounds=1_000) == 5
    figures["wasmtime-py"]["warm_median_us"] = benchmark.stats.stats.median * 1e6


def _held_kib(hold) -> tuple[float, float]:  # type: ignore[no-untyped-def]
    """Growth of (RSS, private dirty memory) per isolate while HELD isolates are alive."""
    gc.collect()
    rss_before, private_before = memory_kib()
    held = hold()
    gc.collect()
    rss_after, private_after = memory_kib()
    del held
    return (rss_after - rss_before) / HELD, (private_after - private_before) / HELD


def test_memory_per_live_isolate_dynisolate(benchmark, figures, ours) -> None:  # type: ignore[no-untyped-def]
    def hold() -> list:
        sessions = [ours.session() for _ in range(HELD)]
        for s in sessions:
            s.get_entrypoint().bump()  # each isolate has run guest code and written its memory
        return sessions

    rss, private = benchmark.pedantic(_held_kib, args=(hold,), rounds=1, iterations=1)
    figures["dynisolate"]["rss_per_isolate_kib"] = rss
    figures["dynisolate"]["private_per_isolate_kib"] = private


def test_memory_per_live_isolate_wasmtime_py(benchmark, figures, peer) -> None:  # type: ignore[no-untyped-def]
    def hold() -> list:
        pairs = [peer.boot() for _ in range(HELD)]
        for store, instance in pairs:
            instance.exports(store)["bump"](store)
        return pairs

    rss, private = benchmark.pedantic(_held_kib, args=(hold,), rounds=1, iterations=1)
    figures["wasmtime-py"]["rss_per_isolate_kib"] = rss
    figures["wasmtime-py"]["private_per_isolate_kib"] = private


def _boot_loop(call, n: int) -> None:  # type: ignore[no-untyped-def]
    for _ in range(n):
        call()


def test_boots_per_second_dynisolate(benchmark, figures, ours) -> None:  # type: ignore[no-untyped-def]
    add = ours.get_entrypoint().add
    benchmark.pedantic(_boot_loop, args=(lambda: add(2, 3), 100_000), rounds=3, iterations=1)
    figures["dynisolate"]["boots_per_s"] = 100_000 / benchmark.stats.stats.median


def test_boots_per_second_wasmtime_py(benchmark, figures, peer) -> None:  # type: ignore[no-untyped-def]
    benchmark.pedantic(_boot_loop, args=(peer.fresh_call, 10_000), rounds=3, iterations=1)
    figures["wasmtime-py"]["boots_per_s"] = 10_000 / benchmark.stats.stats.median
