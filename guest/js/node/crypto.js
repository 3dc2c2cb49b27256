// node:crypto, the part Workers code reaches for: hashes and HMACs (computed by the host's
// RustCrypto implementations; the bytes are handed over once, at digest()), random bytes, integers
// and UUIDs from the host's CSPRNG, and a constant-time comparison.
import { Buffer } from "node:buffer";
import { codedError, invalidArgType, outOfRange, validateFunction, validateString } from "dynisolate:node-errors";

const native = globalThis[Symbol.for("dynisolate.node")];
const HASHES = ["md5", "sha1", "sha224", "sha256", "sha384", "sha512"];

// "SHA256", "sha-256" and "RSA-SHA256" all name sha256, as OpenSSL's names do in Node.js.
function algorithmOf(name) {
  validateString(name, "algorithm");
  const normalized = name.toLowerCase().replace(/^rsa-/, "").replace(/^sha-/, "sha");
  if (!HASHES.includes(normalized)) throw new Error("Digest method not supported");
  return normalized;
}

function bytesOf(data, encoding, name) {
  if (typeof data === "string") return Buffer.from(data, encoding);
  if (ArrayBuffer.isView(data)) return new Uint8Array(data.buffer, data.byteOffset, data.byteLength);
  if (data instanceof ArrayBuffer) return new Uint8Array(data);
  throw invalidArgType(name, "of type string or an instance of Buffer, TypedArray, or DataView", data);
}

function output(bytes, encoding) {
  const buffer = Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  return encoding === undefined || encoding === "buffer" ? buffer : buffer.toString(encoding);
}

// Hash and Hmac share this: input collected until digest(), which may run once.
class Digest {
  #algorithm;
  #key;
  #chunks = [];
  #finished = false;

  constructor(algorithm, key) {
    this.#algorithm = algorithm;
    this.#key = key;
  }

  update(data, inputEncoding) {
    if (this.#finished) throw codedError(Error, "ERR_CRYPTO_HASH_FINALIZED", "Digest already called");
    this.#chunks.push(Uint8Array.from(bytesOf(data, inputEncoding, "data")));
    return this;
  }

  digest(encoding) {
    if (this.#finished) throw codedError(Error, "ERR_CRYPTO_HASH_FINALIZED", "Digest already called");
    this.#finished = true;
    const input = Buffer.concat(this.#chunks);
    this.#chunks = [];
    return output(native.digest(this.#algorithm, this.#key, input), encoding);
  }

  copy() {
    if (this.#finished) throw codedError(Error, "ERR_CRYPTO_HASH_FINALIZED", "Digest already called");
    const copy = new this.constructor(INTERNAL, this.#algorithm, this.#key);
    copy.#chunks = this.#chunks.slice();
    return copy;
  }
}

const INTERNAL = Symbol("internal");

export class Hash extends Digest {
  constructor(algorithm, options) {
    if (algorithm === INTERNAL) super(options, undefined);
    else super(algorithmOf(algorithm), undefined);
  }
}

export class Hmac extends Digest {
  constructor(algorithm, key, options) {
    if (algorithm === INTERNAL) super(key, options);
    else {
      const material = key?.type === "secret" && typeof key.export === "function" ? key.export() : key;
      super(algorithmOf(algorithm), Uint8Array.from(bytesOf(material, options?.encoding, "key")));
    }
  }
}

export function createHash(algorithm, options) {
  return new Hash(algorithm, options);
}

export function createHmac(algorithm, key, options) {
  return new Hmac(algorithm, key, options);
}

/** One-shot hash (Node.js 21.7): hex by default. */
export function hash(algorithm, data, outputEncoding = "hex") {
  return output(native.digest(algorithmOf(algorithm), undefined, bytesOf(data, "utf8", "data")), outputEncoding);
}

export function getHashes() {
  return HASHES.slice();
}

const MAX_RANDOM_BYTES = 2 ** 31 - 1;

export function randomFillSync(buffer, offset = 0, size) {
  if (!ArrayBuffer.isView(buffer) && !(buffer instanceof ArrayBuffer)) {
    throw invalidArgType("buf", "an instance of ArrayBuffer or ArrayBufferView", buffer);
  }
  const bytes = buffer instanceof ArrayBuffer ? new Uint8Array(buffer) : new Uint8Array(buffer.buffer, buffer.byteOffset, buffer.byteLength);
  const end = size === undefined ? bytes.length : offset + size;
  if (offset < 0 || offset > bytes.length) throw outOfRange("offset", `>= 0 && <= ${bytes.length}`, offset);
  if (end > bytes.length) throw outOfRange("size + offset", `<= ${bytes.length}`, end);
  for (let at = offset; at < end; at += 65536) globalThis.crypto.getRandomValues(bytes.subarray(at, Math.min(at + 65536, end)));
  return buffer;
}

export function randomBytes(size, callback) {
  if (typeof size !== "number" || !(size >= 0 && size <= MAX_RANDOM_BYTES) || !Number.isInteger(size)) {
    throw outOfRange("size", `>= 0 && <= ${MAX_RANDOM_BYTES}`, size);
  }
  const buffer = randomFillSync(Buffer.alloc(size));
  if (callback === undefined) return buffer;
  validateFunction(callback, "callback");
  queueMicrotask(() => callback(null, buffer));
}

export function randomFill(buffer, offset, size, callback) {
  if (typeof offset === "function") [callback, offset, size] = [offset, 0, undefined];
  else if (typeof size === "function") [callback, size] = [size, undefined];
  validateFunction(callback, "callback");
  randomFillSync(buffer, offset, size);
  queueMicrotask(() => callback(null, buffer));
}

/** A uniform integer in [min, max), by rejection sampling (no modulo bias). */
export function randomInt(min, max, callback) {
  if (max === undefined || typeof max === "function") [min, max, callback] = [0, min, max];
  if (!Number.isSafeInteger(min)) throw invalidArgType("min", "a safe integer", min);
  if (!Number.isSafeInteger(max)) throw invalidArgType("max", "a safe integer", max);
  const range = max - min;
  if (!(range > 0 && range <= 2 ** 48)) throw outOfRange("max", `greater than the value of "min" (${min}) and max - min <= 2^48`, max);
  const limit = 2 ** 48 - (2 ** 48 % range);
  const bytes = new Uint8Array(6);
  let value;
  do {
    globalThis.crypto.getRandomValues(bytes);
    value = bytes.reduce((n, b) => n * 256 + b, 0);
  } while (value >= limit);
  const result = min + (value % range);
  if (callback === undefined) return result;
  validateFunction(callback, "callback");
  queueMicrotask(() => callback(null, result));
}

export function randomUUID() {
  return globalThis.crypto.randomUUID();
}

export function getRandomValues(array) {
  return globalThis.crypto.getRandomValues(array);
}

/** Compares in time that depends only on the length, which must match. */
export function timingSafeEqual(a, b) {
  const left = bytesOf(a, undefined, "buf1");
  const right = bytesOf(b, undefined, "buf2");
  if (left.length !== right.length) {
    throw codedError(RangeError, "ERR_CRYPTO_TIMING_SAFE_EQUAL_LENGTH", "Input buffers must have the same byte length");
  }
  let difference = 0;
  for (let i = 0; i < left.length; i++) difference |= left[i] ^ right[i];
  return difference === 0;
}

export const webcrypto = globalThis.crypto;
export const subtle = globalThis.crypto.subtle;
export const constants = Object.freeze({});

export default {
  Hash,
  Hmac,
  createHash,
  createHmac,
  hash,
  getHashes,
  randomBytes,
  randomFill,
  randomFillSync,
  randomInt,
  randomUUID,
  getRandomValues,
  timingSafeEqual,
  webcrypto,
  subtle,
  constants,
};
