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
