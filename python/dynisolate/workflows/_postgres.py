"""The PostgreSQL store: worker processes on many machines sharing one database (psycopg 3).

Connections. Each process holds at most `pool_size` connections (`_pg_pool.py`) for reads and
for writes that are not a run's, one for group commits and one listening for wake hints.
Statements are prepared on the server at first use; with `transaction_pooler` nothing is prepared
and nothing is kept in a session past a transaction (no LISTEN), so a transaction-mode pooler
(PgBouncer) can stand in front of the server.

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
steps of runs that still hold their instance (`unnest` arrays), marks consumed events and releases
the runs that end. It is its own transaction, so a group costs one round trip; a release that
waits for an event adds a statement after it, in the same transaction. A step returns to tenant
code only after that commit.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable
from contextlib import ExitStack
from dataclasses import dataclass
from typing import Any, TypeVar
from urllib.parse import urlsplit

from ..exceptions import ClosedError, ConfigError, DatabaseUnavailableError
from ._group_commit import GroupCommit, Ticket
from ._lifecycle import transition
from ._pg_pool import ConnectionPool, PoolExhausted
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

_LEASED = "status IN ('running', 'waitingForPause')"
_RUNNABLE = "status IN ('queued', 'waiting')"
_SERVER_NOW = "extract(epoch FROM clock_timestamp())"
_INSTANCE_FIELDS = (
    "id, tenant, workflow, bundle, params, params_clone, metadata, status, created_at, wake_at, "
    "waiting_for, output, output_clone, error_name, error_message, generation, owner, updated_at, "
    "runs, crashes"
)
_STEP_FIELDS = (
    "key, kind, name, count, position, concurrent, state, attempts, value, value_clone, "
    "error_name, error_message, wake_at, config, started_at, ended_at"
)
_EVENT_FIELDS = "seq, type, payload, payload_clone, timestamp, consumed_by"
# Conflicts PostgreSQL resolves by aborting one transaction, which is then simply run again.
_RETRIES = 5
_SYNCHRONOUS_COMMIT = {"full": "on", "normal": "off"}
# Wake-up hints: the channel, how long one NOTIFY gathers the commits after it, and how often the
# listener looks up from its wait to see whether the store closed.
_CHANNEL = "dynisolate_work"
_HINT_GATHER_S = 0.005
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


@dataclass(slots=True)
class _StepWrite:
    id: str
    generation: int
    step: StepRow
    event_seq: int | None


_RELEASE_FIELDS = ("id", "generation", "status", "wake_at", "waiting_for", "now")


@dataclass(slots=True)
class _Release:
    id: str
    generation: int
    status: str
    wake_at: float | None
    waiting_for: str | None
    output: str | bytes | None
    error: tuple[str, str] | None
    now: float


# How a group's runs end, as `unnest` rows (a release names its run's generation).
_RELEASES = """unnest(%(r_id)s::text[], %(r_generation)s::bigint[], %(r_status)s::text[],
        %(r_wake_at)s::float8[], %(r_waiting_for)s::text[], %(r_output)s::text[],
        %(r_output_clone)s::bytea[], %(r_error_name)s::text[], %(r_error_message)s::text[],
        %(r_now)s::float8[])
    AS r(id, generation, status, wake_at, waiting_for, output, output_clone, error_name,
         error_message, now)"""
_RELEASE_SET = """status = CASE WHEN i.status = 'waitingForPause' AND r.status = 'waiting' THEN 'paused'
                  ELSE r.status END,
    waiting_for = r.waiting_for, output = r.output, output_clone = r.output_clone,
    error_name = r.error_name, error_message = r.error_message, owner = NULL, lease_until = NULL,
    updated_at = r.now, crashes = 0"""

# A group in one statement (one round trip, its own transaction): the instances its runs belong
# to locked in id order and read back current; the steps of runs that still hold their instance
# inserted, and their events marked consumed; the runs that end released, still fenced by their
# generation. Releases that wait for an event are not in it (`_RELEASE_WAITERS`).
_COMMIT_GROUP = f"""WITH held AS (
        SELECT id, generation, status FROM instances
        WHERE id = ANY(%(ids)s) AND {_LEASED} ORDER BY id FOR NO KEY UPDATE),
    written AS (
        INSERT INTO steps (instance, {_STEP_FIELDS})
        SELECT s.instance, s.key, s.kind, s.name, s.count, s.position, s.concurrent, s.state,
            s.attempts, s.value, s.value_clone, s.error_name, s.error_message, s.wake_at, s.config,
            s.started_at, s.ended_at
        FROM unnest(%(instance)s::text[], %(generation)s::bigint[], %(key)s::text[], %(kind)s::text[],
                    %(name)s::text[], %(count)s::int[], %(position)s::int[], %(concurrent)s::bool[],
                    %(state)s::text[], %(attempts)s::int[], %(value)s::text[], %(value_clone)s::bytea[],
                    %(error_name)s::text[], %(error_message)s::text[], %(wake_at)s::float8[],
                    %(config)s::text[], %(started_at)s::float8[], %(ended_at)s::float8[])
            AS s(instance, generation, key, kind, name, count, position, concurrent, state, attempts,
                 value, value_clone, error_name, error_message, wake_at, config, started_at, ended_at)
        JOIN held ON held.id = s.instance AND held.generation = s.generation
        ON CONFLICT (instance, key) DO UPDATE SET kind = EXCLUDED.kind, name = EXCLUDED.name,
            count = EXCLUDED.count, position = EXCLUDED.position, concurrent = EXCLUDED.concurrent,
            state = EXCLUDED.state, attempts = EXCLUDED.attempts, value = EXCLUDED.value,
            value_clone = EXCLUDED.value_clone, error_name = EXCLUDED.error_name,
            error_message = EXCLUDED.error_message, wake_at = EXCLUDED.wake_at,
            config = EXCLUDED.config, started_at = EXCLUDED.started_at, ended_at = EXCLUDED.ended_at),
    consumed AS (
        UPDATE events SET consumed_by = c.key
        FROM unnest(%(event_seq)s::bigint[], %(event_key)s::text[], %(event_instance)s::text[],
                    %(event_generation)s::bigint[]) AS c(seq, key, instance, generation)
        JOIN held ON held.id = c.instance AND held.generation = c.generation
        WHERE events.seq = c.seq),
    released AS (
        UPDATE instances i SET {_RELEASE_SET}, wake_at = r.wake_at
        FROM {_RELEASES}
        WHERE i.id = r.id AND i.generation = r.generation AND i.{_LEASED}
        RETURNING i.id, r.generation)
    SELECT 'held', id, generation, status FROM held
    UNION ALL SELECT 'released', id, generation, NULL FROM released"""
# Runs that end waiting for an event, after `_COMMIT_GROUP` locked their instances, in the same
# transaction: this statement's snapshot is taken after the lock, so an event a sender committed
# while holding it is seen, and the instance wakes for it at once.
_RELEASE_WAITERS = f"""UPDATE instances i SET {_RELEASE_SET},
        wake_at = CASE WHEN EXISTS (
                      SELECT 1 FROM events e WHERE e.instance = i.id AND e.consumed_by IS NULL
                          AND (e.type = r.waiting_for OR r.waiting_for = '*'))
                  THEN r.now ELSE r.wake_at END
    FROM {_RELEASES}
    WHERE i.id = r.id AND i.generation = r.generation AND i.{_LEASED}
    RETURNING i.id, r.generation"""


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
        self._group: GroupCommit[_StepWrite | _Release] = GroupCommit(self._commit_group)
        self._tenants: set[str] = set()
        self._closed = threading.Event()
        self._hints = not transaction_pooler
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

    def _run(self, fn: Callable[[Any], T], transaction: bool) -> T:
        """`fn(conn)` on a pooled connection, in a transaction when `transaction`.

        Run again, on another connection: a read whose connection failed (the pool hands out
        connections unchecked, and one may have died with a server restart since its last use);
        a transaction whose connection failed before it began (nothing was sent); and a
        transaction PostgreSQL aborted for a deadlock or a serialization conflict (nothing of it
        was written). A connection lost once a transaction began is `DatabaseUnavailableError`:
        whether its COMMIT happened cannot be known."""
        lost = conflicts = 0
        while True:
            if self._closed.is_set():
                raise ClosedError("the workflow engine is closed")
            began = False
            try:
                with self._pool.connection() as conn, ExitStack() as stack:
                    if transaction:
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
                lost += 1
                if (transaction and began) or lost > self._pool_size:
                    raise self._unavailable(error) from error
            except PoolExhausted as error:
                raise self._unavailable(error) from error

    def _read(self, sql: str, args: Any = None) -> list[tuple[Any, ...]]:
        return self._run(lambda conn: conn.execute(sql, args).fetchall(), transaction=False)

    def _write(self, fn: Callable[[Any], T]) -> T:
        """Runs `fn(conn)` in a transaction (see `_run` for when it runs again)."""
        return self._run(fn, transaction=True)

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
        duplicate = repeated_id(rows)
        if duplicate is not None:
            raise exists(duplicate)
        lease_s = None if claim is None else claim[1] - time.time()

        def write(conn: Any) -> list[InstanceRow]:
            tenants = sorted({r.tenant for r in rows})
            new = [t for t in tenants if t not in self._tenants]
            if new:
                conn.execute(
                    "INSERT INTO tenants (tenant) SELECT unnest(%s::text[]) ON CONFLICT DO NOTHING", (new,)
                )
            claimed: list[InstanceRow] = []
            if claim is not None:
                limited = {
                    t
                    for (t,) in conn.execute(
                        "SELECT tenant FROM tenants WHERE max_running IS NOT NULL AND tenant = ANY(%s)",
                        (tenants,),
                    )
                }
                for r in rows:
                    if r.tenant not in limited:
                        r.status, r.owner, r.generation, r.runs = "running", claim[0], r.generation + 1, 1
                        claimed.append(r)
            params = [_split(r.params) for r in rows]
            inserted = conn.execute(
                f"""INSERT INTO instances (id, tenant, workflow, bundle, params, params_clone, metadata,
                        status, created_at, updated_at, wake_at, generation, owner, runs, lease_until)
                    SELECT n.id, n.tenant, n.workflow, n.bundle, n.params, n.params_clone, n.metadata,
                        n.status, n.created_at, n.created_at, n.wake_at, n.generation, n.owner, n.runs,
                        CASE WHEN n.owner IS NOT NULL THEN {_SERVER_NOW} + %s END
                    FROM unnest(%s::text[], %s::text[], %s::text[], %s::text[], %s::text[], %s::bytea[],
                                %s::text[], %s::text[], %s::float8[], %s::float8[], %s::bigint[],
                                %s::text[], %s::int[])
                        AS n(id, tenant, workflow, bundle, params, params_clone, metadata, status,
                             created_at, wake_at, generation, owner, runs)
                    ON CONFLICT (id) DO NOTHING RETURNING id""",
                (
                    lease_s,
                    *_arrays(rows, "id tenant workflow bundle"),
                    [p[0] for p in params],
                    [p[1] for p in params],
                    *_arrays(rows, "metadata status created_at wake_at generation owner runs"),
                ),
            ).fetchall()
            if len(inserted) < len(rows):  # the transaction rolls back: nothing is created
                made = {i for (i,) in inserted}
                raise exists(next(r.id for r in rows if r.id not in made))
            return claimed

        claimed = self._write(write)
        self._tenants.update(r.tenant for r in rows)
        if len(claimed) < len(rows):
            self._hint()
        return claimed

    def get(self, id: str) -> InstanceRow | None:
        rows = self._read(f"SELECT {_INSTANCE_FIELDS} FROM instances WHERE id = %s", (id,))
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
        rows = self._read(
            f"SELECT {_STEP_FIELDS} FROM steps WHERE instance = %s ORDER BY position, started_at", (id,)
        )
        return [_step(r) for r in rows]

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
                            SELECT count(*) FROM instances i WHERE i.tenant = t.tenant AND i.{_LEASED}))
                    ORDER BY t.served LIMIT 1 FOR UPDATE OF t SKIP LOCKED""",
                {"now": now},
            ).fetchone()
            if found is None:
                return []
            tenant, max_running = found
            take = limit
            if max_running is not None:  # counted again now that the tenant's row is locked
                running = conn.execute(
                    f"SELECT count(*) FROM instances WHERE tenant = %s AND {_LEASED}", (tenant,)
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
        return bool(
            self._read(
                "SELECT 1 FROM instances WHERE id = %s AND generation = %s AND status = 'running'",
                (id, generation),
            )
        )

    def commit_step(
        self, id: str, generation: int, step: StepRow, event_seq: int | None = None
    ) -> str | None:
        return self._group.run(_StepWrite(id, generation, step, event_seq))  # type: ignore[no-any-return]

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
        work = _Release(id, generation, status, wake_at, waiting_for, output, error, time.time())
        return bool(self._group.run(work))

    def _writer_connection(self) -> Any:
        if self._closed.is_set():
            raise ClosedError("the workflow engine is closed")
        if self._writer is None or self._writer.closed:
            self._writer = self._connect()
        return self._writer

    def _commit_group(self, batch: list[Ticket[_StepWrite | _Release]]) -> None:
        steps = [t.work for t in batch if isinstance(t.work, _StepWrite)]
        releases = [t.work for t in batch if isinstance(t.work, _Release)]
        waiters = [r for r in releases if r.waiting_for is not None]
        ending = [r for r in releases if r.waiting_for is None]
        args = {
            **_step_arrays(steps),
            **_release_arrays(ending),
            "ids": sorted({w.id for w in steps} | {r.id for r in releases}),
        }
        try:
            conn = self._writer_connection()
            if not waiters:  # one statement is its own transaction: one round trip
                rows = conn.execute(_COMMIT_GROUP, args).fetchall()
                woke: set[tuple[str, int]] = set()
            else:
                with conn.pipeline(), conn.transaction():
                    group = conn.execute(_COMMIT_GROUP, args)
                    waited = conn.execute(_RELEASE_WAITERS, _release_arrays(waiters))
                rows = group.fetchall()
                woke = {(r[0], r[1]) for r in waited.fetchall()}
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
            if isinstance(work, _StepWrite):
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
                    WHERE id IN (SELECT id FROM instances WHERE owner = %s AND {_LEASED}
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
                                 WHERE {_LEASED} AND (lease_until < {_SERVER_NOW} OR owner = ANY(%(dead)s))
                                 ORDER BY id FOR UPDATE SKIP LOCKED)""",
                {"now": now, "dead": dead_owners},
            )
            return int(cursor.rowcount)

        taken = self._write(write)
        if taken:
            self._hint()
        return taken

    def owners(self) -> list[str]:
        return [r[0] for r in self._read(f"SELECT DISTINCT owner FROM instances WHERE {_LEASED}")]

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
                self._run(lambda conn: conn.execute(f"NOTIFY {_CHANNEL}"), transaction=False)
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


def _arrays(items: list[Any], fields: str) -> list[list[Any]]:
    """One array per field, of that field of every item: the parameters of an `unnest` insert."""
    return [[getattr(item, f) for item in items] for f in fields.split()]


def _step_arrays(writes: list[_StepWrite]) -> dict[str, Any]:
    """The parameters of `_COMMIT_STEPS`, one row per step key (a statement may not write a row
    twice; a later outcome of the same step replaces an earlier one)."""
    writes = list({(w.id, w.step.key): w for w in writes}.values())
    steps = [w.step for w in writes]
    values = [_split(s.value) for s in steps]
    consumed = [w for w in writes if w.event_seq is not None]
    fields = (
        "key kind name count position state attempts error_name error_message wake_at config started_at "
        "ended_at"
    )
    return {
        "ids": sorted({w.id for w in writes}),
        "instance": [w.id for w in writes],
        "generation": [w.generation for w in writes],
        **dict(zip(fields.split(), _arrays(steps, fields), strict=True)),
        "concurrent": [bool(s.concurrent) for s in steps],
        "value": [v[0] for v in values],
        "value_clone": [v[1] for v in values],
        "event_seq": [w.event_seq for w in consumed],
        "event_key": [w.step.key for w in consumed],
        "event_instance": [w.id for w in consumed],
        "event_generation": [w.generation for w in consumed],
    }


def _release_arrays(releases: list[_Release]) -> dict[str, Any]:
    """The parameters of `_RELEASES`."""
    outputs = [_split(r.output) for r in releases]
    errors = [r.error or (None, None) for r in releases]
    return {
        **{
            f"r_{f}": a
            for f, a in zip(_RELEASE_FIELDS, _arrays(releases, " ".join(_RELEASE_FIELDS)), strict=True)
        },
        "r_output": [o[0] for o in outputs],
        "r_output_clone": [o[1] for o in outputs],
        "r_error_name": [e[0] for e in errors],
        "r_error_message": [e[1] for e in errors],
    }
