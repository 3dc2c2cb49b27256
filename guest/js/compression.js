// Streams whose work runs on the host, as Workers have them: CompressionStream and
// DecompressionStream ("gzip", "deflate", "deflate-raw" by flate2 over zlib-rs, "brotli" by the
// brotli crate; rust/js/compression/) and Cloudflare's crypto.DigestStream (rust/js/digest_stream.rs). shim.c evaluates this
// after web.js and subtle.js; it defines the globals and gives `crypto` its DigestStream.
//
// A stream's state (zlib's, a hash's) lives on the host under an id chosen here, from the first
// chunk (so a stream made but never written holds nothing there) until the stream ends, fails or
// is aborted; the host caps how many one isolate holds. Output comes back in pieces of at most
// 64 KiB, each enqueued as it arrives and the next made only once the readable side wants more, so
// a reader that keeps up holds one piece at a time, a decompression bomb kept whole grows this
// isolate's memory until its memory limit ends the call, and the host holds no output at all.
(function (primordials, natives, web) {
  "use strict";

  const {
    ObjectDefineProperty,
    ObjectFreeze,
    PromiseCtor,
    PromisePrototypeThen,
    Uint8ArrayCtor,
    TypedArrayGetBuffer,
    TypedArrayGetByteOffset,
    TypedArrayGetLength,
    isSharedArrayBuffer,
    TypeErrorCtor,
    DOMExceptionCtor,
  } = primordials;
  const { compressionStep, digestStream, streams } = natives;
  const { bufferSourceBytes, copyBytes, utf8Encode, asciiLower, requireArgs, defineGlobal, defineTag } = web;
  const { markPlatformObject, toStr } = web;
  // Captured before any tenant code: DigestStream is one.
  const WritableStream = globalThis.WritableStream;
  const EMPTY = new Uint8ArrayCtor(0);
  const ignore = () => {};

  // The bytes of a BufferSource chunk, or null for anything else: shared memory included, which a
  // compression stream refuses (the Compression Standard's chunks are BufferSource, unshared).
  function unsharedBytes(chunk) {
    const bytes = bufferSourceBytes(chunk);
    if (bytes === null || isSharedArrayBuffer(TypedArrayGetBuffer(bytes))) return null;
    return bytes;
  }

  // ---------------------------------------------------------------------------------------------
  // CompressionStream and DecompressionStream

  // compressionStep's flags (rust/js/compression/).
  const FORMATS = ObjectFreeze({ __proto__: null, gzip: 0, deflate: 1, "deflate-raw": 2, brotli: 3 });
  const DECOMPRESS = 4;
  const START = 8;
  const FINISH = 16;
  const DROP = 32;

  let nextCompressionId = 1;

  // The {readable, writable} pair of a new (de)compression stream of `format`.
  function newCoder(format, decompress, className) {
    const name = toStr(format);
    const formatFlag = FORMATS[name];
    if (formatFlag === undefined) {
      throw new TypeErrorCtor("The compression format must be either 'deflate', 'deflate-raw', 'gzip' or 'brotli'.");
    }
    const id = nextCompressionId++;
    const flags = formatFlag | (decompress ? DECOMPRESS : 0);
    let state = "unstarted"; // then "open" while the host holds its state, then "over"
    const forget = () => {
      if (state === "open") compressionStep(id, DROP, EMPTY, 0);
      state = "over";
    };
    // Runs `bytes` through the host piece by piece, enqueueing each; when the readable side has
    // enough, waits until it wants more (so a reader that keeps up holds one piece at a time).
    // The bytes not yet consumed are copied before the first wait: tenant code that runs
    // meanwhile cannot change what is compressed.
    const pump = (bytes, finish, enqueue, ready) => {
      let offset = 0;
      let copied = false;
      let settle; // the promise's resolve and reject, once pumping waits
      // Runs the host until the input is used up (true) or the readable side has enough (false:
      // `resume` runs once it wants more).
      const steps = () => {
        try {
          for (;;) {
            if (state === "over") return true; // aborted or cancelled while waiting
            const first = state === "unstarted" ? START : 0;
            state = "open";
            // Indexed, not destructured: destructuring would run the tenant's array iterator.
            const result = compressionStep(id, flags | first | (finish ? FINISH : 0), bytes, offset);
            const piece = result[0];
            const more = result[2];
            offset = result[1];
            if (!more && finish) state = "over";
            if (piece !== undefined) enqueue(piece);
            if (!more) return true;
            const wait = ready();
            if (wait !== undefined) {
              if (!copied) {
                const length = TypedArrayGetLength(bytes) - offset;
                bytes = copyBytes(new Uint8ArrayCtor(TypedArrayGetBuffer(bytes), TypedArrayGetByteOffset(bytes) + offset, length));
                offset = 0;
                copied = true;
              }
              PromisePrototypeThen(wait, resume);
              return false;
            }
          }
        } catch (error) {
          // The host forgets a stream that failed; one whose enqueue threw must be forgotten too.
          forget();
          throw error;
        }
      };
      // Settled with undefined, never with a promise: resolving with one would look up the
      // tenant's Promise.prototype.then.
      const resume = () => {
        let done;
        try {
          done = steps();
        } catch (error) {
          settle.reject(error);
          return;
        }
        if (done) settle.resolve(undefined);
      };
      if (steps()) return undefined;
      return new PromiseCtor((resolve, reject) => {
        settle = { __proto__: null, resolve, reject };
      });
    };
    return streams.newTransform(
      (chunk, enqueue, ready) => {
        const bytes = unsharedBytes(chunk);
        if (bytes === null) {
          forget();
          throw new TypeErrorCtor(`${className}: chunks must be ArrayBuffers or ArrayBufferViews.`);
        }
        return TypedArrayGetLength(bytes) > 0 ? pump(bytes, false, enqueue, ready) : undefined;
      },
      (enqueue, ready) => pump(EMPTY, true, enqueue, ready),
      forget,
    );
  }

  class CompressionStream {
    #transform;

    constructor(format) {
      requireArgs(arguments.length, 1, "CompressionStream");
      this.#transform = newCoder(format, false, "CompressionStream");
      markPlatformObject(this);
    }

    get readable() {
      return this.#transform.readable;
    }

    get writable() {
      return this.#transform.writable;
    }
  }

  class DecompressionStream {
    #transform;

    constructor(format) {
      requireArgs(arguments.length, 1, "DecompressionStream");
      this.#transform = newCoder(format, true, "DecompressionStream");
      markPlatformObject(this);
    }

    get readable() {
      return this.#transform.readable;
    }

    get writable() {
      return this.#transform.writable;
    }
  }

  // ---------------------------------------------------------------------------------------------
  // crypto.DigestStream: a WritableStream whose `digest` promise settles with the hash of every
  // byte written (strings as UTF-8), or with the reason it was aborted.

  // digestStream's operations (rust/js/digest_stream.rs).
  const UPDATE = 0;
  const DIGEST_FINISH = 1;
  const DIGEST_DROP = 2;
  const DIGEST_START = 4;

  // workerd's names, matched without regard to case.
  const DIGEST_ALGORITHMS = ObjectFreeze({
    __proto__: null,
    md5: "MD5",
    "sha-1": "SHA-1",
    "sha-256": "SHA-256",
    "sha-384": "SHA-384",
    "sha-512": "SHA-512",
  });

  function digestAlgorithm(algorithm) {
    const name = typeof algorithm === "object" && algorithm !== null ? algorithm.name : algorithm;
    if (name === undefined) throw new TypeErrorCtor("DigestStream: the algorithm has no name.");
    const canonical = DIGEST_ALGORITHMS[asciiLower(toStr(name))];
    if (canonical === undefined) {
      throw new DOMExceptionCtor("Unrecognized or unimplemented digest algorithm requested.", "NotSupportedError");
    }
    return canonical;
  }

  let nextDigestId = 1;

  class DigestStream extends WritableStream {
    #digest;
    #record;

    constructor(algorithm) {
      requireArgs(arguments.length, 1, "DigestStream");
      const name = digestAlgorithm(algorithm);
      const id = nextDigestId++;
      const record = { __proto__: null, bytesWritten: 0, state: "unstarted" }; // then "open", "over"
      let settle;
      const digest = new PromiseCtor((resolve, reject) => {
        settle = { __proto__: null, resolve, reject };
      });
      PromisePrototypeThen(digest, undefined, ignore); // marked handled, as workerd's is
      const fail = (reason) => {
        if (record.state === "open") digestStream(id, DIGEST_DROP, name, EMPTY);
        record.state = "over";
        settle.reject(reason);
      };
      const hash = (op, bytes) => {
        const first = record.state === "unstarted" ? DIGEST_START : 0;
        try {
          const result = digestStream(id, op | first, name, bytes);
          record.state = op === DIGEST_FINISH ? "over" : "open";
          return result;
        } catch (error) {
          fail(error);
          throw error;
        }
      };
      super({
        __proto__: null,
        write(chunk) {
          const bytes = typeof chunk === "string" ? utf8Encode(chunk) : bufferSourceBytes(chunk);
          if (bytes === null) {
            const error = new TypeErrorCtor(
              "DigestStream is a byte stream but received an object of non-ArrayBuffer/ArrayBufferView/string type on its writable side.",
            );
            fail(error);
            throw error;
          }
          const length = TypedArrayGetLength(bytes);
          if (length === 0 || record.state === "over") return;
          hash(UPDATE, bytes);
          record.bytesWritten += length;
        },
        close() {
          if (record.state !== "over") settle.resolve(hash(DIGEST_FINISH, EMPTY));
        },
        abort(reason) {
          if (record.state !== "over") fail(reason);
        },
      });
      this.#digest = digest;
      this.#record = record;
    }

    get digest() {
      return this.#digest;
    }

    get bytesWritten() {
      return this.#record.bytesWritten;
    }
  }

  defineTag(CompressionStream.prototype, "CompressionStream");
  defineTag(DecompressionStream.prototype, "DecompressionStream");
  defineTag(DigestStream.prototype, "DigestStream");
  defineGlobal("CompressionStream", CompressionStream);
  defineGlobal("DecompressionStream", DecompressionStream);
  // A member of Crypto, as workerd's nested type is: crypto.DigestStream.
  ObjectDefineProperty(web.Crypto.prototype, "DigestStream", {
    __proto__: null,
    value: DigestStream,
    writable: true,
    configurable: true,
  });
})
