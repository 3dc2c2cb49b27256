"""The PostgreSQL store's group commit statements (`_postgres_group.py`): with many instances
leased, a group looks its own instances up by id and reads no more rows than it writes, rather
than scanning every leased instance."""

from __future__ import annotations

import re
import time

import psycopg

from dynisolate.workflows import Engine, Step, WorkflowEvent
from dynisolate.workflows._postgres_group import (
    _COMMIT_GROUP_SQL,
    _RELEASE_WAITERS_SQL,
    Release,
    StepWrite,
    group_args,
    waiters_args,
)
from dynisolate.workflows._store import InstanceRow, StepRow

LEASED = 1_000


def idle(event: WorkflowEvent, step: Step) -> str:
    return "done"


def most_rows_of_a_plan_node(url: str, sql: str, document: str) -> int:
    """Runs `sql` under EXPLAIN ANALYZE in a transaction rolled back after; the most rows any node
    of its plan produced (an index scan over every leased instance would produce them all)."""
    with psycopg.connect(url) as conn:
        explain = f"EXPLAIN (ANALYZE, COSTS OFF) {sql.replace('%', '%%').replace('$1', '%(d)s')}"
        text = "\n".join(line for (line,) in conn.execute(explain, {"d": document}))
        conn.rollback()
    return max(int(n) for n in re.findall(r"actual time=\S+ rows=(\d+)", text))


def leased(engine: Engine) -> list[InstanceRow]:
    engine.create_batch([{"tenant": "t", "entrypoint": "idle"} for _ in range(LEASED)])
    rows: list[InstanceRow] = []
    while len(rows) < LEASED:
        rows += engine._store.claim("me", time.time(), time.time() + 600, limit=100)
    return rows


def test_a_group_reads_only_its_own_instances_among_many_leased(postgres_url: str) -> None:
    engine = Engine(postgres_url, workflows={"idle": idle})
    a, b, c = leased(engine)[:3]
    now = time.time()
    step = StepRow("one#1", "do", "one", 1, 1, False, "complete", 1, "2", started_at=now, ended_at=now)
    steps = [StepWrite(r.id, r.generation, step, None) for r in (a, b)]
    ending = Release(c.id, c.generation, "complete", None, None, "3", None, now)
    assert most_rows_of_a_plan_node(postgres_url, _COMMIT_GROUP_SQL, group_args(steps, [ending])[0]) <= 10
    waiting = Release(c.id, c.generation, "waiting", now + 60, "go", None, None, now)
    assert most_rows_of_a_plan_node(postgres_url, _RELEASE_WAITERS_SQL, waiters_args([waiting])[0]) <= 10
    engine.close()


def test_a_write_the_server_refuses_fails_alone_not_its_group(postgres_url: str) -> None:
    from dynisolate.workflows._group_commit import Ticket

    engine = Engine(postgres_url, workflows={"idle": idle})
    engine.create_batch([{"tenant": t, "entrypoint": "idle"} for t in ("good", "bad")])
    rows = engine._store.claim("me", time.time(), time.time() + 60, limit=8)
    rows += engine._store.claim("me", time.time(), time.time() + 60, limit=8)
    good, bad = sorted(rows, key=lambda r: r.tenant != "good")
    now = time.time()
    fine = StepRow("one#1", "do", "one", 1, 1, False, "complete", 1, "1", started_at=now, ended_at=now)
    poison = StepRow("one#1", "do", "one", 1, 1, False, "complete", 1, '"\x00"', started_at=now, ended_at=now)
    tickets = [
        Ticket(StepWrite(good.id, good.generation, fine, None)),
        Ticket(StepWrite(bad.id, bad.generation, poison, None)),
    ]
    engine._store._commit_group(tickets)  # type: ignore[attr-defined]
    assert (tickets[0].value, tickets[0].error) == ("running", None)
    assert isinstance(tickets[1].error, psycopg.Error)
    assert [s.value for s in engine._store.steps(good.id)] == ["1"]
    assert engine._store.steps(bad.id) == []
    engine.close()
