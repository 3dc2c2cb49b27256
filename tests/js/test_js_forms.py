"""Blob, File and FormData in JavaScript workers (guest/js/forms.js), where the web-platform-tests do
not reach: multipart/form-data and urlencoded bodies crossing between a worker and Python in both
directions, the errors a malformed upload gets, files of a few MiB, and Blobs as bodies, in
structuredClone and over RPC."""

from __future__ import annotations

import hashlib
import random
from collections.abc import Iterator
from email import policy
from email.parser import BytesParser
from typing import Any
from urllib.parse import parse_qsl, urlencode

import pytest

import dynisolate

AGENT = r"""
const hex = (bytes) => Array.from(bytes, (b) => b.toString(16).padStart(2, "0")).join("");
const sha256 = async (blob) =>
  hex(new Uint8Array(await crypto.subtle.digest("SHA-256", await blob.arrayBuffer())));
const errorOf = async (fn) => {
  try { await fn(); return null; } catch (e) { return `${e.constructor.name}: ${e.name}`; }
};

// What a FormData holds, in order: strings as they are, Files by name, type, size and digest.
async function describe(form) {
  const out = [];
  for (const [name, value] of form) {
    if (typeof value === "string") out.push({ name, value });
    else out.push({ name, file: value.name, type: value.type, size: value.size, sha256: await sha256(value),
      isFile: value instanceof File });
  }
  return out;
}

// n bytes of a fixed pattern that holds every byte value, CR LF and "--" among them.
function pattern(n) {
  const bytes = new Uint8Array(n);
  for (let i = 0; i < n; i++) bytes[i] = (i * 7 + (i >> 8)) & 0xff;
  return bytes;
}

export default {
  async fetch(request) {
    const path = new URL(request.url).pathname;
    if (path === "/upload") {
      try {
        return Response.json(await describe(await request.formData()));
      } catch (e) {
        return Response.json({ error: `${e.constructor.name}: ${e.message}`, bodyUsed: request.bodyUsed },
          { status: 400 });
      }
    }
    if (path === "/echo-form") return new Response(new URLSearchParams(await request.formData()));
    if (path === "/file") return new Response(new File(["a,b\n1,2\n"], "table.csv", { type: "Text/CSV" }));
    return new Response("not found", { status: 404 });
  },

  async sendForm(url) {
    const form = new FormData();
    form.append("name", "Ada\nLovelace");
    form.append('say "hi"', "quote\r\nkept");
    form.append("upload", new File([new Uint8Array([0, 1, 13, 10, 45, 45, 255]), "tail"], "data.bin",
      { type: "Application/X-Thing" }));
    form.append("plain", new Blob(["no type"]));
    form.append("accent", new Blob(["é"], { type: "text/plain;charset=utf-8" }), "accent.txt");
    const response = await fetch(url, { method: "POST", body: form });
    return response.text();
  },

  async sendLargeFile(url, size) {
    const file = new File([pattern(size)], "large.bin", { type: "application/octet-stream" });
    const form = new FormData();
    form.set("large", file);
    await fetch(url, { method: "POST", body: form });
    return { size: file.size, sha256: await sha256(file) };
  },

  async urlencodedInGuest() {
    const params = new URLSearchParams([["a", "1"], ["b c", "d&e"], ["a", "☃"]]);
    const request = new Request("https://t.example/", { method: "POST", body: params });
    const form = await request.formData();
    const again = String(new URLSearchParams(form));
    return { type: request.headers.get("content-type"), entries: [...form], again };
  },

  async blobBodies() {
    const typed = new Response(new Blob(["x"], { type: "Text/CSV" }));
    const untyped = new Response(new Blob(["y"]));
    const spaced = new Response(new Blob(["s"], { type: " image/gif " }));
    const explicit = new Response(new Blob(["z"], { type: "text/csv" }),
      { headers: { "content-type": "text/x" } });
    const read = await new Response("hi", { headers: { "Content-Type": "Text/Plain;Charset=UTF-8" } }).blob();
    const none = await new Response(new Uint8Array([1, 2])).blob();
    return {
      types: [typed.headers.get("content-type"), untyped.headers.get("content-type"),
        explicit.headers.get("content-type"), spaced.headers.get("content-type")],
      read: [read.type, await read.text(), read instanceof Blob],
      none: [none.type, [...await none.bytes()]],
      text: await typed.text(),
    };
  },

  async blobs() {
    const source = new Uint8Array([104, 105]);
    const parts = ["a\r\nb\rc\n", source, new Blob(["!"])];
    const blob = new Blob(parts, { type: "TEXT/Plain", endings: "native" });
    source[0] = 0; // the Blob took a copy
    const copy = await blob.bytes();
    copy[0] = 0; // and hands out copies
    const reader = blob.slice(-3).stream().getReader();
    const chunks = [];
    for (let r = await reader.read(); !r.done; r = await reader.read()) chunks.push(...r.value);
    return {
      text: await blob.text(), type: blob.type, size: blob.size, again: await blob.text(),
      slices: [await blob.slice(2, -3).text(), blob.slice(0, 1, "X/Y").type, blob.slice(10, 2).size],
      streamed: chunks,
      buffer: (await blob.arrayBuffer()).byteLength,
    };
  },

  async cloned() {
    const file = new File(["content"], "a.txt", { type: "text/plain", lastModified: 7 });
    const blob = new Blob(["blob"], { type: "x/y" });
    const copy = structuredClone({ file, blob, again: file });
    return {
      file: [copy.file instanceof File, copy.file !== file, copy.file.name, copy.file.type,
        copy.file.lastModified, await copy.file.text()],
      blob: [copy.blob instanceof File, copy.blob.type, await copy.blob.text()],
      shared: copy.again === copy.file,
      form: await errorOf(() => structuredClone(new FormData())),
    };
  },

  async misuse() {
    const form = new FormData();
    return [
      await errorOf(() => new Blob([], { endings: "crlf" })),
      await errorOf(() => new Blob("text")),
      await errorOf(() => new Blob([], 3)),
      await errorOf(() => new File(["x"])),
      await errorOf(() => new FormData({})),
      await errorOf(() => form.append("a")),
      await errorOf(() => form.append("a", "text", "name.txt")),
      await errorOf(() => Blob.prototype.text.call({})),
      await errorOf(() => form.get.call({}, "a")),
    ];
  },

  async hostileIntrinsics() {
    const blob = new Blob(["ab", "cd"], { type: "t/x" }); // a sequence is read (rightly) through its iterator
    const TypedArray = Object.getPrototypeOf(Uint8Array);
    const saved = [[Array.prototype, "push"], [Array.prototype, Symbol.iterator],
      [String.prototype, "indexOf"], [TypedArray.prototype, "indexOf"], [TypedArray.prototype, "set"],
      [TypedArray.prototype, "subarray"], [Uint8Array.prototype, "constructor"], [Map.prototype, "get"],
      [Math, "max"], [Date, "now"]].map(([o, k]) => [o, k, Object.getOwnPropertyDescriptor(o, k)]);
    for (let i = 0; i < saved.length; i++) {
      const hijacked = () => { throw new Error("hijacked " + String(saved[i][1])); };
      Object.defineProperty(saved[i][0], saved[i][1], { value: hijacked, configurable: true });
    }
    try {
      const form = new FormData();
      form.append("a", "1");
      form.append("f", blob, "f.txt");
      const parsed = await new Response(form).formData();
      const file = parsed.get("f");
      const urlencoded = await new Response("x=1&y=2", {
        headers: { "content-type": "application/x-www-form-urlencoded" } }).formData();
      return { a: parsed.get("a"), file: [file.name, file.type, await file.slice(1, 3).text()],
        all: urlencoded.getAll("y"), blob: (await new Response(file).blob()).size };
    } finally {
      for (let i = 0; i < saved.length; i++) Object.defineProperty(saved[i][0], saved[i][1], saved[i][2]);
    }
  },

  blob() { return new Blob(["x"]); },
};
"""

BOUNDARY = "----py boundary 0123"  # has a space, so the header must quote it


def multipart(boundary: str, parts: list[tuple[str, bytes]], epilogue: bytes = b"") -> bytes:
    """A multipart/form-data payload written by hand: each part is its header lines and its body."""
    dash = b"--" + boundary.encode()
    out = b""
    for headers, body in parts:
        out += dash + b"\r\n" + headers.encode() + b"\r\n\r\n" + body + b"\r\n"
    return out + dash + b"--\r\n" + epilogue


def upload(worker: dynisolate.Worker, body: bytes, content_type: str) -> Any:
    request = dynisolate.Request(
        "https://tenant.example/upload", method="POST", body=body, headers={"content-type": content_type}
    )
    response = worker.fetch(request)
    return response.status, response.json()


def digest(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def file_entry(name: str, filename: str, content_type: str, data: bytes) -> dict[str, Any]:
    """A File entry as the worker's describe() reports it."""
    return {
        "name": name,
        "file": filename,
        "type": content_type,
        "size": len(data),
        "sha256": digest(data),
        "isFile": True,
    }


@pytest.fixture(scope="module")
def big_loader() -> Iterator[dynisolate.Loader]:
    """Isolates with room for a few MiB of body, its copies and their base64 on the wire."""
    with dynisolate.Loader(max_isolates=4, max_memory_bytes=256 << 20, cache_dir=None) as loader:
        yield loader


class Outbound:
    """The outbound handler: keeps each request and answers 200."""

    def __init__(self) -> None:
        self.requests: list[dynisolate.Request] = []

    def __call__(self, request: dynisolate.Request) -> dynisolate.Response:
        self.requests.append(request)
        return dynisolate.Response(b"stored")


@pytest.fixture
def outbound() -> Outbound:
    return Outbound()


@pytest.fixture
def forms(big_loader: dynisolate.Loader, outbound: Outbound) -> dynisolate.Worker:
    return big_loader.load(
        {"agent.js": AGENT},
        global_outbound=outbound,
        limits=dynisolate.Limits(cpu_ms=20_000, memory_bytes=256 << 20),
    )


def parse_multipart(request: dynisolate.Request) -> list[tuple[str | None, str | None, str, bytes]]:
    """(name, filename, content type, bytes) of each part, as Python's email package reads them."""
    head = f"Content-Type: {request.headers['content-type']}\r\n\r\n".encode()
    message = BytesParser(policy=policy.HTTP).parsebytes(head + request.body)
    assert message.is_multipart()
    return [
        (
            part.get_param("name", header="content-disposition"),
            part.get_filename(),
            part.get_content_type(),
            part.get_payload(decode=True),
        )
        for part in message.iter_parts()
    ]


def test_a_worker_parses_a_multipart_upload(forms: dynisolate.Worker) -> None:
    photo = b"\x89PNG\r\n--" + BOUNDARY[:-1].encode() + b"\r\n\r\n--" + bytes(range(256))
    photo_head = (
        'Content-Disposition: form-data; name="photo"; filename="photo.png"\r\nContent-Type: image/PNG'
    )
    body = multipart(
        BOUNDARY,
        [
            ('Content-Disposition: form-data; name="title"', "Grüße\r\nline two".encode()),
            ('Content-Disposition: form-data; name="quo%22te"', b"v"),
            (photo_head, photo),
            ('content-disposition: form-data; filename="notes.txt"; name=notes', b"no type given"),
            ('Content-Disposition: form-data; name="cv"; filename="résumé.pdf"', b"%PDF"),
            ('Content-Disposition: form-data; name="empty"; filename=""\r\nX-Other: ignored', b""),
        ],
        epilogue=b"an epilogue is ignored",
    )
    status, entries = upload(forms, body, f'multipart/form-data; boundary="{BOUNDARY}"')
    assert status == 200
    assert entries == [
        {"name": "title", "value": "Grüße\r\nline two"},
        {"name": 'quo"te', "value": "v"},
        file_entry("photo", "photo.png", "image/png", photo),
        file_entry("notes", "notes.txt", "text/plain", b"no type given"),
        file_entry("cv", "résumé.pdf", "text/plain", b"%PDF"),
        file_entry("empty", "", "text/plain", b""),
    ]


def test_a_multipart_body_built_by_a_worker_reaches_the_outbound_handler(
    forms: dynisolate.Worker, outbound: Outbound
) -> None:
    assert forms.get_entrypoint().sendForm("https://store.example/forms") == "stored"
    assert forms.get_entrypoint().sendForm("https://store.example/forms") == "stored"
    first, second = outbound.requests
    assert first.method == "POST"
    content_type = first.headers["content-type"]
    prefix = "multipart/form-data; boundary="
    assert content_type.startswith(prefix)
    boundary = content_type.removeprefix(prefix)
    assert 27 <= len(boundary) <= 70 and boundary != second.headers["content-type"].removeprefix(prefix)
    # The bytes as browsers write them: CR LF line breaks in names and values, `"` escaped in names.
    assert first.body.startswith(
        f'--{boundary}\r\nContent-Disposition: form-data; name="name"\r\n\r\nAda\r\nLovelace\r\n'
        f'--{boundary}\r\nContent-Disposition: form-data; name="say %22hi%22"\r\n\r\n'
        "quote\r\nkept\r\n".encode()
    )
    assert first.body.endswith(f"\r\n--{boundary}--\r\n".encode())
    assert parse_multipart(first) == [
        ("name", None, "text/plain", b"Ada\r\nLovelace"),
        ("say %22hi%22", None, "text/plain", b"quote\r\nkept"),
        ("upload", "data.bin", "application/x-thing", b"\x00\x01\r\n--\xfftail"),
        ("plain", "blob", "application/octet-stream", b"no type"),
        ("accent", "accent.txt", "text/plain", "é".encode()),
    ]


def test_urlencoded_forms_round_trip(forms: dynisolate.Worker) -> None:
    pairs = [("q", "a b&c=d"), ("snow", "☃"), ("q", "2"), ("empty", ""), ("plus", "1+1")]
    request = dynisolate.Request(
        "https://tenant.example/echo-form",
        method="POST",
        body=urlencode(pairs),
        headers={"Content-Type": "application/x-www-form-urlencoded; charset=UTF-8"},
    )
    response = forms.fetch(request)
    assert response.headers["content-type"] == "application/x-www-form-urlencoded;charset=UTF-8"
    assert parse_qsl(response.text(), keep_blank_values=True) == pairs
    assert forms.get_entrypoint().urlencodedInGuest() == {
        "type": "application/x-www-form-urlencoded;charset=UTF-8",
        "entries": [["a", "1"], ["b c", "d&e"], ["a", "☃"]],
        "again": "a=1&b+c=d%26e&a=%E2%98%83",
    }


MALFORMED = {
    "no boundary": (
        "multipart/form-data",
        multipart(BOUNDARY, [('Content-Disposition: form-data; name="a"', b"1")]),
        "the Content-Type has no boundary",
    ),
    "another boundary": (
        "multipart/form-data; boundary=other",
        multipart(BOUNDARY, [('Content-Disposition: form-data; name="a"', b"1")]),
        'the body does not start with "--" and the boundary',
    ),
    "truncated part": (
        "multipart/form-data; boundary=b",
        b'--b\r\nContent-Disposition: form-data; name="f"; filename="f.bin"\r\n\r\nhalf of the fi',
        "a part is not closed by a boundary (the body is truncated)",
    ),
    "no closing boundary": (
        "multipart/form-data; boundary=b",
        b'--b\r\nContent-Disposition: form-data; name="a"\r\n\r\n1\r\n--b',
        "the body ends without the closing boundary",
    ),
    "headers without an end": (
        "multipart/form-data; boundary=b",
        b'--b\r\nContent-Disposition: form-data; name="a"',
        "a part's headers do not end with an empty line",
    ),
    "a part without a name": (
        "multipart/form-data; boundary=b",
        b"--b\r\nContent-Type: text/plain\r\n\r\n1\r\n--b--\r\n",
        "a part has no Content-Disposition with a name",
    ),
    "not form-data": (
        "multipart/form-data; boundary=b",
        b'--b\r\nContent-Disposition: attachment; name="a"\r\n\r\n1\r\n--b--\r\n',
        "a part's Content-Disposition is not form-data",
    ),
}


@pytest.mark.parametrize("case", list(MALFORMED))
def test_a_malformed_multipart_body_is_a_type_error(forms: dynisolate.Worker, case: str) -> None:
    content_type, body, why = MALFORMED[case]
    status, answer = upload(forms, body, content_type)
    assert status == 400
    assert answer == {
        "error": f"TypeError: Failed to parse the body as multipart/form-data: {why}.",
        "bodyUsed": True,
    }


def test_a_body_that_is_no_form_is_a_type_error(forms: dynisolate.Worker) -> None:
    status, answer = upload(forms, b'{"a": 1}', "application/json")
    assert status == 400
    assert answer["error"] == (
        "TypeError: Failed to parse the body as FormData: its Content-Type must be multipart/form-data or"
        " application/x-www-form-urlencoded."
    )


def test_large_files_cross_in_both_directions(forms: dynisolate.Worker, outbound: Outbound) -> None:
    size = 4 << 20
    data = random.Random(7).randbytes(size)
    body = multipart(
        "b0undary",
        [
            ('Content-Disposition: form-data; name="note"', b"four MiB"),
            ('Content-Disposition: form-data; name="blob"; filename="random.bin"\r\n'
             "Content-Type: application/octet-stream", data),
        ],
    )  # fmt: skip
    status, entries = upload(forms, body, "multipart/form-data; boundary=b0undary")
    assert status == 200
    assert entries == [
        {"name": "note", "value": "four MiB"},
        file_entry("blob", "random.bin", "application/octet-stream", data),
    ]

    sent = forms.get_entrypoint().sendLargeFile("https://store.example/large", 3 << 20)
    [(name, filename, content_type, payload)] = parse_multipart(outbound.requests[0])
    assert (name, filename, content_type) == ("large", "large.bin", "application/octet-stream")
    assert sent == {"size": 3 << 20, "sha256": digest(payload)}


def test_blobs_and_files_as_bodies(forms: dynisolate.Worker) -> None:
    assert forms.get_entrypoint().blobBodies() == {
        "types": ["text/csv", None, "text/x", "image/gif"],
        "read": ["text/plain;charset=UTF-8", "hi", True],
        "none": ["", [1, 2]],
        "text": "x",
    }
    response = forms.fetch(dynisolate.Request("https://tenant.example/file"))
    assert response.headers["content-type"] == "text/csv"
    assert response.body == b"a,b\n1,2\n"


def test_blob_contents_are_copied_in_and_out(forms: dynisolate.Worker) -> None:
    assert forms.get_entrypoint().blobs() == {
        "text": "a\nb\nc\nhi!",
        "type": "text/plain",
        "size": 9,
        "again": "a\nb\nc\nhi!",
        "slices": ["b\nc\n", "x/y", 0],
        "streamed": [104, 105, 33],
        "buffer": 9,
    }


def test_structured_clone_copies_blobs_and_files(forms: dynisolate.Worker) -> None:
    assert forms.get_entrypoint().cloned() == {
        "file": [True, True, "a.txt", "text/plain", 7, "content"],
        "blob": [False, "x/y", "blob"],
        "shared": True,
        "form": "DOMException: DataCloneError",
    }


def test_misuse_is_a_type_error(forms: dynisolate.Worker) -> None:
    assert forms.get_entrypoint().misuse() == ["TypeError: TypeError"] * 9


def test_a_blob_is_not_sent_over_rpc(forms: dynisolate.Worker) -> None:
    with pytest.raises(
        dynisolate.SerializationError, match="an object of class Blob cannot be sent to the host"
    ):
        forms.get_entrypoint().blob()


def test_replaced_intrinsics_do_not_steer_forms(forms: dynisolate.Worker) -> None:
    assert forms.get_entrypoint().hostileIntrinsics() == {
        "a": "1",
        "file": ["f.txt", "t/x", "bc"],
        "all": ["2"],
        "blob": 4,
    }


def test_node_buffer_offers_blob_and_file(loader: dynisolate.Loader) -> None:
    source = """
import { Blob as NodeBlob, File as NodeFile, Buffer } from "node:buffer";
import buffer from "node:buffer";
export default {
  async f() {
    const file = new NodeFile([Buffer.from("héllo")], "h.txt");
    return [NodeBlob === Blob, NodeFile === File, buffer.Blob === Blob, file.size, await file.text()];
  },
};
"""
    assert loader.load({"main.js": source}).get_entrypoint().f() == [True, True, True, 6, "héllo"]
