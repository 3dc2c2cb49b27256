"""JavaScript workers talking HTTP: `fetch()` through `global_outbound`, `Worker.fetch`, and
`Limits.sub_requests`."""

from __future__ import annotations

import asyncio
import time

import pytest

import dynisolate

AGENT = """
export default {
  async get(url) {
    const r = await fetch(url, { headers: { "X-Trace": "t1" } });
    return { status: r.status, ok: r.ok, type: r.headers.get("content-type"), body: await r.json() };
  },
  async post(url, text) {
    const r = await fetch(new Request(url, { method: "POST", body: text }));
    return await r.text();
  },
  async bytes(url) {
    const r = await fetch(url, { method: "PUT", body: new Uint8Array([0, 1, 254, 255]) });
    return [...new Uint8Array(await r.arrayBuffer())];
  },
  async many(n) {
    for (let i = 0; i < n; i++) await fetch("https://api.example/" + i);
    return n;
  },
  async caught(url) {
    try {
      await fetch(url);
      return "no error";
    } catch (e) {
      return e.name + ": " + e.message;
    }
  },
  async fetch(request, env) {
    const body = request.method === "GET" ? null : await request.json();
    return Response.json(
      {
        method: request.method,
        url: request.url,
        agent: request.headers.get("user-agent"),
        body,
        greeting: env.GREETING,
      },
      { status: 201, headers: { "x-served-by": "tenant" } },
    );
  },
};

export class Admin {
  async fetch(request) { return new Response("admin:" + new URL(request.url).pathname, { status: 202 }); }
}
"""


class Recorder:
    """An outbound handler that answers every request and keeps what it saw."""

    def __init__(self) -> None:
        self.requests: list[dynisolate.Request] = []

    def __call__(self, request: dynisolate.Request) -> dynisolate.Response:
        self.requests.append(request)
        if request.method == "GET":
            return dynisolate.Response.from_json({"path": request.url.rsplit("/", 1)[-1]})
        return dynisolate.Response(request.body, 200, {"content-type": "application/octet-stream"})


def test_fetch_goes_to_the_outbound_handler(loader: dynisolate.Loader) -> None:
    outbound = Recorder()
    worker = loader.load({"agent.js": AGENT}, global_outbound=outbound)
    result = worker.get_entrypoint().get("https://api.example/items")
    assert result == {"status": 200, "ok": True, "type": "application/json", "body": {"path": "items"}}
    (request,) = outbound.requests
    assert (request.method, request.url, request.headers, request.body) == (
        "GET",
        "https://api.example/items",
        {"x-trace": "t1"},
        b"",
    )


def test_request_bodies_cross_as_bytes(loader: dynisolate.Loader) -> None:
    outbound = Recorder()
    worker = loader.load({"agent.js": AGENT}, global_outbound=outbound)
    assert worker.get_entrypoint().post("https://api.example/echo", "héllo") == "héllo"
    assert outbound.requests[0].body == "héllo".encode()
    assert outbound.requests[0].headers["content-type"] == "text/plain;charset=UTF-8"
    assert worker.get_entrypoint().bytes("https://api.example/raw") == [0, 1, 254, 255]
    assert outbound.requests[1].body == bytes([0, 1, 254, 255])


def test_handler_exceptions_reject_the_guests_fetch(loader: dynisolate.Loader) -> None:
    def deny(request: dynisolate.Request) -> dynisolate.Response:
        raise PermissionError(f"{request.url} is not on the allow-list")

    worker = loader.load({"agent.js": AGENT}, global_outbound=deny)
    assert worker.get_entrypoint().caught("https://evil.example/") == (
        "PermissionError: https://evil.example/ is not on the allow-list"
    )


def test_a_handler_returning_something_else_is_a_type_error_in_the_guest(loader: dynisolate.Loader) -> None:
    worker = loader.load({"agent.js": AGENT}, global_outbound=lambda request: {"status": 200})
    assert worker.get_entrypoint().caught("https://api.example/") == (
        "TypeError: the outbound handler returned dict, not a dynisolate.Response"
    )


def test_without_a_handler_fetch_is_not_permitted(loader: dynisolate.Loader) -> None:
    worker = loader.load({"agent.js": AGENT})
    assert (
        worker.get_entrypoint()
        .caught("https://api.example/")
        .startswith("TypeError: This worker is not permitted to access the internet")
    )


def test_async_handlers_are_awaited_on_the_callers_loop(loader: dynisolate.Loader) -> None:
    seen_loops = []

    async def outbound(request: dynisolate.Request) -> dynisolate.Response:
        seen_loops.append(asyncio.get_running_loop())
        await asyncio.sleep(0.001)
        return dynisolate.Response.from_json({"async": True})

    worker = loader.load({"agent.js": AGENT}, global_outbound=outbound)

    async def main() -> object:
        result = await worker.get_async_entrypoint().get("https://api.example/x")
        assert seen_loops == [asyncio.get_running_loop()]
        return result

    assert asyncio.run(main())["body"] == {"async": True}
    # From a synchronous call, the coroutine runs on a private loop.
    assert worker.get_entrypoint().get("https://api.example/y")["body"] == {"async": True}


def test_sub_requests_limit(loader: dynisolate.Loader) -> None:
    outbound = Recorder()
    worker = loader.load(
        {"agent.js": AGENT}, global_outbound=outbound, limits=dynisolate.Limits(sub_requests=3)
    )
    assert worker.get_entrypoint().many(3) == 3
    with pytest.raises(dynisolate.SubRequestLimitError) as info:
        worker.get_entrypoint().many(4)
    assert info.value.limit == 3
    assert len(outbound.requests) == 6  # the fourth request of the second call never left
    assert worker.get_entrypoint().many(1) == 1  # counted per call


def test_worker_fetch_calls_the_default_fetch_handler(loader: dynisolate.Loader) -> None:
    worker = loader.load({"agent.js": AGENT}, env={"GREETING": "hi"})
    request = dynisolate.Request(
        "https://tenant.example/run?x=1",
        method="post",
        headers={"User-Agent": "pytest"},
        body=b'{"q": 1}',
    )
    response = worker.fetch(request)
    assert response.status == 201
    assert response.headers["x-served-by"] == "tenant"
    assert response.headers["content-type"] == "application/json"
    assert response.json() == {
        "method": "POST",
        "url": "https://tenant.example/run?x=1",
        "agent": "pytest",
        "body": {"q": 1},
        "greeting": "hi",
    }


def test_fetch_on_named_entrypoints_and_async(loader: dynisolate.Loader) -> None:
    worker = loader.load({"agent.js": AGENT})
    response = worker.get_entrypoint("Admin").fetch(dynisolate.Request("https://t.example/a/b"))
    assert (response.status, response.text()) == (202, "admin:/a/b")
    response = asyncio.run(worker.fetch_async(dynisolate.Request("https://t.example/")))
    assert response.json()["method"] == "GET"


def test_fetch_handlers_must_return_a_response(loader: dynisolate.Loader) -> None:
    worker = loader.load({"agent.js": "export default { fetch() { return { status: 200 }; } }"})
    with pytest.raises(dynisolate.GuestError, match="must return a Response"):
        worker.fetch(dynisolate.Request("https://t.example/"))
    with pytest.raises(TypeError, match="dynisolate.Request"):
        worker.fetch("https://t.example/")  # type: ignore[arg-type]


def test_global_outbound_must_be_callable(loader: dynisolate.Loader) -> None:
    with pytest.raises(dynisolate.LoadError, match="callable"):
        loader.load({"agent.js": AGENT}, global_outbound="https://proxy")  # type: ignore[arg-type]


def test_only_http_urls_without_credentials_reach_the_handler(loader: dynisolate.Loader) -> None:
    outbound = Recorder()
    worker = loader.load({"agent.js": AGENT}, global_outbound=outbound)
    entry = worker.get_entrypoint()
    for url in ("file:///etc/passwd", "ftp://example.com/", "data:text/plain,hi"):
        assert entry.caught(url).startswith("TypeError: Fetch API cannot load"), url
    assert entry.caught("https://user:secret@example.com/") == (
        "TypeError: fetch() URLs may not carry credentials; put them in a header"
    )
    assert outbound.requests == []


def test_connection_headers_never_reach_the_handler(loader: dynisolate.Loader) -> None:
    outbound = Recorder()
    source = """export default { async send() {
      await fetch("https://api.example/x", { headers: {
        Host: "metadata.internal", Connection: "close", "Transfer-Encoding": "chunked", "X-Kept": "1" } });
    } };"""
    worker = loader.load({"agent.js": source}, global_outbound=outbound)
    worker.get_entrypoint().send()
    assert outbound.requests[0].headers == {"x-kept": "1"}


def test_outbound_responses_count_against_max_payload_bytes(loader: dynisolate.Loader) -> None:
    worker = loader.load(
        {"agent.js": AGENT},
        global_outbound=lambda request: dynisolate.Response(b"x" * 200_000),
        limits=dynisolate.Limits(max_payload_bytes=100_000),
    )
    with pytest.raises(dynisolate.PayloadTooLargeError):
        worker.get_entrypoint().post("https://api.example/", "hi")


def test_a_fetch_handler_returning_an_error_response_is_a_serialization_error(
    loader: dynisolate.Loader,
) -> None:
    worker = loader.load({"agent.js": "export default { fetch() { return Response.error(); } };"})
    with pytest.raises(dynisolate.SerializationError, match="fetch handler's response"):
        worker.fetch(dynisolate.Request("https://t.example/"))


@pytest.mark.parametrize("from_async", [False, True])
def test_an_async_handler_that_never_finishes_does_not_hold_the_call(
    loader: dynisolate.Loader, from_async: bool
) -> None:
    async def hang(request: dynisolate.Request) -> dynisolate.Response:
        await asyncio.sleep(30)
        raise AssertionError("unreachable")

    worker = loader.load({"agent.js": AGENT}, global_outbound=hang, limits=dynisolate.Limits(wall_ms=100))
    start = time.perf_counter()
    with pytest.raises(dynisolate.WallTimeLimitError):
        if from_async:
            asyncio.run(worker.get_async_entrypoint().get("https://api.example/slow"))
        else:
            worker.get_entrypoint().get("https://api.example/slow")
    assert time.perf_counter() - start < 2
    assert loader.stats()["live_isolates"] == 0


REDIRECTS = """
export default {
  async go(url, init) {
    try {
      const r = await fetch(url, init);
      return { status: r.status, url: r.url, redirected: r.redirected, body: await r.text(),
               location: r.headers.get("location") };
    } catch (e) {
      return `${e.name}: ${e.message}`;
    }
  },
};
"""


class Redirector:
    """Answers /to/<n> with a redirect to /to/<n-1> (status from the query), /to/0 with the
    request it saw; keeps every request."""

    def __init__(self, status: int = 302) -> None:
        self.status = status
        self.requests: list[dynisolate.Request] = []

    def __call__(self, request: dynisolate.Request) -> dynisolate.Response:
        self.requests.append(request)
        path = request.url.split("://", 1)[1].split("/", 1)[1]
        if path.startswith("to/") and path != "to/0":
            left = int(path.removeprefix("to/")) - 1
            return dynisolate.Response(b"", self.status, {"location": f"/to/{left}"})
        if path == "away":
            return dynisolate.Response(b"", 307, {"location": "https://other.example/to/0"})
        if path == "ftp":
            return dynisolate.Response(b"", 302, {"location": "ftp://files.example/"})
        return dynisolate.Response(f"{request.method} {request.body!r}".encode(), 200)


def test_fetch_follows_redirects_through_the_handler_hop_by_hop(loader: dynisolate.Loader) -> None:
    outbound = Redirector()
    worker = loader.load({"agent.js": REDIRECTS}, global_outbound=outbound)
    result = worker.get_entrypoint().go("https://api.example/to/3#frag", None)
    assert result == {
        "status": 200,
        "url": "https://api.example/to/0",
        "redirected": True,
        "body": "GET b''",
        "location": None,
    }
    assert [r.url for r in outbound.requests] == [f"https://api.example/to/{n}" for n in (3, 2, 1, 0)]


def test_a_302_turns_a_post_into_a_get_and_a_307_keeps_it(loader: dynisolate.Loader) -> None:
    cases = ((302, "GET b''"), (303, "GET b''"), (307, "POST b'data'"), (308, "POST b'data'"))
    for status, expected in cases:
        outbound = Redirector(status)
        worker = loader.load({"agent.js": REDIRECTS}, global_outbound=outbound)
        init = {"method": "POST", "body": "data", "headers": {"content-type": "text/plain"}}
        assert worker.get_entrypoint().go("https://api.example/to/1", init)["body"] == expected, status
        if expected.startswith("GET"):
            assert "content-type" not in outbound.requests[-1].headers


def test_redirect_modes_manual_and_error(loader: dynisolate.Loader) -> None:
    worker = loader.load({"agent.js": REDIRECTS}, global_outbound=Redirector())
    entry = worker.get_entrypoint()
    manual = entry.go("https://api.example/to/2", {"redirect": "manual"})
    assert (manual["status"], manual["location"], manual["redirected"]) == (302, "/to/1", False)
    refused = entry.go("https://api.example/to/2", {"redirect": "error"})
    assert refused == (
        "TypeError: fetch failed: https://api.example/to/2 answered with a redirect,"
        ' and the request\'s redirect mode is "error".'
    )


def test_at_most_twenty_redirects_and_only_to_http(loader: dynisolate.Loader) -> None:
    outbound = Redirector()
    worker = loader.load(
        {"agent.js": REDIRECTS}, global_outbound=outbound, limits=dynisolate.Limits(sub_requests=100)
    )
    entry = worker.get_entrypoint()
    assert entry.go("https://api.example/to/20", None)["url"] == "https://api.example/to/0"
    assert entry.go("https://api.example/to/21", None) == (
        "TypeError: fetch failed: more than 20 redirects (the last to /to/0)."
    )
    assert entry.go("https://api.example/ftp", None) == (
        "TypeError: fetch failed: a redirect to ftp://files.example/ leaves http: and https:."
    )


def test_each_hop_is_a_sub_request(loader: dynisolate.Loader) -> None:
    worker = loader.load(
        {"agent.js": REDIRECTS}, global_outbound=Redirector(), limits=dynisolate.Limits(sub_requests=3)
    )
    with pytest.raises(dynisolate.SubRequestLimitError):
        worker.get_entrypoint().go("https://api.example/to/5", None)


def test_a_redirect_to_another_origin_drops_authorization(loader: dynisolate.Loader) -> None:
    outbound = Redirector()
    worker = loader.load({"agent.js": REDIRECTS}, global_outbound=outbound)
    init = {"headers": {"authorization": "Bearer secret", "x-kept": "1"}}
    assert worker.get_entrypoint().go("https://api.example/away", init)["url"] == "https://other.example/to/0"
    first, second = outbound.requests
    assert first.headers["authorization"] == "Bearer secret"
    assert second.headers == {"x-kept": "1"}


def test_proxy_and_connection_named_headers_never_reach_the_handler(loader: dynisolate.Loader) -> None:
    outbound = Recorder()
    source = """export default { async send() {
      await fetch("https://api.example/x", { headers: {
        "Proxy-Authorization": "Basic c2VjcmV0", Connection: "X-Secret, keep-alive", "X-Secret": "s",
        "X-Kept": "1" } });
    } };"""
    worker = loader.load({"agent.js": source}, global_outbound=outbound)
    worker.get_entrypoint().send()
    assert outbound.requests[0].headers == {"x-kept": "1"}


def test_request_headers_are_capped_in_count_and_size(loader: dynisolate.Loader) -> None:
    outbound = Recorder()
    source = """export default { async send(count, size) {
      const headers = new Headers();
      for (let i = 0; i < count; i++) headers.set(`x-h${i}`, "v".repeat(size));
      try { await fetch("https://api.example/x", { headers }); return "sent"; }
      catch (e) { return `${e.name}: ${e.message}`; }
    } };"""
    worker = loader.load({"agent.js": source}, global_outbound=outbound)
    entry = worker.get_entrypoint()
    assert entry.send(256, 1) == "sent"
    assert entry.send(257, 1) == "TypeError: fetch() request has 257 headers; at most 256 are allowed"
    assert entry.send(2, 70_000).startswith("TypeError: fetch() request headers take 140")
    assert len(outbound.requests) == 1
