"""URLs parsed by ada inside the guest (guest/js/url.c, web.js's URL records): what ada is handed,
what the host's IDNA check adds, how setters and searchParams keep to one record, and that tenant
code can neither tamper with parsing nor exhaust the isolate by it."""

from __future__ import annotations

import pytest

import dynisolate

AGENT = r"""
const errorName = (fn) => {
  try { fn(); return null; } catch (e) { return e.name; }
};
export default {
  href(input) { return new URL(input).href; },
  resolve(input, base) { return new URL(input, base).href; },
  parse(input) { return URL.parse(input)?.href ?? null; },
  refused(input) {
    return [errorName(() => new URL(input)), URL.canParse(input), URL.parse(input)?.href ?? null];
  },
  loneSurrogates() {
    return [new URL("http://a/\uD800x?\uDC00#\uD83D").href, new URL("http://a/", "http://b/\uD800").href];
  },
  setHost(input, host) {
    const u = new URL(input);
    u.hostname = host;
    const a = u.href;
    u.host = host;
    return [a, u.href];
  },
  conversionsOnce() {
    let calls = 0;
    const input = { toString() { calls++; return "https://example.com/a"; } };
    const url = new URL(input);
    let failed = 0;
    const bad = { toString() { failed++; return "not a url"; } };
    try { new URL(bad); } catch {}
    url.pathname = { toString() { calls++; return "/b"; } };
    return [url.href, calls, failed];
  },
  searchParamsFollow() {
    const u = new URL("https://example.com/?a=1&b=2#h");
    const before = u.searchParams.get("a");
    u.search = "?c=3";
    const afterSearch = [...u.searchParams.keys()];
    u.href = "https://example.com/p?d=4";
    const afterHref = u.searchParams.get("d");
    u.searchParams.append("e", "5 6");
    const appended = u.href;
    u.searchParams.delete("d");
    u.searchParams.delete("e");
    return [before, afterSearch, afterHref, appended, u.href, u.search];
  },
  tampered() {
    String.prototype.slice = () => "tampered";
    Array.prototype[0] = "tampered";
    Object.defineProperty(Array.prototype, "1", { get() { return 999; }, configurable: true });
    Object.defineProperty(Object.prototype, "href", { get() { return "tampered"; }, configurable: true });
    const u = new URL("https://user:pw@example.com:8080/p?q#f");
    return [u.href, u.username, u.password, u.host, u.pathname, u.search, u.hash, u.origin];
  },
  built(bytes) { return ("https://example.com/" + "a".repeat(bytes)).length; },
  canParseLong(bytes) { return URL.canParse("https://example.com/" + "a".repeat(bytes)); },
  cloned() {
    const subclass = new (class extends URL {})("https://example.com/");
    return [new URL("https://example.com/"), subclass].map((url) => {
      try { structuredClone(url); return "cloned"; } catch (e) { return e.name; }
    });
  },
  long(bytes) {
    const u = new URL("https://example.com/" + "a".repeat(bytes) + "?q=1");
    return [u.href.length, u.pathname.length, u.search];
  },
};
"""


@pytest.fixture
def url(loader: dynisolate.Loader) -> dynisolate.Worker:
    return loader.load({"url.js": AGENT})


def test_components_of_every_kind_of_url(url: dynisolate.Worker) -> None:
    entry = url.get_entrypoint()
    assert entry.href("HTTPS://User:Pw@EXAMPLE.com:443/a/./b/../c?x y#z w") == (
        "https://User:Pw@example.com/a/c?x%20y#z%20w"
    )
    assert entry.resolve("../d?e", "http://h/a/b/c") == "http://h/a/d?e"
    assert entry.href("http://[::1]:8080/") == "http://[::1]:8080/"
    assert entry.href("http://0x7f.1/") == "http://127.0.0.1/"
    assert entry.href("file:///C:/x/../y") == "file:///C:/y"
    assert entry.href("mailto:Someone@Example.com") == "mailto:Someone@Example.com"
    assert entry.parse("blob:https://a.example/uuid") == "blob:https://a.example/uuid"
    assert entry.parse("http://a b/") is None


def test_a_lone_surrogate_becomes_the_replacement_character(url: dynisolate.Worker) -> None:
    assert url.get_entrypoint().loneSurrogates() == [
        "http://a/%EF%BF%BDx?%EF%BF%BD#%EF%BF%BD",
        "http://a/",
    ]


@pytest.mark.parametrize("host", ["xn--", "a.b.c.xn--pokxncvks", "10.0.0.XN--pokxncvks"])
def test_punycode_ada_takes_is_refused_by_idna(url: dynisolate.Worker, host: str) -> None:
    entry = url.get_entrypoint()
    assert entry.refused(f"https://{host}/") == ["TypeError", False, None]
    # A setter given such a host leaves the URL as it was.
    assert entry.setHost("https://example.com/p", host) == ["https://example.com/p", "https://example.com/p"]


def test_valid_punycode_and_unicode_hosts_are_taken(url: dynisolate.Worker) -> None:
    entry = url.get_entrypoint()
    assert entry.href("http://XN--N3H.com/") == "http://xn--n3h.com/"
    assert entry.href("http://☃.com/") == "http://xn--n3h.com/"
    assert entry.setHost("https://a.example/p", "日本.jp") == [
        "https://xn--wgv71a.jp/p",
        "https://xn--wgv71a.jp/p",
    ]


def test_arguments_are_converted_to_strings_once(url: dynisolate.Worker) -> None:
    assert url.get_entrypoint().conversionsOnce() == ["https://example.com/b", 2, 1]


def test_search_params_follow_the_record(url: dynisolate.Worker) -> None:
    assert url.get_entrypoint().searchParamsFollow() == [
        "1",
        ["c"],
        "4",
        "https://example.com/p?d=4&e=5+6",
        "https://example.com/p",
        "",
    ]


def test_tenant_tampering_does_not_reach_the_records(url: dynisolate.Worker) -> None:
    assert url.get_entrypoint().tampered() == [
        "https://user:pw@example.com:8080/p?q#f",
        "user",
        "pw",
        "example.com:8080",
        "/p",
        "?q",
        "#f",
        "https://example.com:8080",
    ]


def test_a_url_is_a_platform_object_structured_clone_refuses(url: dynisolate.Worker) -> None:
    assert url.get_entrypoint().cloned() == ["DataCloneError", "DataCloneError"]


def test_a_long_url_parses(url: dynisolate.Worker) -> None:
    path_bytes = 1 << 20
    href_bytes = len("https://example.com/") + path_bytes + len("?q=1")
    assert url.get_entrypoint().long(path_bytes) == [href_bytes, path_bytes + 1, "?q=1"]


def test_a_url_past_the_memory_limit_stops_the_call_and_the_pool_serves_on(loader: dynisolate.Loader) -> None:
    # A 3 MiB URL string fits in 16 MiB, but not with the copies ada makes of it: its allocation
    # fails inside the parser, which ends the call as the memory limit.
    worker = loader.load({"url.js": AGENT}, limits=dynisolate.Limits(memory_bytes=16 << 20))
    assert worker.get_entrypoint().built(3 << 20) == len("https://example.com/") + (3 << 20)
    with pytest.raises(dynisolate.MemoryLimitError):
        worker.get_entrypoint().canParseLong(3 << 20)
    assert worker.get_entrypoint().canParseLong(1 << 19) is True
    assert worker.get_entrypoint().resolve("/x", "https://example.com/") == "https://example.com/x"
