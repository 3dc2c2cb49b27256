"""`Loader`: pool and cache settings, and the `load` / `get` entry points."""

from __future__ import annotations

import os
import threading
from collections import OrderedDict
from collections.abc import Callable, Mapping
from concurrent.futures import Executor, ThreadPoolExecutor
from pathlib import Path
from typing import Any

from . import _core
from ._env import split_env
from ._fingerprint import fingerprint
from ._limits import Limits
from ._process import Cordons, ProcessIsolation, RemoteWorker
from ._worker import Worker
from .exceptions import ConfigError, LoadError

__all__ = ["Loader", "default_cache_dir", "load"]

_MIB = 1 << 20
# Which loader a worker goes to, by its main module. Which modules a bundle may hold, and how
# large they may be, is the core's to decide.
_JS_SUFFIXES = (".js", ".mjs", ".ts")
_WORKER_CODE_KEYS = frozenset({"modules", "main_module", "env", "global_outbound", "limits"})
# Ids whose fingerprint `get` remembers, per worker it caches: an evicted id is still checked.
_FINGERPRINTS_PER_WORKER = 16


def default_cache_dir() -> Path:
    """`$XDG_CACHE_HOME/dynisolate`, or `~/.cache/dynisolate`."""
    base = os.environ.get("XDG_CACHE_HOME") or os.path.join(os.path.expanduser("~"), ".cache")
    return Path(base) / "dynisolate"


class _Default:
    def __repr__(self) -> str:
        return "<default cache dir>"


_DEFAULT = _Default()


def _pick_module(modules: Mapping[str, Any], main_module: str | None) -> tuple[str, Any, str]:
    """(kind, code, label): "js" with the bundle's (name, text) pairs, or "wasm"/"wat" with one
    module's code."""
    if not isinstance(modules, Mapping) or not modules:
        raise LoadError("modules must be a non-empty mapping of module names to code")
    names = list(modules)
    main = names[0] if main_module is None else main_module
    if main not in modules:
        raise LoadError(f"main_module {main!r} is not one of the modules {names}")
    for name, code in modules.items():
        if not isinstance(name, str):
            raise LoadError(f"module names must be str, got {name!r}")
        if not isinstance(code, (str, bytes, bytearray, memoryview)):
            raise LoadError(f"module {name!r} must be str or bytes, not {type(code).__name__}")
    if main.endswith(_JS_SUFFIXES):
        return "js", _js_bundle(modules), main
    if len(modules) > 1:
        raise LoadError(f"a WebAssembly worker is one module; got {names}")
    code = modules[main]
    if main.endswith(".wasm"):
        if isinstance(code, str):
            raise LoadError(f"{main!r} must be bytes (binary WebAssembly); use a .wat name for text")
        return "wasm", bytes(code), main
    if main.endswith(".wat"):
        return "wat", code if isinstance(code, str) else bytes(code), main
    if main.endswith((".cjs", ".tsx", ".jsx")):
        raise LoadError(f"{main!r}: CommonJS and JSX modules are not supported; bundle them into ES modules")
    raise LoadError(f"{main!r}: the main module's name must end in .js, .mjs, .ts, .wasm or .wat")


def _js_bundle(modules: Mapping[str, Any]) -> tuple[list[tuple[str, str]], list[tuple[str, bytes]]]:
    """The bundle's text modules and its binary ones (the core checks what each may be)."""
    texts, binary = [], []
    for name, code in modules.items():
        if isinstance(code, str):
            texts.append((name, code))
        else:
            binary.append((name, bytes(code)))
    return texts, binary


def _int(name: str, value: object) -> int:
    """`value` if it is an int (not a bool); its range is the core's to check."""
    if isinstance(value, bool) or not isinstance(value, int):
        raise ConfigError(f"{name} must be an int, got {value!r}")
    return value


class Loader:
    """A pool of isolates and a cache of compiled code, shared by the workers it loads.

    Loaders with the same pool settings share one wasmtime engine and its slots.

    Args:
        max_isolates: Isolates alive at once across the pool (default 10,000).
        max_memory_bytes: Largest linear memory of any isolate, and its address-space
            reservation (default 128 MiB).
        max_table_elements: Largest table of any isolate (default 20,000).
        max_stack_bytes: Native stack a guest may use (default 1 MiB).
        consume_fuel: Compile guests with fuel metering so `Limits.fuel` works (default False).
        cache_dir: Directory for compiled modules shared between processes; `None` keeps them
            in memory only (default: `default_cache_dir()`).
        acquire_timeout_ms: How long a call waits for a free slot before `PoolExhaustedError`
            (default 1,000).
        max_cached_workers: Workers kept by `get` (least recently used evicted; default 1,024).
            The fingerprints of the code loaded under each id are kept for 16 times as many ids.
        executor_threads: Threads running async calls (default: min(32, CPUs + 4)).
        process_isolation: Run every worker's isolates in confined sandbox processes, grouped
            by the `cordon` given to `load` (see `ProcessIsolation`); default `None`: in this
            process, which is faster (the README compares them).
    """

    def __init__(
        self,
        *,
        max_isolates: int = 10_000,
        max_memory_bytes: int = 128 * _MIB,
        max_table_elements: int = 20_000,
        max_stack_bytes: int = _MIB,
        consume_fuel: bool = False,
        cache_dir: str | os.PathLike[str] | None | _Default = _DEFAULT,
        acquire_timeout_ms: int = 1_000,
        max_cached_workers: int = 1_024,
        executor_threads: int | None = None,
        process_isolation: ProcessIsolation | None = None,
    ) -> None:
        if isinstance(cache_dir, _Default):
            cache_dir = default_cache_dir()
        pool_config: dict[str, Any] = {
            "max_isolates": _int("max_isolates", max_isolates),
            "max_memory_bytes": _int("max_memory_bytes", max_memory_bytes),
            "max_table_elements": _int("max_table_elements", max_table_elements),
            "max_stack_bytes": _int("max_stack_bytes", max_stack_bytes),
            "consume_fuel": bool(consume_fuel),
            "cache_dir": None if cache_dir is None else os.fspath(cache_dir),
            "acquire_timeout_ms": _int("acquire_timeout_ms", acquire_timeout_ms),
        }
        # The pool checks the settings even when sandbox processes hold the isolates.
        self._pool = _core.Pool(**pool_config)
        if process_isolation is not None and not isinstance(process_isolation, ProcessIsolation):
            kind = type(process_isolation).__name__
            raise ConfigError(f"process_isolation must be a dynisolate.ProcessIsolation, not {kind}")
        self._cordons = None if process_isolation is None else Cordons(process_isolation, pool_config)
        if _int("max_cached_workers", max_cached_workers) < 1:
            raise ConfigError(f"max_cached_workers must be at least 1, got {max_cached_workers}")
        self._max_cached_workers = max_cached_workers
        self._executor_threads = executor_threads or min(32, (os.cpu_count() or 1) + 4)
        self._workers: OrderedDict[tuple[str, str], Worker] = OrderedDict()
        # (tenant, id) -> fingerprint of the code loaded under it, kept past the worker's eviction.
        self._fingerprints: OrderedDict[tuple[str, str], str] = OrderedDict()
        self._lock = threading.Lock()
        self._executor_instance: ThreadPoolExecutor | None = None

    def _executor(self) -> Executor:
        if self._executor_instance is None:
            with self._lock:
                if self._executor_instance is None:
                    self._executor_instance = ThreadPoolExecutor(
                        self._executor_threads, thread_name_prefix="dynisolate"
                    )
        return self._executor_instance

    def load(
        self,
        modules: Mapping[str, str | bytes],
        main_module: str | None = None,
        env: Mapping[str, Any] | None = None,
        global_outbound: Callable[..., Any] | None = None,
        limits: Limits | None = None,
        *,
        cordon: str = "",
    ) -> Worker:
        """Loads tenant code and returns a `Worker`.

        Args:
            modules: Module names to code: `.wasm` bytes, `.wat` text, or a JavaScript bundle:
                ES modules (`.js`, `.mjs`, and `.ts` TypeScript, types stripped) importing each
                other by relative path, with `.json` and `.txt` modules as their default export.
            main_module: The module whose exports are the entrypoint (default: the first).
            env: Bindings the guest may reach: plain data (copied in), functions, and
                `RpcTarget` instances (their public methods). Nothing else is reachable.
            global_outbound: `None`: a JavaScript guest's `fetch()` rejects with a TypeError saying
                the worker may not access the internet. A callable: receives every outbound
                request as a `Request` and returns a `Response` (or an awaitable of one); its
                exceptions reach the guest as rejected `fetch()` promises. WebAssembly guests
                have no network import at all.
            limits: Per-call budgets (default `Limits()`).
            cordon: With `process_isolation`, the group of sandbox processes that runs this
                worker: only code loaded with the same cordon shares a process with it (for
                example the tenant's id, or a trust level). Ignored without it.

        Raises:
            LoadError: The code or module map is invalid, or imports something not offered.
            ConfigError: The limits do not fit this loader.
            MemoryLimitError: The module needs more memory than `limits.memory_bytes`.
        """
        kind, code, label = _pick_module(modules, main_module)
        if limits is None:
            limits = Limits()
        elif not isinstance(limits, Limits):
            raise ConfigError(f"limits must be a dynisolate.Limits, not {type(limits).__name__}")
        if global_outbound is not None and not callable(global_outbound):
            raise LoadError("global_outbound must be None or a callable")
        data, dispatcher = split_env(env, global_outbound, timeout_s=limits.wall_ms / 1000)
        if not isinstance(cordon, str):
            raise ConfigError(f"cordon must be a str, not {type(cordon).__name__}")
        guest: _core.Worker | RemoteWorker
        if self._cordons is not None:
            _core.check_limits(limits)
            stubs = dispatcher.stubs() if dispatcher is not None and kind == "js" else []
            texts, wasm = code if kind == "js" else (code, [])
            guest = RemoteWorker(self._cordons, cordon, [kind, texts, data, stubs, wasm, label], limits)
        elif kind == "js":
            stubs = dispatcher.stubs() if dispatcher is not None else []
            texts, wasm = code
            guest = self._pool.load_js(label, texts, data, stubs, limits, wasm)
        else:
            guest = self._pool.load(kind, code, data, limits, label=label)  # type: ignore[arg-type]
        return Worker(guest, dispatcher, self._executor, global_outbound)

    def get(
        self,
        id: str,
        factory: Callable[[], Mapping[str, Any]],
        *,
        tenant: str = "",
        cordon: str | None = None,
    ) -> Worker:
        """Returns the worker cached under `id`, loading it from `factory()` on a miss.

        `factory` returns the arguments of `load` as a mapping (`modules`, and optionally
        `main_module`, `env`, `global_outbound`, `limits`). It is called only on a miss, so the
        same id must always mean the same code and env: name versions (`"tenant-42:v7"`). Ids are
        kept apart by `tenant`, so an id a tenant can influence never reaches another tenant's
        worker. Whenever the factory runs for an id that was loaded before (after an eviction, or
        two callers missing at once), what it returns must match what was loaded then, or `get`
        raises `LoadError` (see `dynisolate._fingerprint` for what is compared). With
        `process_isolation`, the worker runs in the sandbox processes of `cordon` (default: the
        tenant's own), the cordon of the load that cached it.
        """
        if not isinstance(id, str) or not id:
            raise LoadError("a worker id must be a non-empty str")
        if not isinstance(tenant, str):
            raise LoadError(f"tenant must be a str, not {type(tenant).__name__}")
        key = (tenant, id)
        with self._lock:
            worker = self._workers.get(key)
            if worker is not None:
                self._workers.move_to_end(key)
                return worker
        code = factory()
        if not isinstance(code, Mapping):
            raise LoadError(f"the factory for {id!r} must return a mapping, not {type(code).__name__}")
        unknown = set(code) - _WORKER_CODE_KEYS
        if unknown or "modules" not in code:
            raise LoadError(
                f"the factory for {id!r} returned keys {sorted(code)}; "
                f"expected 'modules' and optionally {sorted(_WORKER_CODE_KEYS - {'modules'})}"
            )
        if not isinstance(code["modules"], Mapping):
            raise LoadError("modules must be a non-empty mapping of module names to code")
        seen = fingerprint(code)
        self._check_fingerprint(key, seen)
        worker = self.load(**code, cordon=tenant if cordon is None else cordon)
        with self._lock:
            self._check_fingerprint(key, seen)
            existing = self._workers.get(key)
            if existing is not None:
                return existing
            self._workers[key] = worker
            self._fingerprints[key] = seen
            self._fingerprints.move_to_end(key)
            while len(self._workers) > self._max_cached_workers:
                self._workers.popitem(last=False)
            while len(self._fingerprints) > _FINGERPRINTS_PER_WORKER * self._max_cached_workers:
                self._fingerprints.popitem(last=False)
        return worker

    def _check_fingerprint(self, key: tuple[str, str], seen: str) -> None:
        known = self._fingerprints.get(key)
        if known is not None and known != seen:
            tenant, id = key
            where = f" (tenant {tenant!r})" if tenant else ""
            raise LoadError(
                f"worker id {id!r}{where} was loaded with other code or env; an id must name one "
                "version of a worker: put the version in the id"
            )

    def stats(self) -> dict[str, int]:
        """Pool counters: `max_isolates`, `live_isolates`, `compiles`, `memory_hits`, `disk_hits`,
        `cached_workers`, and `sandbox_processes` (alive, with `process_isolation`). With
        `process_isolation` the pool counters are this process's, where no isolate runs: the
        sandbox processes keep their own."""
        stats: dict[str, int] = dict(self._pool.stats())
        stats["cached_workers"] = len(self._workers)
        stats["sandbox_processes"] = 0 if self._cordons is None else self._cordons.count()
        return stats

    def sandbox_processes(self) -> list[dict[str, Any]]:
        """The live sandbox processes (with `process_isolation`): each one's `cordon`, `pid`,
        `calls_in_flight`, and how it is confined: `seccomp` (always True), `namespaces` (whether
        the kernel gave it new ones), `landlock` (`"fully"`, `"partially"` or `"not"`) and
        `address_space_bytes` (its cap)."""
        return [] if self._cordons is None else self._cordons.processes()

    def close(self) -> None:
        """Stops the thread pool used by async calls (running calls finish first), then the
        sandbox processes: a worker of a process-isolated loader raises `ClosedError` after."""
        if self._executor_instance is not None:
            self._executor_instance.shutdown(wait=True)
            self._executor_instance = None
        if self._cordons is not None:
            self._cordons.close()

    def __enter__(self) -> Loader:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


_default_loader: Loader | None = None
_default_lock = threading.Lock()


def default_loader() -> Loader:
    """The process-wide loader behind `dynisolate.load`, created on first use."""
    global _default_loader
    if _default_loader is None:
        with _default_lock:
            if _default_loader is None:
                _default_loader = Loader()
    return _default_loader


def load(
    modules: Mapping[str, str | bytes],
    main_module: str | None = None,
    env: Mapping[str, Any] | None = None,
    global_outbound: Callable[..., Any] | None = None,
    limits: Limits | None = None,
) -> Worker:
    """`Loader.load` on the default loader."""
    return default_loader().load(modules, main_module, env, global_outbound, limits)
