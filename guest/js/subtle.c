/* The one native subtle.js needs (included by shim.c): subtle(operation, ...fields) runs one
 * WebCrypto operation on the host (rust/js/subtle/, which documents the operations). The host
 * reads each field where it lies in guest memory, so a megabyte to digest is never copied.
 *
 * A field is a string (passed as UTF-8) or a Uint8Array (subtle.js makes one for any buffer it is
 * given, an empty one for a detached buffer). The result is an array of Uint8Arrays, each over an
 * ArrayBuffer of its own, or, when the operation failed, a string "Name\nmessage" naming the
 * DOMException subtle.js throws. */

IMPORT("dynisolate", "subtle") int64_t host_subtle(const uint32_t *request, int32_t len);

#define SUBTLE_MAX_FIELDS 16

/* The reply's fields as Uint8Arrays, or the failure string; frees the reply. The array's elements
 * are defined, not set: setting index 0 of a new array would run a setter a tenant put on
 * Array.prototype, handing it a generated key's secret. */
static JSValue subtle_reply(JSContext *ctx, int64_t packed) {
    uint8_t *reply = (uint8_t *)(uintptr_t)((uint64_t)packed >> 32);
    size_t len = (uint32_t)packed, at = 1;
    JSValue result = JS_UNDEFINED;
    if (len < 1) {
        result = JS_ThrowInternalError(ctx, "subtle: empty reply from the host");
        goto done;
    }
    int failed = reply[0] != 0;
    result = failed ? JS_UNDEFINED : JS_NewArray(ctx);
    DynBuf failure;
    dbuf_init(&failure);
    for (uint32_t index = 0; at < len; index++) {
        if (len - at < 4 || len - at - 4 < read_u32(reply + at)) {
            JS_FreeValue(ctx, result);
            result = JS_ThrowInternalError(ctx, "subtle: malformed reply from the host");
            break;
        }
        uint32_t field = read_u32(reply + at);
        at += 4;
        if (failed) {
            if (index > 0) dbuf_putc(&failure, '\n');
            dbuf_put(&failure, reply + at, field);
        } else {
            JSValue bytes = JS_NewUint8ArrayCopy(ctx, reply + at, field);
            if (JS_IsException(bytes) || JS_DefinePropertyValueUint32(ctx, result, index, bytes, JS_PROP_C_W_E) < 0) {
                JS_FreeValue(ctx, result);
                result = JS_EXCEPTION;
                break;
            }
        }
        at += field;
    }
    if (failed && !JS_IsException(result)) result = JS_NewStringLen(ctx, (const char *)failure.buf, failure.size);
    dbuf_free(&failure);
done:
    release(reply);
    return result;
}

/* Lays out a field request (rust/js/imports.rs's `request_fields`): the count, then each field's
 * address and length in guest memory, where the host reads it. A string is passed as UTF-8 (kept
 * in `strings` until free_field_strings); with `bytes_allowed`, a Uint8Array is passed where it
 * lies, else every value is converted to a string. 0, or -1 with an exception pending. */
static int build_field_request(JSContext *ctx, const char *who, int argc, JSValueConst *argv, bool bytes_allowed,
                               uint32_t *request, const char **strings) {
    request[0] = (uint32_t)argc;
    for (int i = 0; i < argc; i++) {
        const uint8_t *bytes = NULL;
        size_t len = 0;
        if (!bytes_allowed || JS_IsString(argv[i])) {
            strings[i] = JS_ToCStringLen(ctx, &len, argv[i]);
            if (!strings[i]) return -1;
            bytes = (const uint8_t *)strings[i];
        } else if (!(bytes = JS_GetUint8Array(ctx, &len, argv[i]))) {
            return -1;
        }
        if (len > INT32_MAX) {
            JS_ThrowRangeError(ctx, "%s: a field is longer than 2 GiB", who);
            return -1;
        }
        request[1 + 2 * i] = (uint32_t)(uintptr_t)bytes;
        request[2 + 2 * i] = (uint32_t)len;
    }
    return 0;
}

static void free_field_strings(JSContext *ctx, int argc, const char **strings) {
    for (int i = 0; i < argc; i++)
        if (strings[i]) JS_FreeCString(ctx, strings[i]);
}

static JSValue js_subtle(JSContext *ctx, JSValueConst this_val, int argc, JSValueConst *argv) {
    if (argc < 1 || argc > SUBTLE_MAX_FIELDS) return JS_ThrowRangeError(ctx, "subtle: 1 to %d fields", SUBTLE_MAX_FIELDS);
    uint32_t request[1 + 2 * SUBTLE_MAX_FIELDS];
    const char *strings[SUBTLE_MAX_FIELDS] = {0};
    JSValue result = JS_EXCEPTION;
    if (!build_field_request(ctx, "subtle", argc, argv, true, request, strings))
        result = subtle_reply(ctx, host_subtle(request, (int32_t)((1 + 2 * argc) * sizeof request[0])));
    free_field_strings(ctx, argc, strings);
    return result;
}
