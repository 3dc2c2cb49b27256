"""`env`: what a guest may reach on the host, and nothing more.

Plain data (None, bool, int, float, str, list, tuple, dict) is copied into the isolate. A
function becomes a callable binding. An `RpcTarget` exposes the public methods its own
subclasses define; nothing inherited from other classes, no attributes, no dunders, no
`_private` names. A `Worker` or an `Entrypoint` is a service binding: its exports (`fetch` with
a `Request`, RPC methods with values) are the binding's methods, each call a sub-request of the
caller's, run under the bound worker's own limits. Any other object is refused at load time.
"""

from __future__ import annotations

import asyncio
import functools
import inspect
import re
import types
from collections.abc import Callable, Mapping
from typing import Any
from urllib.parse import urlsplit

from ._http import Request, Response
from .exceptions import LoadError

__all__ = ["RpcTarget"]

# Headers about the connection or a proxy, not the request: never handed to an outbound handler
# (nor is any header the request's `Connection` header names).
_CONNECTION_HEADERS = frozenset(
    {
        "host",
        "content-length",
        "connection",
        "keep-alive",
        "proxy-connection",
        "proxy-authorization",
        "transfer-encoding",
        "te",
        "trailer",
        "upgrade",
    }
)
# The most headers, and header bytes (names and values), a guest's request may carry: Cloudflare
# refuses request headers beyond 128 KiB in all; the count is our own bound on a request's size.
MAX_OUTBOUND_HEADERS = 256
MAX_OUTBOUND_HEADER_BYTES = 128 * 1024
_BINDING_NAME = re.compile(r"[A-Za-z_$][A-Za-z0-9_$]{0,127}")
_PLAIN_FUNCTIONS = (types.FunctionType, types.BuiltinFunctionType, types.MethodType, functools.partial)
# The env_call prefix of service bindings (rust/sandbox/host.rs, SERVICE_PREFIX).
_SERVICE_PREFIX = "service:"
# Results that cannot be awaitable: checked first, since `inspect.isawaitable` costs an env call
# a tenth of its round trip.
_NEVER_AWAITABLE = frozenset({type(None), bool, int, float, str, list, dict, tuple})


class RpcTarget:
    """Base class for host objects that tenant code may call through `env`.

    Only the public methods defined by subclasses of `RpcTarget` are reachable, looked up by exact
    name against that list before any attribute access. Subclass it and put an instance in `env`::

        class Room(dynisolate.RpcTarget):
            def post(self, text: str) -> int: ...
    """


def exposed_methods(target: RpcTarget) -> frozenset[str]:
    """The method names a guest may call on `target`."""
    names: set[str] = set()
    for klass in type(target).__mro__:
        if klass is RpcTarget or not issubclass(klass, RpcTarget):
            continue
        for name, attr in vars(klass).items():
            if name.startswith("_"):
                continue
            if isinstance(attr, (types.FunctionType, staticmethod, classmethod)):
                names.add(name)
    return frozenset(names)


def bound_method(target: RpcTarget, name: str) -> Callable[..., Any]:
    """Method `name` of `target` as the allow-list found it: from the first `RpcTarget` subclass
    in its MRO that defines it, bound to `target`; never an instance attribute, nor a same-named
    attribute of another class earlier in the MRO."""
    for klass in type(target).__mro__:
        if klass is RpcTarget or not issubclass(klass, RpcTarget):
            continue
        attr = vars(klass).get(name)
        if isinstance(attr, (types.FunctionType, staticmethod, classmethod)):
            return attr.__get__(target, type(target))
    raise TypeError(f"the RpcTarget's {name} is not a function")


def exposed_properties(target: RpcTarget) -> list[str]:
    """The public properties (`@property`) that subclasses of `RpcTarget` define: a stub of
    `target` carries their values, read once when the stub is sent (as Workers RPC exposes a
    target's accessors; reading them there is a round trip, here it is free)."""
    names: list[str] = []
    for klass in type(target).__mro__:
        if klass is RpcTarget or not issubclass(klass, RpcTarget):
            continue
        for name, attr in vars(klass).items():
            if not name.startswith("_") and isinstance(attr, property) and name not in names:
                names.append(name)
    return sorted(names)


def _is_data(value: object, depth: int = 0) -> bool:
    if value is None or isinstance(value, (bool, int, float, str)):
        return True
    if depth > 128:
        return False
    if isinstance(value, (list, tuple)):
        return all(_is_data(v, depth + 1) for v in value)
    if isinstance(value, dict):
        return all(isinstance(k, str) and _is_data(v, depth + 1) for k, v in value.items())
    return False


class Dispatcher:
    """Routes a guest's env calls (`"NAME"` or `"NAME.method"`) and outbound requests to the host.

    Awaitable results are awaited: on the caller's event loop for async calls, else on a private
    loop, for at most `timeout_s` (the worker's `wall_ms`): a call never outlives its wall-clock
    deadline waiting on a handler that does not finish. (A handler that blocks synchronously
    cannot be interrupted.)
    """

    __slots__ = ("_functions", "_targets", "_services", "_routes", "_loop", "outbound", "timeout_s")

    def __init__(
        self,
        functions: dict[str, Callable[..., Any]],
        targets: dict[str, tuple[RpcTarget, frozenset[str]]],
        outbound: Callable[[Request], Any] | None = None,
        loop: asyncio.AbstractEventLoop | None = None,
        timeout_s: float | None = None,
        services: dict[str, tuple[Any, frozenset[str]]] | None = None,
    ) -> None:
        self._functions = functions
        self._targets = targets
        self._services = services or {}
        # Every name a guest may call, resolved once: a call is one dictionary lookup.
        self._routes: dict[str, Callable[..., Any]] = dict(functions)
        for binding, (target, methods) in targets.items():
            self._routes.update((f"{binding}.{method}", bound_method(target, method)) for method in methods)
        for binding, (entrypoint, methods) in self._services.items():
            prefix = f"{_SERVICE_PREFIX}{binding}."
            # By export name, never attribute lookup: an export named `call` is that export.
            self._routes.update((prefix + method, entrypoint._method(method)) for method in methods)
        self.outbound = outbound
        self._loop = loop
        self.timeout_s = timeout_s

    def stubs(self) -> list[tuple[str, list[str] | None]]:
        """What a JavaScript guest's env gets: `None` for a function, the method names of a target
        or a service (named `service:NAME`, which the core makes a service binding `NAME`)."""
        stubs: list[tuple[str, list[str] | None]] = [(name, None) for name in self._functions]
        stubs += [(name, sorted(methods)) for name, (_, methods) in self._targets.items()]
        stubs += [(_SERVICE_PREFIX + name, sorted(methods)) for name, (_, methods) in self._services.items()]
        return stubs

    def bound_to(self, loop: asyncio.AbstractEventLoop) -> Dispatcher:
        """A dispatcher that awaits async env methods on `loop`."""
        return Dispatcher(self._functions, self._targets, self.outbound, loop, self.timeout_s, self._services)

    def __call__(self, name: str, args: list[Any]) -> Any:
        function = self._routes.get(name)
        if function is None:
            raise TypeError(f"env.{name.removeprefix(_SERVICE_PREFIX)} is not a function")
        result = function(*args)
        if type(result) not in _NEVER_AWAITABLE and inspect.isawaitable(result):
            result = self._wait(result)
        return result

    def call_target(self, target: RpcTarget, method: str, args: list[Any]) -> Any:
        """Calls `method` of an `RpcTarget` an env call returned (the core checked `method`
        against `exposed_methods(target)` and keeps the target only for the call)."""
        result = bound_method(target, method)(*args)
        if type(result) not in _NEVER_AWAITABLE and inspect.isawaitable(result):
            result = self._wait(result)
        return result

    def fetch(self, wire: dict[str, Any]) -> dict[str, Any]:
        """Serves one outbound request of the guest through the worker's `global_outbound`.

        The handler only ever sees absolute http(s) URLs without credentials, and no header that
        describes the connection rather than the request (`Host`, `Content-Length`, hop-by-hop
        headers, `Proxy-Authorization`, and any header the request's `Connection` names), and at
        most MAX_OUTBOUND_HEADERS headers of MAX_OUTBOUND_HEADER_BYTES in all: a handler that
        forwards requests as they come cannot be steered by them."""
        if self.outbound is None:
            raise TypeError("this worker has no outbound handler")
        _check_header_size(wire["headers"])
        request = Request._from_wire(wire)
        url = urlsplit(request.url)
        if url.scheme not in ("http", "https") or not url.hostname:
            raise TypeError(f"fetch() only reaches http: and https: URLs, not {request.url!r}")
        if url.username is not None or url.password is not None:
            raise TypeError("fetch() URLs may not carry credentials; put them in a header")
        named = {token.strip().lower() for token in request.headers.get("connection", "").split(",")}
        for name in _CONNECTION_HEADERS.union(named).intersection(request.headers):
            del request.headers[name]
        response = self.outbound(request)
        if inspect.isawaitable(response):
            response = self._wait(response)
        if not isinstance(response, Response):
            raise TypeError(
                f"the outbound handler returned {type(response).__name__}, not a dynisolate.Response"
            )
        return response._to_wire()

    def _wait(self, awaitable: Any) -> Any:
        async def run() -> Any:
            return await asyncio.wait_for(awaitable, self.timeout_s)

        try:
            if self._loop is not None:
                return asyncio.run_coroutine_threadsafe(run(), self._loop).result()
            return asyncio.run(run())
        except TimeoutError:
            # The guest sees a TimeoutError; the call's own wall-clock deadline has passed by now too.
            raise TimeoutError(f"the host handler did not finish within {self.timeout_s:g} s") from None


def _check_header_size(pairs: list[list[str]]) -> None:
    """Refuses a guest's request whose headers pass MAX_OUTBOUND_HEADERS or
    MAX_OUTBOUND_HEADER_BYTES, before any of them is looked at."""
    if len(pairs) > MAX_OUTBOUND_HEADERS:
        raise TypeError(
            f"fetch() request has {len(pairs)} headers; at most {MAX_OUTBOUND_HEADERS} are allowed"
        )
    size = sum(len(name) + len(value) for name, value in pairs)
    if size > MAX_OUTBOUND_HEADER_BYTES:
        raise TypeError(
            f"fetch() request headers take {size} bytes; at most {MAX_OUTBOUND_HEADER_BYTES} are allowed"
        )


def split_env(
    env: Mapping[str, Any] | None,
    outbound: Callable[[Request], Any] | None = None,
    timeout_s: float | None = None,
) -> tuple[dict[str, Any], Dispatcher | None]:
    """Separates `env` into data to copy in and a dispatcher for the callable bindings and the
    outbound handler, which awaits async handlers for at most `timeout_s`."""
    if env is None:
        return {}, Dispatcher({}, {}, outbound, timeout_s=timeout_s) if outbound is not None else None
    if not isinstance(env, Mapping):
        raise LoadError(f"env must be a mapping of names to values, not {type(env).__name__}")
    from ._worker import AsyncEntrypoint, Entrypoint, Worker  # they build on this module

    data: dict[str, Any] = {}
    functions: dict[str, Callable[..., Any]] = {}
    targets: dict[str, tuple[RpcTarget, frozenset[str]]] = {}
    services: dict[str, tuple[Any, frozenset[str]]] = {}
    for name, value in env.items():
        if not isinstance(name, str) or not _BINDING_NAME.fullmatch(name):
            raise LoadError(f"env binding name {name!r} must be an identifier of at most 128 characters")
        if isinstance(value, RpcTarget):
            targets[name] = (value, exposed_methods(value))
        elif isinstance(value, (Worker, Entrypoint)):
            entrypoint = value.get_entrypoint() if isinstance(value, Worker) else value
            methods = frozenset(m for m in dir(entrypoint) if "." not in m)
            services[name] = (entrypoint, methods)
        elif isinstance(value, AsyncEntrypoint):
            raise LoadError(
                f"env[{name!r}] is an AsyncEntrypoint: bind the Worker or its get_entrypoint() "
                "(a service call runs on the calling guest's thread)"
            )
        elif isinstance(value, _PLAIN_FUNCTIONS):
            functions[name] = value
        elif _is_data(value):
            data[name] = value
        else:
            raise LoadError(
                f"env[{name!r}] is a {type(value).__name__}: pass plain data, a function, "
                "an instance of a dynisolate.RpcTarget subclass, or a Worker or Entrypoint (a service)"
            )
    has_host_side = functions or targets or services or outbound
    dispatcher = (
        Dispatcher(functions, targets, outbound, timeout_s=timeout_s, services=services)
        if has_host_side
        else None
    )
    return data, dispatcher
