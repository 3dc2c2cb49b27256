"""The SQLite store: one file in WAL mode (or `:memory:`), the default backend.

Writes go through one connection under a process-wide lock, so threads never spin in SQLite's
busy handler against each other; other processes on the same file (a `dynisolate worker`, the
CLI) are serialised by SQLite's own locking, waited for up to `busy_timeout`. Reads use a
connection per thread.
"""

from __future__ import annotations

import sqlite3
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any, TypeVar

from ..exceptions import ConfigError
from ._group_commit import GroupCommit, Ticket
from ._lifecycle import transition
from ._sqlite_schema import migrate
from ._store import (
    FINISHED,
    EventRow,
    InstanceRow,
    StepRow,
    buffer_full,
    exists,
    not_found,
    repeated_id,
    state_error,
)

T = TypeVar("T")
# A write: a function of the connection, and whether it runs a single statement.
_Work = tuple[Callable[[sqlite3.Connection], Any], bool]

__all__ = ["SqliteStore"]

# What an instance's buffered events hold, read from the index alone (`events_buffered`): a
# payload's bytes are never touched (a 1 MiB payload spans overflow pages that reading a later
# column would walk).
_BUFFERED = (
    "SELECT COUNT(*), COALESCE(SUM(size), 0) FROM events INDEXED BY events_buffered "
    "WHERE instance = ? AND consumed_by IS NULL"
)

_INSTANCE_COLUMNS = (
    "id, tenant, workflow, bundle, params, metadata, status, created_at, wake_at, waiting_for, "
    "output, error_name, error_message, generation, owner, updated_at, runs, crashes"
)
_STEP_COLUMNS = (
    "key, kind, name, count, position, concurrent, state, attempts, value, error_name, "
    "error_message, wake_at, config, started_at, ended_at"
)
_LEASED = "status IN ('running', 'waitingForPause')"
# Finished instances past their tenant's retention: each tenant's oldest, from the index on
# (tenant, updated_at), so a sweep reads only what it deletes.
_EXPIRED = """SELECT i.id FROM tenants t JOIN instances i INDEXED BY instances_finished ON i.tenant = t.tenant
    WHERE i.status IN ('complete', 'errored', 'terminated')
        AND i.updated_at < ?1 - COALESCE(t.retention_s, ?2) LIMIT ?3"""
_SYNCHRONOUS = ("full", "normal")


def _instance(row: tuple[object, ...]) -> InstanceRow:
    return InstanceRow(*row)  # type: ignore[arg-type]


def _step(row: tuple[object, ...]) -> StepRow:
    step = StepRow(*row)  # type: ignore[arg-type]
    step.concurrent = bool(step.concurrent)
    return step


class SqliteStore:
    """`Store` on SQLite. `path` is a file (created on first use) or `":memory:"`.

    `synchronous` is SQLite's setting for the WAL: "full" syncs every commit to disk (nothing
    committed is lost even on power failure), "normal" syncs at checkpoints (nothing committed
    is lost when a process dies; the last commits can be lost if the machine does).
    """

    default_poll_s = 0.05

    def __init__(self, path: str, synchronous: str = "full", busy_timeout_ms: int = 10_000) -> None:
        if synchronous not in _SYNCHRONOUS:
            raise ConfigError(f"synchronous must be one of {_SYNCHRONOUS}, not {synchronous!r}")
        self._memory = path == ":memory:"
        if not self._memory:
            Path(path).parent.mkdir(parents=True, exist_ok=True)
        self.path = path
        self._synchronous = synchronous
        self._busy_timeout_ms = busy_timeout_ms
        self._lock = threading.RLock()
        # The schema first: a file this release must refuse is left exactly as it was, its
        # journal mode included.
        self._writer = self._connect(wal=False)
        migrate(self._writer, path)
        if not self._memory:
            self._writer.execute("PRAGMA journal_mode=WAL")
        self._group: GroupCommit[_Work] = GroupCommit(self._commit_group)
        self._tenants: set[str] = set()  # known to have a row in `tenants`
        self._local = threading.local()

    def _connect(self, wal: bool = True) -> sqlite3.Connection:
        conn = sqlite3.connect(
            self.path, isolation_level=None, check_same_thread=False, timeout=self._busy_timeout_ms / 1000
        )
        if wal and not self._memory:
            conn.execute("PRAGMA journal_mode=WAL")
        conn.execute(f"PRAGMA synchronous={self._synchronous.upper()}")
        return conn

    @contextmanager
    def _read(self) -> Iterator[sqlite3.Connection]:
        if self._memory:
            with self._lock:
                yield self._writer
            return
        conn = getattr(self._local, "conn", None)
        if conn is None:
            conn = self._local.conn = self._connect()
        yield conn

    def _write(self, fn: Callable[[sqlite3.Connection], T], single: bool = False) -> T:
        """Runs `fn(conn)` in a write transaction, committed with other threads' writes.
        `single`: fn runs one statement, which alone needs no explicit transaction."""
        return self._group.run((fn, single))  # type: ignore[no-any-return]

    def _commit_group(self, batch: list[Ticket[_Work]]) -> None:
        """One transaction for a group's writes, each inside its own savepoint (one failing
        function rolls back only its own writes). A lone writer pays two savepoint statements."""
        conn = self._writer
        with self._lock:  # also taken by readers of an in-memory database
            if len(batch) == 1 and batch[0].work[1]:
                batch[0].value = batch[0].work[0](conn)  # its own implicit transaction
                return
            conn.execute("BEGIN IMMEDIATE")
            try:
                if len(batch) == 1:
                    batch[0].value = batch[0].work[0](conn)
                else:
                    for ticket in batch:
                        fn, single = ticket.work
                        if single:  # one statement is atomic by itself: no savepoint needed
                            try:
                                ticket.value = fn(conn)
                            except Exception as error:
                                ticket.error = error
                            continue
                        conn.execute("SAVEPOINT ticket")
                        try:
                            ticket.value = fn(conn)
                        except Exception as error:
                            conn.execute("ROLLBACK TO ticket")
                            ticket.error = error
                        conn.execute("RELEASE ticket")
                conn.execute("COMMIT")
            except BaseException:
                if conn.in_transaction:  # a failed COMMIT leaves the transaction open
                    conn.execute("ROLLBACK")
                raise

    # ---- code bundles ----

    def put_bundle(self, hash: str, blob: bytes) -> None:
        def write(conn: sqlite3.Connection) -> None:
            conn.execute("INSERT OR IGNORE INTO bundles (hash, blob) VALUES (?, ?)", (hash, blob))

        return self._write(write)

    def get_bundle(self, hash: str) -> bytes | None:
        with self._read() as conn:
            row = conn.execute("SELECT blob FROM bundles WHERE hash = ?", (hash,)).fetchone()
        return None if row is None else bytes(row[0])

    # ---- instances ----

    def create(self, rows: list[InstanceRow], claim: tuple[str, float] | None = None) -> list[InstanceRow]:
        def write(conn: sqlite3.Connection) -> Any:
            tenants = sorted({r.tenant for r in rows} - self._tenants)
            conn.executemany("INSERT OR IGNORE INTO tenants (tenant) VALUES (?)", [(t,) for t in tenants])
            claimed: list[InstanceRow] = []
            if claim is not None:
                limited = {
                    t
                    for (t,) in conn.execute(
                        f"SELECT tenant FROM tenants WHERE max_running IS NOT NULL AND tenant IN "
                        f"({', '.join('?' * len(rows))})",
                        [r.tenant for r in rows],
                    )
                }
                owner, lease_until = claim
                for r in rows:
                    if r.tenant not in limited:
                        r.status, r.owner, r.generation, r.runs = "running", owner, r.generation + 1, 1
                        claimed.append(r)
            ids = [r.id for r in rows]
            duplicate = repeated_id(rows)
            if duplicate is None:
                marks = ", ".join("?" * len(ids))
                taken = conn.execute(
                    f"SELECT id FROM instances WHERE id IN ({marks}) LIMIT 1", ids
                ).fetchone()
                duplicate = None if taken is None else taken[0]
            if duplicate is not None:
                raise exists(duplicate)
            conn.executemany(
                f"INSERT INTO instances ({_INSTANCE_COLUMNS}, lease_until) VALUES ({', '.join('?' * 19)})",
                [
                    (r.id, r.tenant, r.workflow, r.bundle, r.params, r.metadata, r.status, r.created_at)
                    + (r.wake_at, None, None, None, None, r.generation, r.owner, r.created_at, r.runs, 0)
                    + (claim[1] if r.owner is not None and claim is not None else None,)
                    for r in rows
                ],
            )
            return claimed

        claimed: list[InstanceRow] = self._write(write)
        self._tenants.update(r.tenant for r in rows)
        return claimed

    def get(self, id: str) -> InstanceRow | None:
        with self._read() as conn:
            row = conn.execute(f"SELECT {_INSTANCE_COLUMNS} FROM instances WHERE id = ?", (id,)).fetchone()
        return None if row is None else _instance(row)

    def list_instances(self, status: str | None, tenant: str | None, limit: int) -> list[InstanceRow]:
        where, args = [], []
        if status is not None:
            where.append("status = ?")
            args.append(status)
        if tenant is not None:
            where.append("tenant = ?")
            args.append(tenant)
        clause = f"WHERE {' AND '.join(where)}" if where else ""
        with self._read() as conn:
            rows = conn.execute(
                f"SELECT {_INSTANCE_COLUMNS} FROM instances {clause} ORDER BY created_at, id LIMIT ?",
                (*args, limit),
            ).fetchall()
        return [_instance(r) for r in rows]

    def count(self, status: str | None = None) -> int:
        with self._read() as conn:
            if status is None:
                return int(conn.execute("SELECT COUNT(*) FROM instances").fetchone()[0])
            return int(
                conn.execute("SELECT COUNT(*) FROM instances WHERE status = ?", (status,)).fetchone()[0]
            )

    def steps(self, id: str) -> list[StepRow]:
        with self._read() as conn:
            rows = conn.execute(
                f"SELECT {_STEP_COLUMNS} FROM steps WHERE instance = ? ORDER BY position, started_at", (id,)
            ).fetchall()
        return [_step(r) for r in rows]

    def events(self, id: str) -> list[EventRow]:
        with self._read() as conn:
            rows = conn.execute(
                "SELECT seq, type, payload, timestamp, consumed_by FROM events "
                "WHERE instance = ? ORDER BY seq",
                (id,),
            ).fetchall()
        return [EventRow(*r) for r in rows]

    def next_event(self, id: str, type: str) -> EventRow | None:
        with self._read() as conn:
            row = conn.execute(
                "SELECT seq, type, payload, timestamp, consumed_by FROM events "
                "WHERE instance = ? AND type = ? AND consumed_by IS NULL ORDER BY seq LIMIT 1",
                (id, type),
            ).fetchone()
        return None if row is None else EventRow(*row)

    # ---- running ----

    def claim(self, owner: str, now: float, lease_until: float, limit: int = 1) -> list[InstanceRow]:
        def write(conn: sqlite3.Connection) -> Any:
            # The tenant served longest ago among those with a due instance and room under their
            # max_running; then up to `limit` of its due instances, earliest first.
            found = conn.execute(
                f"""SELECT c.tenant, c.room FROM (
                        SELECT t.tenant, t.served,
                            t.max_running - (SELECT COUNT(*) FROM instances r
                                             WHERE r.tenant = t.tenant AND r.{_LEASED}) AS room
                        FROM tenants t
                        WHERE EXISTS (SELECT 1 FROM instances i
                                      WHERE i.tenant = t.tenant AND i.status IN ('queued', 'waiting')
                                          AND i.wake_at <= ?1)) AS c
                    WHERE c.room IS NULL OR c.room > 0
                    ORDER BY c.served LIMIT 1""",
                (now,),
            ).fetchone()
            if found is None:
                return []
            tenant, room = found
            conn.execute(
                "UPDATE tenants SET served = (SELECT MAX(served) FROM tenants) + 1 WHERE tenant = ?",
                (tenant,),
            )
            rows = conn.execute(
                f"""UPDATE instances SET status = 'running', owner = ?1, lease_until = ?2,
                        generation = generation + 1, runs = runs + 1, updated_at = ?3
                    WHERE id IN (SELECT id FROM instances
                                 WHERE tenant = ?4 AND status IN ('queued', 'waiting') AND wake_at <= ?3
                                 ORDER BY wake_at LIMIT ?5)
                    RETURNING {_INSTANCE_COLUMNS}""",
                (owner, lease_until, now, tenant, limit if room is None else min(limit, room)),
            ).fetchall()
            return rows

        rows: list[tuple[Any, ...]] = self._write(write)
        rows.sort(key=lambda r: r[8])  # RETURNING order is unspecified: earliest due first
        return [_instance(r) for r in rows]

    def holds(self, id: str, generation: int) -> bool:
        with self._read() as conn:
            row = conn.execute(
                "SELECT 1 FROM instances WHERE id = ? AND generation = ? AND status = 'running'",
                (id, generation),
            ).fetchone()
        return row is not None

    def commit_step(
        self, id: str, generation: int, step: StepRow, event_seq: int | None = None
    ) -> str | None:
        # One statement (one commit) in the common case: the step row goes in only while this run
        # still holds the instance, and the instance's status comes back for the pause check.
        values = (
            id,
            step.key,
            step.kind,
            step.name,
            step.count,
            step.position,
            int(step.concurrent),
            step.state,
            step.attempts,
            step.value,
            step.error_name,
            step.error_message,
            step.wake_at,
            step.config,
            step.started_at,
            step.ended_at,
        )
        sql = f"""INSERT OR REPLACE INTO steps (instance, {_STEP_COLUMNS})
                  SELECT {", ".join("?" * 16)} WHERE EXISTS (
                      SELECT 1 FROM instances WHERE id = ? AND generation = ? AND {_LEASED})
                  RETURNING (SELECT status FROM instances WHERE id = ?)"""

        def write(conn: sqlite3.Connection) -> Any:
            # fetchall, not fetchone: the statement must be finished before its transaction ends
            row = next(iter(conn.execute(sql, (*values, id, generation, id)).fetchall()), None)
            if row is not None and event_seq is not None:
                conn.execute("UPDATE events SET consumed_by = ? WHERE seq = ?", (step.key, event_seq))
            return row

        row = self._write(write, single=event_seq is None)
        return None if row is None else str(row[0])

    def release(
        self,
        id: str,
        generation: int,
        status: str,
        wake_at: float | None = None,
        waiting_for: str | None = None,
        output: str | bytes | None = None,
        error: tuple[str, str] | None = None,
    ) -> bool:
        name, message = error if error is not None else (None, None)
        args = (status, wake_at, waiting_for, output, name, message, id, time.time(), generation)

        def write(conn: sqlite3.Connection) -> Any:
            return conn.execute(
                f"""UPDATE instances SET
                        status = CASE WHEN status = 'waitingForPause' AND ?1 = 'waiting' THEN 'paused'
                                      ELSE ?1 END,
                        -- an event that arrived while this run was deciding to wait: wake at once
                        wake_at = CASE WHEN ?3 IS NOT NULL AND EXISTS (
                                      SELECT 1 FROM events e WHERE e.instance = ?7
                                          AND e.consumed_by IS NULL AND (e.type = ?3 OR ?3 = '*'))
                                  THEN ?8 ELSE ?2 END,
                        waiting_for = ?3, output = ?4, error_name = ?5, error_message = ?6,
                        owner = NULL, lease_until = NULL, updated_at = ?8, crashes = 0
                    WHERE id = ?7 AND generation = ?9 AND {_LEASED} RETURNING 1""",
                args,
            ).fetchall()

        return bool(self._write(write, single=True))

    def renew(self, owner: str, lease_until: float) -> None:
        def write(conn: sqlite3.Connection) -> None:
            conn.execute(
                f"UPDATE instances SET lease_until = ? WHERE owner = ? AND {_LEASED}", (lease_until, owner)
            )

        return self._write(write)

    def reap(self, now: float, dead_owners: list[str]) -> int:
        marks = ", ".join("?" * len(dead_owners))
        dead = f" OR owner IN ({marks})" if dead_owners else ""

        def write(conn: sqlite3.Connection) -> int:
            cursor = conn.execute(
                f"""UPDATE instances SET
                        status = CASE status WHEN 'waitingForPause' THEN 'paused' ELSE 'queued' END,
                        owner = NULL, lease_until = NULL, wake_at = ?, generation = generation + 1,
                        crashes = crashes + 1
                    WHERE {_LEASED} AND (lease_until < ?{dead})""",
                (now, now, *dead_owners),
            )
            return cursor.rowcount

        return self._write(write)

    def owners(self) -> list[str]:
        with self._read() as conn:
            return [r[0] for r in conn.execute(f"SELECT DISTINCT owner FROM instances WHERE {_LEASED}")]

    def next_wake(self) -> float | None:
        with self._read() as conn:
            row = conn.execute(
                "SELECT MIN(wake_at) FROM instances WHERE status IN ('queued', 'waiting')"
            ).fetchone()
        return None if row[0] is None else float(row[0])

    def set_tenant_limit(self, tenant: str, max_running: int | None) -> None:
        def write(conn: sqlite3.Connection) -> None:
            conn.execute(
                "INSERT INTO tenants (tenant, max_running) VALUES (?, ?) "
                "ON CONFLICT (tenant) DO UPDATE SET max_running = excluded.max_running",
                (tenant, max_running),
            )

        return self._write(write)

    def set_tenant_retention(self, tenant: str, retention_s: float | None) -> None:
        def write(conn: sqlite3.Connection) -> None:
            conn.execute(
                "INSERT INTO tenants (tenant, retention_s) VALUES (?, ?) "
                "ON CONFLICT (tenant) DO UPDATE SET retention_s = excluded.retention_s",
                (tenant, retention_s),
            )

        return self._write(write)

    def sweep(self, now: float, retention_s: float | None, limit: int) -> int:
        def write(conn: sqlite3.Connection) -> int:
            ids = [id for (id,) in conn.execute(_EXPIRED, (now, retention_s, limit))]
            marks = ", ".join("?" * len(ids))
            for table, column in (("steps", "instance"), ("events", "instance"), ("instances", "id")):
                conn.execute(f"DELETE FROM {table} WHERE {column} IN ({marks})", ids)
            return len(ids)

        return self._write(write)

    # ---- operator actions ----

    def _status(self, conn: sqlite3.Connection, id: str) -> tuple[str, str | None]:
        row = conn.execute("SELECT status, waiting_for FROM instances WHERE id = ?", (id,)).fetchone()
        if row is None:
            raise not_found(id)
        return row[0], row[1]

    def send_events(
        self, events: list[tuple[str, str, str | bytes]], now: float, max_events: int, max_bytes: int
    ) -> None:
        def write(conn: sqlite3.Connection) -> None:
            for id, type, payload in events:
                status, waiting_for = self._status(conn, id)
                if status in FINISHED:
                    raise state_error(id, status, "receive events")
                # Counted in the transaction that inserts (BEGIN IMMEDIATE holds the write lock
                # from its start), so concurrent senders, in this process or another, see each
                # other's events and cannot together pass the caps.
                size = len(payload.encode()) if isinstance(payload, str) else len(payload)
                held, held_bytes = conn.execute(_BUFFERED, (id,)).fetchone()
                if held >= max_events or held_bytes + size > max_bytes:
                    raise buffer_full(id, held, held_bytes, max_events, max_bytes)
                conn.execute(
                    "INSERT INTO events (instance, type, payload, timestamp, size) VALUES (?, ?, ?, ?, ?)",
                    (id, type, payload, now, size),
                )
                if status == "waiting" and waiting_for in (type, "*"):
                    conn.execute(
                        "UPDATE instances SET wake_at = ?, updated_at = ? WHERE id = ?", (now, now, id)
                    )

        return self._write(write)

    def transition(self, id: str, op: str, now: float) -> str:
        def write(conn: sqlite3.Connection) -> str:
            status, _ = self._status(conn, id)
            plan = transition(id, op, status)
            if not plan.changed:
                return plan.status
            fence = ", generation = generation + 1, owner = NULL, lease_until = NULL" if plan.fence else ""
            wake = {"now": ", wake_at = ?", "clear": ", wake_at = NULL", "keep": ""}[plan.wake]
            args = (plan.status, now, now, id) if plan.wake == "now" else (plan.status, now, id)
            conn.execute(f"UPDATE instances SET status = ?, updated_at = ?{wake}{fence} WHERE id = ?", args)
            if plan.shift_waits:
                paused_at = conn.execute("SELECT paused_at FROM instances WHERE id = ?", (id,)).fetchone()[0]
                if paused_at is not None:
                    conn.execute(
                        "UPDATE steps SET wake_at = wake_at + ? WHERE instance = ? AND wake_at IS NOT NULL "
                        "AND state IN ('waiting', 'retrying')",
                        (now - paused_at, id),
                    )
            if plan.paused_at == "set":
                conn.execute(
                    "UPDATE instances SET paused_at = ? WHERE id = ? AND paused_at IS NULL", (now, id)
                )
            elif plan.paused_at == "clear":
                conn.execute("UPDATE instances SET paused_at = NULL WHERE id = ?", (id,))
            return plan.status

        return self._write(write)

    def restart(self, id: str, from_position: int | None, now: float) -> None:
        def write(conn: sqlite3.Connection) -> None:
            self._status(conn, id)
            position = -1 if from_position is None else from_position
            conn.execute(
                "UPDATE events SET consumed_by = NULL WHERE instance = ? AND consumed_by IN "
                "(SELECT key FROM steps WHERE instance = ? AND position >= ?)",
                (id, id, position),
            )
            conn.execute("DELETE FROM steps WHERE instance = ? AND position >= ?", (id, position))
            conn.execute(
                """UPDATE instances SET status = 'queued', wake_at = ?, waiting_for = NULL, output = NULL,
                       error_name = NULL, error_message = NULL, generation = generation + 1,
                       owner = NULL, lease_until = NULL, updated_at = ?
                   WHERE id = ?""",
                (now, now, id),
            )

        return self._write(write)

    def delete(self, id: str) -> None:
        def write(conn: sqlite3.Connection) -> None:
            self._status(conn, id)
            conn.execute("DELETE FROM steps WHERE instance = ?", (id,))
            conn.execute("DELETE FROM events WHERE instance = ?", (id,))
            conn.execute("DELETE FROM instances WHERE id = ?", (id,))

        return self._write(write)

    def watch(self, wake: Callable[[], None]) -> bool:
        return False  # other processes on the file are found by polling

    def close(self) -> None:
        with self._lock:
            self._writer.close()
