/* The natives urlpattern.js asks the host for (included by shim.c, after reply_string):
 * rust/js/urlpattern.rs parses a pattern with the urlpattern crate, and canonicalises a
 * URLPatternInit to match. Each takes a JSON request, which the host reads where it lies, and
 * returns the reply's JSON text, or throws the TypeError the host names. */

IMPORT("dynisolate", "urlpattern_parse") int64_t host_urlpattern_parse(const char *request, int32_t len);
IMPORT("dynisolate", "urlpattern_match_input")
int64_t host_urlpattern_match_input(const char *request, int32_t len);

/* The status byte of a reply (rust/js/urlpattern.rs). */
#define URLPATTERN_OK 0
#define URLPATTERN_TYPE_ERROR 1

/* Sends the JSON request argv[0] through `host` and turns the reply into JSON text or a TypeError. */
static JSValue urlpattern_call(JSContext *ctx, JSValueConst *argv, int64_t (*host)(const char *, int32_t)) {
    size_t len;
    const char *request = JS_ToCStringLen(ctx, &len, argv[0]);
    if (!request) return JS_EXCEPTION;
    /* Past INT32_MAX the host would see a negative length; the host's own limit is far lower. */
    int64_t packed = host(request, len > INT32_MAX ? INT32_MAX : (int32_t)len);
    JS_FreeCString(ctx, request);
    const char *reply = (const char *)(uintptr_t)((uint64_t)packed >> 32);
    size_t reply_len = (uint32_t)packed;
    JSValue result;
    if (reply_len < 1) result = JS_ThrowInternalError(ctx, "URLPattern: empty reply from the host");
    else if (reply[0] == URLPATTERN_OK) result = JS_NewStringLen(ctx, reply + 1, reply_len - 1);
    else if (reply[0] == URLPATTERN_TYPE_ERROR)
        result = JS_ThrowTypeError(ctx, "%.*s", (int)(reply_len - 1), reply + 1);
    else result = JS_ThrowInternalError(ctx, "URLPattern: malformed reply from the host");
    release((void *)reply);
    return result;
}

/* urlPatternParse(requestJson) -> {components, hasRegExpGroups} as JSON, or a TypeError. */
static JSValue js_urlpattern_parse(JSContext *ctx, JSValueConst this_val, int argc, JSValueConst *argv) {
    return urlpattern_call(ctx, argv, host_urlpattern_parse);
}

/* urlPatternMatchInput(initJson) -> the eight canonical components as JSON, or null's JSON. */
static JSValue js_urlpattern_match_input(JSContext *ctx, JSValueConst this_val, int argc, JSValueConst *argv) {
    return urlpattern_call(ctx, argv, host_urlpattern_match_input);
}
