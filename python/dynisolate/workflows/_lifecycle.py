"""What an operator's action (pause, resume, terminate) does to an instance: the status it leads
to from each status, and what changes with it. The rules live here once; a store only applies the
`Transition` it is given to its rows."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

from ._store import state_error

__all__ = ["Transition", "transition"]

# What each action does from each status; missing: not allowed.
_NEXT: dict[str, dict[str, str]] = {
    "pause": {
        "queued": "paused",
        "waiting": "paused",
        "running": "waitingForPause",  # the run pauses at its next step boundary
        "waitingForPause": "waitingForPause",
        "paused": "paused",
    },
    "resume": {
        "paused": "queued",
        "waitingForPause": "running",
        "queued": "queued",
        "running": "running",
        "waiting": "waiting",
    },
    "terminate": {s: "terminated" for s in ("queued", "running", "waiting", "waitingForPause", "paused")},
}


@dataclass(frozen=True, slots=True)
class Transition:
    """The writes one action makes (none when `status` is the instance's status already)."""

    status: str
    changed: bool
    # Bump the generation and drop the owner and lease: a run still going never writes again.
    fence: bool
    # The instance's wake time: due now (it is runnable), cleared, or kept.
    wake: Literal["now", "clear", "keep"]
    # When it was paused: set (if not set already: a pause keeps its first moment), cleared, kept.
    paused_at: Literal["set", "clear", "keep"]
    # Move its pending sleeps, retry delays and event timeouts later by the time it spent paused:
    # as on Cloudflare, paused time does not count toward them.
    shift_waits: bool


def transition(id: str, op: str, status: str) -> Transition:
    """The transition `op` makes from `status`; `InstanceStateError` when `op` is not allowed."""
    new = _NEXT[op].get(status)
    if new is None:
        raise state_error(id, status, op)
    if new == status:
        return Transition(status, False, False, "keep", "keep", False)
    wake: Literal["now", "clear", "keep"] = (
        "now" if new == "queued" else "clear" if op == "terminate" else "keep"
    )
    paused_at: Literal["set", "clear", "keep"] = "set" if op == "pause" else "clear"
    return Transition(new, True, op == "terminate", wake, paused_at, op == "resume" and status == "paused")
