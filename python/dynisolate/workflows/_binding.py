"""Cloudflare's Workflow binding (`env.MY_WORKFLOW`), backed by this package's engine: what a
platform puts in a tenant's env so the tenant's code starts and drives its own workflows."""

from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

from .._env import RpcTarget
from .._values import undefined
from ..exceptions import InstanceNotFoundError
from ._store import not_found

if TYPE_CHECKING:
    from ._engine import Engine

__all__ = ["WorkflowBinding", "WorkflowInstance"]


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

    def __init__(self, engine: Engine, id: str) -> None:
        self._engine = engine
        self._id = id

    @property
    def id(self) -> str:
        return self._id

    def status(self) -> dict[str, Any]:
        """Cloudflare's `{status, error?, output?}`."""
        status = self._engine.status(self._id)
        out: dict[str, Any] = {"status": status.status}
        if status.error is not None:
            error = status.error
            out["error"] = {"name": error.get("name", "Error"), "message": error.get("message", "")}
        if status.output is not None:
            out["output"] = status.output
        return out

    def pause(self) -> None:
        self._engine.pause(self._id)

    def resume(self) -> None:
        self._engine.resume(self._id)

    def terminate(self) -> None:
        self._engine.terminate(self._id)

    def restart(self) -> None:
        self._engine.restart(self._id)

    def sendEvent(self, event: Any) -> None:  # noqa: N802 (Cloudflare's name)
        if not isinstance(event, Mapping) or not isinstance(event.get("type"), str):
            raise TypeError("sendEvent takes {type, payload} with a string type")
        payload = event.get("payload")
        self._engine.send_events([(self._id, event["type"], None if payload is undefined else payload)])


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

    def _item(self, options: Mapping[str, Any]) -> dict[str, Any]:
        params = options.get("params")
        return {
            "tenant": self._tenant,
            "entrypoint": self._entrypoint,
            "code": self._code,
            "params": None if params is undefined else params,
            "id": options.get("id"),
        }

    def create(self, options: Any = None) -> WorkflowInstance:
        instance = self._engine.create(**self._item(_options(options, "create")))
        return WorkflowInstance(self._engine, instance.id)

    def createBatch(self, batch: Any) -> list[WorkflowInstance]:  # noqa: N802 (Cloudflare's name)
        if not isinstance(batch, list) or not batch:
            raise TypeError("createBatch takes a non-empty array of {id, params}")
        items = [self._item(_options(options, "createBatch")) for options in batch]
        return [WorkflowInstance(self._engine, instance.id) for instance in self._engine.create_batch(items)]

    def get(self, id: Any) -> WorkflowInstance:
        if not isinstance(id, str):
            raise TypeError("get takes an instance id (a string)")
        try:
            status = self._engine.status(id)
        except InstanceNotFoundError:
            status = None
        if status is None or status.tenant != self._tenant or status.workflow != self._entrypoint:
            raise not_found(id)
        return WorkflowInstance(self._engine, id)
