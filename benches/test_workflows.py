"""Durable workflows: dynisolate running a 3-step JavaScript tenant workflow in the sandbox
against DBOS (benches/dbos_peer.py) running 3 trivial Python steps, both on SQLite with
synchronous=FULL (DBOS's default, and ours), one run side by side.

Figures: throughput (2,000 workflows started one by one, until all complete), latency of one
workflow (started and awaited alone, 200 times), creation rate (one by one, and batches of 100)
and instances waiting for an event at once (memory growth, then all events sent, time until all
complete). The waiting measurements run in a fresh process on each side, so memory freed by the
earlier measurements cannot hide growth.
"""

from __future__ import annotations

import json
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

N = 2_000
LATENCY_RUNS = 200
WAITING = 50_000
DBOS_WAITING = 5_000  # DBOS on SQLite takes about 10 ms per waiter to park (see dbos_peer.py)
SYNCHRONOUS = "full"
BENCHES = Path(__file__).parent

THREE_STEPS = """
import { WorkflowEntrypoint } from "cloudflare:workers";
export class Three extends WorkflowEntrypoint {
  async run(event, step) {
    const a = await step.do("one", async () => event.payload.n + 1);
    const b = await step.do("two", async () => a + 1);
    return await step.do("three", async () => b + 1);
  }
}
"""

WAITER = """
import { WorkflowEntrypoint } from "cloudflare:workers";
export class Waiter extends WorkflowEntrypoint {
  async run(event, step) {
    const go = await step.waitForEvent("go", { type: "go", timeout: "1 hour" });
    return go.payload;
  }
}
"""


def _rss_kb() -> int:
    with open("/proc/self/status") as f:
        return next(int(line.split()[1]) for line in f if line.startswith("VmRSS:"))


def _engine(directory: str) -> Any:
    from dynisolate.workflows import Engine

    return Engine(f"{directory}/workflows.db", synchronous=SYNCHRONOUS)


def _throughput(open_engine: Callable[[], Any]) -> dict[str, float]:
    with open_engine() as engine:
        code = engine.put_bundle({"three.js": THREE_STEPS})
        engine.create(tenant="t", code=code, entrypoint="Three", params={"n": 0}).wait(30)
        start = time.perf_counter()
        instances = [
            engine.create(tenant="t", code=code, entrypoint="Three", params={"n": n}) for n in range(N)
        ]
        outputs = [instance.wait(60).output for instance in instances]
        seconds = time.perf_counter() - start
        assert outputs == [n + 3 for n in range(N)]
    return {"throughput_per_s": N / seconds}


def _latency(open_engine: Callable[[], Any]) -> dict[str, float]:
    with open_engine() as engine:
        code = engine.put_bundle({"three.js": THREE_STEPS})
        samples = []
        for n in range(LATENCY_RUNS + 20):
            start = time.perf_counter()
            status = engine.create(tenant="t", code=code, entrypoint="Three", params={"n": n}).wait(30)
            samples.append(time.perf_counter() - start)
            assert status.output == n + 3
        samples = sorted(samples[20:])
    return {
        "latency_median_ms": statistics.median(samples) * 1e3,
        "latency_p99_ms": samples[int(len(samples) * 0.99)] * 1e3,
    }


def _creation(open_engine: Callable[[], Any]) -> dict[str, float]:
    engine = open_engine()  # not started: only the durable creation is timed
    code = engine.put_bundle({"three.js": THREE_STEPS})
    start = time.perf_counter()
    for n in range(N):
        engine.create(tenant="t", code=code, entrypoint="Three", params={"n": n})
    single = N / (time.perf_counter() - start)
    batches = [
        [{"tenant": "t", "code": code, "entrypoint": "Three", "params": {"n": n}} for n in range(100)]
    ] * (N // 100)
    start = time.perf_counter()
    for batch in batches:
        engine.create_batch(batch)
    batched = N / (time.perf_counter() - start)
    engine.close()
    return {"create_single_per_s": single, "create_batch_per_s": batched}


def waiting(count: int) -> dict[str, float]:
    """Run in a fresh process (`python benches/test_workflows.py waiting N`)."""
    with tempfile.TemporaryDirectory() as directory, _engine(directory) as engine:
        code = engine.put_bundle({"waiter.js": WAITER})
        warm = engine.create(tenant="t", code=code, entrypoint="Waiter")
        warm.send_event("go", 0)
        warm.wait(30)
        before = _rss_kb()
        start = time.perf_counter()
        ids = []
        for first in range(0, count, 1_000):
            rows = [
                {"tenant": "t", "code": code, "entrypoint": "Waiter"}
                for _ in range(min(1_000, count - first))
            ]
            ids += [i.id for i in engine.create_batch(rows)]
        while engine._store.count("waiting") < count:
            time.sleep(0.05)
        parked_s = time.perf_counter() - start
        grown_kb = _rss_kb() - before
        start = time.perf_counter()
        engine.send_events([(id, "go", n) for n, id in enumerate(ids)])
        sent_s = time.perf_counter() - start
        while engine._store.count("complete") < count + 1:
            time.sleep(0.05)
        resumed_s = time.perf_counter() - start
    return {
        "waiting": count,
        "park_per_s": count / parked_s,
        "resume_per_s": count / resumed_s,
        "park_s": parked_s,
        "rss_growth_mib": grown_kb / 1024,
        "rss_per_waiting_bytes": grown_kb * 1024 / count,
        "send_s": sent_s,
        "complete_after_events_s": resumed_s,
    }


def _subprocess_json(command: list[str]) -> Any:
    out = subprocess.run(command, check=True, capture_output=True, text=True, timeout=1_800)
    return json.loads(out.stdout)


def _ours() -> dict[str, float]:
    figures: dict[str, float] = {}
    for measure in (_throughput, _latency, _creation):
        with tempfile.TemporaryDirectory() as directory:
            figures.update(measure(lambda: _engine(directory)))
    figures.update(_subprocess_json([sys.executable, __file__, "waiting", str(WAITING)]))
    return figures


# Each side's suite runs once (pedantic, one round): the figures are its own timings, not the
# fixture's; the fixture keeps these in the `--benchmark-only` session. Each side takes minutes on a
# small machine, past the suite's default timeout.
@pytest.mark.timeout(1_800)
def test_workflows_dynisolate(benchmark: Any, wf_figures: dict[str, dict[str, float]]) -> None:
    wf_figures["dynisolate"].update(benchmark.pedantic(_ours, rounds=1, iterations=1))


@pytest.mark.timeout(1_800)
def test_workflows_dbos(benchmark: Any, wf_figures: dict[str, dict[str, float]], wf_notes: list[str]) -> None:
    import importlib.metadata

    command = [sys.executable, str(BENCHES / "dbos_peer.py"), "--n", str(N), "--waiting", str(DBOS_WAITING),
               "--synchronous", SYNCHRONOUS, "--mode", "async"]  # fmt: skip
    raw = benchmark.pedantic(_subprocess_json, args=(command,), rounds=1, iterations=1)
    w = raw["waiting"]
    wf_figures["DBOS"].update(
        {
            "throughput_per_s": raw["throughput"]["workflows_per_s"],
            "latency_median_ms": raw["latency"]["median_us"] / 1e3,
            "latency_p99_ms": raw["latency"]["p99_us"] / 1e3,
            "create_single_per_s": raw["creation"]["single_per_s"],
            "create_batch_per_s": raw["creation"]["batch_per_s"],
            "waiting": w["waiting"],
            "park_per_s": w["waiting"] / w["start_s"],
            "resume_per_s": w["waiting"] / w["resume_s"],
            "park_s": w["start_s"],
            "rss_growth_mib": (w["rss_waiting_kb"] - w["rss_before_kb"]) / 1024,
            "rss_per_waiting_bytes": w["rss_per_waiting_bytes"],
            "send_s": w["send_s"],
            "complete_after_events_s": w["resume_s"],
        }
    )
    pragmas = raw["throughput"]
    wf_notes.append(
        f"DBOS {importlib.metadata.version('dbos')}: SQLite journal_mode={pragmas['journal_mode']}, "
        f"synchronous={pragmas['synchronous']}; creation is Queue.enqueue (DBOS has no batch "
        "API: a batch is 100 enqueue_in_transaction calls in one transaction); waiters are async "
        f"workflows in DBOS.recv_async, {DBOS_WAITING:,} of them (50,000 would take DBOS over 10 minutes)."
    )


if __name__ == "__main__":
    if sys.argv[1:2] == ["waiting"]:
        print(json.dumps(waiting(int(sys.argv[2]))))
