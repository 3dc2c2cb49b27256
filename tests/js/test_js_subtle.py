"""WebCrypto (guest/js/subtle.js, rust/js/subtle/) where web-platform-tests do not reach: results
checked against Python's own hashlib and hmac, what Workers code does with it (a webhook
signature, a JWT), Cloudflare's timingSafeEqual and PBKDF2 limit, a call's deadline inside a
long digest, and a tenant trying to read a non-extractable key's secret. The standard's
behaviour is checked by tests/conformance (WebCryptoAPI)."""

from __future__ import annotations

import hashlib
import hmac
import json

import pytest

import dynisolate

SOURCE = """
const subtle = crypto.subtle;
const hex = (buffer) => [...new Uint8Array(buffer)].map((b) => b.toString(16).padStart(2, "0")).join("");
const utf8 = (text) => new TextEncoder().encode(text);
const HMAC256 = { name: "HMAC", hash: "SHA-256" };
const ES256 = { name: "ECDSA", hash: "SHA-256" };
const P256 = { name: "ECDSA", namedCurve: "P-256" };
const failure = (e) => `${e.name}: ${e.message}`;

export default {
  async digest(name, text) {
    return hex(await subtle.digest(name, utf8(text)));
  },
  async digestBytes(name, bytes) {
    return hex(await subtle.digest(name, bytes));
  },
  async webhook(secret, body, signature) {
    const key = await subtle.importKey("raw", utf8(secret), HMAC256, false, ["verify"]);
    const bytes = Uint8Array.from(signature.match(/../g), (h) => parseInt(h, 16));
    return subtle.verify("HMAC", key, bytes, utf8(body));
  },
  async jwt() {
    const pair = await subtle.generateKey(P256, true, ["sign", "verify"]);
    const b64url = (bytes) => new Uint8Array(bytes).toBase64({ alphabet: "base64url", omitPadding: true });
    const head = b64url(utf8(JSON.stringify({ alg: "ES256", typ: "JWT" })));
    const body = b64url(utf8(JSON.stringify({ sub: "tenant-1" })));
    const signature = await subtle.sign(ES256, pair.privateKey, utf8(`${head}.${body}`));
    const jwk = await subtle.exportKey("jwk", pair.publicKey);
    const publicKey = await subtle.importKey("jwk", jwk, P256, false, ["verify"]);
    const ok = await subtle.verify(ES256, publicKey, signature, utf8(`${head}.${body}`));
    const forged = await subtle.verify(ES256, publicKey, signature, utf8(`${head}.x${body}`));
    return [ok, forged, signature.byteLength, jwk.kty, jwk.crv];
  },
  async sealed(text) {
    const key = await subtle.generateKey({ name: "AES-GCM", length: 256 }, false, ["encrypt", "decrypt"]);
    const gcm = { name: "AES-GCM", iv: crypto.getRandomValues(new Uint8Array(12)) };
    const sealed = await subtle.encrypt(gcm, key, utf8(text));
    const opened = new TextDecoder().decode(await subtle.decrypt(gcm, key, sealed));
    const tampered = new Uint8Array(sealed);
    tampered[0] ^= 1;
    const refused = await subtle.decrypt(gcm, key, tampered).catch((e) => e.name);
    const exported = await subtle.exportKey("raw", key).catch((e) => e.name);
    return [opened, sealed.byteLength, refused, exported];
  },
  timingSafeEqual(a, b) {
    try { return subtle.timingSafeEqual(utf8(a), utf8(b)); } catch (e) { return failure(e); }
  },
  async pbkdf2(iterations) {
    const key = await subtle.importKey("raw", utf8("password"), "PBKDF2", false, ["deriveBits"]);
    const params = { name: "PBKDF2", hash: "SHA-256", salt: utf8("salt"), iterations };
    return subtle.deriveBits(params, key, 256).then(hex, failure);
  },
  async hashForever(megabytes) {
    const data = new Uint8Array(megabytes << 20);
    for (;;) await subtle.digest("SHA-512", data);
  },
  async snoop() {
    // A tenant replaces the iterator every spread and destructuring uses, and plants a getter on
    // Object.prototype, then signs with a key it cannot export: nothing it sees may be the secret.
    const secret = utf8("0123456789abcdef0123456789abcdef");
    const key = await subtle.importKey("raw", secret, HMAC256, false, ["sign"]);
    const arrayIterator = Object.getPrototypeOf([][Symbol.iterator]());
    const next = arrayIterator.next;
    const seen = [];
    arrayIterator.next = function () { const step = next.call(this); seen.push(step.value); return step; };
    const getter = { get() { seen.push(this); }, configurable: true };
    Object.defineProperty(Object.prototype, "secret", getter);
    try {
      await subtle.sign("HMAC", key, utf8("message"));
      await subtle.exportKey("raw", key).catch(() => {});
    } finally {
      arrayIterator.next = next;
      delete Object.prototype.secret;
    }
    const same = (v) => v instanceof Uint8Array && v.length === 32 && v.every((b, i) => b === secret[i]);
    return [seen.some(same), key.extractable];
  },
  async indexSetters() {
    // A tenant plants setters on Array.prototype's first indices, which an array's push or a
    // native's plain set would run, then generates keys it cannot export and signs with them.
    let calls = 0;
    let bytesSeen = 0;
    for (const index of [0, 1, 2]) {
      Object.defineProperty(Array.prototype, index, { configurable: true, set(v) {
        calls++;
        if (ArrayBuffer.isView(v) || v instanceof ArrayBuffer) bytesSeen++;
        const own = { value: v, writable: true, enumerable: true, configurable: true };
        Object.defineProperty(this, index, own);
      } });
    }
    try {
      const ec = await subtle.generateKey(P256, false, ["sign", "verify"]);
      await subtle.sign(ES256, ec.privateKey, utf8("message"));
      const ed = await subtle.generateKey("Ed25519", false, ["sign", "verify"]);
      await subtle.sign("Ed25519", ed.privateKey, utf8("message"));
      const ecdh = await subtle.generateKey({ name: "ECDH", namedCurve: "P-256" }, false, ["deriveBits"]);
      await subtle.deriveBits({ name: "ECDH", public: ecdh.publicKey }, ecdh.privateKey, 256);
    } finally {
      for (const index of [0, 1, 2]) delete Array.prototype[index];
    }
    return [calls > 0, bytesSeen];  // the setters ran (for the usages' strings), on no bytes
  },
  async names() {
    // Algorithm names match ASCII case-insensitively, and only so; a string names an algorithm
    // with no other member, whatever Object.prototype holds.
    const key = await subtle.importKey("raw", utf8("k"), { name: "hmac", hash: "sha-256" }, false, ["sign"]);
    const out = [hex(await subtle.sign("hMaC", key, utf8("m")))];
    for (const name of ["sHa-256", "\u017fha-256", "SHA-256\u0000"]) {
      out.push(await subtle.digest(name, utf8("")).then(hex, (e) => e.name));
    }
    const pair = await subtle.generateKey(P256, false, ["sign"]);
    Object.prototype.hash = "SHA-256";
    try {
      out.push(await subtle.sign("ECDSA", pair.privateKey, utf8("m")).then(() => "signed", (e) => e.name));
    } finally {
      delete Object.prototype.hash;
    }
    return out;
  },
  async views() {
    // Every kind of BufferSource hashes the bytes it views, and a detached one hashes as empty.
    const buffer = Uint8Array.from({ length: 16 }, (_, i) => i).buffer;
    const growable = new ArrayBuffer(4, { maxByteLength: 16 });
    const tracking = new Uint8Array(growable, 1);
    growable.resize(8);
    new Uint8Array(growable).set([9, 8, 7, 6, 5, 4, 3, 2]);
    const detached = new Uint8Array(8);
    const detachedView = new DataView(detached.buffer);
    structuredClone(detached.buffer, { transfer: [detached.buffer] });
    const inputs = [
      buffer, new DataView(buffer, 3, 5), new Int16Array(buffer, 2, 3), new Uint8Array(buffer).subarray(1, 4),
      tracking, detached, detachedView,
    ];
    const out = [];
    for (const input of inputs) out.push(await subtle.digest("SHA-256", input).then(hex, (e) => e.name));
    return out;
  },
  forgeKey() {
    const out = [];
    try { new CryptoKey(); } catch (e) { out.push(e.name); }
    const type = Object.getOwnPropertyDescriptor(CryptoKey.prototype, "type").get;
    try { type.call({}); } catch (e) { out.push(e.name); }
    return out;
  },
  async cloneKey() {
    const key = await subtle.importKey("raw", utf8("secret"), HMAC256, false, ["sign", "verify"]);
    const [copy] = structuredClone([key]);
    const data = utf8("payload");
    copy.usages.push("encrypt");  // the clone's own cached array: the key's usages stay
    return [
      copy !== key && copy instanceof CryptoKey,
      [copy.type, copy.extractable, copy.algorithm.name, copy.algorithm.hash.name, key.usages.join()],
      hex(await subtle.sign("HMAC", copy, data)) === hex(await subtle.sign("HMAC", key, data)),
      await subtle.exportKey("raw", copy).then(() => "exported", failure),
    ];
  },
  async wrongReceiver() {
    const digest = SubtleCrypto.prototype.digest;
    return digest.call({}, "SHA-256", new Uint8Array(1)).then(() => "resolved", (e) => e.name);
  },
};
"""


@pytest.fixture
def worker(loader: dynisolate.Loader) -> dynisolate.Worker:
    return loader.load({"subtle.js": SOURCE})


@pytest.mark.parametrize("name", ["SHA-1", "SHA-256", "SHA-384", "SHA-512"])
def test_digest_matches_hashlib(worker: dynisolate.Worker, name: str) -> None:
    entry = worker.get_entrypoint()
    python = hashlib.new(name.replace("-", "").lower())
    python.update("héllo wörld".encode())
    assert entry.digest(name, "héllo wörld") == python.hexdigest()
    big = bytes(range(256)) * 8192  # 2 MiB: hashed in chunks on the host
    assert entry.digestBytes(name, big) == hashlib.new(name.replace("-", "").lower(), big).hexdigest()


def test_a_webhook_signature_made_by_python_verifies(worker: dynisolate.Worker) -> None:
    body = json.dumps({"event": "push", "ref": "main"})
    signature = hmac.new(b"whsec", body.encode(), hashlib.sha256).hexdigest()
    entry = worker.get_entrypoint()
    assert entry.webhook("whsec", body, signature) is True
    assert entry.webhook("whsec", body + " ", signature) is False
    assert entry.webhook("other", body, signature) is False


def test_an_es256_jwt_signs_and_verifies_through_a_jwk(worker: dynisolate.Worker) -> None:
    assert worker.get_entrypoint().jwt() == [True, False, 64, "EC", "P-256"]


def test_aes_gcm_seals_refuses_tampering_and_keeps_a_key_unexportable(worker: dynisolate.Worker) -> None:
    assert worker.get_entrypoint().sealed("attack at dawn") == [
        "attack at dawn",
        14 + 16,
        "OperationError",
        "InvalidAccessError",
    ]


def test_timing_safe_equal_as_cloudflare_has_it(worker: dynisolate.Worker) -> None:
    entry = worker.get_entrypoint()
    assert entry.timingSafeEqual("same", "same") is True
    assert entry.timingSafeEqual("same", "sane") is False
    different = entry.timingSafeEqual("short", "longer")
    assert different == "TypeError: Input buffers must have the same byte length."


def test_pbkdf2_matches_hashlib_and_keeps_cloudflares_iteration_limit(worker: dynisolate.Worker) -> None:
    entry = worker.get_entrypoint()
    assert entry.pbkdf2(1000) == hashlib.pbkdf2_hmac("sha256", b"password", b"salt", 1000).hex()
    too_many = entry.pbkdf2(100_001)
    assert too_many == "NotSupportedError: PBKDF2 iteration counts above 100000 are not supported."
    assert entry.pbkdf2(0) == "OperationError: PBKDF2 needs at least one iteration."


def test_a_long_digest_ends_at_the_calls_deadline(loader: dynisolate.Loader) -> None:
    worker = loader.load({"subtle.js": SOURCE}, limits=dynisolate.Limits(cpu_ms=100))
    with pytest.raises(dynisolate.CpuLimitError):
        worker.get_entrypoint().hashForever(4)
    assert worker.get_entrypoint().digest("SHA-256", "") == hashlib.sha256(b"").hexdigest()


def test_a_tenants_iterator_never_sees_a_non_extractable_secret(worker: dynisolate.Worker) -> None:
    assert worker.get_entrypoint().snoop() == [False, False]


def test_keys_and_subtle_cannot_be_forged(worker: dynisolate.Worker) -> None:
    entry = worker.get_entrypoint()
    assert entry.forgeKey() == ["TypeError", "TypeError"]
    assert entry.wrongReceiver() == "TypeError"


def test_a_structured_clone_of_a_key_is_the_same_key_and_as_unextractable(worker: dynisolate.Worker) -> None:
    same, slots, signs_alike, export = worker.get_entrypoint().cloneKey()
    assert (same, slots, signs_alike) == (True, ["secret", False, "HMAC", "SHA-256", "sign,verify"], True)
    assert export.startswith("InvalidAccessError")


def test_a_tenants_index_setters_never_see_a_generated_keys_bytes(worker: dynisolate.Worker) -> None:
    assert worker.get_entrypoint().indexSetters() == [True, 0]


def test_algorithm_names_match_ascii_case_insensitively_and_strings_have_no_members(
    worker: dynisolate.Worker,
) -> None:
    mac = hmac.new(b"k", b"m", hashlib.sha256).hexdigest()
    empty = hashlib.sha256(b"").hexdigest()
    refused = ["NotSupportedError", "NotSupportedError", "TypeError"]
    assert worker.get_entrypoint().names() == [mac, empty, *refused]


def test_every_kind_of_buffer_source_hashes_the_bytes_it_views(worker: dynisolate.Worker) -> None:
    data = bytes(range(16))
    expected = [data, data[3:8], data[2:8], data[1:4], bytes([8, 7, 6, 5, 4, 3, 2]), b"", b""]
    assert worker.get_entrypoint().views() == [hashlib.sha256(part).hexdigest() for part in expected]
