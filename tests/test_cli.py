"""`dynisolate workflows ...` against a database file."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from dynisolate._cli import main
from dynisolate.workflows import Engine, Step, WorkflowEvent


def waiter(event: WorkflowEvent, step: Step) -> object:
    step.do("prepare", lambda: "ready")
    return step.wait_for_event("go", "go")["payload"]


def test_list_show_send_event(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    db = str(tmp_path / "cli.db")
    engine = Engine(db, workflows={"waiter": waiter})
    engine.create(tenant="acme", entrypoint="waiter", id="wf-1")
    engine.drain()
    assert main(["workflows", "--db", db, "list"]) == 0
    assert "wf-1\tacme\twaiter\twaiting" in capsys.readouterr().out
    assert main(["workflows", "--db", db, "show", "wf-1"]) == 0
    shown = capsys.readouterr().out
    assert "status    waiting" in shown and "prepare" in shown and "complete" in shown
    assert main(["workflows", "--db", db, "send-event", "wf-1", "go", json.dumps({"n": 1})]) == 0
    engine.drain()
    assert main(["workflows", "--db", db, "show", "wf-1"]) == 0
    assert 'output    {"n": 1}' in capsys.readouterr().out
    for command in ("pause", "resume", "terminate"):
        assert main(["workflows", "--db", db, command, "missing"]) == 1
        assert "InstanceNotFoundError" in capsys.readouterr().err
    assert main(["workflows", "--db", db, "terminate", "wf-1"]) == 1  # complete
    assert "InstanceStateError" in capsys.readouterr().err
    assert main(["workflows", "--db", db, "restart", "wf-1", "--from-step", "go"]) == 0
    assert engine.get("wf-1").status().status == "queued"
    engine.close()


def test_bad_database_paths_and_delete(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    missing = tmp_path / "nope" / "typo.db"
    assert main(["workflows", "--db", str(missing), "list"]) == 1
    assert "no such database file" in capsys.readouterr().err
    assert not missing.parent.exists()
    junk = tmp_path / "junk.db"
    junk.write_text("not a database" * 100)
    assert main(["workflows", "--db", str(junk), "list"]) == 1
    assert "is not a workflow database" in capsys.readouterr().err

    db = str(tmp_path / "cli.db")
    engine = Engine(db, workflows={"waiter": waiter})
    engine.create(tenant="acme", entrypoint="waiter", id="wf-2")
    engine.drain()
    assert main(["workflows", "--db", db, "restart", "wf-2", "--from-step", "prepare#1"]) == 0
    assert main(["workflows", "--db", db, "delete", "wf-2"]) == 0
    assert main(["workflows", "--db", db, "show", "wf-2"]) == 1
    engine.close()


SANDBOXED = """
import { WorkflowEntrypoint } from "cloudflare:workers";
export class Flow extends WorkflowEntrypoint {
  async run(event, step) { return await step.do("double", async () => event.payload * 2) }
}
"""


def _children(pid: int) -> list[str]:
    """The command lines of `pid`'s child processes."""
    found = []
    for entry in Path("/proc").iterdir():
        try:
            if entry.name.isdigit() and int((entry / "stat").read_text().rsplit(")", 1)[1].split()[1]) == pid:
                found.append((entry / "cmdline").read_bytes().replace(b"\0", b" ").decode())
        except (OSError, ValueError):
            continue
    return found


def test_worker_runs_tenants_in_sandbox_processes(tmp_path: Path) -> None:
    db = str(tmp_path / "sandboxed.db")
    engine = Engine(db)
    instance = engine.create(tenant="acme", code={"wf.js": SANDBOXED}, entrypoint="Flow", params=21)
    command = [sys.executable, "-m", "dynisolate", "worker", "--db", db, "--sandbox-processes", "1"]
    worker = subprocess.Popen(command, stderr=subprocess.DEVNULL)
    try:
        status = instance.wait(timeout=60)
        assert (status.status, status.output) == ("complete", 42), status.error
        assert any("dynisolate._process._child" in line for line in _children(worker.pid))
    finally:
        worker.terminate()
        worker.wait(timeout=30)
        engine.close()
