"""Where guest log records go: the `dynisolate.guest` logger, tenant text always as data.

A record is rendered by whatever formatter the application configured, often one line per record
on an operator's terminal. So the tenant's text is escaped before it reaches the logger: line
breaks (which would let a tenant print a line that looks like the host's own record), the other
C0 and C1 controls (terminal escape sequences, bells), and the Unicode format characters that
reorder or hide text (bidi overrides and isolates, line and paragraph separators) become visible
`\\n`, `\\x1b`, `\\u202e` escapes. Which worker wrote a record and at what level are fields of the
`logging.LogRecord` (`dynisolate_worker`, `dynisolate_level`), never part of the text. The records
`call_logged` returns are the text as written (the host caps each record's length).
"""

from __future__ import annotations

import logging

# The guest's levels, as `logging` levels (the only levels a record may carry).
LEVELS = {"debug": logging.DEBUG, "info": logging.INFO, "warn": logging.WARNING, "error": logging.ERROR}

guest_logger = logging.getLogger("dynisolate.guest")

# Code points a rendered record must not carry raw. Tab stays: it cannot start a line or move the cursor.
_BIDI_AND_SEPARATORS = [
    *(0x061C, 0x200E, 0x200F, 0x2028, 0x2029),
    *range(0x202A, 0x202F),  # embeddings and overrides
    *range(0x2066, 0x206A),  # isolates
]
_ESCAPES: dict[int, str] = {
    **{c: f"\\x{c:02x}" for c in [*range(0x00, 0x20), *range(0x7F, 0xA0)] if c != 0x09},
    0x0A: "\\n",
    0x0D: "\\r",
    **{c: f"\\u{c:04x}" for c in _BIDI_AND_SEPARATORS},
}


def render(message: str) -> str:
    """`message` safe to print as one line of a log: see the module's docstring."""
    return message.translate(_ESCAPES)


def emit(worker: str, records: list[tuple[str, str]]) -> None:
    """Logs each `(level, message)` record of one call. The message is passed as an argument,
    never as the format string, so tenant text cannot inject format directives."""
    for level, message in records:
        fields = {"dynisolate_worker": worker, "dynisolate_level": level}
        guest_logger.log(LEVELS[level], "%s", render(message), extra=fields)
