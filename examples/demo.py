"""The main job: dynisolate as a platform uses it.

A tenant brings a Cloudflare Worker project as written (several TypeScript files, imports without
extensions). The platform gives it bindings written in Python: a KV namespace and a D1 database
(sqlite3, one per tenant), both below as worked examples, and a Workflow binding backed by the
durable engine. The worker serves requests, keeps data, and starts a durable signup workflow
through its binding; the workflow waits for a confirmation event and finishes. Then the demo
times fresh isolates, as a platform serving many tenants would see them.
"""

from __future__ import annotations

import sqlite3
import statistics
import threading
import time
from typing import Any

import dynisolate
from dynisolate.workflows import Engine, WorkflowBinding, engine_instance_id


class KVNamespace(dynisolate.RpcTarget):
    """A KV-shaped binding (Cloudflare's `env.KV`): strings or bytes by key, one namespace per
    tenant. Only these public methods are reachable from the guest."""

    def __init__(self) -> None:
        self._data: dict[str, str | bytes] = {}

    def get(self, key: str, options: Any = None) -> Any:
        value = self._data.get(key)
        kind = options if isinstance(options, str) else (options or {}).get("type", "text")
        if value is None or kind == "text":
            return value
        if kind == "json":
            import json

            return json.loads(value)
        if kind == "arrayBuffer":
            return value.encode() if isinstance(value, str) else value
        raise TypeError(f"KV get: unknown type {kind!r}")

    def put(self, key: str, value: str | bytes, options: Any = None) -> None:
        if not isinstance(value, (str, bytes)):
            raise TypeError("KV put takes a string or bytes")
        self._data[key] = value

    def delete(self, key: str) -> None:
        self._data.pop(key, None)

    def list(self, options: Any = None) -> dict[str, Any]:
        prefix = (options or {}).get("prefix", "")
        names = sorted(k for k in self._data if k.startswith(prefix))
        return {"keys": [{"name": name} for name in names], "list_complete": True}


class D1Statement(dynisolate.RpcTarget):
    """What `env.DB.prepare(sql)` returns: `bind(...)`, then `first()`, `all()` or `run()`."""

    def __init__(self, db: D1Database, sql: str, params: tuple[Any, ...] = ()) -> None:
        self._db, self._sql, self._params = db, sql, params

    def bind(self, *params: Any) -> D1Statement:
        return D1Statement(self._db, self._sql, params)

    def all(self) -> dict[str, Any]:
        rows, changes, last = self._db._execute(self._sql, self._params)
        return {"results": rows, "success": True, "meta": {"changes": changes, "last_row_id": last}}

    def first(self, column: str | None = None) -> Any:
        rows = self.all()["results"]
        if not rows:
            return None
        return rows[0] if column is None else rows[0][column]

    def run(self) -> dict[str, Any]:
        result = self.all()
        return {"success": True, "meta": result["meta"]}


class D1Database(dynisolate.RpcTarget):
    """A D1-shaped binding (Cloudflare's `env.DB`) over the standard library's sqlite3: one
    database per tenant, statements with bound parameters only."""

    def __init__(self, path: str = ":memory:") -> None:
        self._connection = sqlite3.connect(path, check_same_thread=False)
        self._connection.row_factory = sqlite3.Row
        self._lock = threading.Lock()

    def prepare(self, sql: str) -> D1Statement:
        if not isinstance(sql, str):
            raise TypeError("prepare takes SQL text")
        return D1Statement(self, sql)

    def exec(self, sql: str) -> dict[str, Any]:
        with self._lock, self._connection:
            self._connection.executescript(sql)
        return {"count": sql.count(";") or 1}

    def _execute(self, sql: str, params: tuple[Any, ...]) -> tuple[list[dict[str, Any]], int, int | None]:
        # Private: the guest reaches the database only through prepared statements.
        with self._lock, self._connection:
            cursor = self._connection.execute(sql, params)
            rows = [dict(row) for row in cursor.fetchall()]
            return rows, max(cursor.rowcount, 0), cursor.lastrowid


# The tenant's project, as its authors wrote it for Cloudflare Workers.
PROJECT = {
    "src/index.ts": """
import { users, addUser } from "./db";
import { Signup } from "./workflow";
export { Signup };

interface Env { KV: KVNamespace; DB: D1Database; SIGNUPS: Workflow }

export default {
  async fetch(request: Request, env: Env, ctx: ExecutionContext): Promise<Response> {
    const url = new URL(request.url);
    if (url.pathname === "/signup" && request.method === "POST") {
      const { email } = await request.json<{ email: string }>();
      const instance = await env.SIGNUPS.create({ params: { email, country: request.cf?.country } });
      ctx.waitUntil(env.KV.put("last-signup", email));
      return Response.json({ started: instance.id }, { status: 202 });
    }
    if (url.pathname === "/users") return Response.json(await users(env.DB));
    if (url.pathname === "/last") return new Response(await env.KV.get("last-signup"));
    return new Response("not found", { status: 404 });
  },
  addUser,
};
""",
    "src/db.ts": """
export async function users(db: D1Database) {
  const { results } = await db.prepare("SELECT id, email, country FROM users ORDER BY id").all();
  return results;
}
export async function addUser(db: D1Database, email: string, country: string): Promise<number> {
  const insert = db.prepare("INSERT INTO users (email, country) VALUES (?, ?)");
  const { meta } = await insert.bind(email, country).run();
  return meta.last_row_id;
}
""",
    "src/workflow.ts": """
import { WorkflowEntrypoint, WorkflowStep, WorkflowEvent } from "cloudflare:workers";
import { addUser } from "./db";

type Params = { email: string; country?: string };

export class Signup extends WorkflowEntrypoint<Env, Params> {
  async run(event: WorkflowEvent<Params>, step: WorkflowStep) {
    const id = await step.do("create user", async () =>
      addUser(this.env.DB, event.payload.email, event.payload.country ?? "unknown"));
    const confirmation = await step.waitForEvent("confirmation", { type: "confirmed", timeout: "1 hour" });
    await step.do("welcome", async () => this.env.KV.put(`welcome:${id}`, confirmation.payload.locale));
    return { user: id, locale: confirmation.payload.locale };
  }
}
""",
}


def main() -> None:
    tenant = "acme"
    db, kv = D1Database(), KVNamespace()
    db.exec("CREATE TABLE users (id INTEGER PRIMARY KEY, email TEXT, country TEXT);")
    loader = dynisolate.Loader()
    with Engine(":memory:", loader=loader, env_factory=lambda t, metadata: {"DB": db, "KV": kv}) as engine:
        signups = WorkflowBinding(engine, tenant=tenant, entrypoint="Signup", code=PROJECT)
        started = time.perf_counter()
        worker = loader.load(PROJECT, env={"KV": kv, "DB": db, "SIGNUPS": signups})
        load_ms = (time.perf_counter() - started) * 1000
        print(
            f"loaded the tenant's project ({len(PROJECT)} TypeScript files) in {load_ms:.0f} ms "
            f"(bytecode {worker.cache_outcome})"
        )

        signup = '{"email": "ada@example.com"}'
        url = "https://acme.example/signup"
        request = dynisolate.Request(url, method="POST", body=signup, cf={"country": "GB"})
        response = worker.fetch(request)
        instance_id = response.json()["started"]
        print(f"POST /signup -> {response.status}, workflow instance {instance_id}")
        instance = engine.get(engine_instance_id(signups, instance_id))
        while instance.status().status not in ("waiting", "errored"):
            time.sleep(0.01)
        print(f"the workflow created the user and waits for its event: {instance.status().status}")
        instance.send_event("confirmed", {"locale": "en-GB"})
        print(f"after the event: {instance.wait(timeout=30).output}")
        print(f"GET /users -> {worker.fetch(dynisolate.Request('https://acme.example/users')).json()}")
        print(f"GET /last  -> {worker.fetch(dynisolate.Request('https://acme.example/last')).text()}")
        print(f"KV after the workflow: {kv.list()['keys']}")

    # What a platform serving many tenants sees: every call in a fresh isolate.
    handler = loader.load({"tenant.js": "export default { add(a, b) { return a + b; } };"})
    entry = handler.get_entrypoint()
    entry.add(1, 2)
    samples = []
    for _ in range(2_000):
        t = time.perf_counter_ns()
        entry.add(2, 3)
        samples.append(time.perf_counter_ns() - t)
    samples.sort()
    median_us = statistics.median(samples) / 1000
    p99_us = samples[int(len(samples) * 0.99)] / 1000
    print(f"fresh JavaScript isolate + call: median {median_us:.1f} us, p99 {p99_us:.1f} us over 2000 calls")


if __name__ == "__main__":
    main()
