"""The exceptions dynisolate raises: one root, subclasses named by cause.

Every class carries structured fields (set as attributes) and pickles, so an error can cross a
process boundary with its details intact.
"""

from __future__ import annotations

from typing import Any

__all__ = [
    "ArgumentError",
    "CallCancelledError",
    "ClosedError",
    "ConfigError",
    "ConfinementError",
    "CpuLimitError",
    "DatabaseUnavailableError",
    "DynisolateError",
    "EventBufferFullError",
    "ExportNotFoundError",
    "FuelExhaustedError",
    "FunctionUnavailableError",
    "GuestError",
    "IncompatibleDatabaseError",
    "HostCallLimitError",
    "InstanceExistsError",
    "InstanceNotFoundError",
    "InstanceStateError",
    "LimitError",
    "LoadError",
    "LogLimitError",
    "MemoryLimitError",
    "NestedStepError",
    "NonDeterminismError",
    "NonRetryableError",
    "PayloadTooLargeError",
    "PendingStepLimitError",
    "PoolExhaustedError",
    "SandboxProcessDiedError",
    "SerializationError",
    "StackOverflowError",
    "StepLimitError",
    "StepStalledError",
    "SubRequestLimitError",
    "TableLimitError",
    "TrapError",
    "WallTimeLimitError",
    "WorkflowError",
    "WorkflowTimeoutError",
]


class DynisolateError(Exception):
    """Root of every error raised by dynisolate. `message` is the human-readable text; `logs`
    holds the guest's log records up to the failure when the call was made with `call_logged`."""

    message: str
    logs: list[Any]

    def __init__(self, message: str = "") -> None:
        super().__init__(message)
        self.message = message
        self.logs = []

    def __reduce__(self) -> tuple[object, ...]:
        return (type(self), (self.message,), dict(self.__dict__))


class ConfigError(DynisolateError, ValueError):
    """A `Loader` or `Limits` setting is out of range."""


class LoadError(DynisolateError, ValueError):
    """Code could not be loaded: bad module bytes or text, a forbidden import, a bad module map."""


class ExportNotFoundError(DynisolateError, AttributeError):
    """The entrypoint has no export of that name. `export` is the name asked for."""

    export: str


class ArgumentError(DynisolateError, TypeError):
    """The arguments do not fit the export (count or type)."""


class SerializationError(DynisolateError, TypeError):
    """A value could not cross the boundary: not plain data, not valid JSON, not valid Unicode."""


class GuestError(DynisolateError):
    """The guest failed. `name` and `guest_message` are the guest's own; `stack` its stack text."""

    name: str
    guest_message: str
    stack: str


class TrapError(GuestError):
    """The guest trapped. `trap_code` names the trap (`"unreachable"`, `"memory_out_of_bounds"`, ...)."""

    trap_code: str


class LimitError(DynisolateError):
    """A resource limit was hit; the isolate was discarded."""


class CpuLimitError(LimitError, TimeoutError):
    """The guest ran for longer than `Limits.cpu_ms` in one call, time spent waiting on the host
    aside (`cpu_ms` holds the limit)."""

    cpu_ms: int


class WallTimeLimitError(LimitError, TimeoutError):
    """The call, waits on timers, env calls and outbound requests included, ran past its
    wall-clock budget: `Limits.wall_ms`, or what was left of the wall-clock budget of the guest
    whose env call was being served when it was made. `wall_ms` holds that budget."""

    wall_ms: int


class MemoryLimitError(LimitError):
    """The guest needed more memory than `Limits.memory_bytes` (`memory_bytes` holds the cap)."""

    memory_bytes: int


class TableLimitError(LimitError):
    """A table would have grown past `Loader(max_table_elements=...)` (`elements` holds the cap)."""

    elements: int


class FuelExhaustedError(LimitError):
    """The call used its whole `Limits.fuel` budget."""

    fuel: int


class StackOverflowError(LimitError):
    """The guest exhausted its call stack (`Loader(max_stack_bytes=...)`)."""


class PayloadTooLargeError(LimitError):
    """An argument, result or env payload exceeded `Limits.max_payload_bytes`."""

    bytes: int
    limit: int


class HostCallLimitError(LimitError):
    """The call made more env calls than `Limits.max_host_calls`."""

    limit: int


class LogLimitError(LimitError):
    """The call wrote more than `Limits.max_log_bytes` of logs."""

    limit: int


class SubRequestLimitError(LimitError):
    """The call made more outbound requests (`fetch()`) and service-binding calls than
    `Limits.sub_requests` allows."""

    limit: int


class PoolExhaustedError(DynisolateError, TimeoutError):
    """Every isolate slot stayed busy for the loader's `acquire_timeout_ms`."""

    max_isolates: int
    waited_ms: int


class CallCancelledError(DynisolateError):
    """The caller cancelled the call (an awaiting task was cancelled); the guest was stopped."""


class FunctionUnavailableError(DynisolateError, RuntimeError):
    """A `GuestFunction` was called when it cannot run: the env call that passed it has returned
    (or the call comes from another thread), or it or a later env call is running."""


class ClosedError(DynisolateError):
    """The session was closed, or ended by an earlier fatal error."""


class ConfinementError(DynisolateError):
    """A sandbox process could not be confined as its `ProcessIsolation` asks (the kernel refused
    a step it was told to require); no tenant code ran in it."""


class SandboxProcessDiedError(DynisolateError):
    """The sandbox process serving the call died: killed (`signal`, 9 for SIGKILL, 31 for a
    syscall its filter forbids), out of memory (its address-space cap), or it broke the protocol
    and was killed. Every call it held fails with this; the next call starts a replacement.
    `cordon` names its cordon, `exit_code` and `signal` say how it ended (one of them is None)."""

    cordon: str
    exit_code: int | None
    signal: int | None


class WorkflowError(DynisolateError):
    """Root of the durable-workflow errors (`dynisolate.workflows`)."""


class InstanceNotFoundError(WorkflowError, LookupError):
    """No workflow instance has that id (`id`)."""

    id: str


class InstanceExistsError(WorkflowError, ValueError):
    """An instance with that id (`id`) already exists; `restart` re-runs it."""

    id: str


class InstanceStateError(WorkflowError):
    """The instance's status (`status`) does not allow the operation, such as terminating a
    complete instance."""

    status: str


class NonDeterminismError(WorkflowError):
    """A replay's steps diverged from the instance's history; `step` names the first recorded step
    the new run did not reproduce."""

    step: str


class StepLimitError(WorkflowError):
    """The instance ran more `step.do` calls than the engine's `max_steps`."""

    limit: int


class PendingStepLimitError(WorkflowError):
    """A run had more step calls pending at once (`step.do` callbacks running, and sleeps, event
    waits and retry delays not yet due) than the engine's `max_pending_steps` (`limit`)."""

    limit: int


class StepStalledError(WorkflowError):
    """A step attempt awaited something that can never settle: no job, timer or I/O of the run
    could move it on. The attempt fails at once and retries as configured."""


class NestedStepError(WorkflowError):
    """`sleep`, `sleep_until` or `wait_for_event` was called inside a `step.do` callback, where it
    could never end (a run suspends only between steps). Fails the step without retries."""


class EventBufferFullError(WorkflowError):
    """An instance already holds as many unconsumed events, or as many bytes of them, as the
    engine allows (`max_buffered_events`, `max_buffered_event_bytes`); nothing was sent. `id`,
    `buffered_events` and `buffered_bytes` say what it holds, `max_events` and `max_bytes` the
    caps."""

    id: str
    buffered_events: int
    buffered_bytes: int
    max_events: int
    max_bytes: int


class IncompatibleDatabaseError(WorkflowError, ValueError):
    """The workflow database cannot be opened by this release: it belongs to another application,
    or a newer release wrote it. `found_version` is its schema version, `supported_version` the
    newest this release reads. Nothing in it was changed."""

    found_version: int
    supported_version: int


class DatabaseUnavailableError(WorkflowError, ConnectionError):
    """The workflow database could not be reached, or the connection to it was lost: a PostgreSQL
    server that is down, unreachable or refusing the connection. Nothing was written by the call
    that raised it, unless a commit was under way when the connection broke (the engine's own
    writes are fenced and replayed, so that is safe for them)."""


class WorkflowTimeoutError(WorkflowError, TimeoutError):
    """A step attempt ran past its `timeout`, or `wait_for_event` past its own."""


class NonRetryableError(WorkflowError):
    """Raised inside a step, fails it at once instead of retrying (Cloudflare's `NonRetryableError`)."""
