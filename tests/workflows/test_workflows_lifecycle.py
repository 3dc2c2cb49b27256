"""The operator actions' rules (`_lifecycle.py`), which every store applies as given."""

from __future__ import annotations

import pytest

from dynisolate.workflows import InstanceStateError
from dynisolate.workflows._lifecycle import transition

LIVE = ("queued", "running", "waiting", "waitingForPause", "paused")
FINISHED = ("complete", "errored", "terminated")


def test_pause_stops_runnable_instances_and_lets_a_running_one_reach_a_step_boundary() -> None:
    assert {s: transition("i", "pause", s).status for s in LIVE} == {
        "queued": "paused",
        "running": "waitingForPause",
        "waiting": "paused",
        "waitingForPause": "waitingForPause",
        "paused": "paused",
    }
    paused = transition("i", "pause", "waiting")
    assert (paused.changed, paused.fence, paused.wake, paused.paused_at, paused.shift_waits) == (
        True,
        False,
        "keep",
        "set",
        False,
    )
    assert not transition("i", "pause", "paused").changed


def test_resume_makes_a_paused_instance_due_and_moves_its_waits_by_the_paused_time() -> None:
    resumed = transition("i", "resume", "paused")
    assert (resumed.status, resumed.wake, resumed.paused_at, resumed.shift_waits) == (
        "queued",
        "now",
        "clear",
        True,
    )
    caught = transition("i", "resume", "waitingForPause")  # the run had not reached its boundary yet
    assert (caught.status, caught.wake, caught.shift_waits) == ("running", "keep", False)
    assert not any(transition("i", "resume", s).changed for s in ("queued", "running", "waiting"))


def test_terminate_fences_a_run_still_going() -> None:
    for status in LIVE:
        ended = transition("i", "terminate", status)
        assert (ended.status, ended.fence, ended.wake, ended.paused_at) == (
            "terminated",
            True,
            "clear",
            "clear",
        )


@pytest.mark.parametrize("op", ["pause", "resume", "terminate"])
@pytest.mark.parametrize("status", FINISHED)
def test_a_finished_instance_takes_no_action(op: str, status: str) -> None:
    with pytest.raises(InstanceStateError, match=f"is {status} and cannot {op}") as refused:
        transition("wf-1", op, status)
    assert refused.value.status == status
