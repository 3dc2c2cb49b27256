"""The host side of a JavaScript workflow run: the guest's `step:*` calls go to the run's
`Replay`; everything else is the tenant's env and outbound handler."""

from __future__ import annotations

from typing import Any

from .._env import Dispatcher
from ._replay import Replay, Suspend

__all__ = ["RunHost"]


class RunHost:
    """The dispatcher of one run (see `dynisolate._env.Dispatcher` for the protocol)."""

    __slots__ = ("_replay", "_env", "outbound")

    def __init__(self, replay: Replay, env: Dispatcher | None) -> None:
        self._replay = replay
        self._env = env
        self.outbound = env.outbound if env is not None else None

    def __call__(self, name: str, args: list[Any]) -> Any:
        if not name.startswith("step:"):
            if self._env is None:
                raise TypeError(f"env.{name.partition('.')[0]} is not a function")
            return self._env(name, args)
        op = name[5:]
        replay = self._replay
        if op == "done":
            return replay.do_done(*args)
        if op == "suspend":
            raise Suspend()
        # [name, ..., callbacks running, waits parked]. A wait parks in the guest, which asks to
        # suspend once nothing else can make progress in this run.
        *call, running, parked = args
        concurrent = running + parked > 0
        if op == "do":
            reply = replay.do_begin(call[0], call[1], concurrent)
        elif op == "sleep":
            reply = replay.sleep(call[0], call[1], concurrent)
        elif op == "sleepUntil":
            reply = replay.sleep_until(call[0], call[1], concurrent)
        elif op == "waitForEvent":
            reply = replay.wait_for_event(call[0], call[1], call[2], concurrent)
        else:
            raise TypeError(f"unknown step operation {op!r}")
        return reply

    def fetch(self, wire: dict[str, Any]) -> dict[str, Any]:
        if self._env is None:
            raise TypeError("this worker has no outbound handler")
        return self._env.fetch(wire)
