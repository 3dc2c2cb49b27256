"""JavaScript workers through the public API."""

from __future__ import annotations

import asyncio
import logging
import time

import pytest

import dynisolate

AGENT = """
import { WorkerEntrypoint } from "cloudflare:workers";
import { double } from "./lib/math.js";

export class Billing extends WorkerEntrypoint {
  charge(cents) { return { cents: double(cents), currency: this.env.CURRENCY }; }
}

export default {
  async myAgent(question, env) {
    console.log("asked", question.q);
    return { answer: double(question.q), greeting: env.GREETING };
  },
  fail() { throw new TypeError("bad input"); },
  spin() { while (true) {} },
  random() { return Math.random(); },
};
"""
MATH = "export function double(x) { return x * 2; }"


@pytest.fixture
def agent(loader: dynisolate.Loader) -> dynisolate.Worker:
    return loader.load(
        {"agent.js": AGENT, "lib/math.js": MATH},
        env={"GREETING": "hi", "CURRENCY": "EUR"},
        limits=dynisolate.Limits(cpu_ms=100),
    )


def test_default_export_methods(agent: dynisolate.Worker) -> None:
    assert agent.get_entrypoint().myAgent({"q": 21}) == {"answer": 42, "greeting": "hi"}


def test_named_entrypoint_classes(agent: dynisolate.Worker) -> None:
    assert agent.get_entrypoint("Billing").charge(250) == {"cents": 500, "currency": "EUR"}
    assert "Billing.charge" in agent.exports


def test_console_reaches_python_logging(agent: dynisolate.Worker, caplog: pytest.LogCaptureFixture) -> None:
    with caplog.at_level(logging.INFO, logger="dynisolate.guest"):
        agent.get_entrypoint().myAgent({"q": 1})
    assert [r.getMessage() for r in caplog.records if r.name == "dynisolate.guest"] == ["asked 1"]


def test_uncaught_exceptions_are_guest_errors(agent: dynisolate.Worker) -> None:
    with pytest.raises(dynisolate.GuestError) as info:
        agent.get_entrypoint().fail()
    assert (info.value.name, info.value.guest_message) == ("TypeError", "bad input")
    assert "agent.js:14" in info.value.stack
    assert agent.get_entrypoint().myAgent({"q": 1})["answer"] == 2


def test_an_infinite_loop_stops_at_the_cpu_limit(agent: dynisolate.Worker) -> None:
    start = time.perf_counter()
    with pytest.raises(dynisolate.CpuLimitError):
        agent.get_entrypoint().spin()
    assert time.perf_counter() - start < 0.2
    assert agent.get_entrypoint().myAgent({"q": 2})["answer"] == 4


def test_fresh_isolates_get_fresh_randomness(agent: dynisolate.Worker) -> None:
    entry = agent.get_entrypoint()
    assert len({entry.random() for _ in range(5)}) == 5


def test_missing_methods_and_entrypoints(agent: dynisolate.Worker) -> None:
    with pytest.raises(dynisolate.ExportNotFoundError):
        agent.get_entrypoint().nope()
    with pytest.raises(dynisolate.ExportNotFoundError):
        agent.get_entrypoint("Nope")


def test_async_calls_and_cancellation(agent: dynisolate.Worker, loader: dynisolate.Loader) -> None:
    async def main() -> None:
        entry = agent.get_async_entrypoint()
        assert await entry.myAgent({"q": 5}) == {"answer": 10, "greeting": "hi"}
        task = asyncio.create_task(entry.spin())
        await asyncio.sleep(0.02)
        task.cancel()
        with pytest.raises(asyncio.CancelledError):
            await task

    asyncio.run(main())
    deadline = time.perf_counter() + 1
    while loader.stats()["live_isolates"] and time.perf_counter() < deadline:
        time.sleep(0.001)
    assert loader.stats()["live_isolates"] == 0


class Room(dynisolate.RpcTarget):
    def __init__(self) -> None:
        self.posts: list[str] = []

    def post(self, text: str) -> int:
        self.posts.append(text)
        return len(self.posts)

    async def later(self, text: str) -> str:
        await asyncio.sleep(0)
        return text.upper()

    def fail(self) -> None:
        raise ValueError("room is closed")

    def _secret(self) -> str:
        return "s3cret"


ROOM_AGENT = """
export default {
  async chat(text, env) {
    const n = await env.ROOM.post(text);
    const loud = await env.ROOM.later(text);
    const shout = await env.shout(text);
    let error;
    try { await env.ROOM.fail(); } catch (e) { error = `${e.name}: ${e.message}`; }
    const room = env.ROOM;
    const hidden = [typeof room._secret, typeof room.__class__, typeof room.then, typeof room.posts];
    return { n, loud, shout, error, hidden };
  },
};
"""


def test_env_rpc_stubs_reach_python_methods(loader: dynisolate.Loader) -> None:
    room = Room()
    worker = loader.load({"agent.js": ROOM_AGENT}, env={"ROOM": room, "shout": lambda s: s + "!"})
    assert worker.get_entrypoint().chat("hi") == {
        "n": 1,
        "loud": "HI",
        "shout": "hi!",
        "error": "ValueError: room is closed",
        "hidden": ["undefined", "undefined", "undefined", "undefined"],
    }
    assert room.posts == ["hi"]


def test_env_rpc_from_async_calls_awaits_on_the_callers_loop(loader: dynisolate.Loader) -> None:
    worker = loader.load({"agent.js": ROOM_AGENT}, env={"ROOM": Room(), "shout": lambda s: s})

    async def main() -> dict:
        return await worker.get_async_entrypoint().chat("yo")

    assert asyncio.run(main())["loud"] == "YO"


def test_requests_and_replies_of_any_size_cross_into_the_guest(loader: dynisolate.Loader) -> None:
    # Inputs and env replies that fit the guest's inbox are written there, larger ones through its
    # allocator; a reply arriving mid-call must not disturb the request it follows.
    code = (
        "export default { async echo(x, env) {"
        " const long = await env.TEXT(x.length); const short = await env.TEXT(3);"
        " return [x.length, long.length, short, x.slice(-2)]; } };"
    )
    worker = loader.load({"echo.js": code}, env={"TEXT": lambda n: "y" * n})
    sizes = (10, 100_000, 10, 70_000, 5)
    with worker.session() as session:
        entry = session.get_entrypoint()
        for size in sizes:
            text = "x" * (size - 2) + "ab"
            assert entry.echo(text) == [size, size, "yyy", "ab"]
    assert [worker.get_entrypoint().echo("x" * (n - 2) + "ab")[0] for n in sizes] == list(sizes)


def test_sessions_keep_module_state_until_closed(loader: dynisolate.Loader) -> None:
    source = (
        "let count = 0; export default { bump(by) { count += by; return count; }, spin() { for (;;) {} } };"
    )
    worker = loader.load({"agent.js": source}, limits=dynisolate.Limits(cpu_ms=50))
    with worker.session() as session:
        entry = session.get_entrypoint()
        assert [entry.bump(1), entry.bump(2), entry.bump(3)] == [1, 3, 6]
        assert loader.stats()["live_isolates"] == 1
        assert worker.get_entrypoint().bump(1) == 1  # a fresh isolate starts from the module again
    assert loader.stats()["live_isolates"] == 0
    with pytest.raises(dynisolate.ClosedError):
        entry.bump(1)
    session = worker.session()
    with pytest.raises(dynisolate.CpuLimitError):
        session.get_entrypoint().spin()
    assert not session.alive  # a limit ends the session
    assert loader.stats()["live_isolates"] == 0


def test_call_logged_returns_structured_records(agent: dynisolate.Worker) -> None:
    result = agent.get_entrypoint().call_logged("myAgent", {"q": 4})
    assert result.value == {"answer": 8, "greeting": "hi"}
    assert result.logs == [dynisolate.LogRecord("info", "asked 4")]
    source = """export default { noisy() {
      console.debug("d", 1);
      console.info({ a: [1, "two"] });
      console.warn("w");
      console.error(new TypeError("e"));
      throw new Error("after logging");
    } };"""
    with pytest.raises(dynisolate.GuestError) as info:
        dynisolate.Loader(cache_dir=None).load({"agent.js": source}).get_entrypoint().call_logged("noisy")
    levels = [(r.level, r.message.splitlines()[0]) for r in info.value.logs]
    assert levels == [
        ("debug", "d 1"),
        ("info", "{ a: [ 1, 'two' ] }"),
        ("warn", "w"),
        ("error", "TypeError: e"),
    ]


def test_a_module_body_that_throws_is_a_load_error(loader: dynisolate.Loader) -> None:
    with pytest.raises(dynisolate.LoadError, match="boom"):
        loader.load({"a.js": "throw new Error('boom');"})
    with pytest.raises(dynisolate.LoadError, match="could not resolve"):
        loader.load({"a.js": "import './missing.js';"})


def test_fetch_without_an_outbound_handler_is_refused(loader: dynisolate.Loader) -> None:
    source = """
    export default {
      async get() {
        try { await fetch("https://example.com/"); return "fetched"; }
        catch (e) { return `${e.name}: ${e.message}`; }
      },
    };
    """
    worker = loader.load({"a.js": source})
    result = worker.get_entrypoint().get()
    assert result.startswith("TypeError: This worker is not permitted to access the internet")
