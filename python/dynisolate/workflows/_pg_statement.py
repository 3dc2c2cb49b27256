"""The PostgreSQL store's hot statements, run through libpq directly (psycopg's `pq` layer).

psycopg's `execute` adapts every parameter and result value in Python, which costs more client
CPU than the round trip itself (about 50 against 25 µs a statement here); the engine's runs
share one interpreter lock, so that CPU is throughput. A `Statement` states the kinds of its
parameters and result columns once, sends text (bytes as binary), is prepared on each connection
at first use, and converts results by kind. libpq's calls release the interpreter lock while they
wait. The claim, leases, sweeps and operator actions keep to `execute`: they run less often.
"""

from __future__ import annotations

import base64
import itertools
import weakref
from collections.abc import Callable, Sequence
from typing import Any

__all__ = ["Statement", "columns", "json_pair", "json_rows"]

try:
    import psycopg
    import psycopg.errors
    from psycopg import pq
except ImportError:  # pragma: no cover - the extra is not installed
    psycopg = None  # type: ignore[assignment]

_TEXT, _BINARY = 0, 1
_UNDEFINED_PREPARED_STATEMENT = b"26000"  # SQLSTATE invalid_sql_statement_name


def _text(value: Any) -> bytes:
    return str(value).encode()


def _float(value: Any) -> bytes:
    return repr(float(value)).encode()


def _bytea(value: bytes) -> bytes:
    return bytes.fromhex(value[2:].decode())  # PostgreSQL's hex output: \x0a1b...


# How each SQL type is sent as a parameter (encoder, format) and read from a result's text.
_SENT: dict[str, tuple[Callable[[Any], bytes], int]] = {
    "text": (str.encode, _TEXT),
    "json": (str.encode, _TEXT),
    "int": (_text, _TEXT),
    "bigint": (_text, _TEXT),
    "float8": (_float, _TEXT),
    "bytea": (bytes, _BINARY),
}
_READ: dict[str, Callable[[bytes], Any]] = {
    "text": bytes.decode,
    "int": int,
    "bigint": int,
    "float8": float,
    "bool": lambda value: value == b"t",
    "bytea": _bytea,
}
_names = itertools.count()


def columns(spec: str) -> tuple[list[str], list[str]]:
    """The names and SQL types of `"name type, name type, ..."`."""
    pairs = [c.split() for c in spec.split(",")]
    return [name for name, _ in pairs], [kind for _, kind in pairs]


def json_rows(source: str, spec: str) -> str:
    """A query of the rows a `jsonb` array `source` holds (each an array of the values of `spec`'s
    columns in order; bytea as base64): one parameter carries any number of rows. `jsonb`, not
    `json`: each `->>` of a `json` value parses its text again from the start."""
    _, kinds = columns(spec)
    values = ", ".join(
        f"decode(x->>{i}, 'base64')" if kind == "bytea" else f"(x->>{i})::{kind}"
        for i, kind in enumerate(kinds)
    )
    return f"SELECT {values} FROM jsonb_array_elements({source}) AS x"


def json_pair(value: str | bytes | None) -> tuple[str | None, str | None]:
    """A value as its JSON column pair: JSON text, or a structured clone's bytes in base64."""
    if isinstance(value, bytes):
        return None, base64.b64encode(value).decode("ascii")
    return value, None


def _deallocated(pgconn: Any, result: Any) -> bool:
    """Whether the statement failed for want of being prepared, outside a transaction (so it can
    simply run again): psycopg deallocates every prepared statement of a connection when one of
    its transactions rolls back."""
    return bool(
        result.status == pq.ExecStatus.FATAL_ERROR
        and result.error_field(pq.DiagnosticField.SQLSTATE) == _UNDEFINED_PREPARED_STATEMENT
        and pgconn.transaction_status == pq.TransactionStatus.IDLE
    )


class Statement:
    """`sql` with parameters `$1`.. of the SQL types `params` (space-separated) returning columns of
    the SQL types `results` (space-separated)."""

    def __init__(self, sql: str, params: str, results: str) -> None:
        self.sql = sql.encode()
        self._name = f"dynisolate_{next(_names)}".encode()
        self._encoders = [_SENT[kind][0] for kind in params.split()]
        self._formats = [_SENT[kind][1] for kind in params.split()]
        self._readers = [_READ[kind] for kind in results.split()]
        self._prepared_on: weakref.WeakSet[Any] = weakref.WeakSet()

    def run(self, conn: Any, args: Sequence[Any], prepare: bool = True) -> list[tuple[Any, ...]]:
        """Runs on psycopg connection `conn`; prepared there at first use unless not `prepare`
        (behind a transaction-mode pooler, where the next transaction may be another session's)."""
        values = [None if a is None else encode(a) for encode, a in zip(self._encoders, args, strict=True)]
        pgconn = conn.pgconn
        if not prepare:
            result = pgconn.exec_params(self.sql, values, param_formats=self._formats)
        else:
            if conn not in self._prepared_on:
                self._prepare(conn)
            result = pgconn.exec_prepared(self._name, values, param_formats=self._formats)
            if _deallocated(pgconn, result):
                self._prepare(conn)
                result = pgconn.exec_prepared(self._name, values, param_formats=self._formats)
        self._check(pgconn, result)
        readers = self._readers
        return [
            tuple(
                None if (value := result.get_value(row, column)) is None else read(value)
                for column, read in enumerate(readers)
            )
            for row in range(result.ntuples)
        ]

    def _prepare(self, conn: Any) -> None:
        self._check(conn.pgconn, conn.pgconn.prepare(self._name, self.sql))
        self._prepared_on.add(conn)

    @staticmethod
    def _check(pgconn: Any, result: Any) -> None:
        if result.status in (pq.ExecStatus.COMMAND_OK, pq.ExecStatus.TUPLES_OK):
            return
        if pgconn.status == pq.ConnStatus.BAD:  # the connection is lost: psycopg's `closed` says so too
            raise psycopg.OperationalError(pgconn.get_error_message())
        raise psycopg.errors.error_from_result(result)
