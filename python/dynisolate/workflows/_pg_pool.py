"""The PostgreSQL store's connections: at most `size`, made on demand on the thread that needs
one, kept while healthy, dropped when broken.

A connection lost with a server restart is noticed when next used and replaced by the next call,
at once: there is no background reconnection with a backoff of its own. (With psycopg_pool 3.3,
whose reconnection attempts back off exponentially, the chaos test's engine kept getting
PoolTimeout long after the server was back, until the test gave up.)
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any

__all__ = ["ConnectionPool", "PoolExhausted"]

_IDLE = 0  # libpq's PQTRANS_IDLE (psycopg.pq.TransactionStatus.IDLE): no transaction open


class PoolExhausted(Exception):
    """Every connection stayed in use for the whole wait."""


class ConnectionPool:
    def __init__(self, connect: Callable[[], Any], size: int, timeout_s: float) -> None:
        self._connect = connect
        self._size = size
        self._timeout_s = timeout_s
        self._slots = threading.BoundedSemaphore(size)
        self._lock = threading.Lock()
        self._idle: list[Any] = []
        self._closed = False

    @contextmanager
    def connection(self) -> Iterator[Any]:
        """A connection for one transaction (or one autocommit statement), given back after."""
        if not self._slots.acquire(timeout=self._timeout_s):
            raise PoolExhausted(f"all {self._size} connections stayed in use for {self._timeout_s:g} s")
        conn = None
        try:
            with self._lock:
                conn = self._idle.pop() if self._idle else None
            if conn is None:
                conn = self._connect()
            yield conn
        finally:
            if conn is not None:
                self._give_back(conn)
            self._slots.release()

    def _give_back(self, conn: Any) -> None:
        # Kept only when idle outside a transaction: a broken one, or one left mid-transaction by
        # an error, is closed (its transaction, if any, rolls back with it).
        idle = conn.info.transaction_status == _IDLE
        healthy = not conn.closed and not conn.broken and idle
        with self._lock:
            if healthy and not self._closed:
                self._idle.append(conn)
                return
        conn.close()

    def close(self) -> None:
        with self._lock:
            self._closed = True
            idle, self._idle = self._idle, []
        for conn in idle:
            conn.close()
