"""The PostgreSQL store's hot statements through libpq (`_pg_statement.py`): values of every kind
there and back, NULLs, typed errors, a lost connection, statements deallocated under it, and
rows of a JSON document."""

from __future__ import annotations

import json
from collections.abc import Iterator

import psycopg
import pytest

from dynisolate.workflows._pg_statement import Statement, json_pair, json_rows

ECHO = Statement(
    "SELECT $1::text, $2::bigint, $3::float8, $4::bytea, $2::bigint > 0, $5::text",
    "text bigint float8 bytea text",
    "text bigint float8 bytea bool text",
)


@pytest.fixture
def conn(postgres_url: str) -> Iterator[psycopg.Connection]:
    with psycopg.connect(postgres_url, autocommit=True, prepare_threshold=0) as conn:
        yield conn


@pytest.mark.parametrize("prepare", [True, False], ids=["prepared", "unnamed"])
def test_values_of_every_kind_come_back_as_they_went(conn: psycopg.Connection, prepare: bool) -> None:
    sent = ("é ✓ 😀 \\ ' \"", 2**62 + 1, 1765000000.1234567, bytes(range(256)) * 3, None)
    assert ECHO.run(conn, sent, prepare) == [(*sent[:4], True, None)]
    assert ECHO.run(conn, ("", -1, -0.0, b"", "x"), prepare) == [("", -1, -0.0, b"", False, "x")]


def test_a_statement_deallocated_under_it_is_prepared_again(conn: psycopg.Connection) -> None:
    assert ECHO.run(conn, ("a", 1, 1.0, b"", None))
    conn.execute("SELECT 1")  # prepared by psycopg, so that its rollback deallocates everything
    with pytest.raises(ZeroDivisionError), conn.transaction():
        conn.execute("SELECT 1")
        raise ZeroDivisionError
    ours = "SELECT count(*) FROM pg_prepared_statements WHERE name LIKE 'dynisolate%'"
    assert conn.execute(ours).fetchone() == (0,)
    assert ECHO.run(conn, ("b", 2, 2.0, b"\x00", None)) == [("b", 2, 2.0, b"\x00", True, None)]


def test_server_errors_are_psycopgs_typed_errors(conn: psycopg.Connection) -> None:
    conn.execute("CREATE TABLE t (id text PRIMARY KEY)")
    insert = Statement("INSERT INTO t VALUES ($1)", "text", "")
    assert insert.run(conn, ["a"]) == []
    with pytest.raises(psycopg.errors.UniqueViolation) as caught:
        insert.run(conn, ["a"])
    assert caught.value.diag.constraint_name == "t_pkey"
    with pytest.raises(psycopg.errors.InvalidTextRepresentation):
        Statement("SELECT $1::int", "text", "int").run(conn, ["seven"])
    assert insert.run(conn, ["b"]) == []  # the connection still serves


def test_a_lost_connection_is_an_operational_error(conn: psycopg.Connection, postgres_url: str) -> None:
    pid = conn.info.backend_pid
    with psycopg.connect(postgres_url, autocommit=True) as admin:
        admin.execute("SELECT pg_terminate_backend(%s)", (pid,))
    with pytest.raises(psycopg.OperationalError):
        ECHO.run(conn, ("a", 1, 1.0, b"", None))
    assert conn.closed  # so the store's pool drops it


def test_json_rows_carry_any_number_of_rows(conn: psycopg.Connection) -> None:
    spec = "name text, n bigint, x float8, blob bytea, ok bool"
    rows = [["a", 1, 0.1, *json_pair(b"\x00\xff")[1:], True], ["é", None, None, None, False]]
    select = Statement(json_rows("$1::jsonb", spec), "json", "text bigint float8 bytea bool")
    assert select.run(conn, [json.dumps(rows)]) == [
        ("a", 1, 0.1, b"\x00\xff", True),
        ("é", None, None, None, False),
    ]
    assert select.run(conn, ["[]"]) == []
    assert json_pair("text") == ("text", None)
