"""JavaScript tenants: dynisolate against native QuickJS (PyPI `quickjs`), V8 (PyPI `mini-racer`)
and the same QuickJS-ng guest under wasmtime-py without our pool. Figures land in the JavaScript
table printed at the end of the run (benches/conftest.py).

What each column runs, per measure:

- dynisolate: the public API. A fresh isolate per call (`worker.get_entrypoint().handle(x)`), a
  session for warm calls and memory, env function bindings for RPC.
- quickjs: `quickjs.Context()` (a new JSRuntime + JSContext), `eval` of the handler as a script,
  then a call with a JSON argument and a JSON result, as `quickjs.Function` does. The package has
  no bytecode cache, so every fresh context parses the source. Env RPC: `Context.add_callable`.
- mini-racer: a new V8 isolate (`mini_racer()`), `eval`, then `MiniRacer.call` (JSON in and out).
  Everything runs with an asyncio loop running on the benchmark's thread, mini-racer's fastest
  public path: each eval then waits on V8 directly instead of hopping to a private event-loop
  thread (`MiniRacer()` outside a loop starts one per isolate and is about twice as slow). V8
  still runs each isolate on a thread of its own, so every eval and call crosses threads and back;
  its figures swing with CPU wake-up latency (warm calls from 28 to 100 µs here). No code cache
  either. Env RPC: `MiniRacer.wrap_py_function`, which exposes an async Python function to
  JavaScript as a promise-returning function, served through the asyncio loop.
- wasmtime-py: our pre-initialised QuickJS-ng interpreter (`dynisolate._core.interpreter_wasm()`)
  and the tenant's bytecode bundle (`worker._guest.bytecode_bundle()`), driven through the
  interpreter's JSON exports as rust/js/worker.rs does: per boot a new `Store` and an instance
  from one `InstancePre` under the same 128 MiB memory cap as our isolates, then one `json:start`
  (bundle, load and call request), as our pool makes a call before it has a bundle's heap
  snapshot. Its imports are defined by iterating the module's imports: `env_call` is served by
  Python (for RPC), `clock_time_get` writes a coarse clock, `random` fills from os.urandom, the
  rest are stubs.

The peers run the handler as a plain synchronous function (their natural shape); ours runs the
tenant's `async handle(x, env)` method of its default export, with the env object built when the
isolate starts.
"""

from __future__ import annotations

import asyncio
import gc
import itertools
import json
import os
import random
import statistics
import struct
import time
from collections.abc import Callable, Iterator
from importlib import metadata
from typing import Any

import pytest
import quickjs
import wasmtime
from py_mini_racer import MiniRacer, mini_racer

import dynisolate
from conftest import memory_kib

# ---------------------------------------------------------------------------------------------
# Workload sizes: modest, so the whole file runs in a few minutes on 2 CPUs with a release build.
# ---------------------------------------------------------------------------------------------

HELD = 1_000  # (d) isolates held alive at once
RPC_CALLS = 100  # (f) env calls made by the RPC handler (vs 0)

# Rounds per runtime, scaled to what one round costs there (mini-racer boots take milliseconds).
FRESH_ROUNDS = {"dynisolate": 5_000, "quickjs": 2_000, "mini-racer": 200, "wasmtime-py": 1_000}
COLD_ROUNDS = {"dynisolate": 100, "quickjs": 200, "mini-racer": 100, "wasmtime-py": 100}
WARM_ROUNDS = {"dynisolate": 20_000, "quickjs": 20_000, "mini-racer": 5_000, "wasmtime-py": 5_000}
BOOTS = {"dynisolate": 10_000, "quickjs": 5_000, "mini-racer": 300, "wasmtime-py": 1_000}
RPC_ROUNDS = {"dynisolate": 200, "quickjs": 500, "mini-racer": 30, "wasmtime-py": 200}

ARG = {"n": 1}
RESULT = {"n": 2}

# ---------------------------------------------------------------------------------------------
# Tenant code. Ours is an ES module with a default export; the peers get the same logic as a
# script defining a global `handle`. `x.k` is the number of env calls the RPC variant makes.
# ---------------------------------------------------------------------------------------------

HANDLER = "export default { async handle(x, env) { return { n: x.n + 1 }; } };"
SCRIPT_HANDLER = "function handle(x) { return { n: x.n + 1 }; }"

RPC_HANDLER = """
export default {
  async handle(x, env) {
    for (let i = 0; i < x.k; i++) await env.ECHO(i);
    return { n: x.n + 1 };
  },
};
"""
# quickjs callables are synchronous; mini-racer's Python callbacks return promises.
SCRIPT_RPC_HANDLER = "function handle(x) { for (let i = 0; i < x.k; i++) ECHO(i); return { n: x.n + 1 }; }"
ASYNC_SCRIPT_RPC_HANDLER = (
    "async function handle(x) { for (let i = 0; i < x.k; i++) await ECHO(i); return { n: x.n + 1 }; }"
)

MODULE_BYTES = 5 * 1024


def _rules_module(salt: int, script: bool) -> str:
    """A never-seen ~5 KB tenant: rule functions over the input, different for every `salt`.

    `script=False` gives the ES module (ours, wasmtime-py), `script=True` a script with a global
    `handle` (quickjs, mini-racer).
    """
    head = f"const SALT = {salt};\n"
    if script:
        tail = (
            "function handle(x) {\n"
            "  const results = RULES.map((rule) => rule(x));\n"
            "  return { n: x.n + 1, hits: results.filter((r) => r.hit).length, salt: SALT };\n"
            "}\n"
        )
    else:
        tail = (
            "export default {\n"
            "  async handle(x, env) {\n"
            "    const results = RULES.map((rule) => rule(x));\n"
            "    return { n: x.n + 1, hits: results.filter((r) => r.hit).length, salt: SALT };\n"
            "  },\n"
            "};\n"
        )
    rules = []
    for i in itertools.count():
        rules.append(
            f"function rule{i}(input) {{\n"
            f'  const words = String(input.text ?? "rule {i} of {salt}").split(/\\s+/).filter(Boolean);\n'
            f"  const score = words.reduce((acc, w) => acc + w.length * {i % 7 + 1}, SALT % {i + 11});\n"
            f'  return {{ id: "rule-{i}", score, hit: score > {100 + i} }};\n'
            f"}}\n"
        )
        table = "const RULES = [" + ", ".join(f"rule{j}" for j in range(i + 1)) + "];\n"
        if len(head) + sum(map(len, rules)) + len(table) + len(tail) >= MODULE_BYTES:
            break
    return head + "".join(rules) + table + tail


_salts = itertools.count(int(time.time()))  # a new constant, hence a new module, every round


def _next_salt() -> int:
    return next(_salts)


# ---------------------------------------------------------------------------------------------
# Recording
# ---------------------------------------------------------------------------------------------


_SCALE = {"us": 1e6, "ms": 1e3}


def _record_times(js_figures: dict, who: str, prefix: str, benchmark, unit: str) -> None:  # type: ignore[no-untyped-def]
    """Median and p99 of the benchmark's rounds, as `<prefix>_median_<unit>`, `<prefix>_p99_<unit>`."""
    data = sorted(benchmark.stats.stats.data)
    js_figures[who][f"{prefix}_median_{unit}"] = statistics.median(data) * _SCALE[unit]
    js_figures[who][f"{prefix}_p99_{unit}"] = data[min(len(data) - 1, int(len(data) * 0.99))] * _SCALE[unit]


def _held_kib(hold: Callable[[], Any], release: Callable[[Any], None]) -> tuple[float, float]:
    """Growth of (RSS, private dirty memory) per isolate while `hold()` keeps HELD of them alive,
    each having run the handler once."""
    gc.collect()
    rss_before, private_before = memory_kib()
    held = hold()
    gc.collect()
    rss_after, private_after = memory_kib()
    release(held)
    return (rss_after - rss_before) / HELD, (private_after - private_before) / HELD


def _boot_loop(call: Callable[[], Any], n: int) -> None:
    for _ in range(n):
        call()


def _timed_ns(call: Callable[[], Any], rounds: int) -> list[int]:
    samples = []
    for _ in range(rounds):
        start = time.perf_counter_ns()
        call()
        samples.append(time.perf_counter_ns() - start)
    return samples


def _rpc_us(with_calls: list[int], without: list[int]) -> float:
    """One env RPC round trip: the median cost the RPC_CALLS calls add to a call, divided."""
    return (statistics.median(with_calls) - statistics.median(without)) / RPC_CALLS / 1e3


def _on_loop(fn: Callable[[], Any]) -> Any:
    """Runs `fn()` with an asyncio loop running on this thread (mini-racer's direct path)."""

    async def main() -> Any:
        return fn()

    return asyncio.run(main())


# ---------------------------------------------------------------------------------------------
# dynisolate
# ---------------------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def loader() -> Iterator[dynisolate.Loader]:
    with dynisolate.Loader(cache_dir=None) as loader:
        yield loader


@pytest.fixture(scope="module")
def handler(loader: dynisolate.Loader) -> dynisolate.Worker:
    return loader.load({"agent.js": HANDLER})


@pytest.fixture(scope="module")
def rpc_handler(loader: dynisolate.Loader) -> dynisolate.Worker:
    return loader.load({"agent.js": RPC_HANDLER}, env={"ECHO": lambda x: x})


def _session_or_skip(worker: dynisolate.Worker, js_notes: list[str], what: str) -> dynisolate.Session:
    """A session of `worker`, or a skip (with a note under the table) until JS sessions land."""
    try:
        return worker.session()
    except NotImplementedError as error:
        js_notes.append(
            f"dynisolate {what}: not measured, JavaScript sessions raise NotImplementedError ({error})"
        )
        pytest.skip(f"JavaScript sessions are not available yet: {error}")


# ---------------------------------------------------------------------------------------------
# quickjs (native QuickJS)
# ---------------------------------------------------------------------------------------------


def _quickjs_call(context: quickjs.Context, arg: dict) -> Any:
    """Calls the global `handle` with a JSON argument and decodes its JSON result."""
    return json.loads(context.get("handle")(context.parse_json(json.dumps(arg))).json())


def _quickjs_fresh(source: str = SCRIPT_HANDLER) -> Any:
    context = quickjs.Context()
    context.eval(source)
    return _quickjs_call(context, ARG)


def _quickjs_hold() -> list[quickjs.Context]:
    contexts = []
    for _ in range(HELD):
        context = quickjs.Context()
        context.eval(SCRIPT_HANDLER)
        _quickjs_call(context, ARG)
        contexts.append(context)
    return contexts


# ---------------------------------------------------------------------------------------------
# mini-racer (V8). Every function here must run under `_on_loop`.
# ---------------------------------------------------------------------------------------------


def _racer_fresh(source: str = SCRIPT_HANDLER) -> Any:
    with mini_racer() as racer:
        racer.eval(source)
        return racer.call("handle", ARG)


def _racer_hold() -> list[tuple[Any, MiniRacer]]:
    held = []
    for _ in range(HELD):
        manager = mini_racer()
        racer = manager.__enter__()
        racer.eval(SCRIPT_HANDLER)
        racer.call("handle", ARG)
        held.append((manager, racer))
    return held


def _racer_release(held: list[tuple[Any, MiniRacer]]) -> None:
    for manager, _ in held:
        manager.__exit__(None, None, None)


async def _racer_rpc_samples(rounds: int) -> tuple[list[int], list[int]]:
    """Times the RPC handler with RPC_CALLS awaited Python callbacks, and with none."""

    async def echo(value: Any) -> Any:
        return value

    with mini_racer() as racer:
        async with racer.wrap_py_function(echo) as js_echo:
            racer.eval("globalThis")["ECHO"] = js_echo
            racer.eval(ASYNC_SCRIPT_RPC_HANDLER)
            handle = racer.eval("(n, k) => handle({ n, k })")

            async def timed(k: int) -> list[int]:
                samples = []
                for _ in range(rounds):
                    start = time.perf_counter_ns()
                    result = await handle(1, k)
                    samples.append(time.perf_counter_ns() - start)
                    assert dict(result) == RESULT
                return samples

            await timed(RPC_CALLS)  # warm-up
            return await timed(RPC_CALLS), await timed(0)


# ---------------------------------------------------------------------------------------------
# wasmtime-py: the same engine module and bundle, without our pool
# ---------------------------------------------------------------------------------------------

EBADF = 8
# Our isolates' linear-memory cap (the Loader's default max_memory_bytes), the JS heap's one limit.
MEMORY_CAP_BYTES = 128 << 20


def _request(op: int, name: str, payload: bytes = b"", env: bytes | None = None, seed: int = 0) -> bytes:
    """A request (rust/js/protocol.rs `Request`): u8 op, u8 flags (4: env included), u32 name,
    env and payload lengths, i64 seed, then the name, the env section and the payload JSON."""
    encoded = name.encode()
    env_bytes = env or b""
    flags = 4 if env is not None else 0
    header = struct.pack("<BBIIIq", op, flags, len(encoded), len(env_bytes), len(payload), seed)
    return header + encoded + env_bytes + payload


def _seed() -> int:
    return random.getrandbits(62) | 1


def _env_section(stubs: dict | None = None) -> bytes:
    """The env section (rust/js/protocol.rs `env_section`): u32 count, then per binding u8 kind
    (1: a function stub), u32 name length, u32 value length, the name, the value."""
    out = bytearray(struct.pack("<I", len(stubs or {})))
    for name in stubs or {}:
        encoded = name.encode()
        out += struct.pack("<BII", 1, len(encoded), 0) + encoded
    return bytes(out)


def _load_request() -> bytes:
    """What rust/js/worker.rs sends to load a bundle: evaluate the main module."""
    return _request(2, "agent.js", seed=_seed())


def _call_args(arg: dict) -> bytes:
    return json.dumps([arg], separators=(",", ":")).encode()


def _source_bundle(modules: list[tuple[str, bytes]]) -> bytes:
    """The bundle layout (rust/bundle.rs `bundle_blob`) for source text: u32 count, then per
    module u32 name length, u32 data length, u32 bytecode flag, name, NUL, data, NUL."""
    out = bytearray(struct.pack("<I", len(modules)))
    for name, data in modules:
        encoded = name.encode()
        out += struct.pack("<III", len(encoded), len(data), 0)
        out += encoded + b"\0" + data + b"\0"
    return bytes(out)


def _reply(caller_or_store: Any, memory: wasmtime.Memory, alloc: wasmtime.Func, data: bytes) -> int:
    """Writes a reply into guest memory through `dynisolate_alloc`; returns `ptr << 32 | len`."""
    ptr = alloc(caller_or_store, len(data))
    memory.write(caller_or_store, data, ptr)
    return ptr << 32 | len(data)


def _zeros(ty: wasmtime.FuncType, value: int = 0) -> Any:
    results = [0.0 if str(t) in ("f32", "f64") else value for t in ty.results]
    return None if not results else results[0] if len(results) == 1 else results


def _import_stub(module: str, name: str, ty: wasmtime.FuncType, env: dict[str, Callable[..., Any]]):  # type: ignore[no-untyped-def]
    """(function, needs caller) for one import of the engine module. The host calls it makes for
    a plain handler are none but the clock; the others answer the way rust/js.rs does."""
    if (module, name) == ("wasi_snapshot_preview1", "clock_time_get"):

        def clock_time_get(caller: wasmtime.Caller, clock: int, _precision: int, out: int) -> int:
            ns = time.time_ns() if clock == 0 else time.monotonic_ns()
            ns -= ns % 1_000_000  # the same 1 ms granularity as ours
            caller["memory"].write(caller, ns.to_bytes(8, "little"), out)
            return 0

        return clock_time_get, True
    if module == "wasi_snapshot_preview1" and name.startswith("fd_"):
        return (lambda *_: _zeros(ty, EBADF)), False  # no files
    if (module, name) == ("dynisolate", "env_call"):

        def env_call(
            caller: wasmtime.Caller, name_ptr: int, name_len: int, args_ptr: int, args_len: int
        ) -> int:
            memory = caller["memory"]
            binding = memory.read(caller, name_ptr, name_ptr + name_len).decode()
            args = json.loads(memory.read(caller, args_ptr, args_ptr + args_len))
            if binding in env:
                envelope = {"ok": env[binding](*args)}
            else:
                envelope = {
                    "error": {"name": "TypeError", "message": f"env has no callable binding {binding!r}"}
                }
            return _reply(caller, memory, caller["dynisolate_alloc"], json.dumps(envelope).encode())

        return env_call, True
    if (module, name) == ("dynisolate", "random"):

        def fill_random(caller: wasmtime.Caller, ptr: int, length: int) -> None:
            caller["memory"].write(caller, os.urandom(length), ptr)

        return fill_random, True
    if module == "dynisolate" and [str(t) for t in ty.results] == ["i64"]:
        # A reply-returning import we do not serve (outbound, env_get): an error envelope.
        def refuse(caller: wasmtime.Caller, *_: int) -> int:
            envelope = b'{"error":{"name":"TypeError","message":"not offered by this benchmark"}}'
            return _reply(caller, caller["memory"], caller["dynisolate_alloc"], envelope)

        return refuse, True
    return (lambda *_: _zeros(ty)), False  # log, sleep, ...: nothing to do


class WasmtimeInstance:
    """One booted interpreter instance and the exports a request needs."""

    def __init__(self, store: wasmtime.Store, instance: wasmtime.Instance, env: bytes) -> None:
        exports = instance.exports(store)
        self.env: bytes | None = env  # sent with the first call, as ours does
        self.store = store
        self.memory: wasmtime.Memory = exports["memory"]
        self.alloc: wasmtime.Func = exports["dynisolate_alloc"]
        self.exports = exports

    def send(self, export: str, data: bytes) -> Any:
        """Calls a byte export (`json:start`, `json:run`) and decodes its reply envelope."""
        ptr = self.alloc(self.store, len(data))
        self.memory.write(self.store, data, ptr)
        packed = self.exports[export](self.store, ptr, len(data)) & 0xFFFF_FFFF_FFFF_FFFF
        start = packed >> 32
        reply = json.loads(self.memory.read(self.store, start, start + (packed & 0xFFFF_FFFF)))
        if "ok" not in reply:
            raise RuntimeError(f"{export} replied {reply}")
        return reply["ok"]

    def call(self, payload: bytes) -> Any:
        """One call of `handle` through `json:run` (the first carries the env and a seed)."""
        env, self.env = self.env, None
        return self.send("json:run", _request(0, "handle", payload, env, _seed() if env is not None else 0))


class WasmtimePyJs:
    """The peer: one Engine, Module, Linker and InstancePre; a new Store and instance per boot."""

    def __init__(self, engine_wasm: bytes, env: dict[str, Callable[..., Any]] | None = None) -> None:
        self.engine = wasmtime.Engine()
        self.module = wasmtime.Module(self.engine, engine_wasm)
        linker = wasmtime.Linker(self.engine)
        for item in self.module.imports:
            function, needs_caller = _import_stub(item.module, item.name, item.type, env or {})
            linker.define_func(item.module, item.name, item.type, function, access_caller=needs_caller)
        self.pre = linker.instantiate_pre(self.module)

    def _instance(self, stubs: dict | None) -> WasmtimeInstance:
        store = wasmtime.Store(self.engine)
        store.set_limits(memory_size=MEMORY_CAP_BYTES)
        return WasmtimeInstance(store, self.pre.instantiate(store), _env_section(stubs))

    def boot(self, bundle: bytes, stubs: dict | None = None) -> WasmtimeInstance:
        """A session as our pool starts one without a heap snapshot: boot under a memory cap, then
        `json:start` with the bundle and a load request."""
        isolate = self._instance(stubs)
        isolate.send("json:start", len(bundle).to_bytes(4, "little") + bundle + _load_request())
        return isolate

    def fresh_call(self, bundle: bytes, payload: bytes) -> Any:
        """A fresh call as our pool makes one without a heap snapshot: one `json:start` with the
        bundle, a load request and the call request (env included)."""
        isolate = self._instance(None)
        call = _request(0, "handle", payload, isolate.env)
        return isolate.send("json:start", len(bundle).to_bytes(4, "little") + bundle + _load_request() + call)


def _engine_wasm_or_skip(js_notes: list[str]) -> bytes:
    hook = getattr(dynisolate._core, "interpreter_wasm", None)
    if hook is None:
        js_notes.append("wasmtime-py: not measured, this build has no dynisolate._core.interpreter_wasm()")
        pytest.skip("dynisolate._core.interpreter_wasm() is not in this build (build with the bench feature)")
    return hook()


def _bytecode_bundle_or_skip(worker: dynisolate.Worker, js_notes: list[str]) -> bytes:
    hook = getattr(worker._guest, "bytecode_bundle", None)
    if hook is None:
        js_notes.append("wasmtime-py: not measured, this build has no JsGuest.bytecode_bundle()")
        pytest.skip("JsGuest.bytecode_bundle() is not in this build yet")
    return hook()


@pytest.fixture(scope="module")
def wasmtime_py(js_notes: list[str]) -> WasmtimePyJs:
    """Compiling the ~1 MB engine with Cranelift takes a few seconds, once."""
    return WasmtimePyJs(_engine_wasm_or_skip(js_notes), env={"ECHO": lambda x: x})


@pytest.fixture(scope="module")
def handler_bundle(handler: dynisolate.Worker, js_notes: list[str]) -> bytes:
    return _bytecode_bundle_or_skip(handler, js_notes)


@pytest.fixture(scope="module", autouse=True)
def versions(js_versions: dict[str, str]) -> None:
    js_versions["quickjs"] = metadata.version("quickjs")
    js_versions["mini-racer"] = f"{metadata.version('mini-racer')} (V8 {_on_loop(_v8_version)})"
    js_versions["wasmtime-py"] = metadata.version("wasmtime")


def _v8_version() -> str:
    with mini_racer() as racer:
        return racer.v8_version


# ---------------------------------------------------------------------------------------------
# (a) fresh isolate + first call of a cached handler, small JSON in and out
# ---------------------------------------------------------------------------------------------


def test_fresh_call_dynisolate(benchmark, js_figures, handler) -> None:  # type: ignore[no-untyped-def]
    entry = handler.get_entrypoint()
    rounds = FRESH_ROUNDS["dynisolate"]
    assert benchmark.pedantic(entry.handle, args=(ARG,), rounds=rounds, warmup_rounds=rounds // 10) == RESULT
    _record_times(js_figures, "dynisolate", "fresh", benchmark, "us")


def test_fresh_call_quickjs(benchmark, js_figures) -> None:  # type: ignore[no-untyped-def]
    rounds = FRESH_ROUNDS["quickjs"]
    assert benchmark.pedantic(_quickjs_fresh, rounds=rounds, warmup_rounds=rounds // 10) == RESULT
    _record_times(js_figures, "quickjs", "fresh", benchmark, "us")


def test_fresh_call_mini_racer(benchmark, js_figures) -> None:  # type: ignore[no-untyped-def]
    rounds = FRESH_ROUNDS["mini-racer"]
    result = _on_loop(lambda: benchmark.pedantic(_racer_fresh, rounds=rounds, warmup_rounds=10))
    assert dict(result) == RESULT
    _record_times(js_figures, "mini-racer", "fresh", benchmark, "us")


def test_fresh_call_wasmtime_py(benchmark, js_figures, wasmtime_py, handler_bundle) -> None:  # type: ignore[no-untyped-def]
    rounds = FRESH_ROUNDS["wasmtime-py"]
    request = _call_args(ARG)
    result = benchmark.pedantic(
        wasmtime_py.fresh_call, args=(handler_bundle, request), rounds=rounds, warmup_rounds=rounds // 10
    )
    assert result == RESULT
    _record_times(js_figures, "wasmtime-py", "fresh", benchmark, "us")


# ---------------------------------------------------------------------------------------------
# (b) a never-seen ~5 KB module to its first result (the source is made before the clock starts)
# ---------------------------------------------------------------------------------------------


def _assert_cold(result: Any) -> None:
    assert result["n"] == 2 and "hits" in result


def test_cold_module_dynisolate(benchmark, js_figures, loader) -> None:  # type: ignore[no-untyped-def]
    def cold(source: str) -> Any:
        return loader.load({"agent.js": source}).get_entrypoint().handle(ARG)

    result = benchmark.pedantic(
        cold,
        setup=lambda: ((_rules_module(_next_salt(), script=False),), {}),
        rounds=COLD_ROUNDS["dynisolate"],
        warmup_rounds=5,
    )
    _assert_cold(result)
    _record_times(js_figures, "dynisolate", "cold", benchmark, "ms")


def test_cold_module_quickjs(benchmark, js_figures) -> None:  # type: ignore[no-untyped-def]
    result = benchmark.pedantic(
        _quickjs_fresh,
        setup=lambda: ((_rules_module(_next_salt(), script=True),), {}),
        rounds=COLD_ROUNDS["quickjs"],
        warmup_rounds=5,
    )
    _assert_cold(result)
    _record_times(js_figures, "quickjs", "cold", benchmark, "ms")


def test_cold_module_mini_racer(benchmark, js_figures) -> None:  # type: ignore[no-untyped-def]
    result = _on_loop(
        lambda: benchmark.pedantic(
            _racer_fresh,
            setup=lambda: ((_rules_module(_next_salt(), script=True),), {}),
            rounds=COLD_ROUNDS["mini-racer"],
            warmup_rounds=5,
        )
    )
    _assert_cold(result)
    _record_times(js_figures, "mini-racer", "cold", benchmark, "ms")


def test_cold_module_wasmtime_py(benchmark, js_figures, wasmtime_py) -> None:  # type: ignore[no-untyped-def]
    """One boot that loads the module from source (the engine parses it) and calls it."""

    def setup() -> tuple[tuple[bytes, bytes], dict]:
        source = _rules_module(_next_salt(), script=False).encode()
        return (_source_bundle([("agent.js", source)]), _call_args(ARG)), {}

    result = benchmark.pedantic(
        wasmtime_py.fresh_call, setup=setup, rounds=COLD_ROUNDS["wasmtime-py"], warmup_rounds=5
    )
    _assert_cold(result)
    _record_times(js_figures, "wasmtime-py", "cold", benchmark, "ms")


# ---------------------------------------------------------------------------------------------
# (c) warm call: the same isolate / context, call after call
# ---------------------------------------------------------------------------------------------


def test_warm_call_dynisolate(benchmark, js_figures, js_notes, handler) -> None:  # type: ignore[no-untyped-def]
    with _session_or_skip(handler, js_notes, "(c) warm call") as session:
        entry = session.get_entrypoint()
        rounds = WARM_ROUNDS["dynisolate"]
        assert (
            benchmark.pedantic(entry.handle, args=(ARG,), rounds=rounds, warmup_rounds=rounds // 20) == RESULT
        )
    js_figures["dynisolate"]["warm_median_us"] = benchmark.stats.stats.median * 1e6


def test_warm_call_quickjs(benchmark, js_figures) -> None:  # type: ignore[no-untyped-def]
    context = quickjs.Context()
    context.eval(SCRIPT_HANDLER)
    rounds = WARM_ROUNDS["quickjs"]
    result = benchmark.pedantic(_quickjs_call, args=(context, ARG), rounds=rounds, warmup_rounds=rounds // 20)
    assert result == RESULT
    js_figures["quickjs"]["warm_median_us"] = benchmark.stats.stats.median * 1e6


def test_warm_call_mini_racer(benchmark, js_figures) -> None:  # type: ignore[no-untyped-def]
    def warm() -> Any:
        with mini_racer() as racer:
            racer.eval(SCRIPT_HANDLER)
            rounds = WARM_ROUNDS["mini-racer"]
            return benchmark.pedantic(
                racer.call, args=("handle", ARG), rounds=rounds, warmup_rounds=rounds // 20
            )

    assert _on_loop(warm) == RESULT
    js_figures["mini-racer"]["warm_median_us"] = benchmark.stats.stats.median * 1e6


def test_warm_call_wasmtime_py(benchmark, js_figures, wasmtime_py, handler_bundle) -> None:  # type: ignore[no-untyped-def]
    isolate = wasmtime_py.boot(handler_bundle)
    rounds = WARM_ROUNDS["wasmtime-py"]
    result = benchmark.pedantic(
        isolate.call, args=(_call_args(ARG),), rounds=rounds, warmup_rounds=rounds // 20
    )
    assert result == RESULT
    js_figures["wasmtime-py"]["warm_median_us"] = benchmark.stats.stats.median * 1e6


# ---------------------------------------------------------------------------------------------
# (d) resident memory per live isolate, HELD of them alive, each having run the handler
# ---------------------------------------------------------------------------------------------


def _record_memory(js_figures: dict, who: str, figures: tuple[float, float]) -> None:
    js_figures[who]["rss_per_isolate_kib"], js_figures[who]["private_per_isolate_kib"] = figures


def test_memory_per_live_isolate_dynisolate(benchmark, js_figures, js_notes, handler) -> None:  # type: ignore[no-untyped-def]
    _session_or_skip(handler, js_notes, "(d) memory per live isolate").close()

    def hold() -> list[dynisolate.Session]:
        sessions = [handler.session() for _ in range(HELD)]
        for session in sessions:
            assert session.get_entrypoint().handle(ARG) == RESULT
        return sessions

    def release(sessions: list[dynisolate.Session]) -> None:
        for session in sessions:
            session.close()

    _record_memory(js_figures, "dynisolate", benchmark.pedantic(_held_kib, args=(hold, release), rounds=1))


def test_memory_per_live_isolate_quickjs(benchmark, js_figures) -> None:  # type: ignore[no-untyped-def]
    figures = benchmark.pedantic(_held_kib, args=(_quickjs_hold, list.clear), rounds=1)
    _record_memory(js_figures, "quickjs", figures)


def test_memory_per_live_isolate_mini_racer(benchmark, js_figures) -> None:  # type: ignore[no-untyped-def]
    figures = _on_loop(lambda: benchmark.pedantic(_held_kib, args=(_racer_hold, _racer_release), rounds=1))
    _record_memory(js_figures, "mini-racer", figures)


def test_memory_per_live_isolate_wasmtime_py(benchmark, js_figures, wasmtime_py, handler_bundle) -> None:  # type: ignore[no-untyped-def]
    request = _call_args(ARG)

    def hold() -> list[WasmtimeInstance]:
        isolates = [wasmtime_py.boot(handler_bundle) for _ in range(HELD)]
        for isolate in isolates:
            assert isolate.call(request) == RESULT
        return isolates

    _record_memory(
        js_figures, "wasmtime-py", benchmark.pedantic(_held_kib, args=(hold, list.clear), rounds=1)
    )


# ---------------------------------------------------------------------------------------------
# (e) boots per second on one thread: fresh isolate + call, back to back
# ---------------------------------------------------------------------------------------------


def _record_boots(js_figures: dict, who: str, benchmark) -> None:  # type: ignore[no-untyped-def]
    js_figures[who]["boots_per_s"] = BOOTS[who] / benchmark.stats.stats.median


def test_boots_per_second_dynisolate(benchmark, js_figures, handler) -> None:  # type: ignore[no-untyped-def]
    handle = handler.get_entrypoint().handle
    benchmark.pedantic(_boot_loop, args=(lambda: handle(ARG), BOOTS["dynisolate"]), rounds=3)
    _record_boots(js_figures, "dynisolate", benchmark)


def test_boots_per_second_quickjs(benchmark, js_figures) -> None:  # type: ignore[no-untyped-def]
    benchmark.pedantic(_boot_loop, args=(_quickjs_fresh, BOOTS["quickjs"]), rounds=3)
    _record_boots(js_figures, "quickjs", benchmark)


def test_boots_per_second_mini_racer(benchmark, js_figures) -> None:  # type: ignore[no-untyped-def]
    _on_loop(lambda: benchmark.pedantic(_boot_loop, args=(_racer_fresh, BOOTS["mini-racer"]), rounds=3))
    _record_boots(js_figures, "mini-racer", benchmark)


def test_boots_per_second_wasmtime_py(benchmark, js_figures, wasmtime_py, handler_bundle) -> None:  # type: ignore[no-untyped-def]
    request = _call_args(ARG)
    call = lambda: wasmtime_py.fresh_call(handler_bundle, request)  # noqa: E731
    benchmark.pedantic(_boot_loop, args=(call, BOOTS["wasmtime-py"]), rounds=3)
    _record_boots(js_figures, "wasmtime-py", benchmark)


# ---------------------------------------------------------------------------------------------
# (f) one env RPC round trip: a handler making RPC_CALLS env calls vs the same making none.
# Ours runs in fresh isolates (the boot cancels out in the difference); the peers in one warm
# context, since their boots would drown the difference in noise.
# ---------------------------------------------------------------------------------------------


def test_env_rpc_dynisolate(benchmark, js_figures, rpc_handler) -> None:  # type: ignore[no-untyped-def]
    handle = rpc_handler.get_entrypoint().handle
    with_calls, without = {"n": 1, "k": RPC_CALLS}, {"n": 1, "k": 0}
    assert handle(with_calls) == RESULT

    def measure() -> float:
        rounds = RPC_ROUNDS["dynisolate"]
        return _rpc_us(
            _timed_ns(lambda: handle(with_calls), rounds), _timed_ns(lambda: handle(without), rounds)
        )

    js_figures["dynisolate"]["env_rpc_us"] = benchmark.pedantic(measure, rounds=1)


def test_env_rpc_quickjs(benchmark, js_figures) -> None:  # type: ignore[no-untyped-def]
    context = quickjs.Context()
    context.add_callable("ECHO", lambda x: x)
    context.eval(SCRIPT_RPC_HANDLER)
    with_calls, without = {"n": 1, "k": RPC_CALLS}, {"n": 1, "k": 0}
    assert _quickjs_call(context, with_calls) == RESULT

    def measure() -> float:
        rounds = RPC_ROUNDS["quickjs"]
        return _rpc_us(
            _timed_ns(lambda: _quickjs_call(context, with_calls), rounds),
            _timed_ns(lambda: _quickjs_call(context, without), rounds),
        )

    js_figures["quickjs"]["env_rpc_us"] = benchmark.pedantic(measure, rounds=1)


def test_env_rpc_mini_racer(benchmark, js_figures) -> None:  # type: ignore[no-untyped-def]
    def measure() -> float:
        return _rpc_us(*asyncio.run(_racer_rpc_samples(RPC_ROUNDS["mini-racer"])))

    js_figures["mini-racer"]["env_rpc_us"] = benchmark.pedantic(measure, rounds=1)


def test_env_rpc_wasmtime_py(benchmark, js_figures, js_notes, wasmtime_py, rpc_handler) -> None:  # type: ignore[no-untyped-def]
    stubs = {"ECHO": None}  # a function binding, as our loader describes it to the engine
    isolate = wasmtime_py.boot(_bytecode_bundle_or_skip(rpc_handler, js_notes), stubs)
    with_calls = _call_args({"n": 1, "k": RPC_CALLS})
    without = _call_args({"n": 1, "k": 0})
    assert isolate.call(with_calls) == RESULT

    def measure() -> float:
        rounds = RPC_ROUNDS["wasmtime-py"]
        return _rpc_us(
            _timed_ns(lambda: isolate.call(with_calls), rounds),
            _timed_ns(lambda: isolate.call(without), rounds),
        )

    js_figures["wasmtime-py"]["env_rpc_us"] = benchmark.pedantic(measure, rounds=1)


# One env RPC whose result is 1 MiB of bytes (a Uint8Array in the guest), measured as (f). Ours
# only: the peers' Python callbacks cannot return bytes to JavaScript.
BLOB_CALLS = 10
BLOB_ROUNDS = 40
BLOB_HANDLER = (
    "export default { async handle(x, env) {"
    " let n = 0; for (let i = 0; i < x.k; i++) n += (await env.BLOB()).length; return n; } };"
)


def test_env_rpc_mib_dynisolate(benchmark, js_figures, js_notes, loader) -> None:  # type: ignore[no-untyped-def]
    blob = bytes(1 << 20)
    handle = loader.load({"blob.js": BLOB_HANDLER}, env={"BLOB": lambda: blob}).get_entrypoint().handle
    assert handle({"k": 1}) == 1 << 20

    def measure() -> float:
        with_calls = _timed_ns(lambda: handle({"k": BLOB_CALLS}), BLOB_ROUNDS)
        without = _timed_ns(lambda: handle({"k": 0}), BLOB_ROUNDS)
        return (statistics.median(with_calls) - statistics.median(without)) / BLOB_CALLS / 1e6

    js_figures["dynisolate"]["env_rpc_mib_ms"] = benchmark.pedantic(measure, rounds=1)
    js_notes.append("(f) 1 MiB of bytes: dynisolate only (quickjs and mini-racer callbacks return no bytes)")


# ---------------------------------------------------------------------------------------------
# (g) fresh-call latency as live sessions grow: the same handler's fresh calls, timed with one
# session held open and then with 10,000 (each having run a call). Ours only: it is about the
# pool, not the interpreter.
# ---------------------------------------------------------------------------------------------

LIVE_SESSIONS = (1, 10_000)
FLAT_ROUNDS = 3_000


def test_fresh_call_as_live_sessions_grow_dynisolate(benchmark, js_figures) -> None:  # type: ignore[no-untyped-def]
    with dynisolate.Loader(max_isolates=LIVE_SESSIONS[-1] + 64, cache_dir=None) as loader:
        worker = loader.load({"agent.js": HANDLER})
        handle = worker.get_entrypoint().handle
        sessions: list[dynisolate.Session] = []

        def measure() -> None:
            for live in LIVE_SESSIONS:
                while len(sessions) < live:
                    session = worker.session()
                    assert session.get_entrypoint().handle(ARG) == RESULT
                    sessions.append(session)
                _timed_ns(lambda: handle(ARG), FLAT_ROUNDS // 10)  # warm-up
                median_ns = statistics.median(_timed_ns(lambda: handle(ARG), FLAT_ROUNDS))
                key = "fresh_1_session_median_us" if live == 1 else f"fresh_{live}_sessions_median_us"
                js_figures["dynisolate"][key] = median_ns / 1e3

        try:
            benchmark.pedantic(measure, rounds=1)
        finally:
            for session in sessions:
                session.close()
