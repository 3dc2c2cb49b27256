"""JavaScript tenant workflows: Cloudflare Workflows' step semantics, replayed from history."""

from __future__ import annotations

import datetime
import time
from collections import Counter
from collections.abc import Iterator
from typing import Any

import pytest

import dynisolate
from conftest import numeric_wasm
from dynisolate.workflows import Engine, InstanceExistsError, InstanceNotFoundError, InstanceStateError

HEADER = """
import { WorkflowEntrypoint } from "cloudflare:workers";
import { NonRetryableError } from "cloudflare:workflows";
"""


class Probe(dynisolate.RpcTarget):
    """Counts step executions outside the isolate, where replays cannot undo them."""

    def __init__(self) -> None:
        self.hits: Counter[str] = Counter()
        self.times: dict[str, list[float]] = {}

    def hit(self, key: str) -> int:
        self.hits[key] += 1
        self.times.setdefault(key, []).append(time.time())
        return self.hits[key]


@pytest.fixture
def probe() -> Probe:
    return Probe()


def probed_engine(db: str, loader: dynisolate.Loader, probe: Probe, **settings: Any) -> Engine:
    """An in-memory engine whose runs have `probe` as env.PROBE."""
    return Engine(
        ":memory:",
        loader=loader,
        env_factory=lambda tenant, metadata: {"PROBE": probe},
        workers=2,
        poll_s=0.01,
        **settings,
    )


@pytest.fixture
def engine(db: str, loader: dynisolate.Loader, probe: Probe) -> Iterator[Engine]:
    with probed_engine(db, loader, probe) as engine:
        yield engine


def until_status(instance: dynisolate.workflows.Instance, status: str, timeout: float = 30) -> None:
    """Waits until `instance` reaches `status` (a wait or a pause, which `wait()` does not see)."""
    deadline = time.monotonic() + timeout
    while instance.status().status != status:
        now = instance.status()
        assert time.monotonic() < deadline, f"still {now.status} ({now.error}, {now.steps}), not {status}"
        time.sleep(0.005)


def run(engine: Engine, body: str, params: Any = None, **kwargs: Any) -> dynisolate.workflows.InstanceStatus:
    code = {
        "wf.js": HEADER
        + f"export class Flow extends WorkflowEntrypoint {{ async run(event, step) {{ {body} }} }}"
    }
    instance = engine.create(tenant="t", code=code, entrypoint="Flow", params=params, **kwargs)
    return instance.wait(timeout=20)


def test_steps_run_once_and_replay_after_a_sleep(engine: Engine, probe: Probe) -> None:
    status = run(
        engine,
        """
        const a = await step.do("a", async () => (await this.env.PROBE.hit("a"), event.payload.n + 1));
        await step.sleep("nap", 30);
        const b = await step.do("b", async () => (await this.env.PROBE.hit("b"), a * 10));
        const stamp = event.timestamp instanceof Date;
        return { a, b, id: event.instanceId, name: event.workflowName, stamp };
        """,
        params={"n": 1},
        id="replayed",
    )
    assert status.status == "complete"
    assert status.output == {"a": 2, "b": 20, "id": "replayed", "name": "Flow", "stamp": True}
    assert probe.hits == {"a": 1, "b": 1}  # "a" replayed from history after the sleep
    assert [(s.name, s.kind, s.state) for s in status.steps] == [
        ("a", "do", "complete"),
        ("nap", "sleep", "complete"),
        ("b", "do", "complete"),
    ]
    nap = status.steps[1]
    assert nap.ended_at is not None and nap.ended_at - nap.started_at >= 0.03


def test_retries_count_attempts_and_back_off(engine: Engine, probe: Probe) -> None:
    status = run(
        engine,
        """
        const config = { retries: { limit: 3, delay: 20, backoff: "exponential" } };
        return await step.do("flaky", config, async (ctx) => {
          const n = await this.env.PROBE.hit("flaky");
          if (n < 4) throw new Error("try " + n);
          return { attempt: ctx.attempt, count: ctx.step.count };
        });
        """,
    )
    assert status.output == {"attempt": 4, "count": 1}
    assert status.steps[0].attempts == 4
    times = probe.times["flaky"]
    gaps = [b - a for a, b in zip(times, times[1:], strict=False)]
    assert [round(g, 2) >= d for g, d in zip(gaps, (0.02, 0.04, 0.08), strict=True)] == [True] * 3


def test_exhausted_retries_fail_the_step_and_the_error_replays(engine: Engine, probe: Probe) -> None:
    status = run(
        engine,
        """
        let caught;
        try {
          await step.do("doomed", { retries: { limit: 1, delay: 0 } }, async () => {
            await this.env.PROBE.hit("doomed");
            throw new TypeError("no luck");
          });
        } catch (e) { caught = e.name + ": " + e.message; }
        await step.sleep("nap", 10);  // the replay after the sleep meets the recorded error again
        return caught;
        """,
    )
    assert status.output == "TypeError: no luck"
    assert probe.hits["doomed"] == 2  # limit + 1 attempts, none on replay
    assert status.steps[0].state == "errored" and status.steps[0].error == {
        "name": "TypeError",
        "message": "no luck",
    }


def test_non_retryable_error_stops_retries_and_errors_the_instance(engine: Engine, probe: Probe) -> None:
    status = run(
        engine,
        """
        await step.do("charge", async () => {
          await this.env.PROBE.hit("charge");
          throw new NonRetryableError("card declined");
        });
        """,
    )
    assert status.status == "errored"
    assert status.error == {"name": "NonRetryableError", "message": "card declined"}
    assert probe.hits["charge"] == 1


def test_attempt_timeout(engine: Engine) -> None:
    status = run(
        engine,
        """
        try {
          // A timer that could still fire: only the timeout ends the attempt (a promise that
          // nothing could settle fails sooner, as stalled: test_workflows_caps.py).
          const slow = () => new Promise((r) => setTimeout(r, 60000));
          await step.do("slow", { retries: { limit: 0 }, timeout: 20 }, slow);
        } catch (e) { return e.name + ": " + e.message; }
        """,
    )
    assert status.output == "WorkflowTimeoutError: Execution timed out after 20ms"


def test_suspension_cannot_be_caught(engine: Engine, probe: Probe) -> None:
    status = run(
        engine,
        """
        try {
          await step.sleep("nap", 20);
        } catch (e) {
          return "caught " + e;
        } finally {
          await this.env.PROBE.hit("finally");
        }
        return "slept";
        """,
    )
    assert status.output == "slept"
    assert probe.hits["finally"] == 1  # only the run that got past the sleep


def test_events_are_buffered_per_type_in_order(engine: Engine) -> None:
    code = {
        "wf.js": HEADER
        + """export class Flow extends WorkflowEntrypoint { async run(event, step) {
            const first = await step.waitForEvent("one", { type: "vote" });
            const second = await step.waitForEvent("two", { type: "vote" });
            const other = await step.waitForEvent("three", { type: "close", timeout: "1 minute" });
            const stamp = first.timestamp instanceof Date;
            return [first.payload, second.payload, other.payload, first.type, stamp];
        } }"""
    }
    instance = engine.create(tenant="t", code=code, entrypoint="Flow")
    instance.send_event("vote", "yes")
    instance.send_event("close", 3)
    instance.send_event("vote", "no")
    status = instance.wait(timeout=30)
    assert status.output == ["yes", "no", 3, "vote", True]


def test_event_payloads_keep_what_structured_clone_carries_across_replays(engine: Engine) -> None:
    code = {
        "wf.js": HEADER
        + """export class Flow extends WorkflowEntrypoint { async run(event, step) {
            const { payload } = await step.waitForEvent("data", { type: "data" });
            await step.sleep("replay after this", 10);
            return [payload.bytes instanceof Uint8Array && [...payload.bytes], payload.when instanceof Date,
                    payload.tags instanceof Set && [...payload.tags], payload.big === 2n ** 70n,
                    payload.none === undefined && "none" in payload, payload];
        } }"""
    }
    instance = engine.create(tenant="t", code=code, entrypoint="Flow")
    when = datetime.datetime(2026, 12, 7, tzinfo=datetime.UTC)
    payload = {"bytes": b"\x01\x02", "when": when, "tags": {"a"}, "big": 2**70, "none": dynisolate.undefined}
    instance.send_event("data", payload)
    status = instance.wait(timeout=30)
    assert status.output[:5] == [[1, 2], True, ["a"], True, True]
    assert status.output[5] == payload
    with pytest.raises(dynisolate.SerializationError, match="the event payload"):
        instance.send_event("data", object())


def test_wait_for_event_times_out_catchably_and_replays(engine: Engine) -> None:
    status = run(
        engine,
        """
        let outcome;
        try {
          await step.waitForEvent("approval", { type: "approve", timeout: 30 });
          outcome = "approved";
        } catch (e) { outcome = e.name; }
        await step.sleep("after", 10);
        return outcome;
        """,
    )
    assert status.output == "WorkflowTimeoutError"
    assert status.steps[0].state == "errored"


def test_waiting_instance_wakes_on_its_event(engine: Engine) -> None:
    instance = engine.create(
        tenant="t",
        code={"wf.js": HEADER + "export class Flow extends WorkflowEntrypoint { async run(e, step) {"
              " return (await step.waitForEvent('w', { type: 'go' })).payload; } }"},
        entrypoint="Flow",
    )  # fmt: skip
    until_status(instance, "waiting")
    sent = time.monotonic()
    instance.send_event("go", {"ok": True})
    assert instance.wait(timeout=30).output == {"ok": True}
    assert time.monotonic() - sent < 1.0


def test_sleep_until_in_the_past_is_an_error(engine: Engine) -> None:
    status = run(engine, 'await step.sleepUntil("then", new Date(Date.now() - 1000)); return 1;')
    assert status.status == "errored"
    assert "time-traveler" in status.error["message"]


@pytest.mark.parametrize("when", ["new Date(NaN)", "NaN", "Infinity", "-Infinity", "8.64e15 + 1"])
def test_sleep_until_an_invalid_time_is_an_error(engine: Engine, when: str) -> None:
    # Not a wake time stored as NaN or infinity, on which the instance would never wake.
    status = run(engine, f'await step.sleepUntil("then", {when}); return 1;')
    assert status.status == "errored", status
    assert "sleepUntil takes a valid Date" in status.error["message"] or "365 days" in status.error["message"]


def test_errors_whose_text_holds_nul_are_stored_and_spoil_nobody_elses_commit(
    db: str, loader: dynisolate.Loader
) -> None:
    # PostgreSQL's text cannot hold NUL, which tenant code can put in an error's name or message:
    # stored as it came, the group commit holding it failed, and with it every run in the group.
    nul = '"a\\u0000b"'
    bodies = [
        f"await step.do('x', {{ retries: {{ limit: 0, delay: 1 }} }}, async () => {{\n"
        f"    throw new Error({nul});\n"
        "});",
        f"const e = new Error({nul}); e.name = {nul}; throw e;",
        "return await step.do('fine', async () => 1);",
    ]
    classes = "".join(
        f"export class Flow{n} extends WorkflowEntrypoint {{ async run(event, step) {{ {body} }} }}\n"
        for n, body in enumerate(bodies)
    )
    with Engine(db, loader=loader, poll_s=0.01) as engine:
        code = {"wf.js": HEADER + classes}
        instances = [engine.create(tenant="t", code=code, entrypoint=f"Flow{n}") for n in range(3)]
        statuses = [i.wait(timeout=20) for i in instances]
    assert [s.status for s in statuses] == ["errored", "errored", "complete"]
    replaced = "\x00" if db.endswith(".db") else "\ufffd"  # SQLite keeps it, PostgreSQL cannot
    assert statuses[0].error == {"name": "Error", "message": f"a{replaced}b"}
    assert statuses[1].error == {"name": f"a{replaced}b", "message": f"a{replaced}b"}
    assert statuses[0].steps[0].error == {"name": "Error", "message": f"a{replaced}b"}


def test_bad_step_config_is_refused(engine: Engine) -> None:
    status = run(engine, 'return await step.do("x", { retry: 3 }, async () => 1);')
    assert status.status == "errored"
    assert "takes only 'retries', 'timeout' and 'sensitive'" in status.error["message"]


def test_divergence_from_history_is_a_non_determinism_error(loader: dynisolate.Loader) -> None:
    variant = ["charge"]
    with Engine(
        ":memory:", loader=loader, env_factory=lambda t, m: {"STEP": variant[0]}, poll_s=0.01
    ) as engine:
        code = {
            "wf.js": HEADER
            + """export class Flow extends WorkflowEntrypoint { async run(event, step) {
                await step.do(this.env.STEP, async () => 1);
                await step.waitForEvent("go", { type: "go" });
                return "done";
            } }"""
        }
        instance = engine.create(tenant="t", code=code, entrypoint="Flow")
        until_status(instance, "waiting")
        variant[0] = "bill"  # the replay now calls a step history does not have
        instance.send_event("go")
        status = instance.wait(timeout=30)
    assert status.status == "errored"
    assert status.error["name"] == "NonDeterminismError"
    assert "'charge#1'" in status.error["message"] and "'bill#1'" in status.error["message"]


def test_parallel_steps_replay_in_any_order(engine: Engine, probe: Probe) -> None:
    status = run(
        engine,
        """
        const slow = step.do("slow", async () => { await new Promise((r) => setTimeout(r, 30)); return "s"; })
          .then((s) => step.do("after-slow", async () => (this.env.PROBE.hit("after-slow"), s + "!")));
        const fast = step.do("fast", async () => "f")
          .then((f) => step.do("after-fast", async () => (this.env.PROBE.hit("after-fast"), f + "!")));
        const both = await Promise.all([slow, fast]);
        await step.sleep("nap", 10);
        return both;
        """,
    )
    assert status.output == ["s!", "f!"]
    assert probe.hits == {"after-slow": 1, "after-fast": 1}


def test_step_limit(db: str, loader: dynisolate.Loader) -> None:
    with Engine(db, loader=loader, max_steps=3, poll_s=0.01) as engine:
        status = run(
            engine,
            """
            try { for (let i = 0; i < 5; i++) await step.do("s", async () => i); }
            catch (e) { return "caught"; }
            """,
        )
    assert status.status == "errored"
    assert status.error["name"] == "StepLimitError"


def test_payload_limits(db: str, loader: dynisolate.Loader) -> None:
    with Engine(db, loader=loader, max_payload_bytes=1000, poll_s=0.01) as engine:
        with pytest.raises(dynisolate.PayloadTooLargeError):
            run(engine, "return 1;", params="x" * 2000)
        status = run(
            engine,
            """
            try { await step.do("big", async () => "y".repeat(5000)); }
            catch (e) { return e.name; }
            """,
        )
        assert status.output == "PayloadTooLargeError"
        instance = engine.create(
            tenant="t",
            code={"wf.js": HEADER + "export class Flow extends WorkflowEntrypoint { async run(e, step) {"
                  " await step.waitForEvent('w', { type: 'x' }); } }"},
            entrypoint="Flow",
        )  # fmt: skip
        with pytest.raises(dynisolate.PayloadTooLargeError):
            instance.send_event("x", "z" * 2000)
        instance.terminate()


def test_uncaught_error_errors_the_instance(engine: Engine) -> None:
    status = run(engine, 'await step.do("ok", async () => 1); throw new RangeError("bad input");')
    assert status.status == "errored"
    assert status.error == {"name": "RangeError", "message": "bad input"}


def test_instances_are_pinned_to_their_code(engine: Engine) -> None:
    source = HEADER + "export class Flow extends WorkflowEntrypoint { async run() { return @V@; } }"
    first = engine.create(tenant="t", code={"wf.js": source.replace("@V@", "1")}, entrypoint="Flow")
    second = engine.create(tenant="t", code={"wf.js": source.replace("@V@", "2")}, entrypoint="Flow")
    assert (first.wait(10).output, second.wait(10).output) == (1, 2)
    bundle = engine.put_bundle({"wf.js": source.replace("@V@", "3")})
    assert engine.create(tenant="t", code=bundle, entrypoint="Flow").wait(10).output == 3


def test_env_factory_gets_tenant_and_metadata_on_every_run(db: str, loader: dynisolate.Loader) -> None:
    calls: list[tuple[str, Any]] = []

    def env(tenant: str, metadata: Any) -> dict[str, Any]:
        calls.append((tenant, metadata))
        return {"WHO": tenant}

    with Engine(db, loader=loader, env_factory=env, poll_s=0.01) as engine:
        status = run(engine, 'await step.sleep("s", 10); return this.env.WHO;', metadata={"plan": "pro"})
    assert status.output == "t"
    assert calls == [("t", {"plan": "pro"})] * 2  # before and after the sleep


COUNTER = (
    HEADER
    + """let calls = 0;
export class Count extends WorkflowEntrypoint { async run(event, step) {
    calls += 1;
    await step.sleep("nap", 10);
    calls += 1;
    return calls;
} }"""
)


def test_runs_that_share_a_loaded_worker_still_start_from_fresh_isolates(
    db: str, loader: dynisolate.Loader
) -> None:
    # Without an env factory a tenant's runs of a bundle share one loaded worker. Module state
    # belongs to the isolate: every run (two per instance, either side of the sleep) counts from 0.
    with Engine(db, loader=loader, poll_s=0.01) as engine:
        code = engine.put_bundle({"count.js": COUNTER})
        instances = [engine.create(tenant=t, code=code, entrypoint="Count") for t in ("a", "a", "a", "b")]
        assert [i.wait(timeout=30).output for i in instances] == [2, 2, 2, 2]
        assert sorted(tenant for tenant, _, _ in engine._workers_by_bundle) == ["a", "b"]  # never shared


def test_instance_methods(engine: Engine, probe: Probe) -> None:
    code = {
        "wf.js": HEADER
        + """export class Flow extends WorkflowEntrypoint { async run(event, step) {
            await step.do("a", async () => this.env.PROBE.hit("a"));
            await step.sleep("nap", 150);
            await step.do("b", async () => this.env.PROBE.hit("b"));
            return "done";
        } }"""
    }
    instance = engine.create(tenant="t", code=code, entrypoint="Flow", id="inst-1")
    with pytest.raises(InstanceExistsError):
        engine.create(tenant="t", code=code, entrypoint="Flow", id="inst-1")
    assert engine.get("inst-1") == instance
    until_status(instance, "waiting")
    instance.pause()
    assert instance.status().status == "paused"
    time.sleep(0.25)
    assert instance.status().status == "paused" and probe.hits["b"] == 0  # the wake-up did not run it
    instance.resume()
    assert instance.wait(timeout=30).output == "done"
    assert probe.hits == {"a": 1, "b": 1}

    instance.restart(from_step="b")  # keeps "a" and the sleep, runs "b" again
    assert instance.wait(timeout=30).output == "done"
    assert probe.hits == {"a": 1, "b": 2}
    instance.restart()
    assert instance.wait(timeout=30).output == "done"
    assert probe.hits == {"a": 2, "b": 3}

    with pytest.raises(InstanceStateError):
        instance.terminate()  # complete
    instance.delete()
    with pytest.raises(InstanceNotFoundError):
        engine.get("inst-1")


def test_terminate_stops_a_waiting_instance(engine: Engine) -> None:
    status = engine.create(
        tenant="t",
        code={"wf.js": HEADER + "export class Flow extends WorkflowEntrypoint { async run(e, step) {"
              " await step.sleep('long', '1 hour'); } }"},
        entrypoint="Flow",
    )  # fmt: skip
    until_status(status, "waiting")
    status.terminate()
    assert status.wait(timeout=30).status == "terminated"
    with pytest.raises(InstanceStateError):
        status.send_event("x")


def test_batch_creation_is_all_or_nothing(engine: Engine) -> None:
    code = {
        "wf.js": HEADER
        + "export class Flow extends WorkflowEntrypoint { async run(e) { return e.payload; } }"
    }
    made = engine.create_batch(
        [{"tenant": "t", "code": code, "entrypoint": "Flow", "params": i} for i in range(5)]
    )
    assert sorted(i.wait(10).output for i in made) == [0, 1, 2, 3, 4]
    with pytest.raises(InstanceExistsError):
        engine.create_batch(
            [{"tenant": "t", "code": code, "entrypoint": "Flow", "id": x} for x in ("new-1", made[0].id)]
        )
    with pytest.raises(InstanceNotFoundError):
        engine.get("new-1")


def test_bad_code_is_a_load_error_at_create(engine: Engine) -> None:
    with pytest.raises(dynisolate.LoadError, match="wf.js:1"):
        engine.create(tenant="t", code={"wf.js": "export class {"}, entrypoint="Flow")


def test_events_in_one_batch_are_all_or_nothing(engine: Engine) -> None:
    code = {
        "wf.js": HEADER + "export class Flow extends WorkflowEntrypoint { async run(e, step) {"
        " return (await step.waitForEvent('w', { type: 'go' })).payload; } }"
    }
    instances = engine.create_batch([{"tenant": "t", "code": code, "entrypoint": "Flow"} for _ in range(3)])
    with pytest.raises(InstanceNotFoundError):
        engine.send_events([(instances[0].id, "go", 0), ("missing", "go", 1)])
    assert engine._store.events(instances[0].id) == []
    engine.send_events([(instance.id, "go", n) for n, instance in enumerate(instances)])
    assert [instance.wait(timeout=30).output for instance in instances] == [0, 1, 2]


def test_missing_workflow_class_is_refused_at_create(engine: Engine) -> None:
    code = {"wf.js": HEADER + "export class Flow extends WorkflowEntrypoint { async run() {} }"}
    with pytest.raises(dynisolate.ExportNotFoundError):
        engine.create(tenant="t", code=code, entrypoint="Other")


def test_runaway_runs_error_the_instance_and_the_engine_goes_on(db: str, loader: dynisolate.Loader) -> None:
    # The CPU budget is measured on the wall clock while the guest runs, so a pause of this
    # process can cut a healthy attempt (late in the full suite, with 50 ms, "fine" was seen still
    # running after 20 s, as a step waiting out the default 10 s retry delays would be): a roomier
    # budget, quick retries.
    with Engine(db, loader=loader, limits=dynisolate.Limits(cpu_ms=300), poll_s=0.01) as engine:
        spin = run(engine, 'await step.do("warm", async () => 1); while (true) {}')
        assert (spin.status, spin.error["name"]) == ("errored", "CpuLimitError")
        assert spin.steps[0].state == "complete"  # what was committed stays
        # Large zeroed buffers reach the memory limit long before the CPU limit, even on a busy machine.
        bomb = run(engine, "const a = []; for (;;) a.push(new Uint8Array(16 << 20));")
        assert (bomb.status, bomb.error["name"]) == ("errored", "MemoryLimitError")
        fine = 'return await step.do("fine", { retries: { limit: 5, delay: 10 } }, async () => "ok");'
        assert run(engine, fine).output == "ok"


def test_a_bundle_with_webassembly_is_stored_and_replayed(db: str, loader: dynisolate.Loader) -> None:
    code = {
        "wf.js": HEADER
        + """import lib from "./add.wasm";
        export class Flow extends WorkflowEntrypoint { async run(event, step) {
            const add = new WebAssembly.Instance(lib).exports.add;
            const a = await step.do("a", async () => add(event.payload, 1));
            await step.sleep("nap", 1000); // long enough to be seen waiting, however slow the poll
            return await step.do("b", async () => add(a, 40));
        } }""",
        "add.wasm": numeric_wasm(),
    }
    with Engine(db, loader=loader, poll_s=0.01) as engine:
        instance = engine.create(tenant="t", code=code, entrypoint="Flow", params=1)
        until_status(instance, "waiting")
    with Engine(db, loader=loader, poll_s=0.01) as fresh:  # the bundle comes from the store
        assert fresh.get(instance.id).wait(timeout=30).output == 42


def test_steps_started_alongside_a_wait_run_before_the_instance_suspends(
    engine: Engine, probe: Probe
) -> None:
    code = {
        "wf.js": HEADER
        + """export class Flow extends WorkflowEntrypoint { async run(event, step) {
            const [approval] = await Promise.all([
              step.waitForEvent("approval", { type: "approve" }),
              step.do("send-email", async () => this.env.PROBE.hit("email")),
            ]);
            const first = await Promise.race([
              step.waitForEvent("never", { type: "never" }).then(() => "event"),
              step.sleep("reminder", 50).then(() => "reminder"),
            ]);
            return [approval.payload, first];
        } }"""
    }
    instance = engine.create(tenant="t", code=code, entrypoint="Flow")
    deadline = time.monotonic() + 5
    while probe.hits["email"] == 0:  # sent before the instance waits for its approval
        assert time.monotonic() < deadline
        time.sleep(0.005)
    instance.send_event("approve", "yes")
    assert instance.wait(timeout=30).output == ["yes", "reminder"]
    assert probe.hits["email"] == 1


def test_the_step_limit_counts_every_run(db: str, loader: dynisolate.Loader) -> None:
    with Engine(db, loader=loader, max_steps=3, poll_s=0.01) as engine:
        status = run(
            engine,
            'for (let i = 0; i < 5; i++) { await step.do("s", async () => i); await step.sleep("z", 1); }',
        )
    assert (status.status, status.error["name"]) == ("errored", "StepLimitError")


def test_a_limit_hit_inside_a_step_fails_that_attempt_and_it_retries(loader: dynisolate.Loader) -> None:
    calls = []

    def slow_once() -> str:
        calls.append(time.time())
        if len(calls) == 1:
            time.sleep(0.4)  # past the run's wall-clock budget: this attempt fails
        return "fast"

    with Engine(
        ":memory:",
        loader=loader,
        env_factory=lambda t, m: {"work": slow_once},
        limits=dynisolate.Limits(cpu_ms=150, wall_ms=250),
        poll_s=0.01,
    ) as engine:
        status = run(
            engine,
            'return await step.do("call", { retries: { limit: 2, delay: 0 } }, async () => this.env.work());',
        )
    assert status.output == "fast"
    assert status.steps[0].attempts == 2 and len(calls) == 2


def test_a_failed_commit_cannot_be_caught_by_the_workflow(
    db: str, loader: dynisolate.Loader, probe: Probe
) -> None:
    with Engine(db, loader=loader, env_factory=lambda t, m: {"PROBE": probe}, poll_s=0.01) as engine:
        commit = engine._store.commit_step
        failures = [1]

        def flaky_commit(*args: Any) -> str | None:
            if failures:
                failures.pop()
                raise RuntimeError("database is locked")
            return commit(*args)

        engine._store.commit_step = flaky_commit  # type: ignore[method-assign]
        status = run(
            engine,
            """
            try { await step.do("charge", async () => this.env.PROBE.hit("charge")); }
            catch (e) { return "caught " + e.message; }
            return "charged";
            """,
        )
    assert status.output == "charged"
    assert probe.hits["charge"] == 2  # its first outcome was never recorded, so it ran again


def test_nested_steps_replay(engine: Engine) -> None:
    status = run(
        engine,
        """
        const outer = await step.do("outer", async () => 1 + (await step.do("inner", async () => 1)));
        await step.sleep("nap", 10);
        return outer;
        """,
    )
    assert (status.status, status.output) == ("complete", 2)


def test_cloudflare_config_forms(engine: Engine) -> None:
    status = run(
        engine,
        """
        const forever = { retries: { limit: Infinity, delay: 0 } };
        const a = await step.do("a", forever, async (ctx) => ctx.config.retries.limit);
        const b = await step.do("b", async () => "b", { rollback: async () => {} });
        const c = await step.do("c", { sensitive: "output" }, async () => "c");
        let d;
        try { await step.do("d", { retries: { limit: 1, delay: () => 5 } }, async () => 1); }
        catch (e) { d = e.message; }
        let mutated;
        await step.do("e", async (ctx) => {
          try { ctx.config.retries.limit = 99; } catch (e) { mutated = e.name; }
        });
        const f = await step.do("f", async (ctx) => ctx.config.retries.limit);
        return [a, b, c, d.includes("delay function"), mutated, f];
        """,
    )
    assert status.output == [10_000, "b", "c", True, "TypeError", 5]


def test_unserialisable_step_results_fail_the_step_without_retries(engine: Engine, probe: Probe) -> None:
    status = run(
        engine,
        """
        try {
          await step.do("bad", { retries: { limit: 3, delay: 0 } }, async () => {
            await this.env.PROBE.hit("bad");
            return { callback() {} };
          });
        } catch (e) { return e.name; }
        """,
    )
    assert status.output == "SerializationError"
    assert probe.hits["bad"] == 1


def test_step_results_and_the_output_keep_what_structured_clone_carries(engine: Engine, probe: Probe) -> None:
    status = run(
        engine,
        """
        const made = await step.do("make", async () => {
          await this.env.PROBE.hit("make");
          const shared = { n: 1 };
          return { bytes: new Uint8Array([0, 255]), when: new Date(0), map: new Map([[1, "one"]]),
                   set: new Set(["a"]), big: 2n ** 70n, nothing: undefined, twice: [shared, shared] };
        });
        await step.sleep("nap", 20);  // the next run replays "make" from the store
        const again = await step.do("check", async () => [
          made.bytes instanceof Uint8Array, made.when instanceof Date, made.map.get(1), made.set.has("a"),
          typeof made.big, "nothing" in made && made.nothing === undefined, made.twice[0] === made.twice[1],
        ]);
        return { again, bytes: made.bytes, big: made.big };
        """,
    )
    assert status.status == "complete", status.error
    assert status.output == {
        "again": [True, True, "one", True, "bigint", True, True],
        "bytes": b"\x00\xff",
        "big": 2**70,
    }
    assert probe.hits["make"] == 1


def test_typescript_workflows(engine: Engine) -> None:
    code = {
        "flow.ts": """
        import { WorkflowEntrypoint } from "cloudflare:workers";
        import type { WorkflowEvent, WorkflowStep } from "cloudflare:workers";
        interface Order { qty: number }
        export class Flow extends WorkflowEntrypoint<unknown, Order> {
          async run(event: WorkflowEvent<Order>, step: WorkflowStep): Promise<number> {
            const price: number = await step.do("price", async (): Promise<number> => event.payload.qty * 3);
            await step.sleep("nap", "10 milliseconds");
            return price;
          }
        }
        """
    }
    instance = engine.create(tenant="t", code=code, entrypoint="Flow", params={"qty": 2})
    assert instance.wait(timeout=30).output == 6


def test_time_spent_paused_does_not_count_toward_a_sleep(engine: Engine, probe: Probe) -> None:
    code = {
        "wf.js": HEADER
        + """export class Flow extends WorkflowEntrypoint { async run(event, step) {
            await step.sleep("nap", 300);
            await step.do("after", async () => this.env.PROBE.hit("after"));
        } }"""
    }
    instance = engine.create(tenant="t", code=code, entrypoint="Flow")
    until_status(instance, "waiting")
    started = instance.status().steps[0].started_at
    paused = time.time()
    instance.pause()
    time.sleep(0.4)  # longer than the whole nap
    assert probe.hits["after"] == 0
    resumed = time.time()
    instance.resume()
    instance.wait(timeout=30)
    # The nap had (paused - started) behind it; the rest of its 300 ms runs after the resume.
    assert probe.times["after"][0] >= resumed + 0.3 - (paused - started) - 0.02


def test_a_step_output_holding_a_function_fails_the_step_by_name(engine: Engine) -> None:
    status = run(
        engine,
        """
        try { await step.do("f", async () => ({ later: () => 1 })); }
        catch (e) { return `${e.name}: ${e.message}`; }
        """,
    )
    assert status.output == 'SerializationError: a function cannot be sent to the host (at key "later")'
