"""The events a platform raises in a JavaScript worker besides requests: Cloudflare's
`scheduled(controller, env, ctx)` (a cron trigger) and `queue(batch, env, ctx)` (a batch of
queue messages), with what the handler decided."""

from __future__ import annotations

import datetime
import math
import time
import uuid
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import Any

from .exceptions import GuestError, SerializationError

__all__ = ["QueueMessage", "QueueResult", "ScheduledResult"]

# The methods glue.js runs for these events (its SCHEDULED and QUEUE).
SCHEDULED = "#scheduled"
QUEUE = "#queue"
# Cloudflare's longest retry delay (12 hours).
MAX_RETRY_DELAY_S = 43_200


@dataclass(frozen=True, slots=True)
class ScheduledResult:
    """How a `scheduled` handler finished: `no_retry` is whether it called `controller.noRetry()`.
    (A handler that throws raises `GuestError` instead.)"""

    no_retry: bool


@dataclass(frozen=True, slots=True)
class QueueMessage:
    """One message of a batch. `id` and `timestamp` default to a fresh id and now; `attempts`
    counts deliveries, this one included."""

    body: Any
    id: str = field(default_factory=lambda: uuid.uuid4().hex)
    timestamp: datetime.datetime = field(default_factory=lambda: datetime.datetime.now(datetime.UTC))
    attempts: int = 1


@dataclass(frozen=True, slots=True)
class QueueResult:
    """What became of each message: `acked` (ids, in batch order) and `retried` (id to the delay
    in seconds it asked for, or None). A message the handler did not settle itself is acked if
    the handler succeeded and retried if it threw; then `error` holds what it threw."""

    acked: list[str]
    retried: dict[str, float | None]
    error: GuestError | None = None


def scheduled_args(cron: str, scheduled_time: datetime.datetime | float | None) -> tuple[Any, ...]:
    if not isinstance(cron, str):
        raise TypeError(f"cron must be a str, not {type(cron).__name__}")
    if scheduled_time is None:
        ms = time.time() * 1000
    elif isinstance(scheduled_time, datetime.datetime):
        if scheduled_time.tzinfo is None:
            raise ValueError("scheduled_time must be an aware datetime (or ms since the epoch)")
        ms = scheduled_time.timestamp() * 1000
    else:
        ms = float(scheduled_time)
    return (cron, int(ms))


def queue_args(queue: str, messages: Iterable[Any]) -> tuple[Any, ...]:
    if not isinstance(queue, str):
        raise TypeError(f"queue must be a str, not {type(queue).__name__}")
    wires = []
    seen: set[str] = set()
    for message in messages:
        if not isinstance(message, QueueMessage):
            message = QueueMessage(message)
        if message.id in seen:
            raise ValueError(f"two messages of the batch have the id {message.id!r}")
        seen.add(message.id)
        wires.append(
            {
                "id": message.id,
                "timestamp": message.timestamp.timestamp() * 1000,
                "body": message.body,
                "attempts": message.attempts,
            }
        )
    return (queue, wires)


def queue_result(wire: Any, ids: list[str]) -> QueueResult:
    """The outcome the guest reported, checked: it is tenant-controlled, so every message of the
    batch must appear exactly once, and each retry delay must be a number of seconds Cloudflare
    would take; anything else is a `SerializationError`, never a wrong outcome."""
    try:
        acked = list(wire["acked"])
        retried = {id_: delay for id_, delay in wire["retried"]}
        info = wire["error"]
        if info is not None:
            name, message, stack = (str(info[key]) for key in ("name", "message", "stack"))
        named = [*acked, *retried]
        every_once = all(isinstance(id_, str) for id_ in named) and sorted(named) == sorted(ids)
    except (KeyError, TypeError, ValueError) as e:
        raise SerializationError(f"the queue handler's outcome is malformed: {e}") from None
    if not every_once or len(acked) + len(wire["retried"]) != len(ids):
        raise SerializationError("the queue handler's outcome does not name each message of the batch once")
    for id_, delay in retried.items():
        number = isinstance(delay, (int, float)) and math.isfinite(delay)
        if delay is not None and not (number and 0 <= delay <= MAX_RETRY_DELAY_S):
            raise SerializationError(
                f"message {id_!r}: a retry delay is 0 to {MAX_RETRY_DELAY_S} seconds, not {delay!r}"
            )
    error = None
    if info is not None:
        error = GuestError(f"{name}: {message}")
        error.name, error.guest_message, error.stack = name, message, stack
    return QueueResult(acked, retried, error)


def raise_scheduled(call: Callable[..., Any], host: Any, cron: str, scheduled_time: Any) -> ScheduledResult:
    wire = call(SCHEDULED, scheduled_args(cron, scheduled_time), host)
    return ScheduledResult(bool(wire["noRetry"]))


def raise_queue(call: Callable[..., Any], host: Any, queue: str, messages: Iterable[Any]) -> QueueResult:
    args = queue_args(queue, messages)
    return queue_result(call(QUEUE, args, host), [wire["id"] for wire in args[1]])
