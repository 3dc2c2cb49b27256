"""The parent's side of sandbox processes: starting and confining them, one reader thread each,
conversations, death, and the cordons that group them."""

from __future__ import annotations

import itertools
import json
import logging
import os
import queue
import signal
import socket
import subprocess
import sys
import threading
from collections import OrderedDict
from typing import IO, Any

from .. import _logs
from ..exceptions import (
    ClosedError,
    ConfinementError,
    DynisolateError,
    PoolExhaustedError,
    SandboxProcessDiedError,
)
from . import _protocol as p
from ._config import ProcessIsolation

# What a conversation's queue receives when its process dies (never a kind on the wire).
DIED = -1


class SandboxProcess:
    """One confined child process and the conversations in flight with it. A reader thread hands
    each frame to its conversation's queue, and notices at once when the process dies."""

    def __init__(self, cordon: str, settings: ProcessIsolation, pool_config: dict[str, Any]) -> None:
        self.cordon = cordon
        self.in_flight = 0  # calls using it, counted by `Cordons` under its lock
        self.sessions = 0  # sessions open in it: eviction leaves it alone while any is
        self.died: SandboxProcessDiedError | None = None
        self._conversations: dict[int, queue.SimpleQueue[tuple[int, Any]]] = {}
        self._ids = itertools.count(1)
        self._lock = threading.Lock()
        ours, theirs = socket.socketpair(socket.AF_UNIX, socket.SOCK_STREAM)
        config = {
            "pool": pool_config,
            "namespaces": settings.namespaces,
            "landlock": settings.landlock,
            "host_memory_bytes": settings.host_memory_bytes,
        }
        # A clean environment: the parent's (secrets, tokens) is none of the child's business.
        env = {"PYTHONPATH": os.pathsep.join(path for path in sys.path if path), "LC_ALL": "C.UTF-8"}
        with theirs:
            self._popen = subprocess.Popen(
                [
                    sys.executable,
                    "-m",
                    "dynisolate._process._child",
                    json.dumps(config),
                    str(theirs.fileno()),
                ],
                pass_fds=[theirs.fileno()],
                stdin=subprocess.DEVNULL,
                stdout=subprocess.DEVNULL,
                stderr=subprocess.PIPE,
                env=env,
            )
        self.pid = self._popen.pid
        assert self._popen.stderr is not None
        relay = threading.Thread(
            target=_relay_stderr, args=(self._popen.stderr, self.pid, cordon), daemon=True
        )
        relay.start()
        self._channel = p.Channel(ours)
        self.report = self._handshake(settings)
        threading.Thread(target=self._read, name=f"dynisolate-sandbox-{self.pid}", daemon=True).start()

    def _handshake(self, settings: ProcessIsolation) -> dict[str, Any]:
        sock = self._channel.sock
        sock.settimeout(settings.start_timeout_ms / 1000)
        try:
            _, kind, payload = self._channel.receive()
        except (OSError, p.ProtocolError, DynisolateError) as error:
            self._stop()
            raise ConfinementError(
                f"the sandbox process for cordon {self.cordon!r} did not start: {error} "
                f"({_how(self._popen.returncode)})"
            ) from None
        sock.settimeout(None)
        if kind == p.ERROR:
            self._stop()
            raise p.dynisolate_error_from_wire(payload[0])
        report = payload[0] if kind == p.HELLO and payload and isinstance(payload[0], dict) else None
        if report is None:
            self._stop()
            raise ConfinementError("the sandbox process did not start as expected")
        if settings.require_namespaces and not report.get("namespaces"):
            self._stop()
            raise ConfinementError(
                "the kernel refused new namespaces for the sandbox process (require_namespaces)"
            )
        return report

    # ---- conversations ----

    def open(self) -> tuple[int, queue.SimpleQueue[tuple[int, Any]]]:
        replies: queue.SimpleQueue[tuple[int, Any]] = queue.SimpleQueue()
        with self._lock:
            if self.died is not None:
                raise self.died_error()
            id = next(self._ids)
            self._conversations[id] = replies
        return id, replies

    def close(self, id: int) -> None:
        with self._lock:
            self._conversations.pop(id, None)

    def send(self, id: int, kind: int, payload: list[Any]) -> None:
        try:
            self._channel.send(id, kind, payload)
        except OSError as error:
            self.kill(f"its socket failed: {error}")
            raise self.died_error() from None

    def _read(self) -> None:
        while True:
            try:
                id, kind, payload = self._channel.receive()
            except (OSError, p.ProtocolError, DynisolateError) as error:
                reason = (
                    "it stopped"
                    if isinstance(error, p.ProtocolError)
                    else f"it sent a malformed frame: {error}"
                )
                self.kill(reason)
                return
            with self._lock:
                replies = self._conversations.get(id)
            if replies is not None:
                replies.put((kind, payload))

    # ---- death ----

    def kill(self, reason: str) -> None:
        """Stops the process (if it still runs) and fails every conversation with it."""
        with self._lock:
            if self.died is not None:
                return
            self._stop()
            code = self._popen.returncode
            died = SandboxProcessDiedError(
                f"the sandbox process {self.pid} of cordon {self.cordon!r} died ({_how(code)}): {reason}"
            )
            died.cordon = self.cordon
            died.exit_code = code if code is not None and code >= 0 else None
            died.signal = -code if code is not None and code < 0 else None
            self.died = died
            waiting = list(self._conversations.values())
        for replies in waiting:
            replies.put((DIED, None))

    def died_error(self) -> SandboxProcessDiedError:
        """A fresh `SandboxProcessDiedError` for one more call the death fails (each caller
        raises its own, so tracebacks do not pile onto one object)."""
        assert self.died is not None
        error = SandboxProcessDiedError(self.died.message)
        error.cordon, error.exit_code, error.signal = self.cordon, self.died.exit_code, self.died.signal
        return error

    def _stop(self) -> None:
        if self._popen.poll() is None:
            # A process that exits on its own (its socket closed, or killed by the kernel) is
            # reaped as it is; one still running is killed.
            try:
                self._popen.wait(timeout=0.05)
            except subprocess.TimeoutExpired:
                self._popen.kill()
                self._popen.wait()
        self._channel.sock.close()


# A process's stderr (a crash's traceback, or anything code that escaped wasmtime writes) reaches
# this logger a line at a time, escaped like tenant log text, at most this many lines per process.
_stderr_log = logging.getLogger("dynisolate.sandbox")
_MAX_STDERR_LINES = 1_000
_MAX_STDERR_LINE_BYTES = 16 << 10


def _relay_stderr(stream: IO[bytes], pid: int, cordon: str) -> None:
    """Logs what process `pid` writes to stderr, and keeps reading past the cap so it never
    blocks on a full pipe."""
    fields = {"dynisolate_sandbox_pid": pid, "dynisolate_cordon": cordon}
    with stream:
        for count, line in enumerate(iter(lambda: stream.readline(_MAX_STDERR_LINE_BYTES), b"")):
            if count < _MAX_STDERR_LINES:
                text = _logs.render(line.decode("utf-8", "replace").rstrip("\n"))
                _stderr_log.warning("sandbox process %d: %s", pid, text, extra=fields)
            elif count == _MAX_STDERR_LINES:
                _stderr_log.warning("sandbox process %d: further stderr output is dropped", pid, extra=fields)


def _how(code: int | None) -> str:
    if code is None:
        return "still running"
    if code < 0:
        try:
            return f"signal {signal.Signals(-code).name}"
        except ValueError:
            return f"signal {-code}"
    return f"exit status {code}"


class _Cordon:
    __slots__ = ("processes", "starting")

    def __init__(self) -> None:
        self.processes: list[SandboxProcess] = []
        self.starting = 0


class Cordons:
    """The sandbox processes of one loader, by cordon."""

    def __init__(self, settings: ProcessIsolation, pool_config: dict[str, Any]) -> None:
        self.settings = settings
        self._pool_config = pool_config
        self._cordons: OrderedDict[str, _Cordon] = OrderedDict()
        self._changed = threading.Condition()
        self._closed = False

    def acquire(self, cordon: str) -> SandboxProcess:
        """A process of `cordon` for one call (an idle one, else a new one while the cordon has
        fewer than `processes_per_cordon`, else the least busy); `release` it after."""
        with self._changed:
            while True:
                if self._closed:
                    raise ClosedError("the loader is closed: its sandbox processes are stopped")
                entry = self._cordons.get(cordon)
                if entry is None:
                    entry = self._cordons[cordon] = _Cordon()
                self._cordons.move_to_end(cordon)
                entry.processes = [proc for proc in entry.processes if proc.died is None]
                live = entry.processes
                idle = [proc for proc in live if proc.in_flight == 0]
                if idle or (live and len(live) + entry.starting >= self.settings.processes_per_cordon):
                    chosen = idle[0] if idle else min(live, key=lambda proc: proc.in_flight)
                    chosen.in_flight += 1
                    return chosen
                if entry.starting and not live:
                    self._changed.wait()
                    continue
                self._make_room(cordon)
                entry.starting += 1
                break
        try:
            started = SandboxProcess(cordon, self.settings, self._pool_config)
        finally:
            with self._changed:
                entry.starting -= 1
                self._changed.notify_all()
        with self._changed:
            if not self._closed:
                entry.processes.append(started)
                started.in_flight += 1
                return started
        started.kill("its loader was closed")
        raise ClosedError("the loader is closed: its sandbox processes are stopped")

    def release(self, proc: SandboxProcess) -> None:
        with self._changed:
            proc.in_flight -= 1

    def _make_room(self, cordon: str) -> None:
        """Stops the least recently used idle cordons until one more process fits."""
        while True:
            alive = sum(len(e.processes) + e.starting for e in self._cordons.values())
            if alive < self.settings.max_processes:
                return
            victim = next(
                (
                    name
                    for name, entry in self._cordons.items()
                    if name != cordon
                    and not entry.starting
                    and all(proc.in_flight == 0 and proc.sessions == 0 for proc in entry.processes)
                ),
                None,
            )
            if victim is None:
                raise PoolExhaustedError(
                    f"all {self.settings.max_processes} sandbox processes are busy with other cordons' calls "
                    "or sessions; raise ProcessIsolation.max_processes"
                )
            for proc in self._cordons.pop(victim).processes:
                proc.kill("its cordon was evicted to make room")

    def processes(self) -> list[dict[str, Any]]:
        with self._changed:
            return [
                {"cordon": name, "pid": proc.pid, "calls_in_flight": proc.in_flight, **proc.report}
                for name, entry in self._cordons.items()
                for proc in entry.processes
                if proc.died is None
            ]

    def count(self) -> int:
        with self._changed:
            return sum(1 for e in self._cordons.values() for proc in e.processes if proc.died is None)

    def close(self) -> None:
        with self._changed:
            self._closed = True
            everything = [proc for entry in self._cordons.values() for proc in entry.processes]
            self._cordons.clear()
        for proc in everything:
            proc.kill("its loader was closed")
