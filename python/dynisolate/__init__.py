"""dynisolate: run code you did not write, per tenant, in pooled wasmtime isolates.

worker = dynisolate.load({"math.wat": WAT})
worker.get_entrypoint().add(2, 3)
"""

from . import exceptions
from ._core import GuestFunction, __version__
from ._env import RpcTarget
from ._events import QueueMessage, QueueResult, ScheduledResult
from ._http import Request, Response
from ._limits import Limits
from ._loader import Loader, default_cache_dir, default_loader, load
from ._process import ProcessIsolation
from ._values import undefined
from ._worker import AsyncEntrypoint, CallResult, Entrypoint, LogRecord, Session, Worker
from .exceptions import (
    ArgumentError,
    CallCancelledError,
    ClosedError,
    ConfigError,
    ConfinementError,
    CpuLimitError,
    DynisolateError,
    ExportNotFoundError,
    FuelExhaustedError,
    FunctionUnavailableError,
    GuestError,
    HostCallLimitError,
    LimitError,
    LoadError,
    LogLimitError,
    MemoryLimitError,
    PayloadTooLargeError,
    PoolExhaustedError,
    SandboxProcessDiedError,
    SerializationError,
    StackOverflowError,
    SubRequestLimitError,
    TableLimitError,
    TrapError,
    WallTimeLimitError,
)

__all__ = [
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
    "RpcTarget",
    "SandboxProcessDiedError",
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
