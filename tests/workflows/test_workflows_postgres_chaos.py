"""Proof under faults on PostgreSQL: three `dynisolate worker` processes, each with a host identity
of its own (as if on three machines: a dead one's instances are taken over only when its leases
lapse), run 1,000 instances of a workflow with steps, a sleep and an event, while workers are
SIGKILLed at random (at least 50 times) and the PostgreSQL server itself is killed with SIGKILL and
restarted twice. The cluster keeps PostgreSQL's durable defaults.

Checked: every instance completes with the output its event makes; no step committed before a
kill runs in a worker started after it; every event whose send returned is in the store once and
consumed by the instance's wait; nothing acknowledged is lost."""

from __future__ import annotations

import os
import random
import signal
import subprocess
import sys
import threading
import time
from collections import Counter
from collections.abc import Iterator
from pathlib import Path

import psycopg
import pytest

import postgres_cluster
from dynisolate.workflows import DatabaseUnavailableError, Engine

FIXTURES = Path(__file__).parent.parent / "fixtures"
INSTANCES = 1_000
KILLS = 50
SERVER_KILLS_AT = (15, 35)  # after these worker kills, the server is killed and restarted
MACHINES = 3
LEASE_S = 3

WORKFLOW = """
import { WorkflowEntrypoint } from "cloudflare:workers";
const pause = (ms) => new Promise((r) => setTimeout(r, ms));
export class Chaotic extends WorkflowEntrypoint {
  async run(event, step) {
    const work = (name, value) => async () => {
      await this.env.LOG.hit(event.instanceId, name);
      await pause(10);
      return value;
    };
    const a = await step.do("a", work("a", 1));
    await step.sleep("nap", 300);
    const go = await step.waitForEvent("go", { type: "go", timeout: "1 hour" });
    const b = await step.do("b", work("b", a + go.payload.n));
    return await step.do("c", work("c", b + 1));
  }
}
"""


@pytest.fixture
def durable() -> Iterator[postgres_cluster.Cluster]:
    cluster = postgres_cluster.start(durable=True)
    try:
        yield cluster
    finally:
        cluster.remove()


def spawn(url: str, log: Path, machine: int) -> subprocess.Popen[bytes]:
    env = dict(os.environ, PYTHONPATH=os.pathsep.join([str(FIXTURES), os.environ.get("PYTHONPATH", "")]))
    env["CRASH_LOG"] = str(log)
    command = [sys.executable, "-m", "dynisolate", "worker", "--db", url, "--host-id", f"machine-{machine}"]
    command += ["--env-factory", "crash_app:env", "--workers", "4", "--lease-s", str(LEASE_S)]
    return subprocess.Popen(command, env=env, stderr=subprocess.DEVNULL)


def retrying(what: str, fn: object, deadline: float, failed: object = None) -> object:
    """`fn()`, tried again while the server is down (a restart is part of the test); `failed()`
    is called on each failure."""
    while True:
        try:
            return fn()  # type: ignore[operator]
        except DatabaseUnavailableError:
            assert time.monotonic() < deadline, f"{what}: the database stayed unavailable"
            if failed is not None:
                failed()  # type: ignore[operator]
            time.sleep(0.1)


def executions(log: Path) -> list[tuple[int, str, str, float]]:
    if not log.exists():
        return []
    return [
        (int(pid), instance, step, float(stamp))
        for pid, instance, step, stamp in (line.split() for line in log.read_text().splitlines())
    ]


@pytest.mark.timeout(900)
def test_killed_workers_and_a_killed_server_lose_nothing(
    durable: postgres_cluster.Cluster, tmp_path: Path
) -> None:
    with psycopg.connect(durable.url, autocommit=True) as admin:
        admin.execute("CREATE DATABASE chaos")
    url, log = durable.url_for("chaos"), tmp_path / "steps.log"
    deadline = time.monotonic() + 600
    engine = Engine(url)  # this process creates, sends and inspects; it runs nothing
    code = engine.put_bundle({"wf.js": WORKFLOW})
    ids: list[str] = []
    for first in range(0, INSTANCES, 100):
        batch = [
            {"tenant": f"t{n % 5}", "code": code, "entrypoint": "Chaotic"} for n in range(first, first + 100)
        ]
        ids += [i.id for i in engine.create_batch(batch)]
    payload = {id: n for n, id in enumerate(ids)}

    # Events go out while everything else happens; a send that raised is sent again, one that
    # returned is acknowledged and must be consumed exactly once. (A send that raised while the
    # server crashed may have committed before the crash: its retry then stores a second event,
    # which stays unconsumed, as a retried send would on Cloudflare.)
    acknowledged: list[str] = []
    retried: set[str] = set()
    sender_done = threading.Event()

    def send_all() -> None:
        rng = random.Random(7)
        order = ids[:]
        rng.shuffle(order)
        for id in order:
            retrying(
                "send",
                lambda id=id: engine.send_events([(id, "go", {"n": payload[id]})]),
                deadline,
                lambda id=id: retried.add(id),
            )
            acknowledged.append(id)
            time.sleep(rng.uniform(0, 0.02))
        sender_done.set()

    sender = threading.Thread(target=send_all)
    sender.start()

    rng = random.Random(1234)
    live = {m: spawn(url, log, m) for m in range(MACHINES)}
    spawned: dict[int, float] = {p.pid: time.time() for p in live.values()}
    committed_at_kill: list[tuple[float, set[tuple[str, str]]]] = []
    kills = server_kills = 0

    def committed() -> set[tuple[str, str]]:
        rows = _sql(url, "SELECT instance, name FROM steps WHERE kind = 'do' AND state = 'complete'")
        return {(i, s) for i, s in rows}

    def complete() -> int:
        return int(_sql(url, "SELECT count(*) FROM instances WHERE status = 'complete'")[0][0])

    try:
        while kills < KILLS or retrying("count", complete, deadline) < INSTANCES:
            assert time.monotonic() < deadline, "the instances did not complete"
            time.sleep(rng.uniform(0.3, 0.8))
            if kills >= KILLS:
                continue
            machine = rng.randrange(MACHINES)
            live[machine].send_signal(signal.SIGKILL)
            live[machine].wait()
            kills += 1
            killed_at = time.time()
            committed_at_kill.append((killed_at, retrying("snapshot", committed, deadline)))  # type: ignore[arg-type]
            if kills in SERVER_KILLS_AT:
                durable.kill()
                time.sleep(rng.uniform(0.2, 1.0))
                durable.start()  # crash recovery from the WAL
                server_kills += 1
            live[machine] = spawn(url, log, machine)
            spawned[live[machine].pid] = time.time()
        sender.join(timeout=120)
        assert sender_done.is_set()
    finally:
        for process in live.values():
            process.send_signal(signal.SIGKILL)
            process.wait()

    # Every instance completed with the output its own event makes.
    rows = _sql(url, "SELECT id, status, output FROM instances")
    assert len(rows) == INSTANCES
    assert {status for _, status, _ in rows} == {"complete"}
    assert {id: output for id, _, output in rows} == {id: str(payload[id] + 2) for id in ids}
    # Every acknowledged event is stored once and consumed by the instance's wait.
    assert sorted(acknowledged) == sorted(ids)
    events = _sql(url, "SELECT instance, consumed_by FROM events")
    stored = Counter(i for i, _ in events)
    assert all(stored[id] == 1 or (id in retried and stored[id] == 2) for id in ids), stored.most_common(3)
    assert Counter(i for i, c in events if c is not None) == Counter(ids)  # each consumed once
    assert {c for _, c in events if c is not None} == {"go#1"}
    # No step committed before a kill ran in a worker started after it.
    runs = executions(log)
    for killed_at, done in committed_at_kill:
        later = {pid for pid, at in spawned.items() if at > killed_at}
        again = {(i, s) for pid, i, s, _ in runs if pid in later} & done
        assert not again, f"steps committed before a kill ran again: {sorted(again)[:5]}"
    counts = Counter((i, s) for _, i, s, _ in runs)
    assert set(counts) == {(i, s) for i in ids for s in "abc"}
    print(f"{kills} worker kills, {server_kills} server kills, {sum(counts.values()) - len(counts)} re-runs")
    assert kills >= KILLS and server_kills == len(SERVER_KILLS_AT)
    engine.close()


def _sql(url: str, query: str) -> list[tuple[object, ...]]:
    try:
        with psycopg.connect(url, autocommit=True, connect_timeout=2) as conn:
            return conn.execute(query).fetchall()
    except psycopg.OperationalError as error:
        raise DatabaseUnavailableError(str(error)) from error
