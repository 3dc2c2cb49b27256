"""Streams (guest/js/streams.js) where web-platform-tests do not reach: bodies that are streams
crossing to the host (a handler's streamed response, a streamed fetch() body), Cloudflare's
IdentityTransformStream and FixedLengthStream, the text streams, a pipe stopped by a signal, and
the limits a tenant's endless stream meets. The standard's behaviour is checked by
tests/conformance (streams/)."""

from __future__ import annotations

import pytest

import dynisolate

SOURCE = """
const utf8 = (text) => new TextEncoder().encode(text);

function counting(n) {
  let i = 0;
  return new ReadableStream({
    pull(controller) {
      if (i === n) controller.close();
      else controller.enqueue(utf8(`chunk ${i++};`));
    },
  });
}

export default {
  async fetch(request) {
    if (new URL(request.url).pathname === "/endless") {
      return new Response(new ReadableStream({ pull(c) { c.enqueue(new Uint8Array(64 << 10)); } }));
    }
    const upper = new TransformStream({
      transform(chunk, controller) { controller.enqueue(chunk.toUpperCase()); },
    });
    const body = request.body.pipeThrough(new TextDecoderStream()).pipeThrough(upper)
      .pipeThrough(new TextEncoderStream());
    return new Response(body, { headers: { "x-streamed": "yes" } });
  },
  async upload() {
    const response = await fetch("https://upstream.example/", { method: "POST", body: counting(3) });
    return response.text();
  },
  async readFetched() {
    const response = await fetch("https://upstream.example/");
    const chunks = [];
    for await (const chunk of response.body) chunks.push(chunk.length);
    return [chunks.reduce((a, b) => a + b, 0), response.bodyUsed];
  },
  async identity() {
    const { readable, writable } = new IdentityTransformStream();
    const writer = writable.getWriter();
    writer.write(utf8("ab"));
    writer.write(new Uint8Array(0));
    writer.write(utf8("cd").buffer);
    writer.close();
    const text = await new Response(readable).text();
    const other = new IdentityTransformStream();
    const refused = other.writable.getWriter().write("not bytes").then(() => "written", (e) => e.name);
    other.readable.getReader().read().catch(() => {});
    return [text, await refused];
  },
  async fixedLength(n, written) {
    const { readable, writable } = new FixedLengthStream(n);
    const writer = writable.getWriter();
    const read = new Response(readable).text().catch((e) => `read: ${e.name}`);
    try {
      await writer.write(utf8("x".repeat(written)));
      await writer.close();
    } catch (e) {
      return [`${e.name}: ${e.message}`, await read];
    }
    return ["ok", await read];
  },
  async textStreams() {
    // A three-byte character split across chunks, and a surrogate pair split across writes.
    const bytes = utf8("h€llo");
    const decoded = new ReadableStream({
      start(c) { c.enqueue(bytes.slice(0, 2)); c.enqueue(bytes.slice(2)); c.close(); },
    }).pipeThrough(new TextDecoderStream());
    let text = "";
    for await (const part of decoded) text += part;
    const encoder = new TextEncoderStream();
    const writer = encoder.writable.getWriter();
    writer.write("😀".slice(0, 1));
    writer.write("😀".slice(1));
    writer.close();
    const encoded = new Uint8Array(await new Response(encoder.readable).arrayBuffer());
    return [text, [...encoded]];
  },
  async abortedPipe() {
    const controller = new AbortController();
    const written = [];
    const source = new ReadableStream({ pull(c) { c.enqueue(written.length); } });
    const sink = new WritableStream({
      write(chunk) {
        written.push(chunk);
        if (written.length === 3) controller.abort(new RangeError("enough"));
      },
    });
    const piped = source.pipeTo(sink, { signal: controller.signal });
    const outcome = await piped.then(() => "done", (e) => e.name);
    return [outcome, written.length >= 3];
  },
  async rpcWithStream(request, env) {
    return env.TAKER.take(new Request("https://x.example/", { method: "POST", body: counting(1) }));
  },
};
"""


def outbound(request: dynisolate.Request) -> dynisolate.Response:
    if request.method == "POST":
        return dynisolate.Response(b"got " + (request.body or b""), 200)
    return dynisolate.Response(bytes(200_000), 200)


@pytest.fixture
def worker(loader: dynisolate.Loader) -> dynisolate.Worker:
    return loader.load({"streams.js": SOURCE}, global_outbound=outbound)


def test_a_handler_streams_its_response_through_transforms(worker: dynisolate.Worker) -> None:
    response = worker.fetch(
        dynisolate.Request("https://t.example/", method="POST", body="héllo ".encode() * 100)
    )
    assert response.body == "HÉLLO ".encode() * 100
    assert response.headers["x-streamed"] == "yes"


def test_a_streamed_fetch_body_reaches_the_outbound_handler_whole(worker: dynisolate.Worker) -> None:
    assert worker.get_entrypoint().upload() == "got chunk 0;chunk 1;chunk 2;"


def test_a_fetched_body_reads_as_a_stream(worker: dynisolate.Worker) -> None:
    assert worker.get_entrypoint().readFetched() == [200_000, True]


def test_identity_transform_stream_passes_bytes_and_refuses_others(worker: dynisolate.Worker) -> None:
    assert worker.get_entrypoint().identity() == ["abcd", "TypeError"]


def test_fixed_length_stream_checks_the_byte_count(worker: dynisolate.Worker) -> None:
    entry = worker.get_entrypoint()
    assert entry.fixedLength(3, 3) == ["ok", "xxx"]
    too_many = entry.fixedLength(3, 4)
    assert too_many[0] == "TypeError: Attempt to write too many bytes through a FixedLengthStream."
    too_few = entry.fixedLength(3, 2)
    assert too_few[0] == "TypeError: FixedLengthStream did not see all expected bytes before close()."


def test_text_streams_keep_characters_split_across_chunks(worker: dynisolate.Worker) -> None:
    assert worker.get_entrypoint().textStreams() == ["h€llo", list("😀".encode())]


def test_a_pipe_stops_when_its_signal_aborts(worker: dynisolate.Worker) -> None:
    assert worker.get_entrypoint().abortedPipe() == ["RangeError", True]


def test_an_endless_streamed_response_meets_a_limit_and_the_pool_goes_on(loader: dynisolate.Loader) -> None:
    worker = loader.load(
        {"streams.js": SOURCE},
        global_outbound=outbound,
        limits=dynisolate.Limits(cpu_ms=2_000, max_payload_bytes=1 << 20),
    )
    with pytest.raises((dynisolate.MemoryLimitError, dynisolate.CpuLimitError)):
        worker.fetch(dynisolate.Request("https://t.example/endless"))
    assert worker.get_entrypoint().upload() == "got chunk 0;chunk 1;chunk 2;"


def test_a_request_with_a_stream_body_is_refused_over_rpc_with_a_clear_error(
    loader: dynisolate.Loader,
) -> None:
    taker = loader.load({"taker.js": "export default { take(request) { return request.method; } };"})
    env = {"TAKER": taker.get_entrypoint()}
    worker = loader.load({"streams.js": SOURCE}, env=env, global_outbound=outbound)
    with pytest.raises(dynisolate.GuestError, match="whose body is a ReadableStream cannot be sent"):
        worker.get_entrypoint().rpcWithStream(None)
    assert worker.get_entrypoint().upload() == "got chunk 0;chunk 1;chunk 2;"
