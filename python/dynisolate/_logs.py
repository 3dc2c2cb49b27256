"""Where guest log records go: the `dynisolate.guest` logger, tenant text always as data."""

from __future__ import annotations

import logging

_LEVELS = {"debug": logging.DEBUG, "info": logging.INFO, "warn": logging.WARNING, "error": logging.ERROR}

guest_logger = logging.getLogger("dynisolate.guest")


def emit(worker: str, records: list[tuple[str, str]]) -> None:
    """Logs each `(level, message)` record of one call. The message is passed as an argument,
    never as the format string, so tenant text cannot inject format directives."""
    for level, message in records:
        guest_logger.log(_LEVELS[level], "%s", message, extra={"dynisolate_worker": worker})
