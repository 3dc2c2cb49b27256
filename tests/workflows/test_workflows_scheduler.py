"""The worker threads' hand-over: an instance claimed at creation is run even when the wake-up
meant for it is lost (a notify that reaches a waiter whose wait had just timed out)."""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from dynisolate.workflows._outcomes import Outcomes
from dynisolate.workflows._scheduler import Scheduler


class IdleStore:
    """A store with nothing due: only instances handed over by `take` can run."""

    def next_wake(self) -> None:
        return None

    def claim(self, *args: Any) -> list[Any]:
        return []

    def holds(self, id: str, generation: int) -> bool:
        return True

    def renew(self, *args: Any) -> None:
        pass

    def reap(self, *args: Any) -> int:
        return 0

    def owners(self) -> list[str]:
        return []

    def release(self, *args: Any, **kwargs: Any) -> None:
        pass

    def watch(self, wake: Any) -> bool:
        return False

    def sweep(self, *args: Any) -> int:
        return 0


class Row:
    id = "handed-over"
    generation = 1


def test_a_handed_over_instance_runs_without_its_wake_up() -> None:
    ran = threading.Event()
    scheduler = Scheduler(IdleStore(), lambda row: ran.set(), Outcomes(), workers=2, lease_s=30, poll_s=0.01)  # type: ignore[arg-type]
    scheduler.start()
    try:
        deadline = time.monotonic() + 5
        while scheduler._idle < 2:  # both workers waiting, as when `offer` hands work over
            assert time.monotonic() < deadline
            time.sleep(0.001)
        scheduler._ready.append(Row())  # type: ignore[arg-type]  # queued, and no notify: lost
        assert ran.wait(5), "the instance was left in the queue"
    finally:
        scheduler.stop()


class RefusingStore(IdleStore):
    """Refuses the first `refusals` releases, as a store that is down for a moment."""

    def __init__(self, refusals: int) -> None:
        self.refusals = refusals
        self.released: list[str] = []

    def release(self, id: str, *args: Any, **kwargs: Any) -> None:
        if self.refusals > 0:
            self.refusals -= 1
            raise ConnectionError("the store is down")
        self.released.append(id)


@contextmanager
def _running_one_claim(scheduler: Scheduler) -> Iterator[None]:
    scheduler.take([Row()])  # type: ignore[list-item]
    scheduler.start()
    try:
        yield
    finally:
        scheduler.stop()


def _until_released(store: RefusingStore, failure: str) -> None:
    deadline = time.monotonic() + 5
    while not store.released:
        assert time.monotonic() < deadline, failure
        time.sleep(0.01)


def test_a_hand_back_the_store_refused_is_tried_again() -> None:
    # The heartbeat renews every lease this process holds: a claim whose hand-back failed would
    # be kept alive, and never run, for as long as the process lives.
    store = RefusingStore(refusals=2)
    outcomes = Outcomes()

    def run(row: Any) -> None:
        raise RuntimeError("the engine failed")  # the run is handed back to be replayed

    scheduler = Scheduler(store, run, outcomes, workers=1, lease_s=0.3, poll_s=0.01)  # type: ignore[arg-type]
    with _running_one_claim(scheduler):
        _until_released(store, "the refused hand-back was not tried again")
        assert store.released == ["handed-over"] and store.refusals == 0
        assert scheduler._orphans == []
        assert not outcomes.expect("handed-over").held  # its hold ended once, at the first try


class UnreadableStore(RefusingStore):
    """Fails the check that a claim still holds its instance."""

    def holds(self, id: str, generation: int) -> bool:
        raise ConnectionError("the store is down")


def test_a_claim_whose_check_failed_is_handed_back() -> None:
    # It used to be dropped from the queue and kept leased, and never run, by the heartbeat.
    store = UnreadableStore(refusals=0)
    ran: list[Any] = []
    scheduler = Scheduler(store, ran.append, Outcomes(), workers=1, lease_s=30, poll_s=0.01)  # type: ignore[arg-type]
    with _running_one_claim(scheduler):
        _until_released(store, "the claim was neither run nor handed back")
        assert store.released == ["handed-over"] and ran == []


class TimerStore(IdleStore):
    """One instance whose timer comes due just after the first claim looked, and before the
    worker reads when the next one is due."""

    def __init__(self) -> None:
        self.looked: list[float] = []

    def claim(self, owner: str, now: float, *args: Any) -> list[Any]:
        self.looked.append(now)
        return [] if len(self.looked) == 1 else [Row()]

    def next_wake(self) -> float | None:
        due_at = self.looked[0] + 0.001
        time.sleep(max(0.0, due_at - time.time()) + 0.002)  # it is due by the time it is read
        return due_at if len(self.looked) == 1 else None


def test_a_timer_due_between_a_claim_and_the_next_read_is_claimed_at_once() -> None:
    # It used to wait for the next poll (a second on PostgreSQL by default): the worker took the
    # due time for work it could not claim.
    store = TimerStore()
    ran = threading.Event()
    scheduler = Scheduler(store, lambda row: ran.set(), Outcomes(), workers=1, lease_s=30, poll_s=30)  # type: ignore[arg-type]
    scheduler.start()
    try:
        assert ran.wait(5), "the timer waited for the next poll"
    finally:
        scheduler.stop()
