"""Group commit: write transactions from many threads share one COMMIT (one sync to disk).

A thread that wants to write queues a function of the connection. If no thread is committing,
it becomes the leader: it runs every queued function in one transaction, each inside its own
savepoint (one failing function rolls back only its own writes), commits, and wakes the threads
whose work was in it. Threads that queue while a leader is committing form the next group. A
lone writer pays two savepoint statements for this; under concurrency the sync, the dominant cost
with `synchronous=full`, is paid once per group instead of once per write.
"""

from __future__ import annotations

import sqlite3
import threading
from collections.abc import Callable
from typing import Any, TypeVar

__all__ = ["GroupCommit"]

T = TypeVar("T")


class _Ticket:
    __slots__ = ("fn", "single", "done", "value", "error")

    def __init__(self, fn: Callable[[sqlite3.Connection], Any], single: bool) -> None:
        self.fn = fn
        self.single = single
        self.done = False
        self.value: Any = None
        self.error: BaseException | None = None


class GroupCommit:
    def __init__(self, conn: sqlite3.Connection, conn_lock: threading.RLock) -> None:
        self._conn = conn
        self._conn_lock = conn_lock  # also taken by readers of an in-memory database
        self._mutex = threading.Lock()
        self._wake = threading.Condition(self._mutex)
        self._queue: list[_Ticket] = []
        self._leading = False

    def run(self, fn: Callable[[sqlite3.Connection], T], single: bool = False) -> T:
        """Runs `fn(conn)` in a transaction and returns its result once that is committed.
        `single`: fn runs one statement, which alone needs no explicit transaction."""
        ticket = _Ticket(fn, single)
        with self._mutex:
            self._queue.append(ticket)
            while self._leading and not ticket.done:
                self._wake.wait()
            if not ticket.done:
                self._leading = True
        if not ticket.done:
            try:
                self._lead()
            finally:
                with self._mutex:
                    self._leading = False
                    self._wake.notify_all()  # a waiting thread with work queued leads next
        if ticket.error is not None:
            raise ticket.error
        return ticket.value  # type: ignore[no-any-return]

    def _lead(self) -> None:
        with self._mutex:
            batch, self._queue = self._queue, []
        try:
            with self._conn_lock:
                self._commit(batch)
        except BaseException as error:  # BEGIN or COMMIT failed: nothing of the group was written
            for ticket in batch:
                ticket.error, ticket.value = error, None
        with self._mutex:
            for ticket in batch:
                ticket.done = True

    def _commit(self, batch: list[_Ticket]) -> None:
        conn = self._conn
        if len(batch) == 1 and batch[0].single:
            batch[0].value = batch[0].fn(conn)  # its own implicit transaction
            return
        conn.execute("BEGIN IMMEDIATE")
        try:
            if len(batch) == 1:
                batch[0].value = batch[0].fn(conn)
            else:
                for ticket in batch:
                    if ticket.single:  # one statement is atomic by itself: no savepoint needed
                        try:
                            ticket.value = ticket.fn(conn)
                        except Exception as error:
                            ticket.error = error
                        continue
                    conn.execute("SAVEPOINT ticket")
                    try:
                        ticket.value = ticket.fn(conn)
                    except Exception as error:
                        conn.execute("ROLLBACK TO ticket")
                        ticket.error = error
                    conn.execute("RELEASE ticket")
            conn.execute("COMMIT")
        except BaseException:
            if conn.in_transaction:  # a failed COMMIT leaves the transaction open
                conn.execute("ROLLBACK")
            raise
