"""The stores (SQLite and PostgreSQL, every test on both) and the scheduler: fencing, fair
claims across tenants, per-tenant concurrency, recovery of dead workers' leases, and wake-ups on time."""

from __future__ import annotations

import os
import threading
import time
from collections import Counter

import psycopg
import pytest

from dynisolate.workflows import DatabaseUnavailableError, Engine, Step, WorkflowEvent
from dynisolate.workflows._postgres import PostgresStore
from dynisolate.workflows._sqlite import SqliteStore
from dynisolate.workflows._store import StepRow


def idle(event: WorkflowEvent, step: Step) -> str:
    return "done"


def napper(event: WorkflowEvent, step: Step) -> float:
    step.sleep("nap", event.payload)
    return time.time()


def execute(engine: Engine, sql: str, *args: object) -> None:
    """Runs `sql` (with `?` parameters) on the engine's database behind the engine's back."""
    store = engine._store
    if isinstance(store, SqliteStore):
        store._writer.execute(sql, args)
        return
    assert isinstance(store, PostgresStore)
    with psycopg.connect(store.url, autocommit=True) as conn:
        conn.execute(sql.replace("?", "%s"), args)  # type: ignore[arg-type]


def rows(engine: Engine, tenant: str, n: int) -> list[dict[str, object]]:
    return [{"tenant": tenant, "entrypoint": "idle"} for _ in range(n)]


def test_a_busy_tenant_does_not_starve_another(db: str) -> None:
    engine = Engine(db, workflows={"idle": idle}, synchronous="normal")
    for _ in range(10):
        engine.create_batch(rows(engine, "big", 1_000))
    small = engine.create(tenant="small", entrypoint="idle")
    # A claim takes a batch from one tenant; the next claim goes to the tenant served longest ago.
    first, second = (engine._store.claim("me", time.time(), time.time() + 10, limit=8) for _ in range(2))
    assert {r.tenant for r in first} == {"big"} and len(first) == 8
    assert [r.id for r in second] == [small.id]
    engine.close()


def test_tenant_concurrency_limit(db: str) -> None:
    engine = Engine(db, workflows={"idle": idle})
    engine.set_tenant_limit("capped", 1)
    engine.create_batch(rows(engine, "capped", 3) + rows(engine, "free", 2))
    now = time.time()
    claimed = [row for _ in range(5) for row in engine._store.claim("me", now, now + 10, limit=8)]
    tenants = [c.tenant for c in claimed]
    assert tenants.count("capped") == 1 and tenants.count("free") == 2
    engine.close()


def test_a_fenced_run_writes_nothing(db: str) -> None:
    engine = Engine(db, workflows={"idle": idle})
    instance = engine.create(tenant="t", entrypoint="idle")
    (row,) = engine._store.claim("me", time.time(), time.time() + 10)
    instance.terminate()
    step = StepRow("s#1", "do", "s", 1, 1, False, "complete", 1, "1", started_at=time.time())
    assert engine._store.commit_step(row.id, row.generation, step) is None
    assert engine._store.release(row.id, row.generation, "complete", output="1") is False
    assert instance.status().status == "terminated" and instance.status().steps == []
    engine.close()


def test_expired_leases_are_recovered(db: str) -> None:
    engine = Engine(db, workflows={"idle": idle})
    instance = engine.create(tenant="t", entrypoint="idle")
    assert engine._store.claim("elsewhere@1:x", time.time(), time.time() + 0.05)
    assert engine.drain(1) == 0  # the lease still holds
    time.sleep(0.1)
    assert engine.drain(5) == 1
    assert instance.status().status == "complete"
    engine.close()


def test_sleeping_instances_wake_on_time(db: str) -> None:
    # Polling only every second: a sleeper woken by the poll, not its own timer, is late by far more
    # than the bound, which leaves room for a loaded machine's scheduling.
    with Engine(db, workflows={"napper": napper}, workers=2, poll_s=1.0) as engine:
        naps = []
        for ms in (100, 250, 400):
            naps.append((time.time() + ms / 1000, engine.create(tenant="t", entrypoint="napper", params=ms)))
        late = [instance.wait(timeout=30).output - due for due, instance in naps]
    assert all(-0.01 < lag < 0.25 for lag in late), late


def test_work_from_another_engine_is_picked_up(db: str) -> None:
    with Engine(db, workflows={"idle": idle}, poll_s=0.02):
        creator = Engine(db, workflows={"idle": idle})
        instance = creator.create(tenant="t", entrypoint="idle")
        assert instance.wait(timeout=30).output == "done"
        creator.close()


def test_the_engine_waits_without_spinning(db: str) -> None:
    with Engine(db, workflows={"napper": napper}, workers=4):
        before = time.process_time()
        time.sleep(0.5)
        used = time.process_time() - before
    assert used < 0.1, f"an idle engine used {used:.3f} s of CPU in 0.5 s"


@pytest.mark.parametrize("synchronous", ["sometimes", "OFF"])
def test_bad_synchronous_setting(db: str, synchronous: str) -> None:
    from dynisolate import ConfigError

    with pytest.raises(ConfigError):
        Engine(db, synchronous=synchronous)


@pytest.mark.parametrize("cpus", [2, 64])
def test_default_worker_threads_suit_the_store(db: str, cpus: int, monkeypatch: pytest.MonkeyPatch) -> None:
    # Five per CPU on PostgreSQL, whose runs also wait on round trips; three on SQLite; at most 32.
    monkeypatch.setattr(os, "cpu_count", lambda: cpus)
    engine = Engine(db)
    try:
        per_cpu = 5 if db.startswith("postgresql://") else 3
        assert engine._scheduler._workers == min(32, per_cpu * cpus)
    finally:
        engine.close()


def test_an_unknown_url_scheme_is_refused() -> None:
    from dynisolate import ConfigError

    with pytest.raises(ConfigError, match="no store for 'mysql'"):
        Engine("mysql://localhost/db")


def test_an_unreachable_server_is_a_clear_error_without_the_password() -> None:
    with pytest.raises(DatabaseUnavailableError, match="postgresql://127.0.0.1:1/db") as caught:
        Engine("postgresql://someone:hunter2@127.0.0.1:1/db")
    assert "hunter2" not in str(caught.value)


def test_engine_threads_stop(db: str) -> None:
    engine = Engine(db, workflows={"idle": idle}).start()
    engine.close()
    assert not [t for t in threading.enumerate() if t.name.startswith("dynisolate-workflows")]


def blocking(event: WorkflowEvent, step: Step) -> str:
    return step.do("block", lambda: time.sleep(0.05) or "done")


def test_stopping_hands_back_claims_not_started(db: str) -> None:
    engine = Engine(db, workflows={"blocking": blocking}, workers=1)
    instances = engine.create_batch([{"tenant": "t", "entrypoint": "blocking"} for _ in range(6)])
    engine.start()
    time.sleep(0.02)  # one run in progress, the rest of its claim batch waiting in this process
    engine.close()
    successor = Engine(db, workflows={"blocking": blocking})
    successor.drain(10)  # no lease timeout to wait for
    assert {i.id: successor.get(i.id).status().status for i in instances} == {
        i.id: "complete" for i in instances
    }
    successor.close()


def test_a_single_instance_is_not_stuck_behind_another_tenants_backlog(db: str) -> None:
    engine = Engine(db, workflows={"idle": idle}, synchronous="normal", workers=2)
    for _ in range(10):
        engine.create_batch(rows(engine, "big", 1_000))
    with engine:
        time.sleep(0.05)  # the backlog is being worked through
        small = engine.create(tenant="small", entrypoint="idle")
        small.wait(timeout=30)
        engine.stop()
        created = engine._store.get(small.id)
        assert created is not None
        finished = [r.updated_at for r in engine._store.list_instances("complete", "big", 20_000)]
    overtaken = sum(created.created_at < at < created.updated_at for at in finished)
    # A few scheduling rounds: each claim is one batch of at most 8 from one tenant, and the
    # batches already claimed by this process run first.
    assert overtaken < 50, f"{overtaken} instances of the big tenant ran in between"


gate = threading.Event()


def gated(event: WorkflowEvent, step: Step) -> str:
    return step.do("gated", lambda: gate.wait(10) and event.payload)


def test_a_stale_run_cannot_write_into_a_new_instance_with_its_id(db: str) -> None:
    gate.clear()
    with Engine(db, workflows={"gated": gated, "idle": idle}, workers=1) as engine:
        old = engine.create(tenant="t", entrypoint="gated", params="old", id="order-1")
        deadline = time.monotonic() + 5
        while old.status().status != "running":
            assert time.monotonic() < deadline
            time.sleep(0.005)
        old.delete()
        new = engine.create(tenant="t", entrypoint="idle", id="order-1")
        gate.set()  # the old run's step finishes now, for an instance that no longer exists
        status = new.wait(timeout=30)
    assert status.output == "done"
    assert status.steps == []  # nothing of the old run landed in the new instance


def test_pausing_a_claimed_instance_that_has_not_started(db: str) -> None:
    gate.clear()
    with Engine(db, workflows={"gated": gated}, workers=1) as engine:
        first, second = engine.create_batch(
            [{"tenant": "t", "entrypoint": "gated", "params": n} for n in (1, 2)]
        )
        deadline = time.monotonic() + 5
        while first.status().status != "running":
            assert time.monotonic() < deadline
            time.sleep(0.005)
        second.pause()  # claimed with the first in one batch, not started yet
        gate.set()
        assert first.wait(timeout=30).output == 1
        deadline = time.monotonic() + 5
        while second.status().status != "paused":
            assert time.monotonic() < deadline, second.status().status
            time.sleep(0.005)
        second.resume()
        assert second.wait(timeout=30).output == 2


def test_workers_do_not_spin_while_a_tenant_is_at_its_limit(db: str) -> None:
    gate.clear()
    with Engine(db, workflows={"gated": gated}, workers=4) as engine:
        engine.set_tenant_limit("t", 1)
        first, second = (engine.create(tenant="t", entrypoint="gated", params=n) for n in (1, 2))
        time.sleep(0.1)
        before = time.process_time()
        time.sleep(0.5)  # the second is due but may not run
        used = time.process_time() - before
        assert second.status().status == "queued"
        gate.set()
        assert (first.wait(5).output, second.wait(5).output) == (1, 2)
    assert used < 0.15, f"{used:.3f} s of CPU in 0.5 s while blocked"


def test_an_instance_whose_worker_keeps_dying_is_errored(db: str) -> None:
    engine = Engine(db, workflows={"idle": idle})
    instance = engine.create(tenant="t", entrypoint="idle")
    execute(engine, "UPDATE instances SET crashes = 10 WHERE id = ?", instance.id)
    engine.drain(5)
    status = instance.status()
    assert (status.status, status.error["name"]) == ("errored", "WorkflowInternalError")
    engine.close()


def test_a_store_failure_in_a_run_is_retried(db: str) -> None:
    with Engine(db, workflows={"idle": idle}, workers=1) as engine:
        release = engine._store.release
        failures = [1]

        def flaky_release(*args: object, **kwargs: object) -> bool:
            if failures and args[2] == "complete":
                failures.pop()
                raise RuntimeError("disk I/O error")
            return release(*args, **kwargs)  # type: ignore[arg-type]

        engine._store.release = flaky_release  # type: ignore[method-assign]
        assert engine.create(tenant="t", entrypoint="idle").wait(timeout=30).output == "done"
    assert not failures


def test_duplicate_ids_in_a_batch_are_named(db: str) -> None:
    from dynisolate.workflows import InstanceExistsError

    engine = Engine(db, workflows={"idle": idle})
    engine.create(tenant="t", entrypoint="idle", id="zeta")
    for ids, duplicate in ((["alpha", "beta", "beta"], "beta"), (["alpha", "zeta"], "zeta")):
        with pytest.raises(InstanceExistsError) as caught:
            engine.create_batch([{"tenant": "t", "entrypoint": "idle", "id": i} for i in ids])
        assert caught.value.id == duplicate
    engine.close()


def test_a_group_commit_keeps_values_exactly(db: str) -> None:
    # The PostgreSQL store sends a group as one JSON document: clones travel as base64, floats as
    # their shortest repr, and text with every kind of character must come back as it went.
    engine = Engine(db, workflows={"idle": idle})
    instance = engine.create(tenant="t", entrypoint="idle")
    (row,) = engine._store.claim("me", time.time(), time.time() + 10)
    written = [
        StepRow("a#1", "do", "a", 1, 1, False, "complete", 1, bytes(range(256)), started_at=1765000000.12345),
        StepRow("b#1", "do", 'b "quoted" \\ é ✓ 😀', 1, 2, True, "retrying", 3, '"\\u0000 \\n ✓"',
                "TypeError", "line\nbreak\ttab \\", 1765000123.000001, '{"retries": 2}', 0.1, 2.5e-7),
    ]  # fmt: skip
    for step in written:
        assert engine._store.commit_step(row.id, row.generation, step) == "running"
    assert engine._store.steps(instance.id) == written
    output = b"\x00clone\xff" * 100
    assert engine._store.release(row.id, row.generation, "complete", output=output) is True
    finished = engine._store.get(instance.id)
    assert finished is not None and finished.status == "complete" and finished.output == output
    engine.close()


def chatty(event: WorkflowEvent, step: Step) -> str:
    step.do("one", lambda: 1)
    return str(step.wait_for_event("hello", "hello")["payload"])


def test_finished_instances_past_their_retention_are_deleted_with_their_history(db: str) -> None:
    from dynisolate.workflows import InstanceNotFoundError

    with Engine(db, workflows={"chatty": chatty}, poll_s=0.01, retention_s=0.2) as engine:
        engine.set_tenant_retention("keeps", 3600)
        done, kept = (engine.create(tenant=t, entrypoint="chatty") for t in ("t", "keeps"))
        waiting = engine.create(tenant="t", entrypoint="chatty")
        for instance in (done, kept):
            instance.send_event("hello", "hi")
            assert instance.wait(timeout=30).output == "hi"
        until = time.monotonic() + 30
        while waiting.status().status != "waiting":
            assert time.monotonic() < until
            time.sleep(0.01)
        assert engine.sweep() == 0  # not yet 0.2 s since it finished
        time.sleep(0.3)
        assert engine.sweep() == 1
        with pytest.raises(InstanceNotFoundError):
            engine.get(done.id)
        assert engine._store.steps(done.id) == [] and engine._store.events(done.id) == []
        assert kept.status().status == "complete" and waiting.status().status == "waiting"
        # A tenant's own retention can be taken back to the engine's.
        engine.set_tenant_retention("keeps", None)
        assert engine.sweep() == 1


def test_running_engines_sweep_by_themselves(db: str, monkeypatch: pytest.MonkeyPatch) -> None:
    from dynisolate.workflows import _scheduler

    monkeypatch.setattr(_scheduler, "SWEEP_EVERY_S", 0.1)
    with Engine(db, workflows={"idle": idle}, poll_s=0.01, retention_s=0) as engine:
        instances = engine.create_batch(rows(engine, "t", 5))
        deadline = time.monotonic() + 30
        while engine._store.count() > 0:
            assert time.monotonic() < deadline, engine._store.count()
            time.sleep(0.05)
        assert all(engine._store.get(i.id) is None for i in instances)


@pytest.mark.parametrize("bad", [-1, float("nan"), "1 day", True])
def test_a_bad_retention_is_refused(bad: object) -> None:
    from dynisolate import ConfigError

    with pytest.raises(ConfigError, match="retention_s"):
        Engine(":memory:", retention_s=bad)  # type: ignore[arg-type]
    with Engine(":memory:") as engine, pytest.raises(ConfigError, match="retention_s"):
        engine.set_tenant_retention("t", bad)  # type: ignore[arg-type]


in_flight = Counter()
most_in_flight = Counter()
in_flight_lock = threading.Lock()


def counted(event: WorkflowEvent, step: Step) -> str:
    def work() -> str:
        with in_flight_lock:
            in_flight[event.payload] += 1
            most_in_flight[event.payload] = max(most_in_flight[event.payload], in_flight[event.payload])
        time.sleep(0.02)
        with in_flight_lock:
            in_flight[event.payload] -= 1
        return "done"

    return step.do("work", work)


def test_max_running_holds_across_engines_on_one_database(db: str) -> None:
    # Two engines with host identities of their own, as two machines would have, eight workers each.
    in_flight.clear()
    most_in_flight.clear()
    engines = [
        Engine(db, workflows={"counted": counted}, workers=8, poll_s=0.01, host_id=f"machine-{n}")
        for n in range(2)
    ]
    engines[0].set_tenant_limit("capped", 2)
    rows = [
        {"tenant": t, "entrypoint": "counted", "params": t} for t in ("capped", "free") for _ in range(30)
    ]
    instances = engines[0].create_batch(rows)
    for engine in engines:
        engine.start()
    try:
        assert {i.wait(timeout=60).output for i in instances} == {"done"}
    finally:
        for engine in engines:
            engine.close()
    assert most_in_flight["capped"] <= 2, most_in_flight
    assert most_in_flight["free"] > 2, most_in_flight  # the limit is the tenant's, not everyone's
