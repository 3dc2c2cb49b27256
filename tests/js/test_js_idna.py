"""Internationalised hosts (the URL Standard's domain to ASCII, by ada in the guest, with `xn--`
labels checked again by the `idna` crate on the host, rust/js/domain.rs): `new URL`, a `Request`
and `fetch()` all see the punycode host."""

from __future__ import annotations

import dynisolate

AGENT = """
export default {
  url(input) {
    const u = new URL(input);
    return [u.href, u.host, u.hostname, u.origin];
  },
  setHost(input, host) {
    const u = new URL(input);
    u.hostname = host;
    return u.href;
  },
  request(input) { return new Request(input).url; },
  async get(input) {
    const response = await fetch(input);
    return [response.status, await response.text()];
  },
};
"""


def test_a_unicode_host_becomes_punycode_in_a_url(loader: dynisolate.Loader) -> None:
    entry = loader.load({"agent.js": AGENT}).get_entrypoint()
    assert entry.url("https://Bücher.example:8443/ä?ö#ü") == [
        "https://xn--bcher-kva.example:8443/%C3%A4?%C3%B6#%C3%BC",
        "xn--bcher-kva.example:8443",
        "xn--bcher-kva.example",
        "https://xn--bcher-kva.example:8443",
    ]
    # Percent-encoded UTF-8 and full-width dots are hosts too; an ASCII punycode host is checked.
    assert entry.url("http://%E2%98%83%E3%80%82com/")[1] == "xn--n3h.com"
    assert entry.url("http://XN--N3H.com/")[1] == "xn--n3h.com"
    assert entry.setHost("https://a.example/p", "日本.jp") == "https://xn--wgv71a.jp/p"


def test_request_and_fetch_carry_the_punycode_host(loader: dynisolate.Loader) -> None:
    seen: list[str] = []

    def outbound(request: dynisolate.Request) -> dynisolate.Response:
        seen.append(request.url)
        return dynisolate.Response(b"hello", 200)

    entry = loader.load({"agent.js": AGENT}, global_outbound=outbound).get_entrypoint()
    assert entry.request("https://münchen.de/karte") == "https://xn--mnchen-3ya.de/karte"
    assert entry.get("https://münchen.de/karte") == [200, "hello"]
    assert seen == ["https://xn--mnchen-3ya.de/karte"]
