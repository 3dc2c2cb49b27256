"""The Node.js modules a bundle can import (rust/js/builtins.rs, guest/js/node/), with and
without the `node:` prefix, checked against what Python computes for the same inputs."""

from __future__ import annotations

import base64
import hashlib
import hmac
import os
import struct
from typing import Any

import pytest

import dynisolate


@pytest.fixture
def roomy_loader() -> dynisolate.Loader:
    """A loader whose isolates may hold several MiB of input at once."""
    with dynisolate.Loader(max_isolates=4, max_memory_bytes=128 << 20, cache_dir=None) as loader:
        yield loader


def run(loader: dynisolate.Loader, imports: str, body: str, **load: Any) -> Any:
    """Loads a worker whose `f(...args)` runs `body` after `imports`, and calls it."""
    source = f"{imports}\nexport default {{ async f(...args) {{ {body} }} }};\n"
    return loader.load({"main.js": source}, **load).get_entrypoint().f


def test_each_module_loads_with_and_without_the_prefix_as_one_module(loader: dynisolate.Loader) -> None:
    f = run(
        loader,
        """
        import * as a from "node:buffer"; import * as b from "buffer";
        import * as c from "node:events"; import * as d from "events";
        import * as e from "node:util"; import * as g from "util";
        import p1 from "node:path"; import p2 from "path"; import posix from "node:path/posix";
        import s1 from "node:assert/strict"; import s2 from "assert";
        import t1 from "node:util/types";
        import "node:url"; import "string_decoder"; import "node:process"; import "crypto";
          import "async_hooks";
        """,
        """return [a.Buffer === b.Buffer, c.default === d.default, e.inspect === g.inspect, p1 === p2,
                   posix.join === p1.join, s1 === s2.strict, t1 === e.types];""",
    )
    assert f() == [True] * 7


def test_a_package_of_the_same_name_does_not_shadow_a_built_in(loader: dynisolate.Loader) -> None:
    worker = loader.load(
        {
            "main.js": 'import { Buffer } from "buffer";\n'
            "export default { f() { return typeof Buffer.from; } };",
            "node_modules/buffer/index.js": "export const Buffer = 1;",
        }
    )
    assert worker.get_entrypoint().f() == "function"


def test_a_node_module_not_offered_is_a_load_error_naming_the_importer(loader: dynisolate.Loader) -> None:
    with pytest.raises(
        dynisolate.LoadError, match=r'lib.js: could not resolve import "node:fs": .* buffer, crypto'
    ):
        loader.load({"main.js": 'import "./lib.js";', "lib.js": 'import fs from "node:fs";'})


# ---- node:buffer ----

ENCODINGS = {
    "hex": lambda b: b.hex(),
    "base64": lambda b: base64.b64encode(b).decode(),
    "base64url": lambda b: base64.urlsafe_b64encode(b).decode().rstrip("="),
    "latin1": lambda b: b.decode("latin-1"),
}


def test_buffer_encodes_and_decodes_every_encoding_as_python_does(loader: dynisolate.Loader) -> None:
    data = os.urandom(257)
    f = run(
        loader,
        'import { Buffer } from "node:buffer";',
        """const [bytes, encodings] = args; const buf = Buffer.from(bytes); const out = {};
           for (const e of encodings) out[e] = [buf.toString(e), Buffer.from(buf.toString(e), e).equals(buf)];
           return out;""",
    )
    out = f(data, list(ENCODINGS))
    for name, encode in ENCODINGS.items():
        assert out[name] == [encode(data), True], name
    text = "a€😀"
    assert f(text.encode("utf-16-le"), ["utf16le", "ucs2"]) == {"utf16le": [text, True], "ucs2": [text, True]}


def test_buffer_text_edge_cases_follow_node(loader: dynisolate.Loader) -> None:
    f = run(
        loader,
        'import { Buffer } from "node:buffer";',
        """return [
             Buffer.from("aGVsbG8", "base64").toString(),          // padding optional
             Buffer.from("aG Vs\\nbG8=junk", "base64").toString(), // whitespace skipped, stops at =
             Buffer.from("_-8", "base64").toString("hex"),          // either alphabet
             Buffer.from("abzz12", "hex").toString("hex"),          // stops at the first bad pair
             Buffer.from("\\u00e9\\u20ac", "ascii").toString("hex"),
             Buffer.from([0xe9, 0x80]).toString("ascii"),
             Buffer.from([0xff, 0xfe, 0xc3]).toString(),             // invalid UTF-8 becomes U+FFFD
             Buffer.byteLength("h\\u00e9\\u20ac\\u{1f600}"), Buffer.byteLength("abcd", "hex"),
             Buffer.isEncoding("UTF-8"), Buffer.isEncoding("nope"),
           ];""",
    )
    assert f() == ["hello", "hello", "ffef", "ab", "e9ac", "i\x00", "\ufffd\ufffd\ufffd", 10, 2, True, False]


def test_buffer_numbers_match_struct(loader: dynisolate.Loader) -> None:
    f = run(
        loader,
        'import { Buffer } from "node:buffer";',
        """const b = Buffer.alloc(32);
           b.writeUInt32LE(0xdeadbeef, 0); b.writeInt16BE(-2, 4); b.writeDoubleLE(1.5, 6);
             b.writeFloatBE(-0.25, 14);
           b.writeBigInt64LE(-5n, 18); b.writeUIntBE(0x123456, 26, 3); b.writeIntLE(-300, 29, 3);
           return [b, b.readUInt32LE(0), b.readInt16BE(4), b.readDoubleLE(6), b.readFloatBE(14),
                   String(b.readBigInt64LE(18)), b.readUIntBE(26, 3), b.readIntLE(29, 3), b.readUint8(0)];""",
    )
    raw, *values = f()
    expected = (
        struct.pack("<I", 0xDEADBEEF)
        + struct.pack(">h", -2)
        + struct.pack("<d", 1.5)
        + struct.pack(">f", -0.25)
        + struct.pack("<q", -5)
        + (0x123456).to_bytes(3, "big")
        + (-300 % (1 << 24)).to_bytes(3, "little")
    )
    assert raw == expected
    assert values == [0xDEADBEEF, -2, 1.5, -0.25, "-5", 0x123456, -300, 0xEF]


@pytest.mark.parametrize(
    ("body", "code", "message"),
    [
        ("Buffer.alloc(2).readUInt32LE(0)", "ERR_BUFFER_OUT_OF_BOUNDS", "outside buffer bounds"),
        (
            "Buffer.alloc(8).readUInt16LE(7)",
            "ERR_OUT_OF_RANGE",
            'The value of "offset" is out of range. It must be >= 0 and <= 6. Received 7',
        ),
        ("Buffer.alloc(8).writeUInt8(256, 0)", "ERR_OUT_OF_RANGE", 'The value of "value" is out of range'),
        ("Buffer.from('x', 'klingon')", "ERR_UNKNOWN_ENCODING", "Unknown encoding: klingon"),
        ("Buffer.from(5)", "ERR_INVALID_ARG_TYPE", 'The "first argument" argument must be'),
        ("Buffer.alloc(-1)", "ERR_OUT_OF_RANGE", 'The value of "size" is out of range'),
        ("Buffer.alloc(3).swap16()", "ERR_INVALID_BUFFER_SIZE", "multiple of 16-bits"),
    ],
)
def test_buffer_misuse_throws_nodes_coded_errors(
    loader: dynisolate.Loader, body: str, code: str, message: str
) -> None:
    f = run(
        loader,
        'import { Buffer } from "node:buffer";',
        f"try {{ {body}; return null; }} catch (e) {{ return [e.code, e.message]; }}",
    )
    got_code, got_message = f()
    assert got_code == code
    assert message in got_message


def test_buffer_slices_share_memory_and_searches_find_bytes(loader: dynisolate.Loader) -> None:
    f = run(
        loader,
        'import { Buffer } from "node:buffer";',
        """const b = Buffer.from("hello world, hello");
           const s = b.slice(0, 5); s[0] = 0x4a; const sub = b.subarray(-5);
           const c = Buffer.alloc(4); const copied = b.copy(c, 1, 6, 20);
           return [b.toString(), sub.toString(), sub instanceof Buffer, b.indexOf("hello", 1),
             b.lastIndexOf("hello"),
                   b.indexOf(0x77), b.includes(Buffer.from("world")), b.indexOf("zzz"), copied,
                     c.toString("latin1"),
                   Buffer.compare(Buffer.from([1]), Buffer.from([1, 0])),
                     Buffer.concat([Buffer.from("ab"), Buffer.from("cd")], 3).toString(),
                   Buffer.alloc(5, "ab").toString(), Buffer.from("xyz").toJSON(),
                     Buffer.from({ type: "Buffer", data: [104, 105] }).toString()];""",
    )
    assert f() == [
        "Jello world, hello",
        "hello",
        True,
        13,
        13,
        6,
        True,
        -1,
        3,
        "\x00wor",
        -1,
        "abc",
        "ababa",
        {"type": "Buffer", "data": [120, 121, 122]},
        "hi",
    ]


def test_buffer_write_never_splits_a_character(loader: dynisolate.Loader) -> None:
    f = run(
        loader,
        'import { Buffer } from "node:buffer";',
        'const b = Buffer.alloc(4, 0x2e); const n = b.write("a\\u20acb", 0);'
        ' return [n, b.toString("latin1")];',
    )
    assert f() == [4, "a\xe2\x82\xac"]
    g = run(
        loader,
        'import { Buffer } from "node:buffer";',
        'const b = Buffer.alloc(3, 0x2e); const n = b.write("a\\u20ac"); return [n, b.toString("latin1")];',
    )
    assert g() == [1, "a.."]


def test_a_buffer_crosses_rpc_as_bytes_both_ways(loader: dynisolate.Loader) -> None:
    f = run(
        loader,
        'import { Buffer } from "node:buffer";',
        "return Buffer.concat([Buffer.from(args[0]), Buffer.from('!')]);",
    )
    assert f(b"\x00\xffabc") == b"\x00\xffabc!"


# ---- node:events ----


def test_event_emitter_orders_listeners_as_node_does(loader: dynisolate.Loader) -> None:
    f = run(
        loader,
        'import { EventEmitter, once } from "node:events";',
        """const e = new EventEmitter(); const log = [];
           e.on("newListener", (name) => log.push("new:" + name));
           const a = (v) => log.push("a" + v);
           e.on("x", a); e.prependListener("x", (v) => log.push("first" + v)); e.once("x",
             (v) => log.push("once" + v));
           e.on("x", function () { e.removeListener("x", a); });
             // removing during emit does not skip this emit
           e.emit("x", 1); e.emit("x", 2); const emitted = log.slice();
           const counts = [e.listenerCount("x"), e.eventNames().length, e.emit("none")];
           let thrown = null; try { e.emit("error", new TypeError("bad"));
             } catch (err) { thrown = err.message; }
           let unhandled = null; try { e.emit("error", "text"); } catch (err) { unhandled = err.code; }
           const later = once(e, "ready"); setTimeout(() => e.emit("ready", 1, 2), 1);
           class Sub extends EventEmitter {} const s = new Sub(); let got; s.on("y",
             function () { got = this === s; }); s.emit("y");
           return [emitted, counts, thrown, unhandled, await later, got];""",
    )
    log, counts, thrown, unhandled, later, bound = f()
    assert log == ["new:x", "new:x", "new:x", "new:x", "first1", "a1", "once1", "first2"]
    assert counts == [2, 2, False]
    assert (thrown, unhandled, later, bound) == ("bad", "ERR_UNHANDLED_ERROR", [1, 2], True)


def test_events_once_rejects_on_error(loader: dynisolate.Loader) -> None:
    f = run(
        loader,
        'import { EventEmitter, once } from "events";',
        """const e = new EventEmitter(); const p = once(e, "done"); e.emit("error", new Error("failed"));
           try { await p; return "resolved"; } catch (err) { return err.message; }""",
    )
    assert f() == "failed"


# ---- node:util ----


def test_inspect_prints_values_as_node_does(loader: dynisolate.Loader) -> None:
    f = run(
        loader,
        'import { inspect } from "node:util"; import { Buffer } from "node:buffer";',
        """class Point { constructor() { this.x = 1; } }
           const cyclic = { name: "c" }; cyclic.self = cyclic;
           return [
             inspect({ a: 1, "b-c": "x", d: [1, 2, { e: new Map([["k", 1]]) }], s: new Set([1]) }),
             inspect(new Point()), inspect(cyclic), inspect(Object.create(null)), inspect([1, , 3]),
             inspect(Buffer.from("hi")), inspect(new Uint8Array([1, 2])), inspect(-0), inspect(10n),
               inspect(Symbol("s")),
             inspect(function named() {}), inspect(class K {}), inspect(async () => {}), inspect(new Date(0)),
             inspect(/x/g), inspect("it's"), inspect([["deep", ["deeper", ["deepest"]]]]),
               inspect({ get g() { return 1; } }),
             inspect(new Array(101).fill(0)).endsWith("... 1 more item\\n]"),
               inspect({ a: { b: { c: { d: 1 } } } }, { depth: 0 }),
           ];""",
    )
    assert f() == [
        "{ a: 1, 'b-c': 'x', d: [ 1, 2, { e: [Map] } ], s: Set(1) { 1 } }",
        "Point { x: 1 }",
        "<ref *1> { name: 'c', self: [Circular *1] }",
        "[Object: null prototype] {}",
        "[ 1, <1 empty item>, 3 ]",
        "<Buffer 68 69>",
        "Uint8Array(2) [ 1, 2 ]",
        "-0",
        "10n",
        "Symbol(s)",
        "[Function: named]",
        "[class K]",
        "[AsyncFunction (anonymous)]",
        "1970-01-01T00:00:00.000Z",
        "/x/g",
        '"it\'s"',
        "[ [ 'deep', [ 'deeper', [Array] ] ] ]",
        "{ g: [Getter] }",
        True,
        "{ a: [Object] }",
    ]


def test_format_and_the_function_helpers(loader: dynisolate.Loader) -> None:
    f = run(
        loader,
        "import util from 'node:util';",
        """const sleep = util.promisify((ms, cb) => setTimeout(() => cb(null, ms * 2), ms));
           const failing = util.promisify((cb) => cb(new Error("cb failed")));
           let failed; try { await failing(); } catch (e) { failed = e.message; }
           const back = await new Promise((resolve) => util.callbackify(async (x) => x + 1)(41, (err,
             v) => resolve([err, v])));
           function Animal() {} Animal.prototype.kind = function () { return "animal"; };
           function Dog() {} util.inherits(Dog, Animal);
           return [util.format("%s is %d years and %i, %f %j %o%%", "Bo", 4.5, 4.5, "1.5", { a: 1 }, [1]),
                   util.format("extra", 1, "two"), util.format("%s", 5n), await sleep(2), failed, back,
                   new Dog().kind(), Dog.super_ === Animal,
                   util.isDeepStrictEqual({ a: [1, { b: 2 }] }, { a: [1, { b: 2 }] }),
                     util.isDeepStrictEqual([1], ["1"]),
                   util.types.isDate(new Date()), util.types.isPromise(Promise.resolve()),
                     util.types.isUint8Array(new Uint8Array()),
                   util.types.isAsyncFunction(async () => {}), util.types.isRegExp({})];""",
    )
    assert f() == [
        'Bo is 4.5 years and 4, 1.5 {"a":1} [ 1 ]%',
        "extra 1 two",
        "5n",
        4,
        "cb failed",
        [None, 42],
        "animal",
        True,
        True,
        False,
        True,
        True,
        True,
        True,
        False,
    ]


# ---- node:assert ----


def test_assert_passes_and_fails_as_node_does(loader: dynisolate.Loader) -> None:
    f = run(
        loader,
        'import assert, { AssertionError } from "node:assert";',
        """const caught = (fn) => {
             try { fn(); return "passed"; }
             catch (e) { return [e.name, e.code, e.operator ?? null, e.message.split("\\n")[0]]; }
           };
           return [
             caught(() => assert(1)), caught(() => assert.equal(1, "1")),
               caught(() => assert.deepEqual({ a: 1 }, { a: "1" })),
             caught(() => assert.strictEqual(1, "1")), caught(() => assert.strict.equal(1, "1")),
             caught(() => assert.deepStrictEqual(new Map([[1, { a: 1 }]]), new Map([[1, { a: 1 }]]))),
             caught(() => assert.deepStrictEqual([1, 2], [1, 3])), caught(() => assert.ok(0, "custom")),
             caught(() => assert.throws(() => { throw new TypeError("bad input"); }, TypeError)),
             caught(() => assert.throws(() => { throw new TypeError("bad input"); }, /bad/)),
             caught(() => assert.throws(() => { throw new TypeError("bad input"); }, { name: "TypeError",
               message: "bad input" })),
             caught(() => assert.throws(() => {})),
               caught(() => assert.throws(() => { throw new Error("x"); }, RangeError)),
             caught(() => assert.match("abc", /d/)), caught(() => assert.notStrictEqual(1, 2)),
               caught(() => assert.fail("boom")),
             await assert.rejects(Promise.reject(new Error("no")), /no/).then(() => "passed"),
             await assert.rejects(Promise.resolve(1)).catch((e) => e.message),
             new AssertionError({ actual: 1, expected: 2, operator: "strictEqual" }).message,
           ];""",
    )
    assert f() == [
        "passed",
        "passed",
        "passed",
        ["AssertionError", "ERR_ASSERTION", "strictEqual", "Expected values to be strictly equal:"],
        ["AssertionError", "ERR_ASSERTION", "strictEqual", "Expected values to be strictly equal:"],
        "passed",
        ["AssertionError", "ERR_ASSERTION", "deepStrictEqual", "Expected values to be strictly deep-equal:"],
        ["AssertionError", "ERR_ASSERTION", "==", "custom"],
        "passed",
        "passed",
        "passed",
        ["AssertionError", "ERR_ASSERTION", "throws", "Missing expected exception."],
        [
            "AssertionError",
            "ERR_ASSERTION",
            "throws",
            'The error is expected to be an instance of "RangeError". Received "Error"',
        ],
        [
            "AssertionError",
            "ERR_ASSERTION",
            "match",
            "The input did not match the regular expression /d/. Input:",
        ],
        "passed",
        ["AssertionError", "ERR_ASSERTION", "fail", "boom"],
        "passed",
        "Missing expected rejection.",
        "1 strictEqual 2",
    ]


# ---- node:path, node:url, node:string_decoder, node:process ----


def test_path_matches_node_posix(loader: dynisolate.Loader) -> None:
    f = run(
        loader,
        'import path from "node:path";',
        """return [path.join("/a/b", "../c", "./d.txt"), path.join("a", "", "b/"), path.join(),
                   path.normalize("a//b/../c/."),
                   path.normalize("/../x"), path.resolve("x/y", "..", "z"), path.resolve("/a", "/b", "c"),
                     path.relative("/a/b/c", "/a/d"),
                   path.relative("/a", "/a"), path.dirname("/a/b/"), path.dirname("a"), path.dirname("/"),
                     path.basename("/a/b.js", ".js"),
                   path.basename("/a/b/"), path.extname("a/b.tar.gz"), path.extname(".bashrc"),
                     path.extname("a."), path.isAbsolute("/x"),
                   path.parse("/home/u/file.txt"), path.format({ dir: "/x", name: "f", ext: "js" }),
                     path.sep, path.delimiter];""",
    )
    assert f() == [
        "/a/c/d.txt",
        "a/b/",
        ".",
        "a/c",
        "/x",
        "/x/z",
        "/b/c",
        "../../d",
        "",
        "/a",
        ".",
        "/",
        "b",
        "b",
        ".gz",
        "",
        ".",
        True,
        {"root": "/", "dir": "/home/u", "base": "file.txt", "ext": ".txt", "name": "file"},
        "/x/f.js",
        "/",
        ":",
    ]


def test_url_helpers_and_the_legacy_api(loader: dynisolate.Loader) -> None:
    f = run(
        loader,
        'import url, { fileURLToPath, pathToFileURL, URL } from "node:url";',
        """const parsed = url.parse("HTTP://user:pw@Example.COM:8080/p/a?x=1&x=2#h", true);
           let bad; try { fileURLToPath("https://x/"); } catch (e) { bad = e.code; }
           return [parsed.protocol, parsed.auth, parsed.hostname, parsed.port, parsed.pathname,
             parsed.search, parsed.query.x, parsed.hash,
                   url.parse("/relative/path?q").pathname, url.format({ protocol: "https",
                     hostname: "a.com", pathname: "x", query: { q: "1 2" } }),
                   url.resolve("http://a.com/b/c", "../d"), url.resolve("/one/two", "three"),
                     fileURLToPath("file:///tmp/a%20b"),
                   pathToFileURL("/tmp/a b#c").href, URL === globalThis.URL, bad];""",
    )
    assert f() == [
        "http:",
        "user:pw",
        "example.com",
        "8080",
        "/p/a",
        "?x=1&x=2",
        ["1", "2"],
        "#h",
        "/relative/path",
        "https://a.com/x?q=1+2",
        "http://a.com/d",
        "/one/three",
        "/tmp/a b",
        "file:///tmp/a%20b%23c",
        True,
        "ERR_INVALID_URL_SCHEME",
    ]


@pytest.mark.parametrize("encoding", ["utf8", "utf16le", "base64", "hex", "latin1"])
def test_string_decoder_never_splits_a_character_at_any_chunk_boundary(
    loader: dynisolate.Loader, encoding: str
) -> None:
    text = "a€😀ü\u0000z"
    data = text.encode("utf-16-le" if encoding == "utf16le" else "utf-8")
    f = run(
        loader,
        'import { StringDecoder } from "node:string_decoder"; import { Buffer } from "node:buffer";',
        """const [bytes, encoding] = args; const out = [];
           for (let cut = 0; cut <= bytes.length; cut++) {
             const d = new StringDecoder(encoding);
             out.push(d.write(Buffer.from(bytes.subarray(0, cut))) + d.end(Buffer.from(bytes.subarray(cut))));
           }
           return [out, Buffer.from(bytes).toString(encoding)];""",
    )
    pieces, whole = f(data, encoding)
    assert pieces == [whole] * (len(data) + 1)
    if encoding == "utf8":
        assert whole == text
    if encoding == "utf16le":
        assert whole == text
    if encoding == "base64":
        assert whole == base64.b64encode(data).decode()


def test_process_env_holds_the_workers_variables_only(loader: dynisolate.Loader) -> None:
    f = run(
        loader,
        'import process from "node:process"; import { env as bare } from "process";',
        """const order = []; process.nextTick(() => order.push("tick")); order.push("sync"); await null;
           process.env.NAME = "changed";
           return [process.env.NAME, process.env.COUNT, process.env.FLAG, "KV" in process.env,
             Object.keys(process.env).sort(),
                   bare === process.env, process.platform, typeof process.hrtime.bigint(), order,
                     process.cwd()];""",
        env={"NAME": "tenant-a", "COUNT": 3, "FLAG": True, "KV": lambda key: key},
    )
    assert f() == [
        "tenant-a",
        "3",
        "true",
        False,
        ["COUNT", "FLAG", "NAME"],
        True,
        "linux",
        "bigint",
        ["sync", "tick"],
        "/",
    ]


def test_buffer_and_process_are_globals_as_nodejs_compat_defines_them(loader: dynisolate.Loader) -> None:
    # A package written for Node.js uses them without importing them.
    package = """export const encode = (text) => Buffer.from(text, "utf8").toString("base64");
export const mode = () => process.env.MODE;"""
    main = """import { encode, mode } from "lib";
import { Buffer as Imported } from "node:buffer";
import imported from "node:process";
export default {
  f() {
    const own = Object.getOwnPropertyDescriptor(globalThis, "Buffer");
    return [encode("hi"), mode(), Buffer === Imported, process === imported,
            own.enumerable, own.writable, Object.keys(globalThis).includes("process")];
  },
};"""
    modules = {"main.js": main, "node_modules/lib/package.json": '{"main": "index.js"}'}
    modules["node_modules/lib/index.js"] = package
    worker = loader.load(modules, env={"MODE": "test"})
    assert worker.get_entrypoint().f() == [
        base64.b64encode(b"hi").decode(),
        "test",
        True,
        True,
        False,
        True,
        False,
    ]


def test_node_globals_are_absent_from_bundles_that_never_name_them(loader: dynisolate.Loader) -> None:
    # Named only as properties and in longer names: the bundle pays nothing for the modules.
    source = """export default { f() { const job = {}; job.process = 1; const Buffers = 2;
      return [job.process, Buffers, typeof globalThis["Buf" + "fer"],
              typeof globalThis["proc" + "ess"]]; } };"""
    assert loader.load({"main.js": source}).get_entrypoint().f() == [1, 2, "undefined", "undefined"]


def test_a_tenants_own_buffer_global_is_kept(loader: dynisolate.Loader) -> None:
    source = """globalThis.Buffer = "mine";
export default { f() { return [Buffer, typeof process]; } };"""
    assert loader.load({"main.js": source}).get_entrypoint().f() == ["mine", "object"]


# ---- node:crypto ----


@pytest.mark.parametrize("algorithm", ["md5", "sha1", "sha224", "sha256", "sha384", "sha512"])
def test_hashes_and_hmacs_match_hashlib(roomy_loader: dynisolate.Loader, algorithm: str) -> None:
    data = os.urandom(3 << 19)  # more than one of the host's hashing chunks
    f = run(
        roomy_loader,
        'import { createHash, createHmac, hash } from "node:crypto";',
        """const [algorithm, data] = args;
           const h = createHash(algorithm.toUpperCase()).update(data.subarray(0, 10)); const copy = h.copy();
           h.update(data.subarray(10));
           return [h.digest("hex"), copy.digest(), createHmac(algorithm, "k\\u00e9y").update("text",
             "utf8").update(data).digest("base64"),
                   hash(algorithm, "abc")];""",
        # Several MiB hashed and copied in a dev build: room for a loaded machine (the limit is hit on
        # purpose by test_hashing_is_held_to_the_calls_cpu_limit).
        limits=dynisolate.Limits(cpu_ms=10_000),
    )
    whole, partial, mac, short = f(algorithm, data)
    assert whole == hashlib.new(algorithm, data).hexdigest()
    assert partial == hashlib.new(algorithm, data[:10]).digest()
    assert mac == base64.b64encode(hmac.new("kéy".encode(), b"text" + data, algorithm).digest()).decode()
    assert short == hashlib.new(algorithm, b"abc").hexdigest()


def test_crypto_misuse_and_randomness(loader: dynisolate.Loader) -> None:
    f = run(
        loader,
        'import crypto from "node:crypto"; import { Buffer } from "node:buffer";',
        """const caught = (fn) => {
             try { fn(); return null; } catch (e) { return [e.code ?? e.name, e.message]; }
           };
           const h = crypto.createHash("sha256"); h.digest();
           const ints = Array.from({ length: 200 }, () => crypto.randomInt(3, 7));
           return [caught(() => crypto.createHash("whirlpool")), caught(() => h.digest()),
             caught(() => h.update("x")),
                   caught(() => crypto.timingSafeEqual(Buffer.from("a"), Buffer.from("ab"))),
                   crypto.timingSafeEqual(Buffer.from("ab"), Buffer.from("ab")),
                     crypto.timingSafeEqual(Buffer.from("ab"), Buffer.from("ac")),
                   crypto.randomBytes(100000).length, crypto.randomBytes(16).equals(crypto.randomBytes(16)),
                   Math.min(...ints), Math.max(...ints), /^[0-9a-f-]{36}$/.test(crypto.randomUUID()),
                     crypto.getHashes()];""",
    )
    assert f() == [
        ["Error", "Digest method not supported"],
        ["ERR_CRYPTO_HASH_FINALIZED", "Digest already called"],
        ["ERR_CRYPTO_HASH_FINALIZED", "Digest already called"],
        ["ERR_CRYPTO_TIMING_SAFE_EQUAL_LENGTH", "Input buffers must have the same byte length"],
        True,
        False,
        100000,
        False,
        3,
        6,
        True,
        ["md5", "sha1", "sha224", "sha256", "sha384", "sha512"],
    ]


def test_hashing_is_held_to_the_calls_cpu_limit(roomy_loader: dynisolate.Loader) -> None:
    f = run(
        roomy_loader,
        'import { createHash } from "node:crypto";',
        "const data = new Uint8Array(8 << 20); for (;;) createHash('sha512').update(data).digest();",
        limits=dynisolate.Limits(cpu_ms=50, memory_bytes=64 << 20),
    )
    with pytest.raises(dynisolate.CpuLimitError):
        f()
    assert run(
        roomy_loader, 'import { createHash } from "node:crypto";', "return createHash('md5').digest('hex');"
    )() == (hashlib.md5().hexdigest())


def test_random_bytes_are_refused_while_the_bundle_is_evaluated(loader: dynisolate.Loader) -> None:
    with pytest.raises(dynisolate.LoadError, match="Disallowed operation called within global scope"):
        loader.load(
            {
                "main.js": 'import { randomBytes } from "node:crypto";\n'
                "const key = randomBytes(8); export default {};"
            }
        )


# ---- node:async_hooks ----


def test_async_local_storage_follows_awaits_host_calls_timers_and_microtasks(
    loader: dynisolate.Loader,
) -> None:
    f = run(
        loader,
        'import { AsyncLocalStorage } from "node:async_hooks"; import { env } from "cloudflare:workers";'
        " const als = new AsyncLocalStorage();",
        """const seen = [];
           const step = async (tag) => { await env.LOOKUP(tag); seen.push([tag, als.getStore()?.id]); };
           const result = await als.run({ id: "outer" }, async () => {
             await null; seen.push(["after-await", als.getStore().id]);
             await step("host-call");
             await new Promise((resolve) => setTimeout(() => { seen.push(["timer", als.getStore().id]);
               resolve(); }, 1));
             queueMicrotask(() => seen.push(["microtask", als.getStore().id]));
             await Promise.resolve().then(() => seen.push(["then", als.getStore().id]));
             const inner = await als.run({ id: "inner" }, async () => { await env.LOOKUP("x");
               return als.getStore().id; });
             seen.push(["after-inner", als.getStore().id]);
             return inner;
           });
           seen.push(["outside", als.getStore() ?? null]);
           return [result, seen];""",
        env={"LOOKUP": lambda key: key},
    )
    result, seen = f()
    assert result == "inner"
    assert seen == [
        ["after-await", "outer"],
        ["host-call", "outer"],
        ["timer", "outer"],
        ["microtask", "outer"],
        ["then", "outer"],
        ["after-inner", "outer"],
        ["outside", None],
    ]


def test_interleaved_runs_keep_their_own_stores(loader: dynisolate.Loader) -> None:
    f = run(
        loader,
        'import { AsyncLocalStorage, AsyncResource } from "async_hooks";\n'
        "const als = new AsyncLocalStorage();",
        """const work = (id, ms) => als.run(id, async () => {
             const ids = [];
             for (let i = 0; i < 3; i++) { await new Promise((r) => setTimeout(r, ms));
               ids.push(als.getStore()); }
             return ids;
           });
           const [a, b] = await Promise.all([work("a", 1), work("b", 2)]);
           const bound = als.run("bound", () => AsyncLocalStorage.bind(() => als.getStore()));
           const snapshot = als.run("snap", () => AsyncLocalStorage.snapshot());
           const resource = als.run("res", () => new AsyncResource("T"));
           const exited = als.run("x", () => als.exit(() => als.getStore() ?? null));
           return [a, b, bound(), snapshot(() => als.getStore()),
             resource.runInAsyncScope(() => als.getStore()), exited, als.getStore() ?? null];""",
    )
    assert f() == [["a", "a", "a"], ["b", "b", "b"], "bound", "snap", "res", None, None]


def test_a_store_does_not_outlive_its_call_in_a_session(loader: dynisolate.Loader) -> None:
    worker = loader.load(
        {
            "main.js": """
                import { AsyncLocalStorage } from "node:async_hooks";
                const als = new AsyncLocalStorage();
                export default {
                  async set(v) { return als.run(v, async () => { setTimeout(() => {}, 1); await null;
                    return als.getStore(); }); },
                  get() { return als.getStore() ?? null; },
                };
            """
        }
    )
    with worker.session() as session:
        assert session.get_entrypoint().set("first") == "first"
        assert session.get_entrypoint().get() is None
