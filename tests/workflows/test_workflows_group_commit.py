"""Group commit: each thread's work is committed once, in a group of what queued during the commit
before it; a failed commit fails its own group only; no thread is left waiting."""

from __future__ import annotations

import threading
import time

from dynisolate.workflows._group_commit import GroupCommit, Ticket

THREADS = 12
WRITES = 40


class Recorder:
    """A store's commit that takes a moment, as a sync does, and refuses a group holding "bad"."""

    def __init__(self, seconds: float = 0.002) -> None:
        self.seconds = seconds
        self.groups: list[list[object]] = []
        self.lock = threading.Lock()

    def __call__(self, tickets: list[Ticket[object]]) -> None:
        time.sleep(self.seconds)
        with self.lock:
            self.groups.append([t.work for t in tickets])
        if "bad" in [t.work for t in tickets]:
            raise OSError("the group was refused")
        for ticket in tickets:
            ticket.value = ("committed", ticket.work)


def _run_threads(target: object) -> None:
    threads = [threading.Thread(target=target, args=(n,)) for n in range(THREADS)]  # type: ignore[arg-type]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=30)
        assert not thread.is_alive(), "a thread was left waiting for its group"


def test_a_lone_writer_commits_at_once_in_a_group_of_its_own() -> None:
    commits = Recorder(seconds=0)
    group = GroupCommit(commits)
    assert group.run("w") == ("committed", "w")
    assert group.run("x") == ("committed", "x")
    assert commits.groups == [["w"], ["x"]]


def test_concurrent_writes_are_each_committed_once_in_shared_groups() -> None:
    commits = Recorder()
    group = GroupCommit(commits)
    results: dict[int, list[object]] = {}

    def writer(n: int) -> None:
        results[n] = [group.run((n, k)) for k in range(WRITES)]

    _run_threads(writer)
    for n in range(THREADS):
        assert results[n] == [("committed", (n, k)) for k in range(WRITES)]
    committed = [work for batch in commits.groups for work in batch]
    assert sorted(committed) == sorted((n, k) for n in range(THREADS) for k in range(WRITES))  # type: ignore[type-var]
    assert len(commits.groups) < THREADS * WRITES / 2  # writes shared syncs


def test_a_refused_group_fails_its_own_writes_only() -> None:
    commits = Recorder()
    group = GroupCommit(commits)
    outcomes: dict[object, object] = {}

    def writer(n: int) -> None:
        for k in range(WRITES):
            work = "bad" if (n, k) == (3, 7) else (n, k)
            try:
                outcomes[work] = group.run(work)
            except OSError as error:
                outcomes[work] = error

    _run_threads(writer)
    refused = next(batch for batch in commits.groups if "bad" in batch)
    for work, outcome in outcomes.items():
        if work in refused:
            assert isinstance(outcome, OSError), work
        else:
            assert outcome == ("committed", work)
    assert len(outcomes) == THREADS * WRITES
