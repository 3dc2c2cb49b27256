"""The native core (private): pooled wasmtime isolates. Use the `dynisolate` package instead."""

from collections.abc import Callable
from typing import Any, Final, Literal, final

from ._limits import Limits

__all__ = [
    "CancelToken",
    "GuestFunction",
    "Pool",
    "Session",
    "Worker",
    "__version__",
    "check_limits",
    "confine_filesystem",
    "confine_namespaces",
    "confine_rlimits",
    "confine_syscalls",
    "decode_value",
    "encode_value",
]

__version__: Final[str]

_Host = Callable[[str, list[Any]], Any]
_Logs = list[tuple[str, str]]

def check_limits(limits: Limits) -> None:
    """Checks each limit's range (raises `ConfigError`); the one place those rules live."""

def confine_namespaces() -> bool:
    """Enters fresh user, network, mount and IPC namespaces (the process must have one thread);
    False where the kernel refuses them."""

def confine_filesystem() -> Literal["fully", "partially", "not"]:
    """Landlock with no filesystem access for this thread and the threads it starts; how far the
    kernel enforced it."""

def confine_rlimits(headroom_bytes: int) -> int:
    """Caps the address space at what is mapped plus `headroom_bytes` (returned), forbids core
    dumps and bounds file descriptors."""

def confine_syscalls() -> None:
    """Installs the sandbox process's syscall filter on every thread (irreversible)."""

def encode_value(value: Any, limit: int, what: str) -> bytes:
    """`value` as a JavaScript guest receives it: JSON when that carries it exactly, else a clone
    (raises `SerializationError`, or `PayloadTooLargeError` past `limit` bytes)."""

def decode_value(data: bytes, what: str) -> Any:
    """The value `data` (from `encode_value`) holds."""

@final
class Pool:
    """Isolate slots on one wasmtime engine, shared process-wide by equal settings."""

    def __new__(
        cls,
        *,
        max_isolates: int,
        max_memory_bytes: int,
        max_table_elements: int,
        max_stack_bytes: int,
        consume_fuel: bool,
        cache_dir: str | None,
        acquire_timeout_ms: int,
    ) -> Pool: ...
    def load(
        self,
        kind: Literal["wasm", "wat"],
        code: str | bytes,
        env_data: dict[str, Any],
        limits: Limits,
        *,
        label: str,
    ) -> Worker:
        """Compiles (or fetches from cache) one module, ready to instantiate.

        Raises:
            LoadError: Invalid code or an import that is not offered.
            ConfigError: Limits that do not fit the pool.
            MemoryLimitError: The module needs more memory than allowed.
        """
    def load_js(
        self,
        main: str,
        modules: list[tuple[str, str]],
        env_data: dict[str, Any],
        stubs: list[tuple[str, list[str] | None]],
        limits: Limits,
        wasm: list[tuple[str, bytes]] = ...,
    ) -> Worker:
        """Loads a JavaScript bundle (its `.wasm` modules as name/bytes pairs in `wasm`); syntax
        errors and module-body exceptions raise `LoadError`."""
    def stats(self) -> dict[str, int]:
        """`max_isolates`, `live_isolates`, `compiles`, `memory_hits`, `disk_hits`."""

@final
class Worker:
    """Loaded tenant code (a WebAssembly module or a JavaScript bundle); every `call` runs in a
    fresh isolate with the GIL released."""

    @property
    def kind(self) -> Literal["wasm", "javascript"]: ...
    @property
    def cache_outcome(self) -> Literal["compiled", "memory", "disk"]: ...
    @property
    def label(self) -> str: ...
    def call(
        self,
        name: str,
        args: tuple[Any, ...],
        host: _Host | None = None,
        cancel: CancelToken | None = None,
        logs: _Logs | None = None,
        fetch: bool = False,
        props: bool = False,
    ) -> Any:
        """Calls export `name` (JavaScript: a default-export method, or `Class.method` of an
        entrypoint class). `host` dispatches env calls (`(binding, args) -> result`); a cancelled
        `cancel` token stops the guest with `CallCancelledError`; `logs` receives the call's
        `(level, message)` records. With `fetch` (JavaScript), the one argument is a request in
        wire form and the result a response in wire form. With `props` (JavaScript), the first
        argument is the entrypoint's `ctx.props`."""
    def session(self) -> Session:
        """Boots an isolate that keeps its state across calls."""
    def exports(self) -> list[str]:
        """The callable export names, sorted (`json:` prefixes removed; JavaScript default-export
        methods and `Class.method` names)."""
    def check_export(self, name: str) -> None:
        """Raises `ExportNotFoundError` unless `name` is callable."""

@final
class Session:
    """One live isolate (a session)."""

    @property
    def alive(self) -> bool: ...
    def call(
        self,
        name: str,
        args: tuple[Any, ...],
        host: _Host | None = None,
        cancel: CancelToken | None = None,
        logs: _Logs | None = None,
        fetch: bool = False,
        props: bool = False,
    ) -> Any:
        """Like `Worker.call`, in this isolate; its state carries over to the next call."""
    def close(self) -> None:
        """Frees the slot; later calls raise `ClosedError`."""

@final
class CancelToken:
    """Stops the call it was passed to within one epoch tick; the isolate is discarded."""

    def __new__(cls) -> CancelToken: ...
    @property
    def cancelled(self) -> bool: ...
    def cancel(self) -> None: ...

@final
class GuestFunction:
    """A JavaScript function a guest passed in an env call's arguments. Calling it runs the
    function in the guest and returns its result (a promise awaited; a throw raises `GuestError`).
    Callable only while the host serves that env call, on the thread serving it; otherwise it
    raises `FunctionUnavailableError`. A limit hit inside ends the guest's whole call."""

    def __call__(self, *args: Any) -> Any: ...
