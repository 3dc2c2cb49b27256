"""The PostgreSQL store's schema and its versions.

The tables live in the connection's current schema (the first of its `search_path`, `public` by
default; `?options=-csearch_path%3Dname` in the URL picks another). A table `dynisolate_schema`
holds one row: which application made them and the schema version. Opening takes a transaction-
scoped advisory lock (two processes opening at once take turns), refuses a schema that holds other
tables and no such row (another application's) or a newer version, and applies the migrations it
has not had, in order, in that one transaction: PostgreSQL's DDL is transactional, so a failure
leaves everything as it was.

Values that are JSON text or a structured clone's bytes (`_store.py`) get a column pair: `x` for
text, `x_clone` for bytes, one of them set.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from ._store import incompatible, too_new

__all__ = ["APPLICATION", "SCHEMA_VERSION", "migrate"]

APPLICATION = "dynisolate-workflows"
_ADVISORY_LOCK = 0x64796E77  # "dynw", as the SQLite store's application_id

_V1 = (
    "CREATE TABLE dynisolate_schema (application text NOT NULL, version integer NOT NULL)",
    "CREATE TABLE bundles (hash text PRIMARY KEY, blob bytea NOT NULL)",
    # served: when the tenant last had a claim, from a sequence (fair claims take the oldest).
    "CREATE SEQUENCE tenants_served",
    """CREATE TABLE tenants (
        tenant text PRIMARY KEY, served bigint NOT NULL DEFAULT 0, max_running integer,
        retention_s double precision)""",
    "CREATE INDEX tenants_by_served ON tenants (served)",
    """CREATE TABLE instances (
        id text PRIMARY KEY, tenant text NOT NULL, workflow text NOT NULL, bundle text,
        params text, params_clone bytea, metadata text NOT NULL, status text NOT NULL,
        created_at double precision NOT NULL, updated_at double precision NOT NULL,
        wake_at double precision, waiting_for text, output text, output_clone bytea,
        error_name text, error_message text, generation bigint NOT NULL, owner text,
        lease_until double precision, paused_at double precision,
        runs integer NOT NULL DEFAULT 0, crashes integer NOT NULL DEFAULT 0)""",
    "CREATE INDEX instances_listed ON instances (created_at, id)",
    "CREATE INDEX instances_by_tenant ON instances (tenant, created_at)",
    "CREATE INDEX instances_by_status ON instances (status)",
    """CREATE INDEX instances_leased ON instances (owner, lease_until)
        WHERE status IN ('running', 'waitingForPause')""",
    """CREATE INDEX instances_leased_by_tenant ON instances (tenant)
        WHERE status IN ('running', 'waitingForPause')""",
    """CREATE INDEX instances_finished ON instances (tenant, updated_at)
        WHERE status IN ('complete', 'errored', 'terminated')""",
    # The runnable instances, kept by a trigger: claims lock rows of this small table (SKIP
    # LOCKED) rather than walk the instances' heap, which history and churn make large.
    """CREATE TABLE ready (
        id text PRIMARY KEY, tenant text NOT NULL, wake_at double precision NOT NULL)""",
    "CREATE INDEX ready_due ON ready (tenant, wake_at)",
    "CREATE INDEX ready_wake ON ready (wake_at)",
    """CREATE FUNCTION dynisolate_ready() RETURNS trigger LANGUAGE plpgsql AS $$
    BEGIN
        IF TG_OP = 'DELETE' THEN
            DELETE FROM ready WHERE id = OLD.id;
        ELSIF NEW.status IN ('queued', 'waiting') AND NEW.wake_at IS NOT NULL THEN
            INSERT INTO ready (id, tenant, wake_at) VALUES (NEW.id, NEW.tenant, NEW.wake_at)
            ON CONFLICT (id) DO UPDATE SET wake_at = EXCLUDED.wake_at;
        ELSIF TG_OP = 'UPDATE' AND OLD.status IN ('queued', 'waiting') THEN
            DELETE FROM ready WHERE id = OLD.id;
        END IF;
        RETURN NULL;
    END $$""",
    """CREATE TRIGGER instances_ready AFTER INSERT OR DELETE OR UPDATE OF status, wake_at
        ON instances FOR EACH ROW EXECUTE FUNCTION dynisolate_ready()""",
    """CREATE TABLE steps (
        instance text NOT NULL REFERENCES instances (id) ON DELETE CASCADE, key text NOT NULL,
        kind text NOT NULL, name text NOT NULL, count integer NOT NULL, position integer NOT NULL,
        concurrent boolean NOT NULL, state text NOT NULL, attempts integer NOT NULL,
        value text, value_clone bytea, error_name text, error_message text,
        wake_at double precision, config text, started_at double precision NOT NULL,
        ended_at double precision, PRIMARY KEY (instance, key))""",
    """CREATE TABLE events (
        seq bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
        instance text NOT NULL REFERENCES instances (id) ON DELETE CASCADE, type text NOT NULL,
        payload text, payload_clone bytea, timestamp double precision NOT NULL,
        size integer NOT NULL, consumed_by text)""",
    "CREATE INDEX events_by_instance ON events (instance, seq)",
    "CREATE INDEX events_pending ON events (instance, type, seq) WHERE consumed_by IS NULL",
    "CREATE INDEX events_buffered ON events (instance, size) WHERE consumed_by IS NULL",
    # Rows that are updated in place on every run and claim: vacuum them early.
    "ALTER TABLE ready SET (autovacuum_vacuum_scale_factor = 0.01, autovacuum_vacuum_threshold = 200)",
    "ALTER TABLE instances SET (autovacuum_vacuum_scale_factor = 0.02)",
    "ALTER TABLE tenants SET (autovacuum_vacuum_scale_factor = 0.01)",
)


def _v1_tables(conn: Any) -> None:
    for statement in _V1:
        conn.execute(statement)


# In order; a migration's number is the version it brings a database to.
_MIGRATIONS: tuple[tuple[int, Callable[[Any], None]], ...] = ((1, _v1_tables),)
SCHEMA_VERSION = _MIGRATIONS[-1][0]


def migrate(conn: Any, where: str) -> int:
    """Brings the schema on `conn` (a psycopg connection in autocommit mode) to `SCHEMA_VERSION`;
    returns the version it had. Raises `IncompatibleDatabaseError` for another application's
    schema or a newer release's, changing nothing. `where` names the database in messages."""
    with conn.transaction():
        conn.execute("SELECT pg_advisory_xact_lock(%s)", (_ADVISORY_LOCK,))
        marked = conn.execute("SELECT to_regclass('dynisolate_schema') IS NOT NULL").fetchone()[0]
        row = (
            conn.execute("SELECT application, version FROM dynisolate_schema").fetchone() if marked else None
        )
        if row is None:
            others = conn.execute(
                "SELECT count(*) FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace "
                "WHERE n.nspname = current_schema() AND c.relkind IN ('r', 'p', 'v', 'm')"
            ).fetchone()[0]
            if others:
                raise incompatible(
                    where,
                    "holds another application's tables and no dynisolate schema: give the engine a "
                    "database (or a schema, with search_path) of its own",
                    0,
                    SCHEMA_VERSION,
                )
            version = 0
        elif row[0] != APPLICATION:
            raise incompatible(
                where, f"belongs to {row[0]!r}, not to dynisolate", int(row[1]), SCHEMA_VERSION
            )
        else:
            version = int(row[1])
        if version > SCHEMA_VERSION:
            raise too_new(where, version, SCHEMA_VERSION)
        for number, step in _MIGRATIONS:
            if number > version:
                step(conn)
        if version < SCHEMA_VERSION:
            conn.execute("DELETE FROM dynisolate_schema")
            conn.execute(
                "INSERT INTO dynisolate_schema (application, version) VALUES (%s, %s)",
                (APPLICATION, SCHEMA_VERSION),
            )
    return version
