"""dynisolate: run code you did not write, per tenant, in pooled wasmtime isolates.

worker = dynisolate.load({"math.wat": WAT})
worker.get_entrypoint().add(2, 3)
"""

from . import exceptions
from ._core import __version__
from ._env import RpcTarget
from ._limits import Limits
from ._loader import Loader, default_cache_dir, default_loader, load
from ._worker import AsyncEntrypoint, Entrypoint, Session, Worker
from .exceptions import (
    ArgumentError,
    CallCancelledError,
    ClosedError,
    ConfigError,
    CpuLimitError,
    DynisolateError,
    ExportNotFoundError,
    FuelExhaustedError,
    GuestError,
    HostCallLimitError,
    LimitError,
    LoadError,
    LogLimitError,
    MemoryLimitError,
    PayloadTooLargeError,
    PoolExhaustedError,
    SerializationError,
    StackOverflowError,
    TableLimitError,
    TrapError,
)

__all__ = [
    "ArgumentError",
    "CallCancelledError",
    "AsyncEntrypoint",
    "ClosedError",
    "ConfigError",
    "CpuLimitError",
    "DynisolateError",
    "Entrypoint",
    "ExportNotFoundError",
    "FuelExhaustedError",
    "GuestError",
    "HostCallLimitError",
    "LimitError",
    "Limits",
    "LoadError",
    "Loader",
    "LogLimitError",
    "MemoryLimitError",
    "PayloadTooLargeError",
    "PoolExhaustedError",
    "RpcTarget",
    "SerializationError",
    "Session",
    "StackOverflowError",
    "TableLimitError",
    "TrapError",
    "Worker",
    "__version__",
    "default_cache_dir",
    "default_loader",
    "exceptions",
    "load",
]
