"""Sandbox processes: tenants' isolates run in confined child processes, grouped by cordon
(`ProcessIsolation`). `_child` is the process, `_parent` starts and watches it, `_remote` gives its
workers the core's call surface, `_protocol` is what they say to each other."""

from ._config import ProcessIsolation
from ._parent import Cordons
from ._remote import RemoteWorker

__all__ = ["Cordons", "ProcessIsolation", "RemoteWorker"]
