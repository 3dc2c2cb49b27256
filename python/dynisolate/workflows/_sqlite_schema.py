"""The SQLite store's schema and its versions.

A workflow database says what it is in SQLite's own header fields: `application_id` marks it as
dynisolate's, `user_version` is its schema version. Opening one takes the write lock
(`BEGIN IMMEDIATE`, so two processes opening it at once take turns), refuses a file of another
application or one written by a newer release, and applies the migrations it has not had, in
order, in that one transaction: a crash halfway leaves the file as it was.

Files from before versions (both header fields 0, dynisolate's five tables present) start at
version 0. Every migration therefore checks what is there before it adds anything: such a file may
already have some of what later migrations bring.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Callable

from ._store import incompatible, too_new

__all__ = ["APPLICATION_ID", "SCHEMA_VERSION", "migrate"]

APPLICATION_ID = 0x64796E77  # "dynw"
_TABLES = frozenset({"bundles", "tenants", "instances", "steps", "events"})

# Version 1: the tables as commit 76e2245 made them, less what versions 2 and 3 add.
_TABLES_V1 = (
    "CREATE TABLE IF NOT EXISTS bundles (hash TEXT PRIMARY KEY, blob BLOB NOT NULL)",
    """CREATE TABLE IF NOT EXISTS tenants (
    tenant TEXT PRIMARY KEY, served INTEGER NOT NULL DEFAULT 0, max_running INTEGER)""",
    """CREATE TABLE IF NOT EXISTS instances (
    id TEXT PRIMARY KEY, tenant TEXT NOT NULL, workflow TEXT NOT NULL, bundle TEXT,
    params TEXT NOT NULL, metadata TEXT NOT NULL, status TEXT NOT NULL,
    created_at REAL NOT NULL, updated_at REAL NOT NULL, wake_at REAL, waiting_for TEXT,
    output TEXT, error_name TEXT, error_message TEXT,
    generation INTEGER NOT NULL DEFAULT 0, owner TEXT, lease_until REAL,
    runs INTEGER NOT NULL DEFAULT 0, crashes INTEGER NOT NULL DEFAULT 0)""",
    """CREATE INDEX IF NOT EXISTS instances_ready ON instances (tenant, wake_at)
    WHERE status IN ('queued', 'waiting')""",
    "CREATE INDEX IF NOT EXISTS instances_wake ON instances (wake_at) WHERE status IN ('queued', 'waiting')",
    """CREATE INDEX IF NOT EXISTS instances_leased ON instances (owner)
    WHERE status IN ('running', 'waitingForPause')""",
    """CREATE TABLE IF NOT EXISTS steps (
    instance TEXT NOT NULL, key TEXT NOT NULL, kind TEXT NOT NULL, name TEXT NOT NULL,
    count INTEGER NOT NULL, position INTEGER NOT NULL, concurrent INTEGER NOT NULL,
    state TEXT NOT NULL, attempts INTEGER NOT NULL, value TEXT, error_name TEXT, error_message TEXT,
    wake_at REAL, config TEXT, started_at REAL NOT NULL, ended_at REAL,
    PRIMARY KEY (instance, key)) WITHOUT ROWID""",
    """CREATE TABLE IF NOT EXISTS events (
    seq INTEGER PRIMARY KEY AUTOINCREMENT, instance TEXT NOT NULL, type TEXT NOT NULL,
    payload TEXT NOT NULL, timestamp REAL NOT NULL, consumed_by TEXT)""",
    "CREATE INDEX IF NOT EXISTS events_pending ON events (instance, type, seq) WHERE consumed_by IS NULL",
)


def _columns(conn: sqlite3.Connection, table: str) -> set[str]:
    return {row[1] for row in conn.execute(f"PRAGMA table_info({table})")}


def _v1_tables(conn: sqlite3.Connection) -> None:
    for statement in _TABLES_V1:
        conn.execute(statement)


def _v2_paused_at(conn: sqlite3.Connection) -> None:
    """When an instance was paused (76e2245 added the column to its CREATE TABLE only, so a file
    created before it could not pause)."""
    if "paused_at" not in _columns(conn, "instances"):
        conn.execute("ALTER TABLE instances ADD COLUMN paused_at REAL")


def _v3_event_sizes(conn: sqlite3.Connection) -> None:
    """Each event's payload bytes, and an index over the unconsumed ones' sizes: the cap on what
    an instance buffers reads them (`max_buffered_events`, `max_buffered_event_bytes`)."""
    if "size" not in _columns(conn, "events"):
        conn.execute("ALTER TABLE events ADD COLUMN size INTEGER NOT NULL DEFAULT 0")
        conn.execute("UPDATE events SET size = length(CAST(payload AS BLOB)) WHERE consumed_by IS NULL")
    conn.execute(
        "CREATE INDEX IF NOT EXISTS events_buffered ON events (instance, size) WHERE consumed_by IS NULL"
    )


def _v4_retention(conn: sqlite3.Connection) -> None:
    """Per-tenant retention of finished instances, and the index the sweep reads them by."""
    if "retention_s" not in _columns(conn, "tenants"):
        conn.execute("ALTER TABLE tenants ADD COLUMN retention_s REAL")
    conn.execute(
        "CREATE INDEX IF NOT EXISTS instances_finished ON instances (tenant, updated_at) "
        "WHERE status IN ('complete', 'errored', 'terminated')"
    )


# In order; a migration's number is the version it brings a file to.
_MIGRATIONS: tuple[tuple[int, Callable[[sqlite3.Connection], None]], ...] = (
    (1, _v1_tables),
    (2, _v2_paused_at),
    (3, _v3_event_sizes),
    (4, _v4_retention),
)
SCHEMA_VERSION = _MIGRATIONS[-1][0]


def migrate(conn: sqlite3.Connection, path: str) -> int:
    """Brings the database on `conn` (a connection in autocommit mode) to `SCHEMA_VERSION`;
    returns the version it had. Raises `IncompatibleDatabaseError` for a file of another
    application or of a newer release, changing nothing."""
    conn.execute("BEGIN IMMEDIATE")
    try:
        application = conn.execute("PRAGMA application_id").fetchone()[0]
        version = conn.execute("PRAGMA user_version").fetchone()[0]
        tables = {
            name
            for (name,) in conn.execute("SELECT name FROM sqlite_master WHERE type = 'table'")
            if not name.startswith("sqlite_")
        }
        ours = application == APPLICATION_ID or (
            application == 0 and version == 0 and (not tables or _TABLES <= tables)
        )
        if not ours:
            raise incompatible(
                path, "is not a dynisolate workflow database (another application's)", version, SCHEMA_VERSION
            )
        if version > SCHEMA_VERSION:
            raise too_new(path, version, SCHEMA_VERSION)
        for number, step in _MIGRATIONS:
            if number > version:
                step(conn)
        if version < SCHEMA_VERSION or application != APPLICATION_ID:
            conn.execute(f"PRAGMA application_id = {APPLICATION_ID}")
            conn.execute(f"PRAGMA user_version = {SCHEMA_VERSION}")
        conn.execute("COMMIT")
    except BaseException:
        conn.execute("ROLLBACK")
        raise
    return int(version)
