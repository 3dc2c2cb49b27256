"""Durable workflows on PostgreSQL: dynisolate against DBOS (benches/dbos_peer.py --postgres) on
one throwaway cluster with PostgreSQL's durable defaults (fsync on, synchronous_commit on), each
measurement on a fresh database of it, one run side by side.

Both sides: throughput (2,000 3-step workflows started one by one in one process, until all
complete), one workflow's latency, creation one at a time and in batches of 100. Ours also:
throughput of a backlog worked by 1, 2 and 4 `dynisolate worker` processes; how a claim's latency
grows with 10,000 and 1,000,000 finished instances in the tables; and 100,000 instances created,
run and deleted by retention, then the tables' dead tuples and sizes.
"""

from __future__ import annotations

import importlib.metadata
import json
import os
import statistics
import subprocess
import sys
import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import pytest

BENCHES = Path(__file__).parent
sys.path.insert(0, str(BENCHES.parent / "tests"))

from test_workflows import THREE_STEPS, _creation, _latency, _throughput  # noqa: E402

import postgres_cluster  # noqa: E402

PROCESSES = (1, 2, 4)
BACKLOG = 6_000
WORKERS_PER_PROCESS = 16
CLAIM_SIZES = (10_000, 1_000_000)
CLAIM_ROUNDS = 300
CHURN = 100_000
TABLES = ("instances", "steps", "events", "ready", "tenants")


@pytest.fixture(scope="module")
def cluster() -> Iterator[postgres_cluster.Cluster]:
    cluster = postgres_cluster.start(durable=True)
    try:
        yield cluster
    finally:
        cluster.remove()


@contextmanager
def database(cluster: postgres_cluster.Cluster) -> Iterator[str]:
    import psycopg

    name = f"bench_{uuid.uuid4().hex[:10]}"
    with psycopg.connect(cluster.url, autocommit=True) as admin:
        admin.execute(f"CREATE DATABASE {name}")
    try:
        yield cluster.url_for(name)
    finally:
        with psycopg.connect(cluster.url, autocommit=True) as admin:
            admin.execute(f"DROP DATABASE {name} WITH (FORCE)")


def _engine(url: str, **settings: Any) -> Any:
    from dynisolate.workflows import Engine

    return Engine(url, **settings)


@contextmanager
def workers(url: str, count: int, *extra: str) -> Iterator[None]:
    """`count` worker processes on `url`, each announced ready before this yields."""
    command = [
        sys.executable,
        "-m",
        "dynisolate",
        "worker",
        "--db",
        url,
        "--workers",
        str(WORKERS_PER_PROCESS),
    ]
    processes = [
        subprocess.Popen([*command, "--host-id", f"bench-{n}", *extra], stderr=subprocess.PIPE, text=True)
        for n in range(count)
    ]
    try:
        for process in processes:
            assert process.stderr is not None
            line = process.stderr.readline()
            assert "running on" in line, line
        yield
    finally:
        for process in processes:
            process.terminate()
        for process in processes:
            process.wait(timeout=60)
            assert process.stderr is not None
            process.stderr.close()


def _sql(url: str, query: str, *args: Any) -> list[tuple[Any, ...]]:
    import psycopg

    with psycopg.connect(url, autocommit=True) as conn:
        cursor = conn.execute(query, args or None)
        return cursor.fetchall() if cursor.description is not None else []


def _backlog_throughput(url: str, processes: int) -> float:
    """A backlog of BACKLOG instances, created in batches while the workers wait, until done."""
    engine = _engine(url)  # creates only
    code = engine.put_bundle({"three.js": THREE_STEPS})
    rows = [
        {"tenant": f"t{n % 8}", "code": code, "entrypoint": "Three", "params": {"n": n}}
        for n in range(BACKLOG)
    ]
    with workers(url, processes):
        start = time.perf_counter()
        for first in range(0, BACKLOG, 100):
            engine.create_batch(rows[first : first + 100])
        while engine._store.count("complete") < BACKLOG:
            time.sleep(0.02)
        seconds = time.perf_counter() - start
    engine.close()
    return BACKLOG / seconds


def _claim_latency(url: str, finished: int) -> float:
    """Median ms of a claim of one due instance, with `finished` instances (and 3 steps each)
    already in the tables, over 100 tenants."""
    engine = _engine(url, workflows={"Three": lambda event, step: None})  # claimed, never run
    _sql(
        url,
        """INSERT INTO tenants (tenant) SELECT 't' || n FROM generate_series(0, 99) n
           ON CONFLICT DO NOTHING""",
    )
    _sql(
        url,
        """INSERT INTO instances (id, tenant, workflow, params, metadata, status, created_at,
               updated_at, output, generation, runs)
           SELECT 'old-' || n, 't' || (n %% 100), 'Three', '{}', '{}', 'complete', n, n + 1, '3', 1, 1
           FROM generate_series(1, %s) n""",
        finished,
    )
    _sql(
        url,
        """INSERT INTO steps (instance, key, kind, name, count, position, concurrent, state, attempts,
               value, started_at, ended_at)
           SELECT 'old-' || n, s || '#1', 'do', s, 1, p, false, 'complete', 1, '1', n, n
           FROM generate_series(1, %s) n, (VALUES ('one', 1), ('two', 2), ('three', 3)) AS v(s, p)""",
        finished,
    )
    _sql(url, "VACUUM ANALYZE")
    samples = []
    for n in range(CLAIM_ROUNDS + 20):
        engine.create(tenant=f"t{n % 100}", entrypoint="Three")
        now = time.time()
        start = time.perf_counter()
        (row,) = engine._store.claim("bench", now, now + 30, 8)
        samples.append(time.perf_counter() - start)
        engine._store.release(row.id, row.generation, "complete", output="1")
    engine.close()
    return statistics.median(samples[20:]) * 1e3


def _table_stats(url: str) -> list[tuple[Any, ...]]:
    """(table, live rows, dead rows, bytes with its indexes) of the store's tables."""
    return _sql(
        url,
        "SELECT relname, n_live_tup, n_dead_tup, pg_total_relation_size(relid) FROM pg_stat_user_tables",
    )


def _churn(url: str) -> dict[str, float]:
    """CHURN instances created and run by two worker processes that delete each finished one
    (retention 0, swept every 10 s): then what the tables hold, live and dead."""
    engine = _engine(url, retention_s=0)  # creates only
    code = engine.put_bundle({"three.js": THREE_STEPS})
    start = time.perf_counter()
    halfway = 0.0
    with workers(url, 2, "--retention-s", "0"):
        for first in range(0, CHURN, 1_000):
            if first == CHURN // 2:  # the tables' size halfway, against which the end's is read
                halfway = sum(size for _, _, _, size in _table_stats(url)) / 1024
            engine.create_batch(
                [
                    {"tenant": f"t{n % 8}", "code": code, "entrypoint": "Three", "params": {"n": n}}
                    for n in range(first, first + 1_000)
                ]
            )
            # Keep the backlog short, as a steady stream would.
            while (
                _sql(url, "SELECT count(*) FROM instances WHERE status NOT IN ('complete', 'errored')")[0][0]
                > 4_000
            ):
                time.sleep(0.05)
        while _sql(url, "SELECT count(*) FROM instances WHERE status NOT IN ('complete', 'errored')")[0][0]:
            time.sleep(0.1)
    seconds = time.perf_counter() - start
    engine.sweep()
    engine.close()
    _sql(url, "SELECT pg_stat_force_next_flush()")
    time.sleep(1.0)
    stats = {name: (live, dead, size) for name, live, dead, size in _table_stats(url)}
    figures = {"churn_per_s": CHURN / seconds, "churn_halfway_kib": halfway}
    figures["churn_end_kib"] = sum(size for _, _, size in stats.values()) / 1024
    for table in TABLES:
        live, dead, size = stats[table]
        figures[f"churn_{table}_live"] = live
        figures[f"churn_{table}_dead"] = dead
        figures[f"churn_{table}_kib"] = size / 1024
    return figures


def _ours(cluster: postgres_cluster.Cluster) -> dict[str, float]:
    figures: dict[str, float] = {}
    for measure in (_throughput, _latency, _creation):
        with database(cluster) as url:
            figures.update(measure(lambda: _engine(url)))  # noqa: B023 - called at once
    for processes in PROCESSES:
        with database(cluster) as url:
            figures[f"processes_{processes}_per_s"] = _backlog_throughput(url, processes)
    for size in CLAIM_SIZES:
        with database(cluster) as url:
            figures[f"claim_{size}_ms"] = _claim_latency(url, size)
    with database(cluster) as url:
        figures.update(_churn(url))
    return figures


@pytest.mark.timeout(3_600)
def test_postgres_dynisolate(benchmark: Any, cluster: postgres_cluster.Cluster, pg_figures: Any) -> None:
    pg_figures["dynisolate"].update(benchmark.pedantic(_ours, args=(cluster,), rounds=1, iterations=1))


@pytest.mark.timeout(1_800)
def test_postgres_dbos(
    benchmark: Any, cluster: postgres_cluster.Cluster, pg_figures: Any, pg_notes: list[str]
) -> None:
    def run() -> dict[str, Any]:
        raw = {}
        for only in ("throughput", "latency", "creation"):
            command = [
                sys.executable,
                str(BENCHES / "dbos_peer.py"),
                "--postgres",
                cluster.url,
                "--only",
                only,
            ]
            done = subprocess.run(command, check=True, capture_output=True, text=True, timeout=1_800)
            raw[only] = json.loads(done.stdout)
        return raw

    raw = benchmark.pedantic(run, rounds=1, iterations=1)
    pg_figures["DBOS"].update(
        {
            "throughput_per_s": raw["throughput"]["workflows_per_s"],
            "latency_median_ms": raw["latency"]["median_us"] / 1e3,
            "latency_p99_ms": raw["latency"]["p99_us"] / 1e3,
            "create_single_per_s": raw["creation"]["single_per_s"],
            "create_batch_per_s": raw["creation"]["batch_per_s"],
        }
    )
    settings = raw["throughput"]
    pg_notes.append(
        f"PostgreSQL {_sql(cluster.url, 'SHOW server_version')[0][0]} on this machine, fsync="
        f"{settings['fsync']}, synchronous_commit={settings['synchronous_commit']} for both; DBOS "
        f"{importlib.metadata.version('dbos')} (its Postgres backend, psycopg 3), dynisolate with "
        f"{os.cpu_count()} CPUs' default workers in one process, {WORKERS_PER_PROCESS} per worker process."
    )
