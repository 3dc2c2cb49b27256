"""What the parent and a sandbox process say to each other over their socket: the one place the
frame format, the message kinds and the error encoding live.

A frame is a header (payload length, conversation id, kind) and a payload: a list encoded as a
JavaScript guest's values are (`_core.encode_value`: JSON, or a clone for bytes, dates, BigInts
and the like). The parent decodes a sandbox process's frames with that codec because it is built
for hostile input (every length checked, nesting bounded); nothing a sandbox process sends is
ever unpickled or evaluated. One conversation is one load or one call, with the env calls the
guest makes while it runs.
"""

from __future__ import annotations

import builtins
import socket
import struct
import threading
from typing import Any

from .. import _core, exceptions

HEADER = struct.Struct("!IQB")
# The largest payload either side accepts: beyond any `max_payload_bytes` plus a frame's own
# fields. A larger header from a sandbox process is a protocol violation.
MAX_PAYLOAD_BYTES = 256 << 20

# Parent to sandbox process.
LOAD = 1  # [kind, code, env_data, stubs, limits, wasm, label] -> OK [handle, exports, kind, outcome, label]
UNLOAD = 2  # [handle] (no reply)
CALL = 3  # [handle, name, args, flags] -> RESULT / ERROR, with HOST_* and READY on the way
SESSION_OPEN = 4  # [handle] -> OK [session]
SESSION_CALL = 5  # [session, name, args, flags]
SESSION_CLOSE = 6  # [session] (no reply)
SESSION_ALIVE = 7  # [session] -> OK [alive]
CHECK_EXPORT = 8  # [handle, name] -> OK [] / ERROR
HOST_REPLY = 9  # [True, value] or [False, error]: the answer to a HOST_CALL or HOST_FETCH
CANCEL = 10  # [] stops the conversation's call
PROBE = 11  # [what] -> OK [outcome]: tests check the confinement from inside (see _child.py)

# Sandbox process to parent.
HELLO = 20  # [report] once confined, on conversation 0
OK = 21
RESULT = 22  # [value, logs]
ERROR = 23  # [error, logs]
HOST_CALL = 24  # [name, args]
HOST_FETCH = 25  # [request wire]
READY = 26  # [value]: the result is ready while ctx.waitUntil work goes on

# Flags of CALL and SESSION_CALL.
FLAG_HOST = 1  # the parent serves env calls
FLAG_OUTBOUND = 2  # the parent has an outbound handler
FLAG_EARLY = 4  # the parent takes the result as soon as it is ready
FLAG_FETCH = 8
FLAG_PROPS = 16


class ProtocolError(Exception):
    """A frame that breaks the protocol (the peer is gone or not speaking it)."""


def encode(payload: list[Any]) -> bytes:
    return _core.encode_value(payload, MAX_PAYLOAD_BYTES, "a sandbox message")


def decode(data: bytes) -> list[Any]:
    value = _core.decode_value(data, "a sandbox message")
    if not isinstance(value, list):
        raise ProtocolError("a sandbox message must be a list")
    return value


class Channel:
    """One end of the socket: whole frames out (from any thread), whole frames in (one reader)."""

    def __init__(self, sock: socket.socket) -> None:
        self.sock = sock
        self._send_lock = threading.Lock()

    def send(self, conversation: int, kind: int, payload: list[Any]) -> None:
        data = encode(payload)
        frame = HEADER.pack(len(data), conversation, kind) + data
        with self._send_lock:
            self.sock.sendall(frame)

    def receive(self) -> tuple[int, int, list[Any]]:
        """The next frame; `ProtocolError` at end of stream or on a malformed frame."""
        length, conversation, kind = HEADER.unpack(self._exactly(HEADER.size))
        if length > MAX_PAYLOAD_BYTES:
            raise ProtocolError(f"a frame of {length} bytes exceeds {MAX_PAYLOAD_BYTES}")
        return conversation, kind, decode(self._exactly(length))

    def _exactly(self, size: int) -> bytes:
        buffer = bytearray(size)
        view = memoryview(buffer)
        got = 0
        while got < size:
            n = self.sock.recv_into(view[got:])
            if n == 0:
                raise ProtocolError("the peer closed the socket")
            got += n
        return bytes(buffer)


# ---- errors ----


def _fields(cls: type) -> frozenset[str]:
    """The structured fields an error class declares (its annotations; `message` is the error's
    text and `logs` travels beside it)."""
    names: set[str] = set()
    for klass in cls.__mro__:
        names.update(getattr(klass, "__annotations__", {}))
    return frozenset(names - {"message", "logs"})


def dynisolate_error_to_wire(error: exceptions.DynisolateError) -> list[Any]:
    fields = {
        f: getattr(error, f) for f in _fields(type(error)) if isinstance(getattr(error, f, None), (str, int))
    }
    return [type(error).__name__, error.message, fields]


def dynisolate_error_from_wire(wire: Any) -> exceptions.DynisolateError:
    """The error a sandbox process reported: a class of `dynisolate.exceptions` by name (any other
    name is a protocol violation), with its plain fields."""
    if not (
        isinstance(wire, list) and len(wire) == 3 and isinstance(wire[0], str) and isinstance(wire[2], dict)
    ):
        raise ProtocolError("malformed error")
    name, message, fields = wire
    cls = getattr(exceptions, name, None) if name in exceptions.__all__ else None
    if not (isinstance(cls, type) and issubclass(cls, exceptions.DynisolateError)) or not isinstance(
        message, str
    ):
        raise ProtocolError(f"unknown error class {name!r}")
    error = cls(message)
    for field, value in fields.items():
        if field in _fields(cls) and isinstance(value, (str, int)):
            setattr(error, field, value)
    return error


def host_error_to_wire(error: BaseException) -> list[Any]:
    """An env handler's exception for the guest: a guest's own error (a service binding's callee
    threw) by its name and message, else a built-in exception class by name ("Exception" for any
    other). Which names the guest may see is the core's to decide, in the process, as in-process
    (rust/python/host.rs)."""
    if isinstance(error, exceptions.GuestError):
        return ["guest", str(getattr(error, "name", "Error")), str(getattr(error, "guest_message", ""))]
    name = type(error).__name__
    # A KeyError's str() quotes its key; the class rebuilt from the message would quote it again.
    message = str(error.args[0]) if isinstance(error, KeyError) and len(error.args) == 1 else str(error)
    return ["python", name if getattr(builtins, name, None) is type(error) else "Exception", message]


def host_error_from_wire(wire: list[Any]) -> BaseException:
    kind, name, message = wire
    if kind == "guest":
        error = exceptions.GuestError(f"{name}: {message}")
        error.name, error.guest_message, error.stack = name, message, ""
        return error
    cls = getattr(builtins, name, None)
    return (cls if isinstance(cls, type) and issubclass(cls, Exception) else Exception)(message)
