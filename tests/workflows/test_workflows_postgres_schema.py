"""Schema versions of the PostgreSQL store (`_postgres_schema.py`): a new database is marked with
the current version, another application's tables or a newer release's schema are refused
untouched, processes opening one database at once migrate it once, a failed migration changes
nothing, and a schema of its own (search_path) lets the engine share a database."""

from __future__ import annotations

import threading
from typing import Any
from urllib.parse import quote

import psycopg
import pytest

from dynisolate.workflows import Engine, IncompatibleDatabaseError, Step, WorkflowEvent
from dynisolate.workflows import _postgres_schema as schema
from dynisolate.workflows._postgres import PostgresStore


def idle(event: WorkflowEvent, step: Step) -> str:
    return step.do("one", lambda: "done")


def snapshot(url: str) -> list[Any]:
    """What a database holds: its tables, and the rows of the small ones."""
    with psycopg.connect(url) as conn:
        tables = conn.execute(
            "SELECT table_schema, table_name FROM information_schema.tables "
            "WHERE table_schema NOT IN ('pg_catalog', 'information_schema') ORDER BY 1, 2"
        ).fetchall()
        rows = [conn.execute(f'SELECT * FROM "{s}"."{t}" ORDER BY 1').fetchall() for s, t in tables]
    return [tables, rows]


def test_a_new_database_is_marked_with_the_current_version(postgres_url: str) -> None:
    PostgresStore(postgres_url).close()
    with psycopg.connect(postgres_url) as conn:
        assert conn.execute("SELECT application, version FROM dynisolate_schema").fetchall() == [
            (schema.APPLICATION, schema.SCHEMA_VERSION)
        ]
    PostgresStore(postgres_url).close()  # opening it again changes nothing
    with psycopg.connect(postgres_url) as conn:
        assert conn.execute("SELECT count(*) FROM dynisolate_schema").fetchone() == (1,)


def test_a_database_from_a_newer_release_is_refused_untouched(postgres_url: str) -> None:
    PostgresStore(postgres_url).close()
    with psycopg.connect(postgres_url) as conn:
        conn.execute("UPDATE dynisolate_schema SET version = version + 1")
    before = snapshot(postgres_url)
    with pytest.raises(IncompatibleDatabaseError, match="newer dynisolate") as refused:
        Engine(postgres_url)
    assert (refused.value.found_version, refused.value.supported_version) == (
        schema.SCHEMA_VERSION + 1,
        schema.SCHEMA_VERSION,
    )
    assert snapshot(postgres_url) == before


@pytest.mark.parametrize("kind", ["tables", "marker"])
def test_another_applications_database_is_refused_untouched(postgres_url: str, kind: str) -> None:
    with psycopg.connect(postgres_url) as conn:
        if kind == "tables":
            conn.execute("CREATE TABLE users (id integer PRIMARY KEY, name text)")
            conn.execute("INSERT INTO users VALUES (1, 'ada')")
        else:
            conn.execute("CREATE TABLE dynisolate_schema (application text, version integer)")
            conn.execute("INSERT INTO dynisolate_schema VALUES ('someone-else', 3)")
    before = snapshot(postgres_url)
    with pytest.raises(IncompatibleDatabaseError, match="another application|someone-else"):
        Engine(postgres_url)
    assert snapshot(postgres_url) == before


def test_a_schema_of_its_own_shares_a_database_with_another_application(postgres_url: str) -> None:
    with psycopg.connect(postgres_url) as conn:
        conn.execute("CREATE TABLE users (id integer PRIMARY KEY)")
        conn.execute("CREATE SCHEMA wf")
    url = f"{postgres_url}?options={quote('-csearch_path=wf')}"
    with Engine(url, workflows={"idle": idle}, poll_s=0.01) as engine:
        assert engine.create(tenant="t", entrypoint="idle").wait(timeout=30).output == "done"
    with psycopg.connect(postgres_url) as conn:
        assert conn.execute("SELECT count(*) FROM wf.instances").fetchone() == (1,)


def test_processes_opening_one_database_at_once_migrate_it_once(postgres_url: str) -> None:
    # A connection per thread, as each process has: the advisory lock orders them.
    found: list[Any] = []
    barrier = threading.Barrier(4)

    def open_it() -> None:
        barrier.wait()
        try:
            with psycopg.connect(postgres_url, autocommit=True) as conn:
                found.append(schema.migrate(conn, "test"))
        except Exception as error:  # collected: the assertion below names it
            found.append(error)

    threads = [threading.Thread(target=open_it) for _ in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert sorted(found) == [0, schema.SCHEMA_VERSION, schema.SCHEMA_VERSION, schema.SCHEMA_VERSION]


def test_a_migration_that_fails_changes_nothing(postgres_url: str, monkeypatch: pytest.MonkeyPatch) -> None:
    PostgresStore(postgres_url).close()
    before = snapshot(postgres_url)

    def broken(conn: Any) -> None:
        conn.execute("CREATE TABLE half_done (id integer)")
        conn.execute("ALTER TABLE instances ADD COLUMN half text")
        raise RuntimeError("disk on fire")

    monkeypatch.setattr(schema, "_MIGRATIONS", (*schema._MIGRATIONS, (schema.SCHEMA_VERSION + 1, broken)))
    monkeypatch.setattr(schema, "SCHEMA_VERSION", schema.SCHEMA_VERSION + 1)
    with pytest.raises(RuntimeError, match="disk on fire"):
        PostgresStore(postgres_url)
    assert snapshot(postgres_url) == before
    with psycopg.connect(postgres_url) as conn:
        columns = conn.execute(
            "SELECT column_name FROM information_schema.columns WHERE table_name = 'instances'"
        ).fetchall()
    assert ("half",) not in columns
