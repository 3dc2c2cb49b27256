"""Durations and step configuration: Cloudflare's units, defaults and retry arithmetic."""

from __future__ import annotations

from datetime import timedelta

import pytest

from dynisolate import ArgumentError
from dynisolate.workflows._config import StepConfig, duration_ms


@pytest.mark.parametrize(
    ("value", "ms"),
    [
        (250, 250),
        (1.5, 1),
        ("1 second", 1_000),
        ("10 seconds", 10_000),
        ("2 minutes", 120_000),
        ("1.5 hours", 5_400_000),
        ("1 day", 86_400_000),
        ("1 week", 604_800_000),
        ("1 year", 31_536_000_000),
        (timedelta(seconds=3), 3_000),
    ],
)
def test_durations(value: object, ms: int) -> None:
    assert duration_ms(value, "d") == ms


@pytest.mark.parametrize("value", ["soon", "5 fortnights", "-1 seconds", -5, float("nan"), True, None, [1]])
def test_bad_durations(value: object) -> None:
    with pytest.raises(ArgumentError):
        duration_ms(value, "d")


def test_defaults_are_cloudflares() -> None:
    config = StepConfig.parse("s", None)
    assert (config.limit, config.delay_ms, config.backoff, config.timeout_ms) == (
        5,
        10_000,
        "exponential",
        600_000,
    )
    partial = StepConfig.parse("s", {"retries": {"limit": 2}})
    assert (partial.limit, partial.delay_ms, partial.backoff) == (2, 10_000, "exponential")


@pytest.mark.parametrize(
    ("backoff", "delays"),
    [("constant", [100, 100, 100]), ("linear", [100, 200, 300]), ("exponential", [100, 200, 400])],
)
def test_backoff(backoff: str, delays: list[int]) -> None:
    config = StepConfig.parse("s", {"retries": {"limit": 3, "delay": 100, "backoff": backoff}})
    assert [config.retry_delay_ms(n) for n in (1, 2, 3)] == delays


@pytest.mark.parametrize(
    "config",
    [
        {"retry": {}},
        {"retries": {"limit": -1}},
        {"retries": {"limit": 10_001}},
        {"retries": {"limit": 1, "backoff": "random"}},
        {"retries": {"limit": 1, "jitter": True}},
        {"timeout": 0},
        {"timeout": "forever"},
        "fast",
    ],
)
def test_bad_configs(config: object) -> None:
    with pytest.raises(ArgumentError):
        StepConfig.parse("s", config)


def test_retry_delays_are_capped_at_the_longest_sleep() -> None:
    config = StepConfig.parse("s", {"retries": {"limit": 10_000, "delay": "1 hour"}})
    assert config.retry_delay_ms(9_999) == 365 * 86_400_000
