"""A handle on one workflow instance, and what `status()` reports."""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from .._codec import decode
from ._store import FINISHED, InstanceRow, StepRow

if TYPE_CHECKING:
    from ._engine import Engine

__all__ = ["Instance", "InstanceStatus", "StepInfo"]


@dataclass(frozen=True, slots=True)
class StepInfo:
    """One entry of an instance's step timeline."""

    name: str
    count: int  # occurrence of this name in the run, from 1
    kind: str  # "do", "sleep" or "event"
    state: str  # "complete", "errored", "retrying" or "waiting"
    attempts: int
    started_at: float  # Unix seconds
    ended_at: float | None
    error: dict[str, str] | None


@dataclass(frozen=True, slots=True)
class InstanceStatus:
    """What `Instance.status()` returns. `status` is one of Cloudflare's: queued, running,
    paused, errored, terminated, complete, waiting, waitingForPause, unknown."""

    id: str
    tenant: str
    workflow: str
    status: str
    output: Any
    error: dict[str, str] | None
    steps: list[StepInfo]
    created_at: float
    metadata: Any

    @property
    def finished(self) -> bool:
        return self.status in FINISHED


def _step_info(step: StepRow) -> StepInfo:
    error = (
        None if step.error_name is None else {"name": step.error_name, "message": step.error_message or ""}
    )
    return StepInfo(
        step.name, step.count, step.kind, step.state, step.attempts, step.started_at, step.ended_at, error
    )


def status_of(row: InstanceRow, steps: list[StepRow]) -> InstanceStatus:
    error = None if row.error_name is None else {"name": row.error_name, "message": row.error_message or ""}
    return InstanceStatus(
        row.id,
        row.tenant,
        row.workflow,
        row.status,
        None if row.output is None else decode(row.output, "the workflow's result"),
        error,
        [_step_info(s) for s in steps],
        row.created_at,
        json.loads(row.metadata),
    )


class Instance:
    """One workflow instance, by id: a handle over the engine's per-instance verbs
    (`Engine.status(id)`, `Engine.pause(id)`, ...). Cheap: every method reads or writes the store."""

    __slots__ = ("id", "_engine")

    def __init__(self, engine: Engine, id: str) -> None:
        self.id = id
        self._engine = engine

    def status(self) -> InstanceStatus:
        """Status, output or error, and the step timeline."""
        return self._engine.status(self.id)

    def pause(self) -> None:
        """Pauses at the next step boundary (`waitingForPause` until then). Time spent paused does
        not count toward sleeps, retry delays or event timeouts."""
        self._engine.pause(self.id)

    def resume(self) -> None:
        """Resumes a paused instance (it is queued and replays), or cancels a pending pause."""
        self._engine.resume(self.id)

    def terminate(self) -> None:
        """Ends the instance as `terminated`; a run in progress stops at its next step call and
        commits nothing more. Raises `InstanceStateError` for a finished instance."""
        self._engine.terminate(self.id)

    def restart(self, from_step: str | tuple[str, int] | None = None) -> None:
        """Runs the instance again from the top: from scratch, or keeping the recorded steps
        before `from_step` (a step name, or (name, occurrence))."""
        self._engine.restart(self.id, from_step)

    def send_event(self, type: str, payload: Any = None) -> None:
        """Delivers an event; it is committed before this returns, buffered per type until a
        `wait_for_event` of that type takes it, and wakes the instance if it waits for it. The
        payload is any value a guest's env call could return (bytes, datetime, dict, set, ...),
        kept as structured clone keeps it."""
        self._engine.send_events([(self.id, type, payload)])

    def delete(self) -> None:
        """Deletes the instance and its history; a run in progress stops at its next step call."""
        self._engine.delete(self.id)

    def wait(self, timeout: float | None = None, poll_s: float = 0.05) -> InstanceStatus:
        """Blocks until the instance finishes (complete, errored or terminated) and returns its
        status. Runs in this process wake it at once (one that finishes it hands over the status
        without a read of the store); runs in other processes are seen within `poll_s`. Raises
        TimeoutError after `timeout` seconds."""
        return self._engine.wait(self.id, timeout, poll_s)

    def __repr__(self) -> str:
        return f"<dynisolate.workflows.Instance {self.id!r}>"

    def __eq__(self, other: object) -> bool:
        return isinstance(other, Instance) and other.id == self.id and other._engine is self._engine

    def __hash__(self) -> int:
        return hash(self.id)
