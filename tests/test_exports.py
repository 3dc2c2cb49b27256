"""The public surface: a change to it must be deliberate."""

from __future__ import annotations

import dynisolate
from dynisolate import exceptions

EXPECTED = [
    "ArgumentError",
    "CallCancelledError",
    "CallResult",
    "AsyncEntrypoint",
    "ClosedError",
    "ConfigError",
    "ConfinementError",
    "CpuLimitError",
    "DynisolateError",
    "Entrypoint",
    "ExportNotFoundError",
    "FuelExhaustedError",
    "FunctionUnavailableError",
    "GuestError",
    "GuestFunction",
    "HostCallLimitError",
    "LimitError",
    "Limits",
    "LoadError",
    "Loader",
    "LogLimitError",
    "LogRecord",
    "MemoryLimitError",
    "PayloadTooLargeError",
    "PoolExhaustedError",
    "ProcessIsolation",
    "QueueMessage",
    "QueueResult",
    "Request",
    "Response",
    "SandboxProcessDiedError",
    "RpcTarget",
    "ScheduledResult",
    "SerializationError",
    "Session",
    "StackOverflowError",
    "SubRequestLimitError",
    "TableLimitError",
    "TrapError",
    "WallTimeLimitError",
    "Worker",
    "__version__",
    "default_cache_dir",
    "default_loader",
    "exceptions",
    "load",
    "undefined",
]


def test_public_names() -> None:
    assert sorted(dynisolate.__all__) == sorted(EXPECTED)
    for name in dynisolate.__all__:
        assert hasattr(dynisolate, name), name


def test_every_public_name_is_documented() -> None:
    for name in dynisolate.__all__:
        obj = getattr(dynisolate, name)
        if name.startswith("__"):
            continue
        assert obj.__doc__, name


def test_exceptions_module_lists_every_exception() -> None:
    classes = {
        n
        for n in dir(exceptions)
        if isinstance(getattr(exceptions, n), type) and issubclass(getattr(exceptions, n), Exception)
    }
    assert classes == set(exceptions.__all__)
