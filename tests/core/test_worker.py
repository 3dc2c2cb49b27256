"""Entrypoints, named entrypoints, sessions and argument handling."""

from __future__ import annotations

import pytest

import dynisolate
from conftest import assert_healthy, wat


def test_each_call_runs_in_a_fresh_isolate(numeric: dynisolate.Worker) -> None:
    entry = numeric.get_entrypoint()
    assert [entry.bump() for _ in range(3)] == [1, 1, 1]


def test_a_session_keeps_state_and_frees_its_slot(
    loader: dynisolate.Loader, numeric: dynisolate.Worker
) -> None:
    with numeric.session() as session:
        entry = session.get_entrypoint()
        assert [entry.bump() for _ in range(3)] == [1, 2, 3]
        assert loader.stats()["live_isolates"] == 1
    assert loader.stats()["live_isolates"] == 0
    assert not session.alive
    with pytest.raises(dynisolate.ClosedError):
        entry.bump()


def test_a_fatal_error_ends_the_session(loader: dynisolate.Loader, numeric: dynisolate.Worker) -> None:
    session = numeric.session()
    entry = session.get_entrypoint()
    with pytest.raises(dynisolate.TrapError):
        entry.trap()
    assert not session.alive
    assert loader.stats()["live_isolates"] == 0
    with pytest.raises(dynisolate.ClosedError, match="earlier call failed"):
        entry.add(1, 2)
    assert_healthy(numeric)


def test_a_bad_argument_does_not_end_the_session(numeric: dynisolate.Worker) -> None:
    with numeric.session() as session:
        entry = session.get_entrypoint()
        assert entry.bump() == 1
        with pytest.raises(dynisolate.ArgumentError):
            entry.add("x", 1)
        assert entry.bump() == 2


def test_named_entrypoints(loader: dynisolate.Loader) -> None:
    worker = loader.load({"billing.wat": wat("billing.wat")})
    assert worker.get_entrypoint().ping() == 1
    billing = worker.get_entrypoint("Billing")
    assert billing.charge(5) == 500
    assert billing.refund(3) == -3
    assert sorted(dir(billing)) == ["charge", "refund"]
    with pytest.raises(dynisolate.ExportNotFoundError):
        worker.get_entrypoint("Nope")
    with pytest.raises(dynisolate.ExportNotFoundError):
        billing.ping()


def test_a_missing_export_is_an_attribute_error(numeric: dynisolate.Worker) -> None:
    entry = numeric.get_entrypoint()
    with pytest.raises(dynisolate.ExportNotFoundError) as info:
        entry.does_not_exist()
    assert info.value.export == "does_not_exist"
    assert not hasattr(entry, "also_missing")
    assert_healthy(numeric)


@pytest.mark.parametrize(
    ("args", "match"),
    [
        ((1,), "takes 2 arguments, got 1"),
        ((1, 2, 3), "takes 2 arguments"),
        (("1", 2), "argument 0"),
        ((1.5, 2), "argument 0"),
        ((1 << 40, 2), "32-bit"),
        ((None, 2), "argument 0"),
    ],
)
def test_wrong_arguments_are_argument_errors(numeric: dynisolate.Worker, args: tuple, match: str) -> None:
    with pytest.raises(dynisolate.ArgumentError, match=match):
        numeric.get_entrypoint().add(*args)
    assert_healthy(numeric)


def test_integer_arguments_wrap_like_wasm(numeric: dynisolate.Worker) -> None:
    entry = numeric.get_entrypoint()
    assert entry.add(0xFFFFFFFF, 1) == 0
    assert entry.add(-1, -1) == -2
    assert entry.add64(-(1 << 63), -1) == (1 << 63) - 1
    with pytest.raises(dynisolate.ArgumentError):
        entry.scale("1.0", 2.0)


def test_an_uncallable_signature_is_an_argument_error(numeric: dynisolate.Worker) -> None:
    with pytest.raises(dynisolate.ArgumentError, match="cannot be called"):
        numeric.get_entrypoint().takes_v128()


def test_call_by_name(json_guest: dynisolate.Worker) -> None:
    assert json_guest.get_entrypoint().call("echo", 1) == [1]


def test_json_exports_carry_structured_values(json_guest: dynisolate.Worker) -> None:
    value = {
        "name": "ünïcode ✓",
        "n": [1, 2.5, None, True, False],
        "nested": {"a": {"b": []}},
        "big": 1 << 62,
    }
    assert json_guest.get_entrypoint().echo(value, "two") == [value, "two"]


@pytest.mark.parametrize(
    "value",
    [
        object(),
        {1: "int key"},
        float("nan"),
        float("inf"),
        1 << 70,
        b"bytes",
        {"s": {1, 2}},
        "\ud800",
        lambda: 1,
    ],
)
def test_unserialisable_arguments_are_serialization_errors(
    json_guest: dynisolate.Worker, value: object
) -> None:
    with pytest.raises(dynisolate.SerializationError):
        json_guest.get_entrypoint().echo(value)
    assert_healthy(json_guest)


def test_deeply_nested_arguments_are_refused(json_guest: dynisolate.Worker) -> None:
    value: list = []
    for _ in range(200):
        value = [value]
    with pytest.raises(dynisolate.SerializationError, match="deeper"):
        json_guest.get_entrypoint().echo(value)


def test_a_result_that_is_not_json_is_a_serialization_error(json_guest: dynisolate.Worker) -> None:
    with pytest.raises(dynisolate.SerializationError, match="not valid JSON"):
        json_guest.get_entrypoint().bad_json()
    with pytest.raises(dynisolate.SerializationError, match="outside"):
        json_guest.get_entrypoint().bad_pointer()
    assert_healthy(json_guest)


def test_exports_and_repr(numeric: dynisolate.Worker) -> None:
    assert "add" in numeric.exports
    assert "numeric.wat" in repr(numeric)


@pytest.mark.timeout(30)
def test_threads_sharing_a_session_take_turns(loader: dynisolate.Loader) -> None:
    import threading
    import time

    def slow() -> str:
        time.sleep(0.02)
        return "done"

    worker = loader.load({"json.wat": wat("json.wat")}, env={"slow": slow})
    results: list[object] = []
    with worker.session() as session:
        entry = session.get_entrypoint()
        threads = [threading.Thread(target=lambda: results.append(entry.env("slow"))) for _ in range(4)]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
    assert results == [{"ok": "done"}] * 4


def test_exports_that_clash_with_entrypoint_attributes_are_reachable_by_name(
    loader: dynisolate.Loader,
) -> None:
    clashing = """(module
      (func (export "call") (result i32) (i32.const 7))
      (func (export "_make") (result i32) (i32.const 8)))"""
    worker = loader.load({"m.wat": clashing})
    entry = worker.get_entrypoint()
    assert entry.call("call") == 7
    assert entry.call("_make") == 8
    assert entry.call("call") == 7


def test_inputs_that_fit_the_inbox_skip_the_guest_allocator(loader: dynisolate.Loader) -> None:
    # The first write of an isolate goes through dynisolate_alloc, the second asks for the inbox;
    # from then on only what does not fit it is allocated.
    worker = loader.load({"inbox.wat": wat("inbox.wat").replace("INBOX_AT", "1024")})
    with worker.session() as session:
        entry = session.get_entrypoint()
        assert [entry.echo(n) for n in range(3)] == [[0], [1], [2]]
        assert entry.allocs() == 1
        big = "x" * 300
        assert entry.echo(big) == [big]
        assert entry.allocs() == 2
        assert entry.echo("small") == ["small"]
        assert entry.allocs() == 2
