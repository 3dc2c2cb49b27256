"""The durable engine's half of a JavaScript workflow run: the guest's step operations (its
`step:*` env calls, routed here by `Worker._run_workflow`) go to the run's `Replay`. The other
half is the workflow section of guest/js/glue.js."""

from __future__ import annotations

from typing import Any

from ._replay import Replay, Suspend

__all__ = ["StepHost"]


class StepHost:
    """Serves one run's step operations: `host(op, args)`."""

    __slots__ = ("_replay",)

    def __init__(self, replay: Replay) -> None:
        self._replay = replay

    def __call__(self, op: str, args: list[Any]) -> Any:
        replay = self._replay
        if op == "done":
            return replay.do_done(*args)
        if op == "suspend":
            raise Suspend()
        # [name, ..., the step whose callback calls (null: the workflow's own code), callbacks
        # running, waits parked]. A wait parks in the guest, which asks to suspend once nothing
        # else can make progress in this run.
        *call, within, running, parked = args
        concurrent = running + parked > 0
        within = within if isinstance(within, str) else None
        if op == "do":
            return replay.do_begin(call[0], call[1], concurrent)
        if op == "sleep":
            return replay.sleep(call[0], call[1], concurrent, within)
        if op == "sleepUntil":
            return replay.sleep_until(call[0], call[1], concurrent, within)
        if op == "waitForEvent":
            return replay.wait_for_event(call[0], call[1], call[2], concurrent, within)
        raise TypeError(f"unknown step operation {op!r}")
