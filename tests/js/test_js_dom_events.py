"""Events and abort (guest/js/events.js) where web-platform-tests do not reach: a request's
signal, fetch refusing an aborted signal, AbortSignal.timeout within a call, and an exception in
a listener reported to the host's logs. The standard's behaviour is checked by tests/conformance."""

from __future__ import annotations

import dynisolate

SOURCE = """
export default {
  async fetchAborted() {
    const controller = new AbortController();
    controller.abort(new RangeError("stop"));
    try { await fetch("https://example.com/", { signal: controller.signal }); return "fetched"; }
    catch (e) { return `${e.name}: ${e.message}`; }
  },
  async fetchLive() {
    const response = await fetch("https://example.com/", { signal: new AbortController().signal });
    return response.status;
  },
  requestSignal() {
    const controller = new AbortController();
    const request = new Request("https://example.com/", { signal: controller.signal });
    const clone = request.clone();
    const plain = new Request("https://example.com/");
    const before = [request.signal.aborted, clone.signal.aborted, request.signal === controller.signal];
    controller.abort("why");
    let refused;
    try { new Request("https://example.com/", { signal: {} }); } catch (e) { refused = e.name; }
    return [...before, request.signal.aborted, request.signal.reason, clone.signal.aborted,
            plain.signal.aborted, refused];
  },
  async timeout() {
    const signal = AbortSignal.timeout(5);
    const event = await new Promise((resolve) => signal.addEventListener("abort", resolve));
    return [event.type, signal.reason.name, signal.aborted];
  },
  listenerThrows() {
    const target = new EventTarget();
    const order = [];
    target.addEventListener("x", () => { order.push(1); throw new TypeError("listener failed"); });
    target.addEventListener("x", () => order.push(2));
    return [target.dispatchEvent(new Event("x")), order];
  },
};
"""

GLOBAL_SCOPE = """
const signal = AbortSignal.timeout(10);
export default { f() { return signal.aborted; } };
"""


def outbound(request: dynisolate.Request) -> dynisolate.Response:
    return dynisolate.Response(b"ok", 200)


def worker(loader: dynisolate.Loader) -> dynisolate.Worker:
    return loader.load({"events.js": SOURCE}, global_outbound=outbound)


def test_fetch_refuses_an_aborted_signal_with_its_reason(loader: dynisolate.Loader) -> None:
    entry = worker(loader).get_entrypoint()
    assert entry.fetchAborted() == "RangeError: stop"
    assert entry.fetchLive() == 200


def test_a_requests_signal_follows_the_one_it_was_made_with(loader: dynisolate.Loader) -> None:
    assert worker(loader).get_entrypoint().requestSignal() == [
        False, False, False, True, "why", True, False, "TypeError",
    ]  # fmt: skip


def test_abort_signal_timeout_fires_within_the_call(loader: dynisolate.Loader) -> None:
    assert worker(loader).get_entrypoint().timeout() == ["abort", "TimeoutError", True]


def test_an_exception_in_a_listener_is_logged_and_dispatch_goes_on(loader: dynisolate.Loader) -> None:
    result = worker(loader).get_entrypoint().call_logged("listenerThrows")
    assert result.value == [True, [1, 2]]
    assert [(log.level, log.message.splitlines()[0]) for log in result.logs] == [
        ("error", "Uncaught TypeError: listener failed")
    ]


def test_a_timeout_signal_cannot_be_made_while_the_bundle_is_evaluated(loader: dynisolate.Loader) -> None:
    try:
        loader.load({"main.js": GLOBAL_SCOPE})
    except dynisolate.LoadError as e:
        assert "Disallowed operation called within global scope" in str(e)
    else:
        raise AssertionError("AbortSignal.timeout at module scope was not refused")
