"""Worker threads: claim a runnable instance, replay it, repeat; sleep until the next wake-up.

Claims are leases renewed by a heartbeat; a worker that dies leaves leases that another worker
reclaims, at once when the dead worker was a process on this machine, else once the lease ends.
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

from ._store import InstanceRow, Store

__all__ = ["Scheduler"]

log = logging.getLogger("dynisolate.workflows")
_HOST = socket.gethostname()
# Instances one claim takes (from one tenant): fewer transactions per run, at the cost of a
# tenant waiting this many runs longer behind another.
CLAIM_BATCH = 8


def _pid_alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def _dead_owners(owners: list[str]) -> list[str]:
    """Owners that were processes on this machine and no longer exist."""
    dead = []
    for owner in owners:
        host, _, rest = owner.rpartition("@")
        pid = rest.partition(":")[0]
        if host == _HOST and pid.isdigit() and int(pid) != os.getpid() and not _pid_alive(int(pid)):
            dead.append(owner)
    return dead


class Scheduler:
    def __init__(
        self, store: Store, run: Callable[[InstanceRow], None], workers: int, lease_s: float, poll_s: float
    ) -> None:
        self._store = store
        self._run = run
        self._workers = workers
        self._lease_s = lease_s
        self._poll_s = poll_s
        self.owner = f"{_HOST}@{os.getpid()}:{uuid.uuid4().hex[:8]}"
        self._cond = threading.Condition()
        self._claim_lock = threading.Lock()
        self._ready: deque[InstanceRow] = deque()
        self._idle = 0  # workers waiting for work
        self._stopping = threading.Event()
        self._threads: list[threading.Thread] = []

    def notify(self, workers: int | None = None) -> None:
        """Wakes `workers` idle workers (all by default) to look for work."""
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
                self._ready.extend(rows)
        self.notify(max(1, len(rows)))

    def recover(self) -> int:
        """Takes back the instances of dead workers (expired leases, dead local processes)."""
        return self._store.reap(time.time(), _dead_owners(self._store.owners()))

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
                    self._ready.extend(batch[1:])
                    if len(batch) > 1:
                        self.notify(len(batch) - 1)
            # Claimed a moment ago: skip what was paused, terminated or deleted meanwhile.
            if fresh or self._store.holds(row.id, row.generation):
                return row

    def _claim_and_run(self) -> bool:
        row = self._next()
        if row is None:
            return False
        try:
            self._run(row)
        except Exception:
            # The store failed mid-run: the lease runs out and the instance is replayed.
            log.exception("workflow instance %s: the run failed in the engine", row.id)
        return True

    def drain(self, timeout: float) -> int:
        self.recover()
        deadline = time.monotonic() + timeout
        runs = 0
        while time.monotonic() < deadline and self._claim_and_run():
            runs += 1
        return runs

    def start(self) -> None:
        if self._threads:
            return
        self._stopping.clear()
        self.recover()
        self._threads = [
            threading.Thread(target=self._work, name=f"dynisolate-workflows-{i}", daemon=True)
            for i in range(self._workers)
        ]
        self._threads.append(
            threading.Thread(target=self._heartbeat, name="dynisolate-heartbeat", daemon=True)
        )
        for thread in self._threads:
            thread.start()

    def stop(self) -> None:
        self._stopping.set()
        self.notify()
        for thread in self._threads:
            thread.join()
        self._threads = []
        # Claimed but not started: hand them back rather than leave them to a lease timeout.
        while self._ready:
            row = self._ready.popleft()
            self._store.release(row.id, row.generation, "queued", wake_at=time.time())

    def _work(self) -> None:
        while not self._stopping.is_set():
            try:
                if self._claim_and_run():
                    continue
                wake = self._store.next_wake()
            except Exception:
                log.exception("workflow scheduler: the store failed")
                wake = None
            wait = self._poll_s
            if wake is not None:
                wait = max(0.0, min(wait, wake - time.time()))
            with self._cond:
                if not self._stopping.is_set():
                    self._idle += 1
                    self._cond.wait(wait)
                    self._idle -= 1

    def _heartbeat(self) -> None:
        interval = min(self._lease_s / 3, 1.0)
        while not self._stopping.wait(interval):
            try:
                self._store.renew(self.owner, time.time() + self._lease_s)
                if self.recover():
                    self.notify()
            except Exception:
                log.exception("workflow scheduler: the heartbeat failed")
