"""One run of an instance against its history: what each step call does.

Shared by JavaScript runs (the guest asks through `step:*` host calls, `_run_host.py`) and Python runs
(`_step.py`). A step is keyed by name and occurrence (`name#count`); a recorded outcome replays,
a new step runs and its outcome is committed before the workflow goes on. Waits that are not
due yet end the run with `Suspend`: nothing of the run survives but what was committed.
"""

from __future__ import annotations

import json
import math
import re
import time
from typing import Any

from .._codec import decode, encode
from ..exceptions import ArgumentError, SerializationError
from ._config import (
    DEFAULT_CONFIG,
    DEFAULT_EVENT_TIMEOUT_MS,
    EVENT_TYPE,
    MAX_SLEEP_MS,
    StepConfig,
    duration_ms,
)
from ._store import InstanceRow, StepRow, Store

__all__ = ["DEFAULT_WIRE", "Fatal", "Fenced", "Replay", "StoreFailure", "Suspend"]

_CONTROL = re.compile(r"[\x00-\x1f\x7f]")


class Suspend(BaseException):
    """Ends a run that waits (sleep, event, retry delay, pause). A BaseException so that no
    `except Exception` in workflow code swallows it; in a JavaScript guest it is a host trap."""


class Fenced(BaseException):
    """The run no longer owns its instance (terminated, restarted, deleted, or its lease was
    taken over): it stops without writing anything."""


class StoreFailure(BaseException):
    """The store failed while a step's outcome was being committed: the run stops (no workflow
    code may catch this and go on as if the step were recorded) and is replayed later."""


class Fatal(BaseException):
    """Ends the instance as errored, whatever the workflow code catches (non-determinism, the
    step limit)."""

    def __init__(self, name: str, message: str) -> None:
        super().__init__(f"{name}: {message}")
        self.name = name
        self.message = message


def _check_name(name: object, what: str) -> str:
    if not isinstance(name, str) or not 0 < len(name) <= 256 or _CONTROL.search(name):
        raise ArgumentError(
            f"a {what} name must be 1 to 256 characters without control characters, not {name!r}"
        )
    return name


DEFAULT_WIRE = DEFAULT_CONFIG.to_wire()
_DEFAULT_JSON = json.dumps(DEFAULT_WIRE)


def _config_json(config: StepConfig) -> str:
    return _DEFAULT_JSON if config is DEFAULT_CONFIG else json.dumps(config.to_wire())


# Errors that fail a step at once: retrying would fail the same way.
_FINAL_ERRORS = frozenset(
    {"NonRetryableError", "SerializationError", "PayloadTooLargeError", "NestedStepError"}
)


def _error(name: str | None, message: str | None) -> dict[str, str]:
    return {"name": name or "Error", "message": message or ""}


class Replay:
    """The state of one run: occurrence counters, which history entries it reproduced, the
    steps in flight, and the earliest wake-up of the waits it parked."""

    def __init__(
        self,
        store: Store,
        row: InstanceRow,
        history: list[StepRow],
        max_steps: int,
        max_payload_bytes: int,
        max_pending_steps: int,
    ) -> None:
        self.store = store
        self.row = row
        self.history = {step.key: step for step in history}
        self.unconsumed = set(self.history)
        self.max_steps = max_steps
        self.max_payload_bytes = max_payload_bytes
        self.max_pending_steps = max_pending_steps
        self.counts: dict[str, int] = {}
        self.position = 0
        # The step limit is per instance: steps recorded by earlier runs count.
        self.do_steps = sum(1 for step in history if step.kind == "do")
        self.in_flight: dict[str, tuple[StepRow, StepConfig]] = {}
        # Waits this run answered with {"wait"}: each parks a promise in the guest for the rest
        # of the run. With `in_flight`, what the run has pending.
        self.parked = 0
        self.wake_at: float | None = None
        self.waiting_for: str | None = None

    def steps(self) -> list[StepRow]:
        """The instance's steps as the store holds them now, in the order it lists them: those
        the run read, with what it committed since."""
        return sorted(self.history.values(), key=lambda step: (step.position, step.started_at))

    # ---- bookkeeping ----

    def _next(self, name: object, kind: str, concurrent: bool) -> tuple[str, int, StepRow | None]:
        name = _check_name(name, "step")
        pending = len(self.in_flight) + self.parked
        if pending >= self.max_pending_steps:
            raise Fatal(
                "PendingStepLimitError",
                f"the run has {pending} step calls pending at once (step.do callbacks running, and "
                f"sleeps, event waits and retry delays not yet due); the limit is {self.max_pending_steps}",
            )
        count = self.counts.get(name, 0) + 1
        self.counts[name] = count
        self.position += 1
        key = f"{name}#{count}"
        step = self.history.get(key)
        if step is not None:
            if step.kind != kind:
                raise self._diverged(step, f"it is now a {kind} step, not a {step.kind} step")
            self.unconsumed.discard(key)
            return key, count, step
        # A new step while history holds an unreproduced step from the same point or earlier:
        # the code no longer does what it did. (Steps recorded while others were in flight may
        # legitimately come back in another order, so they are not held to their position.)
        earlier = [
            s
            for k in self.unconsumed
            if not (s := self.history[k]).concurrent and s.position <= self.position
        ]
        if earlier:
            first = min(earlier, key=lambda s: s.position)
            raise self._diverged(first, f"the run reached the new step {key!r} instead")
        return key, count, None

    def _diverged(self, step: StepRow, how: str) -> Fatal:
        return Fatal(
            "NonDeterminismError",
            f"the replay diverged from history at step {step.key!r} ({step.kind}): {how}",
        )

    def unreproduced(self) -> Fatal | None:
        """At the end of a run that completed: history it did not reproduce is a divergence.
        (Not steps recorded while another was running: a step nested in a recorded step's
        callback is not reached when that step replays.)"""
        missed = [self.history[k] for k in self.unconsumed if not self.history[k].concurrent]
        if not missed:
            return None
        first = min(missed, key=lambda s: s.position)
        return self._diverged(first, "the run completed without reaching it")

    def _commit(self, step: StepRow, event_seq: int | None = None) -> None:
        try:
            status = self.store.commit_step(self.row.id, self.row.generation, step, event_seq)
        except Exception as error:
            raise StoreFailure(f"committing step {step.key!r}: {error}") from error
        if status is None:
            raise Fenced()
        self.history[step.key] = step
        if status == "waitingForPause":
            raise Suspend()  # paused at this step boundary, with the step's outcome kept

    def _wait(self, wake_at: float, event_type: str | None = None) -> dict[str, Any]:
        self.parked += 1
        if self.wake_at is None or wake_at < self.wake_at:
            self.wake_at = wake_at
        if event_type is not None:
            same = self.waiting_for in (None, event_type)
            self.waiting_for = event_type if same else "*"
        return {"wait": True}

    # ---- step.do ----

    def do_begin(self, name: object, config: object, concurrent: bool) -> dict[str, Any]:
        """Replays a recorded `step.do`, or says which attempt to run: {"value"}, {"error"},
        {"wait"} (a retry delay not yet over) or {"run": {key, attempt, count, config, timeoutMs}}."""
        key, count, step = self._next(name, "do", concurrent)
        now = time.time()
        if step is not None:
            if step.state == "complete":
                value = None if step.value is None else decode(step.value, f"the output of step {key!r}")
                return {"value": value}
            if step.state == "errored":
                return {"error": _error(step.error_name, step.error_message)}
            resolved = StepConfig.from_wire(json.loads(step.config or "{}"))
            if step.wake_at is not None and step.wake_at > now:
                return self._wait(step.wake_at)
        else:
            self.do_steps += 1
            if self.do_steps > self.max_steps:
                raise Fatal("StepLimitError", f"the limit of {self.max_steps} steps has been reached")
            resolved = StepConfig.parse(key.rpartition("#")[0], config)
            step = StepRow(
                key, "do", str(name), count, self.position, concurrent, "running",
                config=_config_json(resolved), started_at=now,
            )  # fmt: skip
        self.in_flight[key] = (step, resolved)
        return self._attempt(step, resolved, count)

    def _attempt(self, step: StepRow, config: StepConfig, count: int) -> dict[str, Any]:
        # The guest knows the default config from the run's event (`DEFAULT_WIRE`).
        wire = None if config is DEFAULT_CONFIG else config.to_wire()
        return {
            "run": {
                "key": step.key,
                "attempt": step.attempts + 1,
                "count": count,
                "config": wire,
                "timeoutMs": config.timeout_ms,
            }
        }

    def do_done(self, key: object, attempt: object, ok: object, outcome: Any) -> dict[str, Any]:
        """Commits one attempt's outcome: {"value"}, {"error"} (final), {"wait"} (retry later) or
        {"run"} (retry now)."""
        entry = self.in_flight.pop(key, None) if isinstance(key, str) else None
        if entry is None or attempt != entry[0].attempts + 1:
            raise ArgumentError(f"no attempt {attempt!r} of step {key!r} is running")
        step, config = entry
        now = time.time()
        step.attempts = attempt
        step.ended_at = now
        final = False  # fails the step without retrying
        if ok:
            try:  # JSON text, or a structured clone for what JSON cannot hold
                stored = encode(outcome, f"the output of step {key!r}", 1 << 62)
            except SerializationError as e:  # a Python step's result that cannot cross to a guest
                outcome = {"name": "SerializationError", "message": e.message}
            else:
                if len(stored) <= self.max_payload_bytes:
                    step.state, step.value = "complete", stored
                    step.error_name = step.error_message = None
                    self._commit(step)
                    return {"value": outcome}
                outcome = {
                    "name": "PayloadTooLargeError",
                    "message": f"the output of step {key!r} is {len(stored)} bytes; "
                    f"the limit is {self.max_payload_bytes}",
                }
            final = True
        name = str(outcome.get("name", "Error")) if isinstance(outcome, dict) else "Error"
        message = str(outcome.get("message", "")) if isinstance(outcome, dict) else str(outcome)
        step.error_name, step.error_message = name, message[:4096]
        final = final or name in _FINAL_ERRORS or message.startswith("NonRetryableError")
        if final or attempt > config.limit:
            step.state = "errored"
            self._commit(step)
            return {"error": _error(name, step.error_message)}
        delay_ms = config.retry_delay_ms(attempt)
        step.state, step.wake_at = "retrying", now + delay_ms / 1000
        self._commit(step)
        if delay_ms == 0:
            self.in_flight[step.key] = (step, config)
            return self._attempt(step, config, step.count)
        return self._wait(step.wake_at)

    def fail_in_flight(self, name: str, message: str) -> None:
        """The run ended (a limit) with steps in flight: each of their attempts failed, and is
        committed as such, so retries go on as configured."""
        for key, (step, _) in list(self.in_flight.items()):
            self.do_done(key, step.attempts + 1, False, {"name": name, "message": message})

    # ---- sleeps and events ----

    @staticmethod
    def _nested(what: str, name: object, within: str | None) -> dict[str, Any] | None:
        """The refusal of a wait called inside the callback of step `within` (None: called from
        the workflow itself): a run suspends only between steps, so the wait could never end, and
        the step would hold its slot until its timeout. Nothing is recorded."""
        if within is None:
            return None
        message = (
            f"the {what} {_check_name(name, 'step')!r} was called inside the callback of step "
            f"{within[:300]!r}: "
            "a run suspends only between steps, so a wait inside a step could never end; wait in the "
            "workflow's own code instead"
        )
        return {"error": {"name": "NestedStepError", "message": message}}

    def sleep(
        self, name: object, duration: object, concurrent: bool, within: str | None = None
    ) -> dict[str, Any]:
        if (refused := self._nested("sleep", name, within)) is not None:
            return refused
        ms = duration_ms(duration, "a sleep's duration")
        if ms > MAX_SLEEP_MS:
            raise ArgumentError(f"a sleep may last at most 365 days, not {ms} ms")
        return self._sleep(name, lambda now: now + ms / 1000, concurrent)

    def sleep_until(
        self, name: object, timestamp_ms: object, concurrent: bool, within: str | None = None
    ) -> dict[str, Any]:
        if (refused := self._nested("sleep", name, within)) is not None:
            return refused
        if isinstance(timestamp_ms, bool) or not isinstance(timestamp_ms, (int, float)):
            raise ArgumentError(f"sleepUntil takes a Date or epoch milliseconds, not {timestamp_ms!r}")
        if not math.isfinite(timestamp_ms):  # an invalid Date: stored, it would never be due
            raise ArgumentError(
                f"sleepUntil takes a valid Date or finite epoch milliseconds, not {timestamp_ms!r}"
            )

        def wake(now: float) -> float:
            if timestamp_ms / 1000 < now:
                raise ArgumentError("You can't sleep until a time in the past, time-traveler")
            if timestamp_ms / 1000 - now > MAX_SLEEP_MS / 1000:
                raise ArgumentError("a sleep may last at most 365 days")
            return timestamp_ms / 1000

        return self._sleep(name, wake, concurrent)

    def _sleep(self, name: object, wake: Any, concurrent: bool) -> dict[str, Any]:
        key, count, step = self._next(name, "sleep", concurrent)
        now = time.time()
        if step is None:
            step = StepRow(
                key,
                "sleep",
                str(name),
                count,
                self.position,
                concurrent,
                "waiting",
                wake_at=wake(now),
                started_at=now,
            )
            if step.wake_at is not None and step.wake_at > now:
                self._commit(step)
        if step.state == "complete":
            return {}
        assert step.wake_at is not None
        if step.wake_at <= now:
            step.state, step.ended_at = "complete", now
            self._commit(step)
            return {}
        return self._wait(step.wake_at)

    def wait_for_event(
        self, name: object, event_type: object, timeout: object, concurrent: bool, within: str | None = None
    ) -> dict[str, Any]:
        """{"event": {payload, timestamp, type}}, {"error"} (timed out, or nested) or {"wait"}."""
        if (refused := self._nested("wait for an event", name, within)) is not None:
            return refused
        if not isinstance(event_type, str) or not EVENT_TYPE.fullmatch(event_type):
            raise ArgumentError(f"an event type is 1 to 100 of A-Z a-z 0-9 . _ -, not {event_type!r}")
        ms = DEFAULT_EVENT_TIMEOUT_MS if timeout is None else duration_ms(timeout, "waitForEvent's timeout")
        key, count, step = self._next(name, "event", concurrent)
        now = time.time()
        fresh = step is None
        if step is None:
            step = StepRow(
                key,
                "event",
                str(name),
                count,
                self.position,
                concurrent,
                "waiting",
                wake_at=now + ms / 1000,
                config=json.dumps({"type": event_type}),
                started_at=now,
            )
        if step.state == "complete":
            return {"event": None if step.value is None else decode(step.value, f"the event of step {key!r}")}
        if step.state == "errored":
            return {"error": _error(step.error_name, step.error_message)}
        event = self.store.next_event(self.row.id, event_type)
        if event is not None:
            step.state, step.ended_at = "complete", now
            payload = decode(event.payload, "the event payload")
            taken = {"payload": payload, "timestamp": event.timestamp * 1000, "type": event_type}
            step.value = encode(taken, f"the event of step {key!r}", 1 << 62)
            self._commit(step, event.seq)
            return {"event": taken}
        assert step.wake_at is not None
        if step.wake_at <= now:
            step.state, step.ended_at = "errored", now
            step.error_name = "WorkflowTimeoutError"
            step.error_message = f"waitForEvent {step.key!r} for {event_type!r} timed out"
            self._commit(step)
            return {"error": _error(step.error_name, step.error_message)}
        if fresh:
            self._commit(step)
        return self._wait(step.wake_at, event_type)
