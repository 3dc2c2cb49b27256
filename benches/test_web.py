"""The web platform inside a JavaScript isolate: WebCrypto against Python's hashlib and hmac,
TextDecoder against Python's codecs, CompressionStream's gzip against Python's gzip module (zlib),
URL parsing over web-platform-tests' URL inputs, URLPattern matching, and a fresh isolate's boot
measured in the same run (the APIs live in the interpreter's snapshot, so they must not slow it).
Figures land in the web table printed at the end of the run (benches/conftest.py).

How each figure is taken. Per-operation costs inside the guest come from one warm session: a call
that runs the operation `n` times in a loop, timed from Python, minus a call that runs it zero
times, divided by `n`; the median of several such rounds is reported. Python's figures are
`timeit`-style loops of the same operation on the same bytes.
"""

from __future__ import annotations

import gzip
import hashlib
import hmac
import json
import statistics
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

import dynisolate

WPT_URL_DATA = Path(__file__).resolve().parents[2] / "shared/conformance/wpt/url/resources/urltestdata.json"

SOURCE = """
const MIB = new Uint8Array(1 << 20).map((_, i) => i * 7);
const HUNDRED = new Uint8Array(100).map((_, i) => i);
let hmacKey;
const ROUTE = new URLPattern({ pathname: "/users/:id/posts/:post" });

export default {
  async digest(n) {
    for (let i = 0; i < n; i++) await crypto.subtle.digest("SHA-256", MIB);
    return n;
  },
  async hmac(n) {
    const algorithm = { name: "HMAC", hash: "SHA-256" };
    hmacKey ??= await crypto.subtle.importKey("raw", new Uint8Array(32), algorithm, false, ["sign"]);
    for (let i = 0; i < n; i++) await crypto.subtle.sign("HMAC", hmacKey, HUNDRED);
    return n;
  },
  // TextDecoder over 1 MiB of text in `label`, n times (the bytes made once, by the caller).
  decode(label, bytes, n) {
    const decoder = new TextDecoder(label);
    const view = new Uint8Array(bytes);
    for (let i = 0; i < n; i++) decoder.decode(view);
    return n;
  },
  // 10 MiB in 64 KiB chunks through a TransformStream that passes each chunk on, n times.
  async transform(n) {
    const chunk = new Uint8Array(64 << 10);
    for (let i = 0; i < n; i++) {
      let left = 160;
      const source = new ReadableStream({
        pull(controller) { if (left-- === 0) controller.close(); else controller.enqueue(chunk); },
      });
      const pass = new TransformStream({ transform(c, controller) { controller.enqueue(c); } });
      const passed = source.pipeThrough(pass);
      let total = 0;
      for await (const part of passed) total += part.byteLength;
      if (total !== 10 << 20) throw new Error(`piped ${total} bytes`);
    }
    return n;
  },
  // 10 MiB of text in 64 KiB chunks gzipped through a CompressionStream, n times (the bytes made
  // once, by the caller); returns the compressed size.
  async gzip(bytes, n) {
    let size = 0;
    for (let i = 0; i < n; i++) {
      const stream = new CompressionStream("gzip");
      const writer = stream.writable.getWriter();
      const written = (async () => {
        const step = 64 << 10;
        for (let at = 0; at < bytes.length; at += step) await writer.write(bytes.subarray(at, at + step));
        await writer.close();
      })();
      size = 0;
      for await (const part of stream.readable) size += part.byteLength;
      await written;
    }
    return size;
  },
  // A router's pattern matched against a request URL (which it parses) n times.
  urlPatternExec(n) {
    for (let i = 0; i < n; i++) {
      if (ROUTE.exec("https://example.com/users/42/posts/7?ref=home") === null) throw new Error("no match");
    }
    return n;
  },
  // Each input parsed n times against its base.
  urls(inputs, n) {
    for (const [input, base] of inputs) {
      for (let i = 0; i < n; i++) {
        try { new URL(input, base ?? undefined); } catch {}
      }
    }
    return n;
  },
};
"""

# The JavaScript table's handler (benches/test_js.py), so the boot figures compare.
HANDLER = "export default { async handle(x, env) { return { n: x.n + 1 }; } };"

ROUNDS = 15


def _per_op_s(call: Callable[[int], object], n: int) -> float:
    """Median over ROUNDS of (time of call(n) - time of call(0)) / n, in seconds."""
    samples = []
    for _ in range(ROUNDS):
        start = time.perf_counter()
        call(0)
        empty = time.perf_counter() - start
        start = time.perf_counter()
        call(n)
        samples.append((time.perf_counter() - start - empty) / n)
    return statistics.median(samples)


def _python_per_op_s(op: Callable[[], object], n: int) -> float:
    samples = []
    for _ in range(ROUNDS):
        start = time.perf_counter()
        for _ in range(n):
            op()
        samples.append((time.perf_counter() - start) / n)
    return statistics.median(samples)


@pytest.fixture(scope="module")
def loader() -> Iterator[dynisolate.Loader]:
    with dynisolate.Loader(cache_dir=None) as loader:
        yield loader


@pytest.fixture(scope="module")
def worker(loader: dynisolate.Loader) -> dynisolate.Worker:
    return loader.load({"web.js": SOURCE}, limits=dynisolate.Limits(cpu_ms=60_000, wall_ms=60_000))


@pytest.fixture(scope="module")
def entry(worker: dynisolate.Worker) -> Iterator[object]:
    with worker.session() as session:
        yield session.get_entrypoint()


def test_digest_sha256_1mib(benchmark, web_figures, entry) -> None:  # type: ignore[no-untyped-def]
    data = bytes((i * 7) & 0xFF for i in range(1 << 20))
    ours = benchmark.pedantic(_per_op_s, args=(entry.digest, 20), rounds=1, iterations=1)
    python = _python_per_op_s(lambda: hashlib.sha256(data).digest(), 20)
    web_figures["digest_sha256_1mib_ms"] = (ours * 1e3, python * 1e3)


def test_hmac_sha256_sign_100b(benchmark, web_figures, entry) -> None:  # type: ignore[no-untyped-def]
    key, message = bytes(32), bytes(range(100))
    ours = benchmark.pedantic(_per_op_s, args=(entry.hmac, 5_000), rounds=1, iterations=1)
    python = _python_per_op_s(lambda: hmac.new(key, message, hashlib.sha256).digest(), 5_000)
    web_figures["hmac_sign_100b_us"] = (ours * 1e6, python * 1e6)


# A mostly-ASCII body with some CJK and an emoji, as a page or API response might be, 1 MiB long.
TEXT = ("<p>Encoding: 日本語のテキスト, café, 😀</p>\n" * 40_000)[: 1 << 19]


@pytest.mark.parametrize(("label", "codec"), [("utf-8", "utf-8"), ("shift_jis", "shift_jis")])
def test_text_decoder_1mib(benchmark, web_figures, entry, label, codec) -> None:  # type: ignore[no-untyped-def]
    data = TEXT.encode(codec, errors="replace")[: 1 << 20]
    decode = lambda n: entry.decode(label, data, n)  # noqa: E731
    ours = benchmark.pedantic(_per_op_s, args=(decode, 20), rounds=1, iterations=1)
    python = _python_per_op_s(lambda: data.decode(codec, errors="replace"), 20)
    web_figures[f"decode_{codec.replace('-', '')}_1mib_ms"] = (ours * 1e3, python * 1e3)


# Parses of each input per timed call: WPT has some 900 inputs, each timed over ROUNDS calls.
URL_PARSES = 200


def test_url_parse_over_wpt_inputs(benchmark, web_figures, entry) -> None:  # type: ignore[no-untyped-def]
    cases = [c for c in json.loads(WPT_URL_DATA.read_text()) if isinstance(c, dict)]
    inputs = [[c["input"], c.get("base")] for c in cases]
    per_input = []

    def measure() -> None:
        for pair in inputs:
            per_input.append(_per_op_s(lambda n, pair=pair: entry.urls([pair], n), URL_PARSES))

    benchmark.pedantic(measure, rounds=1, iterations=1)
    web_figures["url_parse_us"] = (statistics.median(per_input) * 1e6, None)
    web_figures["url_inputs"] = (len(inputs), None)


def test_urlpattern_exec(benchmark, web_figures, entry) -> None:  # type: ignore[no-untyped-def]
    ours = benchmark.pedantic(_per_op_s, args=(entry.urlPatternExec, 2_000), rounds=1, iterations=1)
    web_figures["urlpattern_exec_us"] = (ours * 1e6, None)


def test_transform_stream_10mib(benchmark, web_figures, entry) -> None:  # type: ignore[no-untyped-def]
    seconds = benchmark.pedantic(_per_op_s, args=(entry.transform, 3), rounds=1, iterations=1)
    web_figures["transform_mib_per_s"] = (10 / seconds, None)


def test_gzip_10mib(benchmark, web_figures, entry) -> None:  # type: ignore[no-untyped-def]
    # Text that compresses about as a JSON or HTML body does.
    line = b'{"id": %d, "name": "item %d", "tags": ["a", "b"], "price": %d.%02d},\n'
    text = b"".join(line % (i, i * 7, i % 997, i % 100) for i in range(200_000))[: 10 << 20]
    assert len(text) == 10 << 20

    seconds = benchmark.pedantic(_per_op_s, args=(lambda n: entry.gzip(text, n), 2), rounds=1, iterations=1)
    python = _python_per_op_s(lambda: gzip.compress(text, compresslevel=6), 2)
    web_figures["gzip_mib_per_s"] = (10 / seconds, 10 / python)


def test_fresh_isolate_boot(benchmark, web_figures, loader) -> None:  # type: ignore[no-untyped-def]
    entry = loader.load({"agent.js": HANDLER}).get_entrypoint()
    result = benchmark.pedantic(entry.handle, args=({"n": 1},), rounds=5_000, warmup_rounds=500)
    assert result == {"n": 2}
    web_figures["fresh_median_us"] = (benchmark.stats.stats.median * 1e6, None)
