"""How runs in this process tell `Instance.wait` callers in this process that they ended.

The instances this process holds (claimed, or created already claimed, and not yet run or handed
back) end here: each run posts its outcome to the waiters of its instance. A finished run posts
the instance as its release wrote it, so a waiter gets the status without reading the store; a
run that suspended, was fenced or failed posts None, and the waiter reads the store. Waiters of
instances held elsewhere read the store, and are woken early when this process runs them.

A waiter registers before it first reads the store, so no run's end falls between its read and
its wait: a run that ended before the registration is in what the read sees.

The steps of instances that finished here lately are kept too (without their values): a waiter
that comes after the run ended reads the instance, and when it finished in the generation the run
had, it has these steps (a finished instance's steps change only by a restart, which bumps the
generation) and need not read them.
"""

from __future__ import annotations

import threading
from collections import Counter, OrderedDict
from collections.abc import Iterable
from dataclasses import dataclass

from ._store import InstanceRow, StepRow

__all__ = ["Expected", "Finished", "Outcomes", "RECENT_BYTES"]

# What the steps kept for late waiters may take in all, roughly: their rows without values, and
# their texts (an error message may be 4 KiB).
RECENT_BYTES = 16 << 20
_STEP_ROW_BYTES = 256  # a step row's own objects, without its texts


def _footprint(steps: list[StepRow]) -> int:
    return sum(
        _STEP_ROW_BYTES + len(s.key) + len(s.name) + len(s.error_name or "") + len(s.error_message or "")
        for s in steps
    )


@dataclass(frozen=True, slots=True)
class Finished:
    """A finished instance as its run's release stored it: the row, and its steps in the order
    the store lists them. Immutable once posted; each waiter builds its own status from it."""

    row: InstanceRow
    steps: list[StepRow]


class Expected:
    """One waiter's registration for one instance."""

    __slots__ = ("held", "_event", "_finished")

    def __init__(self, held: bool) -> None:
        self.held = held  # a run in this process will post how it ended
        self._event = threading.Event()
        self._finished: Finished | None = None

    def _post(self, finished: Finished | None) -> None:
        self._finished = finished
        self._event.set()

    def next(self, timeout_s: float) -> Finished | None:
        """Waits up to `timeout_s` for a run of the instance in this process to end; returns the
        instance if that run finished it (None: it did not, or no run ended)."""
        if not self._event.wait(timeout_s):
            return None
        self._event.clear()
        return self._finished


class Outcomes:
    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._held: Counter[str] = Counter()
        self._waiting: dict[str, list[Expected]] = {}
        self._recent: OrderedDict[str, tuple[int, list[StepRow], int]] = OrderedDict()
        self._recent_bytes = 0

    def hold(self, ids: Iterable[str]) -> None:
        """Instances this process has claimed: each will `end` once per hold."""
        with self._lock:
            self._held.update(ids)

    def end(self, id: str, finished: Finished | None) -> None:
        """A hold of instance `id` ended (run, or handed back): wakes its waiters, once what a
        later waiter may use is kept."""
        kept = None if finished is None else [step.without_value() for step in finished.steps]
        with self._lock:
            if finished is not None and kept is not None:
                self._remember(id, finished.row.generation, kept)
            left = self._held.pop(id, 0) - 1
            if left > 0:
                self._held[id] = left
            for expected in self._waiting.get(id, ()):
                expected._post(finished)

    def _remember(self, id: str, generation: int, steps: list[StepRow]) -> None:
        size = _footprint(steps)
        old = self._recent.pop(id, None)
        if old is not None:
            self._recent_bytes -= old[2]
        self._recent[id] = (generation, steps, size)
        self._recent_bytes += size
        while self._recent_bytes > RECENT_BYTES and len(self._recent) > 1:
            self._recent_bytes -= self._recent.popitem(last=False)[1][2]

    def steps(self, id: str, generation: int) -> list[StepRow] | None:
        """The steps of instance `id` if it finished here in `generation` lately."""
        with self._lock:
            kept = self._recent.get(id)
        return kept[1] if kept is not None and kept[0] == generation else None

    def expect(self, id: str) -> Expected:
        with self._lock:
            expected = Expected(id in self._held)
            self._waiting.setdefault(id, []).append(expected)
        return expected

    def forget(self, id: str, expected: Expected) -> None:
        with self._lock:
            waiters = self._waiting[id]
            waiters.remove(expected)
            if not waiters:
                del self._waiting[id]
