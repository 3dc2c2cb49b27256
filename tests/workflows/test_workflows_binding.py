"""The Workflow binding: a tenant's worker starts and drives its own durable workflows with
Cloudflare's binding API, and reaches no other tenant's instances."""

from __future__ import annotations

import time
from collections.abc import Iterator

import pytest

import dynisolate
from dynisolate.workflows import Engine, WorkflowBinding, engine_instance_id

WORKFLOW = """
import { WorkflowEntrypoint } from "cloudflare:workers";
export class Greet extends WorkflowEntrypoint {
  async run(event, step) {
    const name = await step.do("name", async () => event.payload.name.toUpperCase());
    const reply = await step.waitForEvent("approval", { type: "approve", timeout: "1 hour" });
    return { hello: name, approvedBy: reply.payload.by };
  }
}
"""

WORKER = """
export default {
  async start(name, env) {
    const instance = await env.GREET.create({ id: "greet-" + name, params: { name } });
    return [instance.id, (await instance.status()).status];
  },
  async pipelined(env) {
    // As on Workers RPC: the instance's id is on the promise of it already.
    return await env.GREET.create({ params: { name: "pipe" } }).id;
  },
  async batch(env) {
    const made = await env.GREET.createBatch([{ params: { name: "a" } }, { params: { name: "b" } }]);
    return made.map((i) => i.id);
  },
  async approve(id, env) {
    const instance = await env.GREET.get(id);
    await instance.sendEvent({ type: "approve", payload: { by: "ops" } });
    return instance.id;
  },
  async status(id, env) { return await (await env.GREET.get(id)).status(); },
  async control(id, env) {
    const instance = await env.GREET.get(id);
    await instance.pause();
    const paused = (await instance.status()).status;
    await instance.resume();
    await instance.terminate();
    return [paused, (await instance.status()).status];
  },
  async terminateTwice(id, env) {
    const instance = await env.GREET.get(id);
    await instance.terminate();
    try { await instance.terminate(); } catch (e) { return `${e.name}: ${e.message}`; }
    return "terminated twice";
  },
  async peek(id, env) {
    try { await env.GREET.get(id); return "found"; } catch (e) { return `${e.name}: ${e.message}`; }
  },
  async misuse(env) {
    const out = [];
    const attempts = [
      () => env.GREET.create("x"),
      () => env.GREET.create({ bogus: 1 }),
      () => env.GREET.get(7),
      () => env.GREET.create({ id: "../other" }),
      () => env.GREET.createBatch(Array.from({ length: 101 }, () => ({}))),
    ];
    for (const bad of attempts) {
      try { await bad(); out.push("accepted"); } catch (e) { out.push(e.name); }
    }
    return out;
  },
};
"""


@pytest.fixture
def engine(db: str, loader: dynisolate.Loader) -> Iterator[Engine]:
    with Engine(db, loader=loader, poll_s=0.01) as engine:
        yield engine


def tenant_worker(
    loader: dynisolate.Loader, engine: Engine, tenant: str
) -> tuple[dynisolate.Entrypoint, WorkflowBinding]:
    binding = WorkflowBinding(engine, tenant=tenant, entrypoint="Greet", code={"wf.js": WORKFLOW})
    return loader.load({"worker.js": WORKER}, env={"GREET": binding}).get_entrypoint(), binding


def until(engine: Engine, binding: WorkflowBinding, id: str, status: str, timeout: float = 30) -> None:
    deadline = time.monotonic() + timeout
    while (now := engine.status(engine_instance_id(binding, id))).status != status:
        assert time.monotonic() < deadline, f"still {now.status} ({now.error}, {now.steps}), not {status}"
        time.sleep(0.01)


def test_a_worker_starts_and_finishes_its_workflow_through_the_binding(
    loader: dynisolate.Loader, engine: Engine
) -> None:
    acme, binding = tenant_worker(loader, engine, "acme")
    instance_id, status = acme.start("ada")
    assert instance_id == "greet-ada" and status in ("queued", "running", "waiting")
    until(engine, binding, "greet-ada", "waiting")
    assert acme.approve("greet-ada") == "greet-ada"
    until(engine, binding, "greet-ada", "complete")
    assert acme.status("greet-ada") == {"status": "complete", "output": {"hello": "ADA", "approvedBy": "ops"}}
    stored = engine.status(engine_instance_id(binding, "greet-ada"))
    assert (stored.tenant, stored.workflow) == ("acme", "Greet")
    assert stored.id != "greet-ada"  # the engine's id carries the tenant's tag


def test_batches_pipelining_and_instance_control(loader: dynisolate.Loader, engine: Engine) -> None:
    acme, binding = tenant_worker(loader, engine, "acme")
    ids = acme.batch()
    assert len(ids) == 2 and all(engine.status(engine_instance_id(binding, i)).tenant == "acme" for i in ids)
    piped = acme.pipelined()
    assert engine.status(engine_instance_id(binding, piped)).tenant == "acme"
    until(engine, binding, ids[0], "waiting")
    assert acme.control(ids[0]) == ["paused", "terminated"]


def test_errors_about_an_instance_name_it_by_the_tenants_id(
    loader: dynisolate.Loader, engine: Engine
) -> None:
    acme, binding = tenant_worker(loader, engine, "acme")
    acme.start("once")
    message = acme.terminateTwice("greet-once")
    assert message == "Error: workflow instance 'greet-once' is terminated and cannot terminate"
    assert engine_instance_id(binding, "greet-once") not in message


def test_a_tenant_reaches_only_its_own_instances(loader: dynisolate.Loader, engine: Engine) -> None:
    acme, _ = tenant_worker(loader, engine, "acme")
    rival, _ = tenant_worker(loader, engine, "rival")
    acme.start("secret")
    assert acme.peek("greet-secret") == "found"
    missing = rival.peek("greet-secret")
    assert missing == "Error: no workflow instance has id 'greet-secret'"
    assert rival.peek("greet-nothing") == "Error: no workflow instance has id 'greet-nothing'"
    # The same id is the rival's own to take: no clash, and nothing tells it that acme has one.
    assert rival.start("secret")[0] == "greet-secret"
    assert rival.peek("greet-secret") == "found"
    assert len(engine.list(tenant="acme")) == len(engine.list(tenant="rival")) == 1
    other_workflow = WorkflowBinding(engine, tenant="acme", entrypoint="Other", code={"wf.js": WORKFLOW})
    other = loader.load({"worker.js": WORKER}, env={"GREET": other_workflow}).get_entrypoint()
    assert other.peek("greet-secret").startswith("Error: no workflow instance")


def test_bad_arguments_are_type_errors_and_nothing_is_created(
    loader: dynisolate.Loader, engine: Engine
) -> None:
    acme, _ = tenant_worker(loader, engine, "acme")
    assert acme.misuse() == ["TypeError", "TypeError", "TypeError", "TypeError", "TypeError"]
    assert engine.list(tenant="acme") == []
