"""Guest log records reach Python logging, as data."""

from __future__ import annotations

import logging

import pytest

import dynisolate


def test_guest_logs_reach_the_dynisolate_guest_logger(
    json_guest: dynisolate.Worker, caplog: pytest.LogCaptureFixture
) -> None:
    with caplog.at_level(logging.DEBUG, logger="dynisolate.guest"):
        assert json_guest.get_entrypoint().log("hello %s %(x)s") is None
    records = [r for r in caplog.records if r.name == "dynisolate.guest"]
    assert [(r.levelno, r.getMessage()) for r in records] == [
        (logging.INFO, '["hello %s %(x)s"]'),
        (logging.ERROR, "noop"),
    ]
    assert records[0].dynisolate_worker == "json.wat"  # type: ignore[attr-defined]


def test_logs_written_before_a_trap_are_kept(
    json_guest: dynisolate.Worker, caplog: pytest.LogCaptureFixture
) -> None:
    with caplog.at_level(logging.DEBUG, logger="dynisolate.guest"):
        with pytest.raises(dynisolate.TrapError):
            json_guest.get_entrypoint().log_then_trap("last words")
    assert [r.getMessage() for r in caplog.records if r.name == "dynisolate.guest"] == ['["last words"]']
