"""Workers, their entrypoints and stateful sessions."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable, Iterable
from concurrent.futures import FIRST_COMPLETED, Future, wait
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Literal, Protocol

from ._core import CancelToken
from ._env import Dispatcher
from ._events import QueueResult, ScheduledResult, raise_queue, raise_scheduled
from ._http import Request, Response
from .exceptions import DynisolateError, ExportNotFoundError, SerializationError

if TYPE_CHECKING:
    from concurrent.futures import Executor


__all__ = ["AsyncEntrypoint", "CallResult", "Entrypoint", "LogRecord", "Session", "Worker"]

_Call = Callable[..., Any]


class _Isolate(Protocol):
    """A session's isolate: `_core.Session`, or one in a sandbox process."""

    @property
    def alive(self) -> bool: ...
    def call(self, *args: Any) -> Any: ...
    def close(self) -> None: ...


class _Guest(Protocol):
    """Loaded code: `_core.Worker`, or a worker in sandbox processes (`dynisolate._process`)."""

    @property
    def kind(self) -> str: ...
    @property
    def cache_outcome(self) -> str: ...
    @property
    def label(self) -> str: ...
    def call(self, *args: Any) -> Any: ...
    def session(self) -> _Isolate: ...
    def exports(self) -> list[str]: ...
    def check_export(self, name: str) -> None: ...


# The method glue.js runs as a workflow class's `run(event, step)` (its WORKFLOW_RUN), and the
# env_call prefix its step operations use (reserved in rust/js/protocol.rs).
_WORKFLOW_RUN = "#workflow"
_STEP_PREFIX = "step:"


@dataclass(frozen=True, slots=True)
class LogRecord:
    """One record the guest wrote (`console.log` and friends, or the `log` import)."""

    level: Literal["debug", "info", "warn", "error"]
    message: str


@dataclass(frozen=True, slots=True)
class CallResult:
    """A call's result with the log records it wrote (see `Entrypoint.call_logged`)."""

    value: Any
    logs: list[LogRecord]


def _records(raw: list[tuple[str, str]]) -> list[LogRecord]:
    return [LogRecord(level, message) for level, message in raw]  # type: ignore[arg-type]


def _logged(call: _Call, name: str, args: tuple[Any, ...], host: Any) -> CallResult:
    """Runs one call collecting its log records; a failure carries them as `error.logs`."""
    raw: list[tuple[str, str]] = []
    try:
        value = call(name, args, host, None, raw)
    except DynisolateError as error:
        error.logs = _records(raw)
        raise
    return CallResult(value, _records(raw))


def _fetch(
    call: _Call, name: str, request: Request, host: Any, cancel: CancelToken | None = None
) -> Response:
    if not isinstance(request, Request):
        raise TypeError(f"fetch() takes a dynisolate.Request, not {type(request).__name__}")
    return _response(call(name, (request._to_wire(),), host, cancel, None, True))


def _response(wire: Any) -> Response:
    try:
        return Response._from_wire(wire)
    except (KeyError, TypeError, ValueError) as e:
        raise SerializationError(
            f"the fetch handler's response cannot be returned to the host: {e}"
        ) from None


def _export_name(prefix: str, attr: str, worker: Worker) -> str:
    """The export `prefix + attr`; the core raises `ExportNotFoundError` if there is none."""
    name = prefix + attr
    if name not in worker._exports:
        worker._guest.check_export(name)
    return name


def _sync_method(call: _Call, name: str, dispatcher: Dispatcher | None, http: bool) -> Callable[..., Any]:
    method: Callable[..., Any]
    if http:

        def fetch(request: Request) -> Response:
            return _fetch(call, name, request, dispatcher)

        method = fetch
    elif dispatcher is None:

        def plain(*args: Any) -> Any:
            return call(name, args)

        method = plain
    else:

        def with_env(*args: Any) -> Any:
            return call(name, args, dispatcher)

        method = with_env
    method.__name__ = method.__qualname__ = name
    return method


def _early_method(
    call: _Call, name: str, dispatcher: Dispatcher | None, executor: Executor, http: bool
) -> Callable[..., Any]:
    """A method that returns once the result is ready, leaving `ctx.waitUntil` work running."""

    def method(*args: Any) -> Any:
        if not http:
            return _returning_early(lambda host: call(name, args, host), dispatcher, executor)
        (request,) = args
        if not isinstance(request, Request):
            raise TypeError(f"fetch() takes a dynisolate.Request, not {type(request).__name__}")
        wire = _returning_early(
            lambda host: call(name, (request._to_wire(),), host, None, None, True), dispatcher, executor
        )
        return _response(wire)

    method.__name__ = method.__qualname__ = name
    return method


def _async_method(
    call: _Call, name: str, dispatcher: Dispatcher | None, executor: Executor, http: bool
) -> Callable[..., Awaitable[Any]]:
    async def method(*args: Any) -> Any:
        loop = asyncio.get_running_loop()
        host = dispatcher.bound_to(loop) if dispatcher is not None else None
        token = CancelToken()
        try:
            if http:
                (request,) = args
                return await loop.run_in_executor(executor, _fetch, call, name, request, host, token)
            return await loop.run_in_executor(executor, call, name, args, host, token)
        except asyncio.CancelledError:
            token.cancel()  # the executor thread would otherwise run the guest to its deadline
            raise

    method.__name__ = method.__qualname__ = name
    return method


class _Exports:
    """What both entrypoint kinds share: export lookup, caching and `dir()`."""

    def __init__(self, call: _Call, prefix: str, worker: Worker) -> None:
        self._call = call
        self._prefix = prefix
        self._worker = worker
        self._dispatcher = worker._dispatcher
        self._methods: dict[str, Callable[..., Any]] = {}

    def _is_http(self, name: str) -> bool:
        """A JavaScript `fetch` handler takes a `Request` and returns a `Response`."""
        return self._worker._javascript and name == self._prefix + "fetch"

    def _make(self, name: str) -> Callable[..., Any]:
        raise NotImplementedError

    def _method(self, attr: str) -> Callable[..., Any]:
        method = self._methods.get(attr)
        if method is None:
            method = self._methods[attr] = self._make(_export_name(self._prefix, attr, self._worker))
        return method

    def __getattr__(self, attr: str) -> Callable[..., Any]:
        if attr.startswith("__"):
            raise AttributeError(attr)
        method = self._method(attr)
        setattr(self, attr, method)  # later look-ups skip __getattr__
        return method

    def __dir__(self) -> list[str]:
        exports = self._worker._exports
        return sorted(e[len(self._prefix) :] for e in exports if e.startswith(self._prefix))


class Entrypoint(_Exports):
    """The exports of one entrypoint, as methods: `entry.add(2, 3)`.

    Each call runs in a fresh isolate (or in the session's isolate, for a session's entrypoint)
    with the GIL released. Attribute access fails with `ExportNotFoundError` for a missing export.
    """

    def __init__(self, call: _Call, prefix: str, worker: Worker, *, return_early: bool = False) -> None:
        super().__init__(call, prefix, worker)
        self._return_early = return_early

    def _make(self, name: str) -> Callable[..., Any]:
        if self._return_early:
            return _early_method(
                self._call, name, self._dispatcher, self._worker._executor(), self._is_http(name)
            )
        return _sync_method(self._call, name, self._dispatcher, self._is_http(name))

    def call(self, name: str, *args: Any) -> Any:
        """Calls an export by name: for names that are not Python identifiers or that clash with
        this class's own attributes (such as `call`)."""
        return self._method(name)(*args)

    def call_logged(self, name: str, *args: Any) -> CallResult:
        """Calls an export by name and returns its value with the log records the call wrote
        (they also go to the `dynisolate.guest` logger). A failure's exception carries them as
        `error.logs`."""
        export = _export_name(self._prefix, name, self._worker)
        return _logged(self._call, export, args, self._dispatcher)


class AsyncEntrypoint(_Exports):
    """Like `Entrypoint`, but every method is a coroutine function: `await entry.add(2, 3)`.

    The guest runs on the loader's thread pool, so the event loop is never blocked; async env
    methods are awaited on the caller's loop; cancelling the awaiting task stops the guest.
    """

    def __init__(self, call: _Call, prefix: str, worker: Worker) -> None:
        super().__init__(call, prefix, worker)
        self._executor = worker._executor()

    def _make(self, name: str) -> Callable[..., Awaitable[Any]]:
        return _async_method(self._call, name, self._dispatcher, self._executor, self._is_http(name))

    async def call(self, name: str, *args: Any) -> Any:
        """Calls an export by name (see `Entrypoint.call`)."""
        return await self._method(name)(*args)

    async def call_logged(self, name: str, *args: Any) -> CallResult:
        """The awaitable form of `Entrypoint.call_logged`."""
        export = _export_name(self._prefix, name, self._worker)
        loop = asyncio.get_running_loop()
        host = self._dispatcher.bound_to(loop) if self._dispatcher is not None else None
        return await loop.run_in_executor(self._executor, _logged, self._call, export, args, host)


def _with_props(call: _Call, props: Any, worker: Worker) -> _Call:
    """`call` giving every call of an entrypoint `props` as its `ctx.props` (JavaScript only)."""
    if props is None:
        return call
    if not worker._javascript:
        raise TypeError("props are for JavaScript workers (ctx.props); a wasm worker has no ctx")

    def with_props(
        name: str,
        args: tuple[Any, ...],
        host: Any = None,
        cancel: CancelToken | None = None,
        logs: list[Any] | None = None,
        fetch: bool = False,
    ) -> Any:
        return call(name, (props, *args), host, cancel, logs, fetch, True)

    return with_props


def _prefix(name: str | None, exports: frozenset[str]) -> str:
    if name is None:
        return ""
    prefix = name + "."
    if not any(e.startswith(prefix) for e in exports):
        error = ExportNotFoundError(f"the worker has no entrypoint named {name!r}")
        error.export = name
        raise error
    return prefix


class Session:
    """One isolate kept alive across calls, so guest state carries over. Close it (or use `with`)
    to free its slot; a fatal error (trap, limit) ends it and later calls raise `ClosedError`."""

    def __init__(self, isolate: _Isolate, worker: Worker) -> None:
        self._isolate = isolate
        self._worker = worker

    def get_entrypoint(self, name: str | None = None, *, props: Any = None) -> Entrypoint:
        """The session's entrypoint `name` (default: the worker's default entrypoint); `props` as
        in `Worker.get_entrypoint`."""
        call = _with_props(self._isolate.call, props, self._worker)
        return Entrypoint(call, _prefix(name, self._worker._exports), self._worker)

    def get_async_entrypoint(self, name: str | None = None, *, props: Any = None) -> AsyncEntrypoint:
        """The awaitable form of `get_entrypoint`."""
        call = _with_props(self._isolate.call, props, self._worker)
        return AsyncEntrypoint(call, _prefix(name, self._worker._exports), self._worker)

    def scheduled(self, cron: str = "", scheduled_time: Any = None) -> ScheduledResult:
        """`Worker.scheduled`, in this session's isolate."""
        self._worker._javascript_only("scheduled")
        return raise_scheduled(self._isolate.call, self._worker._dispatcher, cron, scheduled_time)

    def queue(self, queue: str, messages: Iterable[Any]) -> QueueResult:
        """`Worker.queue`, in this session's isolate."""
        self._worker._javascript_only("queue")
        return raise_queue(self._isolate.call, self._worker._dispatcher, queue, messages)

    @property
    def alive(self) -> bool:
        """Whether the session can still take calls."""
        return self._isolate.alive

    def close(self) -> None:
        """Frees the isolate's slot. Idempotent."""
        self._isolate.close()

    def __enter__(self) -> Session:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


class _RunHost:
    """The dispatcher of one call (see `dynisolate._env.Dispatcher` for the protocol) that adds
    something to the worker's env: env calls, stubs and outbound requests go to the env."""

    __slots__ = ("_env", "outbound")

    def __init__(self, env: Dispatcher | None) -> None:
        self._env = env
        self.outbound = env.outbound if env is not None else None

    def __call__(self, name: str, args: list[Any]) -> Any:
        if self._env is None:
            raise TypeError(f"env.{name.partition('.')[0]} is not a function")
        return self._env(name, args)

    def call_target(self, target: Any, method: str, args: list[Any]) -> Any:
        if self._env is None:  # an RpcTarget can only come from an env call
            raise TypeError("this run has no env")
        return self._env.call_target(target, method, args)

    def fetch(self, wire: dict[str, Any]) -> dict[str, Any]:
        if self._env is None:
            raise TypeError("this worker has no outbound handler")
        return self._env.fetch(wire)


class _WorkflowHost(_RunHost):
    """The dispatcher of one workflow run: step operations to the durable engine, everything else
    to the worker's env."""

    __slots__ = ("_steps",)

    def __init__(self, steps: Callable[[str, list[Any]], Any], env: Dispatcher | None) -> None:
        super().__init__(env)
        self._steps = steps

    def __call__(self, name: str, args: list[Any]) -> Any:
        if name.startswith(_STEP_PREFIX):
            return self._steps(name[len(_STEP_PREFIX) :], args)
        return super().__call__(name, args)


class _EarlyReply(_RunHost):
    """The dispatcher of one call whose caller takes the result as soon as it is ready: the core
    calls `reply_ready` when the result is there while `ctx.waitUntil` work goes on."""

    __slots__ = ("result",)

    def __init__(self, env: Dispatcher | None) -> None:
        super().__init__(env)
        self.result: Future[Any] = Future()

    def reply_ready(self, value: Any) -> None:
        if not self.result.done():
            self.result.set_result(value)


_background_log = logging.getLogger("dynisolate.guest")


def _log_background_failure(call: Future[Any]) -> None:
    error = call.exception()
    if error is not None:
        _background_log.warning("work after the result (ctx.waitUntil) failed: %s", error, exc_info=error)


def _returning_early(run: Callable[[_EarlyReply], Any], env: Dispatcher | None, executor: Executor) -> Any:
    """Runs `run(host)` on `executor` and returns its result as soon as the guest has one: when
    the call ends, or earlier, when `ctx.waitUntil` work is still running (that work goes on, under
    the call's limits; a failure of it is logged to `dynisolate.guest`)."""
    host = _EarlyReply(env)
    call = executor.submit(run, host)
    wait([host.result, call], return_when=FIRST_COMPLETED)
    if host.result.done():
        call.add_done_callback(_log_background_failure)
        return host.result.result()
    return call.result()


class Worker:
    """Tenant code loaded with its env and limits, ready to call. Thread-safe; cheap to keep.

    Every call runs in a fresh isolate unless made through a `session()`.
    """

    def __init__(
        self,
        guest: _Guest,
        dispatcher: Dispatcher | None,
        executor: Callable[[], Executor],
        global_outbound: Callable[..., Any] | None,
    ) -> None:
        self._guest = guest
        self._dispatcher = dispatcher
        self._executor = executor
        self._exports = frozenset(guest.exports())
        self._javascript = guest.kind == "javascript"
        self.global_outbound = global_outbound

    def get_entrypoint(
        self, name: str | None = None, *, props: Any = None, return_early: bool = False
    ) -> Entrypoint:
        """The default entrypoint, or the named one (exports named `NAME.method`). `props`, for a
        JavaScript worker, is what its calls see as `ctx.props` (as Cloudflare's
        `getEntrypoint(name, {props})`): per-tenant data the platform binds to the entrypoint,
        such as an account id, which the tenant's code cannot change for the next call.

        With `return_early`, a call returns as soon as its result is ready, as Cloudflare sends a
        response first: work given to `ctx.waitUntil` goes on in the background (on the loader's
        threads, under the call's limits; a failure of it is logged to `dynisolate.guest`).
        Without it, the call returns when that work is done too."""
        call = _with_props(self._guest.call, props, self)
        return Entrypoint(call, _prefix(name, self._exports), self, return_early=return_early)

    def get_async_entrypoint(self, name: str | None = None, *, props: Any = None) -> AsyncEntrypoint:
        """The awaitable form of `get_entrypoint`: methods are coroutine functions."""
        return AsyncEntrypoint(_with_props(self._guest.call, props, self), _prefix(name, self._exports), self)

    def fetch(self, request: Request) -> Response:
        """Sends `request` to the default export's `fetch(request, env, ctx)` handler (JavaScript
        workers) and returns its `Response`."""
        return self.get_entrypoint().fetch(request)  # type: ignore[no-any-return]

    async def fetch_async(self, request: Request) -> Response:
        """The awaitable form of `fetch`."""
        return await self.get_async_entrypoint().fetch(request)  # type: ignore[no-any-return]

    def scheduled(self, cron: str = "", scheduled_time: Any = None) -> ScheduledResult:
        """Raises Cloudflare's cron event: the default export's `scheduled(controller, env, ctx)`
        (or a service worker's "scheduled" listeners) gets `controller.cron` and
        `controller.scheduledTime` (ms since the epoch; `scheduled_time` is an aware datetime or
        ms, default now). A handler that throws raises `GuestError`."""
        self._javascript_only("scheduled")
        return raise_scheduled(self._guest.call, self._dispatcher, cron, scheduled_time)

    def queue(self, queue: str, messages: Iterable[Any]) -> QueueResult:
        """Delivers one batch to the default export's `queue(batch, env, ctx)`: `messages` are
        `QueueMessage`s or bodies (given fresh ids); the result says which were acked and which
        retried."""
        self._javascript_only("queue")
        return raise_queue(self._guest.call, self._dispatcher, queue, messages)

    def _javascript_only(self, what: str) -> None:
        if not self._javascript:
            raise TypeError(f"{what}() is for JavaScript workers")

    def session(self) -> Session:
        """Boots one isolate that keeps its state across calls (waits for a free slot)."""
        return Session(self._guest.session(), self)

    @property
    def exports(self) -> list[str]:
        """The callable export names, sorted."""
        return sorted(self._exports)

    def _run_workflow(
        self, entrypoint: str, event: dict[str, Any], steps: Callable[[str, list[Any]], Any]
    ) -> Any:
        """The durable engine's seam (`dynisolate.workflows`): runs `run(event, step)` of the
        JavaScript workflow class `entrypoint` once, in a fresh isolate. The guest's step
        operations reach `steps(op, args)`; its other env calls reach this worker's env."""
        host = _WorkflowHost(steps, self._dispatcher)
        return self._guest.call(f"{entrypoint}.{_WORKFLOW_RUN}", (event,), host)

    @property
    def cache_outcome(self) -> str:
        """Where the compiled code came from: `"compiled"`, `"memory"` or `"disk"` (for JavaScript,
        the bundle's QuickJS bytecode)."""
        return self._guest.cache_outcome

    def __repr__(self) -> str:
        return f"<dynisolate.Worker {self._guest.label!r}>"
