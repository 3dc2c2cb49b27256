"""Bad input and hostile tenant JavaScript: each fault is a typed error, and the next call works."""

from __future__ import annotations

import pytest

import dynisolate

HEALTHY = "export default { ok(x) { return { x }; } };"


@pytest.fixture
def healthy(loader: dynisolate.Loader) -> dynisolate.Worker:
    return loader.load({"agent.js": HEALTHY})


def _still_serves(worker: dynisolate.Worker, healthy: dynisolate.Worker, loader: dynisolate.Loader) -> None:
    assert healthy.get_entrypoint().ok(1) == {"x": 1}
    assert loader.stats()["live_isolates"] == 0


def test_syntax_errors_name_file_line_and_column(
    loader: dynisolate.Loader, healthy: dynisolate.Worker
) -> None:
    source = "export default {\n  ok() { return 1; },\n  bad() { return (; },\n};\n"
    with pytest.raises(dynisolate.LoadError) as info:
        loader.load({"main.js": "import './agent.js';", "agent.js": source}, main_module="main.js")
    assert "SyntaxError" in info.value.message
    assert "agent.js:3:19" in info.value.message
    _still_serves(healthy, healthy, loader)


def test_a_memory_bomb_stops_at_the_memory_cap(loader: dynisolate.Loader, healthy: dynisolate.Worker) -> None:
    bomb = """export default {
      grow() { const held = []; for (;;) held.push(new Array(1 << 16).fill(held.length)); },
      caught() {
        try {
          const held = [];
          for (;;) held.push("x".repeat(1 << 20) + held.length);
        } catch (e) {
          return "swallowed";
        }
      },
    };"""
    worker = loader.load({"agent.js": bomb}, limits=dynisolate.Limits(memory_bytes=12 << 20))
    with pytest.raises(dynisolate.MemoryLimitError) as info:
        worker.get_entrypoint().grow()
    assert info.value.memory_bytes == 12 << 20
    # The cap is a trap, not a JavaScript exception: tenant code cannot catch it and carry on.
    with pytest.raises(dynisolate.MemoryLimitError):
        worker.get_entrypoint().caught()
    _still_serves(worker, healthy, loader)


def test_deep_recursion_is_a_catchable_range_error(loader: dynisolate.Loader) -> None:
    source = """export default {
      deep() { const f = (n) => f(n + 1) + 1; try { f(0); } catch (e) { return e.name + ": " + e.message; } },
      uncaught() { const f = (n) => f(n + 1) + 1; return f(0); },
    };"""
    worker = loader.load({"agent.js": source})
    assert worker.get_entrypoint().deep() == "RangeError: Maximum call stack size exceeded"
    with pytest.raises(dynisolate.GuestError) as info:
        worker.get_entrypoint().uncaught()
    assert info.value.name == "RangeError"


@pytest.mark.parametrize(
    ("body", "fragment"),
    [
        ("return { f() {} };", 'a function cannot be sent to the host (at key "f")'),
        ("return [1, Symbol('s')];", "a symbol cannot be sent to the host"),
        ("return { p: new Proxy({}, {}) };", 'a Proxy cannot be sent to the host (at key "p")'),
        ("class Point { x = 1 } return new Point();", "an object of class Point cannot be sent to the host"),
        ("return [new WeakMap()];", "a WeakMap cannot be sent to the host"),
        ("return new Float64Array(2);", "a typed array other than Uint8Array"),
        ("return { later: Promise.resolve(1) };", "a Promise (await it first) cannot be sent"),
        ("return new Date(NaN);", "an invalid Date cannot be sent to the host"),
        ("let v = 1; for (let i = 0; i < 200; i++) v = [v]; return v;", "nested deeper than 128 levels"),
    ],
)
def test_results_that_cannot_cross_are_serialization_errors(
    loader: dynisolate.Loader, healthy: dynisolate.Worker, body: str, fragment: str
) -> None:
    worker = loader.load({"agent.js": f"export default {{ result() {{ {body} }} }};"})
    with pytest.raises(dynisolate.SerializationError) as info:
        worker.get_entrypoint().result()
    assert fragment in info.value.message
    _still_serves(worker, healthy, loader)


def test_env_arguments_that_are_not_json_reject_in_the_guest(loader: dynisolate.Loader) -> None:
    calls = []
    source = """export default {
      async send(x, env) { try { await env.SINK(Symbol("s")); } catch (e) { return e.name; } },
    };"""
    worker = loader.load({"agent.js": source}, env={"SINK": calls.append})
    assert worker.get_entrypoint().send(1) == "TypeError"
    assert calls == []


HOSTILE = """
// Everything the host side might lean on, replaced before any request is handled.
JSON.parse = () => { throw new Error("parse hijacked"); };
JSON.stringify = () => '{"ok":"forged"}';
Object.keys = () => { throw new Error("keys hijacked"); };
Object.prototype.toJSON = undefined;
Object.defineProperty(Object.prototype, "ok", {
  set() { throw new Error("setter hijacked"); },
  get() { return "forged"; },
  configurable: true,
});
Object.defineProperty(Object.prototype, "error", {
  get() { return { name: "Forged", message: "forged" }; },
  configurable: true,
});
Array.prototype.push = () => { throw new Error("push hijacked"); };
Array.prototype[Symbol.iterator] = function* () { yield "forged"; };
Array.prototype.includes = () => true;
Array.prototype.join = () => "forged";
Map.prototype.get = () => { throw new Error("map hijacked"); };
Map.prototype.set = () => { throw new Error("map hijacked"); };
Reflect.apply = () => "forged";
Function.prototype.call = () => "forged";
Function.prototype.apply = () => "forged";
Function.prototype.bind = () => () => "forged";
Promise.resolve = () => { throw new Error("resolve hijacked"); };
String = () => "forged";

export default {
  async work(x, env) {
    console.log("still", { logging: x });
    const echoed = await env.ECHO({ x });
    setTimeout(() => {}, 0);
    return { x, echoed, env: env.LABEL };
  },
};
"""


def test_a_module_overriding_globals_cannot_break_the_host_side(
    loader: dynisolate.Loader, healthy: dynisolate.Worker
) -> None:
    worker = loader.load({"agent.js": HOSTILE}, env={"ECHO": lambda value: value, "LABEL": "t"})
    result = worker.get_entrypoint().call_logged("work", 7)
    assert result.value == {"x": 7, "echoed": {"x": 7}, "env": "t"}
    assert [r.message for r in result.logs] == ["still { logging: 7 }"]
    # A fresh isolate of another worker sees pristine globals.
    assert healthy.get_entrypoint().ok([1, 2]) == {"x": [1, 2]}
    _still_serves(worker, healthy, loader)


def test_more_than_64_mib_of_modules_is_a_load_error(loader: dynisolate.Loader) -> None:
    half = "// " + "x" * (33 << 20) + "\n"
    with pytest.raises(dynisolate.LoadError, match="the limit is 67108864"):
        loader.load({"agent.js": HEALTHY + half, "b.js": half})


def test_a_promise_nothing_can_settle_is_an_error(
    loader: dynisolate.Loader, healthy: dynisolate.Worker
) -> None:
    # (Timers that wait past the call's limits: tests/js/test_js_time.py.)
    source = "export default { async never() { await new Promise(() => {}); } };"
    worker = loader.load({"agent.js": source}, limits=dynisolate.Limits(cpu_ms=50))
    with pytest.raises(dynisolate.GuestError, match="never settles"):
        worker.get_entrypoint().never()
    _still_serves(worker, healthy, loader)


def test_log_and_host_call_limits_apply_to_javascript(loader: dynisolate.Loader) -> None:
    source = """export default {
      chatty() { for (;;) console.log("x".repeat(1000)); },
      async calls(n, env) { for (let i = 0; i < n; i++) await env.PING(); return n; },
    };"""
    worker = loader.load(
        {"agent.js": source},
        env={"PING": lambda: None},
        limits=dynisolate.Limits(max_log_bytes=10_000, max_host_calls=5),
    )
    with pytest.raises(dynisolate.LogLimitError):
        worker.get_entrypoint().chatty()
    assert worker.get_entrypoint().calls(5) == 5
    with pytest.raises(dynisolate.HostCallLimitError):
        worker.get_entrypoint().calls(6)


def test_a_module_body_that_never_ends_stops_at_cpu_ms(loader: dynisolate.Loader) -> None:
    # The load evaluates the modules under the worker's limits. (A module body cannot time itself
    # to spend part of the budget: its clock reads 0, as on Workers.)
    source = "for (;;) {}\nexport default { work() { return 'done'; } };"
    with pytest.raises(dynisolate.CpuLimitError):
        loader.load({"agent.js": source}, limits=dynisolate.Limits(cpu_ms=100))
    assert loader.load({"agent.js": HEALTHY}).get_entrypoint().ok(1) == {"x": 1}


def test_empty_log_records_count_against_the_log_budget(loader: dynisolate.Loader) -> None:
    source = "export default { chatty() { for (;;) console.log(); } };"
    worker = loader.load({"agent.js": source}, limits=dynisolate.Limits(max_log_bytes=64_000))
    with pytest.raises(dynisolate.LogLimitError):
        worker.get_entrypoint().chatty()


def test_jobs_left_behind_run_within_the_call(loader: dynisolate.Loader) -> None:
    seen = []
    source = """export default {
      later(tag, env) { Promise.resolve().then(() => env.NOTE(tag)); return tag; },
    };"""
    worker = loader.load({"agent.js": source}, env={"NOTE": seen.append})
    assert worker.get_entrypoint().later("fresh") == "fresh"
    assert seen == ["fresh"]
    with worker.session() as session:
        assert session.get_entrypoint().later("first") == "first"
        assert seen == ["fresh", "first"]  # not deferred to the session's next call


def test_odd_throws_are_reported_as_what_they_are(loader: dynisolate.Loader) -> None:
    source = """export default {
      odd() { throw { toString() { throw this; } }; },
      badName() {
        const e = new Error("m");
        Object.defineProperty(e, "name", { get() { throw 1; } });
        throw e;
      },
      far() { return new Promise((r) => setTimeout(r, 2 ** 40)); },
      badThen() { return { get then() { throw new RangeError("then trap"); } }; },
    };"""
    worker = loader.load({"agent.js": source}, limits=dynisolate.Limits(cpu_ms=50, wall_ms=200))
    entry = worker.get_entrypoint()
    with pytest.raises(dynisolate.GuestError) as info:
        entry.odd()
    assert (info.value.name, info.value.guest_message) == ("Error", "(a thrown value that cannot be read)")
    with pytest.raises(dynisolate.GuestError) as info:
        entry.badName()
    assert (info.value.name, info.value.guest_message) == ("Error", "m")
    with pytest.raises(dynisolate.WallTimeLimitError):
        entry.far()
    with pytest.raises(dynisolate.GuestError) as info:
        entry.badThen()
    assert (info.value.name, info.value.guest_message) == ("RangeError", "then trap")


def test_host_built_payloads_do_not_count_against_max_payload_bytes(loader: dynisolate.Loader) -> None:
    big = "x" * 200_000
    source = (
        f"const BIG = {big!r};\nexport default {{ size(env) {{ return BIG.length + env.CONFIG.length; }} }};"
    )
    # Each tenant value fits the limit; the bundle and env the host sends at boot together do not.
    worker = loader.load(
        {"agent.js": source},
        env={"CONFIG": "y" * 60_000},
        limits=dynisolate.Limits(max_payload_bytes=100_000),
    )
    assert worker.get_entrypoint().size() == 260_000


def test_a_session_used_from_its_own_env_binding_is_refused(loader: dynisolate.Loader) -> None:
    errors = []
    source = "export default { async poke(env) { await env.REENTER(); return 'ok'; }, ping() { return 1; } };"
    holder: dict = {}

    def reenter() -> None:
        try:
            holder["session"].get_entrypoint().ping()
        except RuntimeError as error:
            errors.append(str(error))
        assert holder["session"].alive

    worker = loader.load({"agent.js": source}, env={"REENTER": reenter})
    with worker.session() as session:
        holder["session"] = session
        assert session.get_entrypoint().poke() == "ok"
        assert session.get_entrypoint().ping() == 1
    assert errors and "already running a call on this thread" in errors[0]


def test_results_larger_than_max_payload_bytes_are_refused(loader: dynisolate.Loader) -> None:
    source = "export default { big(n) { return 'x'.repeat(n); } };"
    worker = loader.load({"agent.js": source}, limits=dynisolate.Limits(max_payload_bytes=10_000))
    assert len(worker.get_entrypoint().big(9_000)) == 9_000
    with pytest.raises(dynisolate.PayloadTooLargeError) as info:
        worker.get_entrypoint().big(20_000)
    assert info.value.limit == 10_000
