// WebCrypto as Workers have it: crypto.subtle (SubtleCrypto) and CryptoKey, with Cloudflare's
// timingSafeEqual. This file is the WebIDL and the Web Cryptography API's algorithm steps:
// normalising algorithms, checking usages and formats, JWK members, and which error each misuse
// gets. Every cryptographic operation runs on the host (rust/js/subtle/, RustCrypto) through one
// native, `subtle(operation, ...fields)`, which reads the bytes where they lie. shim.c evaluates
// this after web.js; it defines the globals and gives `crypto` its `subtle`.
//
// A key's material stays in this file's WeakMap, out of the tenant's reach, in the canonical form
// the host documents (raw secret bytes; an EC scalar and uncompressed point; an OKP seed and
// public key; PKCS#1 DER for RSA). Operations run synchronously when called and settle a promise,
// so the bytes given are read at call time, as the standard's "get a copy of the bytes" asks.
(function (primordials, natives, web) {
  "use strict";

  const {
    ObjectDefineProperty,
    ArrayPrototypeIncludes: includes,
    ArrayPrototypePush: push,
    StringPrototypeIndexOf,
    StringPrototypeSlice,
    ReflectApply,
    DOMExceptionGetName,
    NumberCtor,
    NumberIsFinite,
    NumberIsNaN,
    MathTrunc,
    JSONParse,
    JSONStringify,
    WeakMapCtor,
    WeakMapPrototypeGet: weakGet,
    WeakMapPrototypeSet: weakSet,
    PromiseResolve,
    PromiseReject,
    Uint8ArrayCtor,
    Uint8ArrayFromBase64,
    Uint8ArrayPrototypeToBase64,
    TypedArrayGetBuffer,
    TypedArrayGetLength,
    TypedArrayGetTag,
    TypedArrayPrototypeSet,
    ArrayBufferCtor,
    TypeErrorCtor,
    DOMExceptionCtor,
    SymbolIterator,
    SymbolToStringTag,
  } = primordials;
  const { subtle: host, randomFill } = natives;
  const { bufferSourceBytes, utf8Encode, utf8Decode, asciiUpper, requireArgs, defineGlobal, INTERNAL } = web;

  // No spread, array destructuring or for-of over this file's own arrays: they would run the
  // tenant's %ArrayIteratorPrototype%.next, which could read a key's secret as it went by.
  function copyArray(array) {
    const out = [];
    for (let i = 0; i < array.length; i++) push(out, array[i]);
    return out;
  }

  function concat(a, b) {
    const out = copyArray(a);
    for (let i = 0; i < b.length; i++) push(out, b[i]);
    return out;
  }

  const isObject = (x) => x !== null && (typeof x === "object" || typeof x === "function");
  const domError = (name, message) => new DOMExceptionCtor(message, name);
  const notSupported = (message) => domError("NotSupportedError", message);
  const dataError = (message) => domError("DataError", message);
  const invalidAccess = (message) => domError("InvalidAccessError", message);
  const operationError = (message) => domError("OperationError", message);
  const syntaxError = (message) => domError("SyntaxError", message);

  function domExceptionName(error) {
    try {
      return DOMExceptionGetName(error);
    } catch {
      return undefined;
    }
  }

  // A host operation's reply (from the native `subtle(operation, ...fields)`): its fields, as
  // Uint8Arrays each over a buffer of its own, or the DOMException the host names.
  function replyFields(reply) {
    if (typeof reply === "string") {
      const at = StringPrototypeIndexOf(reply, "\n");
      throw domError(StringPrototypeSlice(reply, 0, at), StringPrototypeSlice(reply, at + 1));
    }
    return reply;
  }
  const replyField = (reply) => replyFields(reply)[0];
  const replyTrue = (reply) => replyFields(reply)[0][0] === 1;

  function copy(bytes) {
    const out = new Uint8ArrayCtor(TypedArrayGetLength(bytes));
    TypedArrayPrototypeSet(out, bytes);
    return out;
  }

  // The ArrayBuffer a promise fulfils with, from bytes no one else holds: a field of the host's
  // reply, or bytes made for the call, over the whole of their buffer, which is handed over as it
  // is. An algorithm's encrypt, decrypt, sign, deriveBits, wrapKey and unwrapKey return only such
  // bytes, never a key's material (which toArrayBuffer copies).
  const resultBuffer = (bytes) => TypedArrayGetBuffer(bytes);

  function toArrayBuffer(bytes) {
    const out = new ArrayBufferCtor(TypedArrayGetLength(bytes));
    TypedArrayPrototypeSet(new Uint8ArrayCtor(out), bytes);
    return out;
  }

  function randomBytes(length) {
    const bytes = new Uint8ArrayCtor(length);
    if (length > 0) randomFill(bytes);
    return bytes;
  }

  const toBase64Url = (bytes) =>
    Uint8ArrayPrototypeToBase64(bytes, { __proto__: null, alphabet: "base64url", omitPadding: true });

  function fromBase64Url(text, member) {
    try {
      return Uint8ArrayFromBase64(text, { __proto__: null, alphabet: "base64url", lastChunkHandling: "loose" });
    } catch {
      throw dataError(`The JWK member "${member}" is not valid base64url.`);
    }
  }

  // ---------------------------------------------------------------------------------------------
  // WebIDL conversions

  function bufferSource(x, what) {
    const bytes = bufferSourceBytes(x);
    if (bytes === null) throw new TypeErrorCtor(`${what} is not an ArrayBuffer or ArrayBufferView.`);
    return bytes;
  }

  // [EnforceRange] integers: finite, truncated, within the type's range.
  function enforceRange(x, max, what) {
    let n = NumberCtor(x);
    if (NumberIsNaN(n) || !NumberIsFinite(n)) throw new TypeErrorCtor(`${what} is not a finite number.`);
    n = MathTrunc(n) + 0;
    if (n < 0 || n > max) throw new TypeErrorCtor(`${what} is outside the range 0 to ${max}.`);
    return n;
  }

  function sequence(x, what, convert) {
    if (!isObject(x)) throw new TypeErrorCtor(`${what} is not a sequence.`);
    const iterator = x[SymbolIterator];
    if (typeof iterator !== "function") throw new TypeErrorCtor(`${what} is not iterable.`);
    const out = [];
    const iterable = { __proto__: null, [SymbolIterator]: () => ReflectApply(iterator, x, []) };
    for (const item of iterable) push(out, convert(item));
    return out;
  }

  const KEY_USAGES = ["encrypt", "decrypt", "sign", "verify", "deriveKey", "deriveBits", "wrapKey", "unwrapKey"];
  const KEY_FORMATS = ["raw", "spki", "pkcs8", "jwk"];

  function keyUsages(x) {
    const usages = [];
    const list = sequence(x, "The key usages", (item) => {
      const usage = `${item}`;
      if (!includes(KEY_USAGES, usage)) throw new TypeErrorCtor(`"${usage}" is not a valid key usage.`);
      return usage;
    });
    for (let i = 0; i < list.length; i++) if (!includes(usages, list[i])) push(usages, list[i]);
    return usages;
  }

  function keyFormat(x) {
    const format = `${x}`;
    if (!includes(KEY_FORMATS, format)) throw new TypeErrorCtor(`"${format}" is not a valid key format.`);
    return format;
  }

  // JsonWebKey, its members converted in lexicographic order as WebIDL does.
  const JWK_STRINGS = ["alg", "crv", "d", "dp", "dq", "e", "k", "kty", "n", "p", "q", "qi", "use", "x", "y"];
  const JWK_MEMBERS = ["alg", "crv", "d", "dp", "dq", "e", "ext", "k", "key_ops", "kty", "n", "oth", "p", "q", "qi", "use", "x", "y"];

  function jsonWebKey(x) {
    if (x !== undefined && x !== null && !isObject(x)) throw new TypeErrorCtor("The JWK is not an object.");
    const jwk = { __proto__: null };
    if (!isObject(x)) return jwk;
    for (let i = 0; i < JWK_MEMBERS.length; i++) {
      const member = JWK_MEMBERS[i];
      const value = x[member];
      if (value === undefined) continue;
      if (includes(JWK_STRINGS, member)) jwk[member] = `${value}`;
      else if (member === "ext") jwk.ext = !!value;
      else if (member === "key_ops") jwk.key_ops = sequence(value, "The JWK's key_ops", (op) => `${op}`);
      else jwk.oth = sequence(value, "The JWK's oth", (prime) => prime);
    }
    return jwk;
  }

  // ---------------------------------------------------------------------------------------------
  // Algorithm normalisation: each operation's registered algorithms and their dictionaries.

  // Members after `name`, in the order WebIDL reads them (inherited dictionaries first, then
  // lexicographic): [member, type, required].
  const NO_PARAMS = [];
  const HMAC_PARAMS = [["hash", "hash", true], ["length", "unsigned long", false]];
  const AES_LENGTH = [["length", "unsigned short", true]];
  const RSA_GEN = [["modulusLength", "unsigned long", true], ["publicExponent", "BigInteger", true], ["hash", "hash", true]];
  const HASH_ONLY = [["hash", "hash", true]];
  const CURVE = [["namedCurve", "DOMString", true]];
  const ECDH_PUBLIC = [["public", "CryptoKey", true]];

  const HASHES = ["SHA-1", "SHA-256", "SHA-384", "SHA-512"];
  const AES = ["AES-CTR", "AES-CBC", "AES-GCM", "AES-KW"];
  const RSA = ["RSASSA-PKCS1-v1_5", "RSA-PSS", "RSA-OAEP"];

  // Each operation's algorithms: `params` by registered name, and `byUpper`, the registered name
  // by its ASCII uppercase, made here once so that normalising a name is a lookup, not a
  // case-insensitive comparison with every name registered.
  const REGISTRY = { __proto__: null };
  function register(operation, names, params) {
    REGISTRY[operation] ??= { __proto__: null, params: { __proto__: null }, byUpper: { __proto__: null } };
    const registered = REGISTRY[operation];
    for (let i = 0; i < names.length; i++) {
      registered.params[names[i]] = params;
      registered.byUpper[asciiUpper(names[i])] = names[i];
    }
  }
  register("digest", HASHES, NO_PARAMS);
  register("generateKey", ["HMAC"], HMAC_PARAMS);
  register("generateKey", AES, AES_LENGTH);
  register("generateKey", RSA, RSA_GEN);
  register("generateKey", ["ECDSA", "ECDH"], CURVE);
  register("generateKey", ["Ed25519", "X25519"], NO_PARAMS);
  register("importKey", ["HMAC"], HMAC_PARAMS);
  register("importKey", concat(AES, ["HKDF", "PBKDF2", "Ed25519", "X25519"]), NO_PARAMS);
  register("importKey", RSA, HASH_ONLY);
  register("importKey", ["ECDSA", "ECDH"], CURVE);
  register("exportKey", concat(concat(["HMAC"], AES), concat(RSA, ["ECDSA", "ECDH", "Ed25519", "X25519"])), NO_PARAMS);
  register("sign", ["HMAC", "RSASSA-PKCS1-v1_5", "Ed25519"], NO_PARAMS);
  register("sign", ["RSA-PSS"], [["saltLength", "unsigned long", true]]);
  register("sign", ["ECDSA"], HASH_ONLY);
  register("verify", ["HMAC", "RSASSA-PKCS1-v1_5", "Ed25519"], NO_PARAMS);
  register("verify", ["RSA-PSS"], [["saltLength", "unsigned long", true]]);
  register("verify", ["ECDSA"], HASH_ONLY);
  const AES_CBC = [["iv", "BufferSource", true]];
  const AES_CTR = [["counter", "BufferSource", true], ["length", "octet", true]];
  const AES_GCM = [["additionalData", "BufferSource", false], ["iv", "BufferSource", true], ["tagLength", "octet", false]];
  const RSA_OAEP = [["label", "BufferSource", false]];
  const CIPHERS = ["encrypt", "decrypt"];
  for (let i = 0; i < CIPHERS.length; i++) {
    register(CIPHERS[i], ["AES-CBC"], AES_CBC);
    register(CIPHERS[i], ["AES-CTR"], AES_CTR);
    register(CIPHERS[i], ["AES-GCM"], AES_GCM);
    register(CIPHERS[i], ["RSA-OAEP"], RSA_OAEP);
  }
  register("wrapKey", ["AES-KW"], NO_PARAMS);
  register("unwrapKey", ["AES-KW"], NO_PARAMS);
  register("deriveBits", ["ECDH", "X25519"], ECDH_PUBLIC);
  register("deriveBits", ["HKDF"], [["hash", "hash", true], ["info", "BufferSource", true], ["salt", "BufferSource", true]]);
  register("deriveBits", ["PBKDF2"], [["hash", "hash", true], ["iterations", "unsigned long", true], ["salt", "BufferSource", true]]);
  register("get key length", AES, AES_LENGTH);
  register("get key length", ["HMAC"], HMAC_PARAMS);
  register("get key length", ["HKDF", "PBKDF2"], NO_PARAMS);

  // The standard's "normalize an algorithm": a plain record of the converted members.
  function normalize(operation, algorithm) {
    // A string is a dictionary with only a name: every other member is absent (none is read, so
    // none comes from Object.prototype).
    const dictionary = isObject(algorithm);
    const rawName = dictionary ? algorithm.name : algorithm;
    if (dictionary && rawName === undefined) throw new TypeErrorCtor("The algorithm has no name.");
    const name = `${rawName}`;
    const registered = REGISTRY[operation];
    // A name spelt as registered (the usual case) matches without case mapping.
    const canonical = registered.params[name] !== undefined ? name : registered.byUpper[asciiUpper(name)];
    if (canonical === undefined) throw notSupported(`Unrecognized or unimplemented algorithm for ${operation}: ${name}.`);
    const record = { __proto__: null, name: canonical };
    const params = registered.params[canonical];
    for (let i = 0; i < params.length; i++) {
      const member = params[i][0];
      const value = dictionary ? algorithm[member] : undefined;
      const what = `The ${canonical} algorithm's ${member}`;
      if (value !== undefined) record[member] = convertMember(value, params[i][1], what);
      else if (params[i][2]) throw new TypeErrorCtor(`${what} is required.`);
    }
    return record;
  }

  function convertMember(value, type, what) {
    switch (type) {
      case "hash":
        return normalize("digest", value).name;
      case "BufferSource":
        return copy(bufferSource(value, what));
      case "unsigned long":
        return enforceRange(value, 0xffffffff, what);
      case "unsigned short":
        return enforceRange(value, 0xffff, what);
      case "octet":
        return enforceRange(value, 0xff, what);
      case "DOMString":
        return `${value}`;
      case "BigInteger":
        if (TypedArrayGetTag(value) !== "Uint8Array") throw new TypeErrorCtor(`${what} is not a Uint8Array.`);
        return copy(value);
      case "CryptoKey":
        return keySlots(value, what);
    }
    throw new TypeErrorCtor(`unknown member type ${type}`);
  }

  // ---------------------------------------------------------------------------------------------
  // CryptoKey

  // CryptoKey -> {type, extractable, algorithm (record), usages, material, cachedAlgorithm, cachedUsages}
  const keys = new WeakMapCtor();

  function keySlots(key, what = "The key") {
    const slots = isObject(key) ? weakGet(keys, key) : undefined;
    if (slots === undefined) throw new TypeErrorCtor(`${what} is not a CryptoKey.`);
    return slots;
  }

  class CryptoKey {
    constructor() {
      throw new TypeErrorCtor("Illegal constructor");
    }

    get type() {
      return keySlots(this, "this").type;
    }

    get extractable() {
      return keySlots(this, "this").extractable;
    }

    get algorithm() {
      const slots = keySlots(this, "this");
      slots.cachedAlgorithm ??= algorithmObject(slots.algorithm);
      return slots.cachedAlgorithm;
    }

    get usages() {
      const slots = keySlots(this, "this");
      slots.cachedUsages ??= copyArray(slots.usages);
      return slots.cachedUsages;
    }
  }
  ObjectDefineProperty(CryptoKey.prototype, SymbolToStringTag, { value: "CryptoKey", configurable: true });

  // The KeyAlgorithm dictionary as the tenant sees it: a fresh ordinary object.
  function algorithmObject(record) {
    const out = { name: record.name };
    if (record.length !== undefined) out.length = record.length;
    if (record.hash !== undefined) out.hash = { name: record.hash };
    if (record.modulusLength !== undefined) {
      out.modulusLength = record.modulusLength;
      out.publicExponent = copy(record.publicExponent);
    }
    if (record.namedCurve !== undefined) out.namedCurve = record.namedCurve;
    return out;
  }

  function newKey(type, extractable, algorithm, usages, material) {
    const key = { __proto__: CryptoKey.prototype };
    const slots = { __proto__: null, type, extractable, algorithm, usages, material };
    slots.cachedAlgorithm = undefined;
    slots.cachedUsages = undefined;
    weakSet(keys, key, slots);
    return key;
  }

  // Only `allowed` usages may be asked for (SyntaxError otherwise).
  function checkUsages(usages, allowed, what) {
    for (let i = 0; i < usages.length; i++) {
      if (!includes(allowed, usages[i])) throw syntaxError(`Usage "${usages[i]}" is not valid for ${what}.`);
    }
  }

  // The usages of `usages` that `allowed` lists.
  function intersect(usages, allowed) {
    const out = [];
    for (let i = 0; i < usages.length; i++) if (includes(allowed, usages[i])) push(out, usages[i]);
    return out;
  }

  // ---------------------------------------------------------------------------------------------
  // JWK checks shared by every key type

  function checkJwkCommon(jwk, kty, usages, extractable, use) {
    if (jwk.kty !== kty) throw dataError(`The JWK's "kty" must be "${kty}".`);
    if (usages.length > 0 && jwk.use !== undefined && jwk.use !== use) {
      throw dataError(`The JWK's "use" must be "${use}".`);
    }
    if (jwk.key_ops !== undefined) {
      const ops = jwk.key_ops;
      for (let i = 0; i < ops.length; i++) {
        if (!includes(KEY_USAGES, ops[i])) throw dataError(`The JWK's "key_ops" holds an unknown operation "${ops[i]}".`);
        for (let j = 0; j < i; j++) if (ops[j] === ops[i]) throw dataError(`The JWK's "key_ops" repeats "${ops[i]}".`);
      }
      for (let i = 0; i < usages.length; i++) {
        if (!includes(ops, usages[i])) throw dataError(`The JWK's "key_ops" does not allow "${usages[i]}".`);
      }
    }
    if (jwk.ext === false && extractable) throw dataError('The JWK is not extractable ("ext" is false).');
  }

  function jwkBytes(jwk, member) {
    if (jwk[member] === undefined) throw dataError(`The JWK has no "${member}".`);
    return fromBase64Url(jwk[member], member);
  }

  function finishJwk(jwk, key) {
    jwk.key_ops = copyArray(key.usages);
    jwk.ext = key.extractable;
    return jwk;
  }

  // ---------------------------------------------------------------------------------------------
  // The algorithms

  const HASH_BLOCK_BITS = { __proto__: null, "SHA-1": 512, "SHA-256": 512, "SHA-384": 1024, "SHA-512": 1024 };
  const HASH_SUFFIX = { __proto__: null, "SHA-1": "1", "SHA-256": "256", "SHA-384": "384", "SHA-512": "512" };

  const HMAC = {
    usages: ["sign", "verify"],
    generateKey(alg, extractable, usages) {
      checkUsages(usages, this.usages, "HMAC");
      const length = alg.length ?? HASH_BLOCK_BITS[alg.hash];
      if (length === 0) throw operationError("An HMAC key cannot be 0 bits long.");
      const secret = randomBytes(MathTrunc((length + 7) / 8));
      return newKey("secret", extractable, { __proto__: null, name: "HMAC", hash: alg.hash, length }, usages, secret);
    },
    importKey(format, data, alg, extractable, usages) {
      checkUsages(usages, this.usages, "HMAC");
      let secret;
      if (format === "raw") secret = copy(data);
      else if (format === "jwk") {
        checkJwkCommon(data, "oct", usages, extractable, "sig");
        secret = jwkBytes(data, "k");
        if (data.alg !== undefined && data.alg !== `HS${HASH_SUFFIX[alg.hash]}`) {
          throw dataError(`The JWK's "alg" does not match HMAC with ${alg.hash}.`);
        }
      } else throw notSupported(`HMAC keys cannot be imported in "${format}" format.`);
      const bits = TypedArrayGetLength(secret) * 8;
      if (bits === 0) throw dataError("An HMAC key cannot be empty.");
      let length = bits;
      if (alg.length !== undefined) {
        if (alg.length > bits || alg.length <= bits - 8) throw dataError("The HMAC length does not match the key data.");
        length = alg.length;
      }
      return newKey("secret", extractable, { __proto__: null, name: "HMAC", hash: alg.hash, length }, usages, secret);
    },
    exportKey(format, key) {
      if (format === "raw") return toArrayBuffer(key.material);
      if (format === "jwk") {
        const jwk = { kty: "oct", k: toBase64Url(key.material), alg: `HS${HASH_SUFFIX[key.algorithm.hash]}` };
        return finishJwk(jwk, key);
      }
      throw notSupported(`HMAC keys cannot be exported in "${format}" format.`);
    },
    sign: (alg, key, data) => replyField(host("hmac.sign", key.algorithm.hash, key.material, data)),
    verify: (alg, key, signature, data) => replyTrue(host("hmac.verify", key.algorithm.hash, key.material, data, signature)),
    keyLength(alg) {
      if (alg.length === undefined) return HASH_BLOCK_BITS[alg.hash];
      if (alg.length === 0) throw new TypeErrorCtor("An HMAC key cannot be 0 bits long.");
      return alg.length;
    },
  };

  const AES_JWK_SUFFIX = { __proto__: null, "AES-CBC": "CBC", "AES-CTR": "CTR", "AES-GCM": "GCM", "AES-KW": "KW" };

  function aesAlgorithm(name) {
    const usages = name === "AES-KW" ? ["wrapKey", "unwrapKey"] : ["encrypt", "decrypt", "wrapKey", "unwrapKey"];
    const checkLength = (length) => {
      if (length !== 128 && length !== 192 && length !== 256) throw operationError("AES key length must be 128, 192 or 256 bits.");
    };
    const algorithm = {
      usages,
      generateKey(alg, extractable, keyUsages) {
        checkUsages(keyUsages, usages, name);
        checkLength(alg.length);
        return newKey("secret", extractable, { __proto__: null, name, length: alg.length }, keyUsages, randomBytes(alg.length / 8));
      },
      importKey(format, data, alg, extractable, keyUsages) {
        checkUsages(keyUsages, usages, name);
        let secret;
        if (format === "raw") secret = copy(data);
        else if (format === "jwk") {
          checkJwkCommon(data, "oct", keyUsages, extractable, "enc");
          secret = jwkBytes(data, "k");
        } else throw notSupported(`${name} keys cannot be imported in "${format}" format.`);
        const length = TypedArrayGetLength(secret) * 8;
        if (length !== 128 && length !== 192 && length !== 256) throw dataError("AES key data must be 128, 192 or 256 bits long.");
        if (format === "jwk" && data.alg !== undefined && data.alg !== `A${length}${AES_JWK_SUFFIX[name]}`) {
          throw dataError(`The JWK's "alg" does not match a ${length}-bit ${name} key.`);
        }
        return newKey("secret", extractable, { __proto__: null, name, length }, keyUsages, secret);
      },
      exportKey(format, key) {
        if (format === "raw") return toArrayBuffer(key.material);
        if (format === "jwk") {
          const jwk = { kty: "oct", k: toBase64Url(key.material), alg: `A${key.algorithm.length}${AES_JWK_SUFFIX[name]}` };
          return finishJwk(jwk, key);
        }
        throw notSupported(`${name} keys cannot be exported in "${format}" format.`);
      },
      keyLength(alg) {
        checkLength(alg.length);
        return alg.length;
      },
    };
    if (name === "AES-KW") {
      algorithm.wrapKey = (alg, key, data) => replyField(host("aes.encrypt", name, key.material, data, "", "", ""));
      algorithm.unwrapKey = (alg, key, data) => replyField(host("aes.decrypt", name, key.material, data, "", "", ""));
      return algorithm;
    }
    const run = (operation, alg, key, data) => {
      if (name === "AES-CBC") return replyField(host(operation, name, key.material, data, alg.iv, "", ""));
      if (name === "AES-CTR") return replyField(host(operation, name, key.material, data, alg.counter, `${alg.length}`, ""));
      const aad = alg.additionalData ?? new Uint8ArrayCtor(0);
      return replyField(host(operation, name, key.material, data, alg.iv, aad, `${alg.tagLength ?? 128}`));
    };
    algorithm.encrypt = (alg, key, data) => run("aes.encrypt", alg, key, data);
    algorithm.decrypt = (alg, key, data) => run("aes.decrypt", alg, key, data);
    return algorithm;
  }

  const RSA_JWK_ALG = {
    __proto__: null,
    "RSASSA-PKCS1-v1_5": (hash) => `RS${HASH_SUFFIX[hash]}`,
    "RSA-PSS": (hash) => `PS${HASH_SUFFIX[hash]}`,
    "RSA-OAEP": (hash) => (hash === "SHA-1" ? "RSA-OAEP" : `RSA-OAEP-${HASH_SUFFIX[hash]}`),
  };
  const JWK_RSA_PRIVATE = ["d", "p", "q", "dp", "dq", "qi"];

  function rsaAlgorithm(name) {
    const encrypting = name === "RSA-OAEP";
    const publicUsages = encrypting ? ["encrypt", "wrapKey"] : ["verify"];
    const privateUsages = encrypting ? ["decrypt", "unwrapKey"] : ["sign"];
    const use = encrypting ? "enc" : "sig";
    const keyPair = (alg, extractable, usages, privateDer, publicDer, modulusLength, publicExponent) => {
      const algorithm = { __proto__: null, name, modulusLength, publicExponent, hash: alg.hash };
      return {
        publicKey: newKey("public", true, algorithm, intersect(usages, publicUsages), publicDer),
        privateKey: newKey("private", extractable, algorithm, intersect(usages, privateUsages), privateDer),
      };
    };
    const algorithm = {
      generateKey(alg, extractable, usages) {
        checkUsages(usages, concat(publicUsages, privateUsages), name);
        const pair = replyFields(host("rsa.generate", `${alg.modulusLength}`, alg.publicExponent));
        return keyPair(alg, extractable, usages, pair[0], pair[1], alg.modulusLength, alg.publicExponent);
      },
      importKey(format, data, alg, extractable, usages) {
        let fields;
        if (format === "spki" || format === "pkcs8") {
          checkUsages(usages, format === "spki" ? publicUsages : privateUsages, `an ${name} ${format} key`);
          fields = replyFields(host("rsa.import", format, data));
        } else if (format === "jwk") {
          const isPrivate = data.d !== undefined;
          checkUsages(usages, isPrivate ? privateUsages : publicUsages, `an ${name} JWK`);
          checkJwkCommon(data, "RSA", usages, extractable, use);
          if (data.alg !== undefined && data.alg !== RSA_JWK_ALG[name](alg.hash)) {
            throw dataError(`The JWK's "alg" does not match ${name} with ${alg.hash}.`);
          }
          if (data.oth !== undefined) throw notSupported("RSA keys with more than two primes are not supported.");
          const request = ["rsa.import", isPrivate ? "jwk-private" : "jwk-public", jwkBytes(data, "n"), jwkBytes(data, "e")];
          if (isPrivate) for (let i = 0; i < JWK_RSA_PRIVATE.length; i++) push(request, jwkBytes(data, JWK_RSA_PRIVATE[i]));
          fields = replyFields(ReflectApply(host, null, request));
        } else throw notSupported(`${name} keys cannot be imported in "${format}" format.`);
        const algorithm = { __proto__: null, name, modulusLength: NumberCtor(utf8Decode(fields[2])), publicExponent: fields[3] };
        algorithm.hash = alg.hash;
        return newKey(utf8Decode(fields[0]), extractable, algorithm, usages, fields[1]);
      },
      exportKey(format, key) {
        if (format === "spki" || format === "pkcs8") {
          if ((format === "spki") !== (key.type === "public")) {
            throw invalidAccess(`An RSA ${key.type} key cannot be exported in "${format}" format.`);
          }
          return resultBuffer(replyField(host("rsa.export", format, key.type, key.material)));
        }
        if (format !== "jwk") throw notSupported(`${name} keys cannot be exported in "${format}" format.`);
        const parts = replyFields(host("rsa.export", "jwk", key.type, key.material));
        const jwk = { kty: "RSA", alg: RSA_JWK_ALG[name](key.algorithm.hash), n: toBase64Url(parts[0]), e: toBase64Url(parts[1]) };
        for (let i = 0; i + 2 < parts.length; i++) jwk[JWK_RSA_PRIVATE[i]] = toBase64Url(parts[i + 2]);
        return finishJwk(jwk, key);
      },
    };
    const need = (key, type, what) => {
      if (key.type !== type) throw invalidAccess(`${what} needs a ${type} key.`);
    };
    if (encrypting) {
      algorithm.encrypt = (alg, key, data) => {
        need(key, "public", "RSA-OAEP encryption");
        return replyField(host("rsa.oaep.encrypt", key.algorithm.hash, key.material, data, alg.label ?? new Uint8ArrayCtor(0)));
      };
      algorithm.decrypt = (alg, key, data) => {
        need(key, "private", "RSA-OAEP decryption");
        return replyField(host("rsa.oaep.decrypt", key.algorithm.hash, key.material, data, alg.label ?? new Uint8ArrayCtor(0)));
      };
    } else {
      const salt = (alg) => `${alg.saltLength ?? 0}`;
      algorithm.sign = (alg, key, data) => {
        need(key, "private", `${name} signing`);
        return replyField(host("rsa.sign", name, key.algorithm.hash, key.material, data, salt(alg)));
      };
      algorithm.verify = (alg, key, signature, data) => {
        need(key, "public", `${name} verification`);
        return replyTrue(host("rsa.verify", name, key.algorithm.hash, key.material, data, signature, salt(alg)));
      };
    }
    return algorithm;
  }

  const CURVES = ["P-256", "P-384", "P-521"];
  const ECDSA_JWK_ALG = { __proto__: null, "P-256": "ES256", "P-384": "ES384", "P-521": "ES512" };

  // Truncates derived bits to `length` (null: all of them), as ECDH and X25519 allow.
  function truncateBits(secret, length) {
    const available = TypedArrayGetLength(secret) * 8;
    if (length === null) return secret;
    if (length > available) throw operationError(`Cannot derive ${length} bits: the secret has ${available}.`);
    const out = new Uint8ArrayCtor(MathTrunc((length + 7) / 8));
    for (let i = 0; i < out.length; i++) out[i] = secret[i];
    if (length % 8 !== 0) out[out.length - 1] &= 0xff << (8 - (length % 8));
    return out;
  }

  // ECDH and X25519: the peer's public key must be of the same algorithm (and curve).
  function checkPeer(alg, key, name) {
    const peer = alg.public;
    if (key.type !== "private") throw invalidAccess(`${name} needs a private base key.`);
    if (peer.type !== "public") throw invalidAccess(`The ${name} "public" member must be a public key.`);
    if (peer.algorithm.name !== name) throw invalidAccess(`The ${name} "public" key is a ${peer.algorithm.name} key.`);
    if (peer.algorithm.namedCurve !== key.algorithm.namedCurve) {
      throw invalidAccess(`The ${name} keys are on different curves.`);
    }
    return peer;
  }

  // ECDSA, ECDH (curve keys: "ec.*") and Ed25519, X25519 (octet key pairs: "okp.*").
  function curveAlgorithm(name) {
    const okp = name === "Ed25519" || name === "X25519";
    const family = okp ? "okp" : "ec";
    const signing = name === "ECDSA" || name === "Ed25519";
    const publicUsages = signing ? ["verify"] : [];
    const privateUsages = signing ? ["sign"] : ["deriveKey", "deriveBits"];
    const use = signing ? "sig" : "enc";
    const record = (curve) => (okp ? { __proto__: null, name } : { __proto__: null, name, namedCurve: curve });
    const checkCurve = (alg) => {
      if (okp) return name;
      if (!includes(CURVES, alg.namedCurve)) throw notSupported(`The curve ${alg.namedCurve} is not supported.`);
      return alg.namedCurve;
    };
    const algorithm = {
      generateKey(alg, extractable, usages) {
        const curve = checkCurve(alg);
        checkUsages(usages, concat(publicUsages, privateUsages), name);
        const pair = replyFields(host(`${family}.generate`, curve));
        const point = pair[1];
        return {
          publicKey: newKey("public", true, record(curve), intersect(usages, publicUsages), { __proto__: null, secret: null, point }),
          privateKey: newKey("private", extractable, record(curve), intersect(usages, privateUsages), { __proto__: null, secret: pair[0], point }),
        };
      },
      importKey(format, data, alg, extractable, usages) {
        const curve = checkCurve(alg);
        let fields;
        if (format === "raw" || format === "spki") {
          checkUsages(usages, publicUsages, `a ${name} public key`);
          fields = replyFields(host(`${family}.import`, curve, format, data));
        } else if (format === "pkcs8") {
          checkUsages(usages, privateUsages, `a ${name} private key`);
          fields = replyFields(host(`${family}.import`, curve, format, data));
        } else if (format === "jwk") {
          const isPrivate = data.d !== undefined;
          checkUsages(usages, isPrivate ? privateUsages : publicUsages, `a ${name} ${isPrivate ? "private" : "public"} key`);
          checkJwkCommon(data, okp ? "OKP" : "EC", usages, extractable, use);
          if (data.crv !== curve) throw dataError(`The JWK's "crv" must be "${curve}".`);
          if (name === "ECDSA" && data.alg !== undefined && data.alg !== ECDSA_JWK_ALG[curve]) {
            throw dataError(`The JWK's "alg" does not match ECDSA on ${curve}.`);
          }
          if (name === "Ed25519" && data.alg !== undefined && data.alg !== "Ed25519" && data.alg !== "EdDSA") {
            throw dataError('The JWK\'s "alg" must be "Ed25519" or "EdDSA".');
          }
          const request = [`${family}.import`, curve, isPrivate ? "jwk-private" : "jwk-public", jwkBytes(data, "x")];
          if (!okp) push(request, jwkBytes(data, "y"));
          if (isPrivate) push(request, jwkBytes(data, "d"));
          fields = replyFields(ReflectApply(host, null, request));
        } else throw notSupported(`${name} keys cannot be imported in "${format}" format.`);
        const type = utf8Decode(fields[0]);
        const material = { __proto__: null, secret: type === "private" ? fields[1] : null, point: fields[2] };
        return newKey(type, extractable, record(curve), usages, material);
      },
      exportKey(format, key) {
        const curve = okp ? name : key.algorithm.namedCurve;
        const secret = key.material.secret;
        const point = key.material.point;
        if (format === "raw" || format === "spki" || format === "pkcs8") {
          const wantsPublic = format !== "pkcs8";
          if (wantsPublic !== (key.type === "public")) {
            throw invalidAccess(`A ${name} ${key.type} key cannot be exported in "${format}" format.`);
          }
          const der = replyField(host(`${family}.export`, curve, format, key.type, secret ?? new Uint8ArrayCtor(0), point));
          return resultBuffer(der);
        }
        if (format !== "jwk") throw notSupported(`${name} keys cannot be exported in "${format}" format.`);
        const parts = replyFields(host(`${family}.export`, curve, "jwk", key.type, secret ?? new Uint8ArrayCtor(0), point));
        const jwk = { kty: okp ? "OKP" : "EC", crv: curve, x: toBase64Url(parts[0]) };
        let next = 1;
        if (!okp) jwk.y = toBase64Url(parts[next++]);
        if (next < parts.length) jwk.d = toBase64Url(parts[next]);
        if (name === "Ed25519") jwk.alg = "Ed25519";
        return finishJwk(jwk, key);
      },
    };
    const need = (key, type, what) => {
      if (key.type !== type) throw invalidAccess(`${what} needs a ${type} key.`);
    };
    if (name === "ECDSA") {
      algorithm.sign = (alg, key, data) => {
        need(key, "private", "ECDSA signing");
        return replyField(host("ecdsa.sign", key.algorithm.namedCurve, alg.hash, key.material.secret, data));
      };
      algorithm.verify = (alg, key, signature, data) => {
        need(key, "public", "ECDSA verification");
        return replyTrue(host("ecdsa.verify", key.algorithm.namedCurve, alg.hash, key.material.point, data, signature));
      };
    } else if (name === "Ed25519") {
      algorithm.sign = (alg, key, data) => {
        need(key, "private", "Ed25519 signing");
        return replyField(host("ed25519.sign", key.material.secret, data));
      };
      algorithm.verify = (alg, key, signature, data) => {
        need(key, "public", "Ed25519 verification");
        return replyTrue(host("ed25519.verify", key.material.point, data, signature));
      };
    } else {
      algorithm.deriveBits = (alg, key, length) => {
        const peer = checkPeer(alg, key, name);
        const secret = okp
          ? replyField(host("x25519.derive", key.material.secret, peer.material.point))
          : replyField(host("ecdh.derive", key.algorithm.namedCurve, key.material.secret, peer.material.point));
        return truncateBits(secret, length);
      };
    }
    return algorithm;
  }

  // HKDF and PBKDF2: raw secrets that only derive.
  function kdfAlgorithm(name) {
    return {
      importKey(format, data, alg, extractable, usages) {
        if (format !== "raw") throw notSupported(`${name} keys can only be imported in "raw" format.`);
        checkUsages(usages, ["deriveKey", "deriveBits"], name);
        if (extractable) throw syntaxError(`${name} keys cannot be extractable.`);
        return newKey("secret", false, { __proto__: null, name }, usages, copy(data));
      },
      deriveBits(alg, key, length) {
        if (length === null) throw operationError(`${name} needs a length.`);
        if (length % 8 !== 0) throw operationError(`${name} derives whole bytes: ${length} is not a multiple of 8.`);
        if (name === "HKDF") return replyField(host("hkdf", alg.hash, key.material, alg.salt, alg.info, `${length / 8}`));
        if (alg.iterations === 0) throw operationError("PBKDF2 needs at least one iteration.");
        return replyField(host("pbkdf2", alg.hash, key.material, alg.salt, `${alg.iterations}`, `${length / 8}`));
      },
      keyLength: () => null,
    };
  }

  const ALGORITHMS = {
    __proto__: null,
    HMAC,
    "AES-CBC": aesAlgorithm("AES-CBC"),
    "AES-CTR": aesAlgorithm("AES-CTR"),
    "AES-GCM": aesAlgorithm("AES-GCM"),
    "AES-KW": aesAlgorithm("AES-KW"),
    "RSASSA-PKCS1-v1_5": rsaAlgorithm("RSASSA-PKCS1-v1_5"),
    "RSA-PSS": rsaAlgorithm("RSA-PSS"),
    "RSA-OAEP": rsaAlgorithm("RSA-OAEP"),
    ECDSA: curveAlgorithm("ECDSA"),
    ECDH: curveAlgorithm("ECDH"),
    Ed25519: curveAlgorithm("Ed25519"),
    X25519: curveAlgorithm("X25519"),
    HKDF: kdfAlgorithm("HKDF"),
    PBKDF2: kdfAlgorithm("PBKDF2"),
  };

  // ---------------------------------------------------------------------------------------------
  // SubtleCrypto: each method's steps, its errors settling the returned promise.

  const subtleObjects = new WeakMapCtor();

  // Each method that returns a promise runs its steps inside its own try block (no closure per
  // call): the steps' result fulfils the promise, anything they throw rejects it. The steps begin
  // with this check of the receiver and the argument count.
  function checkCall(receiver, where, given, needed) {
    if (weakGet(subtleObjects, receiver) !== true) throw new TypeErrorCtor(`Illegal invocation: ${where}`);
    requireArgs(given, needed, where);
  }

  function checkKeyFor(alg, key, usage) {
    if (alg.name !== key.algorithm.name) {
      throw invalidAccess(`The key is a ${key.algorithm.name} key, not ${alg.name}.`);
    }
    if (!includes(key.usages, usage)) throw invalidAccess(`The key's usages do not include "${usage}".`);
  }

  function importInternal(format, keyData, alg, extractable, usages) {
    const key = ALGORITHMS[alg.name].importKey(format, keyData, alg, extractable, usages);
    const slots = keySlots(key);
    if ((slots.type === "secret" || slots.type === "private") && usages.length === 0) {
      throw syntaxError("A secret or private key needs at least one usage.");
    }
    slots.extractable = extractable;
    slots.usages = usages;
    return key;
  }

  function importData(format, keyData) {
    if (format === "jwk") {
      if (!isObject(keyData)) throw new TypeErrorCtor('A "jwk" key must be a JsonWebKey object.');
      return jsonWebKey(keyData);
    }
    return copy(bufferSource(keyData, "The key data"));
  }

  function exportInternal(format, key) {
    const algorithm = ALGORITHMS[key.algorithm.name];
    if (algorithm.exportKey === undefined) throw notSupported(`${key.algorithm.name} keys cannot be exported.`);
    if (!key.extractable) throw invalidAccess("The key is not extractable.");
    return algorithm.exportKey(format, key);
  }

  function deriveBitsInternal(alg, key, length) {
    return ALGORITHMS[alg.name].deriveBits(alg, key, length);
  }

  // wrapKey/unwrapKey use the algorithm's own wrapping, else its encryption.
  function normalizeWrap(operation, fallback, algorithm) {
    try {
      return { __proto__: null, alg: normalize(operation, algorithm), operation };
    } catch (error) {
      if (domExceptionName(error) !== "NotSupportedError") throw error;
      return { __proto__: null, alg: normalize(fallback, algorithm), operation: fallback };
    }
  }

  class SubtleCrypto {
    constructor(token) {
      if (token !== INTERNAL) throw new TypeErrorCtor("Illegal constructor");
      weakSet(subtleObjects, this, true);
    }

    digest(algorithm, data) {
      try {
        checkCall(this, "SubtleCrypto.digest", arguments.length, 2);
        const alg = normalize("digest", algorithm);
        const bytes = bufferSource(data, "The data");
        return PromiseResolve(resultBuffer(replyField(host("digest", alg.name, bytes))));
      } catch (error) {
        return PromiseReject(error);
      }
    }

    encrypt(algorithm, key, data) {
      try {
        checkCall(this, "SubtleCrypto.encrypt", arguments.length, 3);
        const slots = keySlots(key);
        const bytes = bufferSource(data, "The data");
        const alg = normalize("encrypt", algorithm);
        checkKeyFor(alg, slots, "encrypt");
        return PromiseResolve(resultBuffer(ALGORITHMS[alg.name].encrypt(alg, slots, bytes)));
      } catch (error) {
        return PromiseReject(error);
      }
    }

    decrypt(algorithm, key, data) {
      try {
        checkCall(this, "SubtleCrypto.decrypt", arguments.length, 3);
        const slots = keySlots(key);
        const bytes = bufferSource(data, "The data");
        const alg = normalize("decrypt", algorithm);
        checkKeyFor(alg, slots, "decrypt");
        return PromiseResolve(resultBuffer(ALGORITHMS[alg.name].decrypt(alg, slots, bytes)));
      } catch (error) {
        return PromiseReject(error);
      }
    }

    sign(algorithm, key, data) {
      try {
        checkCall(this, "SubtleCrypto.sign", arguments.length, 3);
        const slots = keySlots(key);
        const bytes = bufferSource(data, "The data");
        const alg = normalize("sign", algorithm);
        checkKeyFor(alg, slots, "sign");
        return PromiseResolve(resultBuffer(ALGORITHMS[alg.name].sign(alg, slots, bytes)));
      } catch (error) {
        return PromiseReject(error);
      }
    }

    verify(algorithm, key, signature, data) {
      try {
        checkCall(this, "SubtleCrypto.verify", arguments.length, 4);
        const slots = keySlots(key);
        const sig = bufferSource(signature, "The signature");
        const bytes = bufferSource(data, "The data");
        const alg = normalize("verify", algorithm);
        checkKeyFor(alg, slots, "verify");
        return PromiseResolve(ALGORITHMS[alg.name].verify(alg, slots, sig, bytes));
      } catch (error) {
        return PromiseReject(error);
      }
    }

    generateKey(algorithm, extractable, keyUsages) {
      try {
        checkCall(this, "SubtleCrypto.generateKey", arguments.length, 3);
        const usages = keyUsages_(keyUsages);
        const alg = normalize("generateKey", algorithm);
        const result = ALGORITHMS[alg.name].generateKey(alg, !!extractable, usages);
        const secret = weakGet(keys, result);
        if (secret !== undefined) {
          if (usages.length === 0) throw syntaxError("A secret key needs at least one usage.");
        } else if (keySlots(result.privateKey).usages.length === 0) {
          throw syntaxError("A private key needs at least one usage.");
        }
        return PromiseResolve(result);
      } catch (error) {
        return PromiseReject(error);
      }
    }

    deriveKey(algorithm, baseKey, derivedKeyType, extractable, keyUsages) {
      try {
        checkCall(this, "SubtleCrypto.deriveKey", arguments.length, 5);
        const slots = keySlots(baseKey, "The base key");
        const usages = keyUsages_(keyUsages);
        const alg = normalize("deriveBits", algorithm);
        const importAlg = normalize("importKey", derivedKeyType);
        const lengthAlg = normalize("get key length", derivedKeyType);
        checkKeyFor(alg, slots, "deriveKey");
        const length = ALGORITHMS[lengthAlg.name].keyLength(lengthAlg);
        const secret = deriveBitsInternal(alg, slots, length);
        return PromiseResolve(importInternal("raw", secret, importAlg, !!extractable, usages));
      } catch (error) {
        return PromiseReject(error);
      }
    }

    deriveBits(algorithm, baseKey, length = null) {
      try {
        checkCall(this, "SubtleCrypto.deriveBits", arguments.length, 2);
        const slots = keySlots(baseKey, "The base key");
        const bits = length === null ? null : enforceRange(length, 0xffffffff, "The length");
        const alg = normalize("deriveBits", algorithm);
        checkKeyFor(alg, slots, "deriveBits");
        return PromiseResolve(resultBuffer(deriveBitsInternal(alg, slots, bits)));
      } catch (error) {
        return PromiseReject(error);
      }
    }

    importKey(format, keyData, algorithm, extractable, keyUsages) {
      try {
        checkCall(this, "SubtleCrypto.importKey", arguments.length, 5);
        const keyFormat_ = keyFormat(format);
        const data = importData(keyFormat_, keyData);
        const usages = keyUsages_(keyUsages);
        const alg = normalize("importKey", algorithm);
        return PromiseResolve(importInternal(keyFormat_, data, alg, !!extractable, usages));
      } catch (error) {
        return PromiseReject(error);
      }
    }

    exportKey(format, key) {
      try {
        checkCall(this, "SubtleCrypto.exportKey", arguments.length, 2);
        const keyFormat_ = keyFormat(format);
        return PromiseResolve(exportInternal(keyFormat_, keySlots(key)));
      } catch (error) {
        return PromiseReject(error);
      }
    }

    wrapKey(format, key, wrappingKey, wrapAlgorithm) {
      try {
        checkCall(this, "SubtleCrypto.wrapKey", arguments.length, 4);
        const keyFormat_ = keyFormat(format);
        const slots = keySlots(key);
        const wrapping = keySlots(wrappingKey, "The wrapping key");
        const wrap = normalizeWrap("wrapKey", "encrypt", wrapAlgorithm);
        const alg = wrap.alg;
        checkKeyFor(alg, wrapping, "wrapKey");
        const exported = exportInternal(keyFormat_, slots);
        const bytes = keyFormat_ === "jwk" ? utf8Encode(JSONStringify(exported)) : new Uint8ArrayCtor(exported);
        return PromiseResolve(resultBuffer(ALGORITHMS[alg.name][wrap.operation](alg, wrapping, bytes)));
      } catch (error) {
        return PromiseReject(error);
      }
    }

    unwrapKey(format, wrappedKey, unwrappingKey, unwrapAlgorithm, unwrappedKeyAlgorithm, extractable, keyUsages) {
      try {
        checkCall(this, "SubtleCrypto.unwrapKey", arguments.length, 7);
        const keyFormat_ = keyFormat(format);
        const wrapped = copy(bufferSource(wrappedKey, "The wrapped key"));
        const unwrapping = keySlots(unwrappingKey, "The unwrapping key");
        const usages = keyUsages_(keyUsages);
        const unwrap = normalizeWrap("unwrapKey", "decrypt", unwrapAlgorithm);
        const alg = unwrap.alg;
        const importAlg = normalize("importKey", unwrappedKeyAlgorithm);
        checkKeyFor(alg, unwrapping, "unwrapKey");
        const bytes = ALGORITHMS[alg.name][unwrap.operation](alg, unwrapping, wrapped);
        let data = bytes;
        if (keyFormat_ === "jwk") {
          let parsed;
          try {
            parsed = JSONParse(utf8Decode(bytes));
          } catch {
            throw dataError("The unwrapped key is not a JSON Web Key.");
          }
          data = jsonWebKey(parsed);
        }
        return PromiseResolve(importInternal(keyFormat_, data, importAlg, !!extractable, usages));
      } catch (error) {
        return PromiseReject(error);
      }
    }

    // Cloudflare's: compares two buffers in time that depends only on their length.
    timingSafeEqual(a, b) {
      if (weakGet(subtleObjects, this) !== true) throw new TypeErrorCtor("Illegal invocation: SubtleCrypto.timingSafeEqual");
      requireArgs(arguments.length, 2, "SubtleCrypto.timingSafeEqual");
      const left = bufferSource(a, "The first argument");
      const right = bufferSource(b, "The second argument");
      const length = TypedArrayGetLength(left);
      if (length !== TypedArrayGetLength(right)) throw new TypeErrorCtor("Input buffers must have the same byte length.");
      let difference = 0;
      for (let i = 0; i < length; i++) difference |= left[i] ^ right[i];
      return difference === 0;
    }
  }
  ObjectDefineProperty(SubtleCrypto.prototype, SymbolToStringTag, { value: "SubtleCrypto", configurable: true });

  // Named with a trailing underscore where a parameter takes the plain name.
  const keyUsages_ = keyUsages;

  // structuredClone of a CryptoKey (a serializable object in WebCrypto): the same type,
  // extractability, algorithm and usages over the same material, which no operation changes.
  web.addSerializable((value) => {
    const slots = isObject(value) ? weakGet(keys, value) : undefined;
    if (slots === undefined) return null;
    return newKey(slots.type, slots.extractable, slots.algorithm, copyArray(slots.usages), slots.material);
  });

  defineGlobal("CryptoKey", CryptoKey);
  defineGlobal("SubtleCrypto", SubtleCrypto);
  const subtle = new SubtleCrypto(INTERNAL);
  ObjectDefineProperty(web.Crypto.prototype, "subtle", {
    __proto__: null,
    get: function subtle_() {
      return subtle;
    },
    enumerable: true,
    configurable: true,
  });
})
