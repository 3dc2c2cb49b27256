"""The web platform inside JavaScript workers (guest/js/web.js): TextEncoder/TextDecoder, URL and
URLSearchParams, Headers, Request/Response, structuredClone and crypto, checked from the guest."""

from __future__ import annotations

import re
from typing import Any

import pytest

import dynisolate

AGENT = r"""
const errorOf = (fn) => {
  try { fn(); return null; } catch (e) { return `${e.constructor.name}:${e.name}`; }
};
const parts = (u) => ({
  href: u.href, origin: u.origin, protocol: u.protocol, username: u.username, password: u.password,
  host: u.host, hostname: u.hostname, port: u.port, pathname: u.pathname, search: u.search, hash: u.hash,
});

// Default-export methods get (env, ctx) after their arguments, so tests pass every argument.
export default {
  encode(text) { return [...new TextEncoder().encode(text)]; },
  encodeLoneSurrogate() { return [...new TextEncoder().encode("x\ud800")]; },
  encodeInto(text, size) {
    const dest = new Uint8Array(size);
    const { read, written } = new TextEncoder().encodeInto(text, dest);
    return { read, written, bytes: [...dest] };
  },
  decode(bytes, options) { return new TextDecoder("utf-8", options).decode(new Uint8Array(bytes)); },
  decodeStream(chunks) {
    const decoder = new TextDecoder();
    return chunks.map((c) => decoder.decode(new Uint8Array(c), { stream: true })).concat(decoder.decode());
  },
  decodeFatal(bytes) {
    return errorOf(() => new TextDecoder("utf-8", { fatal: true }).decode(new Uint8Array(bytes)));
  },
  bufferSources() {
    const bytes = new Uint8Array([0, 0x68, 0x69, 0]);
    const decoder = new TextDecoder();
    return [
      decoder.decode(bytes.buffer),
      decoder.decode(bytes.subarray(1, 3)),
      decoder.decode(new DataView(bytes.buffer, 1, 2)),
      decoder.decode(),
      errorOf(() => decoder.decode("hi")),
    ];
  },
  labels(labels) {
    return labels.map((l) => errorOf(() => new TextDecoder(l)) ?? new TextDecoder(l).encoding);
  },

  url(input, base) {
    try { return parts(base === null ? new URL(input) : new URL(input, base)); }
    catch (e) { return `${e.name}: ${e.message}`; }
  },
  canParse(inputs, base) {
    const b = base ?? undefined;
    return inputs.map((i) => [URL.canParse(i, b), URL.parse(i, b)?.href ?? null]);
  },
  setters() {
    const u = new URL("http://example.com/a?b#c");
    const seen = [];
    const set = (name, value) => { u[name] = value; seen.push(u.href); };
    set("protocol", "https"); set("protocol", "mailto"); set("username", "us er"); set("password", "p@ss");
    set("host", "EXAMPLE.org:8080"); set("port", "443"); set("port", "81x"); set("hostname", "h");
    set("pathname", "/x/./y/../z w"); set("search", "q=1 2"); set("hash", "top");
    set("search", ""); set("hash", "");
    return seen;
  },
  urlJson() {
    const u = new URL("https://h:8443/p?q");
    return [JSON.stringify({ u }), String(u), u.toJSON(), new URL("blob:https://h:1/id").origin,
      new URL("file:///x").origin, Object.prototype.toString.call(u)];
  },
  searchParamsLive() {
    const u = new URL("https://h/p?a=1&b=2&a=3");
    const p = u.searchParams;
    const out = [p.getAll("a"), p.size];
    p.append("c", "x y&z");
    out.push(u.search);
    p.delete("a");
    p.sort();
    out.push(u.href);
    u.search = "?k=v";
    out.push([...p]);
    p.delete("k");
    out.push(u.href, p === u.searchParams);
    return out;
  },
  searchParams() {
    const fromString = new URLSearchParams("?q=a+b&q=%E2%82%AC&empty&=v&x=%zz");
    const fromPairs = new URLSearchParams([["b", "2"], ["a", "1"], ["b", "0"]]);
    fromPairs.sort();
    const fromRecord = new URLSearchParams({ "sp ace": "a&b=c", "é": "~!'()*" });
    return {
      entries: [...fromString],
      sorted: fromPairs.toString(),
      record: fromRecord.toString(),
      has: [fromString.has("q", "€"), fromString.has("q", "zz"), fromString.get("missing")],
      keys: [...fromString.keys()],
      badPair: errorOf(() => new URLSearchParams([["only-one"]])),
    };
  },

  headers() {
    const h = new Headers({ "Content-Type": "text/plain", "X-B": " b1 " });
    h.append("x-b", "b2");
    h.append("Set-Cookie", "a=1");
    h.append("set-cookie", "b=2");
    h.append("A-First", "z");
    const seen = [];
    h.forEach((value, name) => seen.push(name));
    return {
      entries: [...h],
      get: [h.get("X-B"), h.get("SET-COOKIE"), h.get("nope"), h.has("content-TYPE")],
      setCookie: h.getSetCookie(),
      order: seen,
    };
  },
  headerErrors() {
    const h = new Headers();
    return [
      errorOf(() => h.append("bad name", "v")),
      errorOf(() => h.append("", "v")),
      errorOf(() => h.append("x", "a\r\nb")),
      errorOf(() => h.append("x", "a\0b")),
      errorOf(() => h.set("x", "€")),
      errorOf(() => new Headers([["a", "b", "c"]])),
      errorOf(() => Response.redirect("https://h/").headers.set("x", "y")),
    ];
  },

  async responses() {
    const text = new Response("héllo");
    const json = Response.json({ a: [1, 2] }, { status: 201, headers: { "x-id": "7" } });
    const empty = new Response(null, { status: 204, statusText: "No Content" });
    const redirect = Response.redirect("https://example.com/a b", 307);
    const error = Response.error();
    return {
      text: [text.status, text.ok, text.headers.get("content-type"), await text.text(), text.bodyUsed],
      json: [json.status, json.headers.get("content-type"), json.headers.get("x-id"), await json.json()],
      empty: [empty.status, empty.statusText, empty.body, await empty.text()],
      redirect: [redirect.status, redirect.headers.get("location")],
      error: [error.type, error.status, error.ok],
      bytes: [...await new Response(new Uint8Array([1, 2, 3]).buffer).bytes()],
      form: await new Response(new URLSearchParams({ a: "1 2" })).text(),
    };
  },
  responseErrors() {
    return [
      errorOf(() => new Response("x", { status: 99 })),
      errorOf(() => new Response("x", { status: 600 })),
      errorOf(() => new Response("x", { status: 204 })),
      errorOf(() => new Response("x", { statusText: "a\nb" })),
      errorOf(() => Response.redirect("https://h/", 200)),
      errorOf(() => Response.json(undefined)),
    ];
  },
  async bodyOnce() {
    const r = new Response("once");
    const first = await r.text();
    let second;
    try { await r.text(); second = "read twice"; } catch (e) { second = `${e.name}: ${e.message}`; }
    return [first, r.bodyUsed, second, errorOf(() => r.clone())];
  },
  async clones() {
    const r = new Response("shared", { headers: { "x-a": "1" } });
    const copy = r.clone();
    copy.headers.set("x-a", "2");
    const passed = new Response(r.body, { status: 202 });
    const copied = await copy.text();
    return [copied, r.headers.get("x-a"), passed.status, await passed.text(), r.bodyUsed, r.body.locked];
  },
  async streams() {
    const r = new Response("chunk");
    const reader = r.body.getReader();
    const first = await reader.read();
    const last = await reader.read();
    reader.releaseLock();
    const chunks = [];
    for await (const c of new Response("it").body) chunks.push(new TextDecoder().decode(c));
    const text = new TextDecoder().decode(first.value);
    return [text, first.done, last.done, r.bodyUsed, chunks, new Response().body];
  },
  async requests() {
    const post = new Request("https://EXAMPLE.com/p?q#f", {
      method: "post", body: JSON.stringify({ n: 1 }), headers: { "X-Trace": "t" },
    });
    const copy = new Request(post, { headers: { "x-trace": "u" } });
    return {
      post: [post.method, post.url, post.redirect, post.headers.get("content-type"), post.bodyUsed],
      copy: [copy.method, copy.url, copy.headers.get("x-trace"), await copy.json()],
      get: [new Request(new URL("http://h/x")).method, new Request("http://h", { method: "patch" }).method],
    };
  },
  requestErrors() {
    return [
      errorOf(() => new Request("/relative")),
      errorOf(() => new Request("https://h/", { body: "x" })),
      errorOf(() => new Request("https://h/", { method: "HEAD", body: "x" })),
      errorOf(() => new Request("https://h/", { method: "bad method" })),
      errorOf(() => new Request("https://h/", { redirect: "sometimes" })),
    ];
  },
  async fetch(request) {
    const bytes = [...await request.bytes()];
    let mutable;
    try { request.headers.set("x", "y"); mutable = true; } catch { mutable = false; }
    const headers = new Headers({ "x-method": request.method, "x-url": request.url });
    headers.set("x-count", String(bytes.length));
    headers.set("x-mutable", String(mutable));
    headers.append("Set-Cookie", "a=1");
    headers.append("Set-Cookie", "b=2");
    return new Response(new Uint8Array(bytes.reverse()), { status: 207, statusText: "Multi", headers });
  },

  cloneGraph() {
    const shared = { tag: "shared" };
    const root = { name: "root", list: [shared, shared], when: new Date(86400000), re: /a+b/gi };
    root.self = root;
    root.map = new Map([[shared, new Set([1, 2n, "three"])]]);
    root.bytes = new Uint8Array([1, 2, 3]);
    root.view = new DataView(root.bytes.buffer, 1, 2);
    const c = structuredClone(root);
    return {
      distinct: c !== root && c.list[0] !== shared,
      cycle: c.self === c,
      shared: c.list[0] === c.list[1] && c.map.has(c.list[0]),
      set: [...c.map.get(c.list[0])].map(String),
      date: c.when instanceof Date && c.when.getTime(),
      regexp: [c.re.source, c.re.flags],
      sameBuffer: c.view.buffer === c.bytes.buffer,
      bytes: [...c.bytes],
    };
  },
  cloneDeep(depth) {
    let list = null;
    for (let i = 0; i < depth; i++) list = { i, next: list };
    let node = structuredClone(list);
    let count = 0;
    while (node) { count++; node = node.next; }
    return count;
  },
  cloneErrors() {
    const error = structuredClone(new RangeError("out of range"));
    class Point { constructor() { this.x = 1; } }
    const point = structuredClone(new Point());
    return {
      error: [error instanceof RangeError, error.name, error.message],
      point: [Object.getPrototypeOf(point) === Object.prototype, point.x],
      refused: [() => 1, Symbol("s"), new WeakMap(), Promise.resolve(1), new Headers()].map((v) =>
        errorOf(() => structuredClone(v))),
    };
  },

  cloneValues() {
    const buffer = new Uint8Array([5, 6]).buffer;
    const moved = structuredClone({ buffer }, { transfer: [buffer] });
    const boxed = structuredClone([
      new Number(1), new String("s"), new Boolean(false), Object(2n), 3n, -0, NaN,
    ]);
    return [buffer.byteLength, [...new Uint8Array(moved.buffer)], boxed.map((v) => typeof v),
      boxed.map((v) => String(v)), Object.is(boxed[5], -0)];
  },
  cloneCauses() {
    const inner = new TypeError("inner");
    const outer = new Error("outer", { cause: { inner, n: 1 } });
    const looped = new Error("looped");
    looped.cause = looped;
    let getterRan = false;
    const guarded = new Error("guarded");
    Object.defineProperty(guarded, "cause", { get() { getterRan = true; return 1; } });
    const [a, b, c] = [outer, looped, guarded].map((e) => structuredClone(e));
    return {
      nested: [a.cause.inner instanceof TypeError, a.cause.inner.message, a.cause.n, a.cause !== outer.cause],
      enumerable: Object.getOwnPropertyDescriptor(a, "cause").enumerable,
      cycle: b.cause === b,
      accessor: ["cause" in c, getterRan],
    };
  },
  cloneResizableViews() {
    const buffer = new ArrayBuffer(8, { maxByteLength: 64 });
    const tracking = new Uint16Array(buffer, 2);
    const fixed = new DataView(buffer, 0, 4);
    const [t, f] = structuredClone([tracking, fixed]);
    t.buffer.resize(32);
    const shrunk = new ArrayBuffer(16, { maxByteLength: 16 });
    const outside = new Uint8Array(shrunk, 8, 4);
    const outsideView = new DataView(shrunk, 8, 4);
    shrunk.resize(4);
    return {
      tracking: [t.buffer === f.buffer, t.buffer.resizable, t.length, f.byteLength],
      outOfBounds: errorOf(() => structuredClone(outside)),
      dataView: errorOf(() => structuredClone(outsideView, { transfer: [shrunk] })),
      kept: shrunk.byteLength,
    };
  },
  uuid() { return crypto.randomUUID(); },
  randomBytes(n) { return [...crypto.getRandomValues(new Uint8Array(n))]; },
  randomErrors() {
    return [
      errorOf(() => crypto.getRandomValues(new Uint8Array(65537))),
      errorOf(() => crypto.getRandomValues(new Float64Array(4))),
      errorOf(() => crypto.getRandomValues([1, 2])),
    ];
  },

  globals() {
    return ["TextEncoder", "TextDecoder", "URL", "URLSearchParams", "Headers", "Request", "Response",
      "structuredClone", "crypto"].map((name) => {
      const d = Object.getOwnPropertyDescriptor(globalThis, name);
      return [name, typeof d.value, d.writable, d.enumerable, d.configurable];
    });
  },
  async hostileIntrinsics() {
    const saved = [[JSON, "stringify"], [JSON, "parse"], [Array.prototype, "push"], [Map.prototype, "get"],
      [String.prototype, "toLowerCase"], [Object.prototype, "toString"], [Array.prototype, Symbol.iterator]]
      .map(([o, k]) => [o, k, o[k]]);
    for (const [o, k] of saved) o[k] = () => { throw new Error("hijacked " + String(k)); };
    try {
      const h = new Headers({ "X-A": "1" }); // a record: a sequence init would (rightly) use the iterator
      h.append("x-a", "2");
      const u = new URL("HTTPS://Example.COM:443/a/../b?c d");
      u.searchParams.set("e", "f");
      const response = new Response("body", { headers: h });
      const request = new Request(u, { method: "put", body: "r" });
      return { header: h.get("X-A"), url: u.href, text: await response.text(), method: request.method,
        json: await new Response('{"k":[1]}').text(), bytes: new TextEncoder().encode("é").length };
    } finally {
      for (let i = 0; i < saved.length; i++) saved[i][0][saved[i][1]] = saved[i][2]; // no iterators
    }
  },
};
"""


@pytest.fixture
def web(loader: dynisolate.Loader) -> dynisolate.Worker:
    return loader.load({"agent.js": AGENT}, limits=dynisolate.Limits(cpu_ms=2_000))


def parse(web: dynisolate.Worker, text: str, base: str | None = None) -> Any:
    """The parts of `new URL(text, base)`, or the error it throws."""
    return web.get_entrypoint().url(text, base)


def decode(web: dynisolate.Worker, data: list[int], options: dict[str, bool] | None = None) -> Any:
    return web.get_entrypoint().decode(data, options)


def test_the_globals_look_like_built_ins(web: dynisolate.Worker) -> None:
    assert web.get_entrypoint().globals() == [
        ["TextEncoder", "function", True, False, True],
        ["TextDecoder", "function", True, False, True],
        ["URL", "function", True, False, True],
        ["URLSearchParams", "function", True, False, True],
        ["Headers", "function", True, False, True],
        ["Request", "function", True, False, True],
        ["Response", "function", True, False, True],
        ["structuredClone", "function", True, False, True],
        ["crypto", "object", True, False, True],
    ]


def test_text_encoder(web: dynisolate.Worker) -> None:
    entry = web.get_entrypoint()
    assert entry.encode("aé€😀") == [0x61, 0xC3, 0xA9, 0xE2, 0x82, 0xAC, 0xF0, 0x9F, 0x98, 0x80]
    # A lone surrogate (made in the guest: the host boundary refuses them) becomes U+FFFD.
    assert entry.encodeLoneSurrogate() == [0x78, 0xEF, 0xBF, 0xBD]
    assert entry.encodeInto("a€😀", 5) == {"read": 2, "written": 4, "bytes": [0x61, 0xE2, 0x82, 0xAC, 0]}


def test_text_decoder_replaces_maximal_subparts(web: dynisolate.Worker) -> None:
    r = "\ufffd"
    assert decode(web, [0x68, 0xC3, 0xA9, 0xF0, 0x9F, 0x98, 0x80]) == "hé😀"
    assert decode(web, [0xE2, 0x82, 0x41]) == r + "A"  # a truncated sequence is one U+FFFD
    assert decode(web, [0xC0, 0x80]) == r + r  # overlong
    assert decode(web, [0xED, 0xA0, 0x80]) == r * 3  # a UTF-16 surrogate
    assert decode(web, [0xF4, 0x90, 0x80, 0x80]) == r * 4  # above U+10FFFF
    assert decode(web, [0x61, 0xF1, 0x80, 0x80, 0xE1, 0x80, 0xC2, 0x62, 0x80, 0x63]) == f"a{r}{r}{r}b{r}c"
    assert decode(web, [0xEF, 0xBB, 0xBF, 0x61]) == "a"
    assert decode(web, [0xEF, 0xBB, 0xBF, 0x61], {"ignoreBOM": True}) == "\ufeffa"


def test_text_decoder_takes_any_buffer_source(web: dynisolate.Worker) -> None:
    assert web.get_entrypoint().bufferSources() == ["\0hi\0", "hi", "hi", "", "TypeError:TypeError"]


def test_text_decoder_streams_and_fatal_mode(web: dynisolate.Worker) -> None:
    entry = web.get_entrypoint()
    assert entry.decodeStream([[0xE2], [0x82], [0xAC, 0x61], [0xF0, 0x9F]]) == ["", "", "€a", "", "\ufffd"]
    assert entry.decodeFatal([0x61, 0x80]) == "TypeError:TypeError"
    assert entry.decodeFatal([0xC3, 0xA9]) is None
    assert entry.labels(["UTF-8", " utf8 ", "unicode-1-1-utf-8", "latin1", "replacement"]) == [
        "utf-8",
        "utf-8",
        "utf-8",
        "windows-1252",
        "RangeError:RangeError",
    ]


def test_url_parsing_normalises(web: dynisolate.Worker) -> None:
    assert parse(web, "https://EXAMPLE.com:443/a/./b/../c?x y#z") == {
        "href": "https://example.com/a/c?x%20y#z",
        "origin": "https://example.com",
        "protocol": "https:",
        "username": "",
        "password": "",
        "host": "example.com",
        "hostname": "example.com",
        "port": "",
        "pathname": "/a/c",
        "search": "?x%20y",
        "hash": "#z",
    }
    assert parse(web, "http://us er:p@ss@h:8080\\x\\y")["href"] == "http://us%20er:p%40ss@h:8080/x/y"
    assert parse(web, "http://0x7f.1/")["host"] == "127.0.0.1"
    assert parse(web, "http://[0:0::1]:80/")["host"] == "[::1]"
    assert parse(web, "ws://h:80/")["href"] == "ws://h/"
    assert parse(web, "file:///C|/dir/")["href"] == "file:///C:/dir/"


def test_url_relative_resolution_and_opaque_paths(web: dynisolate.Worker) -> None:
    assert parse(web, "../x?y", "https://a/b/c/d")["href"] == "https://a/b/x?y"
    assert parse(web, "//other/p", "https://a/b")["href"] == "https://other/p"
    assert parse(web, "?q", "https://a/b/c")["href"] == "https://a/b/c?q"
    mailto = parse(web, "mailto:Joe@Example.com")
    assert (mailto["pathname"], mailto["host"], mailto["origin"]) == ("Joe@Example.com", "", "null")
    assert parse(web, "data:text/plain,hi there")["pathname"] == "text/plain,hi there"


def test_invalid_urls_are_type_errors(web: dynisolate.Worker) -> None:
    for bad in ["not a url", "http://", "http://a b/", "http://[::1", "http://h:99999/", "http://1.2.3.256/"]:
        assert parse(web, bad) == f"TypeError: Invalid URL: {bad}"
    assert parse(web, "x", "mailto:a").startswith("TypeError: Invalid URL")
    # Hosts IDNA refuses: invalid punycode, a joiner out of context, a bidi rule broken.
    for bad in ["https://xn--a/", "https://a\u200db.example/", "https://يa/"]:
        assert parse(web, bad).startswith("TypeError: Invalid URL")


def test_url_can_parse_and_parse(web: dynisolate.Worker) -> None:
    assert web.get_entrypoint().canParse(["https://a/", "/rel", "::"], None) == [
        [True, "https://a/"],
        [False, None],
        [False, None],
    ]
    assert web.get_entrypoint().canParse(["/rel"], "https://h/x/y") == [[True, "https://h/rel"]]


def test_url_setters(web: dynisolate.Worker) -> None:
    assert web.get_entrypoint().setters() == [
        "https://example.com/a?b#c",
        "https://example.com/a?b#c",  # a special scheme cannot become a non-special one
        "https://us%20er@example.com/a?b#c",
        "https://us%20er:p%40ss@example.com/a?b#c",
        "https://us%20er:p%40ss@example.org:8080/a?b#c",
        "https://us%20er:p%40ss@example.org/a?b#c",  # the default port is elided
        "https://us%20er:p%40ss@example.org:81/a?b#c",
        "https://us%20er:p%40ss@h:81/a?b#c",
        "https://us%20er:p%40ss@h:81/x/z%20w?b#c",
        "https://us%20er:p%40ss@h:81/x/z%20w?q=1%202#c",
        "https://us%20er:p%40ss@h:81/x/z%20w?q=1%202#top",
        "https://us%20er:p%40ss@h:81/x/z%20w#top",
        "https://us%20er:p%40ss@h:81/x/z%20w",
    ]


def test_urls_serialise_and_have_origins(web: dynisolate.Worker) -> None:
    assert web.get_entrypoint().urlJson() == [
        '{"u":"https://h:8443/p?q"}',
        "https://h:8443/p?q",
        "https://h:8443/p?q",
        "https://h:1",
        "null",
        "[object URL]",
    ]


def test_search_params_are_live(web: dynisolate.Worker) -> None:
    assert web.get_entrypoint().searchParamsLive() == [
        ["1", "3"],
        3,
        "?a=1&b=2&a=3&c=x+y%26z",
        "https://h/p?b=2&c=x+y%26z",
        [["k", "v"]],
        "https://h/p",
        True,
    ]


def test_url_search_params(web: dynisolate.Worker) -> None:
    assert web.get_entrypoint().searchParams() == {
        "entries": [["q", "a b"], ["q", "€"], ["empty", ""], ["", "v"], ["x", "%zz"]],
        "sorted": "a=1&b=2&b=0",
        "record": "sp+ace=a%26b%3Dc&%C3%A9=%7E%21%27%28%29*",
        "has": [True, False, None],
        "keys": ["q", "q", "empty", "", "x"],
        "badPair": "TypeError:TypeError",
    }


def test_headers_are_case_insensitive_sorted_and_combined(web: dynisolate.Worker) -> None:
    assert web.get_entrypoint().headers() == {
        "entries": [
            ["a-first", "z"],
            ["content-type", "text/plain"],
            ["set-cookie", "a=1"],
            ["set-cookie", "b=2"],
            ["x-b", "b1, b2"],
        ],
        "get": ["b1, b2", "a=1, b=2", None, True],
        "setCookie": ["a=1", "b=2"],
        "order": ["a-first", "content-type", "set-cookie", "set-cookie", "x-b"],
    }


def test_headers_refuse_bad_names_and_values(web: dynisolate.Worker) -> None:
    assert web.get_entrypoint().headerErrors() == ["TypeError:TypeError"] * 7


def test_responses(web: dynisolate.Worker) -> None:
    assert web.get_entrypoint().responses() == {
        "text": [200, True, "text/plain;charset=UTF-8", "héllo", True],
        "json": [201, "application/json", "7", {"a": [1, 2]}],
        "empty": [204, "No Content", None, ""],
        "redirect": [307, "https://example.com/a%20b"],
        "error": ["error", 0, False],
        "bytes": [1, 2, 3],
        "form": "a=1+2",
    }


def test_response_init_is_checked(web: dynisolate.Worker) -> None:
    assert web.get_entrypoint().responseErrors() == [
        "RangeError:RangeError",
        "RangeError:RangeError",
        "TypeError:TypeError",
        "TypeError:TypeError",
        "RangeError:RangeError",
        "TypeError:TypeError",
    ]


def test_a_body_is_read_once(web: dynisolate.Worker) -> None:
    first, used, second, clone = web.get_entrypoint().bodyOnce()
    assert (first, used, clone) == ("once", True, "TypeError:TypeError")
    assert second.startswith("TypeError: Body has already been used")


def test_clones_and_bodies_passed_on(web: dynisolate.Worker) -> None:
    # The second response reads the first one's stream: the first body is used, its stream locked.
    assert web.get_entrypoint().clones() == ["shared", "1", 202, "shared", True, True]


def test_bodies_read_as_streams(web: dynisolate.Worker) -> None:
    assert web.get_entrypoint().streams() == ["chunk", False, True, True, ["it"], None]


def test_requests(web: dynisolate.Worker) -> None:
    assert web.get_entrypoint().requests() == {
        # bodyUsed: the copy took the body over
        "post": ["POST", "https://example.com/p?q#f", "follow", "text/plain;charset=UTF-8", True],
        "copy": ["POST", "https://example.com/p?q#f", "u", {"n": 1}],
        "get": ["GET", "patch"],  # only the standard methods are upper-cased
    }
    assert web.get_entrypoint().requestErrors() == ["TypeError:TypeError"] * 5


def test_fetch_handlers_get_and_return_binary_bodies(web: dynisolate.Worker) -> None:
    payload = bytes(range(256))
    response = web.fetch(dynisolate.Request("https://tenant.example/up?x=1", method="POST", body=payload))
    assert (response.status, response.status_text) == (207, "Multi")
    assert response.body == payload[::-1]
    assert response.headers["x-method"] == "POST"
    assert response.headers["x-count"] == "256"
    assert response.headers["x-url"] == "https://tenant.example/up?x=1"
    assert response.headers["x-mutable"] == "false"  # an incoming request's headers are immutable
    assert response.headers["set-cookie"] == "a=1, b=2"


def test_structured_clone_keeps_cycles_and_shared_references(web: dynisolate.Worker) -> None:
    assert web.get_entrypoint().cloneGraph() == {
        "distinct": True,
        "cycle": True,
        "shared": True,
        "set": ["1", "2", "three"],
        "date": 86400000,
        "regexp": ["a+b", "gi"],
        "sameBuffer": True,
        "bytes": [1, 2, 3],
    }


def test_structured_clone_handles_deep_nesting(web: dynisolate.Worker) -> None:
    assert web.get_entrypoint().cloneDeep(10_000) == 10_000


def test_structured_clone_errors_classes_and_refusals(web: dynisolate.Worker) -> None:
    assert web.get_entrypoint().cloneErrors() == {
        "error": [True, "RangeError", "out of range"],
        "point": [True, 1],
        "refused": ["DOMException:DataCloneError"] * 5,
    }


def test_structured_clone_transfers_and_boxes(web: dynisolate.Worker) -> None:
    assert web.get_entrypoint().cloneValues() == [
        0,  # the transferred buffer is detached
        [5, 6],
        ["object", "object", "object", "object", "bigint", "number", "number"],
        ["1", "s", "false", "2", "3", "0", "NaN"],
        True,
    ]


def test_structured_clone_carries_an_errors_cause_as_a_value(web: dynisolate.Worker) -> None:
    # The cause is cloned like any value (cycles included), and only from an own data property.
    assert web.get_entrypoint().cloneCauses() == {
        "nested": [True, "inner", 1, True],
        "enumerable": False,
        "cycle": True,
        "accessor": [False, False],
    }


def test_structured_clone_keeps_length_tracking_views_and_refuses_views_out_of_bounds(
    web: dynisolate.Worker,
) -> None:
    seen = web.get_entrypoint().cloneResizableViews()
    # The clone's Uint16Array still follows its (cloned, resizable) buffer: (32 - 2) / 2 elements.
    assert seen["tracking"] == [True, True, 15, 4]
    assert seen["outOfBounds"] == "DOMException:DataCloneError"
    assert seen["dataView"] == "DOMException:DataCloneError"  # its buffer shrank below it
    assert seen["kept"] == 4  # a refused clone transfers nothing


def test_random_uuids(web: dynisolate.Worker) -> None:
    entry = web.get_entrypoint()
    first, second = entry.uuid(), entry.uuid()
    pattern = re.compile(r"[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}")
    assert pattern.fullmatch(first) and pattern.fullmatch(second)
    assert first != second


def test_get_random_values(web: dynisolate.Worker) -> None:
    entry = web.get_entrypoint()
    a, b = entry.randomBytes(64), entry.randomBytes(64)
    assert len(a) == 64 and all(0 <= x <= 255 for x in a)
    assert a != b and len(set(a)) > 16
    assert entry.randomErrors() == [
        "QuotaExceededError:QuotaExceededError",  # WebIDL's DOMException subclass
        "DOMException:TypeMismatchError",
        "TypeError:TypeError",
    ]


def test_replaced_intrinsics_do_not_steer_the_library(web: dynisolate.Worker) -> None:
    assert web.get_entrypoint().hostileIntrinsics() == {
        "header": "1, 2",
        "url": "https://example.com/b?c+d=&e=f",
        "text": "body",
        "method": "PUT",
        "json": '{"k":[1]}',
        "bytes": 2,
    }
