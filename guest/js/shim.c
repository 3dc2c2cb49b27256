/* dynisolate's JavaScript guest: QuickJS-ng behind a few narrow exports.
 *
 * The host talks to the interpreter through the byte exports of the JSON ABI: it writes a
 * request into guest memory (through `dynisolate_alloc`) and gets back a packed pointer/length of
 * a UTF-8 JSON envelope, `{"ok": value}` or `{"error": {"name", "message", "stack"}}`. The
 * protocol (exports, layouts, ops and flags) is written down in rust/js/protocol.rs; the
 * constants below must agree with it, which tests/rust/protocol.rs checks.
 * `json:start` boots a fresh isolate (seed, bytecode bundle, load request) and `json:run` handles
 * one request (a small binary header and the payload JSON, see `handle`). All request handling
 * lives in glue.js, and the web platform classes in web.js, both built on the intrinsics that
 * primordials.js captures; all three are compiled in here as strings
 * and evaluated once in `js_init` (so they are part of the pre-initialised snapshot). The
 * functions they hand back are held only by this file, never reachable from `globalThis`.
 *
 * This translation unit includes quickjs.c so the seed can reach the context's RNG state: a
 * pre-initialised snapshot would otherwise give every isolate the same Math.random() sequence.
 */
#include "quickjs.c"

#define EXPORT(name) __attribute__((export_name(name)))
#define IMPORT(module, name) __attribute__((import_module(module), import_name(name)))

IMPORT("dynisolate", "log") void host_log(int32_t level, const char *ptr, int32_t len);
IMPORT("dynisolate", "env_call")
int64_t host_env_call(const char *name, int32_t name_len, const char *args, int32_t args_len);
IMPORT("dynisolate", "outbound") int64_t host_outbound(const char *request, int32_t len);
IMPORT("dynisolate", "sleep") void host_sleep(int32_t ms);
IMPORT("dynisolate", "random") void host_random(uint8_t *buf, int32_t len);

#include "scripts.h" /* PRIMORDIALS_JS, WEB_JS and GLUE_JS, generated from the .js files by build.py */

/* Layouts of rust/js/protocol.rs. */
#define REQUEST_HEADER_BYTES 6 /* u8 op, u8 flags, u32 name length */
#define START_HEADER_BYTES 12  /* i64 seed, u32 bundle length */
#define MODULE_HEADER_BYTES 12 /* u32 name length, u32 data length, u32 bytecode flag */
#define MAX_BUNDLE_MODULES 4096

/* Heap growth allowed after the snapshot before QuickJS's first garbage collection. */
#define GC_HEADROOM_BYTES (4u << 20)

static JSRuntime *runtime;
static JSContext *context;
static JSValue glue_run;                /* glue's request handler */
static JSValue glue_timers;             /* runs due timers; returns ms to the next one, or -1 */
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

/* glue: hostLog(level, text) -> one console record for the host. */
static JSValue js_host_log(JSContext *ctx, JSValueConst this_val, int argc, JSValueConst *argv) {
    int32_t level;
    size_t len;
    if (JS_ToInt32(ctx, &level, argv[0])) return JS_EXCEPTION;
    const char *text = JS_ToCStringLen(ctx, &len, argv[1]);
    if (!text) return JS_EXCEPTION;
    host_log(level, text, (int32_t)len);
    JS_FreeCString(ctx, text);
    return JS_UNDEFINED;
}

/* Takes a host reply written through dynisolate_alloc and turns it into a JS string. */
static JSValue reply_string(JSContext *ctx, int64_t packed) {
    char *reply = (char *)(uintptr_t)((uint64_t)packed >> 32);
    JSValue text = JS_NewStringLen(ctx, reply, (uint32_t)packed);
    free(reply);
    return text;
}

/* glue: hostFetch(requestJson) -> reply envelope text, from the host's outbound handler. */
static JSValue js_host_fetch(JSContext *ctx, JSValueConst this_val, int argc, JSValueConst *argv) {
    size_t len;
    const char *request = JS_ToCStringLen(ctx, &len, argv[0]);
    if (!request) return JS_EXCEPTION;
    int64_t packed = host_outbound(request, (int32_t)len);
    JS_FreeCString(ctx, request);
    return reply_string(ctx, packed);
}

/* web.js: randomFill(view) fills any ArrayBuffer view with bytes from the host's CSPRNG. */
static JSValue js_random_fill(JSContext *ctx, JSValueConst this_val, int argc, JSValueConst *argv) {
    size_t offset, length, element, size;
    JSValue buffer = JS_GetTypedArrayBuffer(ctx, argv[0], &offset, &length, &element);
    if (JS_IsException(buffer)) return JS_EXCEPTION;
    uint8_t *bytes = JS_GetArrayBuffer(ctx, &size, buffer);
    JS_FreeValue(ctx, buffer);
    if (!bytes || offset + length > size) return JS_ThrowTypeError(ctx, "randomFill: detached buffer");
    if (length > 65536) return JS_ThrowRangeError(ctx, "randomFill: at most 65536 bytes");
    host_random(bytes + offset, (int32_t)length);
    return JS_DupValue(ctx, argv[0]);
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
    return reply_string(ctx, packed);
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

/* Evaluates one of our scripts (a function expression) and calls it with `argc` arguments. */
static JSValue run_script(const char *source, size_t len, const char *name, int argc, JSValue *argv) {
    JSValue factory = JS_Eval(context, source, len, name, JS_EVAL_TYPE_GLOBAL);
    if (JS_IsException(factory)) return factory;
    JSValue result = JS_Call(context, factory, JS_UNDEFINED, argc, argv);
    JS_FreeValue(context, factory);
    for (int i = 0; i < argc; i++) JS_FreeValue(context, argv[i]);
    return result;
}

/* Creates the runtime, the context, the captured intrinsics (primordials.js), the web platform
 * (web.js) and the glue. Runs once, before any snapshot is taken. */
EXPORT("js_init") int32_t js_init(void) {
    if (runtime) return 0;
    runtime = JS_NewRuntime();
    if (!runtime) return -1;
    JS_SetMaxStackSize(runtime, 256 * 1024);
    JS_SetModuleLoaderFunc(runtime, NULL, load_module, NULL);
    context = JS_NewContext(runtime);
    if (!context) return -1;
    JSValue primordials = run_script(PRIMORDIALS_JS, sizeof PRIMORDIALS_JS - 1, "<dynisolate:primordials>", 0, NULL);
    if (JS_IsException(primordials)) return -2;
    JSValue hooks = JS_NewObject(context);
    JS_SetPropertyStr(context, hooks, "randomFill", JS_NewCFunction(context, js_random_fill, "randomFill", 1));
    JSValue web_args[] = {JS_DupValue(context, primordials), hooks};
    JSValue web = run_script(WEB_JS, sizeof WEB_JS - 1, "<dynisolate:web>", 2, web_args);
    if (JS_IsException(web)) return -2;
    JSValue glue_args[] = {
        primordials,
        JS_NewCFunction(context, js_host_call, "hostCall", 2),
        JS_NewCFunction(context, js_host_fetch, "hostFetch", 1),
        JS_NewCFunction(context, js_host_log, "hostLog", 2),
        web,
    };
    JSValue glue = run_script(GLUE_JS, sizeof GLUE_JS - 1, "<dynisolate>", 5, glue_args);
    if (JS_IsException(glue)) return -3;
    glue_run = JS_GetPropertyStr(context, glue, "run");
    glue_timers = JS_GetPropertyStr(context, glue, "timers");
    JS_FreeValue(context, glue);
    return JS_IsFunction(context, glue_run) && JS_IsFunction(context, glue_timers) ? 0 : -4;
}

/* The pre-initialisation entry point: the host snapshots the instance after this returns. */
EXPORT("wizer_init") void wizer_init(void) {
    if (js_init() != 0) return;
    /* Collect the start-up garbage now, and leave room before the next collection: an isolate
     * serving one call should never pay for a GC of the whole engine heap. */
    JS_RunGC(runtime);
    JS_SetGCThreshold(runtime, runtime->malloc_state.malloc_size + GC_HEADROOM_BYTES);
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

/* Takes ownership of `owner` and reads the module bundle at `p` (inside it). Layout (little
 * endian): u32 count, then per module u32 name_len, u32 data_len, u32 bytecode, the name and a
 * NUL, the data and a NUL. Returns an error message, or NULL. */
static const char *set_bundle(uint8_t *owner, const uint8_t *p, uint32_t len) {
    free(bundle_buf);
    free(modules);
    bundle_buf = owner;
    module_count = 0;
    modules = NULL;
    const uint8_t *end = p + len;
    if (end - p < 4) return "the bundle is truncated";
    uint32_t count = read_u32(p);
    p += 4;
    if (count > MAX_BUNDLE_MODULES) return "the bundle has too many modules";
    modules = calloc(count ? count : 1, sizeof *modules);
    if (!modules) return "out of memory";
    for (uint32_t i = 0; i < count; i++) {
        if (end - p < MODULE_HEADER_BYTES) return "the bundle is truncated";
        uint32_t name_len = read_u32(p), data_len = read_u32(p + 4), bytecode = read_u32(p + 8);
        p += MODULE_HEADER_BYTES;
        if ((uint64_t)(end - p) < (uint64_t)name_len + data_len + 2 || p[name_len] || p[name_len + 1 + data_len])
            return "the bundle is malformed";
        modules[i] = (Module){(const char *)p, p + name_len + 1, data_len, bytecode};
        p += name_len + 1 + data_len + 1;
        module_count = i + 1;
    }
    return NULL;
}

/* Takes ownership of the module bundle (see `set_bundle`). */
EXPORT("json:bundle") int64_t js_bundle(uint8_t *buf, int32_t len) {
    free(last_output);
    last_output = NULL;
    const char *error = set_bundle(buf, buf, len > 0 ? (uint32_t)len : 0);
    return error ? internal_error(error) : ok_null();
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

/* Handles one request: calls glue's run, which returns the reply text, or a promise of it when
 * the call awaits something; then runs the call's event loop until that promise settles. */
static int64_t handle(const char *request, size_t len) {
    if (js_init() != 0) return internal_error("the engine failed to start");
    /* Request layout (rust/js/protocol.rs): u8 op, u8 flags, u32 name length, the name, then
     * the payload JSON. */
    const uint8_t *p = (const uint8_t *)request;
    if (len < REQUEST_HEADER_BYTES) return internal_error("the request is malformed");
    uint32_t name_len = read_u32(p + 2);
    if ((uint64_t)len - REQUEST_HEADER_BYTES < name_len) return internal_error("the request is malformed");
    const char *name = request + REQUEST_HEADER_BYTES;
    JSValue args[] = {
        JS_NewInt32(context, p[0]),
        JS_NewInt32(context, p[1]),
        JS_NewStringLen(context, name, name_len),
        JS_NewStringLen(context, name + name_len, len - REQUEST_HEADER_BYTES - name_len),
    };
    JSValue reply = JS_Call(context, glue_run, JS_UNDEFINED, 4, args);
    for (int i = 0; i < 4; i++) JS_FreeValue(context, args[i]);
    if (JS_IsException(reply)) {
        JS_FreeValue(context, JS_GetException(context));
        return internal_error("the request handler threw (out of memory or stack?)");
    }
    if (JS_IsPromise(reply)) {
        JSValue promise = reply;
        /* Run jobs; when none is left and the call is still pending, fire due timers or sleep
         * (on the host, against the call's deadline) until the next one. */
        JSContext *job_context;
        while (JS_PromiseState(context, promise) == JS_PROMISE_PENDING) {
            int ran = JS_ExecutePendingJob(runtime, &job_context);
            if (ran > 0) continue;
            if (ran < 0) JS_FreeValue(context, JS_GetException(context)); /* a job failed to start */
            JSValue next = JS_Call(context, glue_timers, JS_UNDEFINED, 0, NULL);
            int32_t ms = -1;
            if (JS_IsException(next)) JS_FreeValue(context, JS_GetException(context));
            else JS_ToInt32(context, &ms, next);
            JS_FreeValue(context, next);
            if (ms < 0) break;
            if (ms > 0) host_sleep(ms);
        }
        JSPromiseStateEnum state = JS_PromiseState(context, promise);
        reply = state == JS_PROMISE_FULFILLED ? JS_PromiseResult(context, promise) : JS_UNDEFINED;
        JS_FreeValue(context, promise);
        if (state == JS_PROMISE_PENDING) return internal_error("the call awaited something that never settles");
        if (state != JS_PROMISE_FULFILLED) return internal_error("the request handler failed (out of memory or stack?)");
    }
    /* Jobs the call queued but did not await run now, inside this call and its budget: a
     * session's next call never runs them, and a fresh isolate behaves the same. */
    JSContext *job_context;
    while (JS_ExecutePendingJob(runtime, &job_context) != 0) {
        if (JS_HasException(context)) JS_FreeValue(context, JS_GetException(context));
    }
    JSValue clear = JS_TRUE;
    JS_FreeValue(context, JS_Call(context, glue_timers, JS_UNDEFINED, 1, &clear));
    size_t reply_len;
    const char *text = JS_IsString(reply) ? JS_ToCStringLen(context, &reply_len, reply) : NULL;
    int64_t packed = text ? output(text, reply_len) : internal_error("the reply is not a string");
    if (text) JS_FreeCString(context, text);
    JS_FreeValue(context, reply);
    return packed;
}

/* Handles one request (consumes the input buffer); returns the packed reply envelope. */
EXPORT("json:run") int64_t js_run(char *request, int32_t len) {
    free(last_output);
    last_output = NULL;
    int64_t packed = handle(request, len > 0 ? (size_t)len : 0);
    free(request);
    return packed;
}

/* Starts a fresh isolate in one call (takes ownership of the buffer). Layout: i64 seed (little
 * endian), u32 bundle length, the bundle (see `json:bundle`), then the load request. */
EXPORT("json:start") int64_t js_start(uint8_t *buf, int32_t len) {
    free(last_output);
    last_output = NULL;
    int64_t seed;
    uint32_t bundle_len;
    if (js_init() != 0 || len < START_HEADER_BYTES ||
        (memcpy(&seed, buf, 8), bundle_len = read_u32(buf + 8), (uint64_t)len - START_HEADER_BYTES < bundle_len)) {
        free(buf);
        return internal_error("the start request is malformed");
    }
    context->random_state = seed ? (uint64_t)seed : 1;
    const char *error = set_bundle(buf, buf + START_HEADER_BYTES, bundle_len);
    if (error) return internal_error(error);
    const char *request = (const char *)buf + START_HEADER_BYTES + bundle_len;
    return handle(request, (size_t)len - START_HEADER_BYTES - bundle_len);
}
