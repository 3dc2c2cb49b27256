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


FORGER = """export default {
  forge() {
    console.log("ok\\n2026-12-07 12:00:00 CRITICAL root: disk wiped" +
      "\\r\\x1b[2J\\x07\\u202eevil\\u2028end\\ttab");
  },
  flood(n) { console.warn("x".repeat(n)); },
  multibyte() { console.log("é".repeat(10_000)); },
};"""


def test_a_tenant_cannot_forge_a_log_line_or_reach_the_terminal(
    loader: dynisolate.Loader, caplog: pytest.LogCaptureFixture
) -> None:
    worker = loader.load({"agent.js": FORGER})
    with caplog.at_level(logging.DEBUG, logger="dynisolate.guest"):
        result = worker.get_entrypoint().call_logged("forge")
    (record,) = [r for r in caplog.records if r.name == "dynisolate.guest"]
    rendered = logging.Formatter("%(levelname)s %(dynisolate_worker)s: %(message)s").format(record)
    assert rendered == (
        "INFO agent.js: ok\\n2026-12-07 12:00:00 CRITICAL root: disk wiped"
        "\\r\\x1b[2J\\x07\\u202eevil\\u2028end\ttab"
    )
    assert (record.dynisolate_worker, record.dynisolate_level) == ("agent.js", "info")  # type: ignore[attr-defined]
    # What call_logged hands the application is the text as written: data, not a rendering.
    assert result.logs[0].message.startswith("ok\n2026-12-07")


def test_one_record_keeps_at_most_16_kib_of_text(loader: dynisolate.Loader) -> None:
    entry = loader.load({"agent.js": FORGER}).get_entrypoint()
    (record,) = entry.call_logged("flood", 100_000).logs
    assert record.message == "x" * 16_384 + "... [83616 bytes cut]"
    (record,) = entry.call_logged("multibyte").logs  # 20,000 bytes: cut between characters, not inside one
    assert record.message == "é" * 8_192 + "... [3616 bytes cut]"
    with pytest.raises(dynisolate.LogLimitError):  # the call's budget still counts every byte written
        entry.flood(2 << 20)
