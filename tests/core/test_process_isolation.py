"""Sandbox processes (`dynisolate._process`): tenants' isolates in confined child processes,
grouped by cordon. What runs there behaves as in-process (results, env calls, outbound requests,
logs, sessions, limits); the process cannot open files, make sockets or start programs; a process
that dies fails the calls it held with `SandboxProcessDiedError`, and the next call gets a
replacement."""

from __future__ import annotations

import asyncio
import gc
import logging
import os
import resource
import signal
import subprocess
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

import dynisolate
from dynisolate._process import _protocol as protocol
from dynisolate._process._remote import converse

JS = """
export default {
  add(a, b) { return a + b },
  shout(text) { console.log("said", text); console.warn("loud"); return text.toUpperCase() },
  async twice(x, env) { return await env.double(x) + await env.double(x) },
  async broken(env) { try { await env.fail() } catch (e) { return `${e.name}: ${e.message}` } },
  async outbound() {
    const r = await fetch("https://example.test/x", { headers: { a: "b" } });
    return [r.status, await r.text()];
  },
  async fetch(request) { return new Response(`hello ${new URL(request.url).pathname}`, { status: 201 }) },
  spin() { for (;;) {} },
  grow() { const keep = []; for (;;) keep.push(new Array(100000).fill(1)) },
  bytes(data) { return new Uint8Array(data).reverse() },
}
"""
WAT = '(module (func (export "add") (param i32 i32) (result i32) local.get 0 local.get 1 i32.add))'


@pytest.fixture(scope="module")
def cache_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """One compile cache for the module's processes, so each starts from a disk hit."""
    return tmp_path_factory.mktemp("sandbox-cache")


def make_loader(cache_dir: Path, **settings: Any) -> dynisolate.Loader:
    return dynisolate.Loader(
        max_isolates=16,
        max_memory_bytes=16 << 20,
        cache_dir=cache_dir,
        process_isolation=dynisolate.ProcessIsolation(**settings),
    )


@pytest.fixture
def loader(cache_dir: Path) -> Iterator[dynisolate.Loader]:
    with make_loader(cache_dir) as loader:
        yield loader


def probe(loader: dynisolate.Loader, cordon: str, what: str) -> Any:
    """Asks a process of `cordon` to try `what` from inside (see `_child._probe`)."""
    cordons = loader._cordons
    assert cordons is not None
    proc = cordons.acquire(cordon)
    try:
        (outcome,) = converse(proc, protocol.PROBE, [what], 10)
        return outcome
    finally:
        cordons.release(proc)


def pids(loader: dynisolate.Loader, cordon: str) -> list[int]:
    return [p["pid"] for p in loader.sandbox_processes() if p["cordon"] == cordon]


def user_namespaces_allowed() -> bool:
    return subprocess.run(["unshare", "-Urn", "true"], capture_output=True).returncode == 0


# ---- what runs there ----


def test_javascript_and_wasm_calls_return_as_in_process(loader: dynisolate.Loader) -> None:
    js = loader.load({"a.js": JS}, cordon="t1")
    wasm = loader.load({"m.wat": WAT}, cordon="t1")
    assert js.get_entrypoint().add(2, 3) == 5
    assert wasm.get_entrypoint().add(40, 2) == 42
    assert js.get_entrypoint().bytes(b"\x01\x02\x03") == b"\x03\x02\x01"
    assert js.exports == ["add", "broken", "bytes", "fetch", "grow", "outbound", "shout", "spin", "twice"]
    assert len(pids(loader, "t1")) == 1 and pids(loader, "t1")[0] != os.getpid()


def test_env_calls_and_their_errors_cross_to_the_parent(loader: dynisolate.Loader) -> None:
    seen_threads: list[int] = []

    def double(x: int) -> int:
        seen_threads.append(threading.get_ident())
        return 2 * x

    def fail() -> None:
        raise PermissionError("no entry")

    worker = loader.load({"a.js": JS}, env={"double": double, "fail": fail}, cordon="t1")
    entry = worker.get_entrypoint()
    assert entry.twice(21) == 84
    assert seen_threads == [threading.get_ident()] * 2  # served on the caller's thread, as in-process
    assert entry.broken() == "PermissionError: no entry"


def test_outbound_requests_reach_the_parents_handler(loader: dynisolate.Loader) -> None:
    seen: list[dynisolate.Request] = []

    def outbound(request: dynisolate.Request) -> dynisolate.Response:
        seen.append(request)
        return dynisolate.Response(b"from the parent", status=203)

    worker = loader.load({"a.js": JS}, global_outbound=outbound, cordon="t1")
    assert worker.get_entrypoint().outbound() == [203, "from the parent"]
    assert seen[0].url == "https://example.test/x" and seen[0].headers["a"] == "b"
    denied = loader.load({"a.js": JS}, cordon="t1")
    with pytest.raises(dynisolate.GuestError, match="not permitted to access the internet"):
        denied.get_entrypoint().outbound()


def test_rpc_targets_and_service_bindings_in_env_work(loader: dynisolate.Loader) -> None:
    class Counter(dynisolate.RpcTarget):
        def __init__(self) -> None:
            self.total = 0

        def add(self, n: int) -> int:
            self.total += n
            return self.total

    backend = loader.load(
        {"b.js": "export default { async fetch(r) { return new Response('from b') } }"}, cordon="t2"
    )
    counter = Counter()
    source = """export default {
      async run(env) {
        await env.COUNTER.add(2);
        const text = await (await env.BACKEND.fetch(new Request("https://b.test/"))).text();
        return [await env.COUNTER.add(3), text];
      },
    }"""
    worker = loader.load({"a.js": source}, env={"COUNTER": counter, "BACKEND": backend}, cordon="t1")
    assert worker.get_entrypoint().run() == [5, "from b"]
    assert counter.total == 5


def test_what_cannot_cross_a_process_boundary_is_a_typed_error_in_the_guest(
    loader: dynisolate.Loader,
) -> None:
    class Room(dynisolate.RpcTarget):
        def post(self) -> str:
            return "posted"

    source = """export default {
      async callback(env) { try { await env.take(() => 1) } catch (e) { return `${e.name}: ${e.message}` } },
      async target(env) { try { await env.room() } catch (e) { return `${e.name}: ${e.message}` } },
    }"""
    worker = loader.load({"a.js": source}, env={"take": lambda f: f(), "room": lambda: Room()}, cordon="t1")
    assert (
        worker.get_entrypoint().callback().startswith("TypeError: the arguments of env.take cannot be sent")
    )
    assert worker.get_entrypoint().target().startswith("TypeError: the env call's result cannot be sent")
    assert worker.get_entrypoint().callback()  # the process still serves


def test_an_env_handler_raising_systemexit_propagates_as_in_process(loader: dynisolate.Loader) -> None:
    def stop() -> None:
        raise SystemExit(3)

    source = """export default {
      async f(env) { try { await env.stop() } catch {} for (;;) {} },
      add(a, b) { return a + b },
    }"""
    worker = loader.load(
        {"a.js": source}, env={"stop": stop}, limits=dynisolate.Limits(cpu_ms=30_000), cordon="t1"
    )
    with pytest.raises(SystemExit):
        worker.get_entrypoint().f()
    assert worker.get_entrypoint().add(1, 2) == 3
    # The abandoned call was cancelled in the process, not left to spin to its 30 s limit.
    deadline = time.monotonic() + 5
    while probe(loader, "t1", "held")[2]:
        assert time.monotonic() < deadline
        time.sleep(0.05)


def test_fetch_handlers_take_requests_and_return_responses(loader: dynisolate.Loader) -> None:
    worker = loader.load({"a.js": JS}, cordon="t1")
    response = worker.fetch(dynisolate.Request("https://tenant.test/path"))
    assert (response.status, response.body) == (201, b"hello /path")


def test_log_records_reach_the_parents_logger_and_call_logged(
    loader: dynisolate.Loader, caplog: pytest.LogCaptureFixture
) -> None:
    worker = loader.load({"a.js": JS}, cordon="t1")
    with caplog.at_level(logging.INFO, logger="dynisolate.guest"):
        result = worker.get_entrypoint().call_logged("shout", "a\nb")
    assert result.value == "A\nB"
    assert [(r.level, r.message) for r in result.logs] == [("info", "said a\nb"), ("warn", "loud")]
    rendered = [r.getMessage() for r in caplog.records if r.name == "dynisolate.guest"]
    assert rendered == ["said a\\nb", "loud"]
    assert caplog.records[0].dynisolate_worker == "a.js"  # type: ignore[attr-defined]


def test_limits_raise_the_same_typed_errors(loader: dynisolate.Loader) -> None:
    worker = loader.load({"a.js": JS}, limits=dynisolate.Limits(cpu_ms=50), cordon="t1")
    with pytest.raises(dynisolate.CpuLimitError) as cpu:
        worker.get_entrypoint().spin()
    assert cpu.value.cpu_ms == 50
    with pytest.raises(dynisolate.MemoryLimitError) as memory:
        worker.get_entrypoint().grow()
    assert memory.value.memory_bytes == 16 << 20
    with pytest.raises(dynisolate.ExportNotFoundError):
        worker.get_entrypoint().missing()
    assert worker.get_entrypoint().add(1, 1) == 2


def test_load_errors_are_load_errors(loader: dynisolate.Loader) -> None:
    with pytest.raises(dynisolate.LoadError, match="SyntaxError"):
        loader.load({"a.js": "export default {"}, cordon="t1")
    with pytest.raises(dynisolate.LoadError):
        loader.load({"m.wat": '(module (func (import "x" "y")))'}, cordon="t1")


def test_sessions_keep_state_in_their_process(loader: dynisolate.Loader) -> None:
    worker = loader.load({"a.js": "let n = 0; export default { next() { return ++n } }"}, cordon="t1")
    with worker.session() as session:
        entry = session.get_entrypoint()
        assert [entry.next(), entry.next(), entry.next()] == [1, 2, 3]
        assert session.alive
    assert not session.alive
    with pytest.raises(dynisolate.ClosedError):
        entry.next()


def test_async_calls_and_cancellation(loader: dynisolate.Loader) -> None:
    worker = loader.load({"a.js": JS}, limits=dynisolate.Limits(cpu_ms=30_000), cordon="t1")
    entry = worker.get_async_entrypoint()

    async def main() -> tuple[int, float]:
        assert await entry.add(1, 2) == 3
        task = asyncio.ensure_future(entry.spin())
        await asyncio.sleep(0.3)
        started = time.monotonic()
        task.cancel()
        with pytest.raises(asyncio.CancelledError):
            await task
        return await entry.add(2, 2), time.monotonic() - started

    value, _ = asyncio.run(main())
    assert value == 4
    # The cancelled guest was stopped in the process long before its 30 s CPU limit.
    deadline = time.monotonic() + 5
    while loader.sandbox_processes()[0]["calls_in_flight"]:
        assert time.monotonic() < deadline
        time.sleep(0.05)


# ---- cordons ----


def test_each_cordon_has_its_own_processes(loader: dynisolate.Loader) -> None:
    a = loader.load({"a.js": JS}, cordon="tenant-a")
    b = loader.load({"a.js": JS}, cordon="tenant-b")
    a.get_entrypoint().add(1, 1)
    b.get_entrypoint().add(1, 1)
    assert len(set(pids(loader, "tenant-a") + pids(loader, "tenant-b"))) == 2
    assert loader.stats()["sandbox_processes"] == 2


def test_a_busy_cordon_grows_to_processes_per_cordon(cache_dir: Path) -> None:
    with make_loader(cache_dir, processes_per_cordon=2) as loader:
        waiting = "export default { async wait(ms) { await new Promise((r) => setTimeout(r, ms)) } }"
        worker = loader.load({"a.js": waiting}, cordon="t")
        threads = [threading.Thread(target=worker.get_entrypoint().wait, args=(400,)) for _ in range(3)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
        assert len(pids(loader, "t")) == 2


def test_the_least_recently_used_idle_cordon_makes_room(cache_dir: Path) -> None:
    with make_loader(cache_dir, max_processes=1) as loader:
        a = loader.load({"a.js": JS}, cordon="a")
        b = loader.load({"a.js": JS}, cordon="b")  # stops a's process
        assert [p["cordon"] for p in loader.sandbox_processes()] == ["b"]
        assert a.get_entrypoint().add(1, 2) == 3  # a is loaded again into a new process
        assert b.get_entrypoint().add(2, 2) == 4


def test_a_cordon_with_an_open_session_is_not_evicted(cache_dir: Path) -> None:
    with make_loader(cache_dir, max_processes=1) as loader:
        session = loader.load({"a.js": JS}, cordon="a").session()
        with pytest.raises(dynisolate.PoolExhaustedError, match="sessions"):
            loader.load({"a.js": JS}, cordon="b")
        assert session.get_entrypoint().add(1, 1) == 2
        session.close()
        assert loader.load({"a.js": JS}, cordon="b").get_entrypoint().add(1, 1) == 2


def test_no_room_while_every_process_is_busy(cache_dir: Path) -> None:
    with make_loader(cache_dir, max_processes=1) as loader:
        busy = loader.load({"a.js": JS}, limits=dynisolate.Limits(cpu_ms=1_000), cordon="a")
        thread = threading.Thread(
            target=lambda: pytest.raises(dynisolate.CpuLimitError, busy.get_entrypoint().spin)
        )
        thread.start()
        time.sleep(0.2)
        with pytest.raises(dynisolate.PoolExhaustedError, match="max_processes"):
            loader.load({"a.js": JS}, cordon="b")
        thread.join()
        assert loader.load({"a.js": JS}, cordon="b").get_entrypoint().add(1, 1) == 2


def test_get_runs_a_tenants_workers_in_its_own_cordon(loader: dynisolate.Loader) -> None:
    worker = loader.get("w", lambda: {"modules": {"a.js": JS}}, tenant="acme")
    assert worker.get_entrypoint().add(1, 2) == 3
    assert [p["cordon"] for p in loader.sandbox_processes()] == ["acme"]


# ---- confinement ----


def test_processes_report_their_confinement(loader: dynisolate.Loader) -> None:
    loader.load({"a.js": JS}, cordon="t1")
    (report,) = loader.sandbox_processes()
    assert report["seccomp"] is True
    assert report["landlock"] in ("fully", "partially", "not")
    assert report["namespaces"] is user_namespaces_allowed()
    assert report["address_space_bytes"] > 1 << 30


def test_files_and_sockets_are_refused_inside(loader: dynisolate.Loader) -> None:
    loader.load({"a.js": JS}, cordon="t1")
    assert probe(loader, "t1", "open") == "refused: Permission denied"
    assert probe(loader, "t1", "socket") == "refused: Permission denied"
    assert probe(loader, "t1", "allocate") == "refused: out of memory"


def test_the_process_has_none_of_the_parents_environment(
    loader: dynisolate.Loader, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("DATABASE_PASSWORD", "hunter2")
    loader.load({"a.js": JS}, cordon="t1")
    assert probe(loader, "t1", "environ") == "LC_ALL,PYTHONPATH"


def test_what_a_process_writes_to_stderr_reaches_the_log_escaped(
    loader: dynisolate.Loader, caplog: pytest.LogCaptureFixture
) -> None:
    loader.load({"a.js": JS}, cordon="t1")
    (pid,) = pids(loader, "t1")
    with caplog.at_level(logging.WARNING, logger="dynisolate.sandbox"):
        assert probe(loader, "t1", "stderr") == "written"
        deadline = time.monotonic() + 5
        while len([r for r in caplog.records if r.name == "dynisolate.sandbox"]) < 2:
            assert time.monotonic() < deadline
            time.sleep(0.02)
    records = [r for r in caplog.records if r.name == "dynisolate.sandbox"]
    assert [r.getMessage() for r in records] == [
        f"sandbox process {pid}: ERROR looks like the host\\x1b[2J",
        f"sandbox process {pid}: CRITICAL second line",
    ]
    assert records[0].dynisolate_cordon == "t1"  # type: ignore[attr-defined]


@pytest.mark.parametrize("what", ["execve", "fork"])
def test_a_forbidden_syscall_kills_the_process_and_the_next_call_gets_another(
    loader: dynisolate.Loader, what: str
) -> None:
    worker = loader.load({"a.js": JS}, cordon="t1")
    (before,) = pids(loader, "t1")
    with pytest.raises(dynisolate.SandboxProcessDiedError) as died:
        probe(loader, "t1", what)
    assert died.value.signal == signal.SIGSYS and died.value.cordon == "t1"
    assert pids(loader, "t1") == []
    assert worker.get_entrypoint().add(1, 2) == 3
    assert pids(loader, "t1") not in ([], [before])


# ---- death ----


def test_a_killed_process_fails_only_its_calls(loader: dynisolate.Loader) -> None:
    slow = loader.load({"a.js": JS}, limits=dynisolate.Limits(cpu_ms=30_000), cordon="victim")
    other = loader.load({"a.js": JS}, cordon="bystander")
    other.get_entrypoint().add(1, 1)
    slow.get_entrypoint().add(1, 1)
    (victim,) = pids(loader, "victim")
    threading.Timer(0.3, os.kill, (victim, signal.SIGKILL)).start()
    with pytest.raises(dynisolate.SandboxProcessDiedError) as died:
        slow.get_entrypoint().spin()
    assert died.value.signal == signal.SIGKILL and died.value.exit_code is None
    assert "SIGKILL" in str(died.value)
    assert other.get_entrypoint().add(2, 2) == 4
    assert slow.get_entrypoint().add(3, 3) == 6  # reloaded into a replacement
    assert pids(loader, "victim") != [victim]


def test_a_process_that_stops_answering_is_killed_by_the_watchdog(loader: dynisolate.Loader) -> None:
    worker = loader.load({"a.js": JS}, limits=dynisolate.Limits(wall_ms=200), cordon="t1")
    worker.get_entrypoint().add(1, 1)
    (pid,) = pids(loader, "t1")
    os.kill(pid, signal.SIGSTOP)  # as a process stuck in the kernel, or spinning outside a guest
    started = time.monotonic()
    with pytest.raises(dynisolate.SandboxProcessDiedError, match="did not answer") as died:
        worker.get_entrypoint().add(1, 1)
    # The call's wall_ms (0.2 s) plus the watchdog's grace (5 s).
    assert 5.0 <= time.monotonic() - started < 15 and died.value.signal == signal.SIGKILL
    assert worker.get_entrypoint().add(2, 2) == 4


def test_a_process_that_cannot_start_in_time_is_a_confinement_error(cache_dir: Path) -> None:
    with make_loader(cache_dir, start_timeout_ms=1) as loader:
        with pytest.raises(dynisolate.ConfinementError, match="did not start"):
            loader.load({"a.js": JS}, cordon="slow")
        assert loader.sandbox_processes() == []


def test_calls_under_random_kills_end_in_a_result_or_the_death_of_their_process(cache_dir: Path) -> None:
    # Eight threads call two cordons while their processes are SIGKILLed at random: each call
    # returns its value or raises SandboxProcessDiedError, none hangs, and afterwards nothing is
    # counted as in flight and both cordons serve.
    with make_loader(cache_dir, processes_per_cordon=2) as loader:
        workers = {
            c: loader.load({"a.js": JS}, env={"double": lambda x: 2 * x}, cordon=c) for c in ("a", "b")
        }
        outcomes: list[str] = []
        stop = time.monotonic() + 6

        def call(cordon: str) -> None:
            entry = workers[cordon].get_entrypoint()
            while time.monotonic() < stop:
                try:
                    assert entry.twice(21) == 84
                    outcomes.append("ok")
                except dynisolate.SandboxProcessDiedError:
                    outcomes.append("died")

        threads = [threading.Thread(target=call, args=("ab"[i % 2],)) for i in range(8)]
        for thread in threads:
            thread.start()
        kills = 0
        while time.monotonic() < stop - 1:
            time.sleep(0.3)
            alive = [p["pid"] for p in loader.sandbox_processes()]
            if alive:
                os.kill(alive[kills % len(alive)], signal.SIGKILL)
                kills += 1
        for thread in threads:
            thread.join(timeout=30)
            assert not thread.is_alive()
        assert kills >= 10 and outcomes.count("ok") > 100 and "died" in outcomes, (kills, len(outcomes))
        assert all(p["calls_in_flight"] == 0 for p in loader.sandbox_processes())
        assert [workers[c].get_entrypoint().add(1, 1) for c in ("a", "b")] == [2, 2]


def test_sessions_die_with_their_process(loader: dynisolate.Loader) -> None:
    worker = loader.load({"a.js": JS}, cordon="t1")
    session = worker.session()
    assert session.get_entrypoint().add(1, 1) == 2
    os.kill(pids(loader, "t1")[0], signal.SIGKILL)
    with pytest.raises(dynisolate.SandboxProcessDiedError):
        session.get_entrypoint().add(1, 1)
    assert not session.alive


def test_host_memory_exhaustion_stays_in_its_process(cache_dir: Path) -> None:
    # TypeScript's parser needs memory quadratic in this input: gigabytes for 24 KB (a known
    # host-side cost of oxc, which tries each `<` as the start of type arguments). In a sandbox
    # process the parser's allocation fails at host_memory_bytes, which the core reports as a
    # failed load; the parent's memory never sees it.
    bomb = "let x = " + "a<" * 12_000 + "b;\nexport default { f() { return 1 } }"
    rss_before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    with make_loader(cache_dir, host_memory_bytes=256 << 20) as loader:
        with pytest.raises(dynisolate.LoadError, match="internal error while compiling TypeScript"):
            loader.load({"a.ts": bomb}, cordon="t")
        assert loader.load({"a.js": JS}, cordon="t").get_entrypoint().add(1, 2) == 3
    assert resource.getrusage(resource.RUSAGE_SELF).ru_maxrss - rss_before < 256 << 10  # KiB


def test_dropped_workers_are_unloaded_from_their_process(loader: dynisolate.Loader) -> None:
    keep = loader.load({"a.js": JS}, cordon="t1")
    for _ in range(20):
        loader.load({"a.js": JS}, cordon="t1").get_entrypoint().add(1, 1)
    gc.collect()
    deadline = time.monotonic() + 5
    while probe(loader, "t1", "held")[0] > 1:
        assert time.monotonic() < deadline
        time.sleep(0.05)
    assert keep.get_entrypoint().add(1, 1) == 2


def test_a_closed_loader_starts_no_process(cache_dir: Path) -> None:
    loader = make_loader(cache_dir)
    worker = loader.load({"a.js": JS}, cordon="t1")
    (pid,) = pids(loader, "t1")
    loader.close()
    with pytest.raises(dynisolate.ClosedError, match="loader is closed"):
        worker.get_entrypoint().add(1, 1)
    assert loader.sandbox_processes() == []
    with pytest.raises(ProcessLookupError):  # stopped and reaped
        os.kill(pid, 0)


# ---- the durable engine ----


def test_workflow_runs_go_to_their_tenants_cordon(loader: dynisolate.Loader, tmp_path: Path) -> None:
    from dynisolate.workflows import Engine

    code = """
    import { WorkflowEntrypoint } from "cloudflare:workers";
    export class Flow extends WorkflowEntrypoint {
      async run(event, step) {
        const a = await step.do("first", async () => event.payload.n + 1);
        await step.sleep("rest", 1);
        return await step.do("second", async () => a * 2);
      }
    }
    """
    with Engine(tmp_path / "wf.db", loader=loader, workers=2, poll_s=0.01) as engine:
        engine.start()
        instance = engine.create(tenant="acme", code={"flow.js": code}, entrypoint="Flow", params={"n": 20})
        status = instance.wait(timeout=30)
        assert (status.status, status.output) == ("complete", 42), status.error
    assert "acme" in [p["cordon"] for p in loader.sandbox_processes()]


# ---- settings ----


def test_bad_settings_are_config_errors(cache_dir: Path) -> None:
    with pytest.raises(dynisolate.ConfigError, match="processes_per_cordon"):
        dynisolate.ProcessIsolation(processes_per_cordon=0)
    with pytest.raises(dynisolate.ConfigError, match="max_processes"):
        dynisolate.ProcessIsolation(processes_per_cordon=4, max_processes=2)
    with pytest.raises(dynisolate.ConfigError, match="process_isolation"):
        dynisolate.Loader(process_isolation=True)  # type: ignore[arg-type]
    with make_loader(cache_dir) as loader, pytest.raises(dynisolate.ConfigError, match="cordon"):
        loader.load({"a.js": JS}, cordon=7)  # type: ignore[arg-type]


# ---- what a sandbox process sends is checked ----


def test_errors_from_a_process_must_be_dynisolate_errors() -> None:
    error = protocol.dynisolate_error_from_wire(["MemoryLimitError", "too big", {"memory_bytes": 5, "x": 1}])
    assert type(error) is dynisolate.MemoryLimitError and error.memory_bytes == 5 and not hasattr(error, "x")
    for name in ("SystemExit", "KeyboardInterrupt", "Path", "__builtins__", "exceptions"):
        with pytest.raises(protocol.ProtocolError):
            protocol.dynisolate_error_from_wire([name, "boom", {}])
    with pytest.raises(protocol.ProtocolError):
        protocol.dynisolate_error_from_wire("GuestError")


def test_a_load_reply_must_have_the_shape_of_one() -> None:
    from dynisolate._process._remote import _is_load_reply

    assert _is_load_reply([1, ["add"], "javascript", "memory", "a.js"])
    for reply in (
        ["x"],
        [1, ["add"], "python", "memory", "a.js"],
        ["1", [], "wasm", "disk", "m"],
        [1, [2], "wasm", "", ""],
    ):
        assert not _is_load_reply(reply)


def test_frames_are_bounded_and_lists() -> None:
    import socket

    ours, theirs = socket.socketpair()
    with ours, theirs:
        channel = protocol.Channel(ours)
        theirs.sendall(protocol.HEADER.pack(protocol.MAX_PAYLOAD_BYTES + 1, 1, protocol.RESULT))
        with pytest.raises(protocol.ProtocolError, match="exceeds"):
            channel.receive()
        data = b'{"not": "a list"}'
        theirs.sendall(protocol.HEADER.pack(len(data), 1, protocol.RESULT) + data)
        with pytest.raises(protocol.ProtocolError, match="list"):
            channel.receive()
