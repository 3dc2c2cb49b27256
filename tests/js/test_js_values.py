"""Values crossing between Python and JavaScript as structured clone carries them: results,
arguments, env call arguments and env results; every kind both ways, and what is refused."""

from __future__ import annotations

import datetime
import math
import pickle
from typing import Any

import pytest

import dynisolate
from dynisolate import GuestError, undefined

UTC = datetime.UTC

SOURCE = """
export default {
  echo(x) { return x; },
  same(pair) { return pair[0] === pair[1]; },
  // What a value is, as the guest sees it.
  kind(x) {
    if (x === undefined) return "undefined";
    if (x === null) return "null";
    if (typeof x !== "object") return typeof x;
    return Object.prototype.toString.call(x).slice(8, -1);
  },
  make(name) {
    const shared = { n: 1 };
    const values = {
      undef: () => ({ u: undefined, list: [undefined, null], has: "u" in { u: undefined } }),
      bytes: () => ({
        u8: new Uint8Array([1, 2, 255]),
        buf: new Uint8Array([7, 8]).buffer,
        view: new Uint8Array(new ArrayBuffer(8), 2, 3),
      }),
      date: () => new Date(Date.UTC(2026, 11, 7, 1, 2, 3, 456)),
      map: () => new Map([[1, "one"], ["two", 2], [false, null]]),
      merged: () => new Map([[1, "one"], [true, "yes"]]),
      mergedSet: () => new Set([0, false]),
      set: () => new Set([1, "a", 2.5]),
      bigint: () => [2n ** 70n, -(2n ** 64n), 0n],
      error: () => { const e = new RangeError("out of range"); return e; },
      custom: () => { const e = new Error("custom"); e.name = "QuotaError"; return e; },
      numbers: () => [NaN, Infinity, -Infinity, -0, 1.5, 2 ** 53 + 2],
      shared: () => ({ a: shared, b: shared }),
      cycle: () => { const o = { name: "self" }; o.self = o; return o; },
      nested: () => new Map([["dates", [new Date(0)]], ["set", new Set([new Uint8Array([1])])]]),
    };
    return values[name]();
  },
  // Round trips through the host and reports what came back, as the guest sees it.
  async roundTrip(env) {
    const sent = { u: undefined, b: new Uint8Array([9, 8]), d: new Date(1000), big: 2n ** 64n,
                   m: new Map([[1, "x"]]), s: new Set(["y"]), e: new TypeError("t"), n: null, nan: NaN };
    const back = await env.HOST.echo(sent);
    return {
      u: "u" in back && back.u === undefined,
      n: back.n === null,
      b: back.b instanceof Uint8Array && back.b.join(),
      d: back.d instanceof Date && back.d.getTime(),
      big: typeof back.big === "bigint" && back.big === 2n ** 64n,
      m: back.m instanceof Map && back.m.get(1),
      s: back.s instanceof Set && back.s.has("y"),
      e: back.e instanceof TypeError && back.e.message,
      nan: Number.isNaN(back.nan),
    };
  },
  async hostValues(env) {
    const v = await env.HOST.values();
    return [
      v.bytes instanceof Uint8Array, v.when instanceof Date && v.when.toISOString(),
      v.pairs instanceof Map, v.pairs.get(1), v.tags instanceof Set && [...v.tags].sort().join(),
      typeof v.huge, v.huge === 2n ** 80n, v.err instanceof TypeError && v.err.message,
      v.u === undefined && "u" in v, v.n === null, v.same[0] === v.same[1], v.loop.self === v.loop,
    ];
  },
  async hostError(env) {
    const e = await env.HOST.failure();
    return [e instanceof Error, e.name, e.message];
  },
  async send(what, env) {
    const values = { stub: [env.HOST.echo], sym: Symbol("s"), proxy: new Proxy({}, {}), weak: new WeakSet() };
    try { await env.HOST.echo(values[what]); return "sent"; } catch (e) { return `${e.name}: ${e.message}`; }
  },
};
"""


class Host(dynisolate.RpcTarget):
    def __init__(self) -> None:
        self.seen: list[Any] = []

    def echo(self, value: Any) -> Any:
        self.seen.append(value)
        return value

    def values(self) -> dict[str, Any]:
        shared = [1]
        loop: dict[str, Any] = {}
        loop["self"] = loop
        return {
            "bytes": bytearray(b"\x00\x01"),
            "when": datetime.datetime(2026, 12, 7, tzinfo=UTC),
            "pairs": {1: "one"},
            "tags": frozenset({"a", "b"}),
            "huge": 2**80,
            "err": TypeError("from python"),
            "u": undefined,
            "n": None,
            "same": [shared, shared],
            "loop": loop,
        }

    def failure(self) -> Exception:
        return ValueError("returned, not raised")


@pytest.fixture
def host() -> Host:
    return Host()


@pytest.fixture
def entry(loader: dynisolate.Loader, host: Host) -> dynisolate.Entrypoint:
    return loader.load({"values.js": SOURCE}, env={"HOST": host}).get_entrypoint()


def test_undefined_is_distinct_from_null(entry: dynisolate.Entrypoint) -> None:
    assert entry.make("undef") == {"u": undefined, "list": [undefined, None], "has": True}
    assert entry.kind(undefined) == "undefined"
    assert entry.kind(None) == "null"
    assert entry.echo([undefined]) == [undefined]
    # A call that returns nothing returns None, as a Python function does.
    assert entry.echo(undefined) is None
    assert not undefined and repr(undefined) == "undefined"
    assert pickle.loads(pickle.dumps(undefined)) is undefined


def test_bytes_cross_as_uint8_arrays(entry: dynisolate.Entrypoint) -> None:
    assert entry.make("bytes") == {"u8": b"\x01\x02\xff", "buf": b"\x07\x08", "view": b"\x00\x00\x00"}
    for value in (b"ab", bytearray(b"ab"), memoryview(b"xab")[1:]):
        assert entry.kind(value) == "Uint8Array"
        assert entry.echo(value) == b"ab"


def test_dates_cross_as_aware_datetimes(entry: dynisolate.Entrypoint) -> None:
    when = datetime.datetime(2026, 12, 7, 1, 2, 3, 456000, tzinfo=UTC)
    assert entry.make("date") == when
    assert entry.kind(when) == "Date"
    assert entry.echo(when) == when
    plus_two = datetime.timezone(datetime.timedelta(hours=2))
    assert entry.echo(when.astimezone(plus_two)) == when


def test_maps_sets_and_bigints(entry: dynisolate.Entrypoint) -> None:
    assert entry.make("map") == {1: "one", "two": 2, False: None}
    with pytest.raises(dynisolate.SerializationError, match="distinct in JavaScript but equal in a Python"):
        entry.make("merged")
    with pytest.raises(dynisolate.SerializationError, match="equal in a Python set"):
        entry.make("mergedSet")
    assert entry.make("set") == {1, "a", 2.5}
    assert entry.make("bigint") == [2**70, -(2**64), 0]
    assert entry.kind({1: "x"}) == "Map"
    assert entry.kind({"k": 1}) == "Object"
    assert entry.kind({1, 2}) == "Set"
    assert entry.kind(frozenset({1})) == "Set"
    assert entry.kind(2**53) == "bigint"
    assert entry.kind(2**53 - 1) == "number"
    assert entry.echo(-(2**200)) == -(2**200)


def test_errors_cross_as_guest_errors(entry: dynisolate.Entrypoint) -> None:
    error = entry.make("error")
    assert isinstance(error, GuestError)
    assert (error.name, error.guest_message) == ("RangeError", "out of range")
    assert "values.js" in error.stack
    custom = entry.make("custom")
    assert (custom.name, custom.guest_message) == ("QuotaError", "custom")
    assert entry.kind(KeyError("k")) == "Error"
    assert entry.echo(TypeError("t")).name == "TypeError"
    assert entry.echo(error).stack == error.stack


def test_numbers_json_cannot_carry(entry: dynisolate.Entrypoint) -> None:
    nan, inf, neg_inf, zero, half, big = entry.make("numbers")
    assert math.isnan(nan) and inf == math.inf and neg_inf == -math.inf
    assert zero == 0 and half == 1.5 and big == 2**53 + 2
    assert math.isnan(entry.echo(math.nan))
    assert entry.echo([math.inf]) == [math.inf]


def test_shared_and_cyclic_references_survive(entry: dynisolate.Entrypoint) -> None:
    shared = entry.make("shared")
    assert shared["a"] is shared["b"]
    cycle = entry.make("cycle")
    assert cycle["self"] is cycle
    nested = entry.make("nested")
    assert nested == {"dates": [datetime.datetime(1970, 1, 1, tzinfo=UTC)], "set": {b"\x01"}}
    loop: list[Any] = [1]
    loop.append(loop)
    back = entry.echo(loop)
    assert back[1] is back


def test_env_calls_carry_every_kind_both_ways(entry: dynisolate.Entrypoint, host: Host) -> None:
    assert entry.roundTrip() == {
        "u": True, "n": True, "b": "9,8", "d": 1000, "big": True,
        "m": "x", "s": True, "e": "t", "nan": True,
    }  # fmt: skip
    seen = host.seen[-1]
    assert seen["u"] is undefined and seen["b"] == b"\x09\x08" and seen["m"] == {1: "x"}
    assert seen["d"] == datetime.datetime(1970, 1, 1, 0, 0, 1, tzinfo=UTC)
    assert isinstance(seen["e"], GuestError) and seen["e"].name == "TypeError"
    assert entry.hostValues() == [
        True, "2026-12-07T00:00:00.000Z", True, "one", "a,b", "bigint", True, "from python",
        True, True, True, True,
    ]  # fmt: skip
    assert entry.hostError() == [True, "Error", "returned, not raised"]


@pytest.mark.parametrize(
    ("what", "message"),
    [
        ("stub", "TypeError: an env binding or RPC stub cannot be sent to the host"),
        ("sym", "TypeError: a symbol cannot be sent to the host"),
        ("proxy", "TypeError: a Proxy cannot be sent to the host"),
        ("weak", "TypeError: a WeakSet cannot be sent to the host"),
    ],
)
def test_env_arguments_that_cannot_cross_reject_in_the_guest(
    entry: dynisolate.Entrypoint, host: Host, what: str, message: str
) -> None:
    assert entry.send(what) == message
    assert host.seen == []


def test_a_getter_runs_once_and_what_it_returned_is_sent(loader: dynisolate.Loader) -> None:
    source = """export default {
      async run(env) {
        let reads = 0;
        const tricky = { get v() { reads++; return reads === 1 ? new Uint8Array([1]) : () => "swapped"; } };
        const arr = [1, 2];
        Object.defineProperty(arr, 0, { get() { reads++; return new Map([[1, 2]]); }, enumerable: true });
        await env.SINK([tricky, arr]);
        return reads;
      },
      result() {
        let reads = 0;
        return { get once() { return ++reads; }, get again() { return reads; }, big: 1n };
      },
    };"""
    received: list[Any] = []
    entry = loader.load({"a.js": source}, env={"SINK": received.append}).get_entrypoint()
    assert entry.run() == 2
    assert received == [[{"v": b"\x01"}, [{1: 2}, 2]]]
    assert entry.result() == {"once": 1, "again": 1, "big": 1}


@pytest.mark.parametrize(
    ("value", "message"),
    [
        (datetime.datetime(2026, 1, 1), "is a naive datetime"),
        (object(), "is a object; what can cross"),
        ({"k": 1j}, "is a complex"),
        ("\ud800", "not valid Unicode"),
    ],
)
def test_python_values_that_cannot_cross_are_refused(
    entry: dynisolate.Entrypoint, value: Any, message: str
) -> None:
    with pytest.raises(dynisolate.SerializationError, match=message):
        entry.echo(value)
    assert entry.echo(1) == 1


def test_nesting_is_bounded_both_ways(entry: dynisolate.Entrypoint) -> None:
    deep: Any = b"x"
    for _ in range(200):
        deep = [deep]
    with pytest.raises(dynisolate.SerializationError, match="deeper than 128 levels"):
        entry.echo(deep)
    assert entry.echo(b"ok") == b"ok"


def test_maps_and_sets_python_cannot_hold_are_refused_by_name(loader: dynisolate.Loader) -> None:
    source = """export default {
      objectKey() { return new Map([[{}, 1]]); },
      arrayMember() { return new Set([[1]]); },
    };"""
    entry = loader.load({"a.js": source}).get_entrypoint()
    with pytest.raises(dynisolate.SerializationError, match="Map key of type dict"):
        entry.objectKey()
    with pytest.raises(dynisolate.SerializationError, match="Set member of type list"):
        entry.arrayMember()


def test_payload_limits_apply_to_clones(loader: dynisolate.Loader) -> None:
    source = "export default { make(n) { return new Uint8Array(n); }, size(b) { return b.length; } };"
    limits = dynisolate.Limits(max_payload_bytes=64 << 10)
    entry = loader.load({"a.js": source}, limits=limits).get_entrypoint()
    assert entry.make(60 << 10) == bytes(60 << 10)
    with pytest.raises(dynisolate.PayloadTooLargeError):
        entry.make(70 << 10)
    with pytest.raises(dynisolate.PayloadTooLargeError):
        entry.size(bytes(70 << 10))
    assert entry.size(bytes(10)) == 10


def test_a_megabyte_of_bytes_crosses_both_ways(loader: dynisolate.Loader) -> None:
    source = """export default {
      async pull(env) { const b = await env.BLOB(); return [b.length, b[0], b[b.length - 1]]; },
      make() { const b = new Uint8Array(1 << 20); b[0] = 1; b[b.length - 1] = 2; return b; },
    };"""
    blob = bytes([3]) + bytes((1 << 20) - 2) + bytes([4])
    entry = loader.load({"a.js": source}, env={"BLOB": lambda: blob}).get_entrypoint()
    assert entry.pull() == [1 << 20, 3, 4]
    made = entry.make()
    assert len(made) == 1 << 20 and made[0] == 1 and made[-1] == 2


def test_python_shared_references_arrive_shared(entry: dynisolate.Entrypoint) -> None:
    shared = {"k": [1]}
    assert entry.call("same", [shared, shared]) is True
    assert entry.call("same", [{"k": [1]}, {"k": [1]}]) is False
    back = entry.echo([shared, shared])
    assert back[0] is back[1]


class Statement(dynisolate.RpcTarget):
    def __init__(self, sql: str, params: tuple[Any, ...] = ()) -> None:
        self.sql, self.params = sql, params

    @property
    def text(self) -> str:
        return self.sql

    @property
    def _hidden(self) -> str:
        return "never"

    def bind(self, *params: Any) -> Statement:
        return Statement(self.sql, params)

    def all(self) -> dict[str, Any]:
        return {"results": [{"sql": self.sql, "params": list(self.params)}]}

    def _secret(self) -> str:
        return "never"


class Database(dynisolate.RpcTarget):
    def prepare(self, sql: str) -> Statement:
        return Statement(sql)

    def same_twice(self) -> list[Statement]:
        statement = Statement("x")
        return [statement, statement]

    async def later(self) -> Statement:
        return Statement("async")


STUBS = """
let kept = null;
export default {
  async chain(env) {
    const statement = await env.DB.prepare("select ?");
    return (await (await statement.bind(1, "two")).all()).results;
  },
  async shape(env) {
    const s = await env.DB.prepare("q");
    return [Object.getPrototypeOf(s), Object.keys(s).sort(), Object.isFrozen(s), typeof s.then, s.text,
            await env.DB.prepare("piped").text];
  },
  async hidden(env) {
    const s = await env.DB.prepare("q");
    return [typeof s._secret, typeof s.sql, typeof env.DB.prepare("q")._secret, typeof s._hidden];
  },
  async pipelined(env) {
    return (await env.DB.prepare("select 1").bind(2).all()).results;
  },
  async keep(env) { kept = await env.DB.prepare("kept"); return "kept"; },
  async useKept() {
    try { await kept.all(); return "reached"; } catch (e) { return `${e.name}: ${e.message}`; }
  },
  async twice(env) { const [a, b] = await env.DB.same_twice(); return a === b; },
  async awaited(env) { return (await (await env.DB.later()).all()).results[0].sql; },
  async back(env) {
    const s = await env.DB.prepare("q");
    try { await env.DB.prepare(s); } catch (e) { return e.message; }
  },
  async give(env) { return await env.DB.prepare("q"); },
};
"""


@pytest.fixture
def database(loader: dynisolate.Loader) -> dynisolate.Worker:
    return loader.load({"db.js": STUBS}, env={"DB": Database()})


def test_an_rpc_target_a_method_returns_is_a_stub(database: dynisolate.Worker) -> None:
    entry = database.get_entrypoint()
    assert entry.chain() == [{"sql": "select ?", "params": [1, "two"]}]
    # Methods, and the values of public properties as they were when the stub was sent.
    assert entry.shape() == [None, ["all", "bind", "text"], True, "undefined", "q", "piped"]
    assert entry.twice() is True
    assert entry.awaited() == "async"
    # As on Workers RPC, a stub's methods can be called on the promise of it.
    assert entry.pipelined() == [{"sql": "select 1", "params": [2]}]


def test_a_stub_reaches_only_the_public_methods_of_its_target(database: dynisolate.Worker) -> None:
    assert database.get_entrypoint().hidden() == ["undefined", "undefined", "undefined", "undefined"]


def test_a_stub_kept_past_its_call_is_refused_clearly(database: dynisolate.Worker) -> None:
    with database.session() as session:
        entry = session.get_entrypoint()
        assert entry.keep() == "kept"
        message = entry.useKept()
    assert message.startswith("TypeError: this RPC stub is no longer valid")
    assert database.get_entrypoint().chain()  # the worker keeps serving


def test_stubs_do_not_travel_back_nor_targets_to_guests_unasked(database: dynisolate.Worker) -> None:
    entry = database.get_entrypoint()
    assert "an env binding or RPC stub cannot be sent to the host" in entry.back()
    with pytest.raises(dynisolate.SerializationError, match="a function cannot be sent"):
        entry.give()
    with pytest.raises(dynisolate.SerializationError, match="an RpcTarget, which crosses only as what"):
        entry.call("chain", Database())


class Mixin:
    def close(self) -> str:
        return "the mixin's close, which no allow-list names"


class Closable(dynisolate.RpcTarget):
    def close(self) -> str:
        return "closed"

    def opened(self) -> Closable:
        return self


class Mixed(Mixin, Closable):
    pass


def test_methods_resolve_where_the_allow_list_found_them(loader: dynisolate.Loader) -> None:
    target = Mixed()
    target.opened = lambda: "an instance attribute"  # type: ignore[method-assign]
    source = """export default {
      async run(env) { return [await env.T.close(), await (await env.T.opened()).close()]; },
    };"""
    entry = loader.load({"a.js": source}, env={"T": target}).get_entrypoint()
    assert entry.run() == ["closed", "closed"]


def test_references_cannot_stand_for_a_value_too_large_to_walk(loader: dynisolate.Loader) -> None:
    source = """export default {
      async bomb(env) {
        let a = [];
        for (let i = 0; i < 64; i++) a = [a, a]; // a few hundred bytes, 2**64 values as a tree
        try { await env.SINK(a); return "sent"; } catch (e) { return `${e.name}: ${e.message}`; }
      },
      async fine(env) { const shared = { k: 1 }; await env.SINK([shared, shared, shared]); return "sent"; },
    };"""
    received: list[Any] = []
    entry = loader.load({"a.js": source}, env={"SINK": received.append}).get_entrypoint()
    message = entry.bomb()
    assert message.startswith("TypeError:") and "through shared references" in message
    assert received == []
    assert entry.fine() == "sent" and received == [[{"k": 1}] * 3]


def test_an_env_call_made_while_arguments_are_sent_is_refused(loader: dynisolate.Loader) -> None:
    source = """export default {
      async run(env) {
        const sneaky = { get x() { env.SINK("inner"); return 1; } };
        try { await env.SINK(sneaky); return "sent"; } catch (e) { return e.message; }
      },
    };"""
    received: list[Any] = []
    entry = loader.load({"a.js": source}, env={"SINK": received.append}).get_entrypoint()
    assert entry.run() == "sent"
    assert received == [{"x": 1}]  # the inner call was refused (its promise rejected), the outer intact


def test_objects_made_by_getters_are_never_taken_for_each_other(loader: dynisolate.Loader) -> None:
    source = """export default {
      fresh() {
        const out = {};
        for (let i = 0; i < 200; i++) {
          Object.defineProperty(out, "k" + i, { get: () => ({ i }), enumerable: true });
        }
        return out;
      },
    };"""
    result = loader.load({"a.js": source}).get_entrypoint().fresh()
    assert result == {f"k{i}": {"i": i} for i in range(200)}


class NotATarget:
    def get(self) -> int:
        return 1


class Factory(dynisolate.RpcTarget):
    def make(self) -> NotATarget:
        return NotATarget()


def test_a_binding_returning_an_object_that_is_not_an_rpc_target_is_refused_by_name(
    loader: dynisolate.Loader,
) -> None:
    source = """export default {
      async run(env) {
        try { await env.F.make(); return "sent"; } catch (e) { return `${e.name}: ${e.message}`; }
      },
    };"""
    entry = loader.load({"a.js": source}, env={"F": Factory()}).get_entrypoint()
    message = entry.run()
    assert message.startswith("TypeError: the result of env.F.make() is a NotATarget; what can cross:")
    assert "RpcTarget objects" in message
