"""Per-worker resource limits."""

from __future__ import annotations

from dataclasses import dataclass, fields

from . import _core
from .exceptions import ConfigError

_MIB = 1 << 20


@dataclass(frozen=True, slots=True)
class Limits:
    """Budgets for every call of a worker. A limit that is hit raises a `LimitError` subclass and
    the isolate is discarded.

    Attributes:
        cpu_ms: Time the guest may run in one call, in milliseconds (default 1,000): the call's
            wall-clock time less the time it waits on the host (timers, env calls, outbound
            requests, service bindings), which counts against `wall_ms` only, as Cloudflare
            counts CPU time. Measured on the wall clock while the guest runs, so a busy machine
            that takes the thread away still charges the guest. Enforced to within one epoch tick
            (0.5 ms); running past it raises `CpuLimitError`.
        wall_ms: Wall-clock budget of one call, waits included, in milliseconds (default 30,000).
            A timer or an async env or outbound handler still pending at it ends the call with
            `WallTimeLimitError`; a handler that blocks synchronously is not interrupted, the
            deadline takes effect when it returns. A call made while the host serves another
            guest's env call (a service binding's) also ends by that guest's wall-clock deadline.
        memory_bytes: Linear-memory cap of one isolate (default: the loader's `max_memory_bytes`).
        fuel: Instructions' worth of fuel per call; needs `Loader(consume_fuel=True)` (default: unmetered).
        max_payload_bytes: Largest argument, result or env payload, in bytes (default 16 MiB).
        max_host_calls: Env calls one call may make (default 10,000).
        max_log_bytes: Log bytes one call may write (default 1 MiB).
        sub_requests: Outbound requests (JavaScript `fetch()`) and calls through service bindings
            one call may make (default 50, as Cloudflare's); one more ends the call with
            `SubRequestLimitError`.
    """

    cpu_ms: int = 1_000
    wall_ms: int = 30_000
    memory_bytes: int | None = None
    fuel: int | None = None
    max_payload_bytes: int = 16 * _MIB
    max_host_calls: int = 10_000
    max_log_bytes: int = _MIB
    sub_requests: int = 50

    def __post_init__(self) -> None:
        for field in fields(self):
            value = getattr(self, field.name)
            if value is None and field.default is None:
                continue  # an optional limit left unset
            if isinstance(value, bool) or not isinstance(value, int):
                raise ConfigError(f"Limits.{field.name} must be an int, got {value!r}")
        _core.check_limits(self)  # the ranges are the core's rules
