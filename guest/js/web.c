/* The natives web.js asks the host for (included by shim.c, after reply_string): TextDecoder's
 * encodings (served by rust/js/encoding.rs with encoding_rs), which the host reads where they lie,
 * and what only the engine can tell about a view's layout. */

IMPORT("dynisolate", "encoding_name")
int32_t host_encoding_name(const char *label, int32_t label_len, char *out, int32_t out_len);
IMPORT("dynisolate", "text_decode")
int64_t host_text_decode(const char *name, int32_t name_len, const uint8_t *data, int32_t data_len, int32_t flags,
                         int32_t stream);

/* The status byte of a text_decode reply (rust/js/encoding.rs). */
#define TEXT_LATIN1 0
#define TEXT_TYPE_ERROR 1
#define TEXT_RANGE_ERROR 2
#define TEXT_UTF16 3

/* Room for the longest encoding name (x-mac-cyrillic), with some to spare. */
#define ENCODING_NAME_BYTES 32

/* encodingName(label) -> the name TextDecoder's `encoding` reports, or null when the label names
 * no encoding TextDecoder offers. */
static JSValue js_encoding_name(JSContext *ctx, JSValueConst this_val, int argc, JSValueConst *argv) {
    size_t len;
    const char *label = JS_ToCStringLen(ctx, &len, argv[0]);
    if (!label) return JS_EXCEPTION;
    char name[ENCODING_NAME_BYTES];
    int32_t found = len > INT32_MAX ? -1 : host_encoding_name(label, (int32_t)len, name, sizeof name);
    JS_FreeCString(ctx, label);
    return found < 0 ? JS_NULL : JS_NewStringLen(ctx, name, (size_t)found);
}

/* textDecode(name, bytes, flags, stream) -> the text of a Uint8Array in encoding `name`; throws
 * the TypeError (malformed input under `fatal`) or RangeError the host names. The flags and stream
 * ids are rust/js/encoding.rs's. */
static JSValue js_text_decode(JSContext *ctx, JSValueConst this_val, int argc, JSValueConst *argv) {
    int32_t flags, stream;
    size_t name_len, len;
    if (JS_ToInt32(ctx, &flags, argv[2]) || JS_ToInt32(ctx, &stream, argv[3])) return JS_EXCEPTION;
    const uint8_t *bytes = JS_GetUint8Array(ctx, &len, argv[1]);
    if (!bytes) {
        if (JS_HasException(ctx)) return JS_EXCEPTION;
        bytes = (const uint8_t *)""; /* an empty array may have no storage */
    }
    if (len > INT32_MAX) return JS_ThrowRangeError(ctx, "TextDecoder.decode: the input is longer than 2 GiB");
    const char *name = JS_ToCStringLen(ctx, &name_len, argv[0]);
    if (!name) return JS_EXCEPTION;
    int64_t packed = host_text_decode(name, (int32_t)name_len, bytes, (int32_t)len, flags, stream);
    JS_FreeCString(ctx, name);
    uint8_t *reply = (uint8_t *)(uintptr_t)((uint64_t)packed >> 32);
    size_t reply_len = (uint32_t)packed;
    JSValue result;
    if (reply_len < 1) {
        result = JS_ThrowInternalError(ctx, "textDecode: empty reply from the host");
    } else {
        /* The text comes in the form of a QuickJS string (Latin-1, or UTF-16 after a pad byte),
         * so it is copied as it is; an error's message is UTF-8. */
        const char *text = (const char *)reply + 1;
        int text_len = (int)(reply_len - 1);
        if (reply[0] == TEXT_LATIN1)
            result = text_len == 0 ? js_empty_string(ctx->rt) : js_new_string8_len(ctx, text, text_len);
        else if (reply[0] == TEXT_UTF16 && reply_len % 2 == 0)
            result = JS_NewStringUTF16(ctx, (const uint16_t *)(reply + 2), (reply_len - 2) / 2);
        else if (reply[0] == TEXT_TYPE_ERROR) result = JS_ThrowTypeError(ctx, "%.*s", text_len, text);
        else if (reply[0] == TEXT_RANGE_ERROR) result = JS_ThrowRangeError(ctx, "%.*s", text_len, text);
        else result = JS_ThrowInternalError(ctx, "textDecode: malformed reply from the host");
    }
    release(reply);
    return result;
}

/* The layout of an ArrayBuffer view that its getters cannot tell (structuredClone needs both):
 * VIEW_TRACKS_LENGTH when it follows a resizable buffer's length (constructed without one), and
 * VIEW_OUT_OF_BOUNDS when its buffer shrank below it or was detached. */
#define VIEW_TRACKS_LENGTH 1
#define VIEW_OUT_OF_BOUNDS 2

/* viewLayout(view) -> the VIEW_ flags of a TypedArray or DataView, or -1 for anything else. */
static JSValue js_view_layout(JSContext *ctx, JSValueConst this_val, int argc, JSValueConst *argv) {
    if (JS_VALUE_GET_TAG(argv[0]) != JS_TAG_OBJECT) return JS_NewInt32(ctx, -1);
    JSObject *p = JS_VALUE_GET_OBJ(argv[0]);
    bool out_of_bounds;
    if (is_typed_array(p->class_id)) out_of_bounds = typed_array_is_oob(p);
    else if (p->class_id == JS_CLASS_DATAVIEW) out_of_bounds = dataview_is_oob(p);
    else return JS_NewInt32(ctx, -1);
    return JS_NewInt32(ctx, (p->u.typed_array->track_rab ? VIEW_TRACKS_LENGTH : 0) |
                                (out_of_bounds ? VIEW_OUT_OF_BOUNDS : 0));
}

/* bytesView(x, allowShared) -> a new Uint8Array over the bytes a BufferSource holds now: an
 * ArrayBuffer (a SharedArrayBuffer only with `allowShared`), or any TypedArray or DataView, over
 * the range its getters report; an empty one of its own when the buffer is detached or the view
 * lies outside it; null for anything else. One native call where web.js's bufferSourceBytes read
 * a view's buffer, offset and length through four getters. */
static JSValue js_bytes_view(JSContext *ctx, JSValueConst this_val, int argc, JSValueConst *argv) {
    if (JS_VALUE_GET_TAG(argv[0]) != JS_TAG_OBJECT) return JS_NULL;
    JSObject *p = JS_VALUE_GET_OBJ(argv[0]);
    JSObject *buffer;
    uint64_t offset = 0, length = 0;
    if (is_typed_array(p->class_id) || p->class_id == JS_CLASS_DATAVIEW) {
        JSTypedArray *view = p->u.typed_array;
        buffer = view->buffer;
        bool typed = p->class_id != JS_CLASS_DATAVIEW;
        if (!(typed ? typed_array_is_oob(p) : dataview_is_oob(p))) {
            offset = view->offset;
            if (!view->track_rab) length = view->length;
            else if (typed) length = (uint64_t)p->u.array.count << typed_array_size_log2(p->class_id);
            else length = buffer->u.array_buffer->byte_length - view->offset;
        }
    } else if (p->class_id == JS_CLASS_ARRAY_BUFFER ||
               (p->class_id == JS_CLASS_SHARED_ARRAY_BUFFER && JS_ToBool(ctx, argv[1]))) {
        buffer = p;
        if (!p->u.array_buffer->detached) length = p->u.array_buffer->byte_length;
    } else {
        return JS_NULL;
    }
    if (length == 0) return JS_NewUint8ArrayCopy(ctx, (const uint8_t *)"", 0);
    JSValue bytes = js_create_from_ctor(ctx, JS_UNDEFINED, JS_CLASS_UINT8_ARRAY);
    if (JS_IsException(bytes)) return bytes;
    if (typed_array_init(ctx, bytes, js_dup(JS_MKPTR(JS_TAG_OBJECT, buffer)), offset, length, false)) {
        JS_FreeValue(ctx, bytes);
        return JS_EXCEPTION;
    }
    return bytes;
}
