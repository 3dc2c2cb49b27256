// node:buffer: Buffer, a Uint8Array with Node.js's encodings and readers and writers. Text
// encodings go through the engine's own TextEncoder/TextDecoder and base64 (Uint8Array.fromBase64,
// toBase64), so large buffers are never converted byte by byte in JavaScript where avoidable.
import { codedError, invalidArgType, invalidArgValue, outOfRange, unknownEncoding } from "dynisolate:node-errors";

export const kMaxLength = 2 ** 32;
export const kStringMaxLength = 2 ** 29 - 24;
export const constants = Object.freeze({ MAX_LENGTH: kMaxLength, MAX_STRING_LENGTH: kStringMaxLength });
export const INSPECT_MAX_BYTES = 50;

const encoder = new TextEncoder();
const utf8Decoder = new TextDecoder("utf-8");

// Encoding names as Node.js normalises them; null for an unknown one.
function normalizeEncoding(encoding) {
  if (encoding === undefined || encoding === null || encoding === "") return "utf8";
  switch (String(encoding).toLowerCase()) {
    case "utf8":
    case "utf-8":
      return "utf8";
    case "hex":
      return "hex";
    case "base64":
      return "base64";
    case "base64url":
      return "base64url";
    case "latin1":
    case "binary":
      return "latin1";
    case "ascii":
      return "ascii";
    case "ucs2":
    case "ucs-2":
    case "utf16le":
    case "utf-16le":
      return "utf16le";
    default:
      return null;
  }
}

function encodingOf(encoding) {
  const normalized = normalizeEncoding(encoding);
  if (normalized === null) throw unknownEncoding(encoding);
  return normalized;
}

// Node.js decodes base64 leniently: either alphabet, whitespace and junk skipped, padding optional,
// stopping at the first "=".
function base64Bytes(text) {
  let clean = "";
  for (let i = 0; i < text.length; i++) {
    const c = text[i];
    if (c === "=") break;
    if (c === "-") clean += "+";
    else if (c === "_") clean += "/";
    else if (/[A-Za-z0-9+/]/.test(c)) clean += c;
  }
  if (clean.length % 4 === 1) clean = clean.slice(0, -1);
  return Uint8Array.fromBase64(clean, { lastChunkHandling: "loose" });
}

function hexBytes(text) {
  const out = new Uint8Array(text.length >>> 1);
  let n = 0;
  for (; n < out.length; n++) {
    const byte = parseInt(text.substr(n * 2, 2), 16);
    if (!/^[0-9a-fA-F]{2}$/.test(text.substr(n * 2, 2)) || Number.isNaN(byte)) break;
    out[n] = byte;
  }
  return n === out.length ? out : out.subarray(0, n);
}

// The bytes of `text` in `encoding` (normalized).
function encode(text, encoding) {
  switch (encoding) {
    case "utf8":
      return encoder.encode(text);
    case "hex":
      return hexBytes(text);
    case "base64":
    case "base64url":
      return base64Bytes(text);
    case "latin1":
    case "ascii": {
      const out = new Uint8Array(text.length);
      for (let i = 0; i < text.length; i++) out[i] = text.charCodeAt(i);
      return out;
    }
    case "utf16le": {
      const out = new Uint8Array(text.length * 2);
      for (let i = 0; i < text.length; i++) {
        const unit = text.charCodeAt(i);
        out[i * 2] = unit & 0xff;
        out[i * 2 + 1] = unit >>> 8;
      }
      return out;
    }
  }
}

function binaryString(bytes, mask) {
  let text = "";
  for (let i = 0; i < bytes.length; i += 8192) {
    const chunk = bytes.subarray(i, i + 8192);
    text += String.fromCharCode.apply(null, mask === 0xff ? chunk : Array.from(chunk, (b) => b & mask));
  }
  return text;
}

// The text of `bytes` (a Uint8Array) in `encoding` (normalized).
function decode(bytes, encoding) {
  switch (encoding) {
    case "utf8":
      return utf8Decoder.decode(bytes);
    case "hex":
      return bytes.toHex();
    case "base64":
      return bytes.toBase64();
    case "base64url":
      return bytes.toBase64({ alphabet: "base64url", omitPadding: true });
    case "latin1":
      return binaryString(bytes, 0xff);
    case "ascii":
      return binaryString(bytes, 0x7f);
    case "utf16le": {
      let text = "";
      for (let i = 0; i + 1 < bytes.length; i += 2) text += String.fromCharCode(bytes[i] | (bytes[i + 1] << 8));
      return text;
    }
  }
}

class FastBuffer extends Uint8Array {}

function toInteger(value, fallback) {
  const n = Math.trunc(+value);
  return Number.isNaN(n) ? fallback : n;
}

function checkSize(size) {
  if (typeof size !== "number") throw invalidArgType("size", "of type number", size);
  if (!(size >= 0 && size <= kMaxLength)) throw outOfRange("size", `>= 0 && <= ${kMaxLength}`, size);
}

function fromBytes(bytes) {
  const buffer = new FastBuffer(bytes.length);
  buffer.set(bytes);
  return buffer;
}

/** `Buffer(x)` and `new Buffer(x)` (deprecated in Node.js, still accepted) are `Buffer.from(x)`, or `Buffer.alloc(n)`. */
export function Buffer(value, encodingOrOffset, length) {
  if (typeof value === "number") {
    if (typeof encodingOrOffset === "string") {
      throw invalidArgType("string", "of type string", value);
    }
    return Buffer.alloc(value);
  }
  return Buffer.from(value, encodingOrOffset, length);
}
Buffer.prototype = FastBuffer.prototype;
Object.defineProperty(FastBuffer.prototype, "constructor", { value: Buffer, writable: true, configurable: true });
Object.setPrototypeOf(Buffer, Uint8Array);
Buffer.poolSize = 8192;

Buffer.from = function from(value, encodingOrOffset, length) {
  if (typeof value === "string") return fromBytes(encode(value, encodingOf(encodingOrOffset)));
  if (value instanceof ArrayBuffer || (typeof SharedArrayBuffer === "function" && value instanceof SharedArrayBuffer)) {
    const offset = encodingOrOffset === undefined ? 0 : toInteger(encodingOrOffset, 0);
    if (offset > value.byteLength) throw codedError(RangeError, "ERR_BUFFER_OUT_OF_BOUNDS", '"offset" is outside of buffer bounds');
    const count = length === undefined ? value.byteLength - offset : toInteger(length, 0);
    if (offset + count > value.byteLength) throw codedError(RangeError, "ERR_BUFFER_OUT_OF_BOUNDS", '"length" is outside of buffer bounds');
    return new FastBuffer(value, offset, count);
  }
  if (ArrayBuffer.isView(value)) {
    if (value instanceof Uint8Array) return fromBytes(value);
    return fromBytes(new Uint8Array(value.buffer, value.byteOffset, value.byteLength).slice());
  }
  if (value !== null && typeof value === "object") {
    const primitive = typeof value[Symbol.toPrimitive] === "function" ? value[Symbol.toPrimitive]("string") : value.valueOf();
    if (primitive !== value && primitive != null && typeof primitive !== "object") return Buffer.from(primitive, encodingOrOffset, length);
    if (primitive !== value && primitive != null) return Buffer.from(primitive, encodingOrOffset, length);
    if (value.type === "Buffer" && Array.isArray(value.data)) return fromArrayLike(value.data);
    if (typeof value.length === "number" || Array.isArray(value)) return fromArrayLike(value);
  }
  throw invalidArgType(
    "first argument",
    "of type string or an instance of Buffer, ArrayBuffer, or Array or an Array-like Object",
    value,
  );
};

function fromArrayLike(list) {
  const length = Math.max(0, toInteger(list.length, 0));
  const buffer = new FastBuffer(length);
  for (let i = 0; i < length; i++) buffer[i] = list[i];
  return buffer;
}

Buffer.of = function of(...items) {
  return fromArrayLike(items);
};

Buffer.alloc = function alloc(size, fill, encoding) {
  checkSize(size);
  const buffer = new FastBuffer(size);
  if (fill !== undefined && fill !== 0 && size > 0) buffer.fill(fill, encoding);
  return buffer;
};

Buffer.allocUnsafe = function allocUnsafe(size) {
  checkSize(size);
  return new FastBuffer(size); // zeroed: an isolate has no uninitialised memory to hand out
};
Buffer.allocUnsafeSlow = Buffer.allocUnsafe;

Buffer.isBuffer = function isBuffer(value) {
  return value instanceof Buffer;
};

Buffer.isEncoding = function isEncoding(encoding) {
  return typeof encoding === "string" && encoding !== "" && normalizeEncoding(encoding) !== null;
};

Buffer.byteLength = function byteLength(value, encoding) {
  if (typeof value !== "string") {
    if (ArrayBuffer.isView(value) || value instanceof ArrayBuffer) return value.byteLength;
    throw invalidArgType("string", "of type string or an instance of Buffer or ArrayBuffer", value);
  }
  const normalized = normalizeEncoding(encoding) ?? "utf8";
  switch (normalized) {
    case "latin1":
    case "ascii":
      return value.length;
    case "utf16le":
      return value.length * 2;
    case "hex":
      return value.length >>> 1;
    default:
      return encode(value, normalized).length;
  }
};

Buffer.compare = function compare(a, b) {
  if (!(a instanceof Uint8Array)) throw invalidArgType("buf1", "an instance of Buffer or Uint8Array", a);
  if (!(b instanceof Uint8Array)) throw invalidArgType("buf2", "an instance of Buffer or Uint8Array", b);
  return compareBytes(a, b);
};

function compareBytes(a, b) {
  const length = Math.min(a.length, b.length);
  for (let i = 0; i < length; i++) {
    if (a[i] !== b[i]) return a[i] < b[i] ? -1 : 1;
  }
  return a.length === b.length ? 0 : a.length < b.length ? -1 : 1;
}

Buffer.concat = function concat(list, totalLength) {
  if (!Array.isArray(list)) throw invalidArgType("list", "an instance of Array", list);
  let length = 0;
  for (let i = 0; i < list.length; i++) {
    if (!(list[i] instanceof Uint8Array)) throw invalidArgType(`list[${i}]`, "an instance of Buffer or Uint8Array", list[i]);
    length += list[i].length;
  }
  if (totalLength !== undefined) length = toInteger(totalLength, 0);
  const buffer = Buffer.alloc(length);
  let at = 0;
  for (let i = 0; i < list.length && at < length; i++) {
    const part = list[i].length > length - at ? list[i].subarray(0, length - at) : list[i];
    buffer.set(part, at);
    at += part.length;
  }
  return buffer;
};

Buffer.copyBytesFrom = function copyBytesFrom(view, offset = 0, length) {
  if (!ArrayBuffer.isView(view)) throw invalidArgType("view", "an instance of TypedArray", view);
  const end = length === undefined ? view.length : offset + length;
  const part = view.subarray(offset, end);
  return fromBytes(new Uint8Array(part.buffer, part.byteOffset, part.byteLength));
};

const proto = FastBuffer.prototype;

// Clamps [start, end) into [0, length] as Node.js's toString and slice do.
function clampRange(length, start, end) {
  let from = start === undefined ? 0 : toInteger(start, 0);
  let to = end === undefined ? length : toInteger(end, length);
  if (from < 0) from = Math.max(length + from, 0);
  if (to < 0) to = Math.max(length + to, 0);
  return [Math.min(from, length), Math.min(Math.max(to, 0), length)];
}

function defineMethods(target, methods) {
  for (const name of Object.keys(methods)) {
    Object.defineProperty(target, name, { value: methods[name], writable: true, configurable: true });
  }
}

function checkOffset(buffer, offset, width) {
  if (offset === undefined) offset = 0;
  if (typeof offset !== "number") throw invalidArgType("offset", "of type number", offset);
  const last = buffer.length - width;
  if (!Number.isInteger(offset) || offset < 0 || offset > last) {
    if (last < 0) throw codedError(RangeError, "ERR_BUFFER_OUT_OF_BOUNDS", "Attempt to access memory outside buffer bounds");
    throw outOfRange("offset", Number.isInteger(offset) ? `>= 0 and <= ${last}` : "an integer", offset);
  }
  return offset;
}

function view(buffer) {
  return new DataView(buffer.buffer, buffer.byteOffset, buffer.byteLength);
}

function checkValue(value, min, max) {
  if (typeof value === "bigint") {
    if (value < min || value > max) throw outOfRange("value", `>= ${min}n and <= ${max}n`, value);
    return;
  }
  if (typeof value !== "number") throw invalidArgType("value", "of type number", value);
  if (value < min || value > max) throw outOfRange("value", `>= ${min} and <= ${max}`, value);
}

// readUInt8, readInt16BE, writeFloatLE, ... over DataView, by width and kind.
const NUMBER_KINDS = [
  ["UInt8", "Uint8", 1, 0, 0xff],
  ["Int8", "Int8", 1, -0x80, 0x7f],
  ["UInt16", "Uint16", 2, 0, 0xffff],
  ["Int16", "Int16", 2, -0x8000, 0x7fff],
  ["UInt32", "Uint32", 4, 0, 0xffffffff],
  ["Int32", "Int32", 4, -0x80000000, 0x7fffffff],
  ["Float", "Float32", 4, -Infinity, Infinity],
  ["Double", "Float64", 8, -Infinity, Infinity],
  ["BigUInt64", "BigUint64", 8, 0n, 2n ** 64n - 1n],
  ["BigInt64", "BigInt64", 8, -(2n ** 63n), 2n ** 63n - 1n],
];
for (const [name, viewName, width, min, max] of NUMBER_KINDS) {
  const ends = width === 1 ? [["", false]] : [["LE", true], ["BE", false]];
  for (const [suffix, little] of ends) {
    const get = DataView.prototype[`get${viewName}`];
    const set = DataView.prototype[`set${viewName}`];
    const isFloat = name === "Float" || name === "Double";
    const read = function (offset) {
      offset = checkOffset(this, offset, width);
      return get.call(view(this), offset, little);
    };
    const write = function (value, offset) {
      offset = checkOffset(this, offset, width);
      if (!isFloat) checkValue(value, min, max);
      set.call(view(this), offset, typeof min === "bigint" ? value : +value, little);
      return offset + width;
    };
    const methods = { [`read${name}${suffix}`]: read, [`write${name}${suffix}`]: write };
    if (name.includes("UInt")) {
      methods[`read${name.replace("UInt", "Uint")}${suffix}`] = read;
      methods[`write${name.replace("UInt", "Uint")}${suffix}`] = write;
    }
    defineMethods(proto, methods);
  }
}

function checkByteLength(byteLength) {
  if (!Number.isInteger(byteLength) || byteLength < 1 || byteLength > 6) {
    throw outOfRange("byteLength", ">= 1 and <= 6", byteLength);
  }
}

// Variable-width integers (1 to 6 bytes), as readUIntLE and friends.
function readVariable(buffer, offset, byteLength, little, signed) {
  checkByteLength(byteLength);
  offset = checkOffset(buffer, offset, byteLength);
  let value = 0;
  for (let i = 0; i < byteLength; i++) {
    const byte = buffer[offset + (little ? byteLength - 1 - i : i)];
    value = value * 256 + byte;
  }
  const limit = 2 ** (8 * byteLength);
  return signed && value >= limit / 2 ? value - limit : value;
}

function writeVariable(buffer, value, offset, byteLength, little, signed) {
  checkByteLength(byteLength);
  offset = checkOffset(buffer, offset, byteLength);
  const limit = 2 ** (8 * byteLength);
  const [min, max] = signed ? [-limit / 2, limit / 2 - 1] : [0, limit - 1];
  checkValue(value, min, max);
  let rest = value < 0 ? value + limit : value;
  for (let i = 0; i < byteLength; i++) {
    buffer[offset + (little ? i : byteLength - 1 - i)] = rest % 256;
    rest = Math.floor(rest / 256);
  }
  return offset + byteLength;
}

// The needle of indexOf/includes as bytes, or a number for a single byte.
function needleOf(value, encoding) {
  if (typeof value === "number") return value & 0xff;
  if (typeof value === "string") return encode(value, encodingOf(encoding));
  if (value instanceof Uint8Array) return value;
  throw invalidArgType("value", "one of type number or string or an instance of Buffer or Uint8Array", value);
}

function search(buffer, value, byteOffset, encoding, last) {
  if (typeof byteOffset === "string") {
    encoding = byteOffset;
    byteOffset = undefined;
  }
  const needle = needleOf(value, encoding);
  const length = buffer.length;
  let from = byteOffset === undefined ? (last ? length : 0) : toInteger(byteOffset, last ? length : 0);
  if (from < 0) from = length + from;
  if (typeof needle === "number") {
    return last
      ? Uint8Array.prototype.lastIndexOf.call(buffer, needle, Math.min(from, length - 1))
      : Uint8Array.prototype.indexOf.call(buffer, needle, Math.max(from, 0));
  }
  if (needle.length === 0) return Math.min(Math.max(from, 0), length);
  const first = last ? Math.min(from, length - needle.length) : Math.max(from, 0);
  const step = last ? -1 : 1;
  for (let i = first; last ? i >= 0 : i <= length - needle.length; i += step) {
    let j = 0;
    while (j < needle.length && buffer[i + j] === needle[j]) j++;
    if (j === needle.length) return i;
  }
  return -1;
}

defineMethods(proto, {
  toString(encoding, start, end) {
    if (arguments.length === 0) return utf8Decoder.decode(this);
    const [from, to] = clampRange(this.length, start, end);
    if (to <= from) return "";
    return decode(this.subarray(from, to), encodingOf(encoding));
  },
  toLocaleString(encoding, start, end) {
    return this.toString(encoding, start, end);
  },
  toJSON() {
    return { type: "Buffer", data: Array.from(this) };
  },
  equals(other) {
    if (!(other instanceof Uint8Array)) throw invalidArgType("otherBuffer", "an instance of Buffer or Uint8Array", other);
    return compareBytes(this, other) === 0;
  },
  compare(target, targetStart = 0, targetEnd = target?.length, sourceStart = 0, sourceEnd = this.length) {
    if (!(target instanceof Uint8Array)) throw invalidArgType("target", "an instance of Buffer or Uint8Array", target);
    return compareBytes(this.subarray(sourceStart, sourceEnd), target.subarray(targetStart, targetEnd));
  },
  copy(target, targetStart = 0, sourceStart = 0, sourceEnd = this.length) {
    if (!(target instanceof Uint8Array)) throw invalidArgType("target", "an instance of Buffer or Uint8Array", target);
    targetStart = toInteger(targetStart, 0);
    sourceStart = toInteger(sourceStart, 0);
    sourceEnd = Math.min(toInteger(sourceEnd, this.length), this.length);
    if (targetStart < 0) throw outOfRange("targetStart", ">= 0", targetStart);
    if (sourceStart < 0) throw outOfRange("sourceStart", ">= 0", sourceStart);
    if (sourceEnd <= sourceStart || targetStart >= target.length) return 0;
    const count = Math.min(sourceEnd - sourceStart, target.length - targetStart);
    Uint8Array.prototype.set.call(target, this.subarray(sourceStart, sourceStart + count), targetStart);
    return count;
  },
  // Node.js's slice shares memory, like subarray (Uint8Array's copies).
  slice(start, end) {
    const [from, to] = clampRange(this.length, start, end);
    return new FastBuffer(this.buffer, this.byteOffset + from, Math.max(to - from, 0));
  },
  subarray(start, end) {
    const [from, to] = clampRange(this.length, start, end);
    return new FastBuffer(this.buffer, this.byteOffset + from, Math.max(to - from, 0));
  },
  write(text, offset, length, encoding) {
    if (typeof text !== "string") throw invalidArgType("argument", "of type string", text);
    if (typeof offset === "string") [encoding, offset, length] = [offset, 0, undefined];
    else if (typeof length === "string") [encoding, length] = [length, undefined];
    offset = offset === undefined ? 0 : toInteger(offset, 0);
    if (offset < 0 || offset > this.length) throw outOfRange("offset", `>= 0 && <= ${this.length}`, offset);
    const room = this.length - offset;
    length = length === undefined ? room : Math.min(toInteger(length, room), room);
    const normalized = encodingOf(encoding);
    let bytes = encode(text, normalized);
    if (bytes.length > length) {
      bytes = bytes.subarray(0, length);
      // UTF-8 never writes part of a character.
      if (normalized === "utf8") {
        let end = length;
        while (end > 0 && (bytes[end - 1] & 0xc0) === 0x80) end--;
        if (end > 0 && bytes[end - 1] >= 0xc0) {
          const lead = bytes[end - 1];
          const need = lead >= 0xf0 ? 4 : lead >= 0xe0 ? 3 : 2;
          if (length - (end - 1) < need) bytes = bytes.subarray(0, end - 1);
        }
      } else if (normalized === "utf16le") {
        bytes = bytes.subarray(0, length & ~1);
      }
    }
    this.set(bytes, offset);
    return bytes.length;
  },
  fill(value, offset, end, encoding) {
    if (typeof offset === "string") [encoding, offset, end] = [offset, 0, this.length];
    else if (typeof end === "string") [encoding, end] = [end, this.length];
    offset = offset === undefined ? 0 : toInteger(offset, 0);
    end = end === undefined ? this.length : toInteger(end, this.length);
    if (offset < 0 || offset > this.length) throw outOfRange("offset", `>= 0 && <= ${this.length}`, offset);
    if (end < 0 || end > this.length) throw outOfRange("end", `>= 0 && <= ${this.length}`, end);
    if (end <= offset) return this;
    if (typeof value === "number" || typeof value === "boolean") {
      Uint8Array.prototype.fill.call(this, +value & 0xff, offset, end);
      return this;
    }
    const bytes = typeof value === "string" ? encode(value, encodingOf(encoding)) : needleOf(value);
    if (bytes.length === 0) {
      if (typeof value === "string" && value.length > 0) throw invalidArgValue("value", value);
      Uint8Array.prototype.fill.call(this, 0, offset, end);
      return this;
    }
    for (let at = offset; at < end; at += bytes.length) {
      this.set(bytes.subarray(0, Math.min(bytes.length, end - at)), at);
    }
    return this;
  },
  indexOf(value, byteOffset, encoding) {
    return search(this, value, byteOffset, encoding, false);
  },
  lastIndexOf(value, byteOffset, encoding) {
    return search(this, value, byteOffset, encoding, true);
  },
  includes(value, byteOffset, encoding) {
    return search(this, value, byteOffset, encoding, false) !== -1;
  },
  readUIntLE(offset, byteLength) {
    return readVariable(this, offset, byteLength, true, false);
  },
  readUIntBE(offset, byteLength) {
    return readVariable(this, offset, byteLength, false, false);
  },
  readIntLE(offset, byteLength) {
    return readVariable(this, offset, byteLength, true, true);
  },
  readIntBE(offset, byteLength) {
    return readVariable(this, offset, byteLength, false, true);
  },
  writeUIntLE(value, offset, byteLength) {
    return writeVariable(this, value, offset, byteLength, true, false);
  },
  writeUIntBE(value, offset, byteLength) {
    return writeVariable(this, value, offset, byteLength, false, false);
  },
  writeIntLE(value, offset, byteLength) {
    return writeVariable(this, value, offset, byteLength, true, true);
  },
  writeIntBE(value, offset, byteLength) {
    return writeVariable(this, value, offset, byteLength, false, true);
  },
  swap16() {
    return swap(this, 2);
  },
  swap32() {
    return swap(this, 4);
  },
  swap64() {
    return swap(this, 8);
  },
});
for (const name of ["readUIntLE", "readUIntBE", "writeUIntLE", "writeUIntBE"]) {
  defineMethods(proto, { [name.replace("UInt", "Uint")]: proto[name] });
}
Object.defineProperty(proto, "parent", { get() { return this.buffer; }, configurable: true });
Object.defineProperty(proto, "offset", { get() { return this.byteOffset; }, configurable: true });

function swap(buffer, width) {
  if (buffer.length % width !== 0) {
    throw codedError(RangeError, "ERR_INVALID_BUFFER_SIZE", `Buffer size must be a multiple of ${width * 8}-bits`);
  }
  for (let at = 0; at < buffer.length; at += width) buffer.subarray(at, at + width).reverse();
  return buffer;
}

export const SlowBuffer = Buffer.allocUnsafeSlow;

export function isUtf8(input) {
  try {
    new TextDecoder("utf-8", { fatal: true }).decode(input);
    return true;
  } catch {
    return false;
  }
}

export function isAscii(input) {
  const bytes = ArrayBuffer.isView(input) ? new Uint8Array(input.buffer, input.byteOffset, input.byteLength) : new Uint8Array(input);
  for (let i = 0; i < bytes.length; i++) if (bytes[i] > 0x7f) return false;
  return true;
}

export function transcode(source, fromEncoding, toEncoding) {
  return Buffer.from(decode(source, encodingOf(fromEncoding)), encodingOf(toEncoding));
}

export const atob = globalThis.atob;
export const btoa = globalThis.btoa;
// Node's buffer module also offers the web's Blob and File (guest/js/forms.js).
export const Blob = globalThis.Blob;
export const File = globalThis.File;

export default {
  Buffer, SlowBuffer, kMaxLength, kStringMaxLength, constants, INSPECT_MAX_BYTES, isUtf8, isAscii, transcode, atob, btoa,
  Blob, File,
};
