// node:string_decoder: decodes a stream of Buffers to text without splitting a character (UTF-8,
// UTF-16LE) or a base64 group across chunks; single-byte encodings pass straight through.
import { Buffer } from "node:buffer";
import { unknownEncoding } from "dynisolate:node-errors";

// The encoding names StringDecoder reports, as Node.js normalises them.
function normalize(encoding) {
  const name = String(encoding ?? "utf8").toLowerCase();
  const aliases = { "utf-8": "utf8", binary: "latin1", ucs2: "utf16le", "ucs-2": "utf16le", "utf-16le": "utf16le" };
  const normalized = aliases[name] ?? name;
  if (!Buffer.isEncoding(normalized)) throw unknownEncoding(encoding);
  return normalized;
}

// How many bytes at the end of `bytes` start a UTF-8 character that is not complete yet.
function incompleteUtf8Tail(bytes) {
  for (let back = 1; back <= Math.min(3, bytes.length); back++) {
    const byte = bytes[bytes.length - back];
    if ((byte & 0xc0) === 0x80) continue; // a continuation byte: look further back
    const need = byte >= 0xf0 ? 4 : byte >= 0xe0 ? 3 : byte >= 0xc0 ? 2 : 1;
    return need > back ? back : 0;
  }
  return 0;
}

export class StringDecoder {
  constructor(encoding) {
    this.encoding = normalize(encoding);
    this.pending = Buffer.alloc(0);
  }

  write(chunk) {
    if (typeof chunk === "string") return chunk;
    const bytes = this.pending.length ? Buffer.concat([this.pending, chunk]) : Buffer.from(chunk);
    let keep = 0;
    if (this.encoding === "utf8") keep = incompleteUtf8Tail(bytes);
    else if (this.encoding === "utf16le") {
      keep = bytes.length % 2;
      // A lead surrogate waits for its trail.
      const end = bytes.length - keep;
      if (end >= 2 && (bytes[end - 1] & 0xfc) === 0xd8) keep += 2;
    } else if (this.encoding === "base64" || this.encoding === "base64url") keep = bytes.length % 3;
    this.pending = Buffer.from(bytes.subarray(bytes.length - keep));
    return bytes.subarray(0, bytes.length - keep).toString(this.encoding);
  }

  end(chunk) {
    let text = chunk === undefined ? "" : this.write(chunk);
    if (this.pending.length) text += this.pending.toString(this.encoding);
    this.pending = Buffer.alloc(0);
    return text;
  }

  get lastNeed() {
    return this.pending.length;
  }
}

export default { StringDecoder };
