"""What a handler finds around it (glue.js `ExecutionContext`, web.js globals): `ctx.waitUntil`,
`ctx.passThroughOnException`, `self` and `navigator`."""

from __future__ import annotations

import logging
import time
from collections.abc import Callable

import pytest

import dynisolate

LATER = """
import { WorkerEntrypoint } from "cloudflare:workers";
const nap = (ms) => new Promise((resolve) => setTimeout(resolve, ms));
export default {
  async early(ms, env, ctx) {
    ctx.waitUntil((async () => { await nap(ms); await env.NOTE("after " + ms); })());
    await env.NOTE("result");
    return "early";
  },
  async late(ms, env, ctx) {
    await nap(1);
    ctx.waitUntil(nap(ms).then(() => env.NOTE("added after an await")));
    return "late";
  },
  rejected(env, ctx) {
    ctx.waitUntil(Promise.reject(new RangeError("lost")));
    return "still fine";
  },
  never(env, ctx) { ctx.waitUntil(new Promise(() => {})); return "returned"; },
  hostile(env, ctx) {
    const p = Promise.resolve(1);
    Object.defineProperty(p, "constructor", { get() { throw new TypeError("no constructor"); } });
    try { ctx.waitUntil(p); } catch (e) { setInterval(() => {}, 5); return e.message; }
  },
  forever(env, ctx) { ctx.waitUntil(new Promise(() => setInterval(() => {}, 5))); return "lost"; },
  plain() { return "plain"; },
  fails(env, ctx) { ctx.waitUntil(nap(5)); throw new TypeError("failed before its result"); },
  async fetch(request, env, ctx) {
    ctx.passThroughOnException();
    ctx.waitUntil(nap(5).then(() => env.NOTE("fetch done")));
    return new Response("ok");
  },
  scope() { return [self === globalThis, navigator.userAgent, String(navigator)]; },
};
export class Job extends WorkerEntrypoint {
  run() { this.ctx.waitUntil(nap(5).then(() => this.env.NOTE("job done"))); return "job"; }
}
"""


@pytest.fixture
def notes() -> list[str]:
    return []


@pytest.fixture
def later(loader: dynisolate.Loader, notes: list[str]) -> dynisolate.Worker:
    return loader.load(
        {"later.js": LATER}, env={"NOTE": notes.append}, limits=dynisolate.Limits(cpu_ms=500, wall_ms=500)
    )


def test_wait_until_work_runs_after_the_result_and_before_the_call_returns(
    later: dynisolate.Worker, notes: list[str]
) -> None:
    assert later.get_entrypoint().early(30) == "early"
    assert notes == ["result", "after 30"]
    assert later.get_entrypoint().late(10) == "late"
    assert notes[2:] == ["added after an await"]


def test_wait_until_holds_entrypoint_classes_and_fetch(later: dynisolate.Worker, notes: list[str]) -> None:
    assert later.get_entrypoint("Job").run() == "job"
    response = later.fetch(dynisolate.Request("https://example.com/"))
    assert (response.status, response.text(), notes) == (200, "ok", ["job done", "fetch done"])


def test_a_rejected_wait_until_is_logged_and_the_result_stands(
    later: dynisolate.Worker, caplog: pytest.LogCaptureFixture
) -> None:
    with caplog.at_level(logging.ERROR, logger="dynisolate.guest"):
        assert later.get_entrypoint().rejected() == "still fine"
    messages = [r.getMessage() for r in caplog.records if r.name == "dynisolate.guest"]
    assert len(messages) == 1 and messages[0].startswith("Uncaught (in waitUntil) RangeError: lost"), messages


def test_a_wait_until_nothing_can_settle_ends_with_the_call(later: dynisolate.Worker) -> None:
    started = time.monotonic()
    assert later.get_entrypoint().never() == "returned"
    assert time.monotonic() - started < 0.4  # not held until the 500 ms limit


def test_a_wait_until_that_throws_holds_nothing(later: dynisolate.Worker) -> None:
    started = time.monotonic()
    assert later.get_entrypoint().hostile() == "no constructor"
    assert time.monotonic() - started < 0.4


def test_a_wait_until_that_keeps_timers_going_is_stopped_at_the_limit(later: dynisolate.Worker) -> None:
    with pytest.raises(dynisolate.WallTimeLimitError):  # its timers' waits are not CPU time
        later.get_entrypoint().forever()
    assert later.get_entrypoint().plain() == "plain"


def test_a_sessions_earlier_wait_until_does_not_hold_its_next_calls(later: dynisolate.Worker) -> None:
    with later.session() as session:
        entry = session.get_entrypoint()
        assert entry.never() == "returned"
        started = time.monotonic()
        assert [entry.plain(), entry.early(1)] == ["plain", "early"]
        assert time.monotonic() - started < 0.4


def test_the_global_scope_is_self_and_navigator_names_workers(later: dynisolate.Worker) -> None:
    assert later.get_entrypoint().scope() == [True, "Cloudflare-Workers", "[object Navigator]"]


def eventually(check: Callable[[], bool], timeout_s: float = 10) -> None:
    deadline = time.monotonic() + timeout_s
    while not check():
        assert time.monotonic() < deadline, "the background work did not finish"
        time.sleep(0.005)


def test_return_early_hands_the_result_over_while_wait_until_work_goes_on(
    later: dynisolate.Worker, notes: list[str]
) -> None:
    early = later.get_entrypoint(return_early=True)
    started = time.monotonic()
    assert early.early(300) == "early"
    assert time.monotonic() - started < 0.25 and notes == ["result"]
    eventually(lambda: notes == ["result", "after 300"])
    response = early.fetch(dynisolate.Request("https://example.com/"))
    assert (response.status, response.text()) == (200, "ok")
    eventually(lambda: notes[-1] == "fetch done")
    assert later.get_entrypoint("Job", return_early=True).run() == "job"
    eventually(lambda: notes[-1] == "job done")


def test_return_early_without_wait_until_work_or_with_a_failure_is_an_ordinary_call(
    later: dynisolate.Worker,
) -> None:
    early = later.get_entrypoint(return_early=True)
    assert early.plain() == "plain"
    with pytest.raises(dynisolate.GuestError, match="failed before its result"):
        early.fails()


def test_background_work_stopped_at_the_limit_is_logged(
    later: dynisolate.Worker, caplog: pytest.LogCaptureFixture
) -> None:
    with caplog.at_level(logging.WARNING, logger="dynisolate.guest"):
        assert later.get_entrypoint(return_early=True).forever() == "lost"
        eventually(
            lambda: any(
                isinstance(r.exc_info and r.exc_info[1], dynisolate.WallTimeLimitError)
                for r in caplog.records
            )
        )
    record = next(r for r in caplog.records if r.exc_info)
    assert record.getMessage().startswith("work after the result (ctx.waitUntil) failed:")
    assert later.get_entrypoint().plain() == "plain"
