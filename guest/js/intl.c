/* The one native intl.js needs (included by shim.c, after subtle.c, whose field request it uses): intl(operation, ...fields)
 * runs one Intl operation on the host (rust/js/intl/, which documents the operations and the
 * specs), where ICU4X and all locale data live. Every field is a string, read by the host where
 * it lies in guest memory (as UTF-8); the result is the host's text, or the RangeError or
 * TypeError it names is thrown. */

IMPORT("dynisolate", "intl") int64_t host_intl(const uint32_t *request, int32_t len);

#define INTL_MAX_FIELDS 4

/* The status byte of an intl reply. */
#define INTL_OK 0
#define INTL_RANGE_ERROR 1
#define INTL_TYPE_ERROR 2

static JSValue js_intl(JSContext *ctx, JSValueConst this_val, int argc, JSValueConst *argv) {
    if (argc < 1 || argc > INTL_MAX_FIELDS) return JS_ThrowRangeError(ctx, "intl: 1 to %d fields", INTL_MAX_FIELDS);
    uint32_t request[1 + 2 * INTL_MAX_FIELDS];
    const char *strings[INTL_MAX_FIELDS] = {0};
    JSValue result = JS_EXCEPTION;
    if (build_field_request(ctx, "intl", argc, argv, false, request, strings)) goto done;
    int64_t packed = host_intl(request, (int32_t)((1 + 2 * argc) * sizeof request[0]));
    uint8_t *reply = (uint8_t *)(uintptr_t)((uint64_t)packed >> 32);
    size_t reply_len = (uint32_t)packed;
    const char *text = (const char *)reply + 1;
    int text_len = reply_len > 0 ? (int)(reply_len - 1) : 0;
    if (reply_len < 1) result = JS_ThrowInternalError(ctx, "intl: empty reply from the host");
    else if (reply[0] == INTL_OK) result = JS_NewStringLen(ctx, text, (size_t)text_len);
    else if (reply[0] == INTL_RANGE_ERROR) result = JS_ThrowRangeError(ctx, "%.*s", text_len, text);
    else if (reply[0] == INTL_TYPE_ERROR) result = JS_ThrowTypeError(ctx, "%.*s", text_len, text);
    else result = JS_ThrowInternalError(ctx, "intl: malformed reply from the host");
    release(reply);
done:
    free_field_strings(ctx, argc, strings);
    return result;
}
