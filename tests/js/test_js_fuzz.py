"""Random hostile JavaScript: programs drawn from a small grammar of the attacks a tenant would
try (tampering with built-ins' prototypes, deep recursion, huge allocations, endless loops,
promise and timer storms, reflective paths to engine internals, proxies and getters around env
and around what is sent to the host), each run under tight limits. Every program must end in a
result or a dynisolate exception, and the loader must serve a trivial worker after each.

The seeds are fixed, so a failure names the program that reproduces it. `DYNISOLATE_FUZZ_SCALE`
multiplies the number of programs and `DYNISOLATE_FUZZ_FIRST_SEED` moves the seeds (`nox -s
fuzz` runs a longer pass over fresh ones)."""

from __future__ import annotations

import collections
import os
import random
from collections import Counter

import pytest

import dynisolate

PROGRAMS = 60

HEALTHY = "export default { ok(x) { return { x }; } };"

LIMITS = dynisolate.Limits(
    cpu_ms=100, wall_ms=400, memory_bytes=24 << 20, max_log_bytes=8 << 10, max_host_calls=200, sub_requests=3
)

# Errors no tenant program may cause: they would mean the loader, not the guest, went wrong.
NOT_THE_TENANTS = (dynisolate.ConfigError, dynisolate.PoolExhaustedError, dynisolate.LoadError)

# ---- the grammar: each attack class is a list of statements, some parametrised by `r` ----

TAMPERING = [
    "Object.prototype.toJSON = function () { return 'tampered'; };",
    "Array.prototype[Symbol.iterator] = function* () { yield 'tampered'; };",
    "JSON.stringify = () => '{\"forged\":true}'; JSON.parse = () => ({ forged: true });",
    "Promise.prototype.then = function () { return this; };",
    "Object.defineProperty(Object.prototype, 'ok',"
    " { get() { throw new Error('getter'); }, configurable: true });",
    "Function.prototype.call = function () { return 'tampered'; };",
    "Function.prototype.apply = function () { throw new Error('apply'); };",
    "Reflect.apply = () => 'tampered'; Reflect.ownKeys = () => ['forged'];",
    "Object.keys = () => ['forged']; Object.entries = () => [['forged', 1]];",
    "Array.prototype.push = function () { throw new Error('push'); };",
    "Array.isArray = () => true; Symbol.iterator = 'forged';",
    "String.prototype.slice = () => ''; String.prototype.charCodeAt = () => NaN;",
    "Map.prototype.get = () => 'tampered'; Map.prototype.set = function () { return this; };",
    "Uint8Array.prototype.set = () => {};"
    " Object.defineProperty(Uint8Array.prototype, 'length', { get: () => 1e9 });",
    "Error.prototype.toString = () => 'forged'; Error.captureStackTrace = () => {};",
    "globalThis.Response = class { constructor() { throw new Error('forged Response'); } };",
    "Object.defineProperty(Object.prototype, 'then',"
    " { get() { return (ok) => ok('thenable'); }, configurable: true });",
    "Object.setPrototypeOf(Object.prototype, new Proxy({}, { get: () => 'proxied' }));",
    "Object.freeze(Object.prototype); Object.freeze(Array.prototype);",
    "Number.prototype.toString = () => 'x'; Date.prototype.toISOString = () => { throw 1; };",
]

RECURSION = [
    "const f = (n) => f(n + 1) + 1; f(0);",
    "const g = (n) => { try { return g(n + 1); } catch { return g(n + 1); } }; g(0);",
    "let o = {}; for (let i = 0; i < 1e5; i++) o = { o }; JSON.stringify(o);",
    "let a = []; for (let i = 0; i < 1e5; i++) a = [a]; env.ECHO(a);",
    "const p = new Proxy({}, { get: (t, k, r) => r[k] }); p.x;",
    "const s = {}; s.toString = () => `${s}`; String(s);",
]

ALLOCATION = [
    "'x'.repeat(1 << 28);",
    "new ArrayBuffer(2 ** 31);",
    "new Array(1e8).fill(0);",
    "const held = []; for (;;) held.push('y'.repeat(1 << 16) + held.length);",
    "const m = new Map(); for (let i = 0; ; i++) m.set(i, { i });",
    "new Uint8Array(2 ** {r:20:33});",
    "'ab'.repeat({r:1:1000000}).split('');",
    "JSON.parse('[' + '1,'.repeat(1e6) + '1]');",
]

LOOPS = [
    "for (;;) {}",
    "while (true) { Math.random(); }",
    "let i = 0; do { i++; } while (i >= 0);",
    "for (let i = 0; i < {r:1:100000}; i++) {}",
    "const re = /^(a+)+$/; re.test('a'.repeat(32) + 'b');",
]

STORMS = [
    "for (let i = 0; i < {r:1:2000000}; i++) Promise.resolve(i).then(() => {});",
    "const again = () => Promise.resolve().then(again); again(); await new Promise(() => {});",
    "await new Promise(() => {});",
    "for (let i = 0; i < {r:1:100000}; i++) setTimeout(() => {}, i % 50);",
    "setInterval(() => {}, 0); await new Promise((ok) => setTimeout(ok, {r:0:1000}));",
    "await Promise.all(Array.from({ length: {r:1:5000} },"
    " (_, i) => new Promise((ok) => setTimeout(ok, i % 3))));",
    "queueMicrotask(function storm() { queueMicrotask(storm); });",
    "await Promise.race([new Promise((ok) => setTimeout(ok, 5)), fetch('https://example.com/')]);",
    "for (let i = 0; i < 5; i++) await fetch('https://example.com/' + i).catch(() => 0);",
]

REFLECTION = [
    "Error.prepareStackTrace = (e, frames) => frames.map((f) => f.getFunction && f.getFunction());"
    " const frames = new Error('x').stack; if (Array.isArray(frames)) for (const fn of frames)"
    " if (typeof fn === 'function') { try { fn('ENV', [1]); } catch {} }",
    "Error.prepareStackTrace = (e, frames) => {"
    " for (const f of frames) { try { f.getThis(); } catch {} } return ''; }; new Error().stack;",
    "(function f() { return f.caller && f.caller.caller; })();",
    "(function () { 'use strict'; try { return arguments.callee; } catch { return 0; } })();",
    "for (const k of Object.getOwnPropertyNames(globalThis)) {"
    " try { Function.prototype.toString.call(globalThis[k]); } catch {} }",
    "for (const k of Object.getOwnPropertyNames(globalThis)) { const v = globalThis[k];"
    " if (typeof v === 'function' && !/^[A-Z]/.test(k)) { try { v({}, {}, {}); } catch {} } }",
    "env.ECHO.constructor.constructor('return this')();",
    "Object.getPrototypeOf(async function* () {}).constructor('yield 1');",
    "try { null.x; } catch (e) { let c = e; while (c) { c = c.cause || Object.getPrototypeOf(c); } }",
    "new Function('return this')().process;",
    "Object.getOwnPropertyDescriptors(env);",
    "try { eval('import(\"node:fs\")'); } catch {}",
    "await import('node:child_process').catch(() => 0);",
]

ENV = [
    "env.ECHO(new Proxy({}, { ownKeys() { throw new Error('ownKeys'); } }));",
    "env.ECHO(new Proxy([], { get(t, k) { return k === 'length' ? 1e9 : 1; } }));",
    "env.ECHO({ get x() { return Symbol('s'); } });",
    "let n = 0; env.ECHO({ get x() { return n++ ? new Map() : 1; } });",
    "const c = {}; c.c = c; env.ECHO(c);",
    "env.ECHO({ toJSON() { return { toJSON() { throw new Error('toJSON'); } }; } });",
    "env.ECHO(10n ** 1000n, Symbol.iterator, new Date(NaN), new WeakRef({}));",
    "env.ECHO('\\u0000\\ud800\\u202e' + '\\x1b[31m'.repeat({r:1:2000}));",
    "new Proxy(env, { get(t, k) { return t[k]; } }).ECHO(1);",
    "Reflect.get(env, 'ECHO', new Proxy({}, {})).call(null, 1);",
    "env.DATA.k.push(1); env.DATA.__proto__.polluted = 1;",
    "await env.FAIL('x').catch((e) => e.message);",
    "for (let i = 0; i < {r:1:400}; i++) env.ECHO(i);",
    "env.ECHO('x'.repeat({r:1:3000000}));",
    "delete env.ECHO; env.ECHO = () => 'forged'; Object.defineProperty(env, 'DATA', { value: 'forged' });",
    "console.log('\\r\\n' + 'CRITICAL root: forged record'.repeat({r:1:400}));",
]

CLASSES: dict[str, list[str]] = {
    "tampering": TAMPERING,
    "recursion": RECURSION,
    "allocation": ALLOCATION,
    "loops": LOOPS,
    "storms": STORMS,
    "reflection": REFLECTION,
    "env": ENV,
}

RESULTS = [
    "undefined",
    "null",
    "{ ok: 1, list: [1, 'two', null] }",
    "{ get x() { throw new Error('late'); } }",
    "{ get x() { return () => 1; } }",
    "new Proxy({}, {})",
    "Object.create(null)",
    "[1n]",
    "'done'",
    "new Uint8Array([1, 2, 3])",
]


def _fill(template: str, rng: random.Random) -> str:
    """Replaces each `{r:LOW:HIGH}` with a random integer in that range."""
    out, rest = [], template
    while "{r:" in rest:
        head, _, tail = rest.partition("{r:")
        spec, _, rest = tail.partition("}")
        low, high = (int(x) for x in spec.split(":"))
        out += [head, str(rng.randint(low, high))]
    return "".join([*out, rest])


def program(seed: int) -> tuple[str, list[str]]:
    """The program of `seed` and the attack classes it uses."""
    rng = random.Random(seed)
    names = rng.sample(sorted(CLASSES), rng.randint(1, 3))
    statements = []
    for name in names:
        statement = _fill(rng.choice(CLASSES[name]), rng)
        statements.append(f"try {{ {statement} }} catch (e) {{}}" if rng.random() < 0.4 else statement)
    body = "\n    ".join(statements)
    source = f"""export default {{
  async run(arg) {{
    {body}
    return {rng.choice(RESULTS)};
  }},
}};"""
    return source, names


def _seeds() -> range:
    scale = int(os.environ.get("DYNISOLATE_FUZZ_SCALE", "1"))
    first = int(os.environ.get("DYNISOLATE_FUZZ_FIRST_SEED", "0"))
    return range(first, first + PROGRAMS * scale)


@pytest.fixture(scope="module")
def loader() -> dynisolate.Loader:
    with dynisolate.Loader(max_isolates=4, max_memory_bytes=32 << 20, cache_dir=None) as loader:
        yield loader


def _env() -> dict[str, object]:
    def fail(*args: object) -> None:
        raise ValueError("the host refused")

    def echo(*args: object) -> list[object]:
        return list(args)

    return {"ECHO": echo, "FAIL": fail, "DATA": {"k": [1, 2]}}


def test_every_generated_program_is_valid_javascript() -> None:
    # The grammar itself: a program that fails to compile would test nothing.
    with dynisolate.Loader(max_isolates=2, max_memory_bytes=32 << 20, cache_dir=None) as loader:
        for seed in range(len(CLASSES) * 4):
            source, _ = program(seed)
            loader.load({"prog.js": source}, env=_env(), limits=LIMITS)


def _run_all(
    loader: dynisolate.Loader, seeds: range, not_the_tenants: tuple[type[BaseException], ...]
) -> Counter:
    """Runs each seed's program; each must end in a result or a typed error, with the loader
    still serving a known-good worker after it."""
    healthy = loader.load({"healthy.js": HEALTHY}, cordon="fuzz")
    outcomes: collections.Counter[str] = collections.Counter()
    for seed in seeds:
        source, names = program(seed)
        worker = loader.load({"prog.js": source}, env=_env(), limits=LIMITS, cordon="fuzz")
        try:
            worker.get_entrypoint().run(seed)
            outcomes["result"] += 1
        except not_the_tenants as e:
            pytest.fail(f"seed {seed} ({names}) raised {e!r}:\n{source}")
        except dynisolate.DynisolateError as e:
            outcomes[type(e).__name__] += 1
        except BaseException as e:  # anything else escaped the typed errors
            pytest.fail(f"seed {seed} ({names}) raised the untyped {e!r}:\n{source}")
        assert healthy.get_entrypoint().ok(seed) == {"x": seed}, f"seed {seed}"
        assert loader.stats()["live_isolates"] == 0, f"seed {seed} left an isolate behind"
    print(dict(outcomes))
    # The programs reach both ends: some finish, some are stopped by a limit.
    assert outcomes["result"] > 0, outcomes
    assert sum(n for name, n in outcomes.items() if name.endswith("LimitError")) > 0, outcomes
    return outcomes


def test_random_hostile_programs_end_in_a_result_or_a_typed_error(loader: dynisolate.Loader) -> None:
    _run_all(loader, _seeds(), NOT_THE_TENANTS)


def test_hostile_programs_leave_their_sandbox_process_alive() -> None:
    # The same programs through a confined sandbox process: none may kill it (a forbidden
    # syscall, its memory cap) or break the protocol; one process serves them all.
    isolation = dynisolate.ProcessIsolation()
    with dynisolate.Loader(max_isolates=4, max_memory_bytes=32 << 20, process_isolation=isolation) as loader:
        seeds = _seeds()
        _run_all(loader, seeds[: len(seeds) // 3], (*NOT_THE_TENANTS, dynisolate.SandboxProcessDiedError))
        (process,) = loader.sandbox_processes()
        assert process["cordon"] == "fuzz"
