"""The request context and the events besides requests, as Cloudflare gives them: `request.cf`,
`ctx.props`, `scheduled` and `queue` handlers, service-worker syntax, and what
`cloudflare:workers` exports."""

from __future__ import annotations

import datetime

import pytest

import dynisolate
from dynisolate import QueueMessage, Request

HANDLERS = """
export default {
  async fetch(request, env, ctx) {
    const copied = new Request(request).cf ?? null;
    return Response.json({ cf: request.cf ?? null, props: ctx.props, copied });
  },
  props(x, env, ctx) { return [x, ctx.props]; },
  async scheduled(controller, env, ctx) {
    await env.SEEN({ cron: controller.cron, at: controller.scheduledTime, props: ctx.props });
    if (controller.cron === "stop") controller.noRetry();
    if (controller.cron === "fail") throw new RangeError("cron failed");
  },
  async queue(batch, env, ctx) {
    const bodies = [];
    for (const message of batch.messages) {
      bodies.push(message.body);
      if (message.body === "ack") message.ack();
      if (message.body === "retry") message.retry({ delaySeconds: 30 });
      if (message.body === "later") message.retry();
    }
    await env.SEEN({ queue: batch.queue, bodies, attempts: batch.messages.map((m) => m.attempts),
                     dated: batch.messages.every((m) => m.timestamp instanceof Date) });
    if (bodies.includes("all")) batch.retryAll({ delaySeconds: 5 });
    if (bodies.includes("boom")) throw new TypeError("batch failed");
  },
};
"""


@pytest.fixture
def seen() -> list[object]:
    return []


@pytest.fixture
def worker(loader: dynisolate.Loader, seen: list[object]) -> dynisolate.Worker:
    return loader.load({"handlers.js": HANDLERS}, env={"SEEN": seen.append})


def test_request_cf_is_the_dict_the_caller_passes(worker: dynisolate.Worker) -> None:
    cf = {"country": "DE", "asn": 3320, "tlsVersion": "TLSv1.3"}
    response = worker.fetch(Request("https://tenant.example/", cf=cf))
    assert response.json() == {"cf": cf, "props": {}, "copied": cf}
    assert worker.fetch(Request("https://tenant.example/")).json()["cf"] is None
    with pytest.raises(TypeError, match="cf must be a mapping"):
        Request("https://x.example/", cf=["not", "a", "dict"])  # type: ignore[arg-type]


def test_ctx_props_come_from_the_entrypoint_and_do_not_leak(worker: dynisolate.Worker) -> None:
    tenant = worker.get_entrypoint(props={"account": "acme", "plan": "pro"})
    assert tenant.props(1) == [1, {"account": "acme", "plan": "pro"}]
    assert tenant.fetch(Request("https://x.example/")).json()["props"] == {"account": "acme", "plan": "pro"}
    assert worker.get_entrypoint().props(2) == [2, {}]
    with worker.session() as session:
        assert session.get_entrypoint(props={"n": 1}).props(3) == [3, {"n": 1}]
        assert session.get_entrypoint().props(4) == [4, {}]  # the next call of the session has none


def test_props_are_for_javascript_workers(numeric: dynisolate.Worker) -> None:
    with pytest.raises(TypeError, match="props are for JavaScript workers"):
        numeric.get_entrypoint(props={"a": 1})


def test_scheduled_gets_cron_and_time_and_no_retry(worker: dynisolate.Worker, seen: list[object]) -> None:
    when = datetime.datetime(2026, 12, 7, 3, 0, tzinfo=datetime.UTC)
    assert worker.scheduled("*/5 * * * *", when) == dynisolate.ScheduledResult(no_retry=False)
    assert seen == [{"cron": "*/5 * * * *", "at": int(when.timestamp() * 1000), "props": {}}]
    assert worker.scheduled("stop").no_retry is True
    with pytest.raises(dynisolate.GuestError) as info:
        worker.scheduled("fail")
    assert (info.value.name, info.value.guest_message) == ("RangeError", "cron failed")
    with pytest.raises(ValueError, match="aware datetime"):
        worker.scheduled("x", datetime.datetime(2026, 1, 1))


def test_queue_messages_ack_and_retry_and_the_host_sees_which(
    worker: dynisolate.Worker, seen: list[object]
) -> None:
    messages = [
        QueueMessage("ack", id="a"),
        QueueMessage("retry", id="r", attempts=3),
        QueueMessage("plain", id="p"),
    ]
    result = worker.queue("jobs", [*messages, QueueMessage("later", id="l")])
    assert result == dynisolate.QueueResult(acked=["a", "p"], retried={"r": 30, "l": None}, error=None)
    assert seen[-1] == {
        "queue": "jobs",
        "bodies": ["ack", "retry", "plain", "later"],
        "attempts": [1, 3, 1, 1],
        "dated": True,
    }


def test_a_failed_batch_retries_what_was_not_acked(worker: dynisolate.Worker) -> None:
    batch = [QueueMessage("ack", id="a"), QueueMessage("boom", id="b"), QueueMessage(1, id="c")]
    result = worker.queue("jobs", batch)
    assert result.acked == ["a"]
    assert result.retried == {"b": None, "c": None}
    assert result.error is not None and result.error.name == "TypeError"
    all_retried = worker.queue("jobs", [QueueMessage("all", id="x"), QueueMessage("ack", id="y")])
    assert all_retried.acked == ["y"] and all_retried.retried == {"x": 5}


def test_ten_thousand_messages_in_one_batch(seen: list[object]) -> None:
    # The batch and the copy the handler sends back need more than the shared loader's 16 MiB.
    with dynisolate.Loader(max_isolates=2, max_memory_bytes=64 << 20, cache_dir=None) as loader:
        worker = loader.load({"handlers.js": HANDLERS}, env={"SEEN": seen.append})
        result = worker.queue("bulk", ({"n": i} for i in range(10_000)))
    assert len(result.acked) == 10_000 and result.retried == {} and result.error is None
    assert len(seen[-1]["bodies"]) == 10_000  # type: ignore[index]


def test_queue_ids_must_be_unique(worker: dynisolate.Worker) -> None:
    with pytest.raises(ValueError, match="two messages of the batch have the id 'x'"):
        worker.queue("q", [QueueMessage(1, id="x"), QueueMessage(2, id="x")])


SERVICE_WORKER = """
addEventListener("fetch", (event) => {
  event.respondWith(handle(event.request));
});
addEventListener("scheduled", (event) => {
  event.waitUntil(Promise.resolve(GREETING.length));
  if (event.cron === "x") event.noRetry();
});
async function handle(request) {
  return new Response(`${GREETING} ${new URL(request.url).pathname} ${typeof self.addEventListener}`);
}
"""


def test_service_worker_syntax_serves_fetch_with_env_as_globals(loader: dynisolate.Loader) -> None:
    worker = loader.load({"sw.js": SERVICE_WORKER}, env={"GREETING": "hello"})
    assert worker.fetch(Request("https://x.example/path")).text() == "hello /path function"
    assert worker.scheduled("x").no_retry is True
    assert worker.scheduled("y").no_retry is False


def test_a_service_worker_that_does_not_respond_is_an_error(loader: dynisolate.Loader) -> None:
    worker = loader.load({"sw.js": 'addEventListener("fetch", () => {});'})
    with pytest.raises(dynisolate.GuestError, match="no fetch listener called respondWith"):
        worker.fetch(Request("https://x.example/"))


def test_cloudflare_workers_exports_env_wait_until_and_rpc_target(loader: dynisolate.Loader) -> None:
    source = """
    import { env, waitUntil, RpcTarget, WorkerEntrypoint, DurableObject } from "cloudflare:workers";
    const atModuleScope = Object.keys(env).length;
    class Counter extends RpcTarget {}
    export default {
      async read() {
        let done = false;
        waitUntil(new Promise((r) => setTimeout(r, 5)).then(() => { done = true; }));
        return [env.NAME, Object.keys(env), "NAME" in env, atModuleScope, new Counter() instanceof RpcTarget,
                typeof WorkerEntrypoint, typeof DurableObject, Reflect.set(env, "NAME", "x"), env.NAME];
      },
    };"""
    worker = loader.load({"a.js": source}, env={"NAME": "tenant"})
    assert worker.get_entrypoint().read() == [
        "tenant", ["NAME"], True, 0, True, "function", "function", False, "tenant",
    ]  # fmt: skip


def test_events_without_a_handler_fail_the_call(loader: dynisolate.Loader) -> None:
    worker = loader.load({"a.js": "export default { hello() { return 1; } };"})
    with pytest.raises(dynisolate.GuestError, match="default.queue is not a function"):
        worker.queue("q", ["m"])
    with pytest.raises(dynisolate.GuestError, match="default.scheduled is not a function"):
        worker.scheduled("* * * * *")
    assert worker.get_entrypoint().hello() == 1


def test_a_session_cannot_redefine_its_context(loader: dynisolate.Loader) -> None:
    source = """export default {
      tamper(env, ctx) {
        const forged = { get: () => ({ account: "forged" }) };
        try { Object.defineProperty(ctx, "props", forged); } catch (e) { return e.name; }
        return "redefined";
      },
      read(env, ctx) { return ctx.props; },
    };"""
    worker = loader.load({"a.js": source})
    with worker.session() as session:
        assert session.get_entrypoint(props={"account": "acme"}).tamper() == "TypeError"
        assert session.get_entrypoint(props={"account": "acme"}).read() == {"account": "acme"}


def test_a_tampered_queue_outcome_is_refused_not_believed(loader: dynisolate.Loader) -> None:
    source = """export default {
      async queue(batch) {
        if (batch.queue === "delay") { batch.messages[0].retry({ delaySeconds: NaN }); return; }
        Object.defineProperty(Array.prototype, "0", { configurable: true, set(v) {
          delete Array.prototype[0];
          const own = { value: "foreign", writable: true, enumerable: true, configurable: true };
          Object.defineProperty(this, "0", own);
        } });
      },
    };"""
    worker = loader.load({"a.js": source})
    with pytest.raises(dynisolate.SerializationError, match="does not name each message of the batch once"):
        worker.queue("q", [QueueMessage(1, id="real")])
    delayed = worker.queue("delay", [QueueMessage(1, id="m")])
    assert delayed.error is not None and delayed.error.name == "RangeError"
    assert delayed.retried == {"m": None} and delayed.acked == []


@pytest.mark.parametrize(
    "outcome",
    [
        {"acked": [1], "retried": [], "error": None},  # an id that is not a str
        {"acked": [["a"]], "retried": [], "error": None},
        {"acked": ["a", "a"], "retried": [], "error": None},
        {"acked": [], "retried": [["a", "soon"]], "error": None},
        {"acked": ["a"], "retried": [], "error": {"name": "E"}},  # an error without its message
        {"acked": ["a"], "retried": "x", "error": None},
        ["not", "a", "dict"],
    ],
)
def test_every_malformed_queue_outcome_is_a_serialization_error(outcome: object) -> None:
    from dynisolate._events import queue_result

    with pytest.raises(dynisolate.SerializationError):
        queue_result(outcome, ["a"])
