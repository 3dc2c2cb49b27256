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
