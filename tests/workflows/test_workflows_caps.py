"""What one instance or one run may hold at once, and steps that cannot make progress: buffered
events (by count and bytes), timers, pending step calls, steps that can never settle, and waits
nested in a step's callback. Each limit is hit here, and the pool serves the next run."""

from __future__ import annotations

import sqlite3
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from test_workflows_engine_js import HEADER, Probe, probed_engine, run, until_status

import dynisolate
from dynisolate.exceptions import EventBufferFullError, PayloadTooLargeError
from dynisolate.workflows import Engine, Step, StepError, WorkflowEvent, engine_instance_id


@pytest.fixture
def probe() -> Probe:
    return Probe()


@pytest.fixture
def engine(db: str, loader: dynisolate.Loader, probe: Probe) -> Iterator[Engine]:
    with probed_engine(db, loader, probe, max_pending_steps=8) as engine:
        yield engine


WAITER = {
    "wf.js": HEADER
    + """export class Flow extends WorkflowEntrypoint { async run(event, step) {
        const first = await step.waitForEvent("first", { type: "go" });
        await step.waitForEvent("hold", { type: "never", timeout: "1 hour" });
        return first.payload;
    } }"""
}


def unconsumed(engine: Engine, id: str) -> list[str | bytes]:
    return [event.payload for event in engine._store.events(id) if event.consumed_by is None]


def test_the_caps_default_as_documented_and_refuse_nonsense(db: str) -> None:
    with Engine(db) as engine:
        caps = (engine.max_pending_steps, engine.max_buffered_events, engine.max_buffered_event_bytes)
    assert caps == (1_000, 1_000, 10 << 20)
    for bad in (0, -1, 1.5, True, None):
        with pytest.raises(dynisolate.ConfigError, match="max_buffered_events must be a positive int"):
            Engine(db, max_buffered_events=bad)  # type: ignore[arg-type]


# ---- buffered events ----


def test_buffered_events_are_capped_by_count_and_a_taken_event_makes_room(
    db: str, loader: dynisolate.Loader
) -> None:
    with Engine(db, loader=loader, poll_s=0.01, max_buffered_events=3) as engine:
        instance = engine.create(tenant="t", code=WAITER, entrypoint="Flow")
        until_status(instance, "waiting")
        for n in range(3):
            instance.send_event("early", n)
        with pytest.raises(EventBufferFullError, match="holds 3 unconsumed events") as refused:
            instance.send_event("early", 3)
        error = refused.value
        assert (error.id, error.buffered_events, error.max_events) == (instance.id, 3, 3)
        assert len(unconsumed(engine, instance.id)) == 3
        # A batch that would pass the cap is refused whole, even for its events that would fit.
        other = engine.create(tenant="t", code=WAITER, entrypoint="Flow")
        with pytest.raises(EventBufferFullError):
            engine.send_events([(other.id, "go", "ok"), (instance.id, "go", "too many")])
        assert unconsumed(engine, other.id) == []
        # An event a wait takes no longer counts: its instance has room for one more.
        fresh = engine.create(tenant="t", code=WAITER, entrypoint="Flow")
        for n in range(3):
            fresh.send_event("go", n)
        until_status(fresh, "waiting")
        deadline = time.monotonic() + 10
        while len(unconsumed(engine, fresh.id)) != 2:  # the run took one: room for one more
            assert time.monotonic() < deadline
            time.sleep(0.01)
        fresh.send_event("go", 3)
        with pytest.raises(EventBufferFullError):
            fresh.send_event("go", 4)


def test_a_store_from_before_the_caps_counts_the_events_it_already_holds(
    tmp_path: Path, loader: dynisolate.Loader
) -> None:
    db = str(tmp_path / "old.db")
    with Engine(db, loader=loader) as engine:
        id = engine.create(tenant="t", code=WAITER, entrypoint="Flow").id
        engine.send_events([(id, "early", "x" * 100), (id, "early", "é" * 50)])
    with sqlite3.connect(db) as conn:  # the file as the version without event sizes left it
        conn.execute("DROP INDEX events_buffered")
        conn.execute("ALTER TABLE events DROP COLUMN size")
        conn.execute("PRAGMA user_version = 0")  # that version wrote no schema version
        conn.execute("PRAGMA application_id = 0")
    with Engine(db, loader=loader, max_buffered_events=3) as engine:
        engine.send_events([(id, "early", 1)])
        with pytest.raises(EventBufferFullError) as refused:
            engine.send_events([(id, "early", 2)])
    # JSON text of each payload: 102 bytes, 102 bytes of UTF-8 (52 characters), and 1 byte.
    assert (refused.value.buffered_events, refused.value.buffered_bytes) == (3, 205)


def test_buffered_events_are_capped_by_bytes(db: str, loader: dynisolate.Loader) -> None:
    with Engine(db, loader=loader, poll_s=0.01, max_buffered_event_bytes=1000) as engine:
        instance = engine.create(tenant="t", code=WAITER, entrypoint="Flow")
        instance.send_event("early", "x" * 600)
        with pytest.raises(EventBufferFullError, match="1000 bytes") as refused:
            instance.send_event("early", "é" * 200)  # 400 bytes of UTF-8, 200 characters
        assert refused.value.max_bytes == 1000 and refused.value.buffered_bytes >= 600
        instance.send_event("early", "y" * 300)  # still fits
        assert len(unconsumed(engine, instance.id)) == 2


def test_an_event_over_the_payload_limit_is_refused_as_before(db: str, loader: dynisolate.Loader) -> None:
    with Engine(db, loader=loader, poll_s=0.01, max_payload_bytes=1000) as engine:
        instance = engine.create(tenant="t", code=WAITER, entrypoint="Flow")
        with pytest.raises(PayloadTooLargeError):
            instance.send_event("early", "x" * 2000)
        assert unconsumed(engine, instance.id) == []


def test_concurrent_senders_cannot_both_slip_past_the_cap(db: str, loader: dynisolate.Loader) -> None:
    # Two engines on one database (two writer connections, as two processes have), threads on each.
    engines = [Engine(db, loader=loader, max_buffered_events=25, synchronous="normal") for _ in range(2)]
    instance = engines[0].create(tenant="t", code=WAITER, entrypoint="Flow")
    accepted, refused = [], []
    start = threading.Barrier(8)

    def send(engine: Engine) -> None:
        start.wait()
        for n in range(10):
            try:
                engine.send_events([(instance.id, "early", n)])
                accepted.append(n)
            except EventBufferFullError:
                refused.append(n)

    threads = [threading.Thread(target=send, args=(engines[i % 2],)) for i in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert (len(accepted), len(refused)) == (25, 55)
    assert len(unconsumed(engines[1], instance.id)) == 25
    for engine in engines:
        engine.close()


def test_the_binding_sees_a_full_buffer_as_an_error(db: str, loader: dynisolate.Loader) -> None:
    with Engine(db, loader=loader, poll_s=0.01, max_buffered_events=2) as engine:
        binding = dynisolate.workflows.WorkflowBinding(engine, tenant="t", entrypoint="Flow", code=WAITER)
        flood = """export default { async flood(env) {
            const instance = await env.FLOW.create({ id: "flooded" });
            const sent = [];
            try {
              for (let i = 0; i < 5; i++) {
                await instance.sendEvent({ type: "x", payload: i });
                sent.push(i);
              }
            } catch (e) { return [sent, e.message]; }
        } }"""
        tenant = loader.load({"main.js": flood}, env={"FLOW": binding}).get_entrypoint()
        sent, message = tenant.flood()
        assert sent == [0, 1] and "holds 2 unconsumed events" in message
        assert "'flooded'" in message and engine_instance_id(binding, "flooded") not in message


# ---- timers and pending step calls ----


def test_the_timer_cap_holds_in_a_workflow_run(engine: Engine) -> None:
    status = run(
        engine,
        """
        const inStep = await step.do("timers", { retries: { limit: 0 } }, async () => {
          try { for (let i = 0; i < 10001; i++) setTimeout(() => {}, 3600000); }
          catch (e) { return e.name; }
        });
        let inRun;
        try { for (let i = 0; i < 10001; i++) setTimeout(() => {}, 3600000); } catch (e) { inRun = e.name; }
        return [inStep, inRun];
        """,
    )
    assert status.output == ["QuotaExceededError", "QuotaExceededError"]


def test_the_host_call_cap_holds_in_a_workflow_run(db: str, loader: dynisolate.Loader, probe: Probe) -> None:
    # Env calls are answered before the guest goes on (one in flight at a time); a run's count of
    # them is capped by its Limits (plus two per step max_steps allows: 50 + 20 + 1), and a step
    # that passes the cap fails that attempt.
    with probed_engine(
        db, loader, probe, limits=dynisolate.Limits(max_host_calls=50), max_steps=10
    ) as engine:
        status = run(
            engine,
            """
            try {
              await step.do("chatty", { retries: { limit: 1, delay: 0 } }, async () => {
                for (let i = 0; i < 100; i++) await this.env.PROBE.hit("chatty");
              });
            } catch (e) { return e.name; }
            """,
        )
    assert status.output == "HostCallLimitError"
    assert status.steps[0].attempts == 2 and probe.hits["chatty"] < 2 * 100  # each attempt cut short


def test_too_many_pending_waits_error_the_instance(engine: Engine) -> None:
    status = run(
        engine,
        'await Promise.all(Array.from({ length: 9 }, (_, i) => step.sleep("nap" + i, "1 hour")));',
    )
    assert status.status == "errored"
    assert status.error["name"] == "PendingStepLimitError"
    assert "8 step calls" in status.error["message"]


def test_too_many_running_steps_error_the_instance(engine: Engine, probe: Probe) -> None:
    status = run(
        engine,
        """
        const slow = (i) => step.do("s" + i, async () => new Promise((r) => setTimeout(() => r(i), 50)));
        await Promise.all(Array.from({ length: 9 }, (_, i) => slow(i)));
        """,
    )
    assert (status.status, status.error["name"]) == ("errored", "PendingStepLimitError")


def test_pending_steps_up_to_the_cap_run(engine: Engine) -> None:
    status = run(
        engine,
        """
        const steps = Array.from({ length: 4 }, (_, i) =>
          step.do("s" + i, async () => new Promise((r) => setTimeout(() => r(i), 20))));
        const naps = Array.from({ length: 4 }, (_, i) => step.sleep("nap" + i, 10));
        return (await Promise.all([...steps, ...naps])).slice(0, 4);
        """,
    )
    assert status.output == [0, 1, 2, 3]


# ---- steps that cannot make progress ----


def test_a_step_that_never_settles_fails_at_once_and_retries(engine: Engine, probe: Probe) -> None:
    started = time.monotonic()
    status = run(
        engine,
        """
        try {
          await step.do("stuck", { retries: { limit: 2, delay: 0 }, timeout: "1 hour" }, async () => {
            await this.env.PROBE.hit("stuck");
            return new Promise(() => {});
          });
        } catch (e) { return [e.name, e.message]; }
        """,
    )
    assert time.monotonic() - started < 10  # not the attempt's hour, nor the run's 15 minutes
    assert status.output[0] == "StepStalledError"
    assert "'stuck#1'" in status.output[1] and "can never settle" in status.output[1]
    assert probe.hits["stuck"] == 3 and status.steps[0].attempts == 3


def test_a_step_awaiting_a_wait_outside_it_is_stalled(engine: Engine) -> None:
    status = run(
        engine,
        """
        const nap = step.sleep("nap", "1 hour");
        await step.do("x", { retries: { limit: 0 } }, async () => { await nap; });
        """,
    )
    assert (status.status, status.error["name"]) == ("errored", "StepStalledError")


def test_a_step_waiting_on_a_timer_of_the_run_is_not_stalled(engine: Engine) -> None:
    status = run(
        engine,
        """
        let open;
        const gate = new Promise((resolve) => { open = resolve; });
        setTimeout(() => open(5), 50);
        const late = step.do("late", async () => { await new Promise((r) => setTimeout(r, 30)); return 1; });
        const first = await step.do("gate", async () => gate);
        const second = await step.do("after late", async () => (await late) + 1);
        return [first, second];
        """,
    )
    assert status.output == [5, 2]


def test_stalled_attempts_fail_one_at_a_time_so_a_step_awaiting_another_moves_on(engine: Engine) -> None:
    status = run(
        engine,
        """
        let first = true;
        const a = step.do("a", { retries: { limit: 1, delay: 0 } }, async () => {
          if (first) { first = false; return new Promise(() => {}); }
          return 1;
        });
        return await step.do("b", { retries: { limit: 0 } }, async () => (await a) + 1);
        """,
    )
    assert status.output == 2
    assert [(s.name, s.state, s.attempts) for s in status.steps] == [
        ("a", "complete", 2),
        ("b", "complete", 1),
    ]


def test_a_step_waiting_for_a_retrying_step_is_stalled(engine: Engine) -> None:
    status = run(
        engine,
        """
        const flaky = step.do("flaky", { retries: { limit: 1, delay: "1 hour" } }, async () => {
          throw new Error("later");
        });
        flaky.catch(() => {});
        await step.do("follower", { retries: { limit: 0 } }, async () => flaky);
        """,
    )
    assert (status.status, status.error["name"]) == ("errored", "StepStalledError")


@pytest.mark.parametrize(
    "nested",
    [
        'step.sleep("inner", 10)',
        'step.sleepUntil("inner", Date.now() + 10)',
        'step.waitForEvent("inner", { type: "go" })',
    ],
)
def test_a_wait_inside_a_step_is_refused_at_once(engine: Engine, probe: Probe, nested: str) -> None:
    started = time.monotonic()
    status = run(
        engine,
        f"""
        try {{
          await step.do("outer", {{ retries: {{ limit: 3, delay: 0 }}, timeout: "1 hour" }}, async () => {{
            await this.env.PROBE.hit("outer");
            await new Promise((r) => setTimeout(r, 1));  // the step's context follows timers and awaits
            await {nested};
          }});
        }} catch (e) {{ return [e.name, e.message]; }}
        """,
    )
    assert time.monotonic() - started < 10
    name, message = status.output
    assert name == "NestedStepError"
    assert "inside the callback of step 'outer#1'" in message
    assert probe.hits["outer"] == 1  # the same code would fail the same way: not retried
    assert [s.name for s in status.steps] == ["outer"]  # the refused wait recorded nothing


def test_a_wait_beside_a_running_step_is_not_nested(engine: Engine) -> None:
    status = run(
        engine,
        """
        const [value] = await Promise.all([
          step.do("work", async () => { await new Promise((r) => setTimeout(r, 20)); return "w"; }),
          step.sleep("beside", 10),
        ]);
        return value;
        """,
    )
    assert status.output == "w"


def test_async_local_storage_in_a_step_sees_only_its_own_stores(engine: Engine) -> None:
    code = {
        "wf.js": HEADER
        + """import { AsyncLocalStorage } from "node:async_hooks";
        const als = new AsyncLocalStorage();
        export class Flow extends WorkflowEntrypoint { async run(event, step) {
            return await als.run("tenant", () => step.do("read", async () => {
                await new Promise((r) => setTimeout(r, 1));
                const inner = als.run("inner", () => als.getStore());
                return [als.getStore(), inner, als.exit(() => als.getStore()) ?? null];
            }));
        } }"""
    }
    instance = engine.create(tenant="t", code=code, entrypoint="Flow")
    assert instance.wait(timeout=20).output == ["tenant", "inner", None]


def test_the_pool_serves_the_next_run_after_each_refusal(engine: Engine, loader: dynisolate.Loader) -> None:
    for body in (
        'await step.do("stuck", { retries: { limit: 0 } }, () => new Promise(() => {}));',
        'await step.do("outer", async () => { await step.sleep("inner", 10); });',
        'await Promise.all(Array.from({ length: 9 }, (_, i) => step.sleep("n" + i, "1 hour")));',
    ):
        assert run(engine, body).status == "errored"
    assert run(engine, 'return await step.do("fine", async () => "ok");').output == "ok"
    assert loader.stats()["live_isolates"] <= loader.stats()["max_isolates"]


# ---- Python workflows ----


def nesting(event: WorkflowEvent, step: Step) -> list[str]:
    def outer() -> None:
        step.sleep("inner", 10)

    try:
        step.do("outer", outer, retries={"limit": 2, "delay": 0})
    except StepError as e:
        return [e.name, e.message]
    return []


def test_a_python_wait_inside_a_step_is_refused(db: str, loader: dynisolate.Loader) -> None:
    with Engine(db, loader=loader, workflows={"nesting": nesting}, poll_s=0.01) as engine:
        status = engine.create(tenant="t", entrypoint="nesting").wait(timeout=20)
    assert status.output[0] == "NestedStepError"
    assert "inside the callback of step 'outer#1'" in status.output[1]
    assert [s.name for s in status.steps] == ["outer"] and status.steps[0].attempts == 1


def test_steps_do_not_count_against_the_runs_host_calls(engine: Engine) -> None:
    # Each step.do is two host calls (begin, done): 6,000 steps are 12,000, past the default
    # max_host_calls of 10,000, which is for the tenant's own env calls.
    status = run(
        engine,
        "let n = 0; for (let i = 0; i < 6000; i++) n += await step.do(`s${i}`, async () => 1); return n",
    )
    assert (status.status, status.output) == ("complete", 6000), status.error


def test_a_runs_host_calls_are_max_host_calls_plus_two_per_allowed_step(
    db: str, loader: dynisolate.Loader, probe: Probe
) -> None:
    limits = dynisolate.Limits(max_host_calls=5)
    with probed_engine(db, loader, probe, limits=limits, max_steps=2) as engine:
        within = run(engine, "for (let i = 0; i < 8; i++) await this.env.PROBE.hit('x'); return 1")
        beyond = run(engine, "for (let i = 0; i < 12; i++) await this.env.PROBE.hit('y'); return 1")
    assert within.status == "complete", within.error  # 8 env calls and `done`: within 5 + 2 * 2 + 1
    assert beyond.status == "errored" and "HostCallLimitError" in str(beyond.error), beyond.error
    assert probe.hits["y"] == 10
