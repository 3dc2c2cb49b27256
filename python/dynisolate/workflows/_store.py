"""What the engine needs from storage, as an interface: SQLite implements it (`_sqlite.py`) for
one machine, PostgreSQL (`_postgres.py`) for many, with `FOR UPDATE SKIP LOCKED` claims.

Every method is one transaction. Values (params, outputs, step results, event payloads) are JSON
text, or the bytes of a structured clone where JSON cannot hold them (`dynisolate._codec`); times
are Unix seconds as floats.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Protocol

from ..exceptions import (
    EventBufferFullError,
    IncompatibleDatabaseError,
    InstanceExistsError,
    InstanceNotFoundError,
    InstanceStateError,
)

__all__ = [
    "EventRow",
    "InstanceRow",
    "StepRow",
    "Store",
    "ACTIVE",
    "FINISHED",
    "buffer_full",
    "exists",
    "incompatible",
    "not_found",
    "repeated_id",
    "state_error",
    "too_new",
]

# Statuses, as Cloudflare's. `queued` and `waiting` instances are runnable once `wake_at` passes.
ACTIVE = frozenset({"queued", "running", "waiting", "waitingForPause", "paused"})
FINISHED = frozenset({"complete", "errored", "terminated"})


def not_found(id: str) -> InstanceNotFoundError:
    """The error for an instance id that no store row has."""
    error = InstanceNotFoundError(f"no workflow instance has id {id!r}")
    error.id = id
    return error


def exists(id: str) -> InstanceExistsError:
    """The error for creating an instance with an id that a row, or the same batch, has already."""
    error = InstanceExistsError(f"a workflow instance with id {id!r} already exists")
    error.id = id
    return error


def repeated_id(rows: list[InstanceRow]) -> str | None:
    """The first id that comes twice within a batch of rows to create."""
    seen: set[str] = set()
    for row in rows:
        if row.id in seen:
            return row.id
        seen.add(row.id)
    return None


def state_error(id: str, status: str, op: str) -> InstanceStateError:
    """The error for operation `op` ("pause", "terminate", ...) that instance `id`'s status refuses."""
    error = InstanceStateError(f"workflow instance {id!r} is {status} and cannot {op}")
    error.status = status
    return error


def incompatible(where: str, message: str, found: int, supported: int) -> IncompatibleDatabaseError:
    """The error for a database this release must not open (`where` names it)."""
    error = IncompatibleDatabaseError(f"{where}: {message}")
    error.found_version, error.supported_version = found, supported
    return error


def too_new(where: str, found: int, supported: int) -> IncompatibleDatabaseError:
    """The error for a database a newer release wrote (schema version `found`)."""
    return incompatible(
        where,
        f"was written by a newer dynisolate (schema version {found}; this one reads up to "
        f"{supported}): upgrade dynisolate",
        found,
        supported,
    )


def buffer_full(id: str, held: int, held_bytes: int, max_events: int, max_bytes: int) -> EventBufferFullError:
    """The error for an event refused because instance `id` holds `held` unconsumed events of
    `held_bytes` bytes."""
    error = EventBufferFullError(
        f"workflow instance {id!r} holds {held} unconsumed events ({held_bytes} bytes); at most "
        f"{max_events} events and {max_bytes} bytes may wait for a waitForEvent to take them, so the "
        "event was refused"
    )
    error.id, error.buffered_events, error.buffered_bytes = id, held, held_bytes
    error.max_events, error.max_bytes = max_events, max_bytes
    return error


@dataclass(slots=True)
class InstanceRow:
    id: str
    tenant: str
    workflow: str
    bundle: str | None  # content hash of the tenant's code; None for a Python workflow
    params: str | bytes  # JSON text, or a structured clone (dynisolate._codec)
    metadata: str
    status: str
    created_at: float
    wake_at: float | None = None
    waiting_for: str | None = None  # the event type a suspended wait expects ("*": several)
    output: str | bytes | None = None
    error_name: str | None = None
    error_message: str | None = None
    # Starts random and is bumped on every claim, terminate and restart: a run writes only while
    # it matches, so a stale run never writes, not even into a new instance that reuses the id.
    generation: int = 0
    owner: str | None = None
    updated_at: float = 0.0
    runs: int = 0  # claims so far: the first run has no history to read
    crashes: int = 0  # runs in a row that ended with their worker dead


@dataclass(slots=True)
class StepRow:
    key: str  # name#count
    kind: str  # "do", "sleep", "event"
    name: str
    count: int
    position: int  # order of the call among the run's step calls
    concurrent: bool  # another step was in flight when this one was called
    state: str  # "complete", "errored", "retrying", "waiting"
    attempts: int = 0
    value: str | bytes | None = None
    error_name: str | None = None
    error_message: str | None = None
    wake_at: float | None = None
    config: str | None = None
    started_at: float = 0.0
    ended_at: float | None = None

    def without_value(self) -> StepRow:
        """This step without its value and config, which no status shows: for keeping many.
        (Built directly: `dataclasses.replace` costs several times more on a run's hot path.)"""
        return StepRow(
            key=self.key, kind=self.kind, name=self.name, count=self.count, position=self.position,
            concurrent=self.concurrent, state=self.state, attempts=self.attempts,
            error_name=self.error_name, error_message=self.error_message, wake_at=self.wake_at,
            started_at=self.started_at, ended_at=self.ended_at,
        )  # fmt: skip


@dataclass(slots=True)
class EventRow:
    seq: int
    type: str
    payload: str | bytes
    timestamp: float
    consumed_by: str | None


class Store(Protocol):
    """The persistence interface of `Engine`."""

    # How often idle workers poll for work made by other processes, unless the engine is told.
    default_poll_s: float

    def put_bundle(self, hash: str, blob: bytes) -> None: ...

    def get_bundle(self, hash: str) -> bytes | None: ...

    def create(self, rows: list[InstanceRow], claim: tuple[str, float] | None = None) -> list[InstanceRow]:
        """Inserts all rows or none; raises `InstanceExistsError` naming a duplicate id. With
        `claim` (owner, lease_until), rows of tenants without a `max_running` are inserted
        already claimed by that owner, and returned: the creating process runs them without
        another transaction."""

    def get(self, id: str) -> InstanceRow | None: ...

    def list_instances(self, status: str | None, tenant: str | None, limit: int) -> list[InstanceRow]: ...

    def count(self, status: str | None = None) -> int: ...

    def steps(self, id: str) -> list[StepRow]: ...

    def events(self, id: str) -> list[EventRow]: ...

    def claim(self, owner: str, now: float, lease_until: float, limit: int = 1) -> list[InstanceRow]:
        """Leases up to `limit` runnable instances of one tenant, chosen fairly (the tenant served
        longest ago first) within its `max_running`; bumps their generations."""

    def holds(self, id: str, generation: int) -> bool:
        """Whether a claim is still current and running (not paused, terminated, taken over)."""

    def commit_step(
        self, id: str, generation: int, step: StepRow, event_seq: int | None = None
    ) -> str | None:
        """Records a step outcome (and marks event `event_seq` consumed by it). Returns the
        instance's status afterwards, or None when the run was fenced out (terminated,
        restarted, deleted, or its lease taken over) and nothing was written."""

    def next_event(self, id: str, type: str) -> EventRow | None:
        """The oldest unconsumed event of `type`."""

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
        """Ends a run: finished, or suspended until `wake_at`. False when fenced out."""

    def renew(self, owner: str, lease_until: float) -> None: ...

    def reap(self, now: float, dead_owners: list[str]) -> int:
        """Makes runnable again the running instances whose lease expired or whose owner is
        known dead; returns how many."""

    def owners(self) -> list[str]: ...

    def next_wake(self) -> float | None: ...

    def set_tenant_limit(self, tenant: str, max_running: int | None) -> None: ...

    def set_tenant_retention(self, tenant: str, retention_s: float | None) -> None:
        """How long `tenant`'s finished instances are kept (None: the engine's retention)."""

    def sweep(self, now: float, retention_s: float | None, limit: int) -> int:
        """Deletes up to `limit` finished instances, with their steps and events, that ended
        longer ago than their tenant's retention (`retention_s` for a tenant without its own;
        None: kept); returns how many."""

    def send_events(
        self, events: list[tuple[str, str, str | bytes]], now: float, max_events: int, max_bytes: int
    ) -> None:
        """Buffers (id, type, payload) events, all or none (committed on return), and wakes each
        instance that waits for its event's type. Raises `EventBufferFullError` when an instance
        would hold more than `max_events` unconsumed events or `max_bytes` of their payloads,
        counted in the transaction that inserts, so that concurrent senders cannot pass the caps."""

    def transition(self, id: str, op: str, now: float) -> str:
        """pause, resume or terminate; returns the new status (raises InstanceStateError)."""

    def restart(self, id: str, from_position: int | None, now: float) -> None: ...

    def delete(self, id: str) -> None: ...

    def watch(self, wake: Callable[[], None]) -> bool:
        """Calls `wake()` when another process may have made work due (a hint: it may come when
        there is none, and work can become due without one). Returns whether hints will come;
        without them, other processes' work is found only by polling."""

    def close(self) -> None: ...
