"""A sandbox process: run as `python -m dynisolate._process._child CONFIG FD` by the parent
(`_parent.py`), which holds the other end of the socket FD.

It confines itself in the order the kernel needs (`rust/confine/`): new namespaces while it has
one thread; then it imports everything it will use, boots its engine and runs one JavaScript and
one WebAssembly call (so no later step needs a file), applies Landlock and its rlimits, and
installs the syscall filter on every thread. Only then does it read a frame. From there it loads
what the parent sends and runs calls, each on the thread that read it (`Server`), forwarding env
calls and outbound requests to the parent, which alone holds the env, and returning each call's
log records with its result.
"""

from __future__ import annotations

import collections
import json
import os
import queue
import socket
import sys
import threading
from typing import Any

from .. import _core, _logs
from .._limits import Limits
from ..exceptions import DynisolateError, SerializationError
from . import _protocol as p

_WARM_JS = {"warm.js": "export default { ping() { return 1 } }"}
_WARM_WAT = '(module (func (export "ping") (result i32) i32.const 1))'
# Threads serving requests at once; more requests wait for the first free one.
_SERVING_THREADS = 64


class _Conversation:
    __slots__ = ("id", "replies", "token")

    def __init__(self, id: int) -> None:
        self.id = id
        self.replies: queue.SimpleQueue[list[Any]] = queue.SimpleQueue()
        self.token = _core.CancelToken()


class _ParentHost:
    """The guest's env as the core sees it (`dynisolate._env.Dispatcher`'s protocol): every env
    call and outbound request becomes a frame to the parent and waits for its answer."""

    def __init__(self, channel: p.Channel, conversation: _Conversation, outbound: bool) -> None:
        self._channel = channel
        self._conversation = conversation
        self.outbound = True if outbound else None

    def _ask(self, kind: int, payload: list[Any], what: str) -> Any:
        try:
            self._channel.send(self._conversation.id, kind, payload)
        except SerializationError as error:  # a function the guest passed, which only it can call
            raise TypeError(f"{what} cannot be sent from a sandbox process to the host: {error}") from None
        reply = self._conversation.replies.get()
        if reply[0] is True:
            return reply[1]
        raise p.host_error_from_wire(reply[1])

    def __call__(self, name: str, args: list[Any]) -> Any:
        return self._ask(p.HOST_CALL, [name, args], f"the arguments of env.{name}")

    def fetch(self, wire: dict[str, Any]) -> Any:
        return self._ask(p.HOST_FETCH, [wire], "the request")

    def call_target(self, target: Any, method: str, args: list[Any]) -> Any:
        raise TypeError("an RpcTarget returned by an env call cannot be called from a sandbox process")


class _EarlyParentHost(_ParentHost):
    def reply_ready(self, value: Any) -> None:
        self._channel.send(self._conversation.id, p.READY, [value])


class Server:
    """Serves the parent's requests on a set of threads that take turns reading the socket: the
    thread that reads a request answers it itself (no hand-off between threads on a call's path),
    and another takes over reading meanwhile, started if none is free."""

    def __init__(self, channel: p.Channel, pool: Any) -> None:
        self._channel = channel
        self._pool = pool
        self._workers: dict[int, Any] = {}
        self._sessions: dict[int, Any] = {}
        self._conversations: dict[int, _Conversation] = {}
        self._next_handle = 1
        self._lock = threading.Lock()
        self._read_lock = threading.Lock()  # held by the thread reading the socket
        self._threads = 1
        self._spare = 0  # threads waiting for their turn to read
        self._backlog: collections.deque[tuple[int, int, list[Any]]] = collections.deque()

    def serve(self) -> None:
        while True:
            self._answer(*self._next_request())

    def _next_request(self) -> tuple[int, int, list[Any]]:
        with self._lock:
            if self._backlog:
                return self._backlog.popleft()
            self._spare += 1
        with self._read_lock:
            with self._lock:
                self._spare -= 1
            while True:
                request = self._read()
                if request is None:
                    continue
                with self._lock:
                    self._conversations[request[0]] = _Conversation(request[0])
                    if self._spare:
                        return request
                    if self._threads < _SERVING_THREADS:  # someone must read while this is answered
                        self._threads += 1
                        threading.Thread(target=self.serve, daemon=True).start()
                        return request
                    self._backlog.append(request)  # every thread is busy: the first free one takes it

    def _read(self) -> tuple[int, int, list[Any]] | None:
        """The next frame that is a request to answer; None for one handled here."""
        try:
            conversation, kind, payload = self._channel.receive()
        except p.ProtocolError:
            os._exit(0)  # the parent is gone: nothing is left to serve
        if kind == p.HOST_REPLY:
            self._conversation(conversation).replies.put(payload)
        elif kind == p.CANCEL:
            self._conversation(conversation).token.cancel()
        elif kind == p.UNLOAD:
            self._workers.pop(payload[0], None)
        elif kind == p.SESSION_CLOSE:
            session = self._sessions.pop(payload[0], None)
            if session is not None:
                session.close()
        else:
            return conversation, kind, payload
        return None

    def _conversation(self, id: int) -> _Conversation:
        with self._lock:
            found = self._conversations.get(id)
        return found if found is not None else _Conversation(id)  # ended already: the reply is moot

    def _answer(self, id: int, kind: int, payload: list[Any]) -> None:
        conversation = self._conversations[id]
        logs: list[tuple[str, str]] = []
        try:
            reply_kind, reply = self._serve(conversation, kind, payload, logs)
        except DynisolateError as error:
            reply_kind, reply = p.ERROR, [p.dynisolate_error_to_wire(error), logs]
        except Exception as error:  # a bug of ours, not the guest's: still an answer
            reply_kind, reply = p.ERROR, [["DynisolateError", f"sandbox process: {error!r}", {}], logs]
        with self._lock:
            del self._conversations[id]
        try:
            self._channel.send(id, reply_kind, reply)
        except SerializationError as error:
            self._channel.send(id, p.ERROR, [p.dynisolate_error_to_wire(error), logs])

    def _serve(
        self, conversation: _Conversation, kind: int, payload: list[Any], logs: list[tuple[str, str]]
    ) -> tuple[int, list[Any]]:
        if kind in (p.CALL, p.SESSION_CALL):
            target, name, args, flags = payload
            callee = (self._workers if kind == p.CALL else self._sessions)[target]
            host: _ParentHost | None = None
            if flags & p.FLAG_HOST:
                make = _EarlyParentHost if flags & p.FLAG_EARLY else _ParentHost
                host = make(self._channel, conversation, bool(flags & p.FLAG_OUTBOUND))
            value = callee.call(
                name,
                tuple(args),
                host,
                conversation.token,
                logs,
                bool(flags & p.FLAG_FETCH),
                bool(flags & p.FLAG_PROPS),
            )
            return p.RESULT, [value, logs]
        if kind == p.LOAD:
            return p.OK, self._load(*payload)
        if kind == p.SESSION_OPEN:
            session = self._workers[payload[0]].session()
            return p.OK, [self._keep(self._sessions, session)]
        if kind == p.SESSION_ALIVE:
            session = self._sessions.get(payload[0])
            return p.OK, [session is not None and session.alive]
        if kind == p.CHECK_EXPORT:
            self._workers[payload[0]].check_export(payload[1])
            return p.OK, []
        if kind == p.PROBE:
            if payload[0] == "held":  # workers, sessions, and requests in flight besides this one
                with self._lock:
                    return p.OK, [[len(self._workers), len(self._sessions), len(self._conversations) - 1]]
            return p.OK, [_probe(payload[0])]
        raise ValueError(f"unknown message kind {kind}")

    def _load(
        self,
        kind: str,
        code: Any,
        data: dict[str, Any],
        stubs: list[Any],
        limits: dict[str, Any],
        wasm: list[Any],
        label: str,
    ) -> list[Any]:
        checked = Limits(**limits)
        if kind == "js":
            worker = self._pool.load_js(
                label,
                [tuple(m) for m in code],
                data,
                [tuple(s) for s in stubs],
                checked,
                [tuple(w) for w in wasm],
            )
        else:
            worker = self._pool.load(kind, code, data, checked, label=label)
        handle = self._keep(self._workers, worker)
        return [handle, worker.exports(), worker.kind, worker.cache_outcome, worker.label]

    def _keep(self, table: dict[int, Any], value: Any) -> int:
        with self._lock:
            handle = self._next_handle
            self._next_handle += 1
        table[handle] = value
        return handle


def _probe(what: str) -> str:
    """What the confinement does to one thing a process escaping wasmtime would try. Tests send
    these from the parent (tenant code cannot: it has no way to name them)."""
    try:
        if what == "open":
            with open("/etc/hostname", "rb"):
                return "allowed"
        if what == "socket":
            socket.socket(socket.AF_INET, socket.SOCK_STREAM).close()
            return "allowed"
        if what == "execve":
            os.execv("/bin/true", ["/bin/true"])
        if what == "fork":
            os.fork()
            return "allowed"
        if what == "allocate":
            return f"allocated {len(bytearray(1 << 40))}"
        if what == "environ":
            return ",".join(sorted(os.environ))
        if what == "stderr":  # as code that escaped wasmtime could: a forged line and an escape
            os.write(2, b"ERROR looks like the host\x1b[2J\nCRITICAL second line\n")
            return "written"
    except OSError as error:
        return f"refused: {os.strerror(error.errno or 0)}"
    except MemoryError:
        return "refused: out of memory"
    return "unknown probe"


def _confine(config: dict[str, Any]) -> tuple[Any, dict[str, Any]]:
    report: dict[str, Any] = {"pid": os.getpid(), "namespaces": False, "landlock": "not"}
    if config["namespaces"]:
        report["namespaces"] = _core.confine_namespaces()
    _logs.emit = lambda worker, records: None  # the parent logs each call's records
    pool = _core.Pool(**config["pool"])
    limits = Limits()
    warm = (
        pool.load_js("warm.js", list(_WARM_JS.items()), {}, [], limits),
        pool.load("wat", _WARM_WAT, {}, limits, label="warm.wat"),
    )
    for worker in warm:
        worker.call("ping", (), None, None, [], False, False)
    # rlimits read /proc, which Landlock then closes.
    report["address_space_bytes"] = _core.confine_rlimits(config["host_memory_bytes"])
    if config["landlock"]:
        report["landlock"] = _core.confine_filesystem()
    _core.confine_syscalls()
    report["seccomp"] = True
    return pool, report


def main() -> None:
    config = json.loads(sys.argv[1])
    sock = socket.socket(fileno=int(sys.argv[2]))  # before the filter: this asks the kernel about it
    channel = p.Channel(sock)
    try:
        pool, report = _confine(config)
    except DynisolateError as error:
        channel.send(0, p.ERROR, [p.dynisolate_error_to_wire(error), []])
        sys.exit(1)
    channel.send(0, p.HELLO, [report])
    Server(channel, pool).serve()


if __name__ == "__main__":
    main()
