"""Service bindings (python/dynisolate/_env.py, ENV_SERVICE in rust/js/protocol.rs): a Worker or
an Entrypoint in env is another worker the tenant calls, by `fetch` and by RPC; and `Request` and
`Response` as RPC values, which `fetch` through a binding rests on."""

from __future__ import annotations

import time

import pytest

import dynisolate

AUTH = """
import { WorkerEntrypoint } from "cloudflare:workers";
export class Auth extends WorkerEntrypoint {
  check(token) { return { ok: token === "s3cret", tenant: this.ctx.props.tenant ?? null }; }
  explode() { throw new RangeError("auth is down"); }
  spin() { for (;;) {} }
}
export default {
  async fetch(request) {
    const body = await request.text();
    const path = new URL(request.url).pathname;
    return new Response(`${request.method} ${path} ${body} ${request.headers.get("x-key")}`, {
      status: 201,
      headers: { "x-from": "auth" },
    });
  },
};
"""

FRONT = """
export default {
  async check(token, env) { return env.AUTH.check(token); },
  async page(env) {
    const init = { method: "POST", body: "hello", headers: { "x-key": "k1" } };
    const res = await env.SITE.fetch(new Request("https://auth.internal/login", init));
    return [res instanceof Response, res.status, await res.text(), res.headers.get("x-from")];
  },
  async explode(env) {
    try { await env.AUTH.explode(); return "no error"; } catch (e) { return [e.name, e.message]; }
  },
  async spin(env) {
    try { await env.AUTH.spin(); return "returned"; } catch (e) { return [e.name, e.message]; }
  },
  async many(n, env) { for (let i = 0; i < n; i++) await env.AUTH.check("x"); return n; },
  async missing(env) { return typeof env.AUTH.nope; },
  async pageBy(env) {
    // As the global fetch: a URL string or a URL object, with an init.
    const init = { method: "PUT", body: "b", headers: { "x-key": "k" } };
    const byString = await env.SITE.fetch("https://auth.internal/a", init);
    const byUrl = await env.SITE.fetch(new URL("https://auth.internal/c"));
    const tampered = await (async () => {
      Array.prototype[Symbol.iterator] = function* () { yield "tampered"; };
      return (await env.SITE.fetch("https://auth.internal/d")).text();
    })();
    let relative;
    try { await env.SITE.fetch("/relative"); } catch (e) { relative = e.name; }
    return [await byString.text(), await byUrl.text(), tampered, relative];
  },
};
"""


@pytest.fixture
def auth(loader: dynisolate.Loader) -> dynisolate.Worker:
    return loader.load({"auth.js": AUTH}, limits=dynisolate.Limits(cpu_ms=200))


@pytest.fixture
def front(loader: dynisolate.Loader, auth: dynisolate.Worker) -> dynisolate.Entrypoint:
    env = {"AUTH": auth.get_entrypoint("Auth", props={"tenant": "t-1"}), "SITE": auth}
    return loader.load(
        {"front.js": FRONT}, env=env, limits=dynisolate.Limits(sub_requests=5)
    ).get_entrypoint()


def test_rpc_through_a_service_reaches_the_bound_entrypoint_with_its_props(
    front: dynisolate.Entrypoint,
) -> None:
    assert front.check("s3cret") == {"ok": True, "tenant": "t-1"}
    assert front.check("wrong") == {"ok": False, "tenant": "t-1"}


def test_fetch_through_a_service_carries_the_request_and_the_response(front: dynisolate.Entrypoint) -> None:
    assert front.page() == [True, 201, "POST /login hello k1", "auth"]


def test_fetch_through_a_service_takes_what_the_global_fetch_takes(front: dynisolate.Entrypoint) -> None:
    assert front.pageBy() == ["PUT /a b k", "GET /c  null", "GET /d  null", "TypeError"]


def test_the_bound_workers_errors_and_limits_reach_the_caller_as_errors(front: dynisolate.Entrypoint) -> None:
    assert front.explode() == ["RangeError", "auth is down"]
    name, message = front.spin()
    assert name == "Error" and "200" in message, message  # the bound worker's own cpu_ms
    assert front.check("s3cret")["ok"] is True  # both pools serve the next call


def test_each_service_call_is_a_sub_request_of_the_caller(front: dynisolate.Entrypoint) -> None:
    assert front.many(5) == 5
    with pytest.raises(dynisolate.SubRequestLimitError):
        front.many(6)
    assert front.many(1) == 1


def test_only_the_bound_entrypoints_exports_are_reachable(
    loader: dynisolate.Loader, front: dynisolate.Entrypoint
) -> None:
    assert front.missing() == "undefined"
    probe = loader.load(
        {
            "probe.js": """
                export default {
                  async f(env) {
                    return [Object.keys(env.AUTH).sort(), Object.isFrozen(env.AUTH), "SITE" in env];
                  },
                };
            """
        },
        env={"AUTH": loader.load({"auth.js": AUTH}).get_entrypoint("Auth")},
    )
    assert probe.get_entrypoint().f() == [["check", "explode", "spin"], True, False]


def test_exports_named_like_entrypoint_methods_are_those_exports(loader: dynisolate.Loader) -> None:
    inner = loader.load({"inner.js": "export default { call(x) { return `export call ${x}`; } };"})
    outer = loader.load(
        {"outer.js": "export default { async f(env) { return env.SVC.call('x'); } };"}, env={"SVC": inner}
    )
    assert outer.get_entrypoint().f() == "export call x"


def test_an_async_entrypoint_is_refused_as_a_service(
    loader: dynisolate.Loader, auth: dynisolate.Worker
) -> None:
    with pytest.raises(dynisolate.LoadError, match="AsyncEntrypoint: bind the Worker or its get_entrypoint"):
        loader.load({"front.js": FRONT}, env={"AUTH": auth.get_async_entrypoint("Auth")})


def test_a_worker_calling_itself_is_stopped_by_a_limit(loader: dynisolate.Loader) -> None:
    source = "export default { async f(n, env) { return n === 0 ? 0 : 1 + await env.SELF.f(n - 1); } };"
    inner = loader.load({"self.js": source}, limits=dynisolate.Limits(sub_requests=3))
    outer = loader.load({"self.js": source}, env={"SELF": inner}, limits=dynisolate.Limits(sub_requests=3))
    # The inner worker has no SELF binding: the chain is two hops, then an error.
    assert outer.get_entrypoint().f(1) == 1
    with pytest.raises(dynisolate.GuestError, match="TypeError"):
        outer.get_entrypoint().f(2)


SPIN = "export default { spin() { for (;;) {} }, f() { return 1; } };"


def stopped_by_the_callers_deadline(loader: dynisolate.Loader, source: str, env: dict[str, object]) -> None:
    """Calls `go` of a worker allowed 300 ms of wall-clock time whose env reaches a callee allowed
    30 s of CPU that spins: the callee inherits the caller's wall-clock deadline (never its CPU
    deadline, which stands still while the caller waits), so both must stop near 300 ms."""
    caller = loader.load({"caller.js": source}, env=env, limits=dynisolate.Limits(wall_ms=300))
    started = time.monotonic()
    with pytest.raises(dynisolate.WallTimeLimitError):
        caller.get_entrypoint().go()
    assert time.monotonic() - started < 5


@pytest.fixture
def spinner(loader: dynisolate.Loader) -> dynisolate.Worker:
    return loader.load({"spin.js": SPIN}, limits=dynisolate.Limits(cpu_ms=30_000))


def test_a_service_call_ends_by_the_callers_deadline(
    loader: dynisolate.Loader, spinner: dynisolate.Worker
) -> None:
    source = "export default { async go(env) { return await env.SVC.spin(); } };"
    stopped_by_the_callers_deadline(loader, source, {"SVC": spinner})
    assert spinner.get_entrypoint().f() == 1  # alone, the callee keeps its own limit


def test_any_call_a_host_makes_while_serving_ends_by_the_callers_deadline(
    loader: dynisolate.Loader, spinner: dynisolate.Worker
) -> None:
    seen: list[str] = []

    def relay() -> int:
        try:
            return spinner.get_entrypoint().spin()
        except dynisolate.WallTimeLimitError as e:
            seen.append(type(e).__name__)
            raise

    stopped_by_the_callers_deadline(
        loader, "export default { async go(env) { return await env.relay(); } };", {"relay": relay}
    )
    assert seen == ["WallTimeLimitError"]


# ---- Request and Response as RPC values ----

MESSAGES = """
export default {
  request() {
    return new Request("https://example.com/a?b=1", { method: "PUT", body: new Uint8Array([0, 255]),
                                                       headers: { "x-one": "1" }, cf: { colo: "AMS" } });
  },
  response() {
    return new Response("made", { status: 202, statusText: "Accepted", headers: { "x-two": "2" } });
  },
  async inspect(request, response) {
    return [request instanceof Request, request.method, request.url, await request.text(),
            request.headers.get("a"), request.cf, response instanceof Response, response.status,
            await response.text()];
  },
  shared() { const r = new Response("x"); return [r, r]; },
  async used() { const r = new Response("x"); await r.text(); return r; },
  async fromEnv(env) { const r = await env.MAKE(); return [r.status, await r.text()]; },
};
"""


@pytest.fixture
def messages(loader: dynisolate.Loader) -> dynisolate.Entrypoint:
    env = {"MAKE": lambda: dynisolate.Response(b"from python", 203)}
    return loader.load({"messages.js": MESSAGES}, env=env).get_entrypoint()


def test_requests_and_responses_cross_from_the_guest(messages: dynisolate.Entrypoint) -> None:
    request = messages.request()
    assert isinstance(request, dynisolate.Request)
    assert (request.method, request.url, request.body, request.headers, request.cf) == (
        "PUT",
        "https://example.com/a?b=1",
        b"\x00\xff",
        {"x-one": "1"},
        {"colo": "AMS"},
    )
    response = messages.response()
    assert isinstance(response, dynisolate.Response)
    assert (response.status, response.status_text, response.body, response.headers) == (
        202,
        "Accepted",
        b"made",
        {"content-type": "text/plain;charset=UTF-8", "x-two": "2"},
    )


def test_requests_and_responses_cross_to_the_guest(messages: dynisolate.Entrypoint) -> None:
    request = dynisolate.Request("https://h/p", method="POST", body="in", headers={"a": "b"}, cf={"k": 1})
    assert messages.inspect(request, dynisolate.Response("out", 204)) == [
        True,
        "POST",
        "https://h/p",
        "in",
        "b",
        {"k": 1},
        True,
        204,
        "out",
    ]
    assert messages.fromEnv() == [203, "from python"]


def test_a_shared_response_arrives_as_one_object(messages: dynisolate.Entrypoint) -> None:
    first, second = messages.shared()
    assert first is second and first.body == b"x"


def test_a_consumed_body_cannot_be_sent(messages: dynisolate.Entrypoint) -> None:
    with pytest.raises(
        dynisolate.SerializationError, match="result cannot be sent.*Body has already been used"
    ):
        messages.used()
    assert messages.response().body == b"made"


def test_a_body_is_bounded_by_max_payload_bytes(loader: dynisolate.Loader) -> None:
    worker = loader.load(
        {"big.js": "export default { f() { return new Response(new Uint8Array(70000)); } };"},
        limits=dynisolate.Limits(max_payload_bytes=65536),
    )
    with pytest.raises(dynisolate.PayloadTooLargeError):
        worker.get_entrypoint().f()
