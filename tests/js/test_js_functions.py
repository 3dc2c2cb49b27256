"""JavaScript functions passed to the host: a function in an env call's arguments arrives as a
`dynisolate.GuestFunction`, callable while the env call is served (as Workers RPC passes a
function as a stub), and never after it."""

from __future__ import annotations

import asyncio
import datetime
import threading
from typing import Any

import pytest

import dynisolate
from dynisolate import FunctionUnavailableError, GuestError, GuestFunction

SOURCE = """
export default {
  async each(items, env) {
    return await env.HOST.each(items, (item, i) => `${i}:${item}`);
  },
  async awaits(env) {
    return await env.HOST.each([1, 2], async (n) => { await null; return (await env.HOST.twice(n)) + 1; });
  },
  async values(env) {
    return await env.HOST.apply((m, bytes, when) => [m instanceof Map && m.get(1), bytes.length,
                                                     when instanceof Date && when.getUTCFullYear(),
                                                     new Uint8Array([9]), new Set(["s"])]);
  },
  async nested(env) {
    return await env.HOST.apply({ on: { item: (x) => x * 10 } }, 4);
  },
  async throws(env) {
    return await env.HOST.rescue(() => { throw new RangeError("too far"); });
  },
  async rethrown(env) {
    try { await env.HOST.apply(() => { throw new RangeError("too far"); }); }
    catch (e) { return [e.name, e.message]; }
  },
  async rejects(env) {
    return await env.HOST.rescue(async () => { await null; throw new TypeError("rejected"); });
  },
  async keep(env) { return await env.HOST.keep((x) => x + 1); },
  async spin(env) { return await env.HOST.rescue(() => { for (;;) {} }); },
  async timer(env) {
    return await env.HOST.rescue(() => new Promise((resolve) => setTimeout(() => resolve(1), 1)));
  },
  async unsendable(env) { return await env.HOST.rescue(() => Symbol("s")); },
  async inner(env) {
    return await env.HOST.outer(() => env.HOST.callOuter(() => "inner"));
  },
  async pingPong(env) {
    const bounce = (n) => env.HOST.bounce(n + 1, bounce);
    return await env.HOST.bounce(0, bounce);
  },
  async later(env) { return await env.HOST.later((x) => x); },
  async counted(env) {
    let calls = 0;
    const result = await env.HOST.each([1, 2, 3], () => ++calls);
    return [result, calls];
  },
  async viaStub(env) {
    const room = await env.HOST.room();
    return await room.each(["a", "b"], (x) => x.toUpperCase());
  },
  async sameTwice(env) {
    const f = (x) => x * 3;
    return await env.HOST.pair(f, f);
  },
  async returned() { return () => 1; },
  async passesState(env) {
    const seen = [];
    await env.HOST.each(["x", "y"], (x) => { seen.push(x); });
    return seen;
  },
};
"""


class Room(dynisolate.RpcTarget):
    def each(self, items: list[Any], fn: GuestFunction) -> list[Any]:
        return [fn(item) for item in items]


class Host(dynisolate.RpcTarget):
    def __init__(self) -> None:
        self.kept: list[GuestFunction] = []
        self.caught: list[BaseException] = []
        self.outer_fn: GuestFunction | None = None

    def each(self, items: list[Any], fn: GuestFunction) -> list[Any]:
        return [fn(item, i) for i, item in enumerate(items)]

    def twice(self, n: int) -> int:
        return n * 2

    def apply(self, fn: Any, *args: Any) -> Any:
        if isinstance(fn, dict):
            fn = fn["on"]["item"]
        if not args:
            return fn({1: "one"}, b"abc", datetime.datetime(2026, 12, 7, tzinfo=datetime.UTC))
        return fn(*args)

    def rescue(self, fn: GuestFunction) -> str:
        try:
            return repr(fn())
        except Exception as e:  # what the guest's failure looks like to Python
            self.caught.append(e)
            return f"{type(e).__name__}: {e}"

    def keep(self, fn: GuestFunction) -> int:
        self.kept.append(fn)
        return fn(1)

    def outer(self, fn: GuestFunction) -> Any:
        self.outer_fn = fn
        return fn()

    def callOuter(self, fn: GuestFunction) -> str:  # noqa: N802 (the guest's name)
        assert self.outer_fn is not None
        try:
            self.outer_fn()
        except FunctionUnavailableError as e:
            return f"outer refused: {e}; own: {fn()}"
        return "outer ran"

    def bounce(self, n: int, fn: GuestFunction) -> Any:
        return fn(n)

    def later(self, fn: GuestFunction) -> str:
        result: list[BaseException] = []

        def elsewhere() -> None:
            try:
                fn(1)
            except BaseException as e:
                result.append(e)

        thread = threading.Thread(target=elsewhere)
        thread.start()
        thread.join()
        return type(result[0]).__name__

    def room(self) -> Room:
        return Room()

    def pair(self, f: GuestFunction, g: GuestFunction) -> list[Any]:
        return [f(1), g(2), f is g]


@pytest.fixture
def host() -> Host:
    return Host()


@pytest.fixture
def worker(loader: dynisolate.Loader, host: Host) -> dynisolate.Worker:
    return loader.load({"functions.js": SOURCE}, env={"HOST": host})


def test_a_function_argument_is_a_callable_for_the_host(worker: dynisolate.Worker) -> None:
    entry = worker.get_entrypoint()
    assert entry.each(["a", "b"]) == ["0:a", "1:b"]
    # An async function is awaited, and it may make env calls of its own meanwhile.
    assert entry.awaits() == [3, 5]
    # Closures run in the guest, on its state.
    assert entry.counted() == [[1, 2, 3], 3]
    assert entry.passesState() == ["x", "y"]


def test_arguments_and_results_cross_as_any_value_does(worker: dynisolate.Worker) -> None:
    assert worker.get_entrypoint().values() == ["one", 3, 2026, b"\x09", {"s"}]


def test_functions_nested_in_values_and_passed_to_stubs(worker: dynisolate.Worker) -> None:
    entry = worker.get_entrypoint()
    assert entry.nested() == 40
    assert entry.viaStub() == ["A", "B"]
    # The same function twice is two callables, each working.
    assert entry.sameTwice() == [3, 6, False]


def test_a_function_that_throws_raises_guest_error_in_python(worker: dynisolate.Worker, host: Host) -> None:
    entry = worker.get_entrypoint()
    assert entry.throws() == "GuestError: RangeError: too far"
    assert entry.rejects() == "GuestError: TypeError: rejected"
    error = host.caught[0]
    assert isinstance(error, GuestError) and error.name == "RangeError" and error.guest_message == "too far"
    assert "functions.js" in error.stack
    # Not caught in Python, it reaches the guest as what it threw.
    assert entry.rethrown() == ["RangeError", "too far"]


def test_a_function_kept_past_its_env_call_cannot_be_called(worker: dynisolate.Worker, host: Host) -> None:
    assert worker.get_entrypoint().keep() == 2
    with pytest.raises(FunctionUnavailableError, match="the env call that passed it has returned"):
        host.kept[0](1)
    # Nor in a later call of the same isolate, whose env call is being served.
    with worker.session() as session:
        entry = session.get_entrypoint()
        assert entry.keep() == 2
        assert entry.keep() == 2
    with pytest.raises(FunctionUnavailableError):
        host.kept[1](1)
    assert "FunctionUnavailableError" in repr(worker.get_entrypoint().later())


def test_only_the_innermost_env_calls_functions_can_be_called(worker: dynisolate.Worker) -> None:
    assert worker.get_entrypoint().inner() == (
        "outer refused: this guest function cannot be called: a later env call is being served: only the "
        "functions of the innermost env call can be called; own: inner"
    )


def test_a_limit_hit_inside_a_function_ends_the_call_even_if_python_catches_it(
    loader: dynisolate.Loader, host: Host
) -> None:
    worker = loader.load({"functions.js": SOURCE}, env={"HOST": host}, limits=dynisolate.Limits(cpu_ms=200))
    with pytest.raises(dynisolate.CpuLimitError):
        worker.get_entrypoint().spin()
    assert isinstance(host.caught[-1], dynisolate.CpuLimitError)  # Python saw it, and carried on
    assert worker.get_entrypoint().each(["ok"]) == ["0:ok"]  # the pool serves the next call


def test_calls_back_and_forth_are_bounded_by_the_call_limits(loader: dynisolate.Loader, host: Host) -> None:
    limits = dynisolate.Limits(max_host_calls=50)
    worker = loader.load({"functions.js": SOURCE}, env={"HOST": host}, limits=limits)
    with pytest.raises(dynisolate.LimitError):
        worker.get_entrypoint().pingPong()
    assert worker.get_entrypoint().each(["ok"]) == ["0:ok"]


def test_a_function_awaiting_a_timer_is_refused_not_hung(worker: dynisolate.Worker) -> None:
    assert worker.get_entrypoint().timer() == (
        "GuestError: TypeError: the function's promise did not settle while the host waited for it "
        "(a function the host calls may await env calls, not timers)"
    )


def test_a_result_that_cannot_cross_is_a_serialization_error(worker: dynisolate.Worker) -> None:
    assert (
        worker.get_entrypoint()
        .unsendable()
        .startswith("SerializationError: the result cannot be sent to the host: a symbol")
    )


def test_functions_cross_only_in_env_call_arguments(worker: dynisolate.Worker) -> None:
    with pytest.raises(dynisolate.SerializationError, match="a function cannot be sent to the host"):
        worker.get_entrypoint().returned()


def test_a_guest_function_does_not_cross_back(loader: dynisolate.Loader) -> None:
    source = """export default {
      async back(env) {
        try { await env.echo((x) => x); } catch (e) { return `${e.name}: ${e.message}`; }
      },
    };"""
    worker = loader.load({"back.js": source}, env={"echo": lambda fn: fn})
    assert worker.get_entrypoint().back() == (
        "TypeError: the result of env.echo() is a function a guest passed to the host: only the host can "
        "call it, so it cannot be sent to a guest (through a service binding either)"
    )


def test_a_function_cannot_be_passed_through_a_service_binding(loader: dynisolate.Loader) -> None:
    callee = loader.load(
        {
            "api.js": """import { WorkerEntrypoint } from "cloudflare:workers";
            export class Api extends WorkerEntrypoint { run(fn) { return typeof fn; } }
            export default {};"""
        }
    )
    source = """export default {
      async go(env) { try { return await env.SVC.run((x) => x); } catch (e) { return e.message; } },
    };"""
    caller = loader.load({"caller.js": source}, env={"SVC": callee.get_entrypoint("Api")})
    assert caller.get_entrypoint().go() == (
        "arguments[0] is a function a guest passed to the host: only the host can call it, so it cannot be "
        "sent to a guest (through a service binding either)"
    )


class AsyncHost(dynisolate.RpcTarget):
    def each(self, items: list[Any], fn: GuestFunction) -> list[Any]:
        return [fn(item, i) for i, item in enumerate(items)]

    async def later_each(self, items: list[Any], fn: GuestFunction) -> list[Any]:
        await asyncio.sleep(0)
        try:
            return [fn(item, i) for i, item in enumerate(items)]
        except FunctionUnavailableError as e:
            return [str(e)]


ASYNC_SOURCE = """
export default {
  async each(items, env) { return await env.HOST.each(items, (item, i) => `${i}:${item}`); },
  async laterEach(items, env) { return await env.HOST.later_each(items, (item, i) => `${i}:${item}`); },
};
"""


def test_async_calls_and_async_env_methods(loader: dynisolate.Loader) -> None:
    worker = loader.load({"async.js": ASYNC_SOURCE}, env={"HOST": AsyncHost()})
    # A sync call awaits an async env method on a private loop, on the thread serving the call.
    assert worker.get_entrypoint().laterEach(["a"]) == ["0:a"]

    async def main() -> tuple[Any, Any]:
        entry = worker.get_async_entrypoint()
        return await entry.each(["b"]), await entry.laterEach(["c"])

    # An async call's sync env methods run on the thread running the guest; its async ones on
    # the caller's loop, another thread, where the function cannot be called.
    synced, awaited = asyncio.run(main())
    assert synced == ["0:b"]
    assert awaited[0].startswith(
        "this guest function cannot be called: the env call that passed it has returned"
    )
