"""TextDecoder's encodings beyond UTF-8 (decoded on the host by encoding_rs, rust/js/encoding.rs),
where WPT's encoding/ tests do not reach: a tenant's bodies in legacy encodings, streams split
mid-character, the errors, the cap on streams in progress, and a stream left open at module scope."""

from __future__ import annotations

import pytest

import dynisolate

AGENT = r"""
const errorOf = (fn) => {
  try { fn(); return null; } catch (e) { return `${e.constructor.name}: ${e.message}`; }
};

export default {
  decode(label, bytes, options) { return new TextDecoder(label, options).decode(new Uint8Array(bytes)); },
  encodings(labels) {
    return labels.map((l) => errorOf(() => new TextDecoder(l)) ?? new TextDecoder(l).encoding);
  },
  decodeStream(label, chunks) {
    const decoder = new TextDecoder(label);
    return chunks.map((c) => decoder.decode(new Uint8Array(c), { stream: true })).concat(decoder.decode());
  },
  fatal(label, bytes) {
    const decoder = new TextDecoder(label, { fatal: true });
    const failed = errorOf(() => decoder.decode(new Uint8Array(bytes)));
    // The decoder (and the isolate) go on working after the error.
    return [failed, decoder.decode(new Uint8Array([0x61]))];
  },
  fatalMidStream() {
    const decoder = new TextDecoder("shift_jis", { fatal: true });
    const first = decoder.decode(new Uint8Array([0x93]), { stream: true });
    const failed = errorOf(() => decoder.decode(new Uint8Array([0x20]), { stream: true }));
    return [first, failed, decoder.decode(new Uint8Array([0x93, 0xfa]))];
  },
  streamsCap(count) {
    const decoders = [];
    let refused = null;
    for (let i = 0; i < count && refused === null; i++) {
      const decoder = new TextDecoder("euc-jp");
      refused = errorOf(() => decoder.decode(new Uint8Array([0xa4]), { stream: true }));
      if (refused === null) decoders.push(decoder);
    }
    // Flushing one makes room for another; decoding without a stream never needs room.
    const whole = new TextDecoder("euc-jp").decode(new Uint8Array([0xa4, 0xa2]));
    const flushed = decoders[0].decode(new Uint8Array([0xa2]));
    const another = errorOf(() => new TextDecoder("euc-jp").decode(new Uint8Array([0xa4]), { stream: true }));
    return { opened: decoders.length, refused, whole, flushed, another };
  },
  shared() {
    const sab = new SharedArrayBuffer(4);
    new Uint8Array(sab).set([0x93, 0xfa, 0x96, 0x7b]);
    return [new TextDecoder("shift_jis").decode(sab), new TextDecoder("sjis").decode(new DataView(sab, 2))];
  },
  async fetch(request) {
    const charset = new URL(request.url).searchParams.get("charset");
    const text = new TextDecoder(charset).decode(await request.arrayBuffer());
    return new Response(text, { headers: { "x-decoder": new TextDecoder(charset).encoding } });
  },
};
"""


@pytest.fixture
def agent(loader: dynisolate.Loader) -> dynisolate.Entrypoint:
    return loader.load({"agent.js": AGENT}, limits=dynisolate.Limits(cpu_ms=5_000)).get_entrypoint()


@pytest.mark.parametrize(
    ("charset", "text", "name"),
    [
        ("Shift_JIS", "日本語のテキスト", "shift_jis"),
        ("gbk", "中文文本", "gbk"),
        ("gb18030", "中文 \u20ac \U0001f600", "gb18030"),
        ("windows-1252", "café – “quoted” €", "windows-1252"),
        ("latin1", "naïve", "windows-1252"),
        ("big5", "繁體中文", "big5"),
        ("euc-kr", "한국어", "euc-kr"),
        ("koi8-r", "Привет", "koi8-r"),
        ("utf-16le", "UTF-16 😀", "utf-16le"),
    ],
)
def test_a_tenants_body_in_a_legacy_encoding_is_decoded(
    loader: dynisolate.Loader, charset: str, text: str, name: str
) -> None:
    worker = loader.load({"agent.js": AGENT})
    body = text.encode({"gbk": "gb18030", "latin1": "cp1252", "windows-1252": "cp1252"}.get(charset, charset))
    response = worker.fetch(
        dynisolate.Request(f"https://tenant.example/?charset={charset}", method="POST", body=body)
    )
    assert (response.status, response.body.decode(), response.headers["x-decoder"]) == (200, text, name)


def test_labels_name_the_canonical_encoding(agent: dynisolate.Entrypoint) -> None:
    labels = ["sjis", " ms932 ", "GB2312", "x-gbk", "csISO2022JP", "unicode", "ascii", "x-user-defined"]
    assert agent.encodings(labels) == [
        "shift_jis",
        "shift_jis",
        "gbk",
        "gbk",
        "iso-2022-jp",
        "utf-16le",
        "windows-1252",
        "x-user-defined",
    ]


def test_unknown_labels_and_the_replacement_encoding_are_range_errors(agent: dynisolate.Entrypoint) -> None:
    assert agent.encodings(["utf-7", "replacement", "iso-2022-kr", "", "shift_jis\0"]) == [
        'RangeError: TextDecoder: the "utf-7" encoding is not supported.',
        'RangeError: TextDecoder: the "replacement" encoding is not supported.',
        'RangeError: TextDecoder: the "iso-2022-kr" encoding is not supported.',
        'RangeError: TextDecoder: the "" encoding is not supported.',
        'RangeError: TextDecoder: the "shift_jis\0" encoding is not supported.',
    ]


def test_malformed_input_is_replaced_or_under_fatal_a_type_error(agent: dynisolate.Entrypoint) -> None:
    assert agent.decode("shift_jis", [0x61, 0xA0, 0x93], None) == "a\ufffd\ufffd"
    assert agent.fatal("shift_jis", [0x61, 0x82]) == [
        "TypeError: TextDecoder.decode: the encoded data was not valid shift_jis.",
        "a",
    ]
    assert agent.fatal("windows-1253", [0xAA]) == [
        "TypeError: TextDecoder.decode: the encoded data was not valid windows-1253.",
        "a",
    ]
    # A fatal error ends the stream: the next decode starts afresh.
    assert agent.fatalMidStream() == [
        "",
        "TypeError: TextDecoder.decode: the encoded data was not valid shift_jis.",
        "日",
    ]


def test_streams_split_characters_across_chunks(agent: dynisolate.Entrypoint) -> None:
    # 日本 in Shift_JIS, cut inside each character.
    assert agent.decodeStream("shift_jis", [[0x93], [0xFA, 0x96], [0x7B]]) == ["", "日", "本", ""]
    # gb18030's four-byte sequence for U+00A5 (¥ is two bytes in GBK, four here), a byte at a time.
    assert "".join(agent.decodeStream("gb18030", [[0x81], [0x30], [0x84], [0x36]])) == "\u00a5"
    # ISO-2022-JP: the escape sequence itself split, then the mode kept for later chunks.
    assert agent.decodeStream(
        "iso-2022-jp", [[0x1B, 0x24], [0x42, 0x46], [0x7C, 0x4B, 0x5C], [0x1B, 0x28, 0x42, 0x61]]
    ) == [
        "",
        "",
        "日本",
        "a",
        "",
    ]
    # UTF-16LE: a surrogate pair split between its halves, and a trailing odd byte at the end.
    assert agent.decodeStream("utf-16le", [[0x3D, 0xD8], [0x00], [0xDE, 0x61]]) == ["", "", "😀", "\ufffd"]


def test_open_streams_are_capped_per_isolate(agent: dynisolate.Entrypoint) -> None:
    result = agent.streamsCap(2000)
    assert result["opened"] == 1024
    assert result["refused"].startswith(
        "RangeError: TextDecoder: 1024 streams are already open in this isolate"
    )
    assert (result["whole"], result["flushed"], result["another"]) == ("あ", "あ", None)
    # The next call's isolate starts with none open.
    assert agent.streamsCap(3)["opened"] == 3


MODULE_SCOPE_STREAM = """
const decoder = new TextDecoder("shift_jis");
const started = decoder.decode(new Uint8Array([0x93]), { stream: true });
export default { finish() { return started + decoder.decode(new Uint8Array([0xfa])); } };
"""


def test_a_stream_left_open_by_module_evaluation_survives_every_call(loader: dynisolate.Loader) -> None:
    # Its decoder lives on the host, outside any heap, so the bundle is never snapshotted: each
    # fresh call evaluates the module again and finds its decoder.
    entry = loader.load({"open.js": MODULE_SCOPE_STREAM}).get_entrypoint()
    assert [entry.finish() for _ in range(5)] == ["日"] * 5


def test_shared_array_buffers_are_decoded(agent: dynisolate.Entrypoint) -> None:
    assert agent.shared() == ["日本", "本"]
