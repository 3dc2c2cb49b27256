"""How a run here tells waiters here that it ended: only the waiters of its own instance, with the
instance when it finished it; and the steps kept for later waiters, by generation, within a budget."""

from __future__ import annotations

import dataclasses
import threading

import pytest

from dynisolate.workflows import _outcomes
from dynisolate.workflows._outcomes import Finished, Outcomes
from dynisolate.workflows._store import InstanceRow, StepRow


def _finished(id: str, generation: int, steps: int = 1) -> Finished:
    row = InstanceRow(id, "t", "w", None, "null", "null", "complete", 1.0, generation=generation)
    rows = [StepRow(f"s#{n}", "do", "s", n, n, False, "complete", 1, value="x" * 100) for n in range(steps)]
    return Finished(row, rows)


def test_a_waiter_of_a_held_instance_gets_how_its_run_ended() -> None:
    outcomes = Outcomes()
    outcomes.hold(["a"])
    expected = outcomes.expect("a")
    assert expected.held
    done = _finished("a", 7)
    threading.Timer(0.05, outcomes.end, ("a", done)).start()
    assert expected.next(5) is done
    outcomes.forget("a", expected)
    assert not outcomes.expect("a").held  # its hold ended


def test_a_run_that_did_not_finish_wakes_its_waiters_with_nothing() -> None:
    outcomes = Outcomes()
    outcomes.hold(["a", "a"])  # created claimed, then claimed again after a hand-back
    expected = outcomes.expect("a")
    outcomes.end("a", None)
    assert expected.next(0) is None and not expected._event.is_set()  # woken, and re-armed
    assert outcomes.expect("a").held  # one hold is left
    outcomes.end("a", None)
    assert not outcomes.expect("a").held


def test_only_the_waiters_of_the_instance_are_woken() -> None:
    outcomes = Outcomes()
    outcomes.hold(["a", "b"])
    waiting_a, waiting_b = outcomes.expect("a"), outcomes.expect("b")
    outcomes.end("b", _finished("b", 1))
    assert waiting_a.next(0.01) is None and not waiting_a._event.is_set()
    assert waiting_b.next(0) is not None


def test_a_waiter_that_came_after_the_end_is_not_told_and_forgets_cleanly() -> None:
    outcomes = Outcomes()
    outcomes.hold(["a"])
    outcomes.end("a", _finished("a", 1))
    late = outcomes.expect("a")
    assert not late.held and late.next(0.01) is None  # it reads the store
    outcomes.forget("a", late)
    assert outcomes._waiting == {}
    outcomes.end("never-held", None)  # an end without a hold is no error


def test_steps_are_kept_for_the_generation_that_finished_without_their_values() -> None:
    outcomes = Outcomes()
    outcomes.hold(["a"])
    outcomes.end("a", _finished("a", 7, steps=2))
    kept = outcomes.steps("a", 7)
    assert kept is not None and [s.key for s in kept] == ["s#0", "s#1"]
    assert all(s.value is None for s in kept)
    assert outcomes.steps("a", 8) is None  # restarted since: another generation
    assert outcomes.steps("b", 7) is None


def test_kept_steps_stay_within_their_budget(monkeypatch: pytest.MonkeyPatch) -> None:
    step_bytes = _outcomes._footprint(_finished("x", 1).steps)
    monkeypatch.setattr(_outcomes, "RECENT_BYTES", 10 * step_bytes)
    outcomes = Outcomes()
    for n in range(8):
        outcomes.hold([f"i{n}"])
        outcomes.end(f"i{n}", _finished(f"i{n}", 1, steps=3))
    assert outcomes._recent_bytes <= 10 * step_bytes
    assert [outcomes.steps(f"i{n}", 1) is not None for n in range(8)] == [False] * 5 + [True] * 3
    big = _finished("big", 1, steps=25)
    outcomes.hold(["big"])
    outcomes.end("big", big)  # past the budget alone: kept alone
    assert list(outcomes._recent) == ["big"] and outcomes._recent_bytes == _outcomes._footprint(big.steps)


def test_long_error_texts_count_against_the_budget() -> None:
    # 50,000 steps could each keep a 4 KiB error message: 200 MiB, were steps only counted.
    finished = _finished("e", 1, steps=1000)
    for step in finished.steps:
        step.error_name, step.error_message = "Error", "x" * 4096
    assert _outcomes._footprint(finished.steps) > 1000 * 4096
    outcomes = Outcomes()
    for n in range(10):
        outcomes.hold([f"e{n}"])
        outcomes.end(f"e{n}", Finished(dataclasses.replace(finished.row, id=f"e{n}"), finished.steps))
    assert outcomes._recent_bytes <= _outcomes.RECENT_BYTES
    assert len(outcomes._recent) == _outcomes.RECENT_BYTES // _outcomes._footprint(finished.steps)
