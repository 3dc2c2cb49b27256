"""Worker threads: claim a runnable instance, replay it, repeat; sleep until the next wake-up.

Claims are leases renewed by a heartbeat; a worker that dies leaves leases that another worker
reclaims, at once when the dead worker was a process on this machine (same host and PID
namespace), else once the lease ends. Idle workers read when the next instance is due and take
the write lock only to claim one.
"""

from __future__ import annotations

import logging
import os
import socket
import threading
import time
import uuid
from collections import deque
from collections.abc import Callable

from ._outcomes import Finished, Outcomes
from ._store import InstanceRow, Store

__all__ = ["Scheduler"]

log = logging.getLogger("dynisolate.workflows")


def _machine() -> str:
    """This host and PID namespace: where a process id means the same process."""
    try:
        namespace = os.stat("/proc/self/ns/pid").st_ino
    except OSError:
        namespace = 0
    return f"{socket.gethostname()}/{namespace}"


_MACHINE = _machine()
# Instances one claim takes (from one tenant): fewer transactions per run, at the cost of a
# tenant waiting this many runs longer behind another.
CLAIM_BATCH = 8
# A run that fails in the engine itself (not in workflow code) is retried after this long.
RETRY_AFTER_S = 1.0
# How often the heartbeat deletes finished instances past their retention, and how many at most
# in one transaction (short transactions: the rows they lock are nobody else's anyway).
SWEEP_EVERY_S = 10.0
SWEEP_BATCH = 1_000


def _pid_alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def _dead_owners(owners: list[str], machine_here: str) -> list[str]:
    """Owners that were processes on this machine and no longer exist."""
    dead = []
    for owner in owners:
        machine, _, rest = owner.rpartition("@")
        pid = rest.partition(":")[0]
        if machine == machine_here and pid.isdigit() and int(pid) != os.getpid() and not _pid_alive(int(pid)):
            dead.append(owner)
    return dead


class Scheduler:
    def __init__(
        self,
        store: Store,
        run: Callable[[InstanceRow], Finished | None],
        outcomes: Outcomes,
        workers: int,
        lease_s: float,
        poll_s: float,
        host_id: str | None = None,
        retention_s: float | None = None,
    ) -> None:
        self._store = store
        self._run = run
        self._outcomes = outcomes  # every instance this process claims ends there once
        self._workers = workers
        self._lease_s = lease_s
        self._poll_s = poll_s
        self._retention_s = retention_s
        self._machine = _MACHINE if host_id is None else host_id
        self.owner = f"{self._machine}@{os.getpid()}:{uuid.uuid4().hex[:8]}"
        self._cond = threading.Condition()
        self._claim_lock = threading.Lock()
        # Claims whose hand-back failed (the store was down): retried by the heartbeat.
        self._orphans_lock = threading.Lock()
        self._orphans: list[tuple[InstanceRow, float]] = []
        self._ready: deque[InstanceRow] = deque()
        self._idle = 0  # workers waiting for work
        self._stopping = threading.Event()  # workers stop
        self._beating = threading.Event()  # the heartbeat stops (after the workers)
        self._workers_threads: list[threading.Thread] = []
        self._heart: threading.Thread | None = None
        # The next wake time, read by one idle worker for all: idle workers cost the store one
        # read per half poll interval, however many they are. Forgotten whenever this process
        # may have changed it (a run ended, work was made or woken here).
        self._wake_lock = threading.Lock()
        self._wake_read_at = -1e9  # time.monotonic() of the last read
        self._wake_value: float | None = None

    def notify(self, workers: int | None = None) -> None:
        """Wakes `workers` idle workers (all by default) to look for work."""
        self._forget_wake()
        with self._cond:
            if workers is None:
                self._cond.notify_all()
            else:
                self._cond.notify(workers)

    def offer(self, count: int) -> tuple[str, float] | None:
        """A claim (owner, lease end) for `count` instances being created, when at least as many
        of this process's workers are idle (so nothing due waits in the store): they run without
        a claim transaction, and without overtaking anything queued."""
        if self._idle < count or self._stopping.is_set():
            return None
        return self.owner, time.time() + self._lease_s

    def take(self, rows: list[InstanceRow]) -> None:
        """Queues instances claimed at creation for this process's workers."""
        if rows:
            with self._claim_lock:
                self._outcomes.hold(row.id for row in rows)
                self._ready.extend(rows)
        self.notify(max(1, len(rows)))

    def recover(self) -> int:
        """Takes back the instances of dead workers (expired leases, dead local processes)."""
        return self._store.reap(time.time(), _dead_owners(self._store.owners(), self._machine))

    def _hand_back(self, row: InstanceRow, after_s: float = 0.0) -> None:
        """Gives up a claim without a run: the instance is due again (or paused, if a pause was
        asked for meanwhile); nothing happens if it was terminated, restarted or deleted. When
        the store fails, the heartbeat tries again: its renewals would keep the claim alive."""
        self._outcomes.end(row.id, None)
        try:
            self._release(row, after_s)
        except Exception:
            log.exception("workflow instance %s: could not hand it back; trying again", row.id)
            with self._orphans_lock:
                self._orphans.append((row, after_s))

    def _release(self, row: InstanceRow, after_s: float) -> None:
        self._store.release(row.id, row.generation, "waiting", wake_at=time.time() + after_s)

    def _retry_hand_backs(self) -> None:
        with self._orphans_lock:
            orphans, self._orphans = self._orphans, []
        for index, (row, after_s) in enumerate(orphans):
            try:
                self._release(row, after_s)
            except Exception:
                with self._orphans_lock:
                    self._orphans.extend(orphans[index:])
                raise

    def _next(self) -> InstanceRow | None:
        """The next claimed instance: from the batch this process already holds, else from a new
        claim (one transaction for several runs, which every worker thread then shares)."""
        while True:
            with self._claim_lock:
                if self._ready:
                    row = self._ready.popleft()
                    fresh = False
                else:
                    now = time.time()
                    batch = self._store.claim(self.owner, now, now + self._lease_s, CLAIM_BATCH)
                    if not batch:
                        return None
                    row, fresh = batch[0], True
                    self._outcomes.hold(claimed.id for claimed in batch)
                    self._ready.extend(batch[1:])
                    if len(batch) > 1:
                        self.notify(len(batch) - 1)
            # Claimed a moment ago: what was paused meanwhile becomes paused now; what was
            # terminated, restarted or deleted is no longer ours.
            try:
                mine = fresh or self._store.holds(row.id, row.generation)
            except BaseException:
                self._hand_back(row)
                raise
            if mine:
                return row
            self._hand_back(row)

    def _claim_and_run(self) -> bool:
        row = self._next()
        if row is None:
            return False
        try:
            finished = self._run(row)
        except BaseException:
            # The engine failed, not the workflow (the store, most likely): the instance is
            # released to be replayed, rather than left leased to a live worker.
            log.exception("workflow instance %s: the run failed in the engine; retrying it", row.id)
            self._hand_back(row, RETRY_AFTER_S)
        else:
            self._forget_wake()  # it may sleep now, or have woken another
            self._outcomes.end(row.id, finished)
        return True

    def drain(self, timeout: float) -> int:
        self.recover()
        deadline = time.monotonic() + timeout
        runs = 0
        heart = None
        if self._heart is None:  # runs on this thread still renew their leases
            heart = self._start_heartbeat()
        try:
            while time.monotonic() < deadline and self._claim_and_run():
                runs += 1
        finally:
            if heart is not None:
                self._beating.set()
                heart.join()
        return runs

    def start(self) -> None:
        if self._workers_threads:
            return
        self._stopping.clear()
        # Hints from other processes wake one idle worker, which wakes more if it claims more.
        self._store.watch(lambda: self.notify(1))
        self.recover()
        self._workers_threads = [
            threading.Thread(target=self._work, name=f"dynisolate-workflows-{i}", daemon=True)
            for i in range(self._workers)
        ]
        self._heart = self._start_heartbeat()
        for thread in self._workers_threads:
            thread.start()

    def stop(self) -> None:
        self._stopping.set()
        self.notify()
        for thread in self._workers_threads:
            thread.join()
        self._workers_threads = []
        # Leases stay renewed until the last run has ended.
        self._beating.set()
        if self._heart is not None:
            self._heart.join()
            self._heart = None
        # Claimed but not started: hand them back rather than leave them to a lease timeout.
        while self._ready:
            self._hand_back(self._ready.popleft())
        try:
            self._retry_hand_backs()
        except Exception:  # no heartbeat renews them now: their leases lapse
            log.exception("workflow scheduler: claims not handed back at stop will lapse")

    def _work(self) -> None:
        due = True  # try a claim now; else first read when the next instance is due
        while not self._stopping.is_set():
            wake: float | None = None
            wait = self._poll_s
            looked_at = None  # when this worker last looked for due work, if it did this round
            try:
                if due:
                    looked_at = time.time()
                    if self._claim_and_run():
                        continue
                wake = self._next_wake()
                now = time.time()
                if wake is not None and wake <= now and (looked_at is None or wake > looked_at):
                    # Became due while this worker idled, or after its claim looked (a timer that
                    # came due in between would otherwise wait a whole poll): claim it.
                    due = True
                    continue
                # Nothing due; or something due this worker could not claim (its tenant is at
                # max_running, another worker took it): wait for a notify or the next poll.
                if wake is not None and wake > now:
                    wait = min(wait, wake - now)
            except Exception:
                log.exception("workflow scheduler: the store failed")
            with self._cond:
                if self._stopping.is_set():
                    return
                if self._ready:  # handed over (take) while this worker looked at the store
                    due = True
                    continue
                self._idle += 1
                notified = self._cond.wait(wait)
                self._idle -= 1
            # A notify can reach a waiter whose wait has just timed out, and then wakes no other:
            # instances handed over by `take` are looked for whatever woke this worker.
            due = notified or bool(self._ready) or (wake is not None and time.time() >= wake)

    def _forget_wake(self) -> None:
        with self._wake_lock:
            self._wake_read_at = -1e9

    def _next_wake(self) -> float | None:
        with self._wake_lock:
            if time.monotonic() - self._wake_read_at < self._poll_s / 2:
                return self._wake_value
            self._wake_value = self._store.next_wake()
            self._wake_read_at = time.monotonic()
            return self._wake_value

    def _start_heartbeat(self) -> threading.Thread:
        self._beating.clear()
        heart = threading.Thread(target=self._heartbeat, name="dynisolate-heartbeat", daemon=True)
        heart.start()
        return heart

    def sweep(self) -> int:
        """Deletes finished instances past their retention, a batch per transaction; returns
        how many."""
        deleted = 0
        while True:
            batch = self._store.sweep(time.time(), self._retention_s, SWEEP_BATCH)
            deleted += batch
            if batch < SWEEP_BATCH or self._beating.is_set():
                return deleted

    def _heartbeat(self) -> None:
        interval = min(self._lease_s / 3, 1.0)
        swept_at = time.monotonic()
        while not self._beating.wait(interval):
            try:
                self._store.renew(self.owner, time.time() + self._lease_s)
                if self.recover():
                    self.notify()
                if time.monotonic() - swept_at >= SWEEP_EVERY_S:
                    swept_at = time.monotonic()
                    self.sweep()
                self._retry_hand_backs()
            except Exception:
                log.exception("workflow scheduler: the heartbeat failed")
