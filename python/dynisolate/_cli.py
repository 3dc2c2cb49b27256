"""`dynisolate`: run a workflow worker, or inspect and steer instances in a database file.

dynisolate worker --db PATH [--workers N] [--env-factory MODULE:FUNCTION]
dynisolate workflows --db PATH list | show ID | send-event ID TYPE JSON
                               | pause ID | resume ID | terminate ID | restart ID [--from-step NAME]
"""

from __future__ import annotations

import argparse
import dataclasses
import importlib
import json
import os
import signal
import sqlite3
import sys
import threading
import time
from datetime import UTC, datetime
from typing import Any

from ._loader import Loader
from ._process import ProcessIsolation
from .exceptions import DynisolateError

__all__ = ["main"]


def _import(spec: str) -> Any:
    module, _, attr = spec.partition(":")
    if not attr:
        raise SystemExit(f"expected MODULE:ATTRIBUTE, got {spec!r}")
    return getattr(importlib.import_module(module), attr)


def _when(stamp: float | None) -> str:
    if stamp is None:
        return "-"
    return datetime.fromtimestamp(stamp, UTC).strftime("%Y-%m-%d %H:%M:%S.%f")[:-3]


def _sandboxed_loader(per_tenant: int) -> Loader:
    """A loader running each tenant's workflows in its own sandbox processes."""
    return Loader(process_isolation=ProcessIsolation(processes_per_cordon=per_tenant))


def _open_retrying(db: str, settings: dict[str, Any]) -> Any:
    """An engine on `db`; while its database cannot be reached, tried again with backoff (a
    worker started before its server, or during a failover, waits for it)."""
    from .workflows import DatabaseUnavailableError, Engine

    delay_s = 0.5
    while True:
        try:
            return Engine(db, **settings)
        except DatabaseUnavailableError as error:
            print(f"dynisolate worker: {error}; trying again in {delay_s:g} s", file=sys.stderr, flush=True)
            time.sleep(delay_s)
            delay_s = min(delay_s * 2, 30.0)


def _worker(args: argparse.Namespace) -> int:
    from .workflows._engine import DEFAULT_RUN_LIMITS

    given = {name: value for name in ("cpu_ms", "wall_ms") if (value := getattr(args, name)) is not None}
    settings: dict[str, Any] = dict(
        workers=args.workers,
        synchronous=args.synchronous,
        env_factory=_import(args.env_factory) if args.env_factory else None,
        global_outbound=_import(args.outbound) if args.outbound else None,
        workflows=_import(args.workflows) if args.workflows else None,
        limits=dataclasses.replace(DEFAULT_RUN_LIMITS, **given),
        loader=_sandboxed_loader(args.sandbox_processes) if args.sandbox_processes else None,
        lease_s=args.lease_s,
        host_id=args.host_id,
    )
    if args.retention_s is not None:
        settings["retention_s"] = args.retention_s
    engine = _open_retrying(args.db, settings)
    stop = threading.Event()
    for signum in (signal.SIGINT, signal.SIGTERM):
        signal.signal(signum, lambda *_: stop.set())
    engine.start()
    print(f"dynisolate worker {engine._scheduler.owner} running on {args.db}", file=sys.stderr, flush=True)
    stop.wait()
    engine.close()
    return 0


def _show(status: Any) -> None:
    print(f"id        {status.id}")
    print(f"tenant    {status.tenant}")
    print(f"workflow  {status.workflow}")
    print(f"status    {status.status}")
    print(f"created   {_when(status.created_at)}")
    if status.output is not None:
        print(f"output    {json.dumps(status.output)}")
    if status.error is not None:
        print(f"error     {status.error['name']}: {status.error['message']}")
    if status.steps:
        print("steps")
        print(f"  {'name':<24} {'#':>3} {'kind':<6} {'state':<9} {'tries':>5}  {'started':<23}  ended")
        for s in status.steps:
            print(
                f"  {s.name[:24]:<24} {s.count:>3} {s.kind:<6} {s.state:<9} {s.attempts:>5}  "
                f"{_when(s.started_at):<23}  {_when(s.ended_at)}"
            )


def _step(spec: str | None) -> str | tuple[str, int] | None:
    """NAME or NAME#COUNT."""
    if spec is None:
        return None
    name, hash_, count = spec.rpartition("#")
    return (name, int(count)) if hash_ and count.isdigit() else spec


def _workflows(args: argparse.Namespace) -> int:
    from .workflows import Engine

    if "://" not in args.db and not os.path.isfile(args.db):
        raise ValueError(f"{args.db}: no such database file")
    engine = Engine(args.db)
    try:
        if args.command == "list":
            for s in engine.list(status=args.status, tenant=args.tenant, limit=args.limit):
                print(f"{s.id}\t{s.tenant}\t{s.workflow}\t{s.status}\t{_when(s.created_at)}")
        elif args.command == "show":
            _show(engine.get(args.id).status())
        elif args.command == "send-event":
            engine.get(args.id).send_event(args.type, json.loads(args.payload))
        elif args.command == "restart":
            engine.get(args.id).restart(_step(args.from_step))
        else:
            getattr(engine.get(args.id), args.command)()
    finally:
        engine.close()
    return 0


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="dynisolate", description="Durable workflows for tenant code.")
    sub = parser.add_subparsers(dest="area", required=True)

    worker = sub.add_parser("worker", help="run worker threads on a database until interrupted")
    worker.add_argument("--db", required=True, help="a SQLite database file or a postgresql:// URL")
    worker.add_argument(
        "--workers", type=int, help="worker threads (default: three per CPU on SQLite, five on PostgreSQL)"
    )
    worker.add_argument("--lease-s", type=float, default=10.0, help="how long a claim lasts unrenewed")
    worker.add_argument(
        "--retention-s", type=float, help="how long finished instances are kept (default 30 days)"
    )
    worker.add_argument(
        "--host-id", help="this machine's name in leases (default: hostname and PID namespace)"
    )
    worker.add_argument("--synchronous", choices=("full", "normal"), default="full")
    worker.add_argument("--env-factory", help="MODULE:FUNCTION building env from (tenant, metadata)")
    worker.add_argument("--outbound", help="MODULE:FUNCTION, the outbound handler of JavaScript runs")
    worker.add_argument("--cpu-ms", type=int, help="the CPU budget of one run, waits aside (default 30,000)")
    worker.add_argument("--wall-ms", type=int, help="the wall-clock budget of one run (default 900,000)")
    worker.add_argument("--workflows", help="MODULE:ATTRIBUTE, a dict of Python workflows by name")
    worker.add_argument(
        "--sandbox-processes",
        type=int,
        metavar="N",
        help="run each tenant's JavaScript runs in N sandbox processes of its own (process isolation)",
    )
    worker.set_defaults(run=_worker)

    flows = sub.add_parser("workflows", help="inspect and steer instances")
    flows.add_argument("--db", required=True, help="a SQLite database file or a postgresql:// URL")
    commands = flows.add_subparsers(dest="command", required=True)
    listing = commands.add_parser("list", help="instances, oldest first")
    listing.add_argument("--status")
    listing.add_argument("--tenant")
    listing.add_argument("--limit", type=int, default=100)
    commands.add_parser("show", help="status, output and step timeline").add_argument("id")
    send = commands.add_parser("send-event", help="deliver an event (payload as JSON)")
    send.add_argument("id")
    send.add_argument("type")
    send.add_argument("payload")
    for name in ("pause", "resume", "terminate", "delete"):
        commands.add_parser(name).add_argument("id")
    restart = commands.add_parser("restart", help="run again, from scratch or from a step")
    restart.add_argument("id")
    restart.add_argument("--from-step", help="NAME or NAME#COUNT (the occurrence, from 1)")
    flows.set_defaults(run=_workflows)
    return parser


def main(argv: list[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    try:
        return int(args.run(args))
    except (DynisolateError, ValueError) as error:  # json.JSONDecodeError is a ValueError
        print(f"dynisolate: {type(error).__name__}: {error}", file=sys.stderr)
        return 1
    except sqlite3.DatabaseError as error:
        print(f"dynisolate: {args.db} is not a workflow database: {error}", file=sys.stderr)
        return 1
