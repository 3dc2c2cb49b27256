"""The PostgreSQL store under faults: a worker stopped past its lease never writes after another
took its instance over; connections killed under a running engine lose nothing and leave nothing
half-written; a worker started before its server waits for it."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

import psycopg
import pytest

import postgres_cluster
from dynisolate.workflows import Engine, Step, WorkflowEvent

FIXTURES = Path(__file__).parent.parent / "fixtures"
sys.path.insert(0, str(FIXTURES))
import fault_app  # noqa: E402


def spawn_worker(db: str, log: Path, host_id: str, *extra: str) -> subprocess.Popen[str]:
    env = dict(os.environ, PYTHONPATH=os.pathsep.join([str(FIXTURES), os.environ.get("PYTHONPATH", "")]))
    env["FAULT_LOG"] = str(log)
    command = [sys.executable, "-m", "dynisolate", "worker", "--db", db, "--host-id", host_id]
    command += ["--workflows", "fault_app:WORKFLOWS", "--workers", "1", "--lease-s", "1", *extra]
    return subprocess.Popen(command, env=env, stderr=subprocess.PIPE, text=True)


def lines(log: Path) -> list[tuple[int, str]]:
    if not log.exists():
        return []
    return [(int(pid), what) for pid, what, _ in (line.split() for line in log.read_text().splitlines())]


def wait_for(predicate: object, timeout: float, what: str) -> None:
    deadline = time.monotonic() + timeout
    while not predicate():  # type: ignore[operator]
        assert time.monotonic() < deadline, f"timed out waiting for {what}"
        time.sleep(0.02)


def stop(worker: subprocess.Popen[str]) -> None:
    worker.send_signal(signal.SIGCONT)
    worker.terminate()
    worker.wait(timeout=30)
    assert worker.stderr is not None
    worker.stderr.close()


def test_a_worker_stopped_past_its_lease_never_writes_after_the_takeover(
    postgres_url: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    log = tmp_path / "steps.log"
    monkeypatch.setenv("FAULT_LOG", str(log))  # this process's engine runs the steps too
    stopped = spawn_worker(postgres_url, log, "machine-a")
    try:
        creator = Engine(postgres_url, workflows=fault_app.WORKFLOWS)
        instance = creator.create(tenant="t", entrypoint="slow", params=2.0)
        wait_for(lambda: (stopped.pid, "start") in lines(log), 30, "the first worker's slow step")
        stopped.send_signal(signal.SIGSTOP)
        # Another machine's engine: it cannot see the stopped process, only its lease lapse.
        with Engine(
            postgres_url,
            workflows=fault_app.WORKFLOWS,
            workers=1,
            lease_s=1,
            poll_s=0.05,
            host_id="machine-b",
        ):
            status = instance.wait(timeout=30)
            assert (status.status, status.output) == ("complete", os.getpid())
            stopped.send_signal(signal.SIGCONT)
            # The stopped run wakes up mid-step, finishes its side effect and tries to record it.
            wait_for(lambda: (stopped.pid, "end") in lines(log), 30, "the continued worker's step to end")
            time.sleep(1.0)  # room for its commit and release, which must be refused
        after = creator.get(instance.id).status()
        assert (after.status, after.output) == ("complete", os.getpid())
        slow = [s for s in creator._store.steps(instance.id) if s.name == "slow"]
        assert len(slow) == 1 and slow[0].value == str(os.getpid())
        # "mark" was committed before the stop: it ran once, in the first worker.
        assert [pid for pid, what in lines(log) if what == "mark"] == [stopped.pid]
        assert stopped.poll() is None  # the fenced worker goes on serving
        creator.close()
    finally:
        stop(stopped)


def kill_connections(url: str, admin_url: str) -> int:
    database = url.rsplit("/", 1)[1].split("?")[0]
    with psycopg.connect(admin_url, autocommit=True) as admin:
        return len(
            admin.execute(
                "SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = %s AND pid <> "
                "pg_backend_pid()",
                (database,),
            ).fetchall()
        )


gate = threading.Event()
ran: list[str] = []


def gated(event: WorkflowEvent, step: Step) -> str:
    first = step.do("first", lambda: ran.append("first") or "one")

    def second() -> str:
        ran.append("second")
        gate.wait(10)
        return "two"

    return first + step.do("second", second) + step.do("third", lambda: ran.append("third") or "three")


def test_connections_killed_mid_run_lose_nothing_and_write_nothing_twice(
    postgres_url: str, postgres: postgres_cluster.Cluster
) -> None:
    gate.clear()
    ran.clear()
    with Engine(postgres_url, workflows={"gated": gated}, workers=2, poll_s=0.05) as engine:
        instance = engine.create(tenant="t", entrypoint="gated")
        wait_for(lambda: "second" in ran, 30, "the second step")
        assert kill_connections(postgres_url, postgres.url) >= 1
        gate.set()  # the step's outcome goes to a connection that is gone
        status = instance.wait(timeout=30)
    assert (status.status, status.output) == ("complete", "onetwothree")
    # The first step was committed before the kill and never ran again; the second's outcome was
    # never acknowledged, so it ran again on the replay; each step has one row.
    assert ran.count("first") == 1 and ran.count("second") == 2 and ran.count("third") == 1
    assert [s.name for s in status.steps] == ["first", "second", "third"]


def test_a_worker_started_before_its_server_waits_for_it(tmp_path: Path) -> None:
    cluster = postgres_cluster.start()
    try:
        with psycopg.connect(cluster.url, autocommit=True) as admin:
            admin.execute("CREATE DATABASE late")
        url = cluster.url_for("late")
        cluster.stop()
        log = tmp_path / "steps.log"
        worker = spawn_worker(url, log, "machine-a")
        try:
            assert worker.stderr is not None
            first = worker.stderr.readline()
            assert "is unavailable" in first and "trying again" in first, first
            cluster.start()
            creator = Engine(url, workflows=fault_app.WORKFLOWS)  # not started: only the worker runs
            instance = creator.create(tenant="t", entrypoint="slow", params=0.0)
            wait_for(lambda: bool(lines(log)), 60, "the worker to run the instance")
            assert instance.wait(timeout=30).output == worker.pid
            creator.close()
        finally:
            stop(worker)
    finally:
        cluster.remove()


def idle(event: WorkflowEvent, step: Step) -> str:
    return "done"


@pytest.mark.parametrize("committed", [True, False], ids=["answer-lost", "never-sent"])
@pytest.mark.parametrize("claimed", [False, True], ids=["queued", "claimed"])
def test_a_create_whose_connection_is_lost_is_neither_lost_nor_doubled(
    postgres_url: str, monkeypatch: pytest.MonkeyPatch, committed: bool, claimed: bool
) -> None:
    # A create is one statement and its own transaction: when its connection is lost, whether it
    # committed is unknown. The store looks its rows up: found, the create succeeded (and must not
    # fail as a duplicate of itself); not found, it runs again.
    from dynisolate.workflows._postgres import PostgresStore, _Uncertain

    engine = Engine(postgres_url, workflows={"idle": idle})
    store = engine._store
    assert isinstance(store, PostgresStore)
    real_run = store._run
    losses = []

    def losing(fn: object, kind: str) -> object:
        if kind == "statement" and not losses:
            losses.append(kind)
            if committed:
                real_run(fn, kind)  # type: ignore[arg-type]
            raise _Uncertain(psycopg.OperationalError("server closed the connection unexpectedly"))
        return real_run(fn, kind)  # type: ignore[arg-type]

    monkeypatch.setattr(store, "_run", losing)
    claim = ("me", time.time() + 30) if claimed else None
    rows = [engine._new_row("t", "idle", id=f"i{n}") for n in range(3)]
    taken = store.create(rows, claim)
    assert losses == ["statement"]
    assert [r.id for r in taken] == (["i0", "i1", "i2"] if claimed else [])
    stored = {i.id: i for i in store.list_instances(None, "t", 10)}
    assert sorted(stored) == ["i0", "i1", "i2"]  # each once
    assert {(i.status, i.owner) for i in stored.values()} == {
        ("running", "me") if claimed else ("queued", None)
    }
    assert all(stored[r.id].generation == r.generation for r in taken)  # the run's fence is the stored one
    engine.close()
