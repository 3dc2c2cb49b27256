"""Cloudflare's Workflow binding (`env.MY_WORKFLOW`), backed by this package's engine: what a
platform puts in a tenant's env so the tenant's code starts and drives its own workflows."""

from __future__ import annotations

import contextlib
import hashlib
import re
import uuid
from collections.abc import Iterator, Mapping
from typing import TYPE_CHECKING, Any

from .._env import RpcTarget
from .._values import undefined
from ..exceptions import EventBufferFullError, InstanceExistsError, InstanceNotFoundError, InstanceStateError
from ._store import buffer_full, not_found, state_error

if TYPE_CHECKING:
    from ._engine import Engine

__all__ = ["WorkflowBinding", "WorkflowInstance", "engine_instance_id"]

# Cloudflare's batch limit for createBatch.
MAX_BATCH = 100
# The engine's ids are global; a binding's are its own: stored as `TAG-ID`, TAG derived from the
# tenant and the workflow, so one tenant can neither find nor take another's ids. An id a tenant
# chooses is what is left of the engine's 100 characters.
_TAG_CHARS = 12
MAX_ID_CHARS = 100 - _TAG_CHARS - 1
_GUEST_ID = re.compile(rf"[A-Za-z0-9_][A-Za-z0-9_-]{{0,{MAX_ID_CHARS - 1}}}")


def _options(options: Any, what: str) -> Mapping[str, Any]:
    if options is None or options is undefined:
        return {}
    if not isinstance(options, Mapping):
        raise TypeError(f"{what} takes an object ({{id, params}}), not {type(options).__name__}")
    unknown = set(options) - {"id", "params", "retention"}
    if unknown:
        raise TypeError(f"{what}: unknown option {sorted(unknown)[0]!r}")
    return options


class WorkflowInstance(RpcTarget):
    """One instance, as the binding hands it to the tenant (`id`, `status()`, `pause()`, ...)."""

    def __init__(self, engine: Engine, id: str, stored_id: str) -> None:
        self._engine = engine
        self._guest_id = id
        self._id = stored_id

    @property
    def id(self) -> str:
        return self._guest_id

    @contextlib.contextmanager
    def _as_the_tenant_knows_it(self, op: str) -> Iterator[None]:
        """Errors about the instance name it by the tenant's id, never by the engine's."""
        try:
            yield
        except InstanceNotFoundError:
            raise not_found(self._guest_id) from None
        except InstanceStateError as error:
            raise state_error(self._guest_id, error.status, op) from None

    def status(self) -> dict[str, Any]:
        """Cloudflare's `{status, error?, output?}`."""
        with self._as_the_tenant_knows_it("report its status"):
            status = self._engine.status(self._id)
        out: dict[str, Any] = {"status": status.status}
        if status.error is not None:
            error = status.error
            out["error"] = {"name": error.get("name", "Error"), "message": error.get("message", "")}
        if status.output is not None:
            out["output"] = status.output
        return out

    def pause(self) -> None:
        with self._as_the_tenant_knows_it("pause"):
            self._engine.pause(self._id)

    def resume(self) -> None:
        with self._as_the_tenant_knows_it("resume"):
            self._engine.resume(self._id)

    def terminate(self) -> None:
        with self._as_the_tenant_knows_it("terminate"):
            self._engine.terminate(self._id)

    def restart(self) -> None:
        with self._as_the_tenant_knows_it("restart"):
            self._engine.restart(self._id)

    def sendEvent(self, event: Any) -> None:  # noqa: N802 (Cloudflare's name)
        if not isinstance(event, Mapping) or not isinstance(event.get("type"), str):
            raise TypeError("sendEvent takes {type, payload} with a string type")
        payload = event.get("payload")
        try:
            with self._as_the_tenant_knows_it("receive events"):
                self._engine.send_events(
                    [(self._id, event["type"], None if payload is undefined else payload)]
                )
        except EventBufferFullError as full:  # told with the tenant's id, not the engine's
            raise buffer_full(
                self._guest_id, full.buffered_events, full.buffered_bytes, full.max_events, full.max_bytes
            ) from None


class WorkflowBinding(RpcTarget):
    """A tenant's binding to one workflow: `create({id, params})`, `createBatch([...])` and
    `get(id)`, as Cloudflare's Workflow binding. Instances are created for `tenant`, running
    `entrypoint` of `code` (the tenant's modules, or a hash from `Engine.put_bundle`; None for a
    registered Python workflow). `get` finds only this tenant's instances of this workflow: any
    other id is not found, exactly as an id that does not exist."""

    def __init__(
        self,
        engine: Engine,
        *,
        tenant: str,
        entrypoint: str,
        code: Mapping[str, str | bytes] | str | None = None,
        main_module: str | None = None,
    ) -> None:
        self._engine = engine
        self._tenant = tenant
        self._entrypoint = entrypoint
        self._code = code if code is None or isinstance(code, str) else engine.put_bundle(code, main_module)
        digest = hashlib.sha256(f"{tenant}\0{entrypoint}".encode()).hexdigest()
        self._tag = digest[:_TAG_CHARS]

    def _stored(self, id: Any) -> str:
        if not isinstance(id, str) or not _GUEST_ID.fullmatch(id):
            raise TypeError(f"an instance id is 1 to {MAX_ID_CHARS} of A-Z a-z 0-9 _ - (not starting with -)")
        return f"{self._tag}-{id}"

    def _create(self, options: Mapping[str, Any]) -> tuple[str, dict[str, Any]]:
        params = options.get("params")
        id = options.get("id")
        if id is None:
            id = uuid.uuid4().hex
        item = {
            "tenant": self._tenant,
            "entrypoint": self._entrypoint,
            "code": self._code,
            "params": None if params is undefined else params,
            "id": self._stored(id),
        }
        return id, item

    def create(self, options: Any = None) -> WorkflowInstance:
        id, item = self._create(_options(options, "create"))
        try:
            instance = self._engine.create(**item)
        except InstanceExistsError:
            raise InstanceExistsError(f"a workflow instance with id {id!r} already exists") from None
        return WorkflowInstance(self._engine, id, instance.id)

    def createBatch(self, batch: Any) -> list[WorkflowInstance]:  # noqa: N802 (Cloudflare's name)
        if not isinstance(batch, list) or not 0 < len(batch) <= MAX_BATCH:
            raise TypeError(f"createBatch takes an array of 1 to {MAX_BATCH} {{id, params}}")
        made = [self._create(_options(options, "createBatch")) for options in batch]
        try:
            self._engine.create_batch([item for _, item in made])
        except InstanceExistsError:
            raise InstanceExistsError("an instance id of the batch is taken") from None
        return [WorkflowInstance(self._engine, id, item["id"]) for id, item in made]

    def get(self, id: Any) -> WorkflowInstance:
        stored = self._stored(id)
        try:
            status = self._engine.status(stored)
        except InstanceNotFoundError:
            raise not_found(id) from None
        if status.tenant != self._tenant or status.workflow != self._entrypoint:
            raise not_found(id)  # (cannot happen: the tag says whose; checked all the same)
        return WorkflowInstance(self._engine, id, stored)


def engine_instance_id(binding: WorkflowBinding, id: str) -> str:
    """The engine's id of the instance `binding`'s tenant knows as `id` (for `Engine.get` and
    friends on the platform's side; the tenant never sees it)."""
    return binding._stored(id)
