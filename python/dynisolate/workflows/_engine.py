"""The durable engine: instances, their code, and the runs that replay them."""

from __future__ import annotations

import base64
import dataclasses
import hashlib
import json
import logging
import os
import re
import secrets
import threading
import time
import uuid
from collections import OrderedDict
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from .._codec import decode, encode
from .._limits import Limits
from .._loader import Loader, default_loader
from .._worker import Worker
from ..exceptions import (
    ConfigError,
    DynisolateError,
    ExportNotFoundError,
    GuestError,
    InstanceStateError,
    LimitError,
    LoadError,
    PayloadTooLargeError,
    PoolExhaustedError,
    SerializationError,
)
from ._config import EVENT_TYPE
from ._instance import Instance, InstanceStatus, status_of
from ._outcomes import Finished, Outcomes
from ._postgres import PostgresStore
from ._replay import DEFAULT_WIRE, Fatal, Fenced, Replay, StoreFailure, Suspend
from ._run_host import StepHost
from ._scheduler import RETRY_AFTER_S, Scheduler
from ._sqlite import SqliteStore
from ._step import Step, StepError, WorkflowEvent
from ._store import FINISHED, InstanceRow, StepRow, Store, not_found

__all__ = ["Engine"]

log = logging.getLogger("dynisolate.workflows")

_ID = re.compile(r"[A-Za-z0-9_][A-Za-z0-9_-]{0,99}")
_ENTRYPOINT = re.compile(r"[A-Za-z_$][A-Za-z0-9_$]{0,63}")
_MIB = 1 << 20
_MAX_CACHED_BUNDLES = 256
_MAX_CACHED_WORKERS = 256
# A run's budgets unless the engine is given others: Cloudflare's 30 s of CPU per step, and a
# wall-clock budget past a step's default 10 minute timeout, so that the timeout, which the
# workflow sees and retries by its own rules, ends a slow step first.
DEFAULT_RUN_LIMITS = Limits(cpu_ms=30_000, wall_ms=15 * 60_000)
# Runs in a row whose worker died (a step that kills its process, say) before the instance is
# errored instead of replayed again.
MAX_CRASHES = 10
# The core's bound on Limits.max_host_calls (a u32).
_MAX_HOST_CALLS = (1 << 32) - 1

EnvFactory = Callable[[str, Any], Mapping[str, Any] | None]
PythonWorkflow = Callable[[WorkflowEvent, Step], Any]


@dataclass(frozen=True, slots=True)
class _Bundle:
    main: str
    modules: dict[str, str | bytes]
    workflows: frozenset[str]  # classes with a run method


def _stored(value: Any, what: str, limit: int) -> str | bytes:
    """`value` as the store keeps it: JSON text, or the bytes of a structured clone for what JSON
    cannot hold (bytes, dates, maps, sets, BigInts, `undefined`), at most `limit` bytes."""
    stored = encode(value, what, 1 << 62)
    if len(stored) > limit:
        error = PayloadTooLargeError(f"{what} is {len(stored)} bytes; the limit is {limit}")
        error.bytes, error.limit = len(stored), limit
        raise error
    return stored


def _json(value: Any, what: str, limit: int) -> str:
    try:
        text = json.dumps(value, separators=(",", ":"), allow_nan=False)
    except (TypeError, ValueError) as e:
        raise SerializationError(f"{what} must be JSON data: {e}") from None
    if len(text) > limit:
        error = PayloadTooLargeError(f"{what} is {len(text)} bytes of JSON; the limit is {limit}")
        error.bytes, error.limit = len(text), limit
        raise error
    return text


DEFAULT_RETENTION_S = 30 * 86_400.0


def _check_retention(retention_s: object) -> None:
    if retention_s is not None and (
        isinstance(retention_s, bool) or not isinstance(retention_s, (int, float)) or not retention_s >= 0
    ):
        raise ConfigError(f"retention_s must be a number of seconds >= 0 or None, not {retention_s!r}")


def _positive(value: object, name: str) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or value < 1:
        raise ConfigError(f"{name} must be a positive int, not {value!r}")
    return value


def _is_postgres(path: str) -> bool:
    return path.startswith(("postgresql://", "postgres://"))


def _default_workers(path: str) -> int:
    """Worker threads unless told: per CPU, what measured best on each store (see `Engine`'s
    `workers`). On PostgreSQL runs also wait on the server's round trips, and more runs in flight
    make group commits larger."""
    per_cpu = 5 if _is_postgres(path) else 3
    return min(32, per_cpu * (os.cpu_count() or 1))


def _open_store(path: str, synchronous: str, workers: int, transaction_pooler: bool) -> Store:
    if _is_postgres(path):
        # A connection for each worker thread's reads and writes, one for the heartbeat, one for
        # API calls (create, send, status); the group commit has one of its own.
        return PostgresStore(path, synchronous, workers + 2, transaction_pooler=transaction_pooler)
    if path.startswith("sqlite:///"):
        path = path[len("sqlite:///") :]
    elif "://" in path:
        raise ConfigError(
            f"no store for {path.split('://')[0]!r} URLs: give a SQLite file path, ':memory:' "
            "or a postgresql:// URL"
        )
    return SqliteStore(path, synchronous)


def _check_tenant(tenant: object) -> None:
    """A tenant is 1 to 256 characters that every store keeps as given: no NUL (PostgreSQL's text
    cannot hold it) and no lone surrogate (no UTF-8 can)."""
    if (
        not isinstance(tenant, str)
        or not 0 < len(tenant) <= 256
        or "\x00" in tenant
        or not _encodable(tenant)
    ):
        raise ValueError(f"tenant must be 1 to 256 characters without NUL or lone surrogates, not {tenant!r}")


def _encodable(text: str) -> bool:
    try:
        text.encode()
    except UnicodeEncodeError:
        return False
    return True


def _finished(
    row: InstanceRow,
    status: str,
    output: str | bytes | None,
    error: tuple[str, str] | None,
    steps: list[StepRow],
) -> Finished | None:
    """The instance as a finishing release stores it (what a status shows of it exactly; its
    `updated_at` is the store's), or None where a store keeps text otherwise than given
    (PostgreSQL's text holds no NUL): then waiters read the store."""
    name, message = error if error is not None else (None, None)
    texts = [name, message, *(t for step in steps for t in (step.error_name, step.error_message))]
    if any(t is not None and "\x00" in t for t in texts):
        return None
    # Built directly: `dataclasses.replace` costs several times more on a run's hot path.
    stored = InstanceRow(
        id=row.id, tenant=row.tenant, workflow=row.workflow, bundle=row.bundle, params=row.params,
        metadata=row.metadata, status=status, created_at=row.created_at, wake_at=None,
        waiting_for=None, output=output, error_name=name, error_message=message,
        generation=row.generation, owner=None, updated_at=row.updated_at, runs=row.runs,
        crashes=row.crashes,
    )  # fmt: skip
    return Finished(stored, steps)


class Engine:
    """Durable workflow instances on a store: a SQLite file (one machine), or a PostgreSQL database
    shared by engines on many machines.

    `with engine:` (or `start()`) runs worker threads that claim runnable instances fairly across
    tenants and replay them; `drain()` runs what is due on the calling thread instead.

    Args:
        path: A SQLite file (created if missing; WAL mode), `sqlite:///path`, `":memory:"`, or
            a PostgreSQL URL (`postgresql://user@host:port/database`; needs the `postgres` extra).
            On PostgreSQL each engine holds at most `workers` + 4 connections (one listens
            for wake hints).
        env_factory: `(tenant, metadata) -> env` for JavaScript runs, called on every run, as
            Cloudflare's dispatcher builds env per run (metadata must not be secret).
        global_outbound: The outbound handler of JavaScript runs (None: `fetch()` is refused).
        workflows: Python workflows by name: `run(event, step)` functions (trusted code).
        limits: Budgets of one JavaScript run, from boot to suspension or end (default: 30 s of
            CPU, as Cloudflare's per step, and 15 minutes of wall-clock time, past a step's default
            10 minute timeout). A limit hit while steps are in flight fails their attempts, which
            retry as configured; hit outside any step, it errors the instance. `step.sleep` and
            `step.waitForEvent` suspend the run, so their waits count against neither. A run may
            make `max_host_calls` host calls plus two for each step `max_steps` allows (a
            `step.do` is two: its start and its result).
        loader: The loader whose pool runs the isolates (default: the shared one). Give it
            `process_isolation` to run each tenant's runs in sandbox processes of its own.
        workers: Worker threads `start()` runs (default: three per CPU on SQLite, five on
            PostgreSQL, at most 32). Runs release the GIL while the guest runs and while the store
            syncs, and group commits gather more writes per sync with more threads. On SQLite, past
            about three per CPU GIL hand-offs cost more than they overlap (measured on 2 CPUs: 4
            threads 750/s, 6 800/s, 8 700/s); on PostgreSQL runs also wait on the server's round
            trips, and five per CPU measured best (2 CPUs: 6 threads 546/s, 10 625/s, 16 611/s).
        synchronous: "full" (every commit synced to disk) or "normal" (synced at checkpoints:
            safe against a process dying, not against the machine losing power).
        max_steps: `step.do` calls one instance may make (default 10,000, as Cloudflare's).
        max_payload_bytes: Largest params, event payload and step result (default 1 MiB).
        max_pending_steps: Step calls one run may have pending at once: `step.do` callbacks
            running, and sleeps, event waits and retry delays not yet due (default 1,000). One
            more errors the instance with `PendingStepLimitError`.
        max_buffered_events: Unconsumed events one instance may hold (default 1,000); a send past
            it raises `EventBufferFullError` and stores nothing.
        max_buffered_event_bytes: Bytes of unconsumed event payloads one instance may hold (default
            10 MiB, ten of the largest events), enforced as `max_buffered_events` is.
        lease_s: How long a worker's claim on a running instance lasts without renewal; a dead
            worker on this machine is noticed at once, elsewhere after this long.
        poll_s: How often idle workers look for work created by other processes (work created
            or woken in this process, and timers, wake them at once). Default: 0.05 s on SQLite;
            on PostgreSQL 1 s (wake hints start other processes' work; the poll is a fallback),
            or 0.25 s behind a `transaction_pooler`.
        host_id: This machine's name in the leases it holds (default: the hostname and PID
            namespace). Engines with one host_id must share a PID namespace: a lease whose
            process has died there is taken over at once, others when they lapse.
        transaction_pooler: PostgreSQL only: the URL is a transaction-mode pooler's (PgBouncer's),
            where a session's state does not last past a transaction. Then processes do not
            LISTEN for each other's wake hints (other processes' work is found by polling) and
            statements are not prepared on the server. Otherwise a process that makes work due
            sends a NOTIFY after its commit (at most one per 5 ms) and other processes start it
            at once.
        retention_s: How long a finished (complete, errored, terminated) instance is kept, with
            its steps and events, from when it finished (default 30 days, Cloudflare's longest;
            None: kept until deleted). `set_tenant_retention` sets a tenant's own. Running engines
            delete what has expired every 10 s.
    """

    def __init__(
        self,
        path: str | os.PathLike[str],
        *,
        env_factory: EnvFactory | None = None,
        global_outbound: Callable[..., Any] | None = None,
        workflows: Mapping[str, PythonWorkflow] | None = None,
        limits: Limits | None = None,
        loader: Loader | None = None,
        workers: int | None = None,
        synchronous: str = "full",
        max_steps: int = 10_000,
        max_payload_bytes: int = _MIB,
        max_pending_steps: int = 1_000,
        max_buffered_events: int = 1_000,
        max_buffered_event_bytes: int = 10 * _MIB,
        lease_s: float = 10.0,
        poll_s: float | None = None,
        host_id: str | None = None,
        transaction_pooler: bool = False,
        retention_s: float | None = DEFAULT_RETENTION_S,
    ) -> None:
        if not isinstance(path, (str, os.PathLike)):
            raise ConfigError(f"path must be a str or a path, not {type(path).__name__}")
        _check_retention(retention_s)
        if workers is None:
            workers = _default_workers(os.fspath(path))
        elif isinstance(workers, bool) or not isinstance(workers, int) or workers < 1:
            raise ConfigError(f"workers must be a positive int, not {workers!r}")
        self._env_factory = env_factory
        self._global_outbound = global_outbound
        self._workflows: dict[str, PythonWorkflow] = {}
        for name, fn in (workflows or {}).items():
            self.register(name, fn)
        self._limits = limits or DEFAULT_RUN_LIMITS
        self._loader = loader
        self.max_steps = max_steps
        self._made_run_limits: tuple[int | None, Limits] = (None, self._limits)  # see _run_limits
        self.max_payload_bytes = max_payload_bytes
        self.max_pending_steps = _positive(max_pending_steps, "max_pending_steps")
        self.max_buffered_events = _positive(max_buffered_events, "max_buffered_events")
        self.max_buffered_event_bytes = _positive(max_buffered_event_bytes, "max_buffered_event_bytes")
        self._bundles: OrderedDict[str, _Bundle] = OrderedDict()
        self._workers_by_bundle: OrderedDict[tuple[str, str, Limits], Worker] = OrderedDict()
        self._bundles_lock = threading.Lock()
        # Last: a setting refused above leaves no connection or file open.
        self._store = _open_store(os.fspath(path), synchronous, workers, transaction_pooler)
        if poll_s is None:
            poll_s = self._store.default_poll_s
        # Runs in this process tell `wait` how they ended, so that it need not read the store.
        self._outcomes = Outcomes()
        self._scheduler = Scheduler(
            self._store, self._run, self._outcomes, workers, lease_s, poll_s, host_id, retention_s
        )

    # ---- code ----

    def register(self, name: str, run: PythonWorkflow) -> None:
        """Adds a Python workflow, created with `create(code=None, entrypoint=name)`."""
        if not isinstance(name, str) or not _ENTRYPOINT.fullmatch(name) or not callable(run):
            raise ConfigError(
                f"a Python workflow needs an identifier name and a run(event, step) callable: {name!r}"
            )
        self._workflows[name] = run

    def put_bundle(self, modules: Mapping[str, str | bytes], main_module: str | None = None) -> str:
        """Stores a JavaScript/TypeScript bundle (text modules, and `.wasm` modules as bytes)
        content-addressed and returns its hash, which `create(code=...)` accepts. The bundle is
        loaded once to check it (LoadError)."""
        if not isinstance(modules, Mapping) or not modules:
            raise LoadError("a workflow bundle is a non-empty mapping of module names to code")
        texts: dict[str, str] = {}
        binary: dict[str, str] = {}  # .wasm modules, base64 in the stored JSON
        for name, code in modules.items():
            if isinstance(name, str) and isinstance(code, str):
                texts[name] = code
            elif isinstance(name, str) and isinstance(code, (bytes, bytearray)):
                binary[name] = base64.b64encode(code).decode()
            else:
                raise LoadError(f"workflow bundle module {name!r} must be source text or .wasm bytes")
        main = next(iter(modules)) if main_module is None else main_module
        blob = json.dumps({"main": main, "modules": texts, "binary": binary}, sort_keys=True).encode()
        digest = hashlib.sha256(blob).hexdigest()
        with self._bundles_lock:
            known = digest in self._bundles
        if not known:
            self._remember(digest, main, dict(modules))  # loads it: syntax and import errors surface here
            self._store.put_bundle(digest, blob)
        return digest

    def _remember(self, digest: str, main: str, modules: dict[str, str | bytes]) -> _Bundle:
        exports = self._loader_().load(modules, main).exports
        bundle = _Bundle(main, modules, frozenset(e[: -len(".run")] for e in exports if e.endswith(".run")))
        with self._bundles_lock:
            self._bundles[digest] = bundle
            self._bundles.move_to_end(digest)
            while len(self._bundles) > _MAX_CACHED_BUNDLES:
                self._bundles.popitem(last=False)
        return bundle

    def _bundle(self, digest: str) -> _Bundle:
        with self._bundles_lock:
            found = self._bundles.get(digest)
        if found is not None:
            return found
        blob = self._store.get_bundle(digest)
        if blob is None:
            raise LoadError(f"no workflow bundle with hash {digest!r} is stored")
        data = json.loads(blob)
        modules: dict[str, str | bytes] = dict(data["modules"])
        modules.update((name, base64.b64decode(code)) for name, code in data.get("binary", {}).items())
        return self._remember(digest, data["main"], modules)

    def _run_limits(self) -> Limits:
        """The limits of one run: step operations are host calls too (a `step.do` two: begin and
        done), so the steps `max_steps` allows come on top of `max_host_calls`. Built again only
        when `max_steps` changed (a public attribute of a live engine), not on every run."""
        made_for, limits = self._made_run_limits
        if made_for != self.max_steps:
            budget = self._limits.max_host_calls + 2 * self.max_steps + 1
            limits = dataclasses.replace(self._limits, max_host_calls=min(budget, _MAX_HOST_CALLS))
            self._made_run_limits = (self.max_steps, limits)
        return limits

    def _worker(self, tenant: str, digest: str, code: _Bundle, env: Mapping[str, Any] | None) -> Worker:
        """The worker for a run of `tenant`'s bundle `digest`. Without an env of its own, the
        tenant's runs of a bundle share one loaded worker (each call still boots a fresh isolate):
        loading it again for every run hashed the bundle's sources each time."""
        limits = self._run_limits()
        if env is not None:
            return self._loader_().load(
                code.modules, code.main, env, self._global_outbound, limits, cordon=tenant
            )
        key = (tenant, digest, limits)
        with self._bundles_lock:
            worker = self._workers_by_bundle.get(key)
            if worker is not None:
                self._workers_by_bundle.move_to_end(key)
                return worker
        worker = self._loader_().load(
            code.modules, code.main, None, self._global_outbound, limits, cordon=tenant
        )
        with self._bundles_lock:
            self._workers_by_bundle[key] = worker
            while len(self._workers_by_bundle) > _MAX_CACHED_WORKERS:
                self._workers_by_bundle.popitem(last=False)
        return worker

    def _loader_(self) -> Loader:
        return self._loader if self._loader is not None else default_loader()

    # ---- instances ----

    def create(
        self,
        *,
        tenant: str,
        entrypoint: str,
        code: Mapping[str, str | bytes] | str | None = None,
        params: Any = None,
        id: str | None = None,
        metadata: Any = None,
        main_module: str | None = None,
    ) -> Instance:
        """Queues a new instance and returns at once (the row is committed on return).

        `code`: the tenant's modules (stored content-addressed), a hash from `put_bundle`, or
        None for the Python workflow registered as `entrypoint`. `entrypoint` names the
        workflow class (`export class X extends WorkflowEntrypoint`). The instance is pinned to
        that exact code for its whole life. Raises `InstanceExistsError` for a duplicate id.
        """
        row = self._new_row(tenant, entrypoint, code, params, id, metadata, main_module)
        self._scheduler.take(self._store.create([row], self._scheduler.offer(1)))
        return Instance(self, row.id)

    def create_batch(self, items: Sequence[Mapping[str, Any]]) -> list[Instance]:
        """Creates several instances in one transaction (all or none); each item takes the
        keyword arguments of `create`."""
        if not items:
            raise ValueError("create_batch needs at least one item")
        rows = [self._new_row(**item) for item in items]
        self._scheduler.take(self._store.create(rows, self._scheduler.offer(len(rows))))
        return [Instance(self, row.id) for row in rows]

    def _new_row(
        self,
        tenant: str,
        entrypoint: str,
        code: Mapping[str, str | bytes] | str | None = None,
        params: Any = None,
        id: str | None = None,
        metadata: Any = None,
        main_module: str | None = None,
    ) -> InstanceRow:
        _check_tenant(tenant)
        if not isinstance(entrypoint, str) or not _ENTRYPOINT.fullmatch(entrypoint):
            raise ValueError(f"entrypoint must be a class or workflow name, not {entrypoint!r}")
        if id is None:
            id = uuid.uuid4().hex
        elif not isinstance(id, str) or not _ID.fullmatch(id):
            raise ValueError(f"an instance id is 1 to 100 of A-Z a-z 0-9 _ - (not starting with -): {id!r}")
        if code is None:
            if entrypoint not in self._workflows:
                raise LoadError(f"no Python workflow is registered as {entrypoint!r}")
            bundle = None
        else:
            bundle = code if isinstance(code, str) else self.put_bundle(code, main_module)
            if entrypoint not in self._bundle(bundle).workflows:
                error = ExportNotFoundError(f"the bundle has no class {entrypoint!r} with a run method")
                error.export = entrypoint
                raise error
        now = time.time()
        return InstanceRow(
            id=id,
            tenant=tenant,
            workflow=entrypoint,
            bundle=bundle,
            params=_stored(params, "params", self.max_payload_bytes),
            metadata=_json(metadata, "metadata", self.max_payload_bytes),
            status="queued",
            created_at=now,
            wake_at=now,
            generation=secrets.randbits(62),
        )

    def get(self, id: str) -> Instance:
        """The instance with `id` (raises `InstanceNotFoundError`)."""
        self.status(id)
        return Instance(self, id)

    def list(
        self, status: str | None = None, tenant: str | None = None, limit: int = 100
    ) -> list[InstanceStatus]:
        """Instances, oldest first, optionally of one status or tenant (steps not included)."""
        return [status_of(row, []) for row in self._store.list_instances(status, tenant, limit)]

    def set_tenant_limit(self, tenant: str, max_running: int | None) -> None:
        """At most `max_running` instances of `tenant` run at once (None: no limit); the rest
        stay queued. Waiting instances do not count."""
        if max_running is not None and (not isinstance(max_running, int) or max_running < 1):
            raise ConfigError(f"max_running must be a positive int or None, not {max_running!r}")
        _check_tenant(tenant)
        self._store.set_tenant_limit(tenant, max_running)

    def set_tenant_retention(self, tenant: str, retention_s: float | None) -> None:
        """Keeps `tenant`'s finished instances `retention_s` seconds (None: the engine's
        `retention_s`)."""
        _check_retention(retention_s)
        _check_tenant(tenant)
        self._store.set_tenant_retention(tenant, retention_s)

    def sweep(self) -> int:
        """Deletes the finished instances past their retention now (running engines do it every
        10 s); returns how many."""
        return self._scheduler.sweep()

    # ---- one instance, by id (what an `Instance` handle calls) ----

    def status(self, id: str) -> InstanceStatus:
        """Status, output or error, and the step timeline of instance `id` (raises
        `InstanceNotFoundError`)."""
        row = self._store.get(id)
        if row is None:
            raise not_found(id)
        return status_of(row, self._store.steps(id))

    def pause(self, id: str) -> None:
        """Pauses instance `id` at its next step boundary (see `Instance.pause`)."""
        self._transition(id, "pause")

    def resume(self, id: str) -> None:
        """Resumes paused instance `id`, or cancels its pending pause."""
        self._transition(id, "resume")

    def terminate(self, id: str) -> None:
        """Ends instance `id` as `terminated` (see `Instance.terminate`)."""
        self._transition(id, "terminate")

    def delete(self, id: str) -> None:
        """Deletes instance `id` and its history."""
        self._store.delete(id)

    def wait(self, id: str, timeout: float | None = None, poll_s: float = 0.05) -> InstanceStatus:
        """Blocks until instance `id` finishes (complete, errored or terminated) and returns its
        status. Runs in this process wake it at once (and one that finishes hands it the status,
        without a read of the store); runs in other processes are seen within `poll_s`. Raises
        TimeoutError after `timeout` seconds."""
        deadline = None if timeout is None else time.monotonic() + timeout
        expected = self._outcomes.expect(id)  # before the first read: no run's end is missed
        try:
            read = not expected.held  # else a run here will say how it ended
            while True:
                if read:
                    row = self._store.get(id)
                    if row is None:
                        raise not_found(id)
                    if row.status in FINISHED:
                        steps = self._outcomes.steps(id, row.generation)
                        return status_of(row, self._store.steps(id) if steps is None else steps)
                    still = row.status
                wait = poll_s
                if deadline is not None:
                    wait = min(wait, deadline - time.monotonic())
                    if wait <= 0:
                        if read:
                            raise TimeoutError(f"workflow instance {id!r} is still {still}")
                        read = True  # the store says what it is still
                        continue
                finished = expected.next(wait)
                if finished is not None:
                    return status_of(finished.row, finished.steps)
                read = True
        finally:
            self._outcomes.forget(id, expected)

    def _transition(self, id: str, op: str) -> None:
        self._store.transition(id, op, time.time())
        self._scheduler.notify()

    def restart(self, id: str, from_step: str | tuple[str, int] | None = None) -> None:
        """Runs instance `id` again from the top (see `Instance.restart`)."""
        position = None
        self.status(id)  # InstanceNotFoundError
        if from_step is not None:
            name, count = (from_step, 1) if isinstance(from_step, str) else from_step
            match = [s for s in self._store.steps(id) if s.name == name and s.count == count]
            if not match:
                error = InstanceStateError(f"instance {id!r} has no recorded step {name!r} #{count}")
                error.status = "unknown"
                raise error
            position = match[0].position
        self._store.restart(id, position, time.time())
        self._scheduler.notify()

    def send_events(self, events: Iterable[tuple[str, str, Any]]) -> None:
        """Delivers several `(instance id, type, payload)` events in one transaction (all or
        none): as `Instance.send_event`, at the cost of one commit."""
        batch = []
        for id, type, payload in events:
            if not isinstance(type, str) or not EVENT_TYPE.fullmatch(type):
                raise ValueError(f"an event type is 1 to 100 of A-Z a-z 0-9 . _ -, not {type!r}")
            batch.append((id, type, encode(payload, "the event payload", self.max_payload_bytes)))
        self._store.send_events(batch, time.time(), self.max_buffered_events, self.max_buffered_event_bytes)
        self._scheduler.notify()

    # ---- running ----

    def start(self) -> Engine:
        """Starts the worker threads (idempotent)."""
        self._scheduler.start()
        return self

    def stop(self) -> None:
        """Stops the worker threads after their current runs."""
        self._scheduler.stop()

    def drain(self, timeout: float = 10.0) -> int:
        """Runs instances that are due, on this thread, until none is; returns how many runs."""
        return self._scheduler.drain(timeout)

    def close(self) -> None:
        self.stop()
        self._store.close()

    def __enter__(self) -> Engine:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.close()

    def _run(self, row: InstanceRow) -> Finished | None:
        """Replays `row` once, until it completes, fails or suspends. Returns the instance as the
        run's release stored it, when that finished it and the run knows all of it."""
        if row.crashes >= MAX_CRASHES:  # errored without a run: waiters read it from the store
            message = f"the worker running this instance died {row.crashes} times in a row"
            self._store.release(row.id, row.generation, "errored", error=("WorkflowInternalError", message))
            return None
        steps = [] if row.runs == 1 else self._store.steps(row.id)  # a first run has none
        replay = Replay(
            self._store, row, steps, self.max_steps, self.max_payload_bytes, self.max_pending_steps
        )

        def release(
            status: str,
            wake_at: float | None = None,
            waiting_for: str | None = None,
            output: str | bytes | None = None,
            error: tuple[str, str] | None = None,
        ) -> Finished | None:
            if not self._store.release(row.id, row.generation, status, wake_at, waiting_for, output, error):
                return None  # fenced out: nothing written
            if status not in FINISHED:
                return None
            return _finished(row, status, output, error, replay.steps())

        try:
            value = self._invoke(row, replay)
        except Suspend:
            return release("waiting", replay.wake_at or time.time(), replay.waiting_for)
        except Fenced:
            return None
        except Fatal as fatal:
            return release("errored", error=(fatal.name, fatal.message))
        except StepError as error:
            return release("errored", error=(error.name, error.message))
        except PoolExhaustedError:
            return release("waiting", time.time() + RETRY_AFTER_S)  # busy, not broken: run it later
        except LimitError as error:
            # The run hit a limit. With steps in flight, their attempts failed (and retry as
            # configured); otherwise the workflow's own code did it, and the instance is errored.
            if not replay.in_flight:
                return release("errored", error=(type(error).__name__, error.message))
            try:
                replay.fail_in_flight(type(error).__name__, error.message)
            except Suspend:
                pass  # paused at this boundary: the release below makes it paused
            except Fenced:
                return None
            return release("waiting", replay.wake_at or time.time())
        except GuestError as error:
            return release("errored", error=(error.name, error.guest_message))
        except DynisolateError as error:
            return release("errored", error=(type(error).__name__, error.message))
        except StoreFailure:
            raise  # the scheduler hands the instance back to be replayed
        except BaseException as error:  # a Python workflow's own exception (even SystemExit)
            return release("errored", error=(type(error).__name__, str(error)))
        diverged = replay.unreproduced()
        if diverged is not None:
            return release("errored", error=(diverged.name, diverged.message))
        try:
            output = _stored(value, "the workflow's result", self.max_payload_bytes)
        except DynisolateError as error:
            return release("errored", error=(type(error).__name__, error.message))
        return release("complete", output=output)

    def _invoke(self, row: InstanceRow, replay: Replay) -> Any:
        params = decode(row.params, "params")
        if row.bundle is None:
            run = self._workflows.get(row.workflow)
            if run is None:
                raise Fatal("LoadError", f"no Python workflow is registered as {row.workflow!r}")
            created = datetime.fromtimestamp(row.created_at, UTC)
            value = run(WorkflowEvent(params, created, row.id, row.workflow), Step(replay))
            if hasattr(value, "__await__"):
                raise TypeError("Python workflows are plain functions: run(event, step) must not be async")
            return value
        code = self._bundle(row.bundle)
        env = None
        if self._env_factory is not None:
            env = self._env_factory(row.tenant, json.loads(row.metadata))
        # With a process-isolated loader, each tenant's runs share only its own sandbox processes.
        worker = self._worker(row.tenant, row.bundle, code, env)
        event = {
            "payload": params,
            "timestamp": row.created_at * 1000,
            "instanceId": row.id,
            "workflowName": row.workflow,
            "defaultConfig": DEFAULT_WIRE,
        }
        return worker._run_workflow(row.workflow, event, StepHost(replay))
