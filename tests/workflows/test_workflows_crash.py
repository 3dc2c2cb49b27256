"""Durability: worker processes killed with SIGKILL at random moments lose nothing committed, on
either store.

200 instances of a JavaScript workflow (three steps around a sleep) run under `dynisolate worker`
processes that are killed at random; every step execution is appended to a file outside the
process. Checked: every instance completes; within one process life a step runs at most once; a
step that was committed before a kill never runs again; a sleep keeps its original wake time
across kills; a restarted worker resumes work within a second.
"""

from __future__ import annotations

import os
import random
import signal
import subprocess
import sys
import time
from collections import defaultdict
from pathlib import Path

from dynisolate.workflows import Engine

FIXTURES = Path(__file__).parent.parent / "fixtures"
INSTANCES = 200
NAP_S = 1.0
WORKERS = 4

WORKFLOW = """
import { WorkflowEntrypoint } from "cloudflare:workers";
const pause = (ms) => new Promise((r) => setTimeout(r, ms));
export class Crashy extends WorkflowEntrypoint {
  async run(event, step) {
    const work = (name, value) => async () => {
      await this.env.LOG.hit(event.instanceId, name);
      await pause(20);
      return value;
    };
    const a = await step.do("a", work("a", 1));
    await step.sleep("nap", NAP_MS);
    const b = await step.do("b", work("b", a + 1));
    return await step.do("c", work("c", b + 1));
  }
}
""".replace("NAP_MS", str(int(NAP_S * 1000)))


def _spawn(db: str, log: Path) -> subprocess.Popen[bytes]:
    env = dict(os.environ, PYTHONPATH=os.pathsep.join([str(FIXTURES), os.environ.get("PYTHONPATH", "")]))
    env["CRASH_LOG"] = str(log)
    command = [
        sys.executable,
        "-m",
        "dynisolate",
        "worker",
        "--db",
        db,
        "--env-factory",
        "crash_app:env",
        "--workers",
        str(WORKERS),
    ]
    return subprocess.Popen(command, env=env, stderr=subprocess.DEVNULL)


def _executions(log: Path) -> list[tuple[int, str, str, float]]:
    if not log.exists():
        return []
    rows = []
    for line in log.read_text().splitlines():
        pid, instance, step, stamp = line.split()
        rows.append((int(pid), instance, step, float(stamp)))
    return rows


def test_sigkilled_workers_lose_nothing_committed(db: str, tmp_path: Path) -> None:
    log = tmp_path / "steps.log"
    engine = Engine(db)  # this process only creates and inspects
    batch = [
        {"tenant": f"t{n % 4}", "code": {"wf.js": WORKFLOW}, "entrypoint": "Crashy"} for n in range(INSTANCES)
    ]
    ids = [i.id for i in engine.create_batch(batch)]
    rng = random.Random(1234)
    spawned: dict[int, float] = {}  # pid -> spawn time
    committed_at_kill: list[tuple[int, set[tuple[str, str]]]] = []  # (pid killed, steps committed then)
    nap_started: dict[str, float] = {}

    def snapshot() -> set[tuple[str, str]]:
        done = set()
        for id in ids:
            for s in engine._store.steps(id):
                if s.kind == "do" and s.state == "complete":
                    done.add((id, s.name))
                if s.name == "nap":
                    assert nap_started.setdefault(id, s.started_at) == s.started_at  # never re-recorded
        return done

    kills = 0
    deadline = time.monotonic() + 120
    while engine._store.count("complete") < INSTANCES:
        assert time.monotonic() < deadline, "the instances did not complete"
        worker = _spawn(db, log)
        spawned[worker.pid] = time.time()
        if kills < 25:
            time.sleep(rng.uniform(0.2, 0.7))
            worker.send_signal(signal.SIGKILL)
            worker.wait()
            kills += 1
            committed_at_kill.append((worker.pid, snapshot()))
        else:
            while engine._store.count("complete") < INSTANCES and time.monotonic() < deadline:
                time.sleep(0.05)
            worker.terminate()
            worker.wait(timeout=30)

    statuses = [engine.get(id).status() for id in ids]
    assert {s.status for s in statuses} == {"complete"}
    assert {s.output for s in statuses} == {3}

    executions = _executions(log)
    by_life: dict[int, list[tuple[str, str]]] = defaultdict(list)
    first_in_life: dict[int, float] = {}
    for pid, instance, step, stamp in executions:
        by_life[pid].append((instance, step))
        first_in_life[pid] = min(first_in_life.get(pid, stamp), stamp)
    for pid, steps in by_life.items():
        assert len(steps) == len(set(steps)), f"a step ran twice within process {pid}"
    order = sorted(spawned, key=spawned.__getitem__)
    for killed, committed in committed_at_kill:
        later = set(order[order.index(killed) + 1 :])
        rerun = {(i, s) for pid, i, s, _ in executions if pid in later} & committed
        assert not rerun, f"steps committed before the kill of {killed} ran again: {sorted(rerun)[:5]}"
    # Every step ran, and re-ran only after a kill caught it in flight.
    counts: dict[tuple[str, str], int] = defaultdict(int)
    for _, instance, step, _ in executions:
        counts[(instance, step)] += 1
    assert set(counts) == {(i, s) for i in ids for s in "abc"}
    reruns = sum(counts.values()) - len(counts)
    print(f"{kills} kills, {reruns} steps re-run after a kill caught them in flight")
    assert kills >= 5 and reruns > 0  # the kills did land mid-run
    assert max(counts.values()) <= 1 + kills
    assert reruns <= kills * WORKERS  # at most the steps in flight at each kill

    # Sleeps kept their wake time: "b" ran no earlier than the nap's end, and not a whole nap late.
    for status in statuses:
        nap = next(s for s in status.steps if s.name == "nap")
        first_b = min(stamp for _, i, s, stamp in executions if i == status.id and s == "b")
        assert first_b >= nap.started_at + NAP_S - 0.01
        assert nap.started_at == nap_started.get(status.id, nap.started_at)

    # Recovery: each restarted worker executed a step within a second of being spawned.
    lives_with_work = [pid for pid in order[1:] if pid in first_in_life]
    assert lives_with_work, "no restarted worker ran anything"
    slow = {
        pid: first_in_life[pid] - spawned[pid]
        for pid in lives_with_work
        if first_in_life[pid] - spawned[pid] > 1.0
    }
    assert not slow, f"restarted workers took more than 1 s to resume work: {slow}"
    engine.close()
