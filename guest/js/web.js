// The web-platform subset tenant code expects, as Cloudflare Workers provide it: TextEncoder and
// TextDecoder, URL and URLSearchParams, Headers, Request and Response (bodies as bytes or streams),
// structuredClone and crypto (Blob, File and FormData are forms.js's, streams streams.js's). shim.c
// evaluates this once, before any tenant code, and the result is kept in the engine snapshot. The
// function defines the globals and returns the wire helpers glue.js uses to carry Request and
// Response objects to and from the host as JSON, and the helpers forms.js and subtle.js share.
//
// Every built-in the library calls comes from primordials.js, captured before any tenant code, so a
// tenant that later replaces JSON, Array.prototype.push, Map.prototype.get and the like cannot
// steer it. (Redefining accessors such as
// %TypedArray%.prototype.length, or index setters on Array.prototype, is not defended against: it
// can only confuse the tenant's own isolate, and the host validates everything it receives.)
(function (primordials, hooks) {
  "use strict";

  const randomFill = hooks.randomFill;
  const events = hooks.events;
  // The host's encodings (guest/js/web.c).
  const encodingName = hooks.encodingName;
  const textDecode = hooks.textDecode;
  // Whether a view tracks its buffer's length, or is out of its bounds (web.c's VIEW_ flags).
  const viewLayout = hooks.viewLayout;
  const bytesView = hooks.bytesView;
  const VIEW_TRACKS_LENGTH = 1;
  const VIEW_OUT_OF_BOUNDS = 2;
  const {
    ArrayCtor,
    ArrayIsArray,
    ArrayPrototypePush,
    ArrayPrototypeSort,
    PromiseCtor,
    PromiseResolve,
    isArrayBuffer,
    isDataView,
    RegExpPrototypeExec,
    StringFromCharCode,
    StringPrototypeCharCodeAt,
    StringPrototypeIndexOf,
    StringPrototypeSlice,
    StringPrototypeToLowerCase,
    StringPrototypeToUpperCase,
    StringPrototypeToWellFormed,
    NumberPrototypeToString,
    MathTrunc,
    NumberIsNaN,
    NumberIsFinite,
    JSONParse,
    JSONStringify,
    MapCtor,
    MapPrototypeGet,
    MapPrototypeSet,
    MapPrototypeHas,
    MapPrototypeForEach,
    MapPrototypeGetSize,
    SetCtor,
    SetPrototypeAdd,
    SetPrototypeForEach,
    SetPrototypeGetSize,
    WeakSetCtor,
    WeakSetPrototypeAdd,
    WeakSetPrototypeHas,
    ArrayBufferCtor,
    ArrayBufferGetByteLength,
    ArrayBufferGetMaxByteLength,
    ArrayBufferGetResizable,
    ArrayBufferGetDetached,
    ArrayBufferPrototypeTransfer,
    DataViewCtor,
    DataViewGetBuffer,
    DataViewGetByteOffset,
    DataViewGetByteLength,
    TypedArrayPrototype,
    TypedArrayGetTag,
    TypedArrayGetBuffer,
    TypedArrayGetByteOffset,
    TypedArrayGetByteLength,
    TypedArrayGetLength,
    TypedArrayPrototypeSet,
    TypedArrayPrototypeIndexOf,
    Uint8ArrayCtor,
    Uint8ArrayFromBase64,
    Uint8ArrayPrototypeToBase64,
    TypedArrayCtors,
    DateCtor,
    DatePrototypeGetTime,
    RegExpCtor,
    RegExpPrototype,
    RegExpGetSource,
    RegExpFlagGetters,
    BooleanPrototypeValueOf,
    NumberCtor,
    NumberPrototypeValueOf,
    StringCtor,
    StringPrototypeValueOf,
    ObjectCtor,
    BigIntPrototypeValueOf,
    ErrorIsError,
    ErrorCtors,
    TypeErrorCtor,
    RangeErrorCtor,
    DOMExceptionCtor,
    DOMExceptionGetName,
    DOMExceptionGetMessage,
    btoa,
    encodeURIComponent,
    unescape,
    SymbolIterator,
    SymbolAsyncIterator,
    SymbolToStringTag,
    IteratorPrototype,
    ReflectApply,
    ReflectOwnKeys,
    ObjectDefineProperty,
    ObjectFreeze,
    ObjectGetOwnPropertyDescriptor,
    ObjectGetOwnPropertyDescriptors,
    ObjectGetPrototypeOf,
    ObjectSetPrototypeOf,
    ObjectHasOwn,
    ObjectKeys,
  } = primordials;

  // ---------------------------------------------------------------------------------------------
  // Small helpers

  // Passed as the first constructor argument to build instances from already-checked parts; tenant
  // code never sees it, so it cannot forge one.
  const INTERNAL = ObjectFreeze({ __proto__: null });
  const platformObjects = new WeakSetCtor(); // instances of the classes below: not cloneable

  const isObject = (x) => x !== null && (typeof x === "object" || typeof x === "function");
  const push = ArrayPrototypePush;
  const charCodeAt = StringPrototypeCharCodeAt;
  const slice = StringPrototypeSlice;

  function defineData(target, key, value, enumerable = true) {
    ObjectDefineProperty(target, key, { __proto__: null, value, writable: true, enumerable, configurable: true });
  }

  function defineGlobal(name, value) {
    defineData(globalThis, name, value, false);
  }

  function defineTag(proto, tag) {
    ObjectDefineProperty(proto, SymbolToStringTag, { __proto__: null, value: tag, configurable: true });
  }

  // Copies getters and methods from a literal onto a prototype, non-enumerable like class members.
  function defineMembers(proto, members) {
    const descriptors = ObjectGetOwnPropertyDescriptors(members);
    const names = ReflectOwnKeys(descriptors);
    for (let i = 0; i < names.length; i++) {
      const descriptor = descriptors[names[i]];
      descriptor.enumerable = false;
      ObjectSetPrototypeOf(descriptor, null);
      ObjectDefineProperty(proto, names[i], descriptor);
    }
  }

  function requireArgs(got, needed, where) {
    if (got < needed) {
      throw new TypeErrorCtor(`${where}: ${needed} argument${needed > 1 ? "s" : ""} required, but only ${got} present.`);
    }
  }

  // WebIDL conversions: DOMString throws on symbols (String() would not), USVString also replaces
  // lone surrogates, ByteString refuses code units above 0xFF.
  const toStr = (x) => `${x}`;
  const toUSV = (x) => StringPrototypeToWellFormed(`${x}`);

  function toByteString(x, what) {
    const s = `${x}`;
    for (let i = 0; i < s.length; i++) {
      if (charCodeAt(s, i) > 0xff) throw new TypeErrorCtor(`${what} contains a character outside Latin-1: ${s}`);
    }
    return s;
  }

  // A WebIDL dictionary argument: undefined and null mean empty, other primitives are refused.
  function toDict(x, where) {
    if (x === undefined || x === null) return { __proto__: null };
    if (!isObject(x)) throw new TypeErrorCtor(`${where}: the options argument must be an object.`);
    return x;
  }

  // ASCII lowercase and uppercase (the standards' terms): only A-Z and a-z change. For ASCII text
  // that is exactly what the engine's toLowerCase/toUpperCase do, in one native call (several times
  // faster than a loop in JavaScript, even for one character); text with other characters, which
  // Unicode case mapping would change too, goes character by character.
  const NON_ASCII = /[^\x00-\x7f]/;
  const isAscii = (s) => RegExpPrototypeExec(NON_ASCII, s) === null;

  function mapAsciiLetters(s, from, delta) {
    let out = "";
    for (let i = 0; i < s.length; i++) {
      const c = charCodeAt(s, i);
      out += c >= from && c < from + 26 ? StringFromCharCode(c + delta) : s[i];
    }
    return out;
  }

  const asciiLower = (s) => (isAscii(s) ? StringPrototypeToLowerCase(s) : mapAsciiLetters(s, 0x41, 0x20));
  const asciiUpper = (s) => (isAscii(s) ? StringPrototypeToUpperCase(s) : mapAsciiLetters(s, 0x61, -0x20));

  function splitOn(s, separator) {
    const parts = [];
    let start = 0;
    for (let at = StringPrototypeIndexOf(s, separator); at !== -1; at = StringPrototypeIndexOf(s, separator, start)) {
      push(parts, slice(s, start, at));
      start = at + 1;
    }
    push(parts, slice(s, start));
    return parts;
  }

  function hexValue(c) {
    if (c >= 0x30 && c <= 0x39) return c - 0x30;
    if (c >= 0x41 && c <= 0x46) return c - 0x37;
    if (c >= 0x61 && c <= 0x66) return c - 0x57;
    return -1;
  }

  // The scalar value at i of s; a lone surrogate reads as U+FFFD.
  function scalarAt(s, i) {
    const c = charCodeAt(s, i);
    if (c < 0xd800 || c > 0xdfff) return c;
    if (c <= 0xdbff && i + 1 < s.length) {
      const d = charCodeAt(s, i + 1);
      if (d >= 0xdc00 && d <= 0xdfff) return 0x10000 + ((c - 0xd800) << 10) + (d - 0xdc00);
    }
    return 0xfffd;
  }

  // The bytes of a BufferSource as a Uint8Array over the same memory, or null if x is not one;
  // `allowShared` (WebIDL's [AllowShared]) admits a SharedArrayBuffer too. A detached buffer (or a
  // view outside its buffer) reads as empty. One native call (web.c), which reads the internal
  // slots the getters would.
  const bufferSourceBytes = (x, allowShared = false) => bytesView(x, allowShared);

  function copyBytes(bytes) {
    const copy = new Uint8ArrayCtor(TypedArrayGetLength(bytes));
    TypedArrayPrototypeSet(copy, bytes);
    return copy;
  }

  // Base64 and binary strings (one char per byte) by the engine's own Uint8Array.fromBase64,
  // Uint8Array.prototype.toBase64 and btoa, so large bodies never loop byte by byte in JS.
  const bytesToBase64 = (bytes) => Uint8ArrayPrototypeToBase64(bytes);
  const base64ToBytes = (text) => Uint8ArrayFromBase64(text);
  const binaryToBytes = (binary) => Uint8ArrayFromBase64(btoa(binary));

  // ---------------------------------------------------------------------------------------------
  // UTF-8

  const utf8Size = (cp) => (cp < 0x80 ? 1 : cp < 0x800 ? 2 : cp < 0x10000 ? 3 : 4);
  const UTF8_LEAD = [0, 0, 0xc0, 0xe0, 0xf0]; // marker bits of the first byte, by sequence size

  // Writes as much of s as fits whole into dest; lone surrogates become U+FFFD.
  function utf8EncodeInto(s, dest) {
    const capacity = TypedArrayGetLength(dest);
    let read = 0;
    let written = 0;
    while (read < s.length) {
      const cp = scalarAt(s, read);
      const size = utf8Size(cp);
      if (written + size > capacity) break;
      if (size === 1) {
        dest[written] = cp;
      } else {
        let shift = 6 * (size - 1);
        dest[written] = UTF8_LEAD[size] | (cp >> shift);
        for (let k = 1; k < size; k++) {
          shift -= 6;
          dest[written + k] = 0x80 | ((cp >> shift) & 0x3f);
        }
      }
      written += size;
      read += cp > 0xffff ? 2 : 1;
    }
    return { read, written };
  }

  // UTF-8 encoding in C: encodeURIComponent writes the UTF-8 bytes as %XX escapes and unescape
  // makes them a binary string. toWellFormed first turns lone surrogates into U+FFFD, which
  // encodeURIComponent would otherwise refuse.
  const utf8Encode = (s) => binaryToBytes(unescape(encodeURIComponent(StringPrototypeToWellFormed(s))));

  // textDecode's flags (rust/js/encoding.rs).
  const DECODE_FATAL = 1;
  const DECODE_IGNORE_BOM = 2;
  const DECODE_CONTINUE = 4;
  const DECODE_STREAM = 8;

  // "UTF-8 decode" (leading BOM dropped) or "UTF-8 decode without BOM", never failing. Decoding
  // is the host's (encoding_rs) for UTF-8 too: even a few bytes decode faster there than here.
  const decodeUtf8 = (bytes, dropBOM) => textDecode("utf-8", bytes, dropBOM ? 0 : DECODE_IGNORE_BOM, 0);

  class TextEncoder {
    constructor() {
      WeakSetPrototypeAdd(platformObjects, this);
    }

    get encoding() {
      return "utf-8";
    }

    encode(input = "") {
      return utf8Encode(toStr(input));
    }

    encodeInto(source, destination) {
      requireArgs(arguments.length, 2, "TextEncoder.encodeInto");
      const s = toStr(source);
      if (TypedArrayGetTag(destination) !== "Uint8Array") {
        throw new TypeErrorCtor("TextEncoder.encodeInto: destination must be a Uint8Array.");
      }
      return utf8EncodeInto(s, destination);
    }
  }
  defineTag(TextEncoder.prototype, "TextEncoder");

  // The id the next TextDecoder to stream on the host gets; the host keeps each stream's decoder
  // under it until the stream is flushed (see rust/js/encoding.rs).
  let nextStreamId = 1;

  // Every encoding of the Encoding Standard, labels resolved and bytes decoded by the host's
  // encoding_rs.
  class TextDecoder {
    #encoding;
    #fatal;
    #ignoreBOM;
    #streaming = false; // the last decode() had {stream: true}
    #streamId = 0; // the host stream's id, given at the first streamed decode()

    constructor(label = "utf-8", options = undefined) {
      const name = toStr(label);
      const dict = toDict(options, "TextDecoder");
      this.#fatal = !!dict.fatal;
      this.#ignoreBOM = !!dict.ignoreBOM;
      const encoding = name === "utf-8" ? name : encodingName(name);
      if (encoding === null) throw new RangeErrorCtor(`TextDecoder: the "${name}" encoding is not supported.`);
      this.#encoding = encoding;
      WeakSetPrototypeAdd(platformObjects, this);
    }

    get encoding() {
      return this.#encoding;
    }

    get fatal() {
      return this.#fatal;
    }

    get ignoreBOM() {
      return this.#ignoreBOM;
    }

    decode(input = undefined, options = undefined) {
      let bytes = new Uint8ArrayCtor(0);
      if (input !== undefined) {
        bytes = bufferSourceBytes(input, true);
        if (bytes === null) {
          throw new TypeErrorCtor("TextDecoder.decode: input must be an ArrayBuffer, SharedArrayBuffer or ArrayBufferView.");
        }
      }
      const stream = !!toDict(options, "TextDecoder.decode").stream;
      // A decode that starts no stream and ends none keeps nothing on the host; a fatal error
      // ends the stream there and here alike (the next decode starts afresh, as after a flush).
      let flags = (this.#fatal ? DECODE_FATAL : 0) | (this.#ignoreBOM ? DECODE_IGNORE_BOM : 0);
      if (this.#streaming) flags |= DECODE_CONTINUE;
      if (stream) {
        flags |= DECODE_STREAM;
        if (this.#streamId === 0) this.#streamId = nextStreamId++;
      }
      this.#streaming = false;
      const text = textDecode(this.#encoding, bytes, flags, this.#streamId);
      this.#streaming = stream;
      return text;
    }
  }
  defineTag(TextDecoder.prototype, "TextDecoder");

  // TextEncoderStream and TextDecoderStream: the Encoding standard's transforms over the encoder and
  // decoder above (called through their original methods, whatever the tenant does to the
  // prototypes), as GenericTransformStreams whose algorithms are internal (streams.js).
  const textDecoderDecode = TextDecoder.prototype.decode;
  const textDecoderGetter = (name) => ObjectGetOwnPropertyDescriptor(TextDecoder.prototype, name).get;
  const textDecoderGetters = { encoding: textDecoderGetter("encoding"), fatal: textDecoderGetter("fatal"), ignoreBOM: textDecoderGetter("ignoreBOM") };

  class TextEncoderStream {
    #transform;

    constructor() {
      let pendingLead = ""; // a lead surrogate that ended the last chunk, waiting for its trail
      this.#transform = streams.newTransform(
        (chunk, enqueue) => {
          let text = pendingLead + toStr(chunk);
          pendingLead = "";
          const last = text.length > 0 ? charCodeAt(text, text.length - 1) : 0;
          if (last >= 0xd800 && last <= 0xdbff) {
            pendingLead = slice(text, text.length - 1);
            text = slice(text, 0, text.length - 1);
          }
          if (text.length > 0) enqueue(utf8Encode(text));
        },
        (enqueue) => {
          if (pendingLead !== "") enqueue(utf8Encode(pendingLead));
        },
      );
      WeakSetPrototypeAdd(platformObjects, this);
    }

    get encoding() {
      this.#transform; // brand check
      return "utf-8";
    }

    get readable() {
      return this.#transform.readable;
    }

    get writable() {
      return this.#transform.writable;
    }
  }
  defineTag(TextEncoderStream.prototype, "TextEncoderStream");

  class TextDecoderStream {
    #decoder;
    #transform;

    constructor(label = "utf-8", options = undefined) {
      const decoder = new TextDecoder(label, options);
      this.#decoder = decoder;
      const streamOptions = { __proto__: null, stream: true };
      this.#transform = streams.newTransform(
        (chunk, enqueue) => {
          const bytes = bufferSourceBytes(chunk);
          if (bytes === null) throw new TypeErrorCtor("TextDecoderStream: chunks must be ArrayBuffers or ArrayBufferViews.");
          const text = ReflectApply(textDecoderDecode, decoder, [bytes, streamOptions]);
          if (text.length > 0) enqueue(text);
        },
        (enqueue) => {
          const text = ReflectApply(textDecoderDecode, decoder, []);
          if (text.length > 0) enqueue(text);
        },
      );
      WeakSetPrototypeAdd(platformObjects, this);
    }

    get encoding() {
      return ReflectApply(textDecoderGetters.encoding, this.#decoder, []);
    }

    get fatal() {
      return ReflectApply(textDecoderGetters.fatal, this.#decoder, []);
    }

    get ignoreBOM() {
      return ReflectApply(textDecoderGetters.ignoreBOM, this.#decoder, []);
    }

    get readable() {
      return this.#transform.readable;
    }

    get writable() {
      return this.#transform.writable;
    }
  }
  defineTag(TextDecoderStream.prototype, "TextDecoderStream");

  // ---------------------------------------------------------------------------------------------
  // Percent-encoding (https://url.spec.whatwg.org/#percent-encoded-bytes)

  const isAsciiAlpha = (c) => (c >= 0x41 && c <= 0x5a) || (c >= 0x61 && c <= 0x7a);
  const isAsciiDigit = (c) => c >= 0x30 && c <= 0x39;

  // The ASCII code points the application/x-www-form-urlencoded serializer keeps as they are: the
  // alphanumerics and "*-._" (it writes a space as "+" and percent-encodes everything else). ada
  // encodes URLs themselves (guest/js/url.c).
  const FORM_KEPT = new Uint8ArrayCtor(0x80);
  for (let c = 0; c < 0x80; c++) {
    FORM_KEPT[c] = isAsciiAlpha(c) || isAsciiDigit(c) || c === 0x2a || c === 0x2d || c === 0x2e || c === 0x5f ? 1 : 0;
  }

  const HEX = "0123456789ABCDEF";
  const percentByte = (byte) => "%" + HEX[byte >> 4] + HEX[byte & 0xf];

  function percentEncodeCodePoint(cp) {
    if (cp < 0x80) return percentByte(cp);
    const size = utf8Size(cp);
    let shift = 6 * (size - 1);
    let out = percentByte(UTF8_LEAD[size] | (cp >> shift));
    while (shift > 0) {
      shift -= 6;
      out += percentByte(0x80 | ((cp >> shift) & 0x3f));
    }
    return out;
  }

  // s as the form serializer writes a name or value: UTF-8 percent-encoded but FORM_KEPT, a space as
  // "+".
  function formEncode(s) {
    let out = "";
    for (let i = 0; i < s.length; ) {
      const cp = scalarAt(s, i);
      const width = cp > 0xffff ? 2 : 1;
      if (cp === 0x20) out += "+";
      else if (cp < 0x80 && FORM_KEPT[cp] === 1) out += s[i];
      else out += percentEncodeCodePoint(cp);
      i += width;
    }
    return out;
  }

  // Percent-decodes a form's bytes, "+" as a space (a "%" not followed by two hex digits stays).
  function formDecodeBytes(bytes) {
    const length = TypedArrayGetLength(bytes);
    const out = new Uint8ArrayCtor(length);
    let n = 0;
    for (let i = 0; i < length; i++) {
      const byte = bytes[i];
      if (byte === 0x25 && i + 2 < length && hexValue(bytes[i + 1]) >= 0 && hexValue(bytes[i + 2]) >= 0) {
        out[n++] = hexValue(bytes[i + 1]) * 16 + hexValue(bytes[i + 2]);
        i += 2;
      } else {
        out[n++] = byte === 0x2b ? 0x20 : byte;
      }
    }
    return new Uint8ArrayCtor(TypedArrayGetBuffer(out), 0, n);
  }

  // A view of bytes[start, end), over the same memory (subarray would run the tenant's
  // Uint8Array[Symbol.species]).
  const byteView = (bytes, start, end) =>
    new Uint8ArrayCtor(TypedArrayGetBuffer(bytes), TypedArrayGetByteOffset(bytes) + start, end - start);

  // application/x-www-form-urlencoded parsing and serializing, as URLSearchParams uses them. The
  // parser reads bytes, as the standard does: a string's UTF-8 for URLSearchParams, a body's bytes
  // for formData().
  const parseForm = (input) => parseFormBytes(utf8Encode(input));

  function parseFormBytes(bytes) {
    const list = [];
    const length = TypedArrayGetLength(bytes);
    for (let start = 0; start < length; ) {
      let end = TypedArrayPrototypeIndexOf(bytes, 0x26, start); // &
      if (end === -1) end = length;
      if (end > start) {
        const sequence = byteView(bytes, start, end);
        const eq = TypedArrayPrototypeIndexOf(sequence, 0x3d); // =
        const name = eq === -1 ? sequence : byteView(sequence, 0, eq);
        const value = eq === -1 ? new Uint8ArrayCtor(0) : byteView(sequence, eq + 1, end - start);
        push(list, [decodeUtf8(formDecodeBytes(name), false), decodeUtf8(formDecodeBytes(value), false)]);
      }
      start = end + 1;
    }
    return list;
  }

  function serializeForm(list) {
    let out = "";
    for (let i = 0; i < list.length; i++) {
      if (i > 0) out += "&";
      out += formEncode(list[i][0]) + "=" + formEncode(list[i][1]);
    }
    return out;
  }

  // ---------------------------------------------------------------------------------------------
  // URL records. ada parses URLs (guest/js/url.c): a parsed URL is its record, an array of its href,
  // which is always ASCII, and the offsets of its components in it (url.c's order), -1 for an
  // absent port, query or fragment. Every component is a slice of the href.

  const urlParse = hooks.urlParse; // (input, base string or undefined) -> record or null
  const urlSet = hooks.urlSet; // (href, URL_SET_ setter, value) -> record, or null for no URL
  const urlOrigin = hooks.urlOrigin; // (href) -> a blob: URL's origin
  const HREF = 0;
  const PROTOCOL_END = 1;
  const USERNAME_END = 2;
  const HOST_START = 3;
  const HOST_END = 4;
  const PORT = 5;
  const PATHNAME_START = 6;
  const SEARCH_START = 7;
  const HASH_START = 8;
  const URL_SET_HREF = 0;
  const URL_SET_PROTOCOL = 1;
  const URL_SET_USERNAME = 2;
  const URL_SET_PASSWORD = 3;
  const URL_SET_HOST = 4;
  const URL_SET_HOSTNAME = 5;
  const URL_SET_PORT = 6;
  const URL_SET_PATHNAME = 7;
  const URL_SET_SEARCH = 8;
  const URL_SET_HASH = 9;

  // The record `input` parses to against the href or URL string `base` (undefined for none), or
  // null when either does not parse. Both are converted to strings; url.c makes them USV strings.
  const parseURL = (input, base = undefined) => urlParse(`${input}`, base === undefined ? undefined : `${base}`);

  const invalidURL = (input) => new TypeErrorCtor(`Invalid URL: ${input}`);

  function parseOrThrow(input, base = undefined) {
    const text = `${input}`;
    const url = parseURL(text, base);
    if (url === null) throw invalidURL(text);
    return url;
  }

  // The components, as the URL class's getters give them. Where the href has "//" after the scheme,
  // credentials sit between it and HOST_START, which then points at their "@".
  const urlScheme = (url) => slice(url[HREF], 0, url[PROTOCOL_END] - 1);
  const urlUsername = (url) =>
    url[USERNAME_END] > url[PROTOCOL_END] + 2 ? slice(url[HREF], url[PROTOCOL_END] + 2, url[USERNAME_END]) : "";
  const urlPassword = (url) =>
    url[HOST_START] > url[USERNAME_END] ? slice(url[HREF], url[USERNAME_END] + 1, url[HOST_START]) : "";
  const urlHostname = (url) =>
    slice(url[HREF], url[HREF][url[HOST_START]] === "@" ? url[HOST_START] + 1 : url[HOST_START], url[HOST_END]);
  const urlPort = (url) => (url[PORT] === -1 ? "" : `${url[PORT]}`);
  const urlHost = (url) => (url[PORT] === -1 ? urlHostname(url) : urlHostname(url) + ":" + url[PORT]);
  const urlQueryEnd = (url) => (url[HASH_START] === -1 ? url[HREF].length : url[HASH_START]);
  const urlPathname = (url) =>
    slice(url[HREF], url[PATHNAME_START], url[SEARCH_START] === -1 ? urlQueryEnd(url) : url[SEARCH_START]);
  // The query and fragment without their "?" and "#" (null when absent).
  const urlQuery = (url) => (url[SEARCH_START] === -1 ? null : slice(url[HREF], url[SEARCH_START] + 1, urlQueryEnd(url)));
  const urlFragment = (url) => (url[HASH_START] === -1 ? null : slice(url[HREF], url[HASH_START] + 1));
  const urlWithoutFragment = (url) => (url[HASH_START] === -1 ? url[HREF] : slice(url[HREF], 0, url[HASH_START]));

  const ORIGIN_SCHEMES = ["http", "https", "ws", "wss", "ftp"]; // the special schemes, but file

  function urlSerializedOrigin(url) {
    const scheme = urlScheme(url);
    if (includes(ORIGIN_SCHEMES, scheme)) return scheme + "://" + urlHost(url);
    return scheme === "blob" ? urlOrigin(url[HREF]) : "null";
  }

  // ---------------------------------------------------------------------------------------------
  // Pair iterators (WebIDL iterable<K, V>): every step reads the pairs afresh, so changes made while
  // iterating are seen, as in browsers.

  function definePairIterable(Class, tag, pairsOf) {
    class PairIterator {
      #target;
      #kind;
      #index = 0;

      constructor(target, kind) {
        this.#target = target;
        this.#kind = kind;
      }

      next() {
        const pairs = pairsOf(this.#target);
        if (this.#index >= pairs.length) return { value: undefined, done: true };
        const pair = pairs[this.#index++];
        const kind = this.#kind;
        return { value: kind === "keys" ? pair[0] : kind === "values" ? pair[1] : [pair[0], pair[1]], done: false };
      }
    }
    ObjectSetPrototypeOf(PairIterator.prototype, IteratorPrototype);
    delete PairIterator.prototype.constructor;
    ObjectDefineProperty(PairIterator.prototype, "next", { __proto__: null, enumerable: true }); // as WebIDL has it
    defineTag(PairIterator.prototype, tag);

    const members = {
      entries() {
        pairsOf(this);
        return new PairIterator(this, "entries");
      },
      keys() {
        pairsOf(this);
        return new PairIterator(this, "keys");
      },
      values() {
        pairsOf(this);
        return new PairIterator(this, "values");
      },
      forEach(callback, thisArg = undefined) {
        let pairs = pairsOf(this);
        if (typeof callback !== "function") throw new TypeErrorCtor(`${tag}: forEach callback is not a function.`);
        for (let i = 0; i < pairs.length; i++) {
          ReflectApply(callback, thisArg, [pairs[i][1], pairs[i][0], this]);
          pairs = pairsOf(this);
        }
      },
    };
    defineMembers(Class.prototype, members);
    // WebIDL: an iterable's entries, keys, values and forEach are enumerable operations.
    const names = ["entries", "keys", "values", "forEach"];
    for (let i = 0; i < names.length; i++) {
      ObjectDefineProperty(Class.prototype, names[i], { __proto__: null, enumerable: true });
    }
    defineData(Class.prototype, SymbolIterator, members.entries, false);
  }

  // ---------------------------------------------------------------------------------------------
  // URLSearchParams and URL

  // A sequence argument read through its iterator, as WebIDL converts sequence<T>: each item is
  // converted (by `convert`, when given) as soon as it is read, before the next one is asked for.
  function iterableToList(iterable, method, convert = null) {
    const iterator = ReflectApply(method, iterable, []);
    if (!isObject(iterator)) throw new TypeErrorCtor("Result of the Symbol.iterator method is not an object.");
    const next = iterator.next;
    const list = [];
    for (;;) {
      const result = ReflectApply(next, iterator, []);
      if (!isObject(result)) throw new TypeErrorCtor("Iterator result is not an object.");
      if (result.done) return list;
      push(list, convert === null ? result.value : convert(result.value));
    }
  }

  // sequence<sequence<String>> or record<String, String>, as URLSearchParams and Headers take.
  function pairsFromInit(init, convert, where) {
    const method = init[SymbolIterator];
    const pairs = [];
    if (method !== undefined && method !== null) {
      if (typeof method !== "function") throw new TypeErrorCtor(`${where}: Symbol.iterator is not a function.`);
      const items = iterableToList(init, method);
      for (let i = 0; i < items.length; i++) {
        const item = items[i];
        const itemMethod = isObject(item) ? item[SymbolIterator] : undefined;
        if (typeof itemMethod !== "function") throw new TypeErrorCtor(`${where}: each pair must be a sequence.`);
        const pair = iterableToList(item, itemMethod);
        if (pair.length !== 2) throw new TypeErrorCtor(`${where}: each pair must have exactly two items.`);
        push(pairs, [convert(pair[0]), convert(pair[1])]);
      }
      return pairs;
    }
    // A record: keys that convert to the same string (lone surrogates replaced) are one entry, in
    // the first one's place, with the last one's value (WebIDL's record conversion).
    const keys = ReflectOwnKeys(init);
    const at = new MapCtor();
    for (let i = 0; i < keys.length; i++) {
      const descriptor = ObjectGetOwnPropertyDescriptor(init, keys[i]);
      if (descriptor === undefined || !descriptor.enumerable) continue;
      const key = convert(keys[i]);
      const value = convert(init[keys[i]]);
      const index = MapPrototypeGet(at, key);
      if (index !== undefined) {
        pairs[index][1] = value;
      } else {
        MapPrototypeSet(at, key, pairs.length);
        push(pairs, [key, value]);
      }
    }
    return pairs;
  }

  let setURLQuery; // (url object, query string or null): a URLSearchParams writing through to its URL
  let isURL;
  let attachSearchParams; // (params, url object, list)
  let setSearchParamsList; // (params, list): a URL's new query read into its URLSearchParams
  let isURLSearchParams;
  let searchParamsList;

  class URLSearchParams {
    #list = [];
    #url = null; // the URL whose query these are, if any

    static {
      attachSearchParams = (params, url, list) => {
        params.#url = url;
        params.#list = list;
      };
      setSearchParamsList = (params, list) => {
        params.#list = list;
      };
      isURLSearchParams = (x) => isObject(x) && #list in x;
      searchParamsList = (params) => params.#list;
    }

    constructor(init = "") {
      WeakSetPrototypeAdd(platformObjects, this);
      if (init === INTERNAL) return;
      if (isObject(init)) {
        this.#list = pairsFromInit(init, toUSV, "URLSearchParams");
      } else {
        const query = toUSV(init);
        this.#list = parseForm(query[0] === "?" ? slice(query, 1) : query);
      }
    }

    #update() {
      if (this.#url === null) return;
      const query = serializeForm(this.#list);
      setURLQuery(this.#url, query === "" ? null : query);
    }

    get size() {
      return this.#list.length;
    }

    append(name, value) {
      requireArgs(arguments.length, 2, "URLSearchParams.append");
      push(this.#list, [toUSV(name), toUSV(value)]);
      this.#update();
    }

    delete(name, value = undefined) {
      requireArgs(arguments.length, 1, "URLSearchParams.delete");
      const key = toUSV(name);
      const only = value === undefined ? undefined : toUSV(value);
      this.#list = filterPairs(this.#list, (pair) => pair[0] !== key || (only !== undefined && pair[1] !== only));
      this.#update();
    }

    get(name) {
      requireArgs(arguments.length, 1, "URLSearchParams.get");
      return firstValue(this.#list, toUSV(name));
    }

    getAll(name) {
      requireArgs(arguments.length, 1, "URLSearchParams.getAll");
      return allValues(this.#list, toUSV(name));
    }

    has(name, value = undefined) {
      requireArgs(arguments.length, 1, "URLSearchParams.has");
      const key = toUSV(name);
      return hasPair(this.#list, key, value === undefined ? undefined : toUSV(value));
    }

    set(name, value) {
      requireArgs(arguments.length, 2, "URLSearchParams.set");
      const key = toUSV(name);
      this.#list = setPair(this.#list, key, toUSV(value));
      this.#update();
    }

    sort() {
      // Array.prototype.sort is stable, and "<" compares code units, as the spec asks.
      ArrayPrototypeSort(this.#list, (a, b) => (a[0] < b[0] ? -1 : a[0] > b[0] ? 1 : 0));
      this.#update();
    }

    toString() {
      return serializeForm(this.#list);
    }
  }
  defineTag(URLSearchParams.prototype, "URLSearchParams");

  function filterPairs(list, keep) {
    const kept = [];
    for (let i = 0; i < list.length; i++) if (keep(list[i])) push(kept, list[i]);
    return kept;
  }

  // Name-value lists, URLSearchParams' and FormData's: the first value of a name (or null), all of
  // them, whether a pair of that name (and value, when given) is there, and the list with the first
  // pair of a name given the value and the others dropped (or the pair added).
  function firstValue(list, name) {
    for (let i = 0; i < list.length; i++) if (list[i][0] === name) return list[i][1];
    return null;
  }

  function allValues(list, name) {
    const values = [];
    for (let i = 0; i < list.length; i++) if (list[i][0] === name) push(values, list[i][1]);
    return values;
  }

  function hasPair(list, name, value = undefined) {
    for (let i = 0; i < list.length; i++) {
      if (list[i][0] === name && (value === undefined || list[i][1] === value)) return true;
    }
    return false;
  }

  function setPair(list, name, value) {
    let found = false;
    const kept = filterPairs(list, (pair) => {
      if (pair[0] !== name) return true;
      if (found) return false;
      found = true;
      pair[1] = value;
      return true;
    });
    if (!found) push(kept, [name, value]);
    return kept;
  }

  class URL {
    #url;
    #searchParams = null; // made when first asked for

    static {
      // The params' own list stays as it is: the query is its serialization.
      setURLQuery = (object, query) => {
        object.#url = urlSet(object.#url[HREF], URL_SET_SEARCH, query ?? "") ?? object.#url;
      };
      isURL = (x) => isObject(x) && #url in x;
    }

    // The hot path of every parse, kept lean: no check of the argument count (it would pay for an
    // `arguments` object; `new URL()` parses "undefined", which fails with the same TypeError), no
    // helper call, and no entry in platformObjects (structuredClone asks isURL instead).
    constructor(url, base = undefined) {
      if (url === INTERNAL) {
        this.#url = base;
        return;
      }
      const input = `${url}`;
      const record = urlParse(input, base === undefined ? undefined : `${base}`);
      if (record === null) throw invalidURL(input);
      this.#url = record;
    }

    static canParse(url, base = undefined) {
      requireArgs(arguments.length, 1, "URL.canParse");
      return parseURL(url, base) !== null;
    }

    static parse(url, base = undefined) {
      requireArgs(arguments.length, 1, "URL.parse");
      const record = parseURL(url, base);
      return record === null ? null : new URL(INTERNAL, record);
    }

    // Runs urlSet's setter `what`; a URLSearchParams already handed out reads the new query.
    #set(what, value) {
      const record = urlSet(this.#url[HREF], what, `${value}`);
      if (record === null) return false;
      this.#url = record;
      if (this.#searchParams !== null) setSearchParamsList(this.#searchParams, this.#queryList());
      return true;
    }

    #queryList() {
      const query = urlQuery(this.#url);
      return query === null ? [] : parseForm(query);
    }

    get href() {
      return this.#url[HREF];
    }

    set href(value) {
      const input = `${value}`;
      if (!this.#set(URL_SET_HREF, input)) throw invalidURL(input);
    }

    get origin() {
      return urlSerializedOrigin(this.#url);
    }

    get protocol() {
      return slice(this.#url[HREF], 0, this.#url[PROTOCOL_END]);
    }

    set protocol(value) {
      this.#set(URL_SET_PROTOCOL, value);
    }

    get username() {
      return urlUsername(this.#url);
    }

    set username(value) {
      this.#set(URL_SET_USERNAME, value);
    }

    get password() {
      return urlPassword(this.#url);
    }

    set password(value) {
      this.#set(URL_SET_PASSWORD, value);
    }

    get host() {
      return urlHost(this.#url);
    }

    set host(value) {
      this.#set(URL_SET_HOST, value);
    }

    get hostname() {
      return urlHostname(this.#url);
    }

    set hostname(value) {
      this.#set(URL_SET_HOSTNAME, value);
    }

    get port() {
      return urlPort(this.#url);
    }

    set port(value) {
      this.#set(URL_SET_PORT, value);
    }

    get pathname() {
      return urlPathname(this.#url);
    }

    set pathname(value) {
      this.#set(URL_SET_PATHNAME, value);
    }

    get search() {
      const query = urlQuery(this.#url);
      return query === null || query === "" ? "" : "?" + query;
    }

    set search(value) {
      this.#set(URL_SET_SEARCH, value);
    }

    get searchParams() {
      if (this.#searchParams === null) {
        const params = new URLSearchParams(INTERNAL);
        attachSearchParams(params, this, this.#queryList());
        this.#searchParams = params;
      }
      return this.#searchParams;
    }

    get hash() {
      const fragment = urlFragment(this.#url);
      return fragment === null || fragment === "" ? "" : "#" + fragment;
    }

    set hash(value) {
      this.#set(URL_SET_HASH, value);
    }

    toString() {
      return this.#url[HREF];
    }

    toJSON() {
      return this.#url[HREF];
    }
  }
  defineTag(URL.prototype, "URL");

  // The components URLPattern matches of the URL `input` parses to against `base` (a string or
  // undefined), in the URL Pattern Standard's order, or null when either does not parse.
  function urlPatternParts(input, base) {
    const url = parseURL(input, base);
    if (url === null) return null;
    return [
      urlScheme(url), urlUsername(url), urlPassword(url), urlHostname(url), urlPort(url), urlPathname(url),
      urlQuery(url) ?? "", urlFragment(url) ?? "",
    ];
  }

  definePairIterable(URLSearchParams, "URLSearchParams Iterator", searchParamsList);

  // ---------------------------------------------------------------------------------------------
  // Headers (https://fetch.spec.whatwg.org/#headers-class)

  const isHttpWhitespace = (c) => c === 0x09 || c === 0x0a || c === 0x0d || c === 0x20;
  const TOKEN_PUNCTUATION = "!#$%&'*+-.^_`|~";
  const isTokenChar = (c) =>
    isAsciiAlpha(c) || isAsciiDigit(c) || StringPrototypeIndexOf(TOKEN_PUNCTUATION, StringFromCharCode(c)) !== -1;

  function isToken(s) {
    if (s === "") return false;
    for (let i = 0; i < s.length; i++) if (!isTokenChar(charCodeAt(s, i))) return false;
    return true;
  }

  function headerName(name) {
    const s = toByteString(name, "Header name");
    if (!isToken(s)) throw new TypeErrorCtor(`Invalid header name: "${s}"`);
    return asciiLower(s);
  }

  // Strips leading and trailing HTTP whitespace; NUL, CR and LF may not remain inside.
  function headerValue(value) {
    const s = toByteString(value, "Header value");
    let start = 0;
    let end = s.length;
    while (start < end && isHttpWhitespace(charCodeAt(s, start))) start++;
    while (end > start && isHttpWhitespace(charCodeAt(s, end - 1))) end--;
    const normalized = slice(s, start, end);
    for (let i = 0; i < normalized.length; i++) {
      const c = charCodeAt(normalized, i);
      if (c === 0 || c === 0x0a || c === 0x0d) throw new TypeErrorCtor(`Invalid header value: "${normalized}"`);
    }
    return normalized;
  }

  // The values of the lower-cased `name` in a header list joined by ", " (the standard's "get"), or
  // null.
  function combinedValue(list, name) {
    let value = null;
    for (let i = 0; i < list.length; i++) {
      if (list[i][0] === name) value = value === null ? list[i][1] : value + ", " + list[i][1];
    }
    return value;
  }

  function copyList(list) {
    const copy = new ArrayCtor(list.length);
    for (let i = 0; i < list.length; i++) copy[i] = list[i];
    return copy;
  }

  const compareNames = (a, b) => (a[0] < b[0] ? -1 : a[0] > b[0] ? 1 : 0);

  // The spec's "sort and combine": lower-cased names in order, values of one name joined by ", ",
  // except Set-Cookie, whose values stay separate.
  function sortAndCombine(list) {
    const sorted = copyList(list);
    ArrayPrototypeSort(sorted, compareNames);
    const out = [];
    for (let i = 0; i < sorted.length; i++) {
      const name = sorted[i][0];
      const value = sorted[i][1];
      const last = out.length > 0 ? out[out.length - 1] : null;
      if (last !== null && last[0] === name && name !== "set-cookie") last[1] += ", " + value;
      else push(out, [name, value]);
    }
    return out;
  }

  let newHeaders; // (list of [name, value], guard): Headers filled from trusted or checked pairs
  let headersList; // the [lowercase name, value] list of a Headers, in insertion order
  let headersGuard;
  let headersPairs;
  let addHeader; // appends a checked pair whatever the guard
  let isHeaders;

  class Headers {
    #list = [];
    #guard = "none"; // "immutable": the headers of fetched responses and incoming requests
    #sorted = null; // sortAndCombine(#list), dropped on every change

    static {
      newHeaders = (list, guard) => {
        const headers = new Headers();
        headers.#list = list;
        headers.#guard = guard;
        return headers;
      };
      headersList = (headers) => headers.#list;
      headersGuard = (headers) => headers.#guard;
      headersPairs = (headers) => headers.#pairs;
      addHeader = (headers, name, value) => headers.#add(name, value);
      isHeaders = (x) => isObject(x) && #list in x;
    }

    constructor(init = undefined) {
      WeakSetPrototypeAdd(platformObjects, this);
      if (init === undefined) return;
      if (!isObject(init)) throw new TypeErrorCtor("Headers: init must be an object, a sequence of pairs or a record.");
      const pairs = pairsFromInit(init, (x) => toByteString(x, "Header"), "Headers");
      for (let i = 0; i < pairs.length; i++) this.#add(headerName(pairs[i][0]), headerValue(pairs[i][1]));
    }

    #add(name, value) {
      this.#sorted = null;
      push(this.#list, [name, value]);
    }

    #willChange() {
      if (this.#guard === "immutable") throw new TypeErrorCtor("Can't modify immutable headers.");
      this.#sorted = null;
    }

    get #pairs() {
      if (this.#sorted === null) this.#sorted = sortAndCombine(this.#list);
      return this.#sorted;
    }

    append(name, value) {
      requireArgs(arguments.length, 2, "Headers.append");
      const key = headerName(name);
      const val = headerValue(value);
      this.#willChange();
      this.#add(key, val);
    }

    delete(name) {
      requireArgs(arguments.length, 1, "Headers.delete");
      const key = headerName(name);
      this.#willChange();
      this.#list = filterPairs(this.#list, (pair) => pair[0] !== key);
    }

    get(name) {
      requireArgs(arguments.length, 1, "Headers.get");
      return combinedValue(this.#list, headerName(name));
    }

    getSetCookie() {
      const list = this.#list;
      const values = [];
      for (let i = 0; i < list.length; i++) if (list[i][0] === "set-cookie") push(values, list[i][1]);
      return values;
    }

    has(name) {
      requireArgs(arguments.length, 1, "Headers.has");
      const key = headerName(name);
      const list = this.#list;
      for (let i = 0; i < list.length; i++) if (list[i][0] === key) return true;
      return false;
    }

    set(name, value) {
      requireArgs(arguments.length, 2, "Headers.set");
      const key = headerName(name);
      const val = headerValue(value);
      this.#willChange();
      let found = false;
      this.#list = filterPairs(this.#list, (pair) => {
        if (pair[0] !== key) return true;
        if (found) return false;
        found = true;
        pair[1] = val;
        return true;
      });
      if (!found) this.#add(key, val);
    }
  }
  defineTag(Headers.prototype, "Headers");
  definePairIterable(Headers, "Headers Iterator", headersPairs);

  const copyHeaderList = (headers) => {
    const list = headersList(headers);
    const copy = new ArrayCtor(list.length);
    for (let i = 0; i < list.length; i++) copy[i] = [list[i][0], list[i][1]];
    return copy;
  };

  // Headers from a HeadersInit; a Headers is copied directly, not through its iterator, which the
  // tenant may have replaced.
  const headersFromInit = (init) => (isHeaders(init) ? newHeaders(copyHeaderList(init), "none") : new Headers(init));

  // ---------------------------------------------------------------------------------------------
  // Bodies. A body is a record {bytes, stream, disturbed}: its bytes until its stream is asked
  // for (a body read whole, the common case, never makes one), and from then on a ReadableStream
  // (streams.js) that yields those bytes. A body made from a tenant's ReadableStream is that
  // stream from the start.

  const streams = hooks.streams;

  // Blob, File and FormData are forms.js's, evaluated after this file; it installs these hooks
  // (installForms below) before any tenant code runs: `extract(init)` gives {body, type} for a
  // Blob or FormData body (else null), `blobFromBody(bytes, contentType)` and
  // `formDataFromBody(bytes, contentType)` are the Body mixin's blob() and formData() once the
  // bytes are read.
  let forms = null;

  // `bytes` always spans its whole ArrayBuffer, so arrayBuffer() can hand that buffer out.
  const newBody = (bytes) => ({ __proto__: null, bytes, stream: null, disturbed: false });
  const streamBody = (stream) => ({ __proto__: null, bytes: null, stream, disturbed: false });

  function unusable(body) {
    if (body === null) return false;
    if (body.stream !== null) return streams.isDisturbed(body.stream) || streams.isLocked(body.stream);
    return body.disturbed;
  }

  function isBodyUsed(body) {
    if (body === null) return false;
    return body.stream !== null ? streams.isDisturbed(body.stream) : body.disturbed;
  }

  function usedError() {
    return new TypeErrorCtor("Body has already been used. It can only be used once. Use tee() first if you need to read it twice.");
  }

  // The body's stream, made from its bytes the first time it is asked for.
  function bodyStream(body) {
    if (body.stream !== null) return body.stream;
    let bytes = body.bytes;
    body.bytes = null;
    const stream = streams.createReadableByteStream(
      () => undefined,
      () => {
        const chunk = bytes;
        bytes = null;
        if (chunk !== null && TypedArrayGetLength(chunk) > 0) streams.byteControllerEnqueue(stream.controller, chunk);
        streams.byteControllerClose(stream.controller);
        return PromiseResolve(undefined);
      },
      () => {
        bytes = null;
        return PromiseResolve(undefined);
      },
    );
    body.stream = stream;
    if (body.disturbed) {
      // Read whole already: as if through this stream, which that left disturbed and locked.
      stream.disturbed = true;
      streams.acquireDefaultReader(stream);
    }
    return stream;
  }

  // Every chunk of a stream, read to its end, as one Uint8Array (the fetch standard's "fully read");
  // the promise settles with {bytes}, never with the array itself.
  async function readAllBytes(stream) {
    const reader = streams.acquireDefaultReader(stream);
    const chunks = [];
    let total = 0;
    for (;;) {
      // Each chunk arrives wrapped in a record without a prototype: resolving a promise with the
      // chunk itself would look up `then` on it, which tenant code may have planted.
      const step = await new PromiseCtor((resolve, reject) =>
        streams.defaultReaderRead(reader, {
          __proto__: null,
          chunk: (chunk) => resolve({ __proto__: null, chunk }),
          close: () => resolve(null),
          error: reject,
        }),
      );
      if (step === null) break;
      const chunk = step.chunk;
      if (TypedArrayGetTag(chunk) !== "Uint8Array") {
        throw new TypeErrorCtor("A body's stream may only yield Uint8Array chunks.");
      }
      push(chunks, chunk);
      total += TypedArrayGetLength(chunk);
    }
    // The reader is kept: a body read to its end stays locked, as fetch has it.
    if (chunks.length === 1 && TypedArrayGetByteOffset(chunks[0]) === 0 &&
        TypedArrayGetByteLength(chunks[0]) === ArrayBufferGetByteLength(TypedArrayGetBuffer(chunks[0]))) {
      return { __proto__: null, bytes: chunks[0] };
    }
    const out = new Uint8ArrayCtor(total);
    let at = 0;
    for (let i = 0; i < chunks.length; i++) {
      TypedArrayPrototypeSet(out, chunks[i], at);
      at += TypedArrayGetLength(chunks[i]);
    }
    return { __proto__: null, bytes: out };
  }

  // Consumes a body: {bytes}, read through its stream when it has one. (The bytes come wrapped,
  // so settling the promise never looks up a tenant's `then` on them.)
  async function consumeBody(body) {
    if (body === null) return { __proto__: null, bytes: new Uint8ArrayCtor(0) };
    if (unusable(body)) throw usedError();
    if (body.stream !== null) return readAllBytes(body.stream);
    const bytes = body.bytes;
    body.bytes = new Uint8ArrayCtor(0);
    body.disturbed = true;
    return { __proto__: null, bytes };
  }

  // Takes a body's bytes when it has no stream yet (a structured clone must be made at once).
  function takeBytes(body) {
    if (unusable(body)) throw usedError();
    if (body.stream !== null) {
      throw new TypeErrorCtor(
        "A Request or Response whose body is a ReadableStream cannot be sent this way; read its body first (await arrayBuffer()).",
      );
    }
    const bytes = body.bytes;
    body.bytes = new Uint8ArrayCtor(0);
    body.disturbed = true;
    return bytes;
  }

  // A copy of a body for clone(): the bytes copied, or the stream teed (this body keeps one branch).
  function cloneBody(body) {
    if (body === null) return null;
    if (body.stream === null) return newBody(copyBytes(body.bytes));
    const branches = streams.readableTee(body.stream, true);
    body.stream = branches[0];
    return streamBody(branches[1]);
  }

  // https://fetch.spec.whatwg.org/#concept-bodyinit-extract; returns {body, type}.
  function extractBody(init) {
    const formBody = forms.extract(init);
    if (formBody !== null) return formBody;
    if (streams.isReadableStream(init)) {
      const stream = streams.readableRecord(init);
      if (streams.isDisturbed(stream) || streams.isLocked(stream)) {
        throw new TypeErrorCtor("The ReadableStream given as a body is locked or has been read from.");
      }
      return { body: streamBody(stream), type: null };
    }
    if (isURLSearchParams(init)) {
      return {
        body: newBody(utf8Encode(serializeForm(searchParamsList(init)))),
        type: "application/x-www-form-urlencoded;charset=UTF-8",
      };
    }
    const bytes = bufferSourceBytes(init);
    if (bytes !== null) return { body: newBody(copyBytes(bytes)), type: null };
    return { body: newBody(utf8Encode(toUSV(init))), type: "text/plain;charset=UTF-8" };
  }

  // A Blob's type may have spaces around it (" image/gif "), which the header loses, as append does.
  function addContentType(headers, type) {
    if (type === null) return;
    const list = headersList(headers);
    for (let i = 0; i < list.length; i++) if (list[i][0] === "content-type") return;
    addHeader(headers, "content-type", headerValue(type));
  }

  // The Body mixin, shared by Request and Response. `inner` is the object's internal record.
  function defineBodyMembers(Class, innerOf) {
    defineMembers(Class.prototype, {
      get body() {
        const body = innerOf(this).body;
        return body === null ? null : bodyStream(body).object;
      },
      get bodyUsed() {
        return isBodyUsed(innerOf(this).body);
      },
      async arrayBuffer() {
        return TypedArrayGetBuffer((await consumeBody(innerOf(this).body)).bytes);
      },
      async bytes() {
        return (await consumeBody(innerOf(this).body)).bytes;
      },
      async text() {
        return decodeUtf8((await consumeBody(innerOf(this).body)).bytes, true);
      },
      async json() {
        return JSONParse(decodeUtf8((await consumeBody(innerOf(this).body)).bytes, true));
      },
      // The content type is read once the bytes are, as the standard's "consume body" does.
      async blob() {
        const inner = innerOf(this);
        const bytes = (await consumeBody(inner.body)).bytes;
        return forms.blobFromBody(bytes, combinedValue(headersList(inner.headers), "content-type"));
      },
      async formData() {
        const inner = innerOf(this);
        const bytes = (await consumeBody(inner.body)).bytes;
        return forms.formDataFromBody(bytes, combinedValue(headersList(inner.headers), "content-type"));
      },
    });
  }

  // ---------------------------------------------------------------------------------------------
  // Request

  const NORMALIZED_METHODS = ["DELETE", "GET", "HEAD", "OPTIONS", "POST", "PUT"];
  const FORBIDDEN_METHODS = ["CONNECT", "TRACE", "TRACK"];
  const REDIRECT_MODES = ["follow", "error", "manual"];

  const includes = (list, value) => {
    for (let i = 0; i < list.length; i++) if (list[i] === value) return true;
    return false;
  };

  function normalizeMethod(value) {
    const method = toByteString(value, "Method");
    if (!isToken(method)) throw new TypeErrorCtor(`Invalid HTTP method: ${method}`);
    const upper = asciiUpper(method);
    if (includes(FORBIDDEN_METHODS, upper)) throw new TypeErrorCtor(`Forbidden HTTP method: ${method}`);
    return includes(NORMALIZED_METHODS, upper) ? upper : method;
  }

  let requestInner;
  let isRequest;
  let requestSignal;

  class Request {
    #inner; // {method, url, headers, redirect, body, cf}
    #signal = null; // what `init.signal` (or the input request's) says; `signal` follows it

    static {
      requestInner = (request) => request.#inner;
      isRequest = (x) => isObject(x) && #inner in x;
      requestSignal = (request) => request.#signal;
    }

    constructor(input, init = undefined) {
      requireArgs(arguments.length, 1, "Request");
      WeakSetPrototypeAdd(platformObjects, this);
      if (input === INTERNAL) {
        this.#inner = init;
        return;
      }
      const source = isRequest(input) ? input.#inner : null;
      const url = source !== null ? source.url : parseOrThrow(input)[HREF];
      const options = toDict(init, "Request");
      const bodyInit = options.body;
      const headersInit = options.headers;
      const method = options.method === undefined ? (source?.method ?? "GET") : normalizeMethod(options.method);
      let redirect = source?.redirect ?? "follow";
      if (options.redirect !== undefined) {
        redirect = toStr(options.redirect);
        if (!includes(REDIRECT_MODES, redirect)) throw new TypeErrorCtor(`Invalid redirect mode: ${redirect}`);
      }
      let headers;
      if (headersInit !== undefined) headers = headersFromInit(headersInit);
      else if (source !== null) headers = newHeaders(copyHeaderList(source.headers), "none");
      else headers = new Headers();
      const hasInitBody = bodyInit !== undefined && bodyInit !== null;
      const inputBody = source?.body ?? null;
      if ((hasInitBody || inputBody !== null) && (method === "GET" || method === "HEAD")) {
        throw new TypeErrorCtor("Request with GET/HEAD method cannot have body.");
      }
      let body = null;
      if (hasInitBody) {
        const extracted = extractBody(bodyInit);
        body = extracted.body;
        addContentType(headers, extracted.type);
      } else if (inputBody !== null) {
        // The new request takes over the input's body, which counts as used from now on.
        if (unusable(inputBody)) throw usedError();
        if (inputBody.stream === null) {
          body = newBody(inputBody.bytes);
          inputBody.bytes = new Uint8ArrayCtor(0);
          inputBody.disturbed = true;
        } else {
          body = streamBody(streams.proxy(inputBody.stream));
        }
      }
      // Cloudflare's `cf`: what the platform says about an incoming request (the host's dict), or
      // the options an outbound one carries; kept as given.
      const cf = options.cf !== undefined ? options.cf : source?.cf;
      this.#inner = { method, url, headers, redirect, body, cf };
      const signal = options.signal !== undefined ? options.signal : (isRequest(input) ? input.#signal : null);
      if (signal !== null && !events.isSignal(signal)) {
        throw new TypeErrorCtor("Failed to construct 'Request': member signal is not of type AbortSignal.");
      }
      if (signal !== null) this.#signal = events.follow(signal);
    }

    // A signal that aborts when the one the request was made with does (one that never aborts
    // for a request made without one).
    get signal() {
      if (this.#signal === null) this.#signal = events.newSignal();
      return this.#signal;
    }

    get method() {
      return this.#inner.method;
    }

    get cf() {
      return this.#inner.cf;
    }

    get url() {
      return this.#inner.url;
    }

    get headers() {
      return this.#inner.headers;
    }

    get redirect() {
      return this.#inner.redirect;
    }

    clone() {
      const inner = this.#inner;
      if (unusable(inner.body)) throw new TypeErrorCtor("Request.clone: the body has already been used.");
      const headers = inner.headers;
      const clone = new Request(INTERNAL, {
        method: inner.method,
        url: inner.url,
        headers: newHeaders(copyHeaderList(headers), headersGuard(headers)),
        redirect: inner.redirect,
        body: cloneBody(inner.body),
        cf: inner.cf,
      });
      if (this.#signal !== null) clone.#signal = events.follow(this.#signal);
      return clone;
    }
  }
  defineTag(Request.prototype, "Request");
  defineBodyMembers(Request, requestInner);

  // ---------------------------------------------------------------------------------------------
  // Response

  const NULL_BODY_STATUSES = [101, 103, 204, 205, 304];
  const REDIRECT_STATUSES = [301, 302, 303, 307, 308];

  // WebIDL unsigned short.
  function toUnsignedShort(value) {
    const n = MathTrunc(NumberCtor(value));
    return NumberIsFinite(n) ? ((n % 0x10000) + 0x10000) % 0x10000 : 0;
  }

  function isReasonPhrase(s) {
    for (let i = 0; i < s.length; i++) {
      const c = charCodeAt(s, i);
      if (!(c === 0x09 || (c >= 0x20 && c !== 0x7f))) return false;
    }
    return true;
  }

  let responseInner;
  let isResponse;

  class Response {
    #inner; // {type, status, statusText, url, redirected, headers, body}

    static {
      responseInner = (response) => response.#inner;
      isResponse = (x) => isObject(x) && #inner in x;
    }

    constructor(body = null, init = undefined) {
      WeakSetPrototypeAdd(platformObjects, this);
      if (body === INTERNAL) {
        this.#inner = init;
        return;
      }
      const extract = body === null || body === undefined ? null : () => extractBody(body);
      this.#inner = initializeResponse(toDict(init, "Response"), extract);
    }

    static error() {
      return new Response(INTERNAL, {
        type: "error", status: 0, statusText: "", url: "", redirected: false,
        headers: newHeaders([], "immutable"), body: null,
      });
    }

    static redirect(url, status = 302) {
      requireArgs(arguments.length, 1, "Response.redirect");
      const location = parseOrThrow(url)[HREF];
      const code = toUnsignedShort(status);
      if (!includes(REDIRECT_STATUSES, code)) throw new RangeErrorCtor(`Invalid redirect status: ${code}`);
      return new Response(INTERNAL, {
        type: "default", status: code, statusText: "", url: "", redirected: false,
        headers: newHeaders([["location", location]], "immutable"), body: null,
      });
    }

    static json(data, init = undefined) {
      requireArgs(arguments.length, 1, "Response.json");
      const text = JSONStringify(data);
      if (text === undefined) throw new TypeErrorCtor("Response.json: the data is not JSON serializable.");
      const extract = () => ({ body: newBody(utf8Encode(text)), type: "application/json" });
      return new Response(INTERNAL, initializeResponse(toDict(init, "Response.json"), extract));
    }

    get type() {
      return this.#inner.type;
    }

    get url() {
      return this.#inner.url;
    }

    get redirected() {
      return this.#inner.redirected;
    }

    get status() {
      return this.#inner.status;
    }

    get ok() {
      return this.#inner.status >= 200 && this.#inner.status <= 299;
    }

    get statusText() {
      return this.#inner.statusText;
    }

    get headers() {
      return this.#inner.headers;
    }

    clone() {
      const inner = this.#inner;
      if (unusable(inner.body)) throw new TypeErrorCtor("Response.clone: the body has already been used.");
      return new Response(INTERNAL, {
        type: inner.type, status: inner.status, statusText: inner.statusText, url: inner.url,
        redirected: inner.redirected, headers: newHeaders(copyHeaderList(inner.headers), headersGuard(inner.headers)),
        body: cloneBody(inner.body),
      });
    }
  }
  defineTag(Response.prototype, "Response");
  defineBodyMembers(Response, responseInner);

  // https://fetch.spec.whatwg.org/#initialize-a-response; `extract` gives the body as {body, type}
  // once the init has been checked, so a refused init leaves a body stream it was given unlocked.
  function initializeResponse(options, extract) {
    const status = options.status === undefined ? 200 : toUnsignedShort(options.status);
    if (status < 200 || status > 599) {
      throw new RangeErrorCtor(`Response: the status provided (${status}) is outside the range [200, 599].`);
    }
    const statusText = options.statusText === undefined ? "" : toByteString(options.statusText, "Status text");
    if (!isReasonPhrase(statusText)) throw new TypeErrorCtor(`Invalid status text: "${statusText}"`);
    const headers = options.headers === undefined ? new Headers() : headersFromInit(options.headers);
    let body = null;
    if (extract !== null) {
      if (includes(NULL_BODY_STATUSES, status)) {
        throw new TypeErrorCtor(`Response with null body status (${status}) cannot have body.`);
      }
      const extracted = extract();
      body = extracted.body;
      addContentType(headers, extracted.type);
    }
    return { type: "default", status, statusText, url: "", redirected: false, headers, body };
  }

  // ---------------------------------------------------------------------------------------------
  // structuredClone (https://html.spec.whatwg.org/#safe-passing-of-structured-data), serializing
  // and deserializing in one pass. A Proxy is not detected: it clones through its traps as an
  // ordinary object would.

  const ERROR_NAMES = ["Error", "EvalError", "RangeError", "ReferenceError", "SyntaxError", "TypeError", "URIError"];

  // Kinds of built-in objects, found by the first of these prototypes on an object's chain (starting
  // with the object itself, as Number.prototype is a Number). A cloneable kind is then confirmed by
  // its brand, so an ordinary object that only inherits from Map.prototype clones as a plain object.
  const KIND_BY_PROTOTYPE = new MapCtor();
  for (const [Ctor, kind] of [
    [Boolean, "Boolean"], [Number, "Number"], [String, "String"], [BigInt, "BigInt"], [Symbol, "Symbol"],
    [Date, "Date"], [RegExp, "RegExp"], [ArrayBuffer, "ArrayBuffer"], [DataView, "DataView"], [Map, "Map"],
    [Set, "Set"], [DOMException, "DOMException"], [Error, "Error"], [Promise, "Promise"], [WeakMap, "WeakMap"],
    [WeakSet, "WeakSet"], [WeakRef, "WeakRef"], [FinalizationRegistry, "FinalizationRegistry"],
    [globalThis.SharedArrayBuffer, "SharedArrayBuffer"],
  ]) {
    if (Ctor !== undefined) MapPrototypeSet(KIND_BY_PROTOTYPE, Ctor.prototype, kind);
  }

  const BRANDS = {
    __proto__: null,
    Boolean: BooleanPrototypeValueOf,
    Number: NumberPrototypeValueOf,
    String: StringPrototypeValueOf,
    BigInt: BigIntPrototypeValueOf,
    Date: DatePrototypeGetTime,
    RegExp: (x) => {
      if (x === RegExpPrototype) throw new TypeErrorCtor("RegExp.prototype is an ordinary object");
      RegExpGetSource(x);
    },
    ArrayBuffer: ArrayBufferGetByteLength,
    DataView: DataViewGetBuffer,
    Map: MapPrototypeGetSize,
    Set: SetPrototypeGetSize,
    DOMException: DOMExceptionGetName,
  };

  function kindOf(value) {
    if (ArrayIsArray(value)) return "Array";
    if (TypedArrayGetTag(value) !== undefined) return "TypedArray";
    for (let proto = value; proto !== null; proto = ObjectGetPrototypeOf(proto)) {
      const kind = MapPrototypeGet(KIND_BY_PROTOTYPE, proto);
      if (kind === undefined) continue;
      if (kind === "Error") return ErrorIsError(value) ? "Error" : "Object";
      const brand = BRANDS[kind];
      if (brand === undefined) return kind; // not cloneable anyway
      try {
        brand(value); // throws unless value really is one
        return kind;
      } catch {
        return "Object";
      }
    }
    return ErrorIsError(value) ? "Error" : "Object"; // an error whose prototype was replaced
  }

  // The serializable platform objects other scripts define (Blob and File in forms.js, CryptoKey in
  // subtle.js): each function gives the clone of a value of its kind, or null for any other value.
  const serializables = [];

  const dataCloneError = (what) => new DOMExceptionCtor(`${what} could not be cloned.`, "DataCloneError");

  function structuredClone(value, options = undefined) {
    requireArgs(arguments.length, 1, "structuredClone");
    const memory = new MapCtor();
    const transfer = transferList(toDict(options, "structuredClone").transfer, memory);
    const clone = cloneGraph(value, memory);
    for (let i = 0; i < transfer.length; i++) ArrayBufferPrototypeTransfer(transfer[i]);
    return clone;
  }
  // A teed body's second branch gets copies of the chunks, as clone() asks.
  streams.setStructuredClone((chunk) => structuredClone(chunk));

  // Transferred ArrayBuffers are copied into the clone and then detached, which is what a transfer
  // looks like from JavaScript.
  function transferList(transfer, memory) {
    if (transfer === undefined) return [];
    const method = isObject(transfer) ? transfer[SymbolIterator] : undefined;
    if (typeof method !== "function") throw new TypeErrorCtor("structuredClone: transfer must be a sequence.");
    const list = iterableToList(transfer, method);
    for (let i = 0; i < list.length; i++) {
      const buffer = list[i];
      if (!isArrayBuffer(buffer)) throw dataCloneError("Value in the transfer list");
      if (MapPrototypeHas(memory, buffer) || ArrayBufferGetDetached(buffer)) {
        throw dataCloneError("An ArrayBuffer transferred twice or detached");
      }
      MapPrototypeSet(memory, buffer, cloneArrayBuffer(buffer));
    }
    return list;
  }

  function cloneArrayBuffer(buffer) {
    if (ArrayBufferGetDetached(buffer)) throw dataCloneError("A detached ArrayBuffer");
    const length = ArrayBufferGetByteLength(buffer);
    const copy = ArrayBufferGetResizable(buffer)
      ? new ArrayBufferCtor(length, { __proto__: null, maxByteLength: ArrayBufferGetMaxByteLength(buffer) })
      : new ArrayBufferCtor(length);
    TypedArrayPrototypeSet(new Uint8ArrayCtor(copy), new Uint8ArrayCtor(buffer));
    return copy;
  }

  // Depth-first, in the order of the spec's recursion, but driven by an explicit stack of objects
  // whose contents are still to be copied: the native stack is small and data can nest deeply.
  function cloneGraph(root, memory) {
    const pending = [];
    const clone = cloneShallow(root, memory, pending);
    while (pending.length > 0) {
      const task = pending[pending.length - 1];
      if (task.index === task.items.length) pending.length -= 1;
      else task.next(task, memory, pending);
    }
    return clone;
  }

  // Copies a value, or starts the copy of a container: its contents are left as a task on `pending`.
  function cloneShallow(value, memory, pending) {
    if (typeof value === "symbol") throw dataCloneError(StringCtor(value));
    if (!isObject(value)) return value;
    if (MapPrototypeHas(memory, value)) return MapPrototypeGet(memory, value);
    for (let i = 0; i < serializables.length; i++) {
      const copy = serializables[i](value);
      if (copy !== null) {
        MapPrototypeSet(memory, value, copy);
        return copy;
      }
    }
    if (typeof value === "function" || WeakSetPrototypeHas(platformObjects, value) || isURL(value)) {
      throw dataCloneError(typeof value === "function" ? "A function" : "A platform object");
    }
    const kind = kindOf(value);
    let clone;
    let items = null; // a container's contents, copied by `next`
    let next;
    switch (kind) {
      case "Boolean":
        clone = ObjectCtor(BooleanPrototypeValueOf(value));
        break;
      case "Number":
        clone = ObjectCtor(NumberPrototypeValueOf(value));
        break;
      case "String":
        clone = ObjectCtor(StringPrototypeValueOf(value));
        break;
      case "BigInt":
        clone = ObjectCtor(BigIntPrototypeValueOf(value));
        break;
      case "Date":
        clone = new DateCtor(DatePrototypeGetTime(value));
        break;
      case "RegExp": {
        let flags = "";
        for (let i = 0; i < RegExpFlagGetters.length; i++) {
          if (RegExpFlagGetters[i][1](value)) flags += RegExpFlagGetters[i][0];
        }
        clone = new RegExpCtor(RegExpGetSource(value), flags);
        break;
      }
      case "ArrayBuffer":
        clone = cloneArrayBuffer(value);
        break;
      case "DataView":
      case "TypedArray":
        clone = cloneView(value, kind, memory, pending);
        break;
      case "Error": {
        clone = cloneError(value);
        const cause = ObjectGetOwnPropertyDescriptor(value, "cause");
        if (cause !== undefined && ObjectHasOwn(cause, "value")) {
          items = [cause.value];
          next = copyErrorCause;
        }
        break;
      }
      case "DOMException":
        clone = new DOMExceptionCtor(DOMExceptionGetMessage(value), DOMExceptionGetName(value));
        break;
      case "Map":
        clone = new MapCtor();
        items = [];
        MapPrototypeForEach(value, (v, k) => {
          push(items, k);
          push(items, v);
        });
        next = copyMapEntry;
        break;
      case "Set":
        clone = new SetCtor();
        items = [];
        SetPrototypeForEach(value, (v) => push(items, v));
        next = copySetItem;
        break;
      case "Array":
      case "Object":
        // Own enumerable string keys, listed now as the spec does: a getter deleting a later one skips it.
        clone = kind === "Array" ? new ArrayCtor(value.length) : {};
        items = ObjectKeys(value);
        next = copyProperty;
        break;
      default:
        throw dataCloneError(`#<${kind}>`);
    }
    MapPrototypeSet(memory, value, clone);
    if (items !== null) push(pending, { next, source: value, clone, items, index: 0, key: undefined });
    return clone;
  }

  function copyProperty(task, memory, pending) {
    const key = task.items[task.index++];
    if (ObjectHasOwn(task.source, key)) defineData(task.clone, key, cloneShallow(task.source[key], memory, pending));
  }

  // items holds key, value, key, value...; each key is copied (with all it holds) before its value.
  function copyMapEntry(task, memory, pending) {
    const item = cloneShallow(task.items[task.index], memory, pending);
    if (task.index++ % 2 === 0) task.key = item;
    else MapPrototypeSet(task.clone, task.key, item);
  }

  function copySetItem(task, memory, pending) {
    SetPrototypeAdd(task.clone, cloneShallow(task.items[task.index++], memory, pending));
  }

  // A view over the clone of its buffer, with the same offset and either the same length or, for
  // one that tracks a resizable buffer's length, tracking the clone's.
  function cloneView(value, kind, memory, pending) {
    const layout = viewLayout(value);
    if ((layout & VIEW_OUT_OF_BOUNDS) !== 0) throw dataCloneError("An ArrayBuffer view out of its buffer's bounds");
    const tracks = (layout & VIEW_TRACKS_LENGTH) !== 0;
    if (kind === "DataView") {
      const buffer = cloneShallow(DataViewGetBuffer(value), memory, pending);
      const offset = DataViewGetByteOffset(value);
      return tracks ? new DataViewCtor(buffer, offset) : new DataViewCtor(buffer, offset, DataViewGetByteLength(value));
    }
    const buffer = cloneShallow(TypedArrayGetBuffer(value), memory, pending);
    const Ctor = TypedArrayCtors[TypedArrayGetTag(value)];
    const offset = TypedArrayGetByteOffset(value);
    return tracks ? new Ctor(buffer, offset) : new Ctor(buffer, offset, TypedArrayGetLength(value));
  }

  // An error's cause (an own data property, read by cloneShallow) is cloned as any other value is,
  // after the error itself is in `memory`, so a cause may be an object holding the error.
  function copyErrorCause(task, memory, pending) {
    defineData(task.clone, "cause", cloneShallow(task.items[task.index++], memory, pending), false);
  }

  // Name (one of the standard error names, else "Error"), message and stack, as browsers keep them;
  // the message only from an own data property, as the HTML standard reads it.
  function cloneError(value) {
    const name = value.name;
    const clone = new ErrorCtors[includes(ERROR_NAMES, name) ? name : "Error"]();
    const message = ObjectGetOwnPropertyDescriptor(value, "message");
    if (message !== undefined && ObjectHasOwn(message, "value")) defineData(clone, "message", toStr(message.value), false);
    const stack = value.stack;
    if (typeof stack === "string") defineData(clone, "stack", stack, false);
    return clone;
  }

  // ---------------------------------------------------------------------------------------------
  // crypto (crypto.subtle is subtle.js's)

  const INTEGER_ARRAYS = [
    "Int8Array", "Uint8Array", "Uint8ClampedArray", "Int16Array", "Uint16Array", "Int32Array", "Uint32Array",
    "BigInt64Array", "BigUint64Array",
  ];
  const HEX_LOWER = "0123456789abcdef";

  // WebIDL's QuotaExceededError: a DOMException named so, with the quota and the amount asked for
  // when they are known (null otherwise).
  function checkQuotaMember(value) {
    if (value === null) return;
    if (!NumberIsFinite(value)) throw new TypeErrorCtor("QuotaExceededError: quota and requested must be finite.");
    if (value < 0) throw new RangeErrorCtor("QuotaExceededError: quota and requested cannot be negative.");
  }

  class QuotaExceededError extends DOMExceptionCtor {
    #quota;
    #requested;

    constructor(message = "", options = undefined) {
      super(message, "QuotaExceededError");
      const dict = toDict(options, "QuotaExceededError");
      const quota = dict.quota === undefined ? null : NumberCtor(dict.quota);
      const requested = dict.requested === undefined ? null : NumberCtor(dict.requested);
      checkQuotaMember(quota);
      checkQuotaMember(requested);
      if (quota !== null && requested !== null && requested < quota) {
        throw new RangeErrorCtor("QuotaExceededError: requested cannot be less than quota.");
      }
      this.#quota = quota;
      this.#requested = requested;
    }

    get quota() {
      return this.#quota;
    }

    get requested() {
      return this.#requested;
    }
  }

  class Crypto {
    constructor(token) {
      if (token !== INTERNAL) throw new TypeErrorCtor("Illegal constructor");
      WeakSetPrototypeAdd(platformObjects, this);
    }

    getRandomValues(array) {
      requireArgs(arguments.length, 1, "Crypto.getRandomValues");
      const tag = TypedArrayGetTag(array);
      if (tag === undefined && !isDataView(array)) {
        throw new TypeErrorCtor("Crypto.getRandomValues: the argument is not an ArrayBufferView.");
      }
      if (!includes(INTEGER_ARRAYS, tag)) {
        throw new DOMExceptionCtor("The data provided is not an integer-typed array.", "TypeMismatchError");
      }
      const length = TypedArrayGetByteLength(array);
      if (length > 65536) {
        throw new QuotaExceededError(
          `The ArrayBufferView's byte length (${length}) exceeds the number of bytes of entropy available via this API (65536).`,
        );
      }
      if (length > 0) randomFill(new Uint8ArrayCtor(TypedArrayGetBuffer(array), TypedArrayGetByteOffset(array), length));
      return array;
    }

    randomUUID() {
      const bytes = new Uint8ArrayCtor(16);
      randomFill(bytes);
      bytes[6] = (bytes[6] & 0x0f) | 0x40; // version 4
      bytes[8] = (bytes[8] & 0x3f) | 0x80; // RFC 4122 variant
      let out = "";
      for (let i = 0; i < 16; i++) {
        if (i === 4 || i === 6 || i === 8 || i === 10) out += "-";
        out += HEX_LOWER[bytes[i] >> 4] + HEX_LOWER[bytes[i] & 0xf];
      }
      return out;
    }
  }
  defineTag(Crypto.prototype, "Crypto");

  // performance: an EventTarget, as the High Resolution Time standard makes it, over shim.c's
  // clock (which stands still while JavaScript runs). Workers report a time origin of 0.
  const performanceNow = globalThis.performance.now;
  class Performance extends globalThis.EventTarget {
    constructor(token) {
      if (token !== INTERNAL) throw new TypeErrorCtor("Illegal constructor");
      super();
    }

    get timeOrigin() {
      return 0;
    }

    now() {
      return performanceNow();
    }

    toJSON() {
      return { timeOrigin: this.timeOrigin };
    }
  }
  defineTag(Performance.prototype, "Performance");

  // ---------------------------------------------------------------------------------------------
  // Globals, and the wire helpers for glue.js

  defineGlobal("TextEncoder", TextEncoder);
  defineGlobal("TextDecoder", TextDecoder);
  defineGlobal("TextEncoderStream", TextEncoderStream);
  defineGlobal("TextDecoderStream", TextDecoderStream);
  defineGlobal("URL", URL);
  defineGlobal("URLSearchParams", URLSearchParams);
  defineGlobal("Headers", Headers);
  defineGlobal("Request", Request);
  defineGlobal("Response", Response);
  defineGlobal("structuredClone", structuredClone);
  defineGlobal("QuotaExceededError", QuotaExceededError);
  defineGlobal("Crypto", Crypto);
  defineGlobal("crypto", new Crypto(INTERNAL));
  defineGlobal("Performance", Performance);
  defineGlobal("performance", new Performance(INTERNAL));
  // What Workers report: `self` is the global scope, and `navigator.userAgent` names the runtime.
  defineGlobal("self", globalThis);
  class Navigator {
    get userAgent() {
      return "Cloudflare-Workers";
    }
  }
  defineTag(Navigator.prototype, "Navigator");
  defineGlobal("Navigator", Navigator);
  defineGlobal("navigator", new Navigator());

  // Requests and responses that come from the host have immutable headers, as in Workers.
  function headersFromWire(pairs) {
    const headers = newHeaders([], "immutable");
    if (pairs === null || pairs === undefined) return headers;
    for (let i = 0; i < pairs.length; i++) addHeader(headers, headerName(pairs[i][0]), headerValue(pairs[i][1]));
    return headers;
  }

  const bodyFromWire = (body) => (body === null || body === undefined ? null : newBody(base64ToBytes(toStr(body))));

  // A message as a record: {method, url, headers: [[name, value], ...], body, cf?} or {status,
  // statusText, headers, body}, the body's bytes (or null) taken, so the message is consumed.
  function requestRecord(request, bytes = undefined) {
    const inner = requestInner(request);
    const body = bytes !== undefined ? bytes : inner.body === null ? null : takeBytes(inner.body);
    const record = { method: inner.method, url: inner.url, headers: copyHeaderList(inner.headers), body };
    if (inner.cf !== undefined) record.cf = inner.cf;
    return record;
  }

  function responseRecord(response, bytes = undefined) {
    const inner = responseInner(response);
    const body = bytes !== undefined ? bytes : inner.body === null ? null : takeBytes(inner.body);
    return { status: inner.status, statusText: inner.statusText, headers: copyHeaderList(inner.headers), body };
  }

  function withBase64Body(record) {
    if (record.body !== null) record.body = bytesToBase64(record.body);
    return record;
  }

  // A message from a record (the host's wire form or a clone's) and its body, already made.
  function requestFromRecord(record, body) {
    return new Request(INTERNAL, {
      method: normalizeMethod(toStr(record.method)),
      url: parseOrThrow(record.url)[HREF],
      headers: headersFromWire(record.headers),
      redirect: "follow",
      body,
      cf: record.cf ?? undefined,
    });
  }

  function responseFromRecord(record, body) {
    return new Response(INTERNAL, {
      type: "default",
      status: toUnsignedShort(record.status),
      statusText: toByteString(record.statusText ?? "", "Status text"),
      url: record.url === undefined ? "" : toUSV(record.url),
      redirected: !!record.redirected,
      headers: headersFromWire(record.headers),
      body,
    });
  }

  // ---------------------------------------------------------------------------------------------
  // fetch()'s redirects, as the fetch standard's "HTTP-redirect fetch" and Workers have them: a
  // redirect is followed by default (at most 20), "manual" hands the 3xx response back, "error"
  // rejects. Every hop is a request of its own through `send` (the host's outbound handler), so
  // the platform's policy sees each target.

  const MAX_REDIRECTS = 20;
  const REQUEST_BODY_HEADERS = ["content-encoding", "content-language", "content-location", "content-type"];

  function wireHeader(pairs, name) {
    for (let i = 0; i < pairs.length; i++) if (pairs[i][0] === name) return pairs[i][1];
    return null;
  }

  function withoutHeaders(pairs, names) {
    const kept = [];
    for (let i = 0; i < pairs.length; i++) if (!includes(names, pairs[i][0])) push(kept, pairs[i]);
    return kept;
  }

  // The request of the next hop: a 303 (or a 301/302 answering a POST) turns into a GET without a
  // body, and a hop to another origin drops the credentials meant for the first.
  function redirectedWire(wire, status, url) {
    const next = { method: wire.method, url, headers: wire.headers, body: wire.body };
    if (wire.cf !== undefined) next.cf = wire.cf;
    const method = wire.method;
    if ((status === 303 && method !== "GET" && method !== "HEAD") || ((status === 301 || status === 302) && method === "POST")) {
      next.method = "GET";
      next.body = null;
      next.headers = withoutHeaders(next.headers, REQUEST_BODY_HEADERS);
    }
    if (urlSerializedOrigin(parseOrThrow(wire.url)) !== urlSerializedOrigin(parseOrThrow(url))) {
      next.headers = withoutHeaders(next.headers, ["authorization"]);
    }
    return next;
  }

  async function fetchFollowingRedirects(request, send) {
    const inner = requestInner(request);
    const mode = inner.redirect;
    const bytes = inner.body === null ? null : (await consumeBody(inner.body)).bytes;
    let wire = withBase64Body(requestRecord(request, bytes));
    wire.url = urlWithoutFragment(parseOrThrow(wire.url)); // a fragment never goes on the wire
    for (let redirects = 0; ; redirects++) {
      const answer = send(wire);
      const location = includes(REDIRECT_STATUSES, answer.status) ? wireHeader(answer.headers ?? [], "location") : null;
      if (location === null || mode === "manual") {
        answer.url = wire.url;
        answer.redirected = redirects > 0;
        return responseFromRecord(answer, bodyFromWire(answer.body));
      }
      if (mode === "error") {
        throw new TypeErrorCtor(`fetch failed: ${wire.url} answered with a redirect, and the request's redirect mode is "error".`);
      }
      if (redirects === MAX_REDIRECTS) {
        throw new TypeErrorCtor(`fetch failed: more than ${MAX_REDIRECTS} redirects (the last to ${location}).`);
      }
      const target = parseURL(location, wire.url);
      if (target === null) throw new TypeErrorCtor(`fetch failed: the redirect's Location "${location}" is not a valid URL.`);
      const scheme = urlScheme(target);
      if (scheme !== "http" && scheme !== "https") {
        throw new TypeErrorCtor(`fetch failed: a redirect to ${target[HREF]} leaves http: and https:.`);
      }
      wire = redirectedWire(wire, answer.status, urlWithoutFragment(target));
    }
  }

  return ObjectFreeze({
    __proto__: null,

    // fetch(request) with `send(wire) -> response wire` reaching the host once per hop.
    fetch: fetchFollowingRedirects,


    requestFromWire: (wire) => requestFromRecord(wire, bodyFromWire(wire.body)),

    // The AbortSignal a request was made with (followed), or null.
    requestSignal: (request) => requestSignal(request),

    // {status, statusText, headers: [[name, value], ...], body: base64 or null}; consumes the body.
    async responseToWire(response) {
      if (!isResponse(response)) {
        throw new TypeErrorCtor("Incorrect type for Promise: the Promise did not resolve to 'Response'.");
      }
      const inner = responseInner(response);
      const bytes = inner.body === null ? null : (await consumeBody(inner.body)).bytes;
      return withBase64Body(responseRecord(response, bytes));
    },

    // Also takes the optional `url` and `redirected` a fetched response reports.
    responseFromWire: (wire) => responseFromRecord(wire, bodyFromWire(wire.body)),

    // Request and Response as structured-clone values (clone.c): the same records with the body as
    // bytes. Sending one consumes its body, as passing it over Workers RPC does.
    requestToClone: (request) => requestRecord(request),
    requestFromClone: (record) => requestFromRecord(record, record.body === null ? null : newBody(record.body)),
    responseToClone: (response) => responseRecord(response),
    responseFromClone: (record) => responseFromRecord(record, record.body === null ? null : newBody(record.body)),

    isRequest,
    isResponse,

    // For glue.js: what setTimeout throws past the timer cap, as workerd's does.
    QuotaExceededError,

    // For forms.js, subtle.js and urlpattern.js (evaluated next).
    Crypto,
    INTERNAL,
    bufferSourceBytes,
    copyBytes,
    byteView,
    utf8Encode,
    utf8Decode: (bytes) => decodeUtf8(bytes, false),
    decodeUtf8,
    requireArgs,
    defineGlobal,
    defineTag,
    defineMembers,
    definePairIterable,
    iterableToList,
    isObject,
    toStr,
    toUSV,
    toDict,
    isToken,
    isHttpWhitespace,
    asciiLower,
    asciiUpper,
    parseFormBytes,
    urlPatternParts,
    filterPairs,
    firstValue,
    allValues,
    hasPair,
    setPair,
    // A ReadableStream (byte stream) that yields `bytes`, which it takes over.
    bytesStream: (bytes) => bodyStream(newBody(bytes)).object,
    newBody,
    // Marks an instance of a class defined elsewhere as a platform object structuredClone refuses.
    markPlatformObject: (object) => WeakSetPrototypeAdd(platformObjects, object),
    // Makes a platform object serializable: `clone(value)` is its clone, or null for other values.
    addSerializable: (clone) => push(serializables, clone),
    installForms(hooks) {
      if (forms !== null) throw new TypeErrorCtor("forms.js is installed already.");
      forms = hooks;
    },
  });
})
