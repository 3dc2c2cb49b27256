"""DBOS Transact peer for the durable-workflow benchmark.

Each public function launches DBOS on a fresh SQLite system database in a temporary
directory, measures one thing, destroys DBOS and removes the directory, so they can run
one after another in one process. Run as a script to print every figure as JSON:

    python benches/dbos_peer.py [--n 2000] [--waiting 50000] [--synchronous full|normal]
                                [--mode thread|async] [--postgres SERVER_URL]

With --postgres (a server URL, `postgresql://user@host:port/postgres`), each measurement runs on a
fresh database of that server instead (DBOS's Postgres backend, psycopg 3), with the server's
durability settings, which every figure reports (synchronous_commit, fsync).

Waiting instances cost two fsync'd SQLite commits to park and two to resume, and on
SQLite DBOS's listener polls every waiter with its own SELECT each second, so W=50,000
takes far longer than minutes (about 7,000 fit in 2 minutes on a 2-core VM); in thread
mode each waiter also holds an OS thread, and this machine stops at about 22,000 threads.

SQLite facts (dbos 3.4.0, _sys_db_sqlite.py): DBOS's connect hook sets only
isolation_level=IMMEDIATE, busy_timeout=30000 and foreign_keys=ON. It never sets
journal_mode or synchronous, so the system database runs on SQLite's defaults:
journal_mode=delete and synchronous=FULL. Every figure returned carries the values read
back from a connection of DBOS's own pool.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import multiprocessing
import shutil
import sqlite3
import statistics
import tempfile
import time
from collections.abc import Iterator
from concurrent.futures import ProcessPoolExecutor
from contextlib import closing, contextmanager
from pathlib import Path
from typing import Any, Literal

import sqlalchemy as sa
from dbos import DBOS, DBOSClient, DBOSConfig, EnqueueOptions, SendMessage

Synchronous = Literal["full", "normal"]
WaitMode = Literal["thread", "async"]

TOPIC = "go"
QUEUE = "bench_create"
WARMUP = 20
PRAGMAS = ("journal_mode", "synchronous", "busy_timeout")
PARK_DEADLINE_S = 3600.0  # generous: the point is the figure, the cap only stops a hang


@DBOS.step()
def _inc(n: int) -> int:
    return n + 1


@DBOS.workflow()
def three_steps(n: int) -> int:
    return _inc(_inc(_inc(n)))


@DBOS.workflow()
def wait_message(timeout_s: float) -> Any:
    return DBOS.recv(TOPIC, timeout_seconds=timeout_s)


@DBOS.workflow()
async def wait_message_async(timeout_s: float) -> Any:
    return await DBOS.recv_async(TOPIC, timeout_seconds=timeout_s)


def _connection_class(synchronous: Synchronous) -> type[sqlite3.Connection]:
    """A sqlite3 connection class that applies the PRAGMA as each connection opens.

    Passed as sqlite3.connect's `factory` through DBOS's supported `db_engine_kwargs`
    (connect_args), so DBOS keeps building its own engine with its own connect hook.
    """
    if synchronous not in ("full", "normal"):
        raise ValueError(f"synchronous must be 'full' or 'normal', not {synchronous!r}")
    pragma = f"PRAGMA synchronous={synchronous.upper()}"

    class Connection(sqlite3.Connection):
        def __init__(self, *args: Any, **kwargs: Any) -> None:
            super().__init__(*args, **kwargs)
            self.execute(pragma)

    return Connection


def _client_engine(url: str, synchronous: Synchronous) -> sa.Engine:
    """An engine for DBOSClient set up as DBOS sets up its own (_sys_db_sqlite.py)."""
    engine = sa.create_engine(url, connect_args={"factory": _connection_class(synchronous)})

    @sa.event.listens_for(engine, "connect")
    def _on_connect(dbapi_conn: Any, _record: Any) -> None:
        dbapi_conn.isolation_level = "IMMEDIATE"
        dbapi_conn.execute("PRAGMA busy_timeout=30000")
        dbapi_conn.execute("PRAGMA foreign_keys=ON")

    return engine


POSTGRES: str | None = None  # a server URL, set by --postgres


@contextmanager
def _postgres_database() -> Iterator[str]:
    """A fresh database on the POSTGRES server, dropped afterwards."""
    import uuid

    import psycopg

    assert POSTGRES is not None
    name = f"dbos_bench_{uuid.uuid4().hex[:10]}"
    with psycopg.connect(POSTGRES, autocommit=True) as admin:
        admin.execute(f"CREATE DATABASE {name}")
    try:
        yield POSTGRES.rsplit("/", 1)[0] + "/" + name
    finally:
        with psycopg.connect(POSTGRES, autocommit=True) as admin:
            admin.execute(f"DROP DATABASE {name} WITH (FORCE)")


@contextmanager
def _dbos(
    cfg: DBOSConfig, listen_queues: list[str] | None, read: str, settings: tuple[str, ...]
) -> Iterator[dict[str, Any]]:
    """DBOS launched with `cfg`; yields `settings` read back from a connection of DBOS's own pool
    with `read` ("PRAGMA {}" or "SHOW {}"): they are per connection on SQLite, so only its pool
    can tell (_sys_db is private; there is no public handle on the engine)."""
    try:
        dbos = DBOS(config=cfg)
        if listen_queues is not None:
            DBOS.listen_queues(listen_queues)
        DBOS.launch()
        with dbos._sys_db.engine.connect() as conn:  # given back before the measurement
            values = {k: conn.exec_driver_sql(read.format(k)).scalar() for k in settings}
        yield values
    finally:
        DBOS.destroy()


@contextmanager
def _launched(
    synchronous: Synchronous,
    *,
    listen_queues: list[str] | None = None,
    max_executor_threads: int | None = None,
) -> Iterator[tuple[str, dict[str, Any]]]:
    """Launch DBOS on a fresh SQLite file (or PostgreSQL database); yield (url, its durability
    settings read from DBOS's pool)."""
    cfg: DBOSConfig = {
        "name": "dynisolate-bench",
        "log_level": "WARNING",
        "max_executor_threads": max_executor_threads,
    }
    if POSTGRES is not None:
        with _postgres_database() as url:
            cfg["system_database_url"] = url
            with _dbos(cfg, listen_queues, "SHOW {}", ("synchronous_commit", "fsync")) as settings:
                yield url, settings
        return
    tmp = Path(tempfile.mkdtemp(prefix="dbos-bench-"))
    url = f"sqlite:///{tmp / 'dbos_sys.sqlite'}"
    cfg["system_database_url"] = url
    cfg["db_engine_kwargs"] = {"connect_args": {"factory": _connection_class(synchronous)}}
    try:
        with _dbos(cfg, listen_queues, "PRAGMA {}", PRAGMAS) as pragma:
            pragma["synchronous"] = ("off", "normal", "full", "extra")[int(pragma["synchronous"] or 0)]
            yield url, pragma
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


def _warm_up() -> None:
    for i in range(WARMUP):
        DBOS.start_workflow(three_steps, i).get_result()


def throughput(n: int = 2000, synchronous: Synchronous = "full") -> dict[str, Any]:
    """Start n three-step workflows at once (each runs on a DBOS executor thread), await all."""
    with _launched(synchronous) as (_, pragmas):
        _warm_up()
        t0 = time.perf_counter()
        handles = [DBOS.start_workflow(three_steps, i) for i in range(n)]
        assert [h.get_result() for h in handles] == [i + 3 for i in range(n)]
        seconds = time.perf_counter() - t0
    return {"workflows": n, "seconds": seconds, "workflows_per_s": n / seconds, **pragmas}


def latency(runs: int = 200, synchronous: Synchronous = "full") -> dict[str, Any]:
    """Start one three-step workflow and wait for its result, runs times in a row."""
    samples: list[float] = []
    with _launched(synchronous) as (_, pragmas):
        _warm_up()
        for i in range(runs):
            t0 = time.perf_counter()
            DBOS.start_workflow(three_steps, i).get_result()
            samples.append((time.perf_counter() - t0) * 1e6)
    return {
        "runs": runs,
        "median_us": statistics.median(samples),
        "p99_us": statistics.quantiles(samples, n=100, method="inclusive")[98],
        **pragmas,
    }


def creation(n: int = 2000, batch: int = 100, synchronous: Synchronous = "full") -> dict[str, Any]:
    """Durable creation only: ENQUEUED rows on a queue this process does not dequeue.

    start_workflow runs each workflow at once on a thread, which would compete with the
    creations being timed, so this enqueues instead and launches with listen_queues([]):
    nothing runs, and the time is the enqueue calls alone (one committed row each).
    DBOS has no batch-enqueue API; the nearest public one is
    DBOSClient.enqueue_in_transaction, so a batch is that many enqueues in one transaction.
    """
    with _launched(synchronous, listen_queues=[]) as (url, pragmas):
        queue = DBOS.register_queue(QUEUE)
        queue.enqueue(three_steps, -1)  # warm the statement cache
        t0 = time.perf_counter()
        for i in range(n):
            queue.enqueue(three_steps, i)
        single_s = time.perf_counter() - t0

        if POSTGRES is None:
            engine = _client_engine(url, synchronous)
        else:
            engine = sa.create_engine(url.replace("postgresql://", "postgresql+psycopg://", 1))
        client = DBOSClient(system_database_engine=engine, application_name="dynisolate-bench")
        options: EnqueueOptions = {"workflow_name": three_steps.__qualname__, "queue_name": QUEUE}
        try:
            batches = max(1, n // batch)
            t0 = time.perf_counter()
            for b in range(batches):
                with engine.begin() as conn:
                    for i in range(batch):
                        client.enqueue_in_transaction(conn, options, b * batch + i)
            batch_s = time.perf_counter() - t0
        finally:
            client.destroy()
            engine.dispose()
    return {
        "workflows": n,
        "single_per_s": n / single_s,
        "batch_size": batch,
        "batch_per_s": batches * batch / batch_s,
        "measured": "Queue.enqueue one by one; batch = DBOSClient.enqueue_in_transaction x batch, "
        "one commit per batch; nothing dequeued",
        **pragmas,
    }


def _vm_rss_kb() -> int:
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1])
    raise RuntimeError("no VmRSS in /proc/self/status")


def _count_waiting(url: str) -> int:
    """Workflows parked in recv: recv records its timeout as a DBOS.sleep step right before
    it blocks. Read from the file directly, as DBOS has no public query for it."""
    path = url.removeprefix("sqlite:///")
    with closing(sqlite3.connect(f"file:{path}?mode=ro", uri=True, timeout=30)) as conn:
        row = conn.execute(
            "SELECT count(*) FROM operation_outputs WHERE function_name = 'DBOS.sleep'"
        ).fetchone()
    return int(row[0])


def _wait_until_waiting(url: str, w: int, deadline: float) -> None:
    while _count_waiting(url) < w:
        if time.monotonic() > deadline:
            raise TimeoutError(f"only {_count_waiting(url)} of {w} workflows reached recv")
        time.sleep(0.2)


def waiting_instances(
    w: int = 50_000,
    synchronous: Synchronous = "full",
    mode: WaitMode = "thread",
    timeout_s: float = 3600.0,
) -> dict[str, Any]:
    """Park w workflows in recv, measure RSS growth, then message all and time completion.

    mode "thread": a sync workflow and DBOS.recv, one blocked executor thread each
    (DBOS's default), so w is bounded by the threads the OS allows (kernel.pid_max,
    vm.max_map_count). mode "async": an async workflow and DBOS.recv_async, started
    with start_workflow_async; each waiter is a task on one event loop.
    The messages go in one DBOS.send_bulk transaction.
    """
    # Async waiters run their database calls through asyncio.to_thread on the DBOS
    # executor, which is unbounded by default and would grow a thread per concurrent call.
    threads = 64 if mode == "async" else None
    with _launched(synchronous, max_executor_threads=threads) as (url, pragmas):
        _warm_up()
        rss_before = _vm_rss_kb()
        t0 = time.perf_counter()
        if mode == "thread":
            handles = [DBOS.start_workflow(wait_message, timeout_s) for _ in range(w)]
            _wait_until_waiting(url, w, time.monotonic() + PARK_DEADLINE_S)
            started_s = time.perf_counter() - t0
            rss_waiting = _vm_rss_kb()
            t1 = time.perf_counter()
            DBOS.send_bulk([SendMessage(h.workflow_id, "ok", TOPIC) for h in handles])
            sent_s = time.perf_counter() - t1
            results = [h.get_result() for h in handles]
            resumed_s = time.perf_counter() - t1
        else:
            started_s, rss_waiting, sent_s, resumed_s, results = asyncio.run(
                _waiting_async(url, w, timeout_s)
            )
    assert results == ["ok"] * w
    return {
        "waiting": w,
        "mode": mode,
        "start_s": started_s,
        "rss_before_kb": rss_before,
        "rss_waiting_kb": rss_waiting,
        "rss_per_waiting_bytes": (rss_waiting - rss_before) * 1024 / w,
        "send_s": sent_s,
        "resume_s": resumed_s,
        "resumed_per_s": w / resumed_s,
        **pragmas,
    }


async def _waiting_async(url: str, w: int, timeout_s: float) -> tuple[float, int, float, float, list[Any]]:
    t0 = time.perf_counter()
    handles = [await DBOS.start_workflow_async(wait_message_async, timeout_s) for _ in range(w)]
    await asyncio.to_thread(_wait_until_waiting, url, w, time.monotonic() + PARK_DEADLINE_S)
    started_s = time.perf_counter() - t0
    rss_waiting = _vm_rss_kb()
    t1 = time.perf_counter()
    await DBOS.send_bulk_async([SendMessage(h.workflow_id, "ok", TOPIC) for h in handles])
    sent_s = time.perf_counter() - t1
    results = [await h.get_result() for h in handles]
    return started_s, rss_waiting, sent_s, time.perf_counter() - t1, results


def run_all(
    n: int = 2000,
    waiting: int = 50_000,
    synchronous: Synchronous = "full",
    mode: WaitMode = "thread",
) -> dict[str, Any]:
    figures = {
        "throughput": throughput(n, synchronous),
        "latency": latency(200, synchronous),
        "creation": creation(n, 100, synchronous),
    }
    # A fresh interpreter, so the RSS baseline holds no heap freed by the runs above
    # (reused, it would hide part of the waiters' growth).
    with ProcessPoolExecutor(1, mp_context=multiprocessing.get_context("spawn")) as pool:
        figures["waiting"] = pool.submit(waiting_instances, waiting, synchronous, mode).result()
    return figures


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--n", type=int, default=2000)
    parser.add_argument("--waiting", type=int, default=50_000)
    parser.add_argument("--synchronous", choices=["full", "normal"], default="full")
    parser.add_argument("--mode", choices=["thread", "async"], default="thread")
    parser.add_argument("--postgres", help="a PostgreSQL server URL: run on fresh databases of it")
    parser.add_argument("--only", help="one measurement: throughput, latency or creation")
    args = parser.parse_args()
    global POSTGRES
    POSTGRES = args.postgres
    if args.only:
        measure = {"throughput": throughput, "latency": latency, "creation": creation}[args.only]
        print(json.dumps(measure(synchronous=args.synchronous), indent=2))
        return
    print(json.dumps(run_all(args.n, args.waiting, args.synchronous, args.mode), indent=2))


if __name__ == "__main__":
    main()
