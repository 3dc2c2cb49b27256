/* Strict JSON of plain data, in C (included by shim.c, so it reads QuickJS's own structures).
 *
 * JSON is the cheapest form a value can cross in, so plain data takes it: objects whose prototype
 * is the intrinsic Object.prototype (or null) with own enumerable data properties under
 * non-numeric string keys, dense arrays with the intrinsic Array.prototype, strings, finite
 * numbers, booleans and null, each object met once. Anything else (undefined, which JSON would
 * drop or turn into null; an object met twice, which JSON would copy; toJSON anywhere, getters,
 * other classes, proxies, non-finite numbers, functions, symbols, bigints, depth over
 * WIRE_MAX_DEPTH, a prototype chain or @@hasInstance a tenant changed) makes it give up: the value
 * then crosses as a clone (clone.c), or, for the glue's own JSON, through JSON.stringify. It runs
 * no JavaScript, so tenant code cannot steer it. */
#define WIRE_MAX_DEPTH 64
static DynBuf wire_buf;                  /* what env calls serialise into */
static JSObject *wire_has_instance;      /* the intrinsic Function.prototype[@@hasInstance] */
static JSObject *wire_ctors[3];          /* Map, Set, ArrayBuffer: what checkWire's instanceof uses */

/* Remembers the intrinsics the serialiser compares against; `primordials` (primordials.js) holds
 * the constructors, so they stay alive. */
static int wire_init(JSContext *ctx, JSValueConst primordials) {
    js_dbuf_init(ctx, &wire_buf);
    JSValue has_instance = JS_GetProperty(ctx, ctx->function_proto, JS_ATOM_Symbol_hasInstance);
    if (!JS_IsObject(has_instance)) return -1;
    wire_has_instance = JS_VALUE_GET_OBJ(has_instance); /* held by Function.prototype (non-writable) */
    JS_FreeValue(ctx, has_instance);
    const char *names[3] = {"MapCtor", "SetCtor", "ArrayBufferCtor"};
    for (int i = 0; i < 3; i++) {
        JSValue ctor = JS_GetPropertyStr(ctx, primordials, names[i]);
        if (!JS_IsObject(ctor)) return -1;
        wire_ctors[i] = JS_VALUE_GET_OBJ(ctor);
        JS_FreeValue(ctx, ctor);
    }
    return 0;
}

/* Does `x instanceof C` still reach the intrinsic @@hasInstance? Reads data properties only. */
static bool wire_has_instance_intact(JSObject *c) {
    for (JSObject *o = c; o; o = o->shape->proto) {
        if (o->is_exotic) return false;
        JSProperty *pr;
        JSShapeProperty *prs = find_own_property(&pr, o, JS_ATOM_Symbol_hasInstance);
        if (prs)
            return (prs->flags & JS_PROP_TMASK) == JS_PROP_NORMAL && JS_VALUE_GET_TAG(pr->u.value) == JS_TAG_OBJECT &&
                   JS_VALUE_GET_OBJ(pr->u.value) == wire_has_instance;
    }
    return false;
}

/* Once per serialization: are the intrinsics checkWire relies on as they were? */
static bool wire_intrinsics_ok(JSContext *ctx) {
    JSObject *object_proto = JS_VALUE_GET_OBJ(ctx->class_proto[JS_CLASS_OBJECT]);
    JSObject *array_proto = JS_VALUE_GET_OBJ(ctx->class_proto[JS_CLASS_ARRAY]);
    if (find_own_property1(object_proto, JS_ATOM_toJSON) || find_own_property1(array_proto, JS_ATOM_toJSON))
        return false;
    if (array_proto->shape->proto != object_proto) return false;
    for (int i = 0; i < 3; i++)
        if (!wire_has_instance_intact(wire_ctors[i])) return false;
    return true;
}

/* Objects already written, by address, with the index a reference names (open addressing; clone.c
 * uses it too). */
typedef struct {
    JSObject **keys;
    uint32_t *indices;
    uint32_t capacity, count;
} Seen;

static uint32_t seen_slot(const Seen *s, JSObject *p) {
    uint32_t h = (uint32_t)((uintptr_t)p >> 3) * 2654435761u;
    uint32_t i = h & (s->capacity - 1);
    while (s->keys[i] && s->keys[i] != p) i = (i + 1) & (s->capacity - 1);
    return i;
}

static int seen_add(JSContext *ctx, Seen *s, JSObject *p, uint32_t index) {
    if ((s->count + 1) * 2 > s->capacity) {
        uint32_t capacity = s->capacity ? s->capacity * 2 : 64;
        Seen grown = {js_mallocz(ctx, capacity * sizeof *grown.keys), js_malloc(ctx, capacity * sizeof *grown.indices),
                      capacity, s->count};
        if (!grown.keys || !grown.indices) {
            js_free(ctx, grown.keys);
            js_free(ctx, grown.indices);
            return -1;
        }
        for (uint32_t i = 0; i < s->capacity; i++) {
            if (!s->keys[i]) continue;
            uint32_t at = seen_slot(&grown, s->keys[i]);
            grown.keys[at] = s->keys[i];
            grown.indices[at] = s->indices[i];
        }
        js_free(ctx, s->keys);
        js_free(ctx, s->indices);
        *s = grown;
    }
    uint32_t at = seen_slot(s, p);
    s->keys[at] = p;
    s->indices[at] = index;
    s->count++;
    return 0;
}

/* Objects the JSON writer met that something else refers to as well: met twice, they are a shared
 * reference, which JSON would duplicate and only a clone keeps. Kept between calls (it is cleared
 * after use), so plain data costs no allocation. */
static Seen wire_seen;

static void seen_clear(Seen *s) {
    if (s->count) memset(s->keys, 0, s->capacity * sizeof *s->keys);
    s->count = 0;
}

static const char hex_digits[] = "0123456789abcdef";

static void wire_escape(DynBuf *b, uint32_t c) {
    char e[6] = {'\\', 'u', hex_digits[(c >> 12) & 15], hex_digits[(c >> 8) & 15], hex_digits[(c >> 4) & 15], hex_digits[c & 15]};
    switch (c) {
    case '\t': dbuf_put(b, (const uint8_t *)"\\t", 2); return;
    case '\r': dbuf_put(b, (const uint8_t *)"\\r", 2); return;
    case '\n': dbuf_put(b, (const uint8_t *)"\\n", 2); return;
    case '\b': dbuf_put(b, (const uint8_t *)"\\b", 2); return;
    case '\f': dbuf_put(b, (const uint8_t *)"\\f", 2); return;
    case '"': dbuf_put(b, (const uint8_t *)"\\\"", 2); return;
    case '\\': dbuf_put(b, (const uint8_t *)"\\\\", 2); return;
    }
    dbuf_put(b, (const uint8_t *)e, 6);
}

/* A string as JSON.stringify quotes it (lone surrogates escaped), in UTF-8. */
static void wire_string(DynBuf *b, JSString *p) {
    uint32_t len = p->len, i = 0, run;
    dbuf_putc(b, '"');
    if (!p->is_wide_char) {
        const uint8_t *s = str8(p);
        while (i < len) {
            for (run = i; run < len && s[run] >= 0x20 && s[run] < 0x80 && s[run] != '"' && s[run] != '\\'; run++)
                ;
            if (run > i) dbuf_put(b, s + i, run - i);
            if (run == len) break;
            uint8_t c = s[run];
            if (c >= 0x80) {
                uint8_t u[2] = {(uint8_t)(0xc0 | (c >> 6)), (uint8_t)(0x80 | (c & 0x3f))};
                dbuf_put(b, u, 2);
            } else {
                wire_escape(b, c);
            }
            i = run + 1;
        }
    } else {
        const uint16_t *s = str16(p);
        while (i < len) {
            uint32_t c = s[i++];
            if (c >= 0x20 && c < 0x80 && c != '"' && c != '\\') {
                dbuf_putc(b, (uint8_t)c);
            } else if (c < 0x80) {
                wire_escape(b, c);
            } else if (is_hi_surrogate(c) && i < len && is_lo_surrogate(s[i])) {
                uint32_t cp = from_surrogate(c, s[i++]);
                uint8_t u[4] = {(uint8_t)(0xf0 | (cp >> 18)), (uint8_t)(0x80 | ((cp >> 12) & 0x3f)),
                                (uint8_t)(0x80 | ((cp >> 6) & 0x3f)), (uint8_t)(0x80 | (cp & 0x3f))};
                dbuf_put(b, u, 4);
            } else if (is_surrogate(c)) {
                wire_escape(b, c);
            } else if (c < 0x800) {
                uint8_t u[2] = {(uint8_t)(0xc0 | (c >> 6)), (uint8_t)(0x80 | (c & 0x3f))};
                dbuf_put(b, u, 2);
            } else {
                uint8_t u[3] = {(uint8_t)(0xe0 | (c >> 12)), (uint8_t)(0x80 | ((c >> 6) & 0x3f)), (uint8_t)(0x80 | (c & 0x3f))};
                dbuf_put(b, u, 3);
            }
        }
    }
    dbuf_putc(b, '"');
}

/* 0: written; 1: not plain data (nothing promised about what was written). */
static int wire_value(JSContext *ctx, DynBuf *b, JSValueConst v, int depth) {
    switch (JS_VALUE_GET_NORM_TAG(v)) {
    case JS_TAG_INT: {
        char num[12], *end = num + sizeof num, *q = end;
        int32_t i = JS_VALUE_GET_INT(v);
        uint32_t u = i < 0 ? -(uint32_t)i : (uint32_t)i;
        do *--q = (char)('0' + u % 10); while (u /= 10);
        if (i < 0) *--q = '-';
        dbuf_put(b, (const uint8_t *)q, end - q);
        return 0;
    }
    case JS_TAG_FLOAT64: {
        if (!isfinite(JS_VALUE_GET_FLOAT64(v))) return 1;
        double d = JS_VALUE_GET_FLOAT64(v);
        if (d == (double)(int64_t)d && d > -1e18 && d < 1e18) { /* -0 too: JSON writes 0 */
            char num[24], *end = num + sizeof num, *q = end;
            int64_t i = (int64_t)d;
            uint64_t u = i < 0 ? -(uint64_t)i : (uint64_t)i;
            do *--q = (char)('0' + u % 10); while (u /= 10);
            if (i < 0) *--q = '-';
            dbuf_put(b, (const uint8_t *)q, end - q);
            return 0;
        }
        JSValue s = JS_ToString(ctx, v);
        if (JS_IsException(s)) {
            JS_FreeValue(ctx, JS_GetException(ctx));
            return 1;
        }
        JSString *digits = JS_VALUE_GET_STRING(s); /* as JSON.stringify writes a number */
        dbuf_put(b, str8(digits), digits->len);
        JS_FreeValue(ctx, s);
        return 0;
    }
    case JS_TAG_BOOL:
        if (JS_VALUE_GET_BOOL(v)) dbuf_put(b, (const uint8_t *)"true", 4);
        else dbuf_put(b, (const uint8_t *)"false", 5);
        return 0;
    case JS_TAG_NULL:
        dbuf_put(b, (const uint8_t *)"null", 4);
        return 0;
    case JS_TAG_STRING:
        wire_string(b, JS_VALUE_GET_STRING(v));
        return 0;
    case JS_TAG_STRING_ROPE: {
        JSValue s = JS_ToString(ctx, v);
        if (JS_IsException(s)) {
            JS_FreeValue(ctx, JS_GetException(ctx));
            return 1;
        }
        wire_string(b, JS_VALUE_GET_STRING(s));
        JS_FreeValue(ctx, s);
        return 0;
    }
    case JS_TAG_OBJECT:
        break;
    default: /* undefined, symbol, bigint, ... */
        return 1;
    }
    if (depth >= WIRE_MAX_DEPTH) return 1;
    JSObject *p = JS_VALUE_GET_OBJ(v);
    if (depth && JS_REF_COUNT(p) > 1) { /* held elsewhere too: maybe met again in this value (the
                                          * top value can be met again only through a cycle,
                                          * which the depth bound stops) */
        if (wire_seen.capacity && wire_seen.keys[seen_slot(&wire_seen, p)]) return 1;
        if (seen_add(ctx, &wire_seen, p, 0)) return 1;
    }
    if (p->is_exotic && p->class_id != JS_CLASS_ARRAY) return 1;
    if (find_own_property1(p, JS_ATOM_toJSON)) return 1;
    if (p->class_id == JS_CLASS_ARRAY) {
        if (!p->fast_array || p->shape->proto != JS_VALUE_GET_OBJ(ctx->class_proto[JS_CLASS_ARRAY])) return 1;
        JSValueConst length = p->prop[0].u.value; /* may exceed the dense part (`a.length = n`) */
        if (JS_VALUE_GET_TAG(length) != JS_TAG_INT || (uint32_t)JS_VALUE_GET_INT(length) != p->u.array.count) return 1;
        dbuf_putc(b, '[');
        for (uint32_t i = 0; i < p->u.array.count; i++) {
            if (i) dbuf_putc(b, ',');
            JSValueConst e = p->u.array.u.values[i];
            if (JS_IsUndefined(e) || wire_value(ctx, b, e, depth + 1)) return 1; /* JSON would write null */
            if (!p->fast_array || i >= p->u.array.count) return 1; /* (nothing above runs JS; belt and braces) */
        }
        dbuf_putc(b, ']');
        return 0;
    }
    if (p->class_id != JS_CLASS_OBJECT) return 1;
    JSObject *proto = p->shape->proto;
    if (proto && proto != JS_VALUE_GET_OBJ(ctx->class_proto[JS_CLASS_OBJECT])) return 1;
    JSShape *sh = p->shape;
    JSShapeProperty *prs = get_shape_prop(sh);
    bool first = true;
    dbuf_putc(b, '{');
    for (int i = 0; i < sh->prop_count; i++, prs++) {
        JSAtom atom = prs->atom;
        if (atom == JS_ATOM_NULL) continue; /* deleted */
        if (__JS_AtomIsTaggedInt(atom)) return 1; /* integer keys come first in JSON order */
        JSString *key = ctx->rt->atom_array[atom];
        if (key->atom_type != JS_ATOM_TYPE_STRING) continue; /* symbols: not in keys(), not in JSON */
        if (!(prs->flags & JS_PROP_ENUMERABLE)) continue;
        if ((prs->flags & JS_PROP_TMASK) != JS_PROP_NORMAL) return 1; /* getter, lazy value */
        if (key->len && !key->is_wide_char && str8(key)[0] >= '0' && str8(key)[0] <= '9') return 1; /* maybe an index */
        JSValueConst e = p->prop[i].u.value;
        if (JS_IsUndefined(e)) return 1; /* JSON would leave it out */
        if (!first) dbuf_putc(b, ',');
        first = false;
        wire_string(b, key);
        dbuf_putc(b, ':');
        if (wire_value(ctx, b, e, depth + 1)) return 1;
    }
    dbuf_putc(b, '}');
    return 0;
}

/* Appends the JSON of `v` to `b`; 0 if done, 1 (with `b` restored) if `v` is not plain data. */
static int wire(JSContext *ctx, DynBuf *b, JSValueConst v) {
    size_t start = b->size;
    if (JS_IsObject(v) && !wire_intrinsics_ok(ctx)) return 1;
    int failed = wire_value(ctx, b, v, 0);
    seen_clear(&wire_seen);
    if (failed || b->error) {
        b->size = start;
        b->error = false;
        return 1;
    }
    return 0;
}
