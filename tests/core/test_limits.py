"""Every resource limit, hit on purpose; each followed by a healthy call."""

from __future__ import annotations

import time

import pytest

import dynisolate
from conftest import assert_healthy, wat


def test_an_infinite_loop_stops_within_twice_cpu_ms(loader: dynisolate.Loader) -> None:
    worker = loader.load({"numeric.wat": wat("numeric.wat")}, limits=dynisolate.Limits(cpu_ms=100))
    start = time.perf_counter()
    with pytest.raises(dynisolate.CpuLimitError) as info:
        worker.get_entrypoint().spin()
    elapsed_ms = (time.perf_counter() - start) * 1000
    assert 100 <= elapsed_ms < 200, elapsed_ms
    assert info.value.cpu_ms == 100
    assert isinstance(info.value, TimeoutError)
    assert_healthy(worker)


def test_time_spent_in_env_calls_is_not_cpu_time(loader: dynisolate.Loader) -> None:
    def slow() -> None:
        time.sleep(0.2)

    worker = loader.load(
        {"json.wat": wat("json.wat")}, env={"noop": slow}, limits=dynisolate.Limits(cpu_ms=50)
    )
    assert worker.get_entrypoint().env("noop") == {"ok": None}


def test_the_wall_clock_limit_counts_time_spent_in_env_calls(loader: dynisolate.Loader) -> None:
    def slow() -> None:
        time.sleep(0.002)

    worker = loader.load(
        {"json.wat": wat("json.wat")},
        env={"noop": slow},
        limits=dynisolate.Limits(cpu_ms=10_000, wall_ms=100),
    )
    with pytest.raises(dynisolate.WallTimeLimitError) as info:
        worker.get_entrypoint().env_forever()
    assert info.value.wall_ms == 100
    assert_healthy(worker)


def test_memory_grow_past_the_cap(loader: dynisolate.Loader) -> None:
    worker = loader.load({"numeric.wat": wat("numeric.wat")}, limits=dynisolate.Limits(memory_bytes=4 << 16))
    entry = worker.get_entrypoint()
    assert entry.grow(3) == 1
    with pytest.raises(dynisolate.MemoryLimitError) as info:
        entry.grow(4)
    assert info.value.memory_bytes == 4 << 16
    assert_healthy(worker)


def test_the_loader_cap_applies_without_a_worker_limit() -> None:
    loader = dynisolate.Loader(max_isolates=2, max_memory_bytes=1 << 20, cache_dir=None)
    worker = loader.load({"numeric.wat": wat("numeric.wat")})
    with pytest.raises(dynisolate.MemoryLimitError):
        worker.get_entrypoint().grow(16)
    assert worker.get_entrypoint().grow(15) == 1


def test_stack_overflow(numeric: dynisolate.Worker) -> None:
    with pytest.raises(dynisolate.StackOverflowError):
        numeric.get_entrypoint().recurse(0)
    assert_healthy(numeric)


def test_table_growth_past_max_table_elements() -> None:
    loader = dynisolate.Loader(
        max_isolates=2, max_memory_bytes=1 << 20, max_table_elements=100, cache_dir=None
    )
    grower = """(module (table 10 funcref)
      (func (export "grow") (param i32) (result i32) (table.grow (ref.null func) (local.get 0))))"""
    worker = loader.load({"t.wat": grower})
    assert worker.get_entrypoint().grow(90) == 10
    with pytest.raises(dynisolate.TableLimitError) as info:
        worker.get_entrypoint().grow(91)
    assert info.value.elements == 100
    with pytest.raises(dynisolate.LoadError, match="table"):
        loader.load({"t.wat": "(module (table 101 funcref))"})


def test_fuel_runs_out() -> None:
    loader = dynisolate.Loader(max_isolates=2, max_memory_bytes=1 << 20, consume_fuel=True, cache_dir=None)
    worker = loader.load({"numeric.wat": wat("numeric.wat")}, limits=dynisolate.Limits(fuel=100_000))
    with pytest.raises(dynisolate.FuelExhaustedError) as info:
        worker.get_entrypoint().spin()
    assert info.value.fuel == 100_000
    assert_healthy(worker)


def test_payload_limit_both_ways(loader: dynisolate.Loader) -> None:
    worker = loader.load({"json.wat": wat("json.wat")}, limits=dynisolate.Limits(max_payload_bytes=1_000))
    entry = worker.get_entrypoint()
    with pytest.raises(dynisolate.PayloadTooLargeError) as info:
        entry.echo("x" * 2_000)
    assert info.value.limit == 1_000
    with pytest.raises(dynisolate.PayloadTooLargeError):
        entry.whole_memory()
    assert_healthy(worker)


def test_host_call_limit(loader: dynisolate.Loader) -> None:
    calls = []
    worker = loader.load(
        {"json.wat": wat("json.wat")},
        env={"noop": lambda: calls.append(1)},
        limits=dynisolate.Limits(max_host_calls=50),
    )
    with pytest.raises(dynisolate.HostCallLimitError):
        worker.get_entrypoint().env_forever()
    assert len(calls) == 50
    assert_healthy(worker)


def test_log_limit(loader: dynisolate.Loader) -> None:
    worker = loader.load({"json.wat": wat("json.wat")}, limits=dynisolate.Limits(max_log_bytes=5_000))
    with pytest.raises(dynisolate.LogLimitError):
        worker.get_entrypoint().log_forever("spam")
    assert_healthy(worker)


def test_limits_are_all_limit_errors() -> None:
    for cls in (
        dynisolate.CpuLimitError,
        dynisolate.MemoryLimitError,
        dynisolate.FuelExhaustedError,
        dynisolate.StackOverflowError,
        dynisolate.TableLimitError,
        dynisolate.PayloadTooLargeError,
        dynisolate.HostCallLimitError,
        dynisolate.LogLimitError,
    ):
        assert issubclass(cls, dynisolate.LimitError)
