"""URLPattern in JavaScript workers (guest/js/urlpattern.js, parsed on the host by
rust/js/urlpattern.rs): routing as tenants write it, the results exec() gives, the TypeErrors bad
patterns get, the bounds on a pattern's size and groups, a pattern whose regular expression
backtracks without end (stopped by cpu_ms), and tenant code that tampers with the built-ins
matching relies on. WPT's urlpattern files cover the standard's cases (tests/conformance)."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest

import dynisolate

AGENT = r"""
const errorOf = (fn) => {
  try { fn(); return null; } catch (e) { return `${e.constructor.name}: ${e.message}`; }
};
const COMPONENTS = ["protocol", "username", "password", "hostname", "port", "pathname", "search", "hash"];
const patternOf = (p) => Object.fromEntries(COMPONENTS.map((c) => [c, p[c]]));

const ROUTES = [
  ["user", new URLPattern({ pathname: "/users/:id(\\d+)" })],
  ["file", new URLPattern({ pathname: "/files/*" })],
  ["api", new URLPattern("https://api.example.com/v:version/:resource{/:id}?")],
];

export default {
  fetch(request) {
    for (const [name, pattern] of ROUTES) {
      const found = pattern.exec(request.url);
      if (found) return Response.json({ route: name, groups: found.pathname.groups });
    }
    return new Response("no route", { status: 404 });
  },

  components(args) { return patternOf(new URLPattern(...args)); },
  exec(args, input, base) {
    const p = new URLPattern(...args);
    const found = base === null ? p.exec(input) : p.exec(input, base);
    return found === null ? null : JSON.parse(JSON.stringify(found));
  },
  test(args, inputs) {
    const p = new URLPattern(...args);
    return inputs.map((input) => p.test(input));
  },
  groupValues() {
    const found = new URLPattern({ pathname: "/:a/:b?" }).exec({ pathname: "/x" });
    const groups = found.pathname.groups;
    return [Object.keys(groups), groups.b === undefined, "b" in groups];
  },
  hasRegExpGroups(inits) { return inits.map((init) => new URLPattern(init).hasRegExpGroups); },
  shape() {
    const p = new URLPattern({ pathname: "/a" });
    return [
      typeof URLPattern, URLPattern.length, Object.prototype.toString.call(p), p.test.length, p.exec.length,
      errorOf(() => URLPattern()), errorOf(() => URLPattern.prototype.test.call({}, "https://h/")),
      errorOf(() => Object.getOwnPropertyDescriptor(URLPattern.prototype, "pathname").get.call({})),
      errorOf(() => structuredClone(p)),
    ];
  },
  conversionOrder() {
    const log = [];
    const spy = (name, value) => ({ toString() { log.push(name); return value; } });
    const init = {};
    for (const key of ["username", "pathname", "baseURL", "hash"]) {
      Object.defineProperty(init, key, { get() { log.push(key); return undefined; }, enumerable: true });
    }
    const options = { get ignoreCase() { log.push("ignoreCase"); return false; } };
    // Both refused, once every argument is converted: a base URL beside an init.
    const errors = [
      errorOf(() => new URLPattern(init, spy("baseURL argument", "https://b/"), options)),
      errorOf(() => new URLPattern({}).exec({}, spy("exec's baseURL", "https://b/"))),
    ];
    return [log, errors];
  },
  constructError(args) { return errorOf(() => new URLPattern(...args)); },
  matchError(args, input, base) {
    return errorOf(() => new URLPattern(...args).exec(input, base ?? undefined));
  },

  longPattern(bytes) { return errorOf(() => new URLPattern({ pathname: "/" + "a".repeat(bytes) })); },
  manyGroups(count) {
    const pathname = Array.from({ length: count }, (_, i) => `/:g${i}`).join("");
    return errorOf(() => new URLPattern({ pathname }));
  },
  longInput(bytes) {
    return errorOf(() => new URLPattern({ pathname: "/*" }).test({ pathname: "/" + "a".repeat(bytes) }));
  },
  backtrack(length) {
    // (?:a|a)* tries 2^n ways to split n a's before it gives up for want of a b.
    return new URLPattern({ pathname: "/:x((?:a|a)*b)" }).test({ pathname: "/" + "a".repeat(length) });
  },

  tampered() {
    const stringify = JSON.stringify;
    const p = new URLPattern("https://example.com/:kind/:__proto__");
    const before = stringify(p.exec("https://example.com/books/7"));
    const seen = [];
    RegExp.prototype.exec = () => { seen.push("exec"); return null; };
    RegExp.prototype[Symbol.match] = () => { seen.push("match"); return null; };
    Array.prototype[Symbol.iterator] = function* () { seen.push("iterator"); };
    Object.defineProperty(Object.prototype, "kind", { set(v) { seen.push("setter"); }, configurable: true });
    Object.prototype.toJSON = function () { seen.push("toJSON"); return {}; };
    JSON.parse = () => { seen.push("JSON.parse"); return {}; };
    JSON.stringify = () => { seen.push("JSON.stringify"); return "{}"; };
    globalThis.RegExp = function () { seen.push("RegExp"); };
    const fresh = new URLPattern({ pathname: "/:kind/:id(\\d+)", search: "*" });
    const found = fresh.exec({ pathname: "/books/7", search: "q" });
    const again = p.exec("https://example.com/books/7");
    delete Object.prototype.toJSON;
    const groups = again.pathname.groups;
    return {
      before,
      same: stringify(again) === before,
      found: [found.pathname.groups.kind, found.pathname.groups.id, found.search.groups[0],
        found.inputs.length],
      protoGroup: [Object.getPrototypeOf(groups) === Object.prototype, Object.keys(groups)],
      missing: fresh.test({ pathname: "/books/x" }),
      seen,
    };
  },
};
"""


@pytest.fixture(scope="module")
def module_loader() -> Iterator[dynisolate.Loader]:
    """One loader for the module: the interpreter is compiled once, not once per test."""
    with dynisolate.Loader(max_isolates=4, max_memory_bytes=32 << 20, cache_dir=None) as loader:
        yield loader


@pytest.fixture(scope="module")
def worker(module_loader: dynisolate.Loader) -> dynisolate.Worker:
    return module_loader.load({"agent.js": AGENT}, limits=dynisolate.Limits(cpu_ms=5_000))


@pytest.fixture(scope="module")
def agent(worker: dynisolate.Worker) -> Any:
    return worker.get_entrypoint()


def route(worker: dynisolate.Worker, url: str) -> Any:
    response = worker.fetch(dynisolate.Request(url))
    return response.json() if response.status == 200 else response.status


def test_a_worker_routes_requests_by_pattern(worker: dynisolate.Worker) -> None:
    assert route(worker, "https://tenant.example/users/42") == {"route": "user", "groups": {"id": "42"}}
    assert route(worker, "https://tenant.example/users/me") == 404
    assert route(worker, "https://tenant.example/files/a/b.txt") == {
        "route": "file",
        "groups": {"0": "a/b.txt"},
    }
    # The unmatched optional `id` is undefined, which JSON leaves out.
    assert route(worker, "https://api.example.com/v2/books") == {
        "route": "api",
        "groups": {"version": "2", "resource": "books"},
    }
    assert route(worker, "https://api.example.com/v2/books/9")["groups"] == {
        "version": "2",
        "resource": "books",
        "id": "9",
    }
    assert route(worker, "http://api.example.com/v2/books") == 404  # the pattern's scheme is https


def test_a_pattern_string_and_base_url_give_canonical_components(agent: Any) -> None:
    # (A `?` right after a group would be its modifier, not the start of the search.)
    assert agent.components(["/books/:id/p?q=*#top", "https://Example.COM:443/ignored"]) == {
        "protocol": "https",
        "username": "*",
        "password": "*",
        "hostname": "example.com",
        "port": "",  # https's default port
        "pathname": "/books/:id/p",
        "search": "q=*",
        "hash": "top",
    }
    assert agent.components([{"hostname": "*.EXAMPLE.com", "pathname": "/a b"}]) == {
        "protocol": "*",
        "username": "*",
        "password": "*",
        "hostname": "*.example.com",
        "port": "*",
        "pathname": "/a%20b",
        "search": "*",
        "hash": "*",
    }
    assert agent.components([])["pathname"] == "*"


def test_exec_reports_inputs_and_groups_per_component(agent: Any) -> None:
    found = agent.exec(["https://:sub.example.com/:a/*"], "/x/y/z?k=v", "https://www.example.com")
    assert found["inputs"] == ["/x/y/z?k=v", "https://www.example.com"]
    assert found["hostname"] == {"input": "www.example.com", "groups": {"sub": "www"}}
    assert found["pathname"] == {"input": "/x/y/z", "groups": {"a": "x", "0": "y/z"}}
    assert found["search"] == {"input": "k=v", "groups": {"0": "k=v"}}
    by_init = agent.exec([{"pathname": "/:a"}], {"pathname": "/caf\u00e9", "baseURL": "https://h/"}, None)
    assert by_init["inputs"] == [{"pathname": "/caf\u00e9", "baseURL": "https://h/"}]
    assert by_init["pathname"] == {"input": "/caf%C3%A9", "groups": {"a": "caf%C3%A9"}}
    assert by_init["protocol"]["input"] == "https"
    assert agent.exec([{"pathname": "/:a"}], "not a url", None) is None
    assert agent.exec([{"pathname": "/:a"}], "/x", "also not a url") is None
    assert agent.exec([{"pathname": "/:a"}], {"protocol": "a b"}, None) is None  # does not canonicalise


def test_an_unmatched_optional_group_is_undefined(agent: Any) -> None:
    assert agent.groupValues() == [["a", "b"], True, True]


def test_ignore_case_applies_to_pathname_search_and_hash(agent: Any) -> None:
    assert agent.test(
        [{"pathname": "/Books/:id", "search": "Q=*"}, {"ignoreCase": True}],
        [
            {"pathname": "/books/1", "search": "q=x"},
            {"pathname": "/BOOKS/1", "search": "Q=x"},
        ],
    ) == [True, True]
    assert agent.test([{"pathname": "/Books/:id"}], [{"pathname": "/books/1"}]) == [False]
    assert agent.test([{"username": "Bob"}, {"ignoreCase": True}], [{"username": "bob"}]) == [False]
    assert agent.test(["https://h/Books", "https://h", {"ignoreCase": True}], ["https://h/BOOKS"]) == [True]


def test_regexp_groups_use_the_v_flag(agent: Any) -> None:
    assert agent.hasRegExpGroups(
        [{}, {"pathname": "/:id"}, {"pathname": "/:id(\\d+)"}, {"hostname": "(a|b).c"}]
    ) == [
        False,
        False,
        True,
        True,
    ]
    # Set subtraction needs `v`; so does a hyphen outside a class (QuickJS-ng's libregexp, patched).
    assert agent.test([{"pathname": "/([[a-z]--a])"}], [{"pathname": "/b"}, {"pathname": "/a"}]) == [
        True,
        False,
    ]
    assert agent.test([{"protocol": "foo-bar"}], [{"protocol": "foo-bar"}]) == [True]
    assert agent.test(["http://[\\:\\:1]/"], ["http://[::1]/"]) == [True]


def test_urlpattern_has_the_shape_of_a_web_class(agent: Any) -> None:
    shape = agent.shape()
    assert shape[:5] == ["function", 0, "[object URLPattern]", 0, 0]
    assert shape[5].startswith("TypeError")  # called without new
    assert shape[6].startswith("TypeError") and shape[7].startswith("TypeError")  # not a URLPattern
    assert shape[8] == "DOMException: A platform object could not be cloned."


def test_arguments_are_converted_in_webidls_order(agent: Any) -> None:
    log, errors = agent.conversionOrder()
    assert log == [
        "baseURL",  # the input dictionary's members, lexicographically
        "hash",
        "pathname",
        "username",
        "baseURL argument",
        "ignoreCase",
        "exec's baseURL",
    ]
    assert errors == [
        "TypeError: URLPattern: specifying both an init object, and a separate base URL is not valid",
        "TypeError: URLPattern: a base URL cannot be given with a URLPatternInit.",
    ]


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["/relative"], "base URL"),
        ([{"pathname": "/a"}, "https://h/"], "init object, and a separate base URL"),
        (["/a", "not a base"], "URLPattern"),
        ([{"pathname": "/:id/:id"}], "duplicate name"),
        ([{"pathname": "/(a"}], "URLPattern"),
        ([{"pathname": "/(a(b))"}], "URLPattern"),  # capturing groups inside a group
        ([{"pathname": "/([a-]+)"}], "not a valid regular expression"),  # `v` wants [a\-]
        ([{"pathname": "/(?<n>x)"}], "URLPattern"),
        ([{"hostname": "a b"}], "URLPattern"),
        ([{"port": "99999"}], "URLPattern"),
        ([{"pathname": "/a"}, 5], "URLPattern"),
        (["/a", "https://h/", 5], "options argument must be an object"),
    ],
)
def test_a_bad_pattern_is_a_type_error(agent: Any, args: list[Any], message: str) -> None:
    error = agent.constructError(args)
    assert error is not None and error.startswith("TypeError: "), error
    assert message in error


def test_a_base_url_beside_an_init_to_match_is_a_type_error(agent: Any) -> None:
    error = agent.matchError([{"pathname": "/a"}], {"pathname": "/a"}, "https://h/")
    assert error is not None and error.startswith("TypeError: ")


def test_a_pattern_is_bounded_in_size_and_groups(worker: dynisolate.Worker, agent: Any) -> None:
    assert agent.longPattern(16_000) is None
    assert (
        agent.longPattern(17_000)
        == "TypeError: URLPattern: the pattern and its base URL take 17060 bytes; the limit is 16384"
    )
    # The seven components left as `*` have a group each.
    assert agent.manyGroups(249) is None
    assert agent.manyGroups(250) == "TypeError: URLPattern: the pattern has 257 groups; the limit is 256"
    assert agent.longInput(60_000) is None
    error = agent.longInput(70_000)
    assert error is not None and error.startswith("TypeError: URLPattern: the URL to match takes")
    assert route(worker, "https://tenant.example/users/42")["groups"] == {"id": "42"}


def test_a_backtracking_pattern_is_stopped_by_cpu_ms_and_the_pool_serves_on(
    module_loader: dynisolate.Loader,
) -> None:
    worker = module_loader.load({"agent.js": AGENT}, limits=dynisolate.Limits(cpu_ms=200))
    entry = worker.get_entrypoint()
    assert entry.backtrack(12) is False
    with pytest.raises(dynisolate.CpuLimitError):
        entry.backtrack(60)
    assert route(worker, "https://tenant.example/users/7") == {"route": "user", "groups": {"id": "7"}}


def test_tampered_built_ins_do_not_steer_matching(module_loader: dynisolate.Loader) -> None:
    result = module_loader.load({"agent.js": AGENT}).get_entrypoint().tampered()
    assert result["before"] == (
        '{"inputs":["https://example.com/books/7"],"protocol":{"input":"https","groups":{}},'
        '"username":{"input":"","groups":{"0":""}},"password":{"input":"","groups":{"0":""}},'
        '"hostname":{"input":"example.com","groups":{}},"port":{"input":"","groups":{}},'
        '"pathname":{"input":"/books/7","groups":{"kind":"books","__proto__":"7"}},'
        '"search":{"input":"","groups":{"0":""}},"hash":{"input":"","groups":{"0":""}}}'
    )
    del result["before"]
    assert result == {
        "same": True,
        "found": ["books", "7", "q", 1],
        "protoGroup": [True, ["kind", "__proto__"]],  # a group, not the object's prototype
        "missing": False,
        "seen": [],
    }
