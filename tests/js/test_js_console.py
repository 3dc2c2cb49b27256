"""console's formatting (guest/js/inspect.js), as workerd's console prints values (Node's
util.inspect): collections, class instances, cycles, errors with their stacks, getters never run,
proxies shown without running their traps, format specifiers, and lines broken past 80 columns."""

from __future__ import annotations

import pytest

import dynisolate

SOURCE = """
class Foo { constructor() { this.x = 1; this.y = "two"; } }
export default {
  log(which) {
    const cases = {
      primitives: () => console.log("top", 42, -0, 10n, undefined, null, true, Symbol("s")),
      collections: () => console.log(new Map([["a", 1]]), new Set([1, "x"]), new WeakMap().constructor.name),
      instances: () => console.log(new Foo(), Object.create(null), { "a-b": 1, [Symbol("k")]: 2 }),
      arrays: () => console.log([1, , 3], new Uint8Array([1, 2]), new ArrayBuffer(2)),
      cycle: () => { const c = { name: "loop" }; c.self = c; console.log(c); },
      depth: () => console.log({ a: { b: { c: { d: 1 } } } }),
      builtins: () => console.log(new Date(0), /re/g, [new Number(3), new String("s"), new Boolean(false)]),
      functions: () => console.log(function named() {}, class K {}, async () => {}),
      promises: () => console.log(Promise.resolve(5), new Promise(() => {})),
      getters: () => console.log({ get g() { throw new Error("ran"); }, set s(v) {} }),
      proxy: () => console.log(new Proxy({ p: 1 }, { ownKeys() { throw new Error("trap ran"); } })),
      specifiers: () =>
        console.log("%s is %d and %i, %f %j %o %% %c", "Ann", 42.5, 42.9, 1.5, { a: 1 }, [1], "css", "extra"),
      error: () => console.log(new RangeError("boom")),
      long: () => console.log({ a: "x".repeat(40), b: "y".repeat(40) }),
    };
    cases[which]();
  },
};
"""

EXPECTED = {
    "primitives": "top 42 -0 10n undefined null true Symbol(s)",
    "collections": "Map(1) { 'a' => 1 } Set(2) { 1, 'x' } WeakMap",
    "instances": "Foo { x: 1, y: 'two' } [Object: null prototype] {} { 'a-b': 1, [Symbol(k)]: 2 }",
    "arrays": "[ 1, <1 empty item>, 3 ] Uint8Array(2) [ 1, 2 ]"
    " ArrayBuffer { [Uint8Contents]: <00 00>, byteLength: 2 }",
    "cycle": "<ref *1> { name: 'loop', self: [Circular *1] }",
    "depth": "{ a: { b: { c: [Object] } } }",
    "builtins": "1970-01-01T00:00:00.000Z /re/g [ [Number: 3], [String: 's'], [Boolean: false] ]",
    "functions": "[Function: named] [class K] [AsyncFunction (anonymous)]",
    "promises": "Promise { 5 } Promise { <pending> }",
    "getters": "{ g: [Getter], s: [Setter] }",
    "proxy": "{ p: 1 }",
    "specifiers": 'Ann is 42.5 and 42, 1.5 {"a":1} [ 1 ] %  extra',
    "long": "{\n  a: '" + "x" * 40 + "',\n  b: '" + "y" * 40 + "'\n}",
}


@pytest.fixture(scope="module")
def worker() -> dynisolate.Worker:
    return dynisolate.Loader(cache_dir=None).load({"console.js": SOURCE})


@pytest.mark.parametrize("case", sorted(EXPECTED))
def test_console_prints_values_as_workerd_does(worker: dynisolate.Worker, case: str) -> None:
    (record,) = worker.get_entrypoint().call_logged("log", case).logs
    assert record.message == EXPECTED[case]


def test_an_error_prints_its_name_message_and_stack(worker: dynisolate.Worker) -> None:
    (record,) = worker.get_entrypoint().call_logged("log", "error").logs
    lines = record.message.splitlines()
    assert lines[0] == "RangeError: boom"
    assert lines[1].startswith("    at ") and "console.js" in lines[1]
