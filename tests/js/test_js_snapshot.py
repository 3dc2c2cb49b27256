"""Fresh calls from a bundle's evaluated heap (rust/js/snapshot.rs): after a bundle's first call,
fresh isolates map its evaluated modules copy-on-write instead of loading them. Freshness is the
contract and these tests keep it: every call below runs at least a few times, so most run in
isolates restored from the heap, and some before the heap existed."""

from __future__ import annotations

import pytest

import dynisolate
from dynisolate import undefined

CALLS = 6  # enough that the calls after the second come from the heap

COUNTER = """
let calls = 0;
const evaluatedAt = Date.now();
const bootRandom = Math.random();
export default {
  count() { calls += 1; return calls; },
  random() { return Math.random(); },
  moduleScope() { return [evaluatedAt, bootRandom]; },
};
"""


def _calls(entry: dynisolate.Entrypoint, name: str, *args: object) -> list[object]:
    return [entry.call(name, *args) for _ in range(CALLS)]


def test_a_module_level_counter_reads_1_in_every_fresh_call(loader: dynisolate.Loader) -> None:
    entry = loader.load({"counter.js": COUNTER}).get_entrypoint()
    assert _calls(entry, "count") == [1] * CALLS


def test_math_random_differs_between_isolates(loader: dynisolate.Loader) -> None:
    values = _calls(loader.load({"counter.js": COUNTER}).get_entrypoint(), "random")
    assert len(set(values)) == CALLS, values


def test_module_scope_values_come_from_the_evaluation_that_made_the_heap(loader: dynisolate.Loader) -> None:
    values = _calls(loader.load({"counter.js": COUNTER}).get_entrypoint(), "moduleScope")
    # The first call evaluated the bundle itself; every later one is restored from one heap.
    assert len({tuple(v) for v in values[1:]}) == 1  # type: ignore[arg-type]


LEFTOVERS = """
export default {
  leave() {
    globalThis.leaked = "global";
    Array.prototype.leaked = "prototype";
    Object.prototype.polluted = true;
    JSON.parse = () => "hijacked";
    setTimeout(() => { globalThis.late = "timer"; }, 0);
    setInterval(() => { globalThis.late = "interval"; }, 1);
    Promise.resolve().then(() => { globalThis.job = "promise"; });
    return "left";
  },
  look() {
    return [globalThis.leaked, [].leaked, ({}).polluted, JSON.parse("1"), globalThis.late, globalThis.job];
  },
};
"""


def test_nothing_a_call_leaves_reaches_the_next(loader: dynisolate.Loader) -> None:
    entry = loader.load({"leftovers.js": LEFTOVERS}).get_entrypoint()
    for _ in range(CALLS):
        assert entry.leave() == "left"
        assert entry.look() == [undefined, undefined, undefined, 1, undefined, undefined]


def test_timers_and_jobs_left_by_a_session_call_never_run_in_the_next(loader: dynisolate.Loader) -> None:
    worker = loader.load({"leftovers.js": LEFTOVERS})
    for _ in range(3):
        worker.get_entrypoint().look()  # let the bundle get its heap
    with worker.session() as session:
        entry = session.get_entrypoint()
        assert entry.leave() == "left"
        # The promise job ran inside the call that queued it; the timers were dropped with it.
        assert entry.look()[4:] == [undefined, "promise"]


def test_two_bundles_never_share_evaluated_state(loader: dynisolate.Loader) -> None:
    one = loader.load({"a.js": "let who = 'one'; export default { who() { return who; } };"})
    two = loader.load({"a.js": "let who = 'two'; export default { who() { return who; } };"})
    for _ in range(CALLS):
        assert one.get_entrypoint().who() == "one"
        assert two.get_entrypoint().who() == "two"


def test_workers_of_the_same_bundle_get_their_own_env(loader: dynisolate.Loader) -> None:
    source = "export default { who(env) { return [env.NAME, env.CONFIG.region, typeof env.NOTIFY]; } };"
    source = source.replace("who(env)", "who(_, env)")
    a = loader.load({"a.js": source}, env={"NAME": "a", "CONFIG": {"region": "eu"}, "NOTIFY": lambda: 1})
    b = loader.load({"a.js": source}, env={"NAME": "b", "CONFIG": {"region": "us"}})
    for _ in range(CALLS):
        assert a.get_entrypoint().who(0) == ["a", "eu", "function"]
        assert b.get_entrypoint().who(0) == ["b", "us", "undefined"]


def test_env_is_frozen_and_a_changed_env_value_dies_with_its_isolate(loader: dynisolate.Loader) -> None:
    source = """
    export default {
      touch(_, env) {
        const before = env.CONFIG.count;
        env.CONFIG.count += 1;            // the value is the isolate's own copy
        let assigned = true;
        try { env.CONFIG = {}; } catch { assigned = false; }
        return [before, env.CONFIG.count, assigned, Object.isFrozen(env), Object.keys(env)];
      },
    };
    """
    entry = loader.load({"a.js": source}, env={"CONFIG": {"count": 1}, "NAME": "n"}).get_entrypoint()
    for _ in range(CALLS):
        assert entry.touch(0) == [1, 2, False, True, ["CONFIG", "NAME"]]


@pytest.mark.parametrize(
    "statement",
    [
        "crypto.randomUUID();",
        "crypto.getRandomValues(new Uint8Array(4));",
        "setTimeout(() => {}, 0);",
        "setInterval(() => {}, 10);",
        "await fetch('https://example.com/');",
    ],
)
def test_randomness_timers_and_io_are_refused_while_modules_are_evaluated(
    loader: dynisolate.Loader, statement: str
) -> None:
    source = f"{statement}\nexport default {{ ok() {{ return 1; }} }};"
    with pytest.raises(dynisolate.LoadError, match="Disallowed operation called within global scope"):
        loader.load({"a.js": source}, global_outbound=lambda request: None)
    # The same operations are fine inside a call.
    inside = f"export default {{ async ok() {{ {statement.replace('await ', '')} return 1; }} }};"
    assert loader.load({"a.js": inside}).get_entrypoint().ok() == 1


def test_a_bundle_that_instantiates_webassembly_at_module_scope_keeps_working(
    loader: dynisolate.Loader,
) -> None:
    # (module (func (export "answer") (result i32) (i32.const 42)))
    wasm = bytes.fromhex("0061736d010000000105016000017f03020100070a0106616e7377657200000a06010400412a0b")
    source = """
    import lib from "./lib.wasm";
    const instance = new WebAssembly.Instance(lib);
    let calls = 0;
    export default { answer() { calls += 1; return [instance.exports.answer(), calls]; } };
    """
    entry = loader.load({"main.js": source, "lib.wasm": wasm}).get_entrypoint()
    assert _calls(entry, "answer") == [[42, 1]] * CALLS
