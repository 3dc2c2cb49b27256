"""Time as Cloudflare keeps it: `cpu_ms` counts the time the guest runs, not its waits on timers,
env calls and outbound requests, which only `wall_ms` bounds; the guest's clock (`Date.now()`,
`performance.now()`) stands still while JavaScript runs and moves on at I/O; live timers and
pending promises are capped; `scheduler.wait` is such a timer. Each limit is hit on purpose and
followed by a healthy call."""

from __future__ import annotations

import asyncio
import time

import pytest

import dynisolate

HEALTHY = "export default { ok(x) { return { x }; } };"

SOURCE = """
const sleep = (ms) => new Promise((resolve) => setTimeout(resolve, ms));
export const evaluated = [Date.now(), performance.now(), new Date().getTime()];
export default {
  async nap(ms) { await sleep(ms); return "rested"; },
  async ticking() { setInterval(() => {}, 10); await new Promise(() => {}); },
  spin() { for (;;) {} },
  async clock(env) {
    const start = [Date.now(), performance.now(), new Date().getTime()];
    let sum = 0;
    for (let i = 0; i < 300_000; i++) sum += i;  // some 20 ms of work, which the clock does not see
    const worked = Date.now();
    await sleep(20);
    const slept = Date.now();
    await env.PING();
    const pinged = Date.now();
    return { start, worked, slept, pinged, perf: performance.now(), origin: performance.timeOrigin };
  },
  async call(env) { return await env.WAIT(); },
  async get(url) { return (await fetch(url)).status; },
  evaluated() { return evaluated; },
};
"""


@pytest.fixture
def healthy(loader: dynisolate.Loader) -> dynisolate.Worker:
    return loader.load({"agent.js": HEALTHY})


def _still_serves(healthy: dynisolate.Worker, loader: dynisolate.Loader) -> None:
    assert healthy.get_entrypoint().ok(1) == {"x": 1}
    assert loader.stats()["live_isolates"] == 0


def test_a_timer_longer_than_cpu_ms_is_a_wait_not_cpu_time(loader: dynisolate.Loader) -> None:
    worker = loader.load({"agent.js": SOURCE}, limits=dynisolate.Limits(cpu_ms=100))
    assert worker.get_entrypoint().nap(300) == "rested"


def test_wall_ms_ends_a_long_timer_wait(loader: dynisolate.Loader, healthy: dynisolate.Worker) -> None:
    worker = loader.load({"agent.js": SOURCE}, limits=dynisolate.Limits(cpu_ms=100, wall_ms=500))
    for method, args in (("nap", (10_000,)), ("ticking", ())):
        with pytest.raises(dynisolate.WallTimeLimitError) as info:
            worker.get_entrypoint().call(method, *args)
        assert info.value.wall_ms == 500
        assert isinstance(info.value, TimeoutError)
        assert "wall-clock limit of 500 ms" in info.value.message
    _still_serves(healthy, loader)


def test_a_busy_loop_still_ends_at_cpu_ms(loader: dynisolate.Loader, healthy: dynisolate.Worker) -> None:
    worker = loader.load({"agent.js": SOURCE}, limits=dynisolate.Limits(cpu_ms=100, wall_ms=60_000))
    with pytest.raises(dynisolate.CpuLimitError) as info:
        worker.get_entrypoint().spin()
    assert info.value.cpu_ms == 100
    _still_serves(healthy, loader)


def test_waiting_on_env_calls_longer_than_cpu_ms_is_not_cpu_time(loader: dynisolate.Loader) -> None:
    def blocking() -> str:
        time.sleep(0.3)
        return "blocked"

    async def awaiting() -> str:
        await asyncio.sleep(0.3)
        return "awaited"

    for wait, expected in ((blocking, "blocked"), (awaiting, "awaited")):
        worker = loader.load({"agent.js": SOURCE}, env={"WAIT": wait}, limits=dynisolate.Limits(cpu_ms=100))
        assert worker.get_entrypoint().call("call") == expected


def test_waiting_on_the_outbound_handler_longer_than_cpu_ms_is_not_cpu_time(
    loader: dynisolate.Loader,
) -> None:
    def slow(request: dynisolate.Request) -> dynisolate.Response:
        time.sleep(0.3)
        return dynisolate.Response(b"", status=204)

    worker = loader.load({"agent.js": SOURCE}, global_outbound=slow, limits=dynisolate.Limits(cpu_ms=100))
    assert worker.get_entrypoint().get("https://api.example/slow") == 204


def test_waiting_on_a_service_longer_than_cpu_ms_is_not_cpu_time(loader: dynisolate.Loader) -> None:
    callee = loader.load({"agent.js": SOURCE}, limits=dynisolate.Limits(cpu_ms=100))
    caller = loader.load(
        {"caller.js": "export default { async go(env) { return await env.SVC.nap(300); } };"},
        env={"SVC": callee},
        limits=dynisolate.Limits(cpu_ms=100),
    )
    assert caller.get_entrypoint().go() == "rested"


def test_wall_ms_ends_a_long_env_wait(loader: dynisolate.Loader, healthy: dynisolate.Worker) -> None:
    def blocking() -> None:
        time.sleep(0.4)  # not interrupted: the call ends when it returns

    async def hanging() -> None:
        await asyncio.sleep(30)  # given up on at wall_ms

    for wait in (blocking, hanging):
        worker = loader.load(
            {"agent.js": SOURCE}, env={"WAIT": wait}, limits=dynisolate.Limits(cpu_ms=100, wall_ms=200)
        )
        started = time.monotonic()
        with pytest.raises(dynisolate.WallTimeLimitError):
            worker.get_entrypoint().call("call")
        assert time.monotonic() - started < 10
    _still_serves(healthy, loader)


def test_the_clock_stands_still_while_javascript_runs_and_moves_on_at_io(loader: dynisolate.Loader) -> None:
    worker = loader.load({"agent.js": SOURCE}, env={"PING": lambda: None})
    before = time.time() * 1000
    seen = worker.get_entrypoint().clock()
    after = time.time() * 1000
    start = seen["start"][0]
    assert seen["start"] == [start, start, start]  # Date.now(), performance.now(), new Date()
    assert before - 1 <= start <= after  # the call's start, on the calendar clock
    assert seen["worked"] == start  # the loop's milliseconds did not move it
    assert seen["slept"] >= start + 20  # a timer fired: I/O
    assert seen["pinged"] >= seen["slept"]  # an env call returned: I/O
    assert seen["pinged"] <= after
    assert seen["perf"] == seen["pinged"]  # performance.now() is Date.now(), as on Workers
    assert seen["origin"] == 0  # Workers' timeOrigin


def test_the_clock_reads_0_while_the_modules_are_evaluated(loader: dynisolate.Loader) -> None:
    # As workerd's, outside any request: an evaluated heap serves every isolate of the bundle.
    worker = loader.load({"agent.js": SOURCE})
    for _ in range(3):  # the load's own evaluation, then isolates restored from its heap
        assert worker.get_entrypoint().evaluated() == [0, 0, 0]


def test_performance_now_is_never_negative(loader: dynisolate.Loader) -> None:
    worker = loader.load({"agent.js": "export default { now() { return performance.now(); } };"})
    before = time.time() * 1000
    assert before - 1 <= worker.get_entrypoint().now() <= time.time() * 1000


TIMERS = """
export default {
  many(n) {
    const ids = [];
    for (let i = 0; i < n; i++) ids.push(setTimeout(() => {}, 60_000));
    return ids.length;
  },
  past() {
    for (let i = 0; i < 10_000; i++) setTimeout(() => {}, 60_000);
    try {
      setInterval(() => {}, 60_000);
      return "set";
    } catch (e) {
      return [e.name, e instanceof QuotaExceededError, e instanceof DOMException, e.message];
    }
  },
  cleared() {
    const ids = [];
    for (let i = 0; i < 10_000; i++) ids.push(setTimeout(() => {}, 60_000));
    clearTimeout(ids[0]);
    const last = setTimeout(() => {}, 60_000);
    for (const id of ids) clearTimeout(id);
    clearTimeout(last);
    return "cleared";
  },
  uncaught() { for (;;) setTimeout(() => {}, 60_000); },
};
"""


def test_live_timers_are_capped_with_workers_error(
    loader: dynisolate.Loader, healthy: dynisolate.Worker
) -> None:
    # Timers still pending when a call returns are dropped with it, so each call may set 10,000.
    worker = loader.load({"agent.js": TIMERS})
    entry = worker.get_entrypoint()
    assert entry.many(10_000) == 10_000
    name, is_quota, is_dom, message = entry.past()
    assert (name, is_quota, is_dom) == ("QuotaExceededError", True, True)
    assert message == (
        "You have exceeded the number of active timeouts you may set. max active timeouts: 10000, "
        "current active timeouts: 10000, finished timeouts: 0"
    )
    assert entry.cleared() == "cleared"  # a cleared timer frees its place
    with pytest.raises(dynisolate.GuestError) as info:
        entry.uncaught()
    assert info.value.name == "QuotaExceededError"
    _still_serves(healthy, loader)


def test_pending_promises_and_jobs_stop_at_the_memory_limit_first_in_a_small_isolate(
    loader: dynisolate.Loader, healthy: dynisolate.Worker
) -> None:
    # In the loader's 16 MiB the heap runs out before the count of pending promises reaches its
    # cap: a flood ends at the memory limit, which the guest cannot catch.
    source = """export default {
      jobs() { for (;;) Promise.resolve().then(() => {}); },
      pending() { const kept = []; for (;;) kept.push(new Promise(() => {})); },
      chain() { const next = () => Promise.resolve().then(next); next(); return new Promise(() => {}); },
    };"""
    worker = loader.load({"agent.js": source})
    for method in ("jobs", "pending", "chain"):
        with pytest.raises(dynisolate.MemoryLimitError):
            worker.get_entrypoint().call(method)
    _still_serves(healthy, loader)


PROMISES = """
const made = (kept) => kept.length;
export default {
  pending() {
    const kept = [];
    try { for (;;) kept.push(new Promise(() => {})); }
    catch (e) { return [e.name, e.message, made(kept)]; }
  },
  jobs() { for (;;) Promise.resolve().then(() => {}); },
  settled() {
    const kept = [];
    for (let i = 0; i < 300_000; i++) kept.push(Promise.resolve(i));
    return kept.length;
  },
  unreachable() {
    // Pending promises in cycles nothing else reaches: only a garbage collection frees them.
    for (let i = 0; i < 300_000; i++) {
      const holder = {};
      holder.promise = new Promise((resolve) => { holder.resolve = resolve; });
      holder.promise.holder = holder;
    }
    return "made";
  },
};
"""


def test_pending_promises_are_capped_with_a_range_error() -> None:
    with dynisolate.Loader(max_isolates=2, max_memory_bytes=256 << 20, cache_dir=None) as big:
        worker = big.load({"agent.js": PROMISES}, limits=dynisolate.Limits(memory_bytes=256 << 20))
        name, message, kept = worker.get_entrypoint().pending()
        assert name == "RangeError"
        assert message == "Too many pending promises: an isolate may hold 100000 at once."
        assert 99_000 < kept <= 100_000  # any promise of the glue's pending counts too
        with pytest.raises(dynisolate.GuestError) as info:
            worker.get_entrypoint().jobs()  # each `then` makes a promise, pending until its job runs
        assert info.value.name == "RangeError"
        # Settled promises, and pending ones nothing reaches any more, do not count.
        assert worker.get_entrypoint().settled() == 300_000
        assert worker.get_entrypoint().unreachable() == "made"
        assert worker.get_entrypoint().pending()[2] > 99_000  # each call starts from its own count


SCHEDULER = """
export default {
  async wait(ms) { const before = Date.now(); await scheduler.wait(ms); return Date.now() - before; },
  async aborted() {
    const controller = new AbortController();
    const waited = scheduler.wait(60_000, { signal: controller.signal });
    setTimeout(() => controller.abort(new RangeError("enough")), 10);
    try { await waited; return "waited"; } catch (e) { return [e.name, e.message]; }
  },
  async abortedBefore() {
    try { await scheduler.wait(10, { signal: AbortSignal.abort() }); return "waited"; }
    catch (e) { return e.name; }
  },
  async badOptions() {
    const names = [];
    for (const options of [5, { signal: {} }]) {
      try { await scheduler.wait(1, options); names.push("waited"); } catch (e) { names.push(e.name); }
    }
    return names;
  },
  async longLivedSignal(n) {
    const controller = new AbortController();
    for (let i = 0; i < n; i++) await scheduler.wait(0, { signal: controller.signal });
    controller.abort();
    return "done";
  },
  counted() {
    for (let i = 0; i < 10_000; i++) setTimeout(() => {}, 60_000);
    return scheduler.wait(1);
  },
};
"""


def test_scheduler_wait_is_a_timer_that_is_not_cpu_time(loader: dynisolate.Loader) -> None:
    worker = loader.load({"agent.js": SCHEDULER}, limits=dynisolate.Limits(cpu_ms=50))
    entry = worker.get_entrypoint()
    assert 200 <= entry.wait(200) < 2_000  # the guest's clock moved on by the wait


def test_scheduler_wait_is_rejected_by_its_signal(
    loader: dynisolate.Loader, healthy: dynisolate.Worker
) -> None:
    entry = loader.load({"agent.js": SCHEDULER}).get_entrypoint()
    assert entry.aborted() == ["RangeError", "enough"]  # the 60 s timer was cleared: the call ends
    assert entry.abortedBefore() == "AbortError"
    assert entry.longLivedSignal(200) == "done"  # aborting after the waits ended rejects nothing
    assert entry.badOptions() == ["TypeError", "TypeError"]
    with pytest.raises(dynisolate.GuestError) as info:
        entry.counted()  # a wait is a live timer, held to the same cap
    assert info.value.name == "QuotaExceededError"
    _still_serves(healthy, loader)


def test_performance_is_an_event_target_with_workers_time_origin(loader: dynisolate.Loader) -> None:
    source = """export default { perf() {
      let heard = 0;
      performance.addEventListener("tick", () => heard++, { once: true });
      performance.dispatchEvent(new Event("tick"));
      performance.dispatchEvent(new Event("tick"));
      let constructed;
      try { new Performance(); constructed = "constructed"; } catch (e) { constructed = e.name; }
      return [heard, performance instanceof EventTarget, Object.prototype.toString.call(performance),
              JSON.stringify(performance), constructed];
    } };"""
    worker = loader.load({"agent.js": source})
    assert worker.get_entrypoint().perf() == [
        1,
        True,
        "[object Performance]",
        '{"timeOrigin":0}',
        "TypeError",
    ]
