"""`ProcessIsolation`: the settings of a loader's sandbox processes."""

from __future__ import annotations

from dataclasses import dataclass

from ..exceptions import ConfigError

_GIB = 1 << 30


@dataclass(frozen=True, slots=True)
class ProcessIsolation:
    """Run tenants in sandbox processes: a second layer around wasmtime's sandbox, as Cloudflare
    runs isolates inside a process sandbox. Each process is confined by the kernel before it reads
    any tenant code: a syscall filter (seccomp-bpf, with no_new_privs) that refuses files, sockets
    and pipes and kills the process on anything else outside its allow-list (`execve`, `fork`,
    `connect`, `ptrace`...); Landlock with no filesystem access; fresh user, network, mount and
    IPC namespaces where the kernel allows them; a cap on the memory it may map; no core dumps.
    It holds no env: every env call, outbound request and log record is a message to the parent.

    Processes are grouped by cordon, a name the platform chooses at load time (a tenant, a trust
    level): a process only ever runs code of its own cordon.

    Attributes:
        processes_per_cordon: Processes serving one cordon; calls go to the least busy (default 1).
        max_processes: Processes alive across all cordons; past it, the least recently used idle
            cordon's processes are stopped (default 64).
        host_memory_bytes: Memory each process may map once started, for the host side of its
            guests (compiled code, bundles, values in flight); guests' own memories are already
            reserved and capped per isolate. Past it the process dies with the calls it held
            (default 1 GiB).
        namespaces: Enter new user, network, mount and IPC namespaces (default True; a kernel
            that refuses them is reported by `Loader.sandbox_processes()`, not an error, unless
            `require_namespaces`).
        require_namespaces: Fail with `ConfinementError` where the kernel refuses the namespaces.
        landlock: Apply Landlock (default True; reported, as namespaces are).
        start_timeout_ms: How long a process may take to start and confine itself (default 30,000).
    """

    processes_per_cordon: int = 1
    max_processes: int = 64
    host_memory_bytes: int = _GIB
    namespaces: bool = True
    require_namespaces: bool = False
    landlock: bool = True
    start_timeout_ms: int = 30_000

    def __post_init__(self) -> None:
        for name in ("processes_per_cordon", "max_processes", "host_memory_bytes", "start_timeout_ms"):
            value = getattr(self, name)
            if isinstance(value, bool) or not isinstance(value, int) or value < 1:
                raise ConfigError(f"ProcessIsolation.{name} must be a positive int, got {value!r}")
        if self.max_processes < self.processes_per_cordon:
            raise ConfigError("ProcessIsolation.max_processes must be at least processes_per_cordon")
        if self.require_namespaces and not self.namespaces:
            raise ConfigError("ProcessIsolation.require_namespaces needs namespaces=True")
