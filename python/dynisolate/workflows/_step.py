"""The step API of Python workflows (trusted platform code): Cloudflare's, in snake_case."""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from ..exceptions import NonRetryableError, WorkflowError, WorkflowTimeoutError
from ._replay import Replay, Suspend

__all__ = ["Step", "StepError", "WorkflowEvent"]


@dataclass(frozen=True, slots=True)
class WorkflowEvent:
    """What `run(event, step)` receives: the params the instance was created with."""

    payload: Any
    timestamp: datetime
    instance_id: str
    workflow_name: str


class StepError(WorkflowError):
    """A step failed for good (retries exhausted, or `NonRetryableError`). `name` is the name of
    the error its last attempt raised. Replays raise it again, identically."""

    name: str

    def __init__(self, message: str = "", name: str = "Error") -> None:
        super().__init__(message)
        self.name = name


def _raise(error: dict[str, str]) -> None:
    raise StepError(error["message"], error["name"])


class Step:
    """`step` in `run(event, step)`: every call is recorded, and replays return what it recorded."""

    def __init__(self, replay: Replay) -> None:
        self._replay = replay
        self._within: str | None = None  # the step whose fn is running (waits there are refused)

    def do(
        self,
        name: str,
        fn: Callable[[], Any],
        *,
        retries: dict[str, Any] | None = None,
        timeout: int | float | str | None = None,
    ) -> Any:
        """Runs `fn()` once, durably: its JSON result is committed before this returns, and
        returned from history on every replay. `retries={"limit", "delay", "backoff"}` and
        `timeout` as Cloudflare's (defaults: 5 retries from 10 s, exponential; 10 minutes).

        A synchronous `fn` cannot be interrupted: an attempt that returns after its timeout counts
        as failed with `WorkflowTimeoutError`. Raise `NonRetryableError` to fail without retry.
        `fn` may call `do`, but not `sleep`, `sleep_until` or `wait_for_event`, which raise
        `StepError` named `NestedStepError` there (a run suspends only between steps).
        """
        config: dict[str, Any] | None = None
        if retries is not None or timeout is not None:
            config = {k: v for k, v in (("retries", retries), ("timeout", timeout)) if v is not None}
        reply = self._replay.do_begin(name, config, concurrent=False)
        while True:
            if "value" in reply:
                return reply["value"]
            if "error" in reply:
                _raise(reply["error"])
            if "wait" in reply:
                raise Suspend()
            run = reply["run"]
            started = time.monotonic()
            outer, self._within = self._within, run["key"]
            try:
                value = fn()
                limit = run["timeoutMs"]
                if limit is not None and (time.monotonic() - started) * 1000 > limit:
                    raise WorkflowTimeoutError(f"Execution timed out after {limit}ms")
                outcome: tuple[bool, Any] = (True, value)
            except Exception as e:
                # A subclass of NonRetryableError is one too (the host matches by name); a step
                # called in fn failed by the name of its own error.
                name = "NonRetryableError" if isinstance(e, NonRetryableError) else type(e).__name__
                if isinstance(e, StepError):
                    name = e.name
                outcome = (False, {"name": name, "message": str(e)})
            finally:
                self._within = outer
            reply = self._replay.do_done(run["key"], run["attempt"], *outcome)

    def sleep(self, name: str, duration: int | float | str) -> None:
        """Suspends the instance for `duration` (ms, `timedelta` or "N unit(s)"); no thread or
        isolate is held meanwhile."""
        self._settle(self._replay.sleep(name, duration, False, self._within))

    def sleep_until(self, name: str, when: datetime | int | float) -> None:
        """Suspends until `when` (a datetime, or Unix epoch milliseconds)."""
        ms = when.timestamp() * 1000 if isinstance(when, datetime) else when
        self._settle(self._replay.sleep_until(name, ms, False, self._within))

    def wait_for_event(
        self, name: str, event_type: str, /, timeout: int | float | str = "24 hours"
    ) -> dict[str, Any]:
        """Waits for an event of `event_type` sent with `Instance.send_event` (events sent
        earlier are buffered per type, in order). Returns {"payload", "timestamp", "type"};
        raises `StepError` named `WorkflowTimeoutError` when `timeout` passes first."""
        reply = self._replay.wait_for_event(name, event_type, timeout, False, self._within)
        self._settle(reply)
        event: dict[str, Any] = reply["event"]
        return event

    @staticmethod
    def _settle(reply: dict[str, Any]) -> None:
        """Ends the run for a wait not yet due; raises a wait's error."""
        if "wait" in reply:
            raise Suspend()
        if "error" in reply:
            _raise(reply["error"])
