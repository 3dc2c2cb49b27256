// Blob, File and FormData as Workers have them (the File API and the XHR standard's FormData;
// Workers have no <form> element, no FileReader and no blob: URLs), with what the fetch standard
// does with them: a Blob or FormData as a body, and the Body mixin's blob() and formData(), which
// parse application/x-www-form-urlencoded and multipart/form-data. shim.c evaluates this after
// web.js, whose helpers it takes and to which it hands its hooks (web.installForms).
//
// A Blob's bytes are immutable and never handed out: its methods return copies, so slices,
// Files made from it and structured clones share one byte store. Every built-in this file calls
// comes from primordials.js, and it never iterates its own arrays through the tenant-replaceable
// array iterator.
(function (primordials, natives, web) {
  "use strict";

  const {
    ArrayPrototypePush: push,
    DateNow,
    MathFloor,
    MathMax,
    MathMin,
    MathTrunc,
    NumberIsFinite,
    NumberIsNaN,
    ObjectFreeze,
    StringFromCharCode,
    StringPrototypeCharCodeAt: charCodeAt,
    StringPrototypeIndexOf,
    StringPrototypeSlice: slice,
    SymbolIterator,
    TypeErrorCtor,
    TypedArrayGetBuffer,
    TypedArrayGetLength,
    TypedArrayPrototypeIndexOf,
    TypedArrayPrototypeSet,
    Uint8ArrayCtor,
  } = primordials;
  const { randomFill } = natives;
  const {
    INTERNAL,
    bufferSourceBytes,
    copyBytes,
    byteView,
    utf8Encode,
    decodeUtf8,
    requireArgs,
    defineGlobal,
    defineTag,
    definePairIterable,
    iterableToList,
    isObject,
    toStr,
    toUSV,
    toDict,
    isToken,
    isHttpWhitespace,
    asciiLower,
    parseFormBytes,
    filterPairs,
    firstValue,
    allValues,
    hasPair,
    setPair,
    bytesStream,
    newBody,
    markPlatformObject,
  } = web;

  // ---------------------------------------------------------------------------------------------
  // WebIDL conversions the constructors and slice() need

  // A sequence<T> argument: an object with an @@iterator, read through it (the tenant's own
  // iterable), each item converted as it is read.
  function toSequence(value, convert, where) {
    if (!isObject(value)) throw new TypeErrorCtor(`${where}: the parts must be a sequence (an iterable object).`);
    const method = value[SymbolIterator];
    if (typeof method !== "function") {
      throw new TypeErrorCtor(`${where}: the parts must be a sequence (an iterable object).`);
    }
    return iterableToList(value, method, convert);
  }

  const TWO_63 = 2 ** 63;
  const TWO_64 = 2 ** 64;

  // WebIDL `long long`: NaN and infinities are 0, the rest truncated and wrapped to 64 bits.
  function toLongLong(value) {
    let x = +value;
    if (!NumberIsFinite(x)) return 0;
    x = MathTrunc(x) % TWO_64;
    if (x >= TWO_63) x -= TWO_64;
    else if (x < -TWO_63) x += TWO_64;
    return x === 0 ? 0 : x;
  }

  // WebIDL `[Clamp] long long`: clamped to the range, rounded half to even.
  function toClampedLongLong(value) {
    let x = +value;
    if (NumberIsNaN(x)) return 0;
    x = MathMin(MathMax(x, -TWO_63), TWO_63);
    const floor = MathFloor(x);
    const fraction = x - floor;
    x = fraction > 0.5 || (fraction === 0.5 && floor % 2 !== 0) ? floor + 1 : floor;
    return x === 0 ? 0 : x;
  }

  // ---------------------------------------------------------------------------------------------
  // Blob (https://w3c.github.io/FileAPI/#blob-section)

  // A type with any character outside U+0020..U+007E is dropped; the rest is lower-cased.
  function normalizeType(type) {
    for (let i = 0; i < type.length; i++) {
      const c = charCodeAt(type, i);
      if (c < 0x20 || c > 0x7e) return "";
    }
    return asciiLower(type);
  }

  // The EndingType enum: "native" turns every line break of the string parts into the platform's,
  // which for Workers (Linux) is "\n".
  function toEndings(value) {
    if (value === undefined) return "transparent";
    const endings = toStr(value);
    if (endings !== "transparent" && endings !== "native") {
      throw new TypeErrorCtor(`The provided value '${endings}' is not a valid enum value of type EndingType.`);
    }
    return endings;
  }

  function nativeLineEndings(s) {
    if (StringPrototypeIndexOf(s, "\r") === -1) return s;
    let out = "";
    for (let i = 0; i < s.length; i++) {
      if (s[i] !== "\r") out += s[i];
      else {
        out += "\n";
        if (s[i + 1] === "\n") i++;
      }
    }
    return out;
  }

  let isBlob;
  let blobBytes;
  let blobType;

  // A BlobPart (BufferSource, Blob or USVString), converted as WebIDL's union does: a Blob stays
  // itself, a BufferSource is its bytes (read when the parts are put together), anything else
  // becomes a string.
  function toBlobPart(value) {
    if (isBlob(value)) return value;
    const bytes = bufferSourceBytes(value);
    return bytes !== null ? bytes : toUSV(value);
  }

  // The parts' bytes, one after another, in a new store (https://w3c.github.io/FileAPI/#process-blob-parts).
  function processParts(parts, endings) {
    const pieces = [];
    let total = 0;
    for (let i = 0; i < parts.length; i++) {
      const part = parts[i];
      let bytes;
      if (typeof part === "string") bytes = utf8Encode(endings === "native" ? nativeLineEndings(part) : part);
      else if (isBlob(part)) bytes = blobBytes(part);
      else bytes = part;
      push(pieces, bytes);
      total += TypedArrayGetLength(bytes);
    }
    return concatBytes(pieces, total);
  }

  function concatBytes(pieces, total) {
    const out = new Uint8ArrayCtor(total);
    let at = 0;
    for (let i = 0; i < pieces.length; i++) {
      TypedArrayPrototypeSet(out, pieces[i], at);
      at += TypedArrayGetLength(pieces[i]);
    }
    return out;
  }

  // Where slice() starts or ends, from a position counted from the end when negative.
  function relativeIndex(value, size, fallback) {
    if (value === undefined) return fallback;
    const index = toClampedLongLong(value);
    return index < 0 ? MathMax(size + index, 0) : MathMin(index, size);
  }

  class Blob {
    #bytes; // never handed out nor changed, so slices and clones share it
    #type;

    static {
      isBlob = (x) => isObject(x) && #bytes in x;
      blobBytes = (blob) => blob.#bytes;
      blobType = (blob) => blob.#type;
    }

    constructor(blobParts = undefined, options = undefined) {
      if (blobParts === INTERNAL) {
        this.#bytes = options.bytes;
        this.#type = options.type;
        return;
      }
      const parts = blobParts === undefined ? [] : toSequence(blobParts, toBlobPart, "Blob");
      // Dictionary members are read in lexicographic order.
      const dict = toDict(options, "Blob");
      const endings = toEndings(dict.endings);
      const type = dict.type;
      this.#type = type === undefined ? "" : normalizeType(toStr(type));
      this.#bytes = processParts(parts, endings);
    }

    get size() {
      return TypedArrayGetLength(this.#bytes);
    }

    get type() {
      return this.#type;
    }

    slice(start = undefined, end = undefined, contentType = undefined) {
      const bytes = this.#bytes;
      const size = TypedArrayGetLength(bytes);
      const from = relativeIndex(start, size, 0);
      const to = relativeIndex(end, size, size);
      const type = contentType === undefined ? "" : normalizeType(toStr(contentType));
      return new Blob(INTERNAL, { bytes: byteView(bytes, from, MathMax(to, from)), type });
    }

    stream() {
      return bytesStream(copyBytes(this.#bytes));
    }

    async text() {
      return decodeUtf8(this.#bytes, true);
    }

    async arrayBuffer() {
      return TypedArrayGetBuffer(copyBytes(this.#bytes));
    }

    async bytes() {
      return copyBytes(this.#bytes);
    }
  }
  defineTag(Blob.prototype, "Blob");

  // ---------------------------------------------------------------------------------------------
  // File (https://w3c.github.io/FileAPI/#file-section)

  let isFile;
  let fileName;
  let fileLastModified;

  class File extends Blob {
    #name;
    #lastModified;

    static {
      isFile = (x) => isObject(x) && #name in x;
      fileName = (file) => file.#name;
      fileLastModified = (file) => file.#lastModified;
    }

    constructor(fileBits, fileName, options = undefined) {
      if (fileBits === INTERNAL) { // fileName is then the record {bytes, type, name, lastModified}
        super(INTERNAL, fileName);
        this.#name = fileName.name;
        this.#lastModified = fileName.lastModified;
        return;
      }
      requireArgs(arguments.length, 2, "File");
      const parts = toSequence(fileBits, toBlobPart, "File");
      const name = toUSV(fileName);
      // Dictionary members are read in lexicographic order.
      const dict = toDict(options, "File");
      const endings = toEndings(dict.endings);
      const lastModified = dict.lastModified === undefined ? DateNow() : toLongLong(dict.lastModified);
      const type = dict.type === undefined ? "" : normalizeType(toStr(dict.type));
      super(INTERNAL, { bytes: processParts(parts, endings), type });
      this.#name = name;
      this.#lastModified = lastModified;
    }

    get name() {
      return this.#name;
    }

    get lastModified() {
      return this.#lastModified;
    }
  }
  defineTag(File.prototype, "File");

  const newFile = (bytes, type, name, lastModified) => new File(INTERNAL, { bytes, type, name, lastModified });

  // ---------------------------------------------------------------------------------------------
  // FormData (https://xhr.spec.whatwg.org/#interface-formdata)

  let isFormData;
  let formEntries;
  let newFormData;

  // An entry's value: a string, or a File (a Blob becomes a File named "blob", a filename renames
  // the File, which keeps its bytes, type and lastModified).
  function entryValue(value, filename, hasFilename) {
    if (!isBlob(value)) return toUSV(value);
    const name = hasFilename ? toUSV(filename) : null;
    if (isFile(value)) {
      if (name === null) return value;
      return newFile(blobBytes(value), blobType(value), name, fileLastModified(value));
    }
    return newFile(blobBytes(value), blobType(value), name === null ? "blob" : name, DateNow());
  }

  // WebIDL's overloads: (name, value) takes a Blob or a string; (name, blobValue, filename) only
  // a Blob.
  function entryFromArguments(args, where) {
    requireArgs(args.length, 2, where);
    const name = toUSV(args[0]);
    const hasFilename = args.length > 2;
    if (hasFilename && !isBlob(args[1])) {
      throw new TypeErrorCtor(`${where}: parameter 2 is not of type 'Blob' (a filename is only for a Blob or File).`);
    }
    return [name, entryValue(args[1], args[2], hasFilename)];
  }

  class FormData {
    #entries = []; // [name, value] pairs in order; a value is a string or a File

    static {
      isFormData = (x) => isObject(x) && #entries in x;
      formEntries = (formData) => formData.#entries;
      newFormData = (entries) => {
        const formData = new FormData();
        formData.#entries = entries;
        return formData;
      };
    }

    constructor(form = undefined, submitter = undefined) {
      markPlatformObject(this);
      if (form !== undefined || (submitter !== undefined && submitter !== null)) {
        throw new TypeErrorCtor("FormData: Workers have no HTML form element; construct it without arguments.");
      }
    }

    append(name, value) {
      push(this.#entries, entryFromArguments(arguments, "FormData.append"));
    }

    delete(name) {
      requireArgs(arguments.length, 1, "FormData.delete");
      const key = toUSV(name);
      this.#entries = filterPairs(this.#entries, (entry) => entry[0] !== key);
    }

    get(name) {
      requireArgs(arguments.length, 1, "FormData.get");
      return firstValue(this.#entries, toUSV(name));
    }

    getAll(name) {
      requireArgs(arguments.length, 1, "FormData.getAll");
      return allValues(this.#entries, toUSV(name));
    }

    has(name) {
      requireArgs(arguments.length, 1, "FormData.has");
      return hasPair(this.#entries, toUSV(name));
    }

    set(name, value) {
      const entry = entryFromArguments(arguments, "FormData.set");
      this.#entries = setPair(this.#entries, entry[0], entry[1]);
    }
  }
  defineTag(FormData.prototype, "FormData");
  definePairIterable(FormData, "FormData Iterator", (formData) => formEntries(formData));

  // ---------------------------------------------------------------------------------------------
  // MIME types (https://mimesniff.spec.whatwg.org/#parsing-a-mime-type) and a body's content type
  // (https://fetch.spec.whatwg.org/#concept-header-extract-mime-type)

  const isHttpTabOrSpace = (c) => c === 0x09 || c === 0x20;
  const isQuotedStringChar = (c) => c === 0x09 || (c >= 0x20 && c <= 0x7e) || (c >= 0x80 && c <= 0xff);

  // s without the leading (unless `leading` is false) and trailing characters that isSpace accepts.
  function trimWith(s, isSpace, leading = true) {
    let from = 0;
    let to = s.length;
    while (leading && from < to && isSpace(charCodeAt(s, from))) from++;
    while (to > from && isSpace(charCodeAt(s, to - 1))) to--;
    return slice(s, from, to);
  }

  // Index of the first of `stops` at or after `at` in s, else s.length.
  function indexOfAny(s, stops, at) {
    while (at < s.length && StringPrototypeIndexOf(stops, s[at]) === -1) at++;
    return at;
  }

  // https://fetch.spec.whatwg.org/#collect-an-http-quoted-string, from the `"` at `at`: returns
  // {value, end}, the value unescaped when `extract`, else the quoted text as it is.
  function collectQuotedString(s, at, extract) {
    const start = at;
    let value = "";
    at++;
    for (;;) {
      const stop = indexOfAny(s, '"\\', at);
      value += slice(s, at, stop);
      at = stop;
      if (at >= s.length) break;
      const quoteOrBackslash = s[at++];
      if (quoteOrBackslash === "\\") {
        if (at >= s.length) {
          value += "\\";
          break;
        }
        value += s[at++];
      } else {
        break;
      }
    }
    return { value: extract ? value : slice(s, start, at), end: at };
  }

  // A MIME type record {type, subtype, parameters: [[name, value], ...]}, or null.
  function parseMimeType(input) {
    const s = trimWith(input, isHttpWhitespace);
    const slash = indexOfAny(s, "/", 0);
    const type = slice(s, 0, slash);
    if (!isToken(type) || slash >= s.length) return null;
    let at = indexOfAny(s, ";", slash + 1);
    const subtype = trimWith(slice(s, slash + 1, at), isHttpWhitespace, false);
    if (!isToken(subtype)) return null;
    const mimeType = { type: asciiLower(type), subtype: asciiLower(subtype), parameters: [] };
    while (at < s.length) {
      at++; // past ";"
      while (at < s.length && isHttpWhitespace(charCodeAt(s, at))) at++;
      const nameEnd = indexOfAny(s, ";=", at);
      const name = asciiLower(slice(s, at, nameEnd));
      at = nameEnd;
      if (at >= s.length) break;
      if (s[at] === ";") continue;
      at++; // past "="
      if (at >= s.length) break;
      let value;
      if (s[at] === '"') {
        const quoted = collectQuotedString(s, at, true);
        value = quoted.value;
        at = indexOfAny(s, ";", quoted.end);
      } else {
        const valueEnd = indexOfAny(s, ";", at);
        value = trimWith(slice(s, at, valueEnd), isHttpWhitespace, false);
        at = valueEnd;
        if (value === "") continue;
      }
      if (isToken(name) && onlyQuotedStringChars(value) && parameterOf(mimeType, name) === null) {
        push(mimeType.parameters, [name, value]);
      }
    }
    return mimeType;
  }

  function onlyQuotedStringChars(s) {
    for (let i = 0; i < s.length; i++) if (!isQuotedStringChar(charCodeAt(s, i))) return false;
    return true;
  }

  function parameterOf(mimeType, name) {
    const parameters = mimeType.parameters;
    for (let i = 0; i < parameters.length; i++) if (parameters[i][0] === name) return parameters[i][1];
    return null;
  }

  const essenceOf = (mimeType) => `${mimeType.type}/${mimeType.subtype}`;

  function serializeMimeType(mimeType) {
    let out = essenceOf(mimeType);
    const parameters = mimeType.parameters;
    for (let i = 0; i < parameters.length; i++) {
      let value = parameters[i][1];
      if (value === "" || !isToken(value)) {
        let quoted = '"';
        for (let k = 0; k < value.length; k++) quoted += value[k] === '"' || value[k] === "\\" ? "\\" + value[k] : value[k];
        value = quoted + '"';
      }
      out += `;${parameters[i][0]}=${value}`;
    }
    return out;
  }

  // https://fetch.spec.whatwg.org/#concept-header-list-get-decode-split: the values of a header,
  // split on the commas outside quoted strings.
  function splitHeaderValue(value) {
    const values = [];
    let at = 0;
    let current = "";
    for (;;) {
      const stop = indexOfAny(value, '",', at);
      current += slice(value, at, stop);
      at = stop;
      if (at < value.length) {
        if (value[at] === '"') {
          const quoted = collectQuotedString(value, at, false);
          current += quoted.value;
          at = quoted.end;
          if (at < value.length) continue;
        } else {
          at++; // past ","
        }
      }
      push(values, trimWith(current, isHttpTabOrSpace));
      current = "";
      if (at >= value.length) return values;
    }
  }

  // The MIME type a body's `Content-Type` values add up to (a later one wins, keeping an earlier
  // charset for the same essence), or null.
  function extractMimeType(contentType) {
    if (contentType === null) return null;
    const values = splitHeaderValue(contentType);
    let mimeType = null;
    let essence = null;
    let charset = null;
    for (let i = 0; i < values.length; i++) {
      const candidate = parseMimeType(values[i]);
      if (candidate === null || essenceOf(candidate) === "*/*") continue;
      mimeType = candidate;
      const candidateCharset = parameterOf(mimeType, "charset");
      if (essenceOf(mimeType) !== essence) {
        charset = null;
        essence = essenceOf(mimeType);
      }
      if (candidateCharset !== null) charset = candidateCharset;
      else if (charset !== null) push(mimeType.parameters, ["charset", charset]);
    }
    return mimeType;
  }

  // ---------------------------------------------------------------------------------------------
  // multipart/form-data serializing, as the HTML standard and the multipart/form-data draft
  // (https://andreubotella.github.io/multipart-form-data/) have it

  const HEX_LOWER = "0123456789abcdef";

  // 27 to 70 ASCII alphanumerics, "-" and "_", with 128 random bits.
  function newBoundary() {
    const random = new Uint8ArrayCtor(16);
    randomFill(random);
    let boundary = "----formdata-dynisolate-";
    for (let i = 0; i < 16; i++) boundary += HEX_LOWER[random[i] >> 4] + HEX_LOWER[random[i] & 0xf];
    return boundary;
  }

  // Every line break (a lone CR, a lone LF, or CR LF) as CR LF.
  function crlfLineBreaks(s) {
    if (StringPrototypeIndexOf(s, "\r") === -1 && StringPrototypeIndexOf(s, "\n") === -1) return s;
    let out = "";
    for (let i = 0; i < s.length; i++) {
      const c = s[i];
      if (c === "\r") {
        out += "\r\n";
        if (s[i + 1] === "\n") i++;
      } else {
        out += c === "\n" ? "\r\n" : c;
      }
    }
    return out;
  }

  // A name or filename in a Content-Disposition parameter: CR, LF and `"` percent-escaped, as
  // browsers send them (names get their line breaks made CR LF first).
  function escapeName(name, isFilename) {
    const s = isFilename ? name : crlfLineBreaks(name);
    let out = "";
    for (let i = 0; i < s.length; i++) {
      const c = s[i];
      out += c === "\n" ? "%0A" : c === "\r" ? "%0D" : c === '"' ? "%22" : c;
    }
    return out;
  }

  // {bytes, boundary}: the entries as one multipart/form-data payload.
  function serializeMultipart(entries) {
    const boundary = newBoundary();
    const pieces = [];
    let total = 0;
    const add = (bytes) => {
      push(pieces, bytes);
      total += TypedArrayGetLength(bytes);
    };
    for (let i = 0; i < entries.length; i++) {
      const name = entries[i][0];
      const value = entries[i][1];
      let head = `--${boundary}\r\nContent-Disposition: form-data; name="${escapeName(name, false)}"`;
      if (typeof value === "string") {
        add(utf8Encode(`${head}\r\n\r\n${crlfLineBreaks(value)}\r\n`));
        continue;
      }
      const type = blobType(value) === "" ? "application/octet-stream" : blobType(value);
      head += `; filename="${escapeName(fileName(value), true)}"\r\nContent-Type: ${type}\r\n\r\n`;
      add(utf8Encode(head));
      add(blobBytes(value));
      add(utf8Encode("\r\n"));
    }
    add(utf8Encode(`--${boundary}--\r\n`));
    return { bytes: concatBytes(pieces, total), boundary };
  }

  // ---------------------------------------------------------------------------------------------
  // multipart/form-data parsing: the draft's parser, which also accepts what real clients send
  // beyond it (parameters in any order and case, unquoted values, padding after a boundary, an
  // epilogue after the last one). A body it cannot read is a TypeError saying where it broke.

  const malformed = (why) => new TypeErrorCtor(`Failed to parse the body as multipart/form-data: ${why}.`);

  // Whether `bytes` holds the ASCII string `s` at `at`.
  function bytesStartWith(bytes, at, s) {
    if (at + s.length > TypedArrayGetLength(bytes)) return false;
    for (let i = 0; i < s.length; i++) if (bytes[at + i] !== charCodeAt(s, i)) return false;
    return true;
  }

  // The first index at or after `from` where `bytes` holds `pattern` (bytes), else -1. The
  // engine's indexOf finds each candidate first byte.
  function indexOfBytes(bytes, pattern, from) {
    const length = TypedArrayGetLength(pattern);
    const last = TypedArrayGetLength(bytes) - length;
    const first = pattern[0];
    for (let at = TypedArrayPrototypeIndexOf(bytes, first, from); at !== -1 && at <= last;
      at = TypedArrayPrototypeIndexOf(bytes, first, at + 1)) {
      let k = 1;
      while (k < length && bytes[at + k] === pattern[k]) k++;
      if (k === length) return at;
    }
    return -1;
  }

  // Bytes 0x00..0xFF as a string of the same code units (the standard's isomorphic decode).
  function isomorphicDecode(bytes) {
    let out = "";
    for (let i = 0; i < TypedArrayGetLength(bytes); i++) out += StringFromCharCode(bytes[i]);
    return out;
  }

  // A parameter value in a part's header: a quoted string (with the %0A, %0D and %22 escapes
  // browsers write) or a token. Returns {value, end}.
  function headerParameterValue(line, at) {
    if (line[at] !== '"') {
      const end = indexOfAny(line, "; \t", at);
      return { value: slice(line, at, end), end };
    }
    const close = StringPrototypeIndexOf(line, '"', at + 1);
    if (close === -1) throw malformed("a quoted parameter in a part's header is not closed");
    let raw = slice(line, at + 1, close);
    if (StringPrototypeIndexOf(raw, "%") !== -1) {
      let out = "";
      for (let i = 0; i < raw.length; i++) {
        const escape = slice(raw, i, i + 3);
        if (escape === "%0A" || escape === "%0a") out += "\n";
        else if (escape === "%0D" || escape === "%0d") out += "\r";
        else if (escape === "%22") out += '"';
        else {
          out += raw[i];
          continue;
        }
        i += 2;
      }
      raw = out;
    }
    return { value: raw, end: close + 1 };
  }

  // A Content-Disposition value ("form-data; name=...; filename=..."), header bytes as code units:
  // names and filenames are UTF-8 in them.
  function parseDisposition(line, part) {
    let at = 0;
    while (at < line.length && isHttpTabOrSpace(charCodeAt(line, at))) at++;
    if (asciiLower(slice(line, at, at + 9)) !== "form-data") throw malformed("a part's Content-Disposition is not form-data");
    at += 9;
    part.name = null;
    part.filename = null;
    for (;;) {
      while (at < line.length && isHttpTabOrSpace(charCodeAt(line, at))) at++;
      if (at >= line.length) return;
      if (line[at] !== ";") throw malformed("a part's Content-Disposition has text between its parameters");
      at++;
      while (at < line.length && isHttpTabOrSpace(charCodeAt(line, at))) at++;
      if (at >= line.length) return; // a trailing ";"
      const eq = indexOfAny(line, "=;", at);
      if (line[eq] !== "=") throw malformed("a part's Content-Disposition has a parameter without a value");
      const name = asciiLower(trimWith(slice(line, at, eq), isHttpTabOrSpace));
      at = eq + 1;
      while (at < line.length && isHttpTabOrSpace(charCodeAt(line, at))) at++;
      const parameter = headerParameterValue(line, at);
      at = parameter.end;
      const value = decodeUtf8(isomorphicEncode(parameter.value), false);
      if (name === "name") part.name = value;
      else if (name === "filename") part.filename = value;
    }
  }

  // The bytes a string of code units 0x00..0xFF stands for (the standard's isomorphic encode).
  function isomorphicEncode(s) {
    const bytes = new Uint8ArrayCtor(s.length);
    for (let i = 0; i < s.length; i++) bytes[i] = charCodeAt(s, i);
    return bytes;
  }

  // A part's headers from `at` to the empty line: {name, filename, contentType, end}, `end` being
  // where its body starts.
  function parsePartHeaders(bytes, at) {
    const length = TypedArrayGetLength(bytes);
    const part = { name: null, filename: null, contentType: null, end: 0 };
    for (;;) {
      if (bytesStartWith(bytes, at, "\r\n")) {
        if (part.name === null) throw malformed("a part has no Content-Disposition with a name");
        part.end = at + 2;
        return part;
      }
      const lineEnd = TypedArrayPrototypeIndexOf(bytes, 0x0d, at);
      if (lineEnd === -1 || lineEnd + 1 >= length || bytes[lineEnd + 1] !== 0x0a) {
        throw malformed("a part's headers do not end with an empty line");
      }
      const line = isomorphicDecode(byteView(bytes, at, lineEnd));
      at = lineEnd + 2;
      const colon = StringPrototypeIndexOf(line, ":");
      const name = colon === -1 ? "" : trimWith(slice(line, 0, colon), isHttpTabOrSpace);
      if (!isToken(name) || StringPrototypeIndexOf(line, "\n") !== -1) {
        throw malformed(`a part has a malformed header line "${line}"`);
      }
      const value = slice(line, colon + 1);
      const lowered = asciiLower(name);
      if (lowered === "content-disposition") parseDisposition(value, part);
      else if (lowered === "content-type") part.contentType = trimWith(value, isHttpTabOrSpace);
    }
  }

  // The entries of a multipart/form-data payload.
  function parseMultipart(bytes, boundary) {
    const length = TypedArrayGetLength(bytes);
    const dashBoundary = "--" + boundary;
    const delimiter = isomorphicEncode("\r\n" + dashBoundary);
    const entries = [];
    if (!bytesStartWith(bytes, 0, dashBoundary)) throw malformed(`the body does not start with "--" and the boundary`);
    let at = 0;
    for (;;) {
      at += dashBoundary.length;
      if (bytesStartWith(bytes, at, "--")) return entries; // the close delimiter; the rest is epilogue
      while (at < length && (bytes[at] === 0x20 || bytes[at] === 0x09)) at++; // transport padding
      if (!bytesStartWith(bytes, at, "\r\n")) {
        throw malformed(at >= length ? "the body ends without the closing boundary" : "a boundary is not followed by a line break");
      }
      const part = parsePartHeaders(bytes, at + 2);
      const bodyEnd = indexOfBytes(bytes, delimiter, part.end);
      if (bodyEnd === -1) throw malformed("a part is not closed by a boundary (the body is truncated)");
      const body = byteView(bytes, part.end, bodyEnd);
      let value;
      if (part.filename === null) {
        value = decodeUtf8(body, false);
      } else {
        const type = part.contentType === null ? "text/plain" : normalizeType(part.contentType);
        value = newFile(copyBytes(body), type, part.filename, DateNow());
      }
      push(entries, [part.name, value]);
      at = bodyEnd + 2;
    }
  }

  // ---------------------------------------------------------------------------------------------
  // Hooks for web.js, and the globals

  web.installForms(ObjectFreeze({
    __proto__: null,

    // https://fetch.spec.whatwg.org/#concept-bodyinit-extract for a Blob (its type, if it has one,
    // is the content type) or a FormData (multipart/form-data with a new boundary).
    extract(init) {
      if (isBlob(init)) {
        const type = blobType(init);
        return { body: newBody(copyBytes(blobBytes(init))), type: type === "" ? null : type };
      }
      if (!isFormData(init)) return null;
      const payload = serializeMultipart(formEntries(init));
      return { body: newBody(payload.bytes), type: `multipart/form-data; boundary=${payload.boundary}` };
    },

    blobFromBody(bytes, contentType) {
      const mimeType = extractMimeType(contentType);
      return new Blob(INTERNAL, { bytes: copyBytes(bytes), type: mimeType === null ? "" : serializeMimeType(mimeType) });
    },

    formDataFromBody(bytes, contentType) {
      const mimeType = extractMimeType(contentType);
      const essence = mimeType === null ? null : essenceOf(mimeType);
      if (essence === "multipart/form-data") {
        const boundary = parameterOf(mimeType, "boundary");
        if (boundary === null || boundary === "") {
          throw new TypeErrorCtor("Failed to parse the body as multipart/form-data: the Content-Type has no boundary.");
        }
        return newFormData(parseMultipart(bytes, boundary));
      }
      if (essence === "application/x-www-form-urlencoded") return newFormData(parseFormBytes(bytes));
      throw new TypeErrorCtor(
        "Failed to parse the body as FormData: its Content-Type must be multipart/form-data or application/x-www-form-urlencoded.",
      );
    },
  }));

  // structuredClone of a Blob or File: the HTML standard's serialization, deserialized at once. The
  // bytes are immutable, so the copy shares them.
  web.addSerializable((value) => {
    if (!isBlob(value)) return null;
    if (isFile(value)) return newFile(blobBytes(value), blobType(value), fileName(value), fileLastModified(value));
    return new Blob(INTERNAL, { bytes: blobBytes(value), type: blobType(value) });
  });

  defineGlobal("Blob", Blob);
  defineGlobal("File", File);
  defineGlobal("FormData", FormData);
})
