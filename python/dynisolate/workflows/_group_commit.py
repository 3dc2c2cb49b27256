"""Group commit: writes from many threads share one transaction (one sync to disk).

A thread that wants to write queues its work. If no thread is committing, it becomes the leader:
it hands every queued piece of work to the store's `commit` function, which writes them all in one
transaction and sets each ticket's value or error, and then wakes the threads whose work was in it.
Threads that queue while a leader is committing form the next group, so a group is as large as
the writes that arrived during one commit: no timer, and a lone writer waits for nobody. Under
concurrency the sync, the dominant cost of a durable commit, is paid once per group instead of
once per write; nothing returns to its caller before its group has committed.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from typing import Any, Generic, TypeVar

__all__ = ["GroupCommit", "Ticket"]

W = TypeVar("W")


class Ticket(Generic[W]):
    """One thread's work in a group, and what came of it."""

    __slots__ = ("work", "done", "value", "error")

    def __init__(self, work: W) -> None:
        self.work = work
        self.done = False
        self.value: Any = None
        self.error: BaseException | None = None


class GroupCommit(Generic[W]):
    def __init__(self, commit: Callable[[list[Ticket[W]]], None]) -> None:
        """`commit(tickets)` writes a group in one transaction and sets each ticket's `value` or
        `error`; when it raises, nothing of the group was written and every ticket fails so."""
        self._commit = commit
        self._mutex = threading.Lock()
        self._wake = threading.Condition(self._mutex)
        self._queue: list[Ticket[W]] = []
        self._leading = False

    def run(self, work: W) -> Any:
        """Commits `work` with whatever else is queued; returns its value once committed."""
        ticket = Ticket(work)
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
        return ticket.value

    def _lead(self) -> None:
        with self._mutex:
            batch, self._queue = self._queue, []
        try:
            self._commit(batch)
        except BaseException as error:  # nothing of the group was written
            for ticket in batch:
                ticket.error, ticket.value = error, None
        with self._mutex:
            for ticket in batch:
                ticket.done = True
