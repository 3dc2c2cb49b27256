"""Python workflows (trusted platform code): the same engine and step API in snake_case."""

from __future__ import annotations

import time
from collections import Counter
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from dynisolate.workflows import Engine, NonRetryableError, Step, StepError, WorkflowEvent

hits: Counter[str] = Counter()


def order(event: WorkflowEvent, step: Step) -> Any:
    total = step.do("price", lambda: (hits.update(["price"]), event.payload["qty"] * 3)[1])
    step.sleep("cool-off", timedelta(milliseconds=20))
    approval = step.wait_for_event("approval", "approve", timeout="1 minute")
    receipt = step.do("charge", lambda: (hits.update(["charge"]), f"charged {total}")[1])
    return {"receipt": receipt, "by": approval["payload"], "id": event.instance_id}


def flaky(event: WorkflowEvent, step: Step) -> Any:
    def attempt() -> str:
        hits["flaky"] += 1
        if hits["flaky"] < 3:
            raise ConnectionError("down")
        return "up"

    return step.do("call", attempt, retries={"limit": 5, "delay": 0})


def refusing(event: WorkflowEvent, step: Step) -> Any:
    def attempt() -> None:
        hits["refusing"] += 1
        raise NonRetryableError("never")

    try:
        step.do("refuse", attempt)
    except StepError as e:
        step.sleep_until("later", datetime.now(UTC) + timedelta(milliseconds=10))
        return [e.name, e.message]


def swallowing(event: WorkflowEvent, step: Step) -> Any:
    try:
        step.sleep("nap", 20)
    except Exception:  # a suspension is not an Exception: this handler never sees it
        return "swallowed"
    return "slept"


@pytest.fixture
def engine(db: str) -> Iterator[Engine]:
    hits.clear()
    workflows = {"order": order, "flaky": flaky, "refusing": refusing, "swallowing": swallowing}
    with Engine(db, workflows=workflows, poll_s=0.01) as engine:
        yield engine


def test_a_python_workflow_sleeps_waits_and_replays(engine: Engine) -> None:
    instance = engine.create(tenant="ops", entrypoint="order", params={"qty": 2}, id="order-1")
    deadline = time.monotonic() + 5
    while not (instance.status().status == "waiting" and len(instance.status().steps) == 3):
        assert time.monotonic() < deadline
        time.sleep(0.005)
    instance.send_event("approve", "alice")
    status = instance.wait(timeout=30)
    assert status.output == {"receipt": "charged 6", "by": "alice", "id": "order-1"}
    assert hits == {"price": 1, "charge": 1}
    assert [s.name for s in status.steps] == ["price", "cool-off", "approval", "charge"]


def test_retries_and_non_retryable(engine: Engine) -> None:
    assert engine.create(tenant="ops", entrypoint="flaky").wait(5).output == "up"
    assert hits["flaky"] == 3
    status = engine.create(tenant="ops", entrypoint="refusing").wait(5)
    assert status.output == ["NonRetryableError", "never"]
    assert hits["refusing"] == 1


def test_suspension_is_not_an_exception(engine: Engine) -> None:
    assert engine.create(tenant="ops", entrypoint="swallowing").wait(5).output == "slept"


def test_unknown_workflow_is_refused_at_create(engine: Engine) -> None:
    from dynisolate import LoadError

    with pytest.raises(LoadError):
        engine.create(tenant="ops", entrypoint="missing")


class CardDeclined(NonRetryableError):
    pass


def declining(event: WorkflowEvent, step: Step) -> Any:
    def attempt() -> None:
        hits["declined"] += 1
        raise CardDeclined("no funds")

    step.do("charge", attempt, retries={"limit": 3, "delay": 0})


def test_subclasses_of_non_retryable_error_are_not_retried(db: str) -> None:
    hits.clear()
    with Engine(db, workflows={"declining": declining}, poll_s=0.01) as engine:
        status = engine.create(tenant="ops", entrypoint="declining").wait(5)
    assert (status.status, status.error["name"], hits["declined"]) == ("errored", "NonRetryableError", 1)


def test_restart_of_an_unknown_instance(db: str) -> None:
    from dynisolate.workflows import InstanceNotFoundError

    with Engine(db, workflows={"declining": declining}) as engine:
        with pytest.raises(InstanceNotFoundError):
            engine.get("nope")
        with pytest.raises(InstanceNotFoundError):
            engine.restart("nope")


def one_step(event: WorkflowEvent, step: Step) -> Any:
    return step.do("one", lambda: 1)


@pytest.mark.parametrize("tenant", ["", "x" * 257, "a\x00b", "a\ud800b", 7, None])
def test_a_bad_tenant_is_refused_and_the_engine_goes_on(db: str, tenant: object) -> None:
    # NUL and lone surrogates: text one store or the other cannot keep as given.
    with Engine(db, workflows={"one_step": one_step}) as engine:
        with pytest.raises(ValueError, match="tenant must be 1 to 256 characters"):
            engine.create(tenant=tenant, entrypoint="one_step")  # type: ignore[arg-type]
        with pytest.raises(ValueError, match="tenant must be"):
            engine.set_tenant_limit(tenant, 1)  # type: ignore[arg-type]
        with pytest.raises(ValueError, match="tenant must be"):
            engine.set_tenant_retention(tenant, 60)  # type: ignore[arg-type]
        assert engine.create(tenant="tenant é ✓", entrypoint="one_step").wait(timeout=20).output == 1


def failing(event: WorkflowEvent, step: Step) -> Any:
    step.do("one", lambda: 1)
    raise ValueError(event.payload)


class Reads:
    """Counts the engine's reads of instance rows and steps from its store."""

    def __init__(self, engine: Engine, monkeypatch: pytest.MonkeyPatch) -> None:
        self.counts: Counter[str] = Counter()
        store = engine._store
        for name in ("get", "steps"):
            real = getattr(store, name)

            def counted(*args: Any, _real: Any = real, _name: str = name) -> Any:
                self.counts[_name] += 1
                return _real(*args)

            monkeypatch.setattr(store, name, counted)


def _idle(engine: Engine) -> None:
    """Waits until every worker thread waits for work, so that a create hands its instance over."""
    deadline = time.monotonic() + 10
    while engine._scheduler._idle < engine._scheduler._workers:
        assert time.monotonic() < deadline
        time.sleep(0.001)


@pytest.mark.parametrize(
    ("workflow", "params"),
    [("flaky", None), ("failing", "bad input"), ("failing", "a\x00b"), ("refusing", None)],
)
def test_waiting_for_a_run_here_gets_what_the_store_holds(
    db: str, monkeypatch: pytest.MonkeyPatch, workflow: str, params: Any
) -> None:
    # The run that finishes the instance hands its status to the waiter. It must be the status
    # the store then holds, to the step times and the error text (a NUL, which PostgreSQL keeps
    # as U+FFFD, is left to the store to say).
    hits.clear()
    workflows = {"flaky": flaky, "failing": failing, "refusing": refusing}
    # Workers that poll rarely stay idle, so the create hands its instance over (it is held here).
    with Engine(db, workflows=workflows, workers=2, poll_s=30) as engine:
        _idle(engine)
        instance = engine.create(tenant="ops", entrypoint=workflow, params=params)
        reads = Reads(engine, monkeypatch)
        waited = instance.wait(timeout=20)
        monkeypatch.undo()
        assert waited == instance.status()
        assert waited.status in ("complete", "errored") and waited.steps
        if workflow == "flaky" or params == "bad input":
            assert reads.counts == {}  # held here, run in one go: no read at all
        if workflow == "refusing":  # it slept in between: the store was read, then the run said
            assert reads.counts["get"] >= 1


def test_a_late_waiter_reads_the_row_and_not_steps_it_has(db: str, monkeypatch: pytest.MonkeyPatch) -> None:
    hits.clear()
    with Engine(db, workflows={"flaky": flaky}, workers=2, poll_s=30) as engine:
        _idle(engine)
        instance = engine.create(tenant="ops", entrypoint="flaky")
        first = instance.wait(timeout=20)  # handed over by the run, which kept its steps first
        reads = Reads(engine, monkeypatch)
        assert instance.wait(timeout=20) == first
        assert reads.counts == {"get": 1}  # finished here in this generation: its steps are known
        assert [(s.name, s.attempts) for s in first.steps] == [("call", 3)]

        # Restarted and run by another engine (another process, say): a new generation, whose
        # steps this engine does not have.
        engine.stop()
        other = Engine(db, workflows={"flaky": flaky})
        try:
            other.restart(instance.id)
            assert other.drain() == 1
        finally:
            other.close()
        again = instance.wait(timeout=20)
        assert reads.counts == {"get": 2, "steps": 1}
        assert [(s.name, s.attempts) for s in again.steps] == [("call", 1)]  # hits were past 3
        monkeypatch.undo()
        assert again == instance.status()
