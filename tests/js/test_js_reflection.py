"""No function of the runtime is reachable from tenant code by reflection (issue 12): the
paths an attacker tries are `Error.prepareStackTrace`'s CallSites (from every place our code calls
tenant code: the handler, env-call callbacks, timers, promise jobs, stream and event callbacks,
getters run by structuredClone), `Error.captureStackTrace`, `caller`/`callee`/`arguments`, and
`Function.prototype.toString`, which shows our functions as V8 shows built-ins."""

from __future__ import annotations

import pytest

import dynisolate

SOURCE = """
// Every frame's function as a CallSite gives it, whatever installed the hook saw.
const reached = [];
const frames = [];
Error.prepareStackTrace = (error, sites) => {
  for (const site of sites) {
    frames.push(site.getFunctionName());
    const fn = site.getFunction();
    if (fn !== undefined) reached.push(fn);
  }
  return "hooked";
};
const probe = () => new Error("probe").stack;
const report = () => ({ reached: reached.length, frames: frames.length, hooked: probe() === "hooked" });

export default {
  async everywhere(env) {
    probe();                                                            // the handler
    await env.CALLBACK(() => probe());                                  // the host calling back in
    await new Promise((resolve) => setTimeout(() => resolve(probe()), 0)); // a timer
    await Promise.resolve().then(probe);                                // a promise job
    await new ReadableStream({ pull(c) { probe(); c.close(); } }).getReader().read(); // streams.js
    const target = new EventTarget();
    target.addEventListener("x", probe);
    target.dispatchEvent(new Event("x"));                               // events.js
    structuredClone({ get value() { return probe(); } });               // web.js's structuredClone
    await new Response(new ReadableStream({ pull(c) { probe(); c.close(); } })).text(); // a body
    const holder = {};
    Error.captureStackTrace(holder);
    holder.stack;
    return report();
  },
  strictPaths() {
    const out = [];
    for (const attempt of [
      function () { return arguments.callee; },
      function f() { return f.caller; },
      function g() { return g.arguments; },
    ]) {
      try { out.push(typeof attempt()); } catch (e) { out.push(e.name); }
    }
    return out;
  },
  sources() {
    return [fetch, setTimeout, URL, Request.prototype.text, structuredClone, crypto.subtle.digest,
            Intl.NumberFormat, scheduler.wait, console.log].map((fn) => Function.prototype.toString.call(fn));
  },
  own() { function mine() { return 1; } return mine.toString(); },
};
"""


@pytest.fixture
def worker(loader: dynisolate.Loader) -> dynisolate.Worker:
    return loader.load({"agent.js": SOURCE}, env={"CALLBACK": lambda fn: fn()})


def test_no_call_site_hands_out_a_function(worker: dynisolate.Worker) -> None:
    seen = worker.get_entrypoint().everywhere()
    assert seen["hooked"] is True
    assert seen["frames"] > 20  # the hook saw the runtime's frames...
    assert seen["reached"] == 0  # ...and got none of their functions (nor the tenant's: all strict)


def test_caller_callee_and_arguments_are_closed(worker: dynisolate.Worker) -> None:
    assert worker.get_entrypoint().strictPaths() == ["TypeError", "TypeError", "TypeError"]


def test_the_runtimes_functions_show_no_source(worker: dynisolate.Worker) -> None:
    for text in worker.get_entrypoint().sources():
        assert text.endswith("() {\n    [native code]\n}"), text
    assert worker.get_entrypoint().own() == "function mine() { return 1; }"  # tenant code keeps its own
