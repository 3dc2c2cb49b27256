"""Durable workflows for tenant code, with Cloudflare Workflows' semantics.

engine = Engine("workflows.db", env_factory=make_env)
with engine:
    instance = engine.create(tenant="acme", code={"wf.js": SOURCE}, entrypoint="Signup", params={...})
    instance.wait()
"""

from ..exceptions import (
    DatabaseUnavailableError,
    EventBufferFullError,
    IncompatibleDatabaseError,
    InstanceExistsError,
    InstanceNotFoundError,
    InstanceStateError,
    NestedStepError,
    NonDeterminismError,
    NonRetryableError,
    PendingStepLimitError,
    StepLimitError,
    StepStalledError,
    WorkflowError,
    WorkflowTimeoutError,
)
from ._binding import WorkflowBinding, WorkflowInstance, engine_instance_id
from ._engine import Engine
from ._instance import Instance, InstanceStatus, StepInfo
from ._step import Step, StepError, WorkflowEvent

__all__ = [
    "DatabaseUnavailableError",
    "Engine",
    "EventBufferFullError",
    "IncompatibleDatabaseError",
    "Instance",
    "InstanceExistsError",
    "InstanceNotFoundError",
    "InstanceStateError",
    "InstanceStatus",
    "NestedStepError",
    "NonDeterminismError",
    "NonRetryableError",
    "PendingStepLimitError",
    "Step",
    "StepError",
    "StepInfo",
    "StepLimitError",
    "StepStalledError",
    "WorkflowBinding",
    "WorkflowError",
    "WorkflowEvent",
    "WorkflowInstance",
    "WorkflowTimeoutError",
    "engine_instance_id",
]
