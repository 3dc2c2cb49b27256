"""A guest attacking the host imports: every pointer, length and encoding is checked in Rust,
each attack ends in a typed error, and the pool serves the next call."""

from __future__ import annotations

import logging

import pytest

import dynisolate
from conftest import wat


@pytest.fixture
def hostile(loader: dynisolate.Loader) -> dynisolate.Worker:
    return loader.load(
        {"hostile.wat": wat("hostile.wat")},
        env={"DATA": {"secret": "host"}},
        limits=dynisolate.Limits(max_payload_bytes=1 << 20),
    )


@pytest.mark.parametrize(
    ("export", "error", "match"),
    [
        ("name_out_of_bounds", dynisolate.SerializationError, "outside"),
        ("name_too_long", dynisolate.PayloadTooLargeError, ""),
        ("name_not_utf8", dynisolate.SerializationError, "UTF-8"),
        ("args_huge", dynisolate.PayloadTooLargeError, ""),
        ("args_wrap_around", dynisolate.SerializationError, "outside"),
        ("log_out_of_bounds", dynisolate.SerializationError, "outside"),
        ("throw_out_of_bounds", dynisolate.SerializationError, "outside"),
        ("result_write_out_of_bounds", dynisolate.SerializationError, "outside guest memory"),
    ],
)
def test_hostile_import_arguments_are_refused(
    loader: dynisolate.Loader, hostile: dynisolate.Worker, export: str, error: type, match: str
) -> None:
    with pytest.raises(error, match=match or None):
        getattr(hostile.get_entrypoint(), export)()
    assert hostile.get_entrypoint().ok() == 7
    assert loader.stats()["live_isolates"] == 0


def test_an_inbox_outside_guest_memory_is_refused(loader: dynisolate.Loader) -> None:
    liar = loader.load({"inbox.wat": wat("inbox.wat").replace("INBOX_AT", "0xffffff00")})
    session = liar.session()
    entry = session.get_entrypoint()
    assert entry.echo(1) == [1]  # the first input is allocated; the second asks for the inbox
    with pytest.raises(dynisolate.SerializationError, match="dynisolate_inbox gave 256 bytes at 0xffffff00"):
        entry.echo(2)
    assert not session.alive
    assert loader.stats()["live_isolates"] == 0
    assert liar.get_entrypoint().echo(3) == [3]


def test_arguments_that_are_not_json_are_a_clean_error(hostile: dynisolate.Worker) -> None:
    # The host answers with a TypeError envelope, which the evil allocator then cannot receive.
    with pytest.raises(dynisolate.SerializationError, match="dynisolate_alloc"):
        hostile.get_entrypoint().args_not_json()


def test_text_that_is_not_utf8_is_replaced_not_trusted(
    hostile: dynisolate.Worker, caplog: pytest.LogCaptureFixture
) -> None:
    with pytest.raises(dynisolate.GuestError) as info:
        hostile.get_entrypoint().throw_not_utf8()
    assert info.value.guest_message == "\ufffd\ufffd\ufffd"
    with caplog.at_level(logging.DEBUG, logger="dynisolate.guest"):
        hostile.get_entrypoint().log_bad_level()
    assert [(r.levelno, r.getMessage()) for r in caplog.records] == [(logging.ERROR, "DATA")]
