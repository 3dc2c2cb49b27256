/* The tenant's `env`, built in C from the env section of a call request (included by shim.c).
 *
 * An isolate's env arrives with its first call, after any snapshot of the evaluated bundle was
 * restored: env is never part of a cached heap. Building it must cost little, so nothing is
 * parsed up front: a data binding is an accessor whose getter parses its JSON the first time it
 * is read (and keeps the value), and an RPC stub is a C function that hands its arguments to the
 * glue's `invoke`. The env object and every stub object are frozen; stubs hold nothing of the
 * host, only the binding's name, and are not thenables.
 *
 * Layout (rust/js/protocol.rs): u32 count, then per binding u8 kind, u32 name length, u32 value
 * length, the name, the value. ENV_DATA's value is JSON text or a clone, ENV_FUNCTION's is empty, and
 * ENV_OBJECT's and ENV_SERVICE's are the method names, each followed by a NUL. */

static JSValue glue_invoke; /* glue's invoke(name, args): one env call, a promise of its result */

/* A data binding's getter. func_data[0] holds the value's JSON text or clone as an ArrayBuffer
 * (NUL-terminated, for JS_ParseJSON) until the first read, then the value; func_data[1] says
 * which. */
static JSValue js_env_data(JSContext *ctx, JSValueConst this_val, int argc, JSValueConst *argv, int magic,
                           JSValueConst *func_data) {
    JSValue *slot = (JSValue *)func_data; /* the function's own record: written once, here */
    if (!JS_ToBool(ctx, slot[1])) {
        size_t size;
        uint8_t *text = JS_GetArrayBuffer(ctx, &size, slot[0]);
        if (!text || size == 0) return JS_ThrowInternalError(ctx, "env value lost");
        JSValue value = text[0] == CLONE_MAGIC ? clone_read(ctx, text, size - 1)
                                               : JS_ParseJSON(ctx, (const char *)text, size - 1, "<env>");
        if (JS_IsException(value)) return value;
        JS_FreeValue(ctx, slot[0]);
        slot[0] = value;
        slot[1] = JS_TRUE;
    }
    return JS_DupValue(ctx, slot[0]);
}

/* An RPC stub: func_data[0] is the binding's name ("NAME" or "NAME.method"). */
static JSValue js_env_stub(JSContext *ctx, JSValueConst this_val, int argc, JSValueConst *argv, int magic,
                           JSValueConst *func_data) {
    JSValue args = js_create_array(ctx, argc, argv);
    if (JS_IsException(args)) return args;
    JSValueConst call[2] = {func_data[0], args};
    JSValue promise = JS_Call(ctx, glue_invoke, JS_UNDEFINED, 2, call);
    JS_FreeValue(ctx, args);
    return promise;
}

static JSValue env_stub(JSContext *ctx, const char *name, size_t len) {
    JSValue binding = JS_NewStringLen(ctx, name, len);
    if (JS_IsException(binding)) return binding;
    JSValue stub = JS_NewCFunctionData(ctx, js_env_stub, 0, 0, 1, vc(&binding));
    JS_FreeValue(ctx, binding);
    return stub;
}

/* Adds a stub method to `object` for each name in `value` (each NUL-terminated); -1 on failure. */
static int add_stub_methods(JSContext *ctx, JSValueConst object, const char *name, uint32_t name_len,
                            const char *value, uint32_t value_len) {
    DynBuf full;
    js_dbuf_init(ctx, &full);
    for (uint32_t at = 0; at < value_len;) {
        const char *method = value + at;
        const char *end = memchr(method, 0, value_len - at);
        if (!end) goto malformed;
        size_t method_len = end - method;
        at += method_len + 1;
        full.size = 0;
        if (dbuf_put(&full, (const uint8_t *)name, name_len) || dbuf_putc(&full, '.') ||
            dbuf_put(&full, (const uint8_t *)method, method_len))
            goto oom;
        JSValue stub = env_stub(ctx, (const char *)full.buf, full.size);
        if (JS_IsException(stub)) goto fail;
        JSAtom atom = JS_NewAtomLen(ctx, method, method_len);
        int defined = atom == JS_ATOM_NULL
            ? -1
            : JS_DefinePropertyValue(ctx, object, atom, stub, JS_PROP_C_W_E);
        JS_FreeAtom(ctx, atom);
        if (defined < 0) goto fail;
    }
    dbuf_free(&full);
    return 0;
malformed:
    JS_ThrowInternalError(ctx, "the env section is malformed");
    goto fail;
oom:
    JS_ThrowOutOfMemory(ctx);
fail:
    dbuf_free(&full);
    return -1;
}

/* A frozen object of method stubs, `value` holding the method names (each NUL-terminated). */
static JSValue env_object_stub(JSContext *ctx, const char *name, uint32_t name_len, const char *value,
                               uint32_t value_len) {
    JSValue object = JS_NewObjectProto(ctx, JS_NULL);
    if (JS_IsException(object)) return object;
    if (add_stub_methods(ctx, object, name, name_len, value, value_len) < 0 || JS_FreezeObject(ctx, object) < 0) {
        JS_FreeValue(ctx, object);
        return JS_EXCEPTION;
    }
    return object;
}

/* The env object for `section` (see the layout above), or an exception. */
static JSValue env_build(JSContext *ctx, const uint8_t *section, uint32_t len) {
    const uint8_t *p = section, *end = section + len;
    if (len < 4) return JS_ThrowInternalError(ctx, "the env section is malformed");
    uint32_t count = read_u32(p);
    p += 4;
    JSValue env = JS_NewObject(ctx);
    if (JS_IsException(env)) return env;
    for (uint32_t i = 0; i < count; i++) {
        if (end - p < 9) goto malformed;
        uint8_t kind = p[0];
        uint32_t name_len = read_u32(p + 1), value_len = read_u32(p + 5);
        p += 9;
        if ((uint64_t)(end - p) < (uint64_t)name_len + value_len) goto malformed;
        const char *name = (const char *)p, *value = (const char *)p + name_len;
        p += name_len + value_len;
        /* A service binding is named `service:NAME`: its calls carry the whole name, the env
         * property is NAME. */
        const char *colon = kind == ENV_SERVICE ? memchr(name, ':', name_len) : NULL;
        if (kind == ENV_SERVICE && !colon) goto malformed;
        const char *property = colon ? colon + 1 : name;
        JSAtom atom = JS_NewAtomLen(ctx, property, name_len - (size_t)(property - name));
        if (atom == JS_ATOM_NULL) goto fail;
        int defined = -1;
        if (kind == ENV_DATA) {
            uint8_t *text = js_malloc(ctx, (size_t)value_len + 1);
            if (!text) {
                JS_FreeAtom(ctx, atom);
                goto fail;
            }
            memcpy(text, value, value_len);
            text[value_len] = 0;
            JSValue data[2] = {JS_NewArrayBufferCopy(ctx, text, (size_t)value_len + 1), JS_FALSE};
            js_free(ctx, text);
            if (!JS_IsException(data[0])) {
                JSValue getter = JS_NewCFunctionData(ctx, js_env_data, 0, 0, 2, vc(data));
                if (!JS_IsException(getter))
                    defined = JS_DefinePropertyGetSet(ctx, env, atom, getter, JS_UNDEFINED,
                                                      JS_PROP_ENUMERABLE | JS_PROP_CONFIGURABLE);
            }
            JS_FreeValue(ctx, data[0]);
        } else if (kind == ENV_FUNCTION || kind == ENV_OBJECT || kind == ENV_SERVICE) {
            JSValue stub = kind == ENV_FUNCTION ? env_stub(ctx, name, name_len)
                                                : env_object_stub(ctx, name, name_len, value, value_len);
            if (!JS_IsException(stub)) defined = JS_DefinePropertyValue(ctx, env, atom, stub, JS_PROP_C_W_E);
        } else {
            JS_FreeAtom(ctx, atom);
            goto malformed;
        }
        JS_FreeAtom(ctx, atom);
        if (defined < 0) goto fail;
    }
    if (p != end) goto malformed;
    if (JS_FreezeObject(ctx, env) < 0) goto fail;
    return env;
malformed:
    JS_ThrowInternalError(ctx, "the env section is malformed");
fail:
    JS_FreeValue(ctx, env);
    return JS_EXCEPTION;
}
