/* dynisolate's JavaScript guest: QuickJS-ng behind one narrow export.
 *
 * The host talks to the engine through `json:run`, the JSON ABI of rust/abi.rs: it writes a UTF-8
 * JSON request into guest memory (through `dynisolate_alloc`), and gets back a packed pointer/length of a UTF-8 JSON envelope,
 * `{"ok": value}` or `{"error": {"name", "message", "stack"}}`. All request handling lives in
 * glue.js, which is compiled in here as a string and evaluated once in `js_init`; it is held only
 * by this file, never reachable from `globalThis`.
 *
 * This translation unit includes quickjs.c so `js_reseed` can reach the context's RNG state: a
 * pre-initialised snapshot would otherwise give every isolate the same Math.random() sequence.
 */
#include "quickjs.c"

#define EXPORT(name) __attribute__((export_name(name)))
#define IMPORT(module, name) __attribute__((import_module(module), import_name(name)))

IMPORT("dynisolate", "log") void host_log(int32_t level, const char *ptr, int32_t len);
IMPORT("dynisolate", "env_call")
int64_t host_env_call(const char *name, int32_t name_len, const char *args, int32_t args_len);

#include "glue.h" /* static const char GLUE_JS[]: generated from glue.js by build.py */

static JSRuntime *runtime;
static JSContext *context;
static JSValue glue_run;                /* glue's request handler */
static char *last_output;               /* freed when the next call starts */

/* The tenant's modules, as the host laid them out (see `json:bundle`). */
typedef struct {
    const char *name;
    const uint8_t *data; /* NUL-terminated */
    uint32_t len;
    uint32_t bytecode;   /* 1: QuickJS bytecode made by `json:compile`; 0: source text */
} Module;
static uint8_t *bundle_buf;
static Module *modules;
static uint32_t module_count;

static int64_t pack(const char *ptr, size_t len) {
    return (int64_t)(((uint64_t)(uintptr_t)ptr << 32) | (uint32_t)len);
}

EXPORT("dynisolate_alloc") void *js_alloc(int32_t len) {
    return malloc(len > 0 ? (size_t)len : 1);
}

/* console.* -> host log records. magic carries the level. */
static JSValue js_console(JSContext *ctx, JSValueConst this_val, int argc, JSValueConst *argv, int magic) {
    DynBuf buf;
    dbuf_init(&buf);
    for (int i = 0; i < argc; i++) {
        size_t len;
        const char *text = JS_ToCStringLen(ctx, &len, argv[i]);
        if (!text) {
            dbuf_free(&buf);
            return JS_EXCEPTION;
        }
        if (i > 0) dbuf_putc(&buf, ' ');
        dbuf_put(&buf, (const uint8_t *)text, len);
        JS_FreeCString(ctx, text);
    }
    host_log(magic, (const char *)buf.buf, (int32_t)buf.size);
    dbuf_free(&buf);
    return JS_UNDEFINED;
}

/* glue: hostCall(name, argsJson) -> reply envelope text, from the host's env dispatcher. */
static JSValue js_host_call(JSContext *ctx, JSValueConst this_val, int argc, JSValueConst *argv) {
    size_t name_len, args_len;
    const char *name = JS_ToCStringLen(ctx, &name_len, argv[0]);
    const char *args = name ? JS_ToCStringLen(ctx, &args_len, argv[1]) : NULL;
    if (!args) {
        JS_FreeCString(ctx, name);
        return JS_EXCEPTION;
    }
    int64_t packed = host_env_call(name, (int32_t)name_len, args, (int32_t)args_len);
    JS_FreeCString(ctx, name);
    JS_FreeCString(ctx, args);
    char *reply = (char *)(uintptr_t)((uint64_t)packed >> 32);
    JSValue text = JS_NewStringLen(ctx, reply, (uint32_t)packed);
    free(reply); /* written by the host through dynisolate_alloc */
    return text;
}

static const Module *find_module(const char *name) {
    for (uint32_t i = 0; i < module_count; i++)
        if (!strcmp(modules[i].name, name)) return &modules[i];
    return NULL;
}

/* Resolves imports from the bundle only: no filesystem, no network. */
static JSModuleDef *load_module(JSContext *ctx, const char *name, void *opaque) {
    const Module *m = find_module(name);
    if (!m) {
        JS_ThrowReferenceError(ctx, "could not resolve module \"%s\"", name);
        return NULL;
    }
    JSValue compiled = m->bytecode
        ? JS_ReadObject(ctx, m->data, m->len, JS_READ_OBJ_BYTECODE)
        : JS_Eval(ctx, (const char *)m->data, m->len, name, JS_EVAL_TYPE_MODULE | JS_EVAL_FLAG_COMPILE_ONLY);
    if (JS_IsException(compiled)) return NULL;
    JSModuleDef *module = JS_VALUE_GET_PTR(compiled);
    JS_FreeValue(ctx, compiled);
    return module;
}

static void add_console(JSContext *ctx) {
    static const struct { const char *name; int level; } methods[] = {
        {"debug", 0}, {"log", 1}, {"info", 1}, {"warn", 2}, {"error", 3},
    };
    JSValue console = JS_NewObject(ctx);
    for (size_t i = 0; i < sizeof methods / sizeof methods[0]; i++) {
        JSValue fn = JS_NewCFunctionMagic(ctx, js_console, methods[i].name, 1, JS_CFUNC_generic_magic, methods[i].level);
        JS_DefinePropertyValueStr(ctx, console, methods[i].name, fn, JS_PROP_WRITABLE | JS_PROP_CONFIGURABLE);
    }
    JSValue global = JS_GetGlobalObject(ctx);
    JS_DefinePropertyValueStr(ctx, global, "console", console, JS_PROP_WRITABLE | JS_PROP_CONFIGURABLE);
    JS_FreeValue(ctx, global);
}

/* Creates the runtime, the context and the glue. Runs once, before any snapshot is taken. */
EXPORT("js_init") int32_t js_init(void) {
    if (runtime) return 0;
    runtime = JS_NewRuntime();
    if (!runtime) return -1;
    JS_SetMaxStackSize(runtime, 256 * 1024);
    JS_SetModuleLoaderFunc(runtime, NULL, load_module, NULL);
    context = JS_NewContext(runtime);
    if (!context) return -1;
    add_console(context);
    JSValue factory = JS_Eval(context, GLUE_JS, sizeof GLUE_JS - 1, "<dynisolate>", JS_EVAL_TYPE_GLOBAL);
    if (JS_IsException(factory)) return -2;
    JSValue host_call = JS_NewCFunction(context, js_host_call, "hostCall", 2);
    glue_run = JS_Call(context, factory, JS_UNDEFINED, 1, &host_call);
    JS_FreeValue(context, host_call);
    JS_FreeValue(context, factory);
    return JS_IsFunction(context, glue_run) ? 0 : -3;
}

/* The pre-initialisation entry point: the host snapshots the instance after this returns. */
EXPORT("wizer_init") void wizer_init(void) {
    js_init();
}

/* Caps the JS heap (bytes); 0 removes the cap. */
EXPORT("js_set_memory_limit") void js_set_memory_limit(int64_t bytes) {
    JS_SetMemoryLimit(runtime, bytes > 0 ? (size_t)bytes : (size_t)-1);
}

/* Fresh RNG state for this isolate. */
EXPORT("js_reseed") void js_reseed(int64_t seed) {
    context->random_state = seed ? (uint64_t)seed : 1;
}

static int64_t output(const char *text, size_t len) {
    last_output = malloc(len ? len : 1);
    if (!last_output) return 0;
    memcpy(last_output, text, len);
    return pack(last_output, len);
}

static int64_t internal_error(const char *message) {
    DynBuf buf;
    dbuf_init(&buf);
    dbuf_printf(&buf, "{\"error\":{\"name\":\"InternalError\",\"message\":\"%s\",\"stack\":\"\"}}", message);
    int64_t packed = output((const char *)buf.buf, buf.size);
    dbuf_free(&buf);
    return packed;
}

static uint32_t read_u32(const uint8_t *p) {
    uint32_t v;
    memcpy(&v, p, 4);
    return v;
}

static int64_t ok_null(void) {
    return output("{\"ok\":null}", 11);
}

/* Takes ownership of the module bundle. Layout (little endian): u32 count, then per module
 * u32 name_len, u32 data_len, u32 bytecode, the name and a NUL, the data and a NUL. */
EXPORT("json:bundle") int64_t js_bundle(uint8_t *buf, int32_t len) {
    free(last_output);
    last_output = NULL;
    free(bundle_buf);
    free(modules);
    bundle_buf = buf;
    module_count = 0;
    modules = NULL;
    const uint8_t *p = buf, *end = buf + (len > 0 ? len : 0);
    if (end - p < 4) return internal_error("the bundle is truncated");
    uint32_t count = read_u32(p);
    p += 4;
    if (count > 4096) return internal_error("the bundle has too many modules");
    modules = calloc(count ? count : 1, sizeof *modules);
    if (!modules) return internal_error("out of memory");
    for (uint32_t i = 0; i < count; i++) {
        if (end - p < 12) return internal_error("the bundle is truncated");
        uint32_t name_len = read_u32(p), data_len = read_u32(p + 4), bytecode = read_u32(p + 8);
        p += 12;
        if ((uint64_t)(end - p) < (uint64_t)name_len + data_len + 2 || p[name_len] || p[name_len + 1 + data_len])
            return internal_error("the bundle is malformed");
        modules[i] = (Module){(const char *)p, p + name_len + 1, data_len, bytecode};
        p += name_len + 1 + data_len + 1;
        module_count = i + 1;
    }
    return ok_null();
}

/* Compiles bundle module `index` (given as decimal text) from source to bytecode; returns the
 * packed bytecode, or an error envelope (which starts with '{', unlike bytecode). */
EXPORT("json:compile") int64_t js_compile(char *request, int32_t len) {
    free(last_output);
    last_output = NULL;
    /* The request is not NUL-terminated: read at most `len` digits. */
    uint64_t index = 0;
    int32_t digits = 0;
    for (; digits < len && digits < 10 && request[digits] >= '0' && request[digits] <= '9'; digits++)
        index = index * 10 + (uint64_t)(request[digits] - '0');
    int valid = digits > 0 && digits == len;
    free(request);
    if (!valid || js_init() != 0 || index >= module_count || modules[index].bytecode)
        return internal_error("no such source module");
    const Module *m = &modules[index];
    JSValue compiled = JS_Eval(context, (const char *)m->data, m->len, m->name,
                               JS_EVAL_TYPE_MODULE | JS_EVAL_FLAG_COMPILE_ONLY);
    if (JS_IsException(compiled)) {
        JS_FreeValue(context, JS_GetException(context));
        return internal_error("the module does not compile");
    }
    size_t size;
    uint8_t *bytes = JS_WriteObject(context, &size, compiled, JS_WRITE_OBJ_BYTECODE);
    JS_FreeValue(context, compiled);
    if (!bytes) return internal_error("the module cannot be written as bytecode");
    int64_t packed = output((const char *)bytes, size);
    js_free(context, bytes);
    return packed;
}

/* Handles one request (consumes the input buffer); returns the packed reply envelope. */
EXPORT("json:run") int64_t js_run(char *request, int32_t len) {
    free(last_output);
    last_output = NULL;
    if (js_init() != 0) return internal_error("the engine failed to start");
    JSValue arg = JS_NewStringLen(context, request, (size_t)len);
    free(request);
    JSValue promise = JS_Call(context, glue_run, JS_UNDEFINED, 1, &arg);
    JS_FreeValue(context, arg);
    if (JS_IsException(promise)) {
        JS_FreeValue(context, JS_GetException(context));
        return internal_error("the request handler threw (out of memory or stack?)");
    }
    JSContext *job_context;
    while (JS_PromiseState(context, promise) == JS_PROMISE_PENDING) {
        if (JS_ExecutePendingJob(runtime, &job_context) <= 0) break;
    }
    int64_t packed;
    if (JS_PromiseState(context, promise) == JS_PROMISE_FULFILLED) {
        JSValue reply = JS_PromiseResult(context, promise);
        size_t reply_len;
        const char *text = JS_ToCStringLen(context, &reply_len, reply);
        packed = text ? output(text, reply_len) : internal_error("the reply is not a string");
        if (text) JS_FreeCString(context, text);
        JS_FreeValue(context, reply);
    } else if (JS_PromiseState(context, promise) == JS_PROMISE_PENDING) {
        packed = internal_error("the call awaited something that never settles");
    } else {
        packed = internal_error("the request handler failed (out of memory or stack?)");
    }
    JS_FreeValue(context, promise);
    return packed;
}
