"""Schema versions of the SQLite store (`_sqlite_schema.py`): files from earlier releases open and
upgrade in place, files of another application or a newer release are refused untouched, two
connections opening one file at once (from any number of processes) are safe, and a failed
migration changes nothing."""

from __future__ import annotations

import sqlite3
import threading
import time
from pathlib import Path
from typing import Any

import pytest

from dynisolate.workflows import Engine, EventBufferFullError, IncompatibleDatabaseError, Step, WorkflowEvent
from dynisolate.workflows import _sqlite_schema as schema
from dynisolate.workflows._sqlite import SqliteStore

# The tables as the release at commit 76e2245 created them (its `_SCHEMA`): `paused_at` is there,
# events have no `size`. The release before it had no `paused_at` (it was added to CREATE TABLE
# without a migration, so `pause` failed on older files).
SCHEMA_76E2245 = """
CREATE TABLE IF NOT EXISTS bundles (hash TEXT PRIMARY KEY, blob BLOB NOT NULL);
CREATE TABLE IF NOT EXISTS tenants (
    tenant TEXT PRIMARY KEY, served INTEGER NOT NULL DEFAULT 0, max_running INTEGER);
CREATE TABLE IF NOT EXISTS instances (
    id TEXT PRIMARY KEY, tenant TEXT NOT NULL, workflow TEXT NOT NULL, bundle TEXT,
    params TEXT NOT NULL, metadata TEXT NOT NULL, status TEXT NOT NULL,
    created_at REAL NOT NULL, updated_at REAL NOT NULL, wake_at REAL, waiting_for TEXT,
    output TEXT, error_name TEXT, error_message TEXT,
    generation INTEGER NOT NULL DEFAULT 0, owner TEXT, lease_until REAL,
    runs INTEGER NOT NULL DEFAULT 0, crashes INTEGER NOT NULL DEFAULT 0, paused_at REAL);
CREATE INDEX IF NOT EXISTS instances_ready ON instances (tenant, wake_at)
    WHERE status IN ('queued', 'waiting');
CREATE INDEX IF NOT EXISTS instances_wake ON instances (wake_at) WHERE status IN ('queued', 'waiting');
CREATE INDEX IF NOT EXISTS instances_leased ON instances (owner)
    WHERE status IN ('running', 'waitingForPause');
CREATE TABLE IF NOT EXISTS steps (
    instance TEXT NOT NULL, key TEXT NOT NULL, kind TEXT NOT NULL, name TEXT NOT NULL,
    count INTEGER NOT NULL, position INTEGER NOT NULL, concurrent INTEGER NOT NULL,
    state TEXT NOT NULL, attempts INTEGER NOT NULL, value TEXT, error_name TEXT, error_message TEXT,
    wake_at REAL, config TEXT, started_at REAL NOT NULL, ended_at REAL,
    PRIMARY KEY (instance, key)) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS events (
    seq INTEGER PRIMARY KEY AUTOINCREMENT, instance TEXT NOT NULL, type TEXT NOT NULL,
    payload TEXT NOT NULL, timestamp REAL NOT NULL, consumed_by TEXT);
CREATE INDEX IF NOT EXISTS events_pending ON events (instance, type, seq) WHERE consumed_by IS NULL;
"""
CONFIG = '{"retries": {"limit": 5, "delay": 10000, "backoff": "exponential"}, "timeout": 600000}'


def waiter(event: WorkflowEvent, step: Step) -> object:
    step.do("prepare", lambda: "ready")
    return step.wait_for_event("go", "go")["payload"]


def old_database(path: Path, *, paused_at: bool = True) -> None:
    """A file as that release left it: `wf-1` done with its step and waiting for "go", with an
    "early" event buffered; `wf-2` queued."""
    now = time.time()
    script = SCHEMA_76E2245 if paused_at else SCHEMA_76E2245.replace(", paused_at REAL)", ")")
    conn = sqlite3.connect(path)
    conn.executescript(script)
    instance = (
        "INSERT INTO instances VALUES "
        "(?, 'acme', 'waiter', NULL, ?, 'null', ?, ?, ?, ?, ?, NULL, NULL, NULL, 7, NULL, NULL, ?, 0"
    )
    instance += ", NULL)" if paused_at else ")"
    conn.execute(instance, ("wf-1", '{"n":1}', "waiting", now, now, now + 86400, "go", 1))
    conn.execute(instance, ("wf-2", '{"n":2}', "queued", now, now, now, None, 0))
    conn.execute("INSERT INTO tenants VALUES ('acme', 1, NULL)")
    step = "INSERT INTO steps VALUES ('wf-1', ?, ?, ?, 1, ?, 0, ?, ?, ?, NULL, NULL, ?, ?, ?, ?)"
    conn.execute(step, ("prepare#1", "do", "prepare", 1, "complete", 1, '"ready"', None, CONFIG, now, now))
    conn.execute(
        step, ("go#1", "event", "go", 2, "waiting", 0, None, now + 86400, '{"type": "go"}', now, None)
    )
    conn.execute("INSERT INTO events VALUES (1, 'wf-1', 'early', '{\"x\":1}', ?, NULL)", (now,))
    conn.commit()
    conn.close()


def header(path: Path) -> tuple[int, int]:
    with sqlite3.connect(path) as conn:
        return conn.execute("PRAGMA application_id").fetchone()[0], conn.execute(
            "PRAGMA user_version"
        ).fetchone()[0]


def test_a_new_file_is_marked_with_the_current_version(tmp_path: Path) -> None:
    SqliteStore(str(tmp_path / "new.db"))
    assert header(tmp_path / "new.db") == (schema.APPLICATION_ID, schema.SCHEMA_VERSION)


@pytest.mark.parametrize("paused_at", [True, False], ids=["76e2245", "before-76e2245"])
def test_a_file_from_an_earlier_release_upgrades_in_place_and_runs_on(
    tmp_path: Path, paused_at: bool
) -> None:
    db = tmp_path / "old.db"
    old_database(db, paused_at=paused_at)
    engine = Engine(str(db), workflows={"waiter": waiter}, max_buffered_events=2)
    try:
        assert header(db) == (schema.APPLICATION_ID, schema.SCHEMA_VERSION)
        engine.pause("wf-2")  # needs paused_at, which a file from before 76e2245 lacked
        assert engine.status("wf-2").status == "paused"
        engine.resume("wf-2")
        # The buffered event counts against the cap: one more fits, a third does not.
        engine.send_events([("wf-1", "late", 1)])
        with pytest.raises(EventBufferFullError, match="holds 2 unconsumed events"):
            engine.send_events([("wf-1", "later", 2)])
        engine.drain()
        assert engine.status("wf-1").status == "waiting"
    finally:
        engine.close()
    with sqlite3.connect(db) as conn:
        assert conn.execute("SELECT size FROM events WHERE seq = 1").fetchone() == (len('{"x":1}'),)


def test_an_upgraded_instance_completes(tmp_path: Path) -> None:
    db = tmp_path / "old.db"
    old_database(db)
    with Engine(str(db), workflows={"waiter": waiter}, poll_s=0.01) as engine:
        engine.send_events([("wf-1", "go", {"by": "ops"})])
        status = engine.wait("wf-1", timeout=30)
    assert (status.status, status.output) == ("complete", {"by": "ops"}), status.error
    assert [s.name for s in status.steps] == ["prepare", "go"]


def test_a_file_from_a_newer_release_is_refused_untouched(tmp_path: Path) -> None:
    db = tmp_path / "newer.db"
    SqliteStore(str(db))
    with sqlite3.connect(db) as conn:
        conn.execute(f"PRAGMA user_version = {schema.SCHEMA_VERSION + 1}")
    before = db.read_bytes()
    with pytest.raises(IncompatibleDatabaseError, match="newer dynisolate") as refused:
        Engine(str(db))
    assert (refused.value.found_version, refused.value.supported_version) == (
        schema.SCHEMA_VERSION + 1,
        schema.SCHEMA_VERSION,
    )
    assert db.read_bytes() == before


@pytest.mark.parametrize("kind", ["tables", "application_id"])
def test_another_applications_database_is_refused_untouched(tmp_path: Path, kind: str) -> None:
    db = tmp_path / "theirs.db"
    with sqlite3.connect(db) as conn:
        if kind == "tables":
            conn.execute("CREATE TABLE users (id INTEGER PRIMARY KEY, name TEXT)")
        else:
            conn.execute("PRAGMA application_id = 42")
            conn.execute("CREATE TABLE instances (id TEXT)")
    before = db.read_bytes()
    with pytest.raises(IncompatibleDatabaseError, match="another application"):
        Engine(str(db))
    assert db.read_bytes() == before


def test_connections_opening_one_old_file_at_once_migrate_it_once(tmp_path: Path) -> None:
    # Each thread has its own connection, as each process would: the write lock orders them.
    db = tmp_path / "old.db"
    old_database(db, paused_at=False)
    found: list[Any] = []
    barrier = threading.Barrier(4)

    def open_it() -> None:
        barrier.wait()
        conn = sqlite3.connect(db, isolation_level=None, timeout=10)
        try:
            found.append(schema.migrate(conn, str(db)))
        except Exception as error:  # collected: the assertion below names it
            found.append(error)
        finally:
            conn.close()

    threads = [threading.Thread(target=open_it) for _ in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert sorted(found) == [0, schema.SCHEMA_VERSION, schema.SCHEMA_VERSION, schema.SCHEMA_VERSION]
    assert header(db) == (schema.APPLICATION_ID, schema.SCHEMA_VERSION)


def test_a_migration_that_fails_changes_nothing(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    db = tmp_path / "old.db"
    old_database(db, paused_at=False)

    def broken(conn: sqlite3.Connection) -> None:
        raise sqlite3.OperationalError("disk on fire")

    monkeypatch.setattr(schema, "_MIGRATIONS", (*schema._MIGRATIONS, (schema.SCHEMA_VERSION + 1, broken)))
    with pytest.raises(sqlite3.OperationalError, match="disk on fire"):
        SqliteStore(str(db))
    assert header(db) == (0, 0)
    with sqlite3.connect(db) as conn:
        assert "paused_at" not in {row[1] for row in conn.execute("PRAGMA table_info(instances)")}
        assert "size" not in {row[1] for row in conn.execute("PRAGMA table_info(events)")}
