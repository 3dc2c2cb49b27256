"""A throwaway PostgreSQL cluster for the tests and benchmarks: Debian's server binaries, a fresh
data directory, a free loopback port, started by `pg_ctl` as an unprivileged system user (the
server refuses to run as root), stopped and deleted afterwards.

`python3 tests/postgres_cluster.py install` installs Debian's `postgresql` package when no server
binaries are found (as root; `noxfile.py` runs it before the tests). `... start DIR` starts a
cluster and prints its URL, for trying things by hand.
"""

from __future__ import annotations

import glob
import os
import pwd
import shutil
import socket
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path

# The system user that runs the server when the tests run as root.
SERVER_USER = "dynisolate-pg"
# Fast and not crash-safe: the suite's cluster only. A durable cluster keeps PostgreSQL's defaults.
FAST_SETTINGS = ("fsync=off", "synchronous_commit=off", "full_page_writes=off")
MISSING = (
    "PostgreSQL's server binaries were not found. The workflow tests run against a real server: "
    "install Debian's `postgresql` package (`python3 tests/postgres_cluster.py install` as root does), "
    "or set DYNISOLATE_PG_BIN to the directory holding initdb and pg_ctl."
)


class ClusterUnavailable(RuntimeError):
    """No PostgreSQL server binaries, or a cluster that would not start."""


def bin_dir() -> Path | None:
    """Where initdb and pg_ctl are: DYNISOLATE_PG_BIN, else the newest Debian install."""
    given = os.environ.get("DYNISOLATE_PG_BIN")
    if given:
        return Path(given) if (Path(given) / "pg_ctl").exists() else None
    found = sorted(
        glob.glob("/usr/lib/postgresql/*/bin/pg_ctl"), key=lambda p: int(Path(p).parent.parent.name)
    )
    return Path(found[-1]).parent if found else None


def install() -> Path:
    """Installs Debian's server package if no binaries are found; returns their directory."""
    found = bin_dir()
    if found is not None:
        return found
    if os.geteuid() != 0 or shutil.which("apt-get") is None:
        raise ClusterUnavailable(MISSING)
    env = {**os.environ, "DEBIAN_FRONTEND": "noninteractive"}
    subprocess.run(["apt-get", "update", "-q"], check=True, env=env)
    subprocess.run(["apt-get", "install", "-y", "-q", "postgresql"], check=True, env=env)
    found = bin_dir()
    if found is None:
        raise ClusterUnavailable(MISSING)
    return found


def _server_user() -> str | None:
    """The user to run the server as (None: this one), created as a system user if missing."""
    if os.geteuid() != 0:
        return None
    try:
        pwd.getpwnam(SERVER_USER)
    except KeyError:
        subprocess.run(
            ["useradd", "--system", "--no-create-home", "--shell", "/usr/sbin/nologin", SERVER_USER],
            check=True,
        )
    return SERVER_USER


def _parent(proc: Path) -> int | None:
    try:
        return int((proc / "stat").read_text().rsplit(")", 1)[1].split()[1])
    except (OSError, ValueError, IndexError):
        return None


def _state(pid: int) -> str:
    try:
        return Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except (OSError, IndexError):
        return "X"


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@dataclass
class Cluster:
    """A running cluster. `url` connects as the superuser `postgres` to database `postgres`."""

    directory: Path
    port: int
    bin: Path
    user: str | None
    settings: tuple[str, ...] = field(default=())

    @property
    def url(self) -> str:
        return self.url_for("postgres")

    def url_for(self, database: str) -> str:
        return f"postgresql://postgres@127.0.0.1:{self.port}/{database}"

    def _run(self, *args: str, check: bool = True) -> subprocess.CompletedProcess[str]:
        command = [str(self.bin / args[0]), *args[1:]]
        if self.user is not None:
            command = ["runuser", "-u", self.user, "--", *command]
        return subprocess.run(command, check=check, capture_output=True, text=True, cwd="/")

    def start(self) -> None:
        options = f"-p {self.port} -k {self.directory} -c listen_addresses=127.0.0.1"
        for setting in self.settings:
            options += f" -c {setting}"
        data = str(self.directory / "data")
        done = self._run(
            "pg_ctl", "-w", "-t", "60", "-D", data, "-l", f"{data}.log", "-o", options, "start", check=False
        )
        if done.returncode != 0:
            raise ClusterUnavailable(f"pg_ctl start failed: {done.stderr.strip()}")

    def stop(self, mode: str = "fast") -> None:
        self._run("pg_ctl", "-w", "-D", str(self.directory / "data"), "-m", mode, "stop", check=False)

    def kill(self) -> None:
        """SIGKILLs the server: the postmaster and every process it started, at once, as a crash
        of its machine would (backends left running would hold the shared memory a restart
        needs)."""
        pid = int((self.directory / "data" / "postmaster.pid").read_text().split()[0])
        children = [int(p.name) for p in Path("/proc").iterdir() if p.name.isdigit() and _parent(p) == pid]
        for victim in (pid, *children):
            try:
                os.kill(victim, 9)
            except ProcessLookupError:
                pass
        for victim in (pid, *children):  # gone before a restart looks at the data directory
            while Path(f"/proc/{victim}").exists() and _state(victim) != "Z":
                time.sleep(0.01)
        # The lock files name the dead postmaster, which may linger as a zombie nobody reaps here
        # (the server would take it for a live one): after a machine's crash it names no process.
        (self.directory / "data" / "postmaster.pid").unlink(missing_ok=True)
        (self.directory / f".s.PGSQL.{self.port}.lock").unlink(missing_ok=True)

    def remove(self) -> None:
        self.stop("immediate")
        shutil.rmtree(self.directory, ignore_errors=True)


def start(durable: bool = False, max_connections: int = 400, directory: Path | None = None) -> Cluster:
    """initdb and start a cluster on a free port; `durable` keeps PostgreSQL's crash-safe defaults."""
    binaries = bin_dir()
    if binaries is None:
        raise ClusterUnavailable(MISSING)
    user = _server_user()
    root = Path(directory or tempfile.mkdtemp(prefix="dynisolate-pg-"))
    root.mkdir(parents=True, exist_ok=True)
    if user is not None:
        shutil.chown(root, user)
    settings = (f"max_connections={max_connections}",) + (() if durable else FAST_SETTINGS)
    cluster = Cluster(root, _free_port(), binaries, user, settings)
    init = ["initdb", "-D", str(root / "data"), "-U", "postgres", "--auth=trust", "-E", "UTF8"]
    done = cluster._run(*init, *([] if durable else ["--no-sync"]), check=False)
    if done.returncode != 0:
        shutil.rmtree(root, ignore_errors=True)
        raise ClusterUnavailable(f"initdb failed: {done.stderr.strip()}")
    try:
        cluster.start()
    except ClusterUnavailable:
        shutil.rmtree(root, ignore_errors=True)
        raise
    return cluster


if __name__ == "__main__":
    command = sys.argv[1] if len(sys.argv) > 1 else ""
    if command == "install":
        print(install())
    elif command == "start":
        print(start(directory=Path(sys.argv[2]) if len(sys.argv) > 2 else None).url)
    else:
        sys.exit("usage: postgres_cluster.py install | start [DIR]")
