"""Workers and sessions whose isolates live in sandbox processes: the same surface as
`_core.Worker` and `_core.Session`, so `dynisolate.Worker` wraps either."""

from __future__ import annotations

import dataclasses
import queue
import threading
import time
import weakref
from collections.abc import Callable
from typing import Any

from .. import _logs
from .._limits import Limits
from ..exceptions import ClosedError, SandboxProcessDiedError
from . import _protocol as p
from ._parent import DIED, Cordons, SandboxProcess

# How often a waiting caller looks at its cancel token and its deadline.
_POLL_S = 0.05
# A call's process is killed once the call runs this long past its wall-clock limit: the process
# ends every call by that limit itself, so one that does not has stopped answering.
_GRACE_S = 5.0
# Loading compiles code; a process that takes longer has stopped answering.
_LOAD_TIMEOUT_S = 120.0


def _flags(host: Any, fetch: bool, props: bool) -> int:
    flags = 0
    if host is not None:
        flags |= p.FLAG_HOST
        if getattr(host, "outbound", None) is not None:
            flags |= p.FLAG_OUTBOUND
        if hasattr(host, "reply_ready"):
            flags |= p.FLAG_EARLY
    return flags | (p.FLAG_FETCH if fetch else 0) | (p.FLAG_PROPS if props else 0)


def _records(proc: SandboxProcess, wire: Any) -> list[tuple[str, str]]:
    if not isinstance(wire, list):
        proc.kill("it sent malformed log records")
        raise proc.died_error()
    records = []
    for record in wire:
        if not (
            isinstance(record, list)
            and len(record) == 2
            and record[0] in _logs.LEVELS
            and isinstance(record[1], str)
        ):
            proc.kill("it sent a malformed log record")
            raise proc.died_error()
        records.append((record[0], record[1]))
    return records


def converse(
    proc: SandboxProcess,
    kind: int,
    payload: list[Any],
    timeout_s: float,
    *,
    host: Any = None,
    cancel: Any = None,
    logs: list[Any] | None = None,
    label: str = "",
) -> Any:
    """Sends one request and serves what the process asks while it runs (env calls, outbound
    requests, the early result) until its answer: the value, or the error it reports. Log records
    reach the `dynisolate.guest` logger here, as an in-process call's do."""
    id, replies = proc.open()
    answered = False
    try:
        proc.send(id, kind, payload)
        deadline = time.monotonic() + timeout_s
        cancelled = False
        while True:
            try:
                reply, body = replies.get(timeout=_POLL_S)
            except queue.Empty:
                if cancel is not None and not cancelled and cancel.cancelled:
                    proc.send(id, p.CANCEL, [])
                    cancelled = True
                if time.monotonic() > deadline:
                    proc.kill(f"it did not answer within {timeout_s:.0f} s")
                continue
            if reply == DIED:
                answered = True
                raise proc.died_error()
            if reply == p.OK:
                answered = True
                return body
            if (reply == p.RESULT or reply == p.ERROR) and len(body) == 2:
                answered = True
                records = _records(proc, body[1])
                if records:
                    _logs.emit(label, records)
                    if logs is not None:
                        logs.extend(records)
                if reply == p.RESULT:
                    return body[0]
                try:
                    error = p.dynisolate_error_from_wire(body[0])
                except p.ProtocolError as bad:
                    proc.kill(f"it sent a malformed error: {bad}")
                    raise proc.died_error() from None
                raise error
            if host is not None and reply == p.HOST_CALL and len(body) == 2 and isinstance(body[0], str):
                deadline += _answer(proc, id, host, *body)
            elif host is not None and reply == p.HOST_FETCH and len(body) == 1:
                deadline += _answer(proc, id, host.fetch, *body)
            elif host is not None and reply == p.READY and len(body) == 1 and hasattr(host, "reply_ready"):
                host.reply_ready(body[0])
            else:
                proc.kill(f"it sent an unexpected message (kind {reply})")
    finally:
        proc.close(id)
        if not answered and proc.died is None:  # interrupted here: stop the guest there
            try:
                proc.send(id, p.CANCEL, [])
            except SandboxProcessDiedError:
                pass


def _answer(proc: SandboxProcess, id: int, serve: Any, *args: Any) -> float:
    """Runs `serve(*args)` (an env call or an outbound request) for the process and sends its
    answer: a value, or the error as the guest may see it. Returns the seconds it took, which the
    caller's deadline does not count: a handler that blocks past the guest's wall-clock limit
    delays the end of the call without the process having stopped answering."""
    started = time.monotonic()
    try:
        reply = [True, serve(*args)]
    except Exception as error:
        reply = [False, p.host_error_to_wire(error)]
    except BaseException:  # KeyboardInterrupt, SystemExit: the guest must not wait for ever
        proc.send(id, p.HOST_REPLY, [False, ["python", "Exception", "the host stopped serving this call"]])
        raise
    try:
        proc.send(id, p.HOST_REPLY, reply)
    except SandboxProcessDiedError:
        raise
    except Exception as error:  # the result cannot be encoded (an RpcTarget, an unknown type)
        wire = ["python", "TypeError", f"the env call's result cannot be sent to a sandbox process: {error}"]
        proc.send(id, p.HOST_REPLY, [False, wire])
    return time.monotonic() - started


def _is_load_reply(reply: Any) -> bool:
    """Whether `reply` has the shape of a LOAD's answer (a process is not trusted to send it)."""
    return (
        isinstance(reply, list)
        and len(reply) == 5
        and isinstance(reply[0], int)
        and isinstance(reply[1], list)
        and all(isinstance(name, str) for name in reply[1])
        and reply[2] in ("javascript", "wasm")
        and all(isinstance(field, str) for field in reply[3:])
    )


def _unload(handles: dict[SandboxProcess, int]) -> None:
    for proc, handle in list(handles.items()):
        if proc.died is None:
            try:
                proc.send(0, p.UNLOAD, [handle])
            except Exception:  # the process died meanwhile: nothing to unload
                pass


class _Calls:
    """The call surface of `_core.Worker` and `_core.Session`, over one conversation a call."""

    label: str
    _timeout_s: float

    def _target(self) -> tuple[SandboxProcess, int, int, Callable[[], None]]:
        """The process, message kind and target id of the next call, and what to do after it."""
        raise NotImplementedError

    def call(
        self,
        name: str,
        args: tuple[Any, ...],
        host: Any = None,
        cancel: Any = None,
        logs: list[Any] | None = None,
        fetch: bool = False,
        props: bool = False,
    ) -> Any:
        proc, kind, target, done = self._target()
        try:
            request = [target, name, list(args), _flags(host, fetch, props)]
            return converse(
                proc, kind, request, self._timeout_s, host=host, cancel=cancel, logs=logs, label=self.label
            )
        finally:
            done()


class RemoteWorker(_Calls):
    """Tenant code loaded into the sandbox processes of one cordon: loaded into one at once (so a
    bad bundle fails `load`), into the cordon's other processes, and their replacements, on first
    use."""

    def __init__(self, cordons: Cordons, cordon: str, load: list[Any], limits: Limits) -> None:
        self._cordons = cordons
        self._cordon = cordon
        self._load = [*load[:4], dataclasses.asdict(limits), *load[4:]]
        self._timeout_s = limits.wall_ms / 1000 + _GRACE_S
        self._handles: dict[SandboxProcess, int] = {}
        self._lock = threading.Lock()
        self._loading = threading.Lock()
        proc = cordons.acquire(cordon)
        try:
            handle, exports, kind, outcome, label = self._load_into(proc)
        finally:
            cordons.release(proc)
        self._exports: list[str] = exports
        self.kind: str = kind
        self.cache_outcome: str = outcome
        self.label: str = label
        weakref.finalize(self, _unload, self._handles)

    def _load_into(self, proc: SandboxProcess) -> list[Any]:
        """Loads the worker into `proc`: its handle there, exports, kind, cache outcome, label."""
        reply = converse(proc, p.LOAD, self._load, _LOAD_TIMEOUT_S)
        if not _is_load_reply(reply):
            proc.kill("it answered a load with something else")
            raise proc.died_error()
        with self._lock:
            for dead in [known for known in self._handles if known.died is not None]:
                del self._handles[dead]
            self._handles[proc] = reply[0]
        return reply  # type: ignore[no-any-return]

    def _handle(self, proc: SandboxProcess) -> int:
        """The worker's handle in `proc`, loading it there first if needed (once, however many
        callers ask at the same time)."""
        with self._lock:
            handle = self._handles.get(proc)
        if handle is not None:
            return handle
        with self._loading:
            with self._lock:
                handle = self._handles.get(proc)
            return handle if handle is not None else self._load_into(proc)[0]

    def exports(self) -> list[str]:
        return list(self._exports)

    def check_export(self, name: str) -> None:
        proc = self._cordons.acquire(self._cordon)
        try:
            converse(proc, p.CHECK_EXPORT, [self._handle(proc), name], self._timeout_s)
        finally:
            self._cordons.release(proc)

    def _target(self) -> tuple[SandboxProcess, int, int, Callable[[], None]]:
        proc = self._cordons.acquire(self._cordon)
        try:
            handle = self._handle(proc)
        except BaseException:
            self._cordons.release(proc)
            raise
        return proc, p.CALL, handle, lambda: self._cordons.release(proc)

    def session(self) -> RemoteSession:
        proc = self._cordons.acquire(self._cordon)
        try:
            reply = converse(proc, p.SESSION_OPEN, [self._handle(proc)], self._timeout_s)
            if not (isinstance(reply, list) and len(reply) == 1 and isinstance(reply[0], int)):
                proc.kill("it answered a session's opening with something else")
                raise proc.died_error()
            session = reply[0]
            proc.sessions += 1
        finally:
            self._cordons.release(proc)
        return RemoteSession(proc, session, self.label, self._timeout_s)


def _nothing() -> None:
    pass


class RemoteSession(_Calls):
    """A session's isolate in a sandbox process; it dies with the process."""

    def __init__(self, proc: SandboxProcess, session: int, label: str, timeout_s: float) -> None:
        self._proc = proc
        self._session = session
        self.label = label
        self._timeout_s = timeout_s
        self._closed = False
        self._close = weakref.finalize(self, _close_session, proc, session)

    def _target(self) -> tuple[SandboxProcess, int, int, Callable[[], None]]:
        if self._closed:
            raise ClosedError("the session is closed")
        return self._proc, p.SESSION_CALL, self._session, _nothing

    @property
    def alive(self) -> bool:
        if self._closed or self._proc.died is not None:
            return False
        (alive,) = converse(self._proc, p.SESSION_ALIVE, [self._session], self._timeout_s)
        return bool(alive)

    def close(self) -> None:
        self._closed = True
        self._close()  # runs once, here or when the session is collected


def _close_session(proc: SandboxProcess, session: int) -> None:
    proc.sessions -= 1
    if proc.died is None:
        try:
            proc.send(0, p.SESSION_CLOSE, [session])
        except Exception:  # the process died meanwhile: the session went with it
            pass
