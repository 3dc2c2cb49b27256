/* Structured values in C (included by shim.c, after wire.c): what crosses to and from the host
 * when plain JSON cannot carry it faithfully (undefined, bytes, Date, Map, Set, BigInt, Error,
 * non-finite numbers, shared and cyclic references). The layout is rust/js/protocol.rs's "clone"
 * section; tests/rust/protocol.rs checks the tags below against it.
 *
 * Writing is one pass over the value: each property is read once (a getter runs once), and what
 * is read is what is written. A function in an env call's arguments crosses as one the host
 * may call while it serves that env call. Anything else Workers RPC would not carry (other
 * functions, symbols, proxies, class instances, WeakMaps, typed arrays other than Uint8Array)
 * throws a TypeError naming it, rather than arriving as {} or not at all. Reading builds values with the intrinsics only, and
 * defines properties rather than setting them, so no tenant setter or prototype runs. */

#define CLONE_MAGIC 0xC1
#define CLONE_MAX_DEPTH 128
#define CLONE_UNDEFINED 'u'
#define CLONE_NULL 'n'
#define CLONE_TRUE 't'
#define CLONE_FALSE 'f'
#define CLONE_INT 'i'
#define CLONE_FLOAT 'd'
#define CLONE_BIGINT 'z'
#define CLONE_STRING 's'
#define CLONE_ARRAY 'a'
#define CLONE_OBJECT 'o'
#define CLONE_MAP 'm'
#define CLONE_SET 'e'
#define CLONE_BYTES 'b'
#define CLONE_DATE 'D'
#define CLONE_ERROR 'E'
#define CLONE_REF 'r'
#define CLONE_STUB 'S'
#define CLONE_REQUEST 'Q'
#define CLONE_RESPONSE 'P'
#define CLONE_FUNCTION 'F'

/* env.c: adds RPC stub methods to `object` (each name NUL-terminated in `methods`). */
static int add_stub_methods(JSContext *ctx, JSValueConst object, const char *name, uint32_t name_len,
                            const char *methods, uint32_t methods_len);

/* Intrinsics from primordials.js, captured before any tenant code runs. */
static JSValue clone_map, clone_set, clone_map_set, clone_set_add, clone_bigint;

/* web.js's Request and Response helpers: [0] isRequest, [1] isResponse, [2] requestToClone,
 * [3] responseToClone, [4] requestFromClone, [5] responseFromClone. */
static JSValue clone_http[6];

static int clone_web_init(JSContext *ctx, JSValueConst web) {
    static const char *names[6] = {"isRequest",      "isResponse",       "requestToClone",
                                   "responseToClone", "requestFromClone", "responseFromClone"};
    for (int i = 0; i < 6; i++) {
        clone_http[i] = JS_GetPropertyStr(ctx, web, names[i]);
        if (!JS_IsFunction(ctx, clone_http[i])) return -1;
    }
    return 0;
}

static int clone_init(JSContext *ctx, JSValueConst primordials) {
    static const char *names[5] = {"MapCtor", "SetCtor", "MapPrototypeSet", "SetPrototypeAdd", "BigIntCtor"};
    JSValue *slots[5] = {&clone_map, &clone_set, &clone_map_set, &clone_set_add, &clone_bigint};
    for (int i = 0; i < 5; i++) {
        *slots[i] = JS_GetPropertyStr(ctx, primordials, names[i]);
        if (!JS_IsFunction(ctx, *slots[i])) return -1;
    }
    return 0;
}

/* ---- writing ---- */

/* A growing list of values, each held (a reference of its own) until the list is freed. */
typedef struct {
    JSValue *items;
    uint32_t count, capacity;
} Values;

static int values_push(JSContext *ctx, Values *list, JSValueConst v) {
    if (list->count == list->capacity) {
        uint32_t capacity = list->capacity ? list->capacity * 2 : 16;
        JSValue *grown = js_realloc(ctx, list->items, capacity * sizeof *grown);
        if (!grown) return -1;
        list->items = grown;
        list->capacity = capacity;
    }
    list->items[list->count++] = JS_DupValue(ctx, v);
    return 0;
}

static void values_free(JSContext *ctx, Values *list) {
    for (uint32_t i = 0; i < list->count; i++) JS_FreeValue(ctx, list->items[i]);
    js_free(ctx, list->items);
}

typedef struct {
    JSContext *ctx;
    DynBuf *b;
    int functions; /* functions cross as CLONE_FUNCTION (an env call's arguments), else are refused */
    Seen seen;
    uint32_t objects; /* objects written so far: the next one's index */
    /* The objects in `seen`, kept alive to the end: one a getter made and dropped could
     * otherwise be freed, and a later object at its address taken for it. */
    Values held;
} CloneWriter;

static void clone_put_u32(DynBuf *b, uint32_t v) {
    uint8_t le[4] = {(uint8_t)v, (uint8_t)(v >> 8), (uint8_t)(v >> 16), (uint8_t)(v >> 24)};
    dbuf_put(b, le, 4);
}

static void patch_u32(DynBuf *b, size_t at, uint32_t v) {
    if (b->error) return;
    uint8_t *p = b->buf + at;
    p[0] = (uint8_t)v, p[1] = (uint8_t)(v >> 8), p[2] = (uint8_t)(v >> 16), p[3] = (uint8_t)(v >> 24);
}

/* A string's UTF-8 (a lone surrogate as its own three bytes), after its u32 length. */
static void clone_string(DynBuf *b, JSString *p) {
    size_t at = b->size;
    clone_put_u32(b, 0);
    if (!p->is_wide_char) {
        const uint8_t *s = str8(p);
        for (uint32_t i = 0, run; i < p->len; i = run + 1) {
            for (run = i; run < p->len && s[run] < 0x80; run++)
                ;
            dbuf_put(b, s + i, run - i);
            if (run == p->len) break;
            uint8_t u[2] = {(uint8_t)(0xc0 | (s[run] >> 6)), (uint8_t)(0x80 | (s[run] & 0x3f))};
            dbuf_put(b, u, 2);
        }
    } else {
        const uint16_t *s = str16(p);
        for (uint32_t i = 0; i < p->len;) {
            uint32_t c = s[i++];
            if (is_hi_surrogate(c) && i < p->len && is_lo_surrogate(s[i])) c = from_surrogate(c, s[i++]);
            uint8_t u[4];
            size_t n;
            if (c < 0x80) u[0] = (uint8_t)c, n = 1;
            else if (c < 0x800) u[0] = (uint8_t)(0xc0 | (c >> 6)), u[1] = (uint8_t)(0x80 | (c & 0x3f)), n = 2;
            else if (c < 0x10000)
                u[0] = (uint8_t)(0xe0 | (c >> 12)), u[1] = (uint8_t)(0x80 | ((c >> 6) & 0x3f)),
                u[2] = (uint8_t)(0x80 | (c & 0x3f)), n = 3;
            else
                u[0] = (uint8_t)(0xf0 | (c >> 18)), u[1] = (uint8_t)(0x80 | ((c >> 12) & 0x3f)),
                u[2] = (uint8_t)(0x80 | ((c >> 6) & 0x3f)), u[3] = (uint8_t)(0x80 | (c & 0x3f)), n = 4;
            dbuf_put(b, u, n);
        }
    }
    patch_u32(b, at, (uint32_t)(b->size - at - 4));
}

/* Writes any string-like value (a rope too) as a string; -1 with an exception on failure. */
static int clone_string_value(CloneWriter *w, JSValueConst v) {
    JSValue s = JS_ToString(w->ctx, v);
    if (JS_IsException(s)) return -1;
    clone_string(w->b, JS_VALUE_GET_STRING(s));
    JS_FreeValue(w->ctx, s);
    return 0;
}

/* Throws "WHAT cannot be sent to the host (at key K)"; always -1. */
static int clone_refuse(CloneWriter *w, const char *what, JSAtom key) {
    const char *k = key == JS_ATOM_NULL ? NULL : JS_AtomToCString(w->ctx, key);
    if (k) {
        JS_ThrowTypeError(w->ctx, "%s cannot be sent to the host (at key \"%s\")", what, k);
        JS_FreeCString(w->ctx, k);
    } else {
        JS_ThrowTypeError(w->ctx, "%s cannot be sent to the host", what);
    }
    return -1;
}

/* The name of an object's class for messages: its constructor's name, read without running code. */
static void class_name(JSContext *ctx, JSObject *p, char *out, size_t size) {
    snprintf(out, size, "an object");
    JSObject *proto = p->shape->proto;
    if (!proto) return;
    JSProperty *pr;
    JSShapeProperty *prs = find_own_property(&pr, proto, JS_ATOM_constructor);
    if (!prs || (prs->flags & JS_PROP_TMASK) != JS_PROP_NORMAL || !JS_IsObject(pr->u.value)) return;
    JSObject *ctor = JS_VALUE_GET_OBJ(pr->u.value);
    prs = find_own_property(&pr, ctor, JS_ATOM_name);
    if (!prs || (prs->flags & JS_PROP_TMASK) != JS_PROP_NORMAL || !JS_IsString(pr->u.value)) return;
    const char *name = JS_ToCString(ctx, pr->u.value);
    if (name && *name) snprintf(out, size, "an object of class %s", name);
    JS_FreeCString(ctx, name);
}

static int clone_value(CloneWriter *w, JSValueConst v, JSAtom key, int depth);

/* Writes elements 0..count-1 of an array, each read once (a hole reads as undefined). */
static int clone_items(CloneWriter *w, JSValueConst holder, uint32_t count, int depth) {
    for (uint32_t i = 0; i < count; i++) {
        JSValue e = JS_GetPropertyUint32(w->ctx, holder, i);
        if (JS_IsException(e)) return -1;
        int failed = clone_value(w, e, JS_ATOM_NULL, depth + 1);
        JS_FreeValue(w->ctx, e);
        if (failed) return -1;
    }
    return 0;
}

static int clone_plain_object(CloneWriter *w, JSValueConst v, JSObject *p, int depth) {
    JSPropertyEnum *names;
    uint32_t count;
    if (JS_GetOwnPropertyNamesInternal(w->ctx, &names, &count, p, JS_GPN_STRING_MASK | JS_GPN_ENUM_ONLY)) return -1;
    dbuf_putc(w->b, CLONE_OBJECT);
    clone_put_u32(w->b, count);
    int failed = 0;
    for (uint32_t i = 0; i < count && !failed; i++) {
        JSValue name = JS_AtomToString(w->ctx, names[i].atom);
        JSValue e = JS_IsException(name) ? JS_EXCEPTION : JS_GetProperty(w->ctx, v, names[i].atom);
        if (JS_IsException(e)) {
            failed = 1;
        } else {
            clone_string(w->b, JS_VALUE_GET_STRING(name));
            failed = clone_value(w, e, names[i].atom, depth + 1);
        }
        JS_FreeValue(w->ctx, name);
        JS_FreeValue(w->ctx, e);
    }
    js_free_prop_enum(w->ctx, names, count);
    return failed ? -1 : 0;
}

/* A Map's or Set's entries, copied out first: writing them may run getters that change it. */
static int clone_collection(CloneWriter *w, JSObject *p, int is_map, int depth) {
    JSMapState *s = p->u.map_state;
    uint32_t count = 0, n = 0;
    struct list_head *el;
    list_for_each(el, &s->records) if (!list_entry(el, JSMapRecord, link)->empty) count++;
    JSValue *items = js_malloc(w->ctx, sizeof(JSValue) * (count ? count : 1) * 2);
    if (!items) return -1;
    list_for_each(el, &s->records) {
        JSMapRecord *mr = list_entry(el, JSMapRecord, link);
        if (mr->empty) continue;
        items[n++] = JS_DupValue(w->ctx, mr->key);
        items[n++] = is_map ? JS_DupValue(w->ctx, mr->value) : JS_UNDEFINED;
    }
    dbuf_putc(w->b, is_map ? CLONE_MAP : CLONE_SET);
    clone_put_u32(w->b, count);
    int failed = 0;
    for (uint32_t i = 0; i < n && !failed; i += 2) {
        failed = clone_value(w, items[i], JS_ATOM_NULL, depth + 1);
        if (!failed && is_map) failed = clone_value(w, items[i + 1], JS_ATOM_NULL, depth + 1);
    }
    for (uint32_t i = 0; i < n; i++) JS_FreeValue(w->ctx, items[i]);
    js_free(w->ctx, items);
    return failed ? -1 : 0;
}

/* An Error's name, message and stack, each read once (as strings; unreadable parts empty). */
static int clone_error(CloneWriter *w, JSValueConst v) {
    static const JSAtom parts[3] = {JS_ATOM_name, JS_ATOM_message, JS_ATOM_stack};
    dbuf_putc(w->b, CLONE_ERROR);
    for (int i = 0; i < 3; i++) {
        JSValue part = JS_GetProperty(w->ctx, v, parts[i]);
        if (JS_IsException(part)) return -1;
        int failed = 0;
        if (JS_IsUndefined(part)) clone_put_u32(w->b, 0); /* an empty string */
        else failed = clone_string_value(w, part);
        JS_FreeValue(w->ctx, part);
        if (failed) return -1;
    }
    return 0;
}

static int clone_bytes(CloneWriter *w, const uint8_t *bytes, size_t len) {
    if (len > UINT32_MAX) return clone_refuse(w, "a buffer over 4 GiB", JS_ATOM_NULL);
    dbuf_putc(w->b, CLONE_BYTES);
    clone_put_u32(w->b, (uint32_t)len);
    dbuf_put(w->b, bytes, len);
    return 0;
}

/* 1 for a Request, 2 for a Response, 0 for anything else; -1 with an exception. */
static int clone_http_kind(JSContext *ctx, JSValueConst v) {
    for (int kind = 0; kind < 2; kind++) {
        JSValue is = JS_Call(ctx, clone_http[kind], JS_UNDEFINED, 1, &v);
        if (JS_IsException(is)) return -1;
        int yes = JS_ToBool(ctx, is);
        JS_FreeValue(ctx, is);
        if (yes) return kind + 1;
    }
    return 0;
}

/* A Request or Response: counted as an object, then its record (consuming its body). */
static int clone_http_message(CloneWriter *w, JSValueConst v, JSObject *p, int request, int depth) {
    JSContext *ctx = w->ctx;
    if (values_push(ctx, &w->held, v) || seen_add(ctx, &w->seen, p, w->objects++)) {
        JS_ThrowOutOfMemory(ctx);
        return -1;
    }
    JSValue record = JS_Call(ctx, clone_http[request ? 2 : 3], JS_UNDEFINED, 1, &v);
    if (JS_IsException(record)) return -1;
    dbuf_putc(w->b, request ? CLONE_REQUEST : CLONE_RESPONSE);
    int failed = clone_value(w, record, JS_ATOM_NULL, depth + 1);
    JS_FreeValue(ctx, record);
    return failed;
}

/* The functions the env calls in progress passed to the host, by index: the host may call one
 * (dynisolate_call_function) until the env call that sent it returns, which drops its own. */
static Values clone_functions;

/* Drops the functions sent since the table held `count`. */
static void clone_functions_drop(JSContext *ctx, uint32_t count) {
    while (clone_functions.count > count) JS_FreeValue(ctx, clone_functions.items[--clone_functions.count]);
}

static JSValue js_env_stub(JSContext *ctx, JSValueConst this_val, int argc, JSValueConst *argv, int magic,
                           JSValueConst *func_data);

/* A function in an env call's arguments: an index into clone_functions. Never remembered as an
 * object: the same function twice is two entries, each callable. An env binding's or a stub's
 * own method is refused: it would only call the host back. */
static int clone_function(CloneWriter *w, JSValueConst v, JSAtom key) {
    JSObject *p = JS_VALUE_GET_OBJ(v);
    if (p->class_id == JS_CLASS_C_FUNCTION_DATA && p->u.c_function_data_record->func == js_env_stub)
        return clone_refuse(w, "an env binding or RPC stub", key);
    if (values_push(w->ctx, &clone_functions, v)) {
        JS_ThrowOutOfMemory(w->ctx);
        return -1;
    }
    dbuf_putc(w->b, CLONE_FUNCTION);
    clone_put_u32(w->b, clone_functions.count - 1);
    return 0;
}

static int clone_object(CloneWriter *w, JSValueConst v, JSAtom key, int depth) {
    JSContext *ctx = w->ctx;
    JSObject *p = JS_VALUE_GET_OBJ(v);
    if (w->seen.capacity) {
        uint32_t at = seen_slot(&w->seen, p);
        if (w->seen.keys[at]) {
            dbuf_putc(w->b, CLONE_REF);
            clone_put_u32(w->b, w->seen.indices[at]);
            return 0;
        }
    }
    if (depth >= CLONE_MAX_DEPTH) {
        JS_ThrowRangeError(ctx, "a value nested deeper than %d levels cannot be sent to the host", CLONE_MAX_DEPTH);
        return -1;
    }
    if (JS_IsFunction(ctx, v)) return w->functions ? clone_function(w, v, key) : clone_refuse(w, "a function", key);
    switch (p->class_id) {
    case JS_CLASS_ARRAY: case JS_CLASS_OBJECT: case JS_CLASS_MAP: case JS_CLASS_SET: case JS_CLASS_DATE:
    case JS_CLASS_ERROR: case JS_CLASS_ARRAY_BUFFER: case JS_CLASS_UINT8_ARRAY:
        break;
    case JS_CLASS_PROXY: return clone_refuse(w, "a Proxy", key);
    case JS_CLASS_WEAKMAP: return clone_refuse(w, "a WeakMap", key);
    case JS_CLASS_WEAKSET: return clone_refuse(w, "a WeakSet", key);
    case JS_CLASS_WEAK_REF: return clone_refuse(w, "a WeakRef", key);
    case JS_CLASS_SHARED_ARRAY_BUFFER: return clone_refuse(w, "a SharedArrayBuffer", key);
    case JS_CLASS_PROMISE: return clone_refuse(w, "a Promise (await it first)", key);
    default:
        if (p->class_id >= JS_CLASS_UINT8C_ARRAY && p->class_id <= JS_CLASS_DATAVIEW)
            return clone_refuse(w, "a typed array other than Uint8Array (send a Uint8Array of its bytes)", key);
        return clone_refuse(w, "an object of this kind", key);
    }
    if (p->class_id == JS_CLASS_OBJECT) {
        JSObject *proto = p->shape->proto;
        if (proto && proto != JS_VALUE_GET_OBJ(ctx->class_proto[JS_CLASS_OBJECT])) {
            int http = clone_http_kind(ctx, v);
            if (http < 0) return -1;
            if (http) return clone_http_message(w, v, p, http == 1, depth);
            char what[96];
            class_name(ctx, p, what, sizeof what);
            return clone_refuse(w, what, key); /* as Workers RPC: only plain objects travel by value */
        }
    }
    if (values_push(ctx, &w->held, v) || seen_add(ctx, &w->seen, p, w->objects++)) {
        JS_ThrowOutOfMemory(ctx);
        return -1;
    }
    switch (p->class_id) {
    case JS_CLASS_ARRAY: {
        int64_t len;
        if (js_get_length64(ctx, &len, v)) return -1;
        if (len > UINT32_MAX) return clone_refuse(w, "an array this long", key);
        dbuf_putc(w->b, CLONE_ARRAY);
        clone_put_u32(w->b, (uint32_t)len);
        return clone_items(w, v, (uint32_t)len, depth);
    }
    case JS_CLASS_OBJECT:
        return clone_plain_object(w, v, p, depth);
    case JS_CLASS_MAP:
    case JS_CLASS_SET:
        return clone_collection(w, p, p->class_id == JS_CLASS_MAP, depth);
    case JS_CLASS_DATE: {
        double ms;
        if (JS_ThisTimeValue(ctx, &ms, v)) return -1;
        if (!isfinite(ms)) return clone_refuse(w, "an invalid Date", key);
        dbuf_putc(w->b, CLONE_DATE);
        dbuf_put(w->b, (const uint8_t *)&ms, 8);
        return 0;
    }
    case JS_CLASS_ERROR:
        return clone_error(w, v);
    case JS_CLASS_ARRAY_BUFFER: {
        size_t size;
        uint8_t *bytes = JS_GetArrayBuffer(ctx, &size, v);
        if (!bytes && size) return -1;
        if (!bytes) JS_FreeValue(ctx, JS_GetException(ctx)); /* detached: no bytes */
        return clone_bytes(w, bytes, bytes ? size : 0);
    }
    default: { /* JS_CLASS_UINT8_ARRAY */
        size_t size;
        uint8_t *bytes = JS_GetUint8Array(ctx, &size, v);
        if (!bytes) {
            JS_FreeValue(ctx, JS_GetException(ctx));
            return clone_refuse(w, "a Uint8Array whose buffer is detached", key);
        }
        return clone_bytes(w, bytes, size);
    }
    }
}

static int clone_value(CloneWriter *w, JSValueConst v, JSAtom key, int depth) {
    switch (JS_VALUE_GET_NORM_TAG(v)) {
    case JS_TAG_UNDEFINED: dbuf_putc(w->b, CLONE_UNDEFINED); return 0;
    case JS_TAG_NULL: dbuf_putc(w->b, CLONE_NULL); return 0;
    case JS_TAG_BOOL: dbuf_putc(w->b, JS_VALUE_GET_BOOL(v) ? CLONE_TRUE : CLONE_FALSE); return 0;
    case JS_TAG_INT:
        dbuf_putc(w->b, CLONE_INT);
        clone_put_u32(w->b, (uint32_t)JS_VALUE_GET_INT(v));
        return 0;
    case JS_TAG_FLOAT64: {
        double d = JS_VALUE_GET_FLOAT64(v);
        dbuf_putc(w->b, CLONE_FLOAT);
        dbuf_put(w->b, (const uint8_t *)&d, 8);
        return 0;
    }
    case JS_TAG_STRING:
        dbuf_putc(w->b, CLONE_STRING);
        clone_string(w->b, JS_VALUE_GET_STRING(v));
        return 0;
    case JS_TAG_STRING_ROPE:
        dbuf_putc(w->b, CLONE_STRING);
        return clone_string_value(w, v);
    case JS_TAG_BIG_INT:
    case JS_TAG_SHORT_BIG_INT:
        dbuf_putc(w->b, CLONE_BIGINT);
        return clone_string_value(w, v);
    case JS_TAG_OBJECT:
        return clone_object(w, v, key, depth);
    case JS_TAG_SYMBOL:
        return clone_refuse(w, "a symbol", key);
    default:
        return clone_refuse(w, "this value", key);
    }
}

/* Appends CLONE_MAGIC and the clone of `v` to `b`, with functions as CLONE_FUNCTION when
 * `functions` is set; -1 with an exception (a TypeError naming what cannot be sent, or out of
 * memory) and `b` restored on failure. */
static int clone_write(JSContext *ctx, DynBuf *b, JSValueConst v, int functions) {
    size_t start = b->size;
    CloneWriter w = {ctx, b, functions, {NULL, NULL, 0, 0}, 0, {NULL, 0, 0}};
    dbuf_putc(b, CLONE_MAGIC);
    int failed = clone_value(&w, v, JS_ATOM_NULL, 0);
    js_free(ctx, w.seen.keys);
    js_free(ctx, w.seen.indices);
    values_free(ctx, &w.held);
    if (!failed && b->error) {
        JS_ThrowOutOfMemory(ctx);
        failed = -1;
    }
    if (failed) {
        b->size = start;
        b->error = false;
    }
    return failed;
}

/* ---- reading ---- */

typedef struct {
    JSContext *ctx;
    const uint8_t *p, *end;
    Values objects; /* every object read so far, for references */
} CloneReader;

static int take(CloneReader *r, size_t n, const uint8_t **out) {
    if ((size_t)(r->end - r->p) < n) return -1;
    *out = r->p;
    r->p += n;
    return 0;
}

static int take_u32(CloneReader *r, uint32_t *v) {
    const uint8_t *p;
    if (take(r, 4, &p)) return -1;
    *v = read_u32(p);
    return 0;
}

static JSValue read_string(CloneReader *r) {
    uint32_t len;
    const uint8_t *s;
    if (take_u32(r, &len) || take(r, len, &s)) return JS_ThrowInternalError(r->ctx, "a host value is malformed");
    return JS_NewStringLen(r->ctx, (const char *)s, len);
}

/* Keeps `v` (a new object) for later references; `v` stays owned by the caller. */
static int remember(CloneReader *r, JSValueConst v) {
    return values_push(r->ctx, &r->objects, v);
}

static JSValue read_value(CloneReader *r, int depth);

/* An RpcTarget of the host's: its name (`stub:ID`), its method names, then its properties (name
 * and value each, read on the host when it was sent). Remembered before its property values are
 * read, as the host counted it before writing them. */
static JSValue read_stub(CloneReader *r, int depth) {
    JSContext *ctx = r->ctx;
    uint32_t name_len, count, len;
    const uint8_t *name, *method;
    if (take_u32(r, &name_len) || take(r, name_len, &name) || take_u32(r, &count))
        return JS_ThrowInternalError(ctx, "a host value is malformed");
    DynBuf methods;
    js_dbuf_init(ctx, &methods);
    for (uint32_t i = 0; i < count; i++) {
        if (take_u32(r, &len) || take(r, len, &method) || memchr(method, 0, len)) {
            dbuf_free(&methods);
            return JS_ThrowInternalError(ctx, "a host value is malformed");
        }
        dbuf_put(&methods, method, len);
        dbuf_putc(&methods, 0);
    }
    JSValue stub = methods.error ? JS_ThrowOutOfMemory(ctx) : JS_NewObjectProto(ctx, JS_NULL);
    if (!JS_IsException(stub) &&
        (add_stub_methods(ctx, stub, (const char *)name, name_len, (const char *)methods.buf, (uint32_t)methods.size) < 0 ||
         remember(r, stub) || take_u32(r, &count))) {
        if (!JS_HasException(ctx)) JS_ThrowInternalError(ctx, "a host value is malformed");
        JS_FreeValue(ctx, stub);
        stub = JS_EXCEPTION;
    }
    dbuf_free(&methods);
    for (uint32_t i = 0; !JS_IsException(stub) && i < count; i++) {
        JSValue key = read_string(r);
        JSValue value = JS_IsException(key) ? JS_EXCEPTION : read_value(r, depth + 1);
        JSAtom atom = JS_IsException(value) ? JS_ATOM_NULL : JS_ValueToAtom(ctx, key);
        if (atom == JS_ATOM_NULL ||
            JS_DefinePropertyValue(ctx, stub, atom, JS_DupValue(ctx, value), JS_PROP_ENUMERABLE) < 0) {
            JS_FreeValue(ctx, stub);
            stub = JS_EXCEPTION;
        }
        JS_FreeAtom(ctx, atom);
        JS_FreeValue(ctx, key);
        JS_FreeValue(ctx, value);
    }
    if (!JS_IsException(stub) && JS_FreezeObject(ctx, stub) < 0) {
        JS_FreeValue(ctx, stub);
        stub = JS_EXCEPTION;
    }
    return stub;
}

static JSValue read_error(CloneReader *r) {
    JSContext *ctx = r->ctx;
    JSValue name = read_string(r);
    JSValue message = JS_IsException(name) ? JS_EXCEPTION : read_string(r);
    JSValue stack = JS_IsException(message) ? JS_EXCEPTION : read_string(r);
    JSValue error = JS_EXCEPTION;
    if (!JS_IsException(stack)) {
        const char *n = JS_ToCString(ctx, name);
        JSValue proto = ctx->class_proto[JS_CLASS_ERROR];
        int native = 0;
        for (int i = 0; n && i < JS_NATIVE_ERROR_COUNT; i++)
            if (!strcmp(n, native_error_name[i])) proto = ctx->native_error_proto[i], native = 1;
        int is_error = n && !strcmp(n, "Error");
        JS_FreeCString(ctx, n);
        error = JS_NewObjectProtoClass(ctx, proto, JS_CLASS_ERROR);
        if (!JS_IsException(error) &&
            (JS_DefinePropertyValue(ctx, error, JS_ATOM_message, JS_DupValue(ctx, message),
                                    JS_PROP_WRITABLE | JS_PROP_CONFIGURABLE) < 0 ||
             (!native && !is_error &&
              JS_DefinePropertyValue(ctx, error, JS_ATOM_name, JS_DupValue(ctx, name), JS_PROP_WRITABLE | JS_PROP_CONFIGURABLE) < 0) ||
             (JS_VALUE_GET_STRING(stack)->len &&
              JS_DefinePropertyValue(ctx, error, JS_ATOM_stack, JS_DupValue(ctx, stack), JS_PROP_WRITABLE | JS_PROP_CONFIGURABLE) < 0))) {
            JS_FreeValue(ctx, error);
            error = JS_EXCEPTION;
        }
    }
    JS_FreeValue(ctx, name);
    JS_FreeValue(ctx, message);
    JS_FreeValue(ctx, stack);
    if (!JS_IsException(error) && remember(r, error)) {
        JS_FreeValue(ctx, error);
        return JS_ThrowOutOfMemory(ctx);
    }
    return error;
}

/* A Request or Response: its place among the objects is taken before its record is read, as the
 * host counted it before writing the record. */
static JSValue read_http_message(CloneReader *r, int request, int depth) {
    JSContext *ctx = r->ctx;
    uint32_t index = r->objects.count;
    if (remember(r, JS_UNDEFINED)) return JS_ThrowOutOfMemory(ctx);
    JSValue record = read_value(r, depth + 1);
    if (JS_IsException(record)) return record;
    JSValue message = JS_Call(ctx, clone_http[request ? 4 : 5], JS_UNDEFINED, 1, &record);
    JS_FreeValue(ctx, record);
    if (!JS_IsException(message)) r->objects.items[index] = JS_DupValue(ctx, message);
    return message;
}

/* A container: made, remembered (so its own entries may refer to it), then filled. */
static JSValue read_container(CloneReader *r, uint8_t tag, int depth) {
    JSContext *ctx = r->ctx;
    uint32_t count;
    if (take_u32(r, &count)) return JS_ThrowInternalError(ctx, "a host value is malformed");
    JSValue v = tag == CLONE_ARRAY ? JS_NewArray(ctx)
        : tag == CLONE_OBJECT      ? JS_NewObject(ctx)
                                   : JS_CallConstructor(ctx, tag == CLONE_MAP ? clone_map : clone_set, 0, NULL);
    if (JS_IsException(v)) return v;
    if (remember(r, v)) {
        JS_FreeValue(ctx, v);
        return JS_ThrowOutOfMemory(ctx);
    }
    for (uint32_t i = 0; i < count; i++) {
        JSValue key = JS_UNDEFINED, item;
        if (tag == CLONE_OBJECT) {
            key = read_string(r);
            if (JS_IsException(key)) goto fail;
        } else if (tag == CLONE_MAP) {
            key = read_value(r, depth + 1);
            if (JS_IsException(key)) goto fail;
        }
        item = read_value(r, depth + 1);
        if (JS_IsException(item)) {
            JS_FreeValue(ctx, key);
            goto fail;
        }
        int failed;
        if (tag == CLONE_ARRAY) {
            failed = JS_DefinePropertyValueUint32(ctx, v, i, item, JS_PROP_C_W_E) < 0;
        } else if (tag == CLONE_OBJECT) {
            JSAtom atom = JS_ValueToAtom(ctx, key);
            failed = atom == JS_ATOM_NULL || JS_DefinePropertyValue(ctx, v, atom, item, JS_PROP_C_W_E) < 0;
            if (atom == JS_ATOM_NULL) JS_FreeValue(ctx, item);
            JS_FreeAtom(ctx, atom);
        } else {
            JSValueConst args[3] = {v, tag == CLONE_MAP ? key : item, item};
            JSValue done = JS_Call(ctx, tag == CLONE_MAP ? clone_map_set : clone_set_add, JS_UNDEFINED, 3, args);
            failed = JS_IsException(done);
            JS_FreeValue(ctx, done);
            JS_FreeValue(ctx, item);
        }
        JS_FreeValue(ctx, key);
        if (failed) goto fail;
    }
    return v;
fail:
    JS_FreeValue(ctx, v);
    return JS_EXCEPTION;
}

static JSValue read_value(CloneReader *r, int depth) {
    JSContext *ctx = r->ctx;
    const uint8_t *p;
    if (depth > CLONE_MAX_DEPTH) return JS_ThrowRangeError(ctx, "a host value nests deeper than %d levels", CLONE_MAX_DEPTH);
    if (take(r, 1, &p)) return JS_ThrowInternalError(ctx, "a host value is malformed");
    uint8_t tag = *p;
    switch (tag) {
    case CLONE_UNDEFINED: return JS_UNDEFINED;
    case CLONE_NULL: return JS_NULL;
    case CLONE_TRUE: return JS_TRUE;
    case CLONE_FALSE: return JS_FALSE;
    case CLONE_INT: {
        uint32_t v;
        if (take_u32(r, &v)) break;
        return JS_NewInt32(ctx, (int32_t)v);
    }
    case CLONE_FLOAT: {
        double d;
        if (take(r, 8, &p)) break;
        memcpy(&d, p, 8);
        return JS_NewFloat64(ctx, d);
    }
    case CLONE_STRING: return read_string(r);
    case CLONE_BIGINT: {
        JSValue text = read_string(r);
        if (JS_IsException(text)) return text;
        JSValue big = JS_Call(ctx, clone_bigint, JS_UNDEFINED, 1, vc(&text));
        JS_FreeValue(ctx, text);
        return big;
    }
    case CLONE_DATE: {
        double ms;
        if (take(r, 8, &p)) break;
        memcpy(&ms, p, 8);
        JSValue date = JS_NewDate(ctx, ms);
        if (!JS_IsException(date) && remember(r, date)) {
            JS_FreeValue(ctx, date);
            return JS_ThrowOutOfMemory(ctx);
        }
        return date;
    }
    case CLONE_BYTES: {
        uint32_t len;
        if (take_u32(r, &len) || take(r, len, &p)) break;
        JSValue bytes = JS_NewUint8ArrayCopy(ctx, p, len);
        if (!JS_IsException(bytes) && remember(r, bytes)) {
            JS_FreeValue(ctx, bytes);
            return JS_ThrowOutOfMemory(ctx);
        }
        return bytes;
    }
    case CLONE_ERROR: return read_error(r);
    case CLONE_STUB: return read_stub(r, depth);
    case CLONE_REQUEST: case CLONE_RESPONSE: return read_http_message(r, tag == CLONE_REQUEST, depth);
    case CLONE_ARRAY: case CLONE_OBJECT: case CLONE_MAP: case CLONE_SET:
        return read_container(r, tag, depth);
    case CLONE_REF: {
        uint32_t index;
        if (take_u32(r, &index) || index >= r->objects.count) break;
        return JS_DupValue(ctx, r->objects.items[index]);
    }
    }
    return JS_ThrowInternalError(ctx, "a host value is malformed");
}

/* The value `len` bytes at `p` hold (after CLONE_MAGIC), or an exception. */
static JSValue clone_read(JSContext *ctx, const uint8_t *p, size_t len) {
    CloneReader r = {ctx, p, p + len, {NULL, 0, 0}};
    if (len == 0 || *p != CLONE_MAGIC) return JS_ThrowInternalError(ctx, "a host value is malformed");
    r.p++;
    JSValue v = read_value(&r, 0);
    values_free(ctx, &r.objects);
    if (!JS_IsException(v) && r.p != r.end) {
        JS_FreeValue(ctx, v);
        return JS_ThrowInternalError(ctx, "a host value is malformed");
    }
    return v;
}
