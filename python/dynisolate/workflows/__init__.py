"""Durable workflows for tenant code, with Cloudflare Workflows' semantics.

engine = Engine("workflows.db", env_factory=make_env)
with engine:
    instance = engine.create(tenant="acme", code={"wf.js": SOURCE}, entrypoint="Signup", params={...})
    instance.wait()
"""

from ..exceptions import (
    InstanceExistsError,
    InstanceNotFoundError,
    InstanceStateError,
    NonDeterminismError,
    NonRetryableError,
    StepLimitError,
    WorkflowError,
    WorkflowTimeoutError,
)
from ._binding import WorkflowBinding, WorkflowInstance, engine_instance_id
from ._engine import Engine
from ._instance import Instance, InstanceStatus, StepInfo
from ._step import Step, StepError, WorkflowEvent

__all__ = [
    "Engine",
    "Instance",
    "InstanceExistsError",
    "InstanceNotFoundError",
    "InstanceStateError",
    "InstanceStatus",
    "NonDeterminismError",
    "NonRetryableError",
    "Step",
    "StepError",
    "StepInfo",
    "StepLimitError",
    "WorkflowBinding",
    "WorkflowError",
    "WorkflowEvent",
    "WorkflowInstance",
    "WorkflowTimeoutError",
    "engine_instance_id",
]
