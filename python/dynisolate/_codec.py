"""Values kept as text or bytes: what the durable engine stores for a step's result, so a replayed
guest gets back what the first run returned (bytes, dates, maps, sets, BigInts, `undefined`),
not only what JSON can hold."""

from __future__ import annotations

from typing import Any

from . import _core

__all__ = ["decode", "encode"]

_CLONE_MAGIC = 0xC1  # rust/js/protocol.rs: the first byte of a clone, never of JSON


def encode(value: Any, what: str, limit: int) -> str | bytes:
    """JSON text when JSON carries `value` exactly, else the bytes of its clone."""
    data = _core.encode_value(value, limit, what)
    return data if data[:1] == bytes([_CLONE_MAGIC]) else data.decode()


def decode(stored: str | bytes, what: str) -> Any:
    """The value `encode` gave `stored` for."""
    return _core.decode_value(stored.encode() if isinstance(stored, str) else stored, what)
