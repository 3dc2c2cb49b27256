"""The PostgreSQL store: worker processes on many machines sharing one database (psycopg 3).

Connections. Each process holds at most `pool_size` connections (`_pg_pool.py`) for reads and
for writes that are not a run's, one for group commits and one listening for wake hints.
Statements are prepared on the server at first use; with `transaction_pooler` nothing is prepared
and nothing is kept in a session past a transaction (no LISTEN), so a transaction-mode pooler
(PgBouncer) can stand in front of the server. The statements of every run and every status read
(creating, group commits, `holds`, `get`, `steps`) go through libpq directly (`_pg_statement.py`),
for half the client CPU of psycopg's `execute`.

Claims never wait for a lock. A claim locks the row of the tenant served longest ago that has due
work and room under its `max_running` (`FOR UPDATE SKIP LOCKED`: another process's claim takes
the next tenant), recounts that tenant's running instances under the lock (so `max_running` holds
across all machines), then takes due rows of `ready`, the small table of runnable instances a
trigger keeps, and their instances, both `SKIP LOCKED`. A claimer that waits for nothing is never
part of a deadlock; every other writer locks instance rows in id order.

Leases are kept on the server's clock (`lease_until` is the server's time plus the lease), so a
worker whose clock is wrong neither loses its instances early nor keeps them late; and whatever any
clock says, a run writes only while its instance's generation is the one its claim set: every
write of a run (`commit_step`, `release`) names it, under a row lock.

Group commit. The step outcomes and run releases of all of a process's runs share one
transaction: a single statement locks the instances they belong to (in id order), inserts the
steps of runs that still hold their instance, marks consumed events and releases the runs that
end, all its rows in one `jsonb` document (`_postgres_group.py`). It is its own transaction, so a
group costs one round trip; a release that waits for an event adds a statement after it, in the
same transaction. A step returns to tenant code only after that commit.
"""

from __future__ import annotations

import json
import logging
import threading
import time
from collections.abc import Callable
from contextlib import ExitStack
from typing import Any, TypeVar
from urllib.parse import urlsplit

from ..exceptions import ClosedError, ConfigError, DatabaseUnavailableError
from ._group_commit import GroupCommit, Ticket
from ._lifecycle import transition
from ._pg_pool import ConnectionPool, PoolExhausted
from ._pg_statement import Statement, columns, json_pair, json_rows
from ._postgres_group import (
    COMMIT_GROUP,
    LEASED,
    RELEASE_WAITERS,
    STEP_COLUMNS,
    Release,
    StepWrite,
    group_args,
    waiters_args,
)
from ._postgres_schema import migrate
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

try:
    import psycopg
    import psycopg.errors
except ImportError:  # pragma: no cover - the extra is not installed
    psycopg = None  # type: ignore[assignment]

__all__ = ["PostgresStore"]

T = TypeVar("T")

_RUNNABLE = "status IN ('queued', 'waiting')"
_SERVER_NOW = "extract(epoch FROM clock_timestamp())"
_INSTANCE_COLUMNS = (
    "id text, tenant text, workflow text, bundle text, params text, params_clone bytea, metadata text, "
    "status text, created_at float8, wake_at float8, waiting_for text, output text, output_clone bytea, "
    "error_name text, error_message text, generation bigint, owner text, updated_at float8, runs int, "
    "crashes int"
)
_INSTANCE_NAMES, _INSTANCE_TYPES = columns(_INSTANCE_COLUMNS)
_INSTANCE_FIELDS = ", ".join(_INSTANCE_NAMES)
_STEP_NAMES, _STEP_TYPES = columns(STEP_COLUMNS)
_STEP_FIELDS = ", ".join(_STEP_NAMES)
# The statements of every run and every status read, run through libpq directly (`_pg_statement`).
_GET = Statement(f"SELECT {_INSTANCE_FIELDS} FROM instances WHERE id = $1", "text", " ".join(_INSTANCE_TYPES))
_STEPS = Statement(
    f"SELECT {_STEP_FIELDS} FROM steps WHERE instance = $1 ORDER BY position, started_at",
    "text",
    " ".join(_STEP_TYPES),
)
_HOLDS = Statement(
    "SELECT 1 FROM instances WHERE id = $1 AND generation = $2 AND status = 'running'", "text bigint", "int"
)
_EVENT_FIELDS = "seq, type, payload, payload_clone, timestamp, consumed_by"
# Conflicts PostgreSQL resolves by aborting one transaction, which is then simply run again.
_RETRIES = 5
_SYNCHRONOUS_COMMIT = {"full": "on", "normal": "off"}
# Wake-up hints: the channel, how long one NOTIFY gathers the commits after it, and how often the
# listener looks up from its wait to see whether the store closed.
_CHANNEL = "dynisolate_work"
_HINT_GATHER_S = 0.02
_LISTEN_TIMEOUT_S = 0.1

log = logging.getLogger("dynisolate.workflows")


def _qualified(fields: str, table: str) -> str:
    return ", ".join(f"{table}.{f.strip()}" for f in fields.split(","))


def _split(value: str | bytes | None) -> tuple[str | None, bytes | None]:
    """A value as its column pair: JSON text, or a structured clone's bytes."""
    if isinstance(value, str):
        return value, None
    return None, value


def _joined(text: str | None, clone: bytes | None) -> Any:
    return text if text is not None else clone


def _instance(r: tuple[Any, ...]) -> InstanceRow:
    return InstanceRow(
        r[0], r[1], r[2], r[3], _joined(r[4], r[5]), r[6], r[7], r[8], r[9], r[10], _joined(r[11], r[12]),
        r[13], r[14], r[15], r[16], r[17], r[18], r[19],
    )  # fmt: skip


def _step(r: tuple[Any, ...]) -> StepRow:
    return StepRow(
        r[0], r[1], r[2], r[3], r[4], r[5], r[6], r[7], _joined(r[8], r[9]), r[10], r[11], r[12],
        r[13], r[14], r[15],
    )  # fmt: skip


def _event(r: tuple[Any, ...]) -> EventRow:
    return EventRow(r[0], r[1], _joined(r[2], r[3]), r[4], r[5])


def _where(url: str) -> str:
    """The database a URL names, without its credentials, for messages."""
    parts = urlsplit(url)
    return f"postgresql://{parts.hostname or ''}{f':{parts.port}' if parts.port else ''}{parts.path}"


class _Uncertain(Exception):
    """A statement's connection was lost: it may or may not have committed."""

    def __init__(self, error: BaseException) -> None:
        super().__init__(str(error))
        self.error = error


class PostgresStore:
    """`Store` on PostgreSQL. `url` is a libpq URL (`postgresql://user@host:port/database`).

    `synchronous`: "full" commits with `synchronous_commit=on` (nothing acknowledged is lost when
    the server crashes); "normal" with `off` (a server crash can lose the last commits, up to
    three times `wal_writer_delay`; its workers then replay those steps).
    `pool_size`: connections of the pool, besides the group-commit one.
    `transaction_pooler`: the URL is a transaction-mode pooler's. Otherwise statements are
    prepared on the server (each connection prepares its own, on first use), and processes tell
    each other of new due work with NOTIFY and hear it with LISTEN (one more connection while
    watching); a pooler keeps neither a prepared statement nor a LISTEN past a transaction.
    """

    def __init__(
        self,
        url: str,
        synchronous: str = "full",
        pool_size: int = 8,
        connect_timeout_s: float = 10.0,
        transaction_pooler: bool = False,
    ) -> None:
        if psycopg is None:
            raise ConfigError("a postgresql:// store needs psycopg 3: pip install 'dynisolate[postgres]'")
        if synchronous not in _SYNCHRONOUS_COMMIT:
            raise ConfigError(f"synchronous must be one of {tuple(_SYNCHRONOUS_COMMIT)}, not {synchronous!r}")
        self.url = url
        self.where = _where(url)
        self._connect_kwargs: dict[str, Any] = {
            "autocommit": True,
            # Prepared at first use (planning the group commit's statement costs more than running
            # it); never behind a pooler, where the next transaction may be another session's.
            "prepare_threshold": None if transaction_pooler else 0,
            "connect_timeout": max(1, round(connect_timeout_s)),
        }
        if synchronous == "normal":
            self._connect_kwargs["options"] = "-c synchronous_commit=off"
        with self._connect() as conn:
            migrate(conn, self.where)
        self._pool_size = pool_size
        self._pool = ConnectionPool(self._connect_raw, pool_size, connect_timeout_s)
        self._writer: Any = None  # the group-commit connection, made on first use
        self._group: GroupCommit[StepWrite | Release] = GroupCommit(self._commit_group)
        self._tenants: set[str] = set()
        self._closed = threading.Event()
        self._hints = not transaction_pooler
        self._prepare = not transaction_pooler
        self.default_poll_s = 1.0 if self._hints else 0.25
        self._hint_wanted = threading.Event()
        self._threads_lock = threading.Lock()
        self._listener: threading.Thread | None = None
        self._notifier: threading.Thread | None = None

    def _connect_raw(self) -> Any:
        return psycopg.connect(self.url, **self._connect_kwargs)

    def _connect(self) -> Any:
        try:
            return self._connect_raw()
        except psycopg.OperationalError as error:
            raise self._unavailable(error) from error

    def _unavailable(self, error: BaseException) -> DatabaseUnavailableError:
        reason = str(error).strip().splitlines()[0] if str(error).strip() else type(error).__name__
        return DatabaseUnavailableError(f"the workflow database {self.where} is unavailable: {reason}")

    def _run(self, fn: Callable[[Any], T], kind: str) -> T:
        """`fn(conn)` on a pooled connection: a `"read"`, a `"transaction"`, or a `"statement"`
        (one write that is its own transaction).

        Run again, on another connection: a read whose connection failed (the pool hands out
        connections unchecked, and one may have died with a server restart since its last use);
        a transaction whose connection failed before it began (nothing was sent); and a
        transaction PostgreSQL aborted for a deadlock or a serialization conflict (nothing of it
        was written). A connection lost once a transaction began is `DatabaseUnavailableError`:
        whether its COMMIT happened cannot be known. A statement's lost connection is
        `_Uncertain`, for its caller to find out."""
        lost = conflicts = 0
        while True:
            if self._closed.is_set():
                raise ClosedError("the workflow engine is closed")
            began = False
            try:
                with self._pool.connection() as conn, ExitStack() as stack:
                    if kind == "transaction":
                        stack.enter_context(conn.transaction())
                        began = True
                    return fn(conn)
            except (psycopg.errors.DeadlockDetected, psycopg.errors.SerializationFailure):
                conflicts += 1
                if conflicts >= _RETRIES:
                    raise
                time.sleep(0.005 * conflicts)
            except psycopg.errors.QueryCanceled:
                raise
            except psycopg.OperationalError as error:
                if kind == "statement":
                    raise _Uncertain(error) from error
                lost += 1
                if began or lost > self._pool_size:
                    raise self._unavailable(error) from error
            except PoolExhausted as error:
                raise self._unavailable(error) from error

    def _read(self, sql: str, args: Any = None) -> list[tuple[Any, ...]]:
        return self._run(lambda conn: conn.execute(sql, args).fetchall(), "read")

    def _fetch(self, statement: Statement, *args: Any) -> list[tuple[Any, ...]]:
        """A read through one of the hot statements."""
        return self._run(lambda conn: statement.run(conn, args, self._prepare), "read")

    def _write(self, fn: Callable[[Any], T]) -> T:
        """Runs `fn(conn)` in a transaction (see `_run` for when it runs again)."""
        return self._run(fn, "transaction")

    # ---- code bundles ----

    def put_bundle(self, hash: str, blob: bytes) -> None:
        self._write(
            lambda conn: conn.execute(
                "INSERT INTO bundles (hash, blob) VALUES (%s, %s) ON CONFLICT DO NOTHING", (hash, blob)
            )
        )

    def get_bundle(self, hash: str) -> bytes | None:
        rows = self._read("SELECT blob FROM bundles WHERE hash = %s", (hash,))
        return bytes(rows[0][0]) if rows else None

    # ---- instances ----

    def create(self, rows: list[InstanceRow], claim: tuple[str, float] | None = None) -> list[InstanceRow]:
        """One statement, its own transaction (one round trip): the tenants not seen before, and
        the instances, claimed by `claim` unless their tenant has a `max_running`."""
        duplicate = repeated_id(rows)
        if duplicate is not None:
            raise exists(duplicate)
        new = sorted({r.tenant for r in rows} - self._tenants)
        owner, lease_s = (None, None) if claim is None else (claim[0], claim[1] - time.time())
        document = [
            [r.id, r.tenant, r.workflow, r.bundle, *json_pair(r.params), r.metadata, r.status, r.created_at,
             r.wake_at, r.generation]
            for r in rows
        ]  # fmt: skip
        args = (json.dumps(document, allow_nan=False), json.dumps(new), owner, lease_s)
        claimed = {id for id, ours in self._insert(rows, args, owner) if ours}
        self._tenants.update(new)
        taken = []
        for r in rows:
            if r.id in claimed:
                r.status, r.owner, r.generation, r.runs = "running", owner, r.generation + 1, 1
                taken.append(r)
        if len(taken) < len(rows):
            self._hint()
        return taken

    def _insert(
        self, rows: list[InstanceRow], args: tuple[Any, ...], owner: str | None
    ) -> list[tuple[str, bool]]:
        """Runs the creating statement; returns each id and whether `owner` claimed it.

        A lost connection leaves the outcome unknown (the statement may have committed before
        the answer was lost): the rows are looked up by id and creation time, and the statement
        runs again only if none of them exists."""
        ids = [r.id for r in rows]
        lost: BaseException | None = None
        for _ in range(self._pool_size + 1):
            try:
                return self._run(lambda conn: _CREATE.run(conn, args, self._prepare), "statement")
            except psycopg.errors.UniqueViolation as error:
                if error.diag.constraint_name != "instances_pkey":
                    raise
                found = self._read("SELECT id FROM instances WHERE id = ANY(%s) ORDER BY id LIMIT 1", (ids,))
                raise exists(found[0][0] if found else ids[0]) from None
            except _Uncertain as uncertain:
                lost = uncertain.error
                made = self._read(
                    """SELECT i.id, i.owner FROM instances i
                       JOIN unnest(%s::text[], %s::float8[]) AS n(id, created_at)
                           ON n.id = i.id AND n.created_at = i.created_at""",
                    (ids, [r.created_at for r in rows]),
                )
                if len(made) == len(rows):
                    return [(id, owner is not None and by == owner) for id, by in made]
                if made:
                    raise self._unavailable(lost) from lost
        assert lost is not None
        raise self._unavailable(lost) from lost

    def get(self, id: str) -> InstanceRow | None:
        rows = self._fetch(_GET, id)
        return _instance(rows[0]) if rows else None

    def list_instances(self, status: str | None, tenant: str | None, limit: int) -> list[InstanceRow]:
        where, args = [], []
        if status is not None:
            where.append("status = %s")
            args.append(status)
        if tenant is not None:
            where.append("tenant = %s")
            args.append(tenant)
        clause = f"WHERE {' AND '.join(where)}" if where else ""
        rows = self._read(
            f"SELECT {_INSTANCE_FIELDS} FROM instances {clause} ORDER BY created_at, id LIMIT %s",
            (*args, limit),
        )
        return [_instance(r) for r in rows]

    def count(self, status: str | None = None) -> int:
        if status is None:
            return int(self._read("SELECT count(*) FROM instances")[0][0])
        return int(self._read("SELECT count(*) FROM instances WHERE status = %s", (status,))[0][0])

    def steps(self, id: str) -> list[StepRow]:
        return [_step(r) for r in self._fetch(_STEPS, id)]

    def events(self, id: str) -> list[EventRow]:
        rows = self._read(f"SELECT {_EVENT_FIELDS} FROM events WHERE instance = %s ORDER BY seq", (id,))
        return [_event(r) for r in rows]

    def next_event(self, id: str, type: str) -> EventRow | None:
        rows = self._read(
            f"""SELECT {_EVENT_FIELDS} FROM events
                WHERE instance = %s AND type = %s AND consumed_by IS NULL ORDER BY seq LIMIT 1""",
            (id, type),
        )
        return _event(rows[0]) if rows else None

    # ---- running ----

    def claim(self, owner: str, now: float, lease_until: float, limit: int = 1) -> list[InstanceRow]:
        lease_s = lease_until - now

        def write(conn: Any) -> list[tuple[Any, ...]]:
            found = conn.execute(
                f"""SELECT t.tenant, t.max_running FROM tenants t
                    WHERE EXISTS (SELECT 1 FROM ready r WHERE r.tenant = t.tenant AND r.wake_at <= %(now)s)
                        AND (t.max_running IS NULL OR t.max_running > (
                            SELECT count(*) FROM instances i WHERE i.tenant = t.tenant AND i.{LEASED}))
                    ORDER BY t.served LIMIT 1 FOR UPDATE OF t SKIP LOCKED""",
                {"now": now},
            ).fetchone()
            if found is None:
                return []
            tenant, max_running = found
            take = limit
            if max_running is not None:  # counted again now that the tenant's row is locked
                running = conn.execute(
                    f"SELECT count(*) FROM instances WHERE tenant = %s AND {LEASED}", (tenant,)
                ).fetchone()[0]
                take = min(limit, max_running - running)
                if take <= 0:
                    return []
            conn.execute("UPDATE tenants SET served = nextval('tenants_served') WHERE tenant = %s", (tenant,))
            return conn.execute(  # type: ignore[no-any-return]
                f"""WITH due AS (
                        SELECT id FROM ready WHERE tenant = %(tenant)s AND wake_at <= %(now)s
                        ORDER BY wake_at LIMIT %(take)s FOR UPDATE SKIP LOCKED),
                    free AS (
                        SELECT i.id FROM instances i JOIN due ON due.id = i.id
                        WHERE i.{_RUNNABLE} FOR UPDATE OF i SKIP LOCKED)
                    UPDATE instances SET status = 'running', owner = %(owner)s,
                        lease_until = {_SERVER_NOW} + %(lease_s)s, generation = generation + 1,
                        runs = runs + 1, updated_at = %(now)s
                    FROM free WHERE instances.id = free.id
                    RETURNING {_qualified(_INSTANCE_FIELDS, "instances")}""",
                {"tenant": tenant, "now": now, "take": take, "owner": owner, "lease_s": lease_s},
            ).fetchall()

        rows = self._write(write)
        rows.sort(key=lambda r: r[9])  # RETURNING order is unspecified: earliest due first
        return [_instance(r) for r in rows]

    def holds(self, id: str, generation: int) -> bool:
        return bool(self._fetch(_HOLDS, id, generation))

    def commit_step(
        self, id: str, generation: int, step: StepRow, event_seq: int | None = None
    ) -> str | None:
        return self._group.run(StepWrite(id, generation, step, event_seq))  # type: ignore[no-any-return]

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
        work = Release(id, generation, status, wake_at, waiting_for, output, error, time.time())
        return bool(self._group.run(work))

    def _writer_connection(self) -> Any:
        if self._closed.is_set():
            raise ClosedError("the workflow engine is closed")
        if self._writer is None or self._writer.closed:
            self._writer = self._connect()
        return self._writer

    def _commit_group(self, batch: list[Ticket[StepWrite | Release]]) -> None:
        try:
            self._write_group(batch)
        except (psycopg.Error, ValueError) as error:
            if isinstance(error, psycopg.OperationalError) or len(batch) == 1:
                raise
            # A write the server (or its encoding) refuses must not fail the rest of its group,
            # other tenants' runs among them, at every retry: each is written alone, and only the
            # refused one fails.
            for ticket in batch:
                try:
                    self._write_group([ticket])
                except (psycopg.Error, ValueError) as refused:
                    if isinstance(refused, psycopg.OperationalError):
                        raise
                    ticket.error = refused

    def _write_group(self, batch: list[Ticket[StepWrite | Release]]) -> None:
        steps = [t.work for t in batch if isinstance(t.work, StepWrite)]
        releases = [t.work for t in batch if isinstance(t.work, Release)]
        waiters = [r for r in releases if r.waiting_for is not None]
        args = group_args(steps, releases)
        try:
            conn = self._writer_connection()
            if not waiters:  # one statement is its own transaction: one round trip
                rows = COMMIT_GROUP.run(conn, args, self._prepare)
                woke: set[tuple[str, int]] = set()
            else:
                with conn.transaction():
                    rows = COMMIT_GROUP.run(conn, args, self._prepare)
                    waited = RELEASE_WAITERS.run(conn, waiters_args(waiters), self._prepare)
                woke = {(r[0], r[1]) for r in waited}
        except psycopg.OperationalError as error:
            self._drop_writer()
            raise self._unavailable(error) from error
        except BaseException:
            self._drop_writer()
            raise
        held = {(r[1], r[2]): r[3] for r in rows if r[0] == "held"}
        released = {(r[1], r[2]) for r in rows if r[0] == "released"} | woke
        for ticket in batch:
            work = ticket.work
            if isinstance(work, StepWrite):
                ticket.value = held.get((work.id, work.generation))
            else:
                ticket.value = (work.id, work.generation) in released

    def _drop_writer(self) -> None:
        if self._writer is not None:
            try:
                self._writer.close()
            finally:
                self._writer = None

    def renew(self, owner: str, lease_until: float) -> None:
        lease_s = lease_until - time.time()
        # Locked in id order, as every writer that waits for instance rows locks them.
        self._write(
            lambda conn: conn.execute(
                f"""UPDATE instances SET lease_until = {_SERVER_NOW} + %s
                    WHERE id IN (SELECT id FROM instances WHERE owner = %s AND {LEASED}
                                 ORDER BY id FOR UPDATE)""",
                (lease_s, owner),
            )
        )

    def reap(self, now: float, dead_owners: list[str]) -> int:
        def write(conn: Any) -> int:
            cursor = conn.execute(
                f"""UPDATE instances SET
                        status = CASE status WHEN 'waitingForPause' THEN 'paused' ELSE 'queued' END,
                        owner = NULL, lease_until = NULL, wake_at = %(now)s, generation = generation + 1,
                        crashes = crashes + 1
                    WHERE id IN (SELECT id FROM instances
                                 WHERE {LEASED} AND (lease_until < {_SERVER_NOW} OR owner = ANY(%(dead)s))
                                 ORDER BY id FOR UPDATE SKIP LOCKED)""",
                {"now": now, "dead": dead_owners},
            )
            return int(cursor.rowcount)

        taken = self._write(write)
        if taken:
            self._hint()
        return taken

    def owners(self) -> list[str]:
        return [r[0] for r in self._read(f"SELECT DISTINCT owner FROM instances WHERE {LEASED}")]

    def next_wake(self) -> float | None:
        value = self._read("SELECT min(wake_at) FROM ready")[0][0]
        return None if value is None else float(value)

    def set_tenant_limit(self, tenant: str, max_running: int | None) -> None:
        self._write(
            lambda conn: conn.execute(
                "INSERT INTO tenants (tenant, max_running) VALUES (%s, %s) "
                "ON CONFLICT (tenant) DO UPDATE SET max_running = EXCLUDED.max_running",
                (tenant, max_running),
            )
        )

    def set_tenant_retention(self, tenant: str, retention_s: float | None) -> None:
        self._write(
            lambda conn: conn.execute(
                "INSERT INTO tenants (tenant, retention_s) VALUES (%s, %s) "
                "ON CONFLICT (tenant) DO UPDATE SET retention_s = EXCLUDED.retention_s",
                (tenant, retention_s),
            )
        )

    def sweep(self, now: float, retention_s: float | None, limit: int) -> int:
        # Each tenant's expired instances from the index on (tenant, updated_at); rows another
        # process is deleting (or anyone is writing) are skipped, and steps and events cascade.
        def write(conn: Any) -> int:
            cursor = conn.execute(
                """DELETE FROM instances WHERE id IN (
                       SELECT i.id FROM tenants t JOIN instances i ON i.tenant = t.tenant
                       WHERE i.status IN ('complete', 'errored', 'terminated')
                           AND i.updated_at < %(now)s - COALESCE(t.retention_s, %(retention_s)s)
                       LIMIT %(limit)s FOR UPDATE OF i SKIP LOCKED)""",
                {"now": now, "retention_s": retention_s, "limit": limit},
            )
            return int(cursor.rowcount)

        return self._write(write)

    # ---- operator actions ----

    def _lock(self, conn: Any, id: str) -> tuple[str, str | None]:
        row = conn.execute(
            "SELECT status, waiting_for FROM instances WHERE id = %s FOR UPDATE", (id,)
        ).fetchone()
        if row is None:
            raise not_found(id)
        return row[0], row[1]

    def send_events(
        self, events: list[tuple[str, str, str | bytes]], now: float, max_events: int, max_bytes: int
    ) -> None:
        def write(conn: Any) -> bool:
            # The instances' rows locked (in id order) before anything is counted: concurrent
            # senders take turns, and a run releasing its instance sees the events they commit.
            ids = sorted({id for id, _, _ in events})
            found = {
                r[0]: [r[1], r[2]]
                for r in conn.execute(
                    "SELECT id, status, waiting_for FROM instances WHERE id = ANY(%s) ORDER BY id FOR UPDATE",
                    (ids,),
                )
            }
            woke = False
            for id, type, payload in events:
                if id not in found:
                    raise not_found(id)
                status, waiting_for = found[id]
                if status in FINISHED:
                    raise state_error(id, status, "receive events")
                size = len(payload.encode()) if isinstance(payload, str) else len(payload)
                held, held_bytes = conn.execute(
                    "SELECT count(*), COALESCE(sum(size), 0) FROM events "
                    "WHERE instance = %s AND consumed_by IS NULL",
                    (id,),
                ).fetchone()
                if held >= max_events or held_bytes + size > max_bytes:
                    raise buffer_full(id, held, int(held_bytes), max_events, max_bytes)
                text, clone = _split(payload)
                conn.execute(
                    "INSERT INTO events (instance, type, payload, payload_clone, timestamp, size) "
                    "VALUES (%s, %s, %s, %s, %s, %s)",
                    (id, type, text, clone, now, size),
                )
                if status == "waiting" and waiting_for in (type, "*"):
                    conn.execute(
                        "UPDATE instances SET wake_at = %s, updated_at = %s WHERE id = %s", (now, now, id)
                    )
                    found[id][0] = "queued"  # woken (a later event for it wakes nothing more)
                    woke = True
            return woke

        if self._write(write):
            self._hint()

    def transition(self, id: str, op: str, now: float) -> str:
        def write(conn: Any) -> str:
            status, _ = self._lock(conn, id)
            plan = transition(id, op, status)
            if not plan.changed:
                return plan.status
            sets = ["status = %(status)s", "updated_at = %(now)s"]
            if plan.fence:
                sets.append("generation = generation + 1, owner = NULL, lease_until = NULL")
            if plan.wake != "keep":
                sets.append("wake_at = %(now)s" if plan.wake == "now" else "wake_at = NULL")
            if plan.shift_waits:
                conn.execute(
                    """UPDATE steps SET wake_at = steps.wake_at + (%(now)s - i.paused_at)
                       FROM instances i WHERE i.id = %(id)s AND steps.instance = %(id)s
                           AND i.paused_at IS NOT NULL AND steps.wake_at IS NOT NULL
                           AND steps.state IN ('waiting', 'retrying')""",
                    {"now": now, "id": id},
                )
            if plan.paused_at == "set":
                sets.append("paused_at = COALESCE(paused_at, %(now)s)")
            elif plan.paused_at == "clear":
                sets.append("paused_at = NULL")
            conn.execute(
                f"UPDATE instances SET {', '.join(sets)} WHERE id = %(id)s",
                {"status": plan.status, "now": now, "id": id},
            )
            return plan.status

        status = self._write(write)
        if status == "queued":
            self._hint()
        return status

    def restart(self, id: str, from_position: int | None, now: float) -> None:
        def write(conn: Any) -> None:
            self._lock(conn, id)
            args = {"id": id, "position": -1 if from_position is None else from_position, "now": now}
            conn.execute(
                """UPDATE events SET consumed_by = NULL WHERE instance = %(id)s AND consumed_by IN
                       (SELECT key FROM steps WHERE instance = %(id)s AND position >= %(position)s)""",
                args,
            )
            conn.execute("DELETE FROM steps WHERE instance = %(id)s AND position >= %(position)s", args)
            conn.execute(
                """UPDATE instances SET status = 'queued', wake_at = %(now)s, waiting_for = NULL,
                       output = NULL, output_clone = NULL, error_name = NULL, error_message = NULL,
                       generation = generation + 1, owner = NULL, lease_until = NULL, updated_at = %(now)s
                   WHERE id = %(id)s""",
                args,
            )

        self._write(write)
        self._hint()

    def delete(self, id: str) -> None:
        def write(conn: Any) -> None:
            self._lock(conn, id)
            conn.execute("DELETE FROM instances WHERE id = %s", (id,))  # steps and events cascade

        self._write(write)

    # ---- wake-up hints between processes ----

    def watch(self, wake: Callable[[], None]) -> bool:
        if not self._hints:
            return False
        with self._threads_lock:
            if self._listener is None:
                self._listener = self._thread("listen", self._listen, wake)
        return True

    def _thread(self, name: str, target: Callable[..., None], *args: Any) -> threading.Thread:
        thread = threading.Thread(target=target, args=args, name=f"dynisolate-workflows-{name}", daemon=True)
        thread.start()
        return thread

    def _hint(self) -> None:
        """After a commit that made work due: other processes' idle workers look for it. (Sent
        by any process that makes work, whether or not it runs workers itself.)"""
        if not self._hints:
            return
        self._hint_wanted.set()
        if self._notifier is None:
            with self._threads_lock:
                if self._notifier is None and not self._closed.is_set():
                    self._notifier = self._thread("notify", self._notify)

    def _notify(self) -> None:
        """Sends the hints: one NOTIFY, in a transaction of its own (a NOTIFY takes a lock held
        until its commit, which must not be a run's), for all the commits of `_HINT_GATHER_S`."""
        while not self._closed.is_set():
            if not self._hint_wanted.wait(_LISTEN_TIMEOUT_S):
                continue
            self._hint_wanted.clear()
            try:
                self._run(lambda conn: conn.execute(f"NOTIFY {_CHANNEL}"), "read")
            except Exception:  # polling finds the work; a lost hint costs only latency
                if self._closed.is_set():
                    return
                log.warning("workflow store: a wake-up hint could not be sent", exc_info=True)
            time.sleep(_HINT_GATHER_S)

    def _listen(self, wake: Callable[[], None]) -> None:
        """Hears the hints on a connection of its own, reconnecting with backoff."""
        delay_s = 0.5
        while not self._closed.is_set():
            try:
                with psycopg.connect(self.url, **self._connect_kwargs) as conn:
                    conn.execute(f"LISTEN {_CHANNEL}")
                    wake()  # what was hinted while nobody listened
                    delay_s = 0.5
                    while not self._closed.is_set():
                        for _ in conn.notifies(timeout=_LISTEN_TIMEOUT_S):
                            wake()
            except psycopg.Error:
                if self._closed.is_set():
                    return
                log.warning("workflow store: listening for hints failed; polling meanwhile", exc_info=True)
                self._closed.wait(delay_s)
                delay_s = min(delay_s * 2, 30.0)

    def close(self) -> None:
        if self._closed.is_set():
            return
        self._closed.set()
        with self._threads_lock:
            threads = [t for t in (self._listener, self._notifier) if t is not None]
        for thread in threads:  # each looks up from its wait every _LISTEN_TIMEOUT_S
            thread.join(timeout=5.0)
        self._pool.close()
        self._drop_writer()


# The columns a create sends of each instance, in the order `create` lists them (their types
# are the instance columns').
_NEW_NAMES = (
    "id tenant workflow bundle params params_clone metadata status created_at wake_at generation"
).split()
_NEW = ", ".join(f"{n} {dict(zip(_INSTANCE_NAMES, _INSTANCE_TYPES, strict=True))[n]}" for n in _NEW_NAMES)
_NEW_FIELDS = ", ".join(_NEW_NAMES)
# Creates instances (a JSON array of `_NEW` rows) in one statement that is its own transaction:
# adds the tenants not seen before, and claims for the owner given (if any) the rows of tenants
# without a `max_running` (a tenant added here has none).
_CREATE = Statement(
    f"""WITH new ({_NEW_FIELDS}) AS ({json_rows("$1::jsonb", _NEW)}),
        added AS (
            INSERT INTO tenants (tenant) SELECT jsonb_array_elements_text($2::jsonb) ON CONFLICT DO NOTHING),
        decided AS (
            SELECT new.*, $3::text IS NOT NULL AND t.max_running IS NULL AS claimed
            FROM new LEFT JOIN tenants t ON t.tenant = new.tenant)
        INSERT INTO instances ({_NEW_FIELDS}, updated_at, owner, runs, lease_until)
        SELECT id, tenant, workflow, bundle, params, params_clone, metadata,
            CASE WHEN claimed THEN 'running' ELSE status END, created_at, wake_at,
            generation + claimed::int, created_at, CASE WHEN claimed THEN $3::text END, claimed::int,
            CASE WHEN claimed THEN {_SERVER_NOW} + $4::float8 END
        FROM decided
        RETURNING id, status = 'running'""",
    "json json text float8",
    "text bool",
)
