"""CompressionStream, DecompressionStream and crypto.DigestStream (guest/js/compression.js,
rust/js/compression/, rust/js/digest_stream.rs) where web-platform-tests do not reach: round trips
against Python's gzip, zlib and hashlib, output in bounded pieces, workerd's errors, a
decompression bomb stopped by the isolate's limits, the caps on open streams, and the pool serving
after each failure. The standard's behaviour is checked by tests/conformance (compression/)."""

from __future__ import annotations

import gzip
import hashlib
import zlib

import pytest

import dynisolate

SOURCE = """
async function collect(readable) {
  const chunks = [];
  for await (const chunk of readable) chunks.push(chunk);
  return chunks;
}

function concat(chunks) {
  let length = 0;
  for (const chunk of chunks) length += chunk.length;
  const out = new Uint8Array(length);
  let at = 0;
  for (const chunk of chunks) { out.set(chunk, at); at += chunk.length; }
  return out;
}

// `bytes` through a (de)compression stream of `format`, written `size` bytes at a time.
async function run(Stream, format, bytes, size) {
  const stream = new Stream(format);
  const writer = stream.writable.getWriter();
  const written = (async () => {
    for (let at = 0; at < bytes.length; at += size) await writer.write(bytes.subarray(at, at + size));
    await writer.close();
  })();
  written.catch(() => {});
  const chunks = await collect(stream.readable);
  await written;
  return chunks;
}

const error = (e) => `${e.name}: ${e.message}`;

export default {
  async compress(format, bytes, size) {
    return concat(await run(CompressionStream, format, bytes, size));
  },
  async decompress(format, bytes, size) {
    try {
      const chunks = await run(DecompressionStream, format, bytes, size);
      return {
        bytes: concat(chunks),
        largest: Math.max(0, ...chunks.map((c) => c.length)),
        uint8: chunks.every((c) => c instanceof Uint8Array),
      };
    } catch (e) {
      return error(e);
    }
  },
  async roundTrip(format, bytes, size) {
    const compressed = concat(await run(CompressionStream, format, bytes, size));
    const back = concat(await run(DecompressionStream, format, compressed, size));
    return [compressed.length, back.length === bytes.length && back.every((b, i) => b === bytes[i])];
  },
  // What reading a decompression of `bytes` gives before and after its error: [chunks, error].
  async partial(format, bytes) {
    const stream = new DecompressionStream(format);
    const writer = stream.writable.getWriter();
    writer.write(bytes).catch(() => {});
    writer.close().catch(() => {});
    const reader = stream.readable.getReader();
    const seen = [];
    try {
      for (;;) {
        const { done, value } = await reader.read();
        if (done) return [seen, null];
        seen.push(new TextDecoder().decode(value));
      }
    } catch (e) {
      return [seen, error(e)];
    }
  },
  badFormats() {
    const out = [];
    for (const format of ["zstd", "GZIP", "", "deflate ", undefined]) {
      try { new CompressionStream(format); out.push("made"); } catch (e) { out.push(error(e)); }
      try { new DecompressionStream(format); out.push("made"); } catch (e) { out.push(error(e)); }
    }
    try { new CompressionStream(); } catch (e) { out.push(error(e)); }
    return out;
  },
  async badChunks() {
    const out = [];
    const shared = new SharedArrayBuffer(4);
    for (const chunk of [42, "text", null, {}, [1, 2], shared, new Uint8Array(shared)]) {
      const stream = new CompressionStream("gzip");
      const writer = stream.writable.getWriter();
      const read = stream.readable.getReader().read();
      const results = await Promise.allSettled([writer.write(chunk), read]);
      out.push(results.map((r) => (r.status === "rejected" ? error(r.reason) : "fulfilled")));
    }
    return out;
  },
  // Decompresses `bytes`, keeping every chunk (the bomb then fills the isolate's memory) or
  // keeping none (then only time stops it).
  async bomb(bytes, keep) {
    const stream = new DecompressionStream("gzip");
    const writer = stream.writable.getWriter();
    writer.write(bytes).catch(() => {});
    writer.close().catch(() => {});
    const kept = [];
    let total = 0;
    for await (const chunk of stream.readable) {
      total += chunk.length;
      if (keep) kept.push(chunk);
    }
    return total;
  },
  // Opens `count` streams of `format` (each written once and left open); what the last refused.
  async cap(format, count, decompress) {
    const sample = await this.compress(format, new Uint8Array(100).fill(65), 100);
    const open = [];
    let refused = null;
    for (let i = 0; i < count; i++) {
      const stream = decompress ? new DecompressionStream(format) : new CompressionStream(format);
      const writer = stream.writable.getWriter();
      const reader = stream.readable.getReader();
      reader.read().catch(() => {});
      try {
        await writer.write(decompress ? sample.subarray(0, 10) : new Uint8Array(10));
        open.push(writer);
      } catch (e) {
        refused = error(e);
        break;
      }
    }
    // Aborting frees a slot: another stream starts.
    await open[0].abort("done with it");
    const again = await this.roundTrip(format, new Uint8Array(1000).fill(7), 100);
    return { opened: open.length, refused, again: again[1] };
  },
  async abortEveryStream() {
    let opened = 0;
    for (let round = 0; round < 3; round++) {
      const streams = [];
      for (let i = 0; i < 32; i++) {
        const stream = new CompressionStream("deflate");
        const writer = stream.writable.getWriter();
        const reader = stream.readable.getReader();
        reader.read().catch(() => {}); // a read to take what comes
        await writer.write(new Uint8Array(10));
        streams.push([reader, writer]);
        opened++;
      }
      // Half aborted through the writable side, half cancelled through the readable side.
      for (let i = 0; i < streams.length; i++) {
        if (i % 2) await streams[i][1].abort("gone");
        else await streams[i][0].cancel("gone");
      }
    }
    return opened;
  },
  // Tenant code replaces what the library might call; compression still works.
  async tampered(bytes) {
    const saved = [Uint8Array.prototype.subarray, Uint8Array.prototype.set, Array.prototype[Symbol.iterator]];
    const tampered = function () { throw new Error("tampered"); };
    Uint8Array.prototype.subarray = tampered;
    Uint8Array.prototype.set = tampered;
    Array.prototype[Symbol.iterator] = tampered;
    globalThis.WritableStream = tampered;
    const stream = new CompressionStream("gzip");
    const writer = stream.writable.getWriter();
    writer.write(bytes).catch(() => {});
    writer.close().catch(() => {});
    const reader = stream.readable.getReader();
    const chunks = [];
    try {
      for (;;) {
        const { done, value } = await reader.read();
        if (done) break;
        chunks.push(value);
      }
    } finally {
      Uint8Array.prototype.subarray = saved[0];
      Uint8Array.prototype.set = saved[1];
      Array.prototype[Symbol.iterator] = saved[2];
    }
    return new Blob(chunks).bytes();
  },
  // The chunk is changed and detached while its output is read piece by piece: what is
  // compressed is the chunk as it was written.
  async changedUnderfoot(bytes) {
    const stream = new CompressionStream("deflate-raw");
    const writer = stream.writable.getWriter();
    writer.write(bytes).catch(() => {});
    writer.close().catch(() => {});
    const reader = stream.readable.getReader();
    const chunks = [];
    for (;;) {
      const { done, value } = await reader.read();
      if (done) return new Blob(chunks).bytes();
      chunks.push(value);
      if (bytes.length > 0) {
        bytes.fill(0);
        bytes.buffer.transfer();
      }
    }
  },
  async digest(algorithm, parts) {
    const stream = new crypto.DigestStream(algorithm);
    const writer = stream.getWriter();
    for (const part of parts) await writer.write(part);
    await writer.close();
    return [new Uint8Array(await stream.digest), stream.bytesWritten, stream instanceof WritableStream];
  },
  async digestPiped(algorithm, bytes) {
    const stream = new crypto.DigestStream(algorithm);
    await new Response(bytes).body.pipeTo(stream);
    return new Uint8Array(await stream.digest);
  },
  async digestErrors() {
    const out = [];
    for (const algorithm of ["SHA-3", "sha-224", {}, { name: "md4" }]) {
      try { new crypto.DigestStream(algorithm); out.push("made"); } catch (e) { out.push(error(e)); }
    }
    const bad = new crypto.DigestStream("SHA-256");
    const writer = bad.getWriter();
    await writer.write(new Uint8Array([1]));
    out.push(await writer.write(42).then(() => "written", error));
    out.push(await bad.digest.then(() => "digested", error));
    const aborted = new crypto.DigestStream("SHA-256");
    const abortWriter = aborted.getWriter();
    await abortWriter.write(new Uint8Array([1]));
    await abortWriter.abort(new RangeError("changed my mind"));
    out.push(await aborted.digest.then(() => "digested", error));
    return out;
  },
  async digestCap(count) {
    const writers = [];
    for (let i = 0; i < count; i++) {
      const writer = new crypto.DigestStream("SHA-1").getWriter();
      try {
        await writer.write(new Uint8Array([i]));
      } catch (e) {
        return { opened: writers.length, refused: error(e) };
      }
      writers.push(writer);
    }
    return { opened: writers.length, refused: null };
  },
};
"""

FORMATS = {
    "gzip": (gzip.compress, gzip.decompress),
    "deflate": (zlib.compress, zlib.decompress),
    "deflate-raw": (
        lambda data: (lambda c: c.compress(data) + c.flush())(zlib.compressobj(wbits=-15)),
        lambda data: zlib.decompress(data, wbits=-15),
    ),
}

# Text that compresses, but not to nothing: 300 KiB whose output spans several 64 KiB pieces.
TEXT = b"".join(b"line %d of the compression test, %x\n" % (i, i * 2654435761 % 2**32) for i in range(8000))


@pytest.fixture
def entry(loader: dynisolate.Loader) -> dynisolate.Entrypoint:
    return loader.load({"agent.js": SOURCE}, limits=dynisolate.Limits(cpu_ms=10_000)).get_entrypoint()


@pytest.fixture
def healthy(loader: dynisolate.Loader) -> dynisolate.Entrypoint:
    return loader.load({"ok.js": "export default { ok() { return 'ok'; } };"}).get_entrypoint()


@pytest.mark.parametrize("format", FORMATS)
@pytest.mark.parametrize("size", [1 << 20, 1000, 7])
def test_compressed_output_is_what_python_decompresses(
    entry: dynisolate.Entrypoint, format: str, size: int
) -> None:
    data = TEXT[:20_000] if size == 7 else TEXT
    compressed = entry.compress(format, data, size)
    assert FORMATS[format][1](compressed) == data
    assert len(compressed) < len(data) // 3


@pytest.mark.parametrize("format", FORMATS)
@pytest.mark.parametrize("size", [1 << 20, 1000, 1])
def test_what_python_compresses_decompresses_in_pieces(
    entry: dynisolate.Entrypoint, format: str, size: int
) -> None:
    data = TEXT if size > 1 else TEXT[:3000]
    result = entry.decompress(format, FORMATS[format][0](data), size)
    assert result["bytes"] == data
    assert result["uint8"]
    # Output comes in pieces of at most 64 KiB less the reply's header, however it was written.
    assert result["largest"] <= (64 << 10) - 8


def test_empty_input_round_trips(entry: dynisolate.Entrypoint) -> None:
    for format, (_, decompress) in FORMATS.items():
        assert decompress(entry.compress(format, b"", 1)) == b""
    assert entry.roundTrip("brotli", b"", 1) == [1, True]


def test_brotli_round_trips_and_reads_a_reference_stream(entry: dynisolate.Entrypoint) -> None:
    size, same = entry.roundTrip("brotli", TEXT, 1 << 16)
    assert same and size < len(TEXT) // 3
    assert entry.roundTrip("brotli", TEXT[:5000], 3)[1]
    # "foo" as WPT's decompression-buffersource.any.js gives it (made by Google's encoder).
    foo = bytes([0x21, 0x08, 0x00, 0x04, 0x66, 0x6F, 0x6F, 0x03])
    assert entry.decompress("brotli", foo, 1)["bytes"] == b"foo"


def test_an_unknown_format_is_a_type_error(entry: dynisolate.Entrypoint) -> None:
    message = "TypeError: The compression format must be either 'deflate', 'deflate-raw', 'gzip' or 'brotli'."
    assert entry.badFormats() == [message] * 10 + [
        "TypeError: CompressionStream: 1 argument required, but only 0 present."
    ]


def test_chunks_that_are_not_unshared_buffer_sources_error_the_stream(entry: dynisolate.Entrypoint) -> None:
    refused = "TypeError: CompressionStream: chunks must be ArrayBuffers or ArrayBufferViews."
    assert entry.badChunks() == [[refused, refused]] * 7


@pytest.mark.parametrize("format", FORMATS)
def test_corrupt_truncated_and_trailing_input_are_type_errors(
    entry: dynisolate.Entrypoint, format: str
) -> None:
    compressed = FORMATS[format][0](b"hello, world")
    garbage = bytes(range(7, 40))
    corrupt = "TypeError: Decompression failed."
    if format == "deflate-raw":
        garbage = b"\xff" * 8  # a reserved block type: raw deflate has no header to check
    assert entry.decompress(format, garbage, 100) == corrupt
    assert entry.decompress(format, compressed[:-3], 100) == (
        "TypeError: Called close() on a decompression stream with incomplete data"
    )
    # The output before the end arrives first; then the bytes after it are the error.
    assert entry.partial(format, compressed + b"\0") == [
        ["hello, world"],
        "TypeError: Trailing bytes after end of compressed data",
    ]
    assert entry.decompress(format, b"", 1) == (
        "TypeError: Called close() on a decompression stream with incomplete data"
    )


def test_a_gzip_checksum_mismatch_is_a_type_error(entry: dynisolate.Entrypoint) -> None:
    compressed = bytearray(gzip.compress(b"hello, world"))
    compressed[-8] ^= 1  # the CRC-32
    assert entry.decompress("gzip", bytes(compressed), 100) == "TypeError: Decompression failed."


@pytest.fixture(scope="module")
def bomb() -> bytes:
    """1 GiB of zeros, gzipped (about 1 MiB)."""
    compressor = zlib.compressobj(9, zlib.DEFLATED, 31)
    zeros = bytes(1 << 20)
    return b"".join(compressor.compress(zeros) for _ in range(1024)) + compressor.flush()


def test_a_decompression_bomb_stops_at_the_memory_limit(
    loader: dynisolate.Loader, healthy: dynisolate.Entrypoint, bomb: bytes
) -> None:
    assert len(bomb) < 2 << 20
    limits = dynisolate.Limits(memory_bytes=16 << 20, cpu_ms=20_000)
    entry = loader.load({"agent.js": SOURCE}, limits=limits).get_entrypoint()
    with pytest.raises(dynisolate.MemoryLimitError):
        entry.bomb(bomb, True)
    assert healthy.ok() == "ok"
    assert entry.decompress("gzip", gzip.compress(b"after"), 10)["bytes"] == b"after"


def test_a_decompression_bomb_read_and_dropped_stops_at_the_cpu_limit(
    loader: dynisolate.Loader, healthy: dynisolate.Entrypoint, bomb: bytes
) -> None:
    entry = loader.load({"agent.js": SOURCE}, limits=dynisolate.Limits(cpu_ms=200)).get_entrypoint()
    with pytest.raises(dynisolate.CpuLimitError):
        entry.bomb(bomb, False)
    assert healthy.ok() == "ok"


def test_a_small_bomb_within_the_limits_decompresses(loader: dynisolate.Loader) -> None:
    # The same pieces, counted instead of kept: 64 MiB of zeros in a few seconds at most.
    compressed = gzip.compress(bytes(64 << 20))
    entry = loader.load({"agent.js": SOURCE}, limits=dynisolate.Limits(cpu_ms=20_000)).get_entrypoint()
    assert entry.bomb(compressed, False) == 64 << 20


@pytest.mark.parametrize(("format", "limit"), [("gzip", 32), ("deflate-raw", 32), ("brotli", 4)])
@pytest.mark.parametrize("decompress", [False, True])
def test_open_streams_are_capped_per_isolate(
    entry: dynisolate.Entrypoint, format: str, limit: int, decompress: bool
) -> None:
    result = entry.cap(format, limit + 5, decompress)
    kind = "brotli" if format == "brotli" else "compression"
    assert result == {
        "opened": limit,
        "refused": f"RangeError: {limit} {kind} streams are already open in this isolate; close or abort one "
        "before starting another.",
        "again": True,
    }
    # The next call's isolate starts with none open.
    assert entry.cap(format, 2, decompress)["opened"] == 2


def test_aborted_and_cancelled_streams_free_their_slots(entry: dynisolate.Entrypoint) -> None:
    assert entry.abortEveryStream() == 96


def test_tampered_builtins_do_not_reach_the_library(entry: dynisolate.Entrypoint) -> None:
    assert gzip.decompress(entry.tampered(TEXT)) == TEXT


def test_a_chunk_changed_while_it_is_compressed_is_compressed_as_written(
    entry: dynisolate.Entrypoint,
) -> None:
    data = bytes(range(256)) * 4096 + TEXT  # 1 MiB that compresses poorly: many pieces
    assert zlib.decompress(entry.changedUnderfoot(data), wbits=-15) == data


MODULE_SCOPE_STREAM = """
const stream = new CompressionStream("gzip");
const writer = stream.writable.getWriter();
writer.write(new TextEncoder().encode("made while the module was evaluated; "));
const chunks = [];
const reading = (async () => { for await (const c of stream.readable) chunks.push(c); })();
export default {
  async finish() {
    await writer.close();
    await reading;
    return new Blob(chunks).bytes();
  },
};
"""


def test_a_stream_left_open_by_module_evaluation_survives_every_call(loader: dynisolate.Loader) -> None:
    # Its zlib state lives on the host, outside any heap, so the bundle is never snapshotted: each
    # fresh call evaluates the module again and finds its stream.
    entry = loader.load({"open.js": MODULE_SCOPE_STREAM}).get_entrypoint()
    for _ in range(4):
        assert gzip.decompress(entry.finish()) == b"made while the module was evaluated; "


ALGORITHMS = {"MD5": "md5", "SHA-1": "sha1", "SHA-256": "sha256", "SHA-384": "sha384", "SHA-512": "sha512"}


@pytest.mark.parametrize("algorithm", ALGORITHMS)
def test_digest_streams_hash_what_is_written(entry: dynisolate.Entrypoint, algorithm: str) -> None:
    parts = [b"abc", "déjà vu", b"", TEXT, bytearray(b"\x00\xff")]
    whole = b"abc" + "déjà vu".encode() + TEXT + b"\x00\xff"
    digest, written, writable = entry.digest(algorithm, parts)
    assert digest == hashlib.new(ALGORITHMS[algorithm], whole).digest()
    assert (written, writable) == (len(whole), True)
    assert entry.digest(algorithm.lower(), [])[0] == hashlib.new(ALGORITHMS[algorithm]).digest()
    assert entry.digest({"name": algorithm}, [b"x"])[0] == hashlib.new(ALGORITHMS[algorithm], b"x").digest()


def test_a_body_pipes_into_a_digest_stream(entry: dynisolate.Entrypoint) -> None:
    data = TEXT * 4
    assert entry.digestPiped("SHA-256", data) == hashlib.sha256(data).digest()


def test_digest_stream_errors(entry: dynisolate.Entrypoint) -> None:
    unsupported = "NotSupportedError: Unrecognized or unimplemented digest algorithm requested."
    not_bytes = (
        "TypeError: DigestStream is a byte stream but received an object of "
        "non-ArrayBuffer/ArrayBufferView/string type on its writable side."
    )
    assert entry.digestErrors() == [
        unsupported,
        unsupported,
        "TypeError: DigestStream: the algorithm has no name.",
        unsupported,
        not_bytes,
        not_bytes,
        "RangeError: changed my mind",
    ]


def test_open_digest_streams_are_capped_per_isolate(entry: dynisolate.Entrypoint) -> None:
    assert entry.digestCap(1030) == {
        "opened": 1024,
        "refused": "RangeError: 1024 DigestStreams are already open in this isolate; close or abort one "
        "before writing to another.",
    }
    assert entry.digestCap(3) == {"opened": 3, "refused": None}


def test_a_tenants_array_index_setters_never_see_the_streams_pieces(loader: dynisolate.Loader) -> None:
    source = """
    export default {
      async run() {
        // Setters that pass values on (so everything keeps working) and count the compressed pieces
        // they meet (the tenant's own 10,000-byte input chunk passes through its stream's queue).
        let pieces = 0;
        for (const i of [0, 1, 2]) {
          Object.defineProperty(Array.prototype, i, {
            set(v) {
              if (v instanceof Uint8Array && v.length !== 10000) pieces++;
              const own = { value: v, writable: true, enumerable: true, configurable: true };
              Object.defineProperty(this, i, own);
            },
            configurable: true,
          });
        }
        const out = new Blob(["x".repeat(10000)]).stream().pipeThrough(new CompressionStream("gzip"));
        const reader = out.getReader();
        let length = 0, first;
        for (let r = await reader.read(); !r.done; r = await reader.read()) {
          first ??= r.value;
          length += r.value.length;
        }
        return [pieces, length > 10, first[0], first[1]];
      },
    };
    """
    assert loader.load({"a.js": source}).get_entrypoint().run() == [0, True, 0x1F, 0x8B]
