"""Durations and step configuration, with Cloudflare Workflows' defaults and retry arithmetic."""

from __future__ import annotations

import math
import re
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

from ..exceptions import ArgumentError

__all__ = [
    "DEFAULT_CONFIG",
    "DEFAULT_EVENT_TIMEOUT_MS",
    "EVENT_TYPE",
    "MAX_SLEEP_MS",
    "StepConfig",
    "duration_ms",
]

_UNIT_MS = {
    "millisecond": 1,
    "second": 1_000,
    "minute": 60_000,
    "hour": 3_600_000,
    "day": 86_400_000,
    "week": 7 * 86_400_000,
    "month": 30 * 86_400_000,
    "year": 365 * 86_400_000,
}
_DURATION = re.compile(r"\s*(\d+(?:\.\d+)?)\s*(millisecond|second|minute|hour|day|week|month|year)s?\s*")
MAX_SLEEP_MS = 365 * 86_400_000
DEFAULT_EVENT_TIMEOUT_MS = 24 * 3_600_000
# An event type, for `send_event` and `waitForEvent` alike.
EVENT_TYPE = re.compile(r"[A-Za-z0-9._-]{1,100}")
_BACKOFFS = ("constant", "linear", "exponential")


def duration_ms(value: object, what: str) -> int:
    """Milliseconds from an int/float of ms, a `timedelta`, or a string such as "5 minutes"."""
    if isinstance(value, timedelta):
        ms = value.total_seconds() * 1000
    elif isinstance(value, (int, float)) and not isinstance(value, bool):
        ms = float(value)
    elif isinstance(value, str) and (match := _DURATION.fullmatch(value)):
        ms = float(match[1]) * _UNIT_MS[match[2]]
    else:
        raise ArgumentError(
            f"{what} must be milliseconds or a duration such as '10 seconds' or '2 hours', not {value!r}"
        )
    if not math.isfinite(ms) or ms < 0:
        raise ArgumentError(f"{what} must be a finite, non-negative duration, not {value!r}")
    return int(ms)


@dataclass(frozen=True, slots=True)
class StepConfig:
    """The resolved configuration of one `step.do`: recorded with the step's first attempt, so
    later code changes do not alter the retries of a step already under way.

    The defaults are Cloudflare's documented ones: 5 retries (6 attempts), a 10 s base delay with
    exponential backoff, and a 10 minute timeout per attempt.
    """

    limit: int = 5
    delay_ms: int = 10_000
    backoff: str = "exponential"
    timeout_ms: int | None = 600_000

    def retry_delay_ms(self, attempt: int) -> int:
        """The wait after failed attempt `attempt` (1-based): base, base * n, or base * 2^(n-1),
        at most the longest sleep (365 days; Cloudflare has no cap, but a wake-up time must be
        a time)."""
        if self.backoff == "constant":
            delay = self.delay_ms
        elif self.backoff == "linear":
            delay = self.delay_ms * attempt
        else:
            delay = self.delay_ms << min(attempt - 1, 64)
        return min(delay, MAX_SLEEP_MS)

    def to_wire(self) -> dict[str, Any]:
        """The resolved config as the guest sees it (`ctx.config`)."""
        return {
            "retries": {"limit": self.limit, "delay": self.delay_ms, "backoff": self.backoff},
            "timeout": self.timeout_ms,
        }

    @classmethod
    def from_wire(cls, wire: dict[str, Any]) -> StepConfig:
        r = wire["retries"]
        return cls(r["limit"], r["delay"], r["backoff"], wire["timeout"])

    @classmethod
    def parse(cls, step: str, config: object) -> StepConfig:
        """Validates a tenant's `{retries: {limit, delay, backoff}, timeout}` against the defaults.
        Unknown keys are refused, as Cloudflare's strict schema does (`sensitive` is accepted and
        has no effect here)."""
        if config is None:
            return DEFAULT_CONFIG
        bad = f"the config of step {step!r}"
        if not isinstance(config, dict) or not set(config) <= {"retries", "timeout", "sensitive"}:
            raise ArgumentError(f"{bad} takes only 'retries', 'timeout' and 'sensitive', got {config!r}")
        base = cls()
        limit, delay, backoff = base.limit, base.delay_ms, base.backoff
        retries = config.get("retries")
        if retries is not None:
            if not isinstance(retries, dict) or not set(retries) <= {"limit", "delay", "backoff"}:
                raise ArgumentError(f"{bad}: retries takes 'limit', 'delay' and 'backoff', got {retries!r}")
            limit = retries.get("limit", limit)
            if limit == math.inf:
                limit = 10_000
            if isinstance(limit, bool) or not isinstance(limit, int) or not 0 <= limit <= 10_000:
                raise ArgumentError(f"{bad}: retries.limit must be an int from 0 to 10,000, got {limit!r}")
            if "delay" in retries:
                delay = duration_ms(retries["delay"], f"{bad}: retries.delay")
            backoff = retries.get("backoff", backoff)
            if backoff not in _BACKOFFS:
                raise ArgumentError(f"{bad}: retries.backoff must be one of {_BACKOFFS}, got {backoff!r}")
        timeout: int | None = base.timeout_ms
        if config.get("timeout") is not None:
            timeout = duration_ms(config["timeout"], f"{bad}: timeout")
            if timeout == 0:
                raise ArgumentError(f"{bad}: timeout must not be zero")
        return cls(limit, delay, backoff, timeout)


DEFAULT_CONFIG = StepConfig()
