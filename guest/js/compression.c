/* The natives compression.js asks the host for (included by shim.c, after web.c): streams whose
 * state lives on the host, CompressionStream and DecompressionStream's zlib state
 * (rust/js/compression/, with flate2 and brotli) and DigestStream's hash state (rust/js/digest_stream.rs).
 * The host reads the guest's bytes where they lie. */

IMPORT("dynisolate", "compression")
int64_t host_compression(int32_t stream, int32_t flags, const uint8_t *data, int32_t data_len);
IMPORT("dynisolate", "digest_stream")
int64_t host_digest_stream(int32_t stream, int32_t op, const char *name, int32_t name_len, const uint8_t *data,
                           int32_t data_len);

/* The replies' statuses and layout (rust/js/compression/mod.rs, digest_stream.rs). */
#define STREAM_OK 0
#define STREAM_TYPE_ERROR 1
#define STREAM_RANGE_ERROR 2
#define COMPRESSION_HEADER_BYTES 8

/* Throws the error a failed reply names (and frees it): JS_EXCEPTION. */
static JSValue throw_stream_reply(JSContext *ctx, uint8_t *reply, size_t len) {
    int text_len = (int)(len - 1);
    const char *text = (const char *)reply + 1;
    if (reply[0] == STREAM_TYPE_ERROR) JS_ThrowTypeError(ctx, "%.*s", text_len, text);
    else if (reply[0] == STREAM_RANGE_ERROR) JS_ThrowRangeError(ctx, "%.*s", text_len, text);
    else JS_ThrowInternalError(ctx, "malformed stream reply from the host");
    release(reply);
    return JS_EXCEPTION;
}

/* compressionStep(id, flags, bytes, offset) -> [piece, offset, more]: runs the Uint8Array `bytes`
 * from `offset` through compression stream `id` under `flags` (rust/js/compression/) for one
 * piece of output (a new Uint8Array, or undefined when there is none), the offset of the first
 * byte not yet consumed, and whether to call again for more; throws the TypeError (bad data) or
 * RangeError (too many streams) the host names. compression.js calls it until `more` is false,
 * enqueueing each piece; the array is looked up afresh each time, so the host is only ever given
 * bytes it still has, whatever ran in between. */
static JSValue js_compression_step(JSContext *ctx, JSValueConst this_val, int argc, JSValueConst *argv) {
    int32_t id, flags;
    int64_t offset;
    if (JS_ToInt32(ctx, &id, argv[0]) || JS_ToInt32(ctx, &flags, argv[1]) || JS_ToInt64(ctx, &offset, argv[3]))
        return JS_EXCEPTION;
    size_t len = 0;
    const uint8_t *bytes = JS_GetUint8Array(ctx, &len, argv[2]);
    if (!bytes) {
        if (JS_HasException(ctx)) return JS_EXCEPTION;
        bytes = (const uint8_t *)""; /* an empty array has no storage */
        len = 0;
    }
    if (offset < 0 || (uint64_t)offset > len)
        return JS_ThrowTypeError(ctx, "The chunk's buffer shrank while it was being compressed.");
    if (len - (size_t)offset > INT32_MAX) return JS_ThrowRangeError(ctx, "A compression chunk is longer than 2 GiB.");
    int64_t packed = host_compression(id, flags, bytes + offset, (int32_t)(len - (size_t)offset));
    uint8_t *reply = (uint8_t *)(uintptr_t)((uint64_t)packed >> 32);
    size_t reply_len = (uint32_t)packed;
    if (reply_len < 1 || (reply[0] == STREAM_OK && reply_len < COMPRESSION_HEADER_BYTES)) {
        release(reply);
        return JS_ThrowInternalError(ctx, "compressionStep: malformed reply from the host");
    }
    if (reply[0] != STREAM_OK) return throw_stream_reply(ctx, reply, reply_len);
    int more = reply[1];
    offset += read_u32(reply + 4);
    size_t out_len = reply_len - COMPRESSION_HEADER_BYTES;
    JSValue piece = out_len > 0 ? JS_NewUint8ArrayCopy(ctx, reply + COMPRESSION_HEADER_BYTES, out_len) : JS_UNDEFINED;
    release(reply);
    if (JS_IsException(piece)) return piece;
    JSValue result = JS_NewArray(ctx);
    if (JS_IsException(result)) {
        JS_FreeValue(ctx, piece);
        return result;
    }
    /* Defined, not set: a set would run a tenant's Array.prototype index setters on our data. */
    if (JS_DefinePropertyValueUint32(ctx, result, 0, piece, JS_PROP_C_W_E) < 0 ||
        JS_DefinePropertyValueUint32(ctx, result, 1, JS_NewInt64(ctx, offset), JS_PROP_C_W_E) < 0 ||
        JS_DefinePropertyValueUint32(ctx, result, 2, JS_NewBool(ctx, more), JS_PROP_C_W_E) < 0) {
        JS_FreeValue(ctx, result);
        return JS_EXCEPTION;
    }
    return result;
}

/* digestStream(id, op, name, bytes) -> an ArrayBuffer: `bytes` (a Uint8Array) hashed into
 * DigestStream `id` under operation `op` with algorithm `name` (rust/js/digest_stream.rs); the
 * digest when `op` finishes the stream, else empty. Throws the RangeError (too many streams) the
 * host names. */
static JSValue js_digest_stream(JSContext *ctx, JSValueConst this_val, int argc, JSValueConst *argv) {
    int32_t id, op;
    size_t name_len, len = 0;
    if (JS_ToInt32(ctx, &id, argv[0]) || JS_ToInt32(ctx, &op, argv[1])) return JS_EXCEPTION;
    const uint8_t *bytes = JS_GetUint8Array(ctx, &len, argv[3]);
    if (!bytes) {
        if (JS_HasException(ctx)) return JS_EXCEPTION;
        bytes = (const uint8_t *)"";
        len = 0;
    }
    if (len > INT32_MAX) return JS_ThrowRangeError(ctx, "A DigestStream chunk is longer than 2 GiB.");
    const char *name = JS_ToCStringLen(ctx, &name_len, argv[2]);
    if (!name) return JS_EXCEPTION;
    int64_t packed = host_digest_stream(id, op, name, (int32_t)name_len, bytes, (int32_t)len);
    JS_FreeCString(ctx, name);
    uint8_t *reply = (uint8_t *)(uintptr_t)((uint64_t)packed >> 32);
    size_t reply_len = (uint32_t)packed;
    if (reply_len < 1) {
        release(reply);
        return JS_ThrowInternalError(ctx, "digestStream: empty reply from the host");
    }
    if (reply[0] != STREAM_OK) return throw_stream_reply(ctx, reply, reply_len);
    JSValue digest = JS_NewArrayBufferCopy(ctx, reply + 1, reply_len - 1);
    release(reply);
    return digest;
}
