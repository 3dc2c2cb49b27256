"""How work made by one process reaches another's idle workers on PostgreSQL: wake hints
(NOTIFY after commit, LISTEN) start it at once; without them (behind a transaction-mode pooler)
the poll finds it; a lost listening connection is replaced; idle engines poll lightly."""

from __future__ import annotations

import time

import psycopg

import postgres_cluster
from dynisolate.workflows import Engine, Step, WorkflowEvent


def stamp(event: WorkflowEvent, step: Step) -> float:
    return step.do("stamp", time.time)


def pickup_s(worker: Engine, creator: Engine) -> float:
    """Seconds from a creation in `creator` (not started) to its run starting in `worker`."""
    created = time.time()
    instance = creator.create(tenant="t", entrypoint="stamp")
    started = float(instance.wait(timeout=30).output)
    return started - created


def test_work_made_elsewhere_starts_at_once_with_hints_and_not_by_polling(postgres_url: str) -> None:
    # Polling only every 30 s: a pickup within a second is the hint's doing.
    with Engine(postgres_url, workflows={"stamp": stamp}, workers=2, poll_s=30) as worker:
        creator = Engine(postgres_url, workflows={"stamp": stamp})
        time.sleep(0.2)  # the worker is listening and idle
        lags = [pickup_s(worker, creator) for _ in range(5)]
        creator.close()
    assert max(lags) < 1.0, lags


def test_engines_behind_a_transaction_pooler_find_work_by_polling(postgres_url: str) -> None:
    with Engine(
        postgres_url, workflows={"stamp": stamp}, workers=2, poll_s=0.2, transaction_pooler=True
    ) as worker:
        creator = Engine(postgres_url, workflows={"stamp": stamp}, transaction_pooler=True)
        assert worker._store.default_poll_s == 0.25
        lags = [pickup_s(worker, creator) for _ in range(3)]
        creator.close()
    assert max(lags) < 1.5, lags


def test_a_lost_listening_connection_is_replaced(
    postgres_url: str, postgres: postgres_cluster.Cluster
) -> None:
    with Engine(postgres_url, workflows={"stamp": stamp}, workers=2, poll_s=30) as worker:
        creator = Engine(postgres_url, workflows={"stamp": stamp})
        time.sleep(0.2)
        with psycopg.connect(postgres.url, autocommit=True) as admin:
            killed = admin.execute(
                "SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE query LIKE 'LISTEN%%'"
            ).fetchall()
        assert killed
        time.sleep(1.5)  # the listener notices and reconnects (0.5 s backoff)
        assert pickup_s(worker, creator) < 1.0
        creator.close()


def test_idle_engines_poll_lightly(postgres_url: str, postgres: postgres_cluster.Cluster) -> None:
    database = postgres_url.rsplit("/", 1)[1]

    def transactions() -> int:
        with psycopg.connect(postgres.url, autocommit=True) as admin:
            row = admin.execute(
                "SELECT xact_commit + xact_rollback FROM pg_stat_database WHERE datname = %s", (database,)
            ).fetchone()
        assert row is not None
        return int(row[0])

    with Engine(postgres_url, workflows={"stamp": stamp}, workers=8, poll_s=0.1, transaction_pooler=True):
        time.sleep(0.5)
        before = transactions()
        time.sleep(2.0)
        idle = transactions() - before
    # Eight idle workers, a 0.1 s poll: one read of the next wake time per 0.05 s for all of them,
    # plus the heartbeat's renewal and recovery (about three a second): well under 80 a second.
    assert idle < 2.0 * 40, f"{idle} transactions in 2 s from an idle engine"
