/* dynisolate's JavaScript guest: QuickJS-ng behind a few narrow exports.
 *
 * The host talks to the interpreter through the byte exports of the JSON ABI: it writes a request
 * into guest memory (into the inbox when it fits, else through `dynisolate_alloc`) and gets back
 * a packed pointer/length of a UTF-8 JSON envelope, `{"ok": value}` or
 * `{"error": {"name", "message", "stack"}}`. The protocol (exports, layouts, ops, flags) is written
 * down in rust/js/protocol.rs; the constants below must agree with it, which tests/rust/protocol.rs
 * checks.
 *
 * - `json:start` boots a fresh isolate in one entry: it takes the bundle, loads it (evaluates the
 *   main module), and when a call request follows the load request, makes that call too.
 * - `json:run` handles one call request in an isolate that has loaded its bundle: a session's
 *   isolate, or one restored from a snapshot of the evaluated bundle.
 * - `json:bundle` and `json:compile` turn source modules into bytecode when a bundle is loaded.
 *
 * Request handling in JavaScript lives in glue.js, the web platform in web.js (and beside it
 * events.js, streams.js, forms.js, subtle.js, compression.js, intl.js and urlpattern.js), all built on the intrinsics
 * primordials.js captures; they are compiled in here as strings and evaluated once in `js_init` (so they are part of the pre-initialised snapshot). What the hot path does in
 * C instead (it costs the interpreter far less): strict JSON of plain data (wire.c), the env and
 * its RPC stubs (env.c), parsing the request's arguments, awaiting the call, loading the main
 * module. The functions the scripts hand back are held only by this file, never reachable from
 * `globalThis`.
 *
 * This translation unit includes quickjs.c so it can reach the interpreter's internals: the
 * context's RNG state (a pre-initialised snapshot would otherwise give every isolate the same
 * Math.random() sequence), objects' shapes (wire.c) and the module loader.
 */
#include "quickjs_patched.c" /* quickjs.c with build.py's QUICKJS_PATCHES */

#define EXPORT(name) __attribute__((export_name(name)))
#define IMPORT(module, name) __attribute__((import_module(module), import_name(name)))

IMPORT("dynisolate", "log") void host_log(int32_t level, const char *ptr, int32_t len);
IMPORT("dynisolate", "env_call")
int64_t host_env_call(const char *name, int32_t name_len, const char *args, int32_t args_len);
IMPORT("dynisolate", "outbound") int64_t host_outbound(const char *request, int32_t len);
IMPORT("dynisolate", "sleep") void host_sleep(int32_t ms);
IMPORT("dynisolate", "random") void host_random(uint8_t *buf, int32_t len);
IMPORT("dynisolate", "early_reply") void host_early_reply(const char *reply, int32_t len);

/* Layouts, ops, flags and env kinds of rust/js/protocol.rs. */
#define REQUEST_HEADER_BYTES 22 /* u8 op, u8 flags, u32 name, env and payload lengths, i64 seed */
#define START_HEADER_BYTES 4    /* u32 bundle length */
#define MODULE_HEADER_BYTES 12  /* u32 name length, u32 data length, u32 kind */
#define MAX_BUNDLE_ENTRIES 65536
#define ENTRY_SOURCE 0
#define ENTRY_BYTECODE 1
#define ENTRY_LINK 2
#define COMPILED 66 /* 'B' */
#define OP_LOAD 2
#define FLAG_ENV 4
#define FLAG_SETTLE 8
#define ENV_DATA 0
#define ENV_FUNCTION 1
#define ENV_OBJECT 2
#define ENV_SERVICE 3

#include "scripts.h" /* PRIMORDIALS_JS, WEB_JS, FORMS_JS, ..., generated from the .js files by build.py */

/* Heap growth allowed after a snapshot before QuickJS's first garbage collection. */
#define GC_HEADROOM_BYTES (4u << 20)

/* Free memory a snapshot keeps at hand, so a call's allocations do not grow the linear memory:
 * growing it costs the host two page-protection changes per isolate (one to grow, one to shrink
 * the slot back for the next), more than the call itself. Zig's libc malloc for wasm
 * (std.heap.BrkAllocator) carves each power-of-two size class out of 64 KiB "bigpages" and
 * reuses a freed bigpage for any class, but never splits or merges larger blocks: the headroom
 * must be free single bigpages. The pages stay untouched but for a free-list word each. */
#define HEADROOM_BIGPAGES 16
#define ONE_BIGPAGE_BYTES (40u << 10) /* above the largest small class, within one bigpage */

/* What tenant code may not do while its modules are evaluated: the evaluated heap can be shared
 * by every isolate of the bundle, so randomness, timers and I/O must wait for a request (as on
 * Cloudflare, whose words the first part keeps). */
static const char GLOBAL_SCOPE_REFUSAL[] =
    "Disallowed operation called within global scope: generating random values, setting a timeout "
    "and fetch() are allowed only while handling a request, not while the module is evaluated.";

static JSRuntime *runtime;
static JSContext *context;
static JSValue glue_run;      /* glue's request handler */
static JSValue glue_timers;   /* runs due timers; returns ms to the next one, or -1 */
static JSValue glue_fail;     /* fail(reason) -> reply text */
static JSValue on_fulfilled, on_rejected; /* our reactions to a call's promise */
static JSValue env_object;    /* this isolate's env, from its first call */
static int timers_armed;      /* glue set a timer during this call */
static int in_global_scope;   /* the bundle's modules are being evaluated */
static char *last_output;     /* freed when the next export call starts */
static DynBuf parse_buf;      /* a request's payload, NUL-terminated for JS_ParseJSON */
static DynBuf reply_buf;      /* a reply written in C */
static DynBuf function_reply_buf; /* the reply of a function the host called (js_call_guest_function) */

/* The tenant's modules, as the host laid them out (see `json:bundle`). */
typedef struct {
    const char *name;
    const uint8_t *data; /* NUL-terminated */
    uint32_t len;
    uint32_t kind;       /* ENTRY_SOURCE, ENTRY_BYTECODE, or ENTRY_LINK (data: specifier NUL target) */
} Module;
static uint8_t *bundle_buf;
static Module *modules;
static uint32_t module_count; /* modules, then links */
static uint32_t link_start;   /* the first link */

static uint32_t read_u32(const uint8_t *p) {
    uint32_t v;
    memcpy(&v, p, 4);
    return v;
}

#include "wire.c"
#include "clone.c"
#include "env.c"
#include "node.c"

static int64_t pack(const char *ptr, size_t len) {
    return (int64_t)(((uint64_t)(uintptr_t)ptr << 32) | (uint32_t)len);
}

EXPORT("dynisolate_alloc") void *js_alloc(int32_t len) {
    return malloc(len > 0 ? (size_t)len : 1);
}

/* Where the host writes a request or a host call's reply that fits, instead of entering the guest
 * through dynisolate_alloc first (rust/sandbox/abi.rs). Never freed, never kept: a request is
 * consumed before anything can make a host call, a reply as soon as it arrives. */
#define INBOX_BYTES (64u << 10)
static uint8_t inbox[INBOX_BYTES] __attribute__((aligned(16))); /* a reply may hold UTF-16 */

EXPORT("dynisolate_inbox") int64_t js_inbox(void) {
    return pack((const char *)inbox, sizeof inbox);
}

/* Frees a buffer the host wrote, unless it is the inbox. */
static void release(void *buf) {
    if ((uint8_t *)buf != inbox) free(buf);
}

#include "subtle.c"
#include "intl.c"

/* A buffer the guest keeps (a bundle): the inbox's content is copied out of it. */
static uint8_t *keep(uint8_t *buf, size_t len) {
    if (buf != inbox) return buf;
    uint8_t *kept = malloc(len ? len : 1);
    if (kept) memcpy(kept, buf, len);
    return kept;
}

/* ---- natives the scripts call ---- */

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
    release(reply);
    return text;
}

#include "web.c"
#include "compression.c"
#include "urlpattern.c"
#include "url.c"

/* glue: hostFetch(requestJson) -> reply envelope text, from the host's outbound handler. */
static JSValue js_host_fetch(JSContext *ctx, JSValueConst this_val, int argc, JSValueConst *argv) {
    size_t len;
    const char *request = JS_ToCStringLen(ctx, &len, argv[0]);
    if (!request) return JS_EXCEPTION;
    int64_t packed = host_outbound(request, (int32_t)len);
    JS_FreeCString(ctx, request);
    return reply_string(ctx, packed);
}

/* inspect.js: promiseState(value) -> -1 (not a promise), 0 pending, 1 fulfilled, 2 rejected. */
static JSValue js_promise_state(JSContext *ctx, JSValueConst this_val, int argc, JSValueConst *argv) {
    JSPromiseStateEnum state = JS_PromiseState(ctx, argv[0]);
    return JS_NewInt32(ctx, state == JS_PROMISE_PENDING ? 0 : state == JS_PROMISE_FULFILLED ? 1 : state == JS_PROMISE_REJECTED ? 2 : -1);
}

/* inspect.js: promiseResult(promise) -> its value or reason (undefined while pending). */
static JSValue js_promise_result(JSContext *ctx, JSValueConst this_val, int argc, JSValueConst *argv) {
    return JS_PromiseState(ctx, argv[0]) < 0 ? JS_UNDEFINED : JS_PromiseResult(ctx, argv[0]);
}

/* inspect.js: proxyTarget(value) -> a proxy's target (innermost), else undefined; no trap runs. */
static JSValue js_proxy_target(JSContext *ctx, JSValueConst this_val, int argc, JSValueConst *argv) {
    if (!JS_IsProxy(argv[0])) return JS_UNDEFINED;
    JSValue target = JS_GetProxyTarget(ctx, argv[0]);
    while (JS_IsProxy(target)) {
        JSValue inner = JS_GetProxyTarget(ctx, target);
        JS_FreeValue(ctx, target);
        target = inner;
    }
    return target;
}

/* glue: refuseInGlobalScope() throws while the bundle's modules are evaluated. */
static JSValue js_refuse_in_global_scope(JSContext *ctx, JSValueConst this_val, int argc, JSValueConst *argv) {
    if (in_global_scope) return JS_ThrowTypeError(ctx, "%s", GLOBAL_SCOPE_REFUSAL);
    return JS_UNDEFINED;
}

/* web.js: randomFill(view) fills any ArrayBuffer view with bytes from the host's CSPRNG. */
static JSValue js_random_fill(JSContext *ctx, JSValueConst this_val, int argc, JSValueConst *argv) {
    if (in_global_scope) return JS_ThrowTypeError(ctx, "%s", GLOBAL_SCOPE_REFUSAL);
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

/* Promise.resolve(value) (takes `value`) for a value that is not a promise, as the engine's
 * resolve function does it but without creating the two resolving functions: fulfilled at once
 * unless `value` is a thenable, whose `then` is read once and called in a job. */
static JSValue settled_promise(JSContext *ctx, JSValue value) {
    JSValue promise = JS_NewObjectProtoClass(ctx, ctx->class_proto[JS_CLASS_PROMISE], JS_CLASS_PROMISE);
    if (JS_IsException(promise)) {
        JS_FreeValue(ctx, value);
        return promise;
    }
    JSPromiseData *s = js_mallocz(ctx, sizeof *s);
    if (!s) {
        JS_FreeValue(ctx, value);
        JS_FreeValue(ctx, promise);
        return JS_EXCEPTION;
    }
    s->promise_state = JS_PROMISE_PENDING;
    s->is_handled = false;
    dynisolate_pending_promises++; /* as js_promise_new counts it: settling or freeing uncounts it */
    init_list_head(&s->promise_reactions[0]);
    init_list_head(&s->promise_reactions[1]);
    s->promise_result = JS_UNDEFINED;
    JS_SetOpaqueInternal(promise, s);
    JSValue then = JS_IsObject(value) ? JS_GetProperty(ctx, value, JS_ATOM_then) : JS_UNDEFINED;
    if (JS_IsException(then)) {
        JSValue error = JS_GetException(ctx);
        fulfill_or_reject_promise(ctx, promise, error, true);
        JS_FreeValue(ctx, error);
    } else if (!JS_IsFunction(ctx, then)) {
        fulfill_or_reject_promise(ctx, promise, value, false);
    } else {
        JSValueConst args[3] = {promise, value, then};
        JS_EnqueueJob(ctx, js_promise_resolve_thenable_job, 3, args);
    }
    JS_FreeValue(ctx, then);
    JS_FreeValue(ctx, value);
    return promise;
}

/* One env call named `name`, with `args` (the argument array) sent as JSON when it is plain data,
 * else as a clone, in which functions cross when `functions` is set (the host may call them until
 * it replies); a value that cannot be sent throws. 0 with the host's packed reply in *packed, or
 * -1 with an exception. */
static int sending; /* an env call's arguments are being written (getters may run) */
static int send_env_call(JSContext *ctx, JSValueConst name_value, JSValueConst args, int functions_cross,
                         int64_t *packed) {
    size_t name_len;
    /* One buffer serves every env call: a getter that made another env call while this call's
     * arguments are written would overwrite them. */
    if (sending) {
        JS_ThrowTypeError(ctx, "an env call cannot be made while another call's arguments are sent");
        return -1;
    }
    sending = 1;
    wire_buf.size = 0;
    uint32_t functions = clone_functions.count;
    int unsendable = wire(ctx, &wire_buf, args) && clone_write(ctx, &wire_buf, args, functions_cross);
    sending = 0;
    const char *name = unsendable ? NULL : JS_ToCStringLen(ctx, &name_len, name_value);
    if (name) {
        *packed = host_env_call(name, (int32_t)name_len, (const char *)wire_buf.buf, (int32_t)wire_buf.size);
        JS_FreeCString(ctx, name);
    }
    clone_functions_drop(ctx, functions); /* the call is over: the host can no longer call them */
    return name ? 0 : -1;
}

/* The value of a reply that holds one ({"ok":value} or a clone): 1 with it in *value, 0 for any
 * other reply (left for the glue to read as text), -1 with an exception. Releases the reply
 * when it returns 1 or -1. */
static int reply_value(JSContext *ctx, int64_t packed, JSValue *value) {
    char *reply = (char *)(uintptr_t)((uint64_t)packed >> 32);
    uint32_t len = (uint32_t)packed;
    if (len && (uint8_t)reply[0] == CLONE_MAGIC) {
        *value = clone_read(ctx, (const uint8_t *)reply, len);
        release(reply);
        return JS_IsException(*value) ? -1 : 1;
    }
    if (len >= 7 && !memcmp(reply, "{\"ok\":", 6) && reply[len - 1] == '}') {
        reply[len - 1] = '\0'; /* JS_ParseJSON wants the text NUL-terminated */
        *value = JS_ParseJSON(ctx, reply + 6, len - 7, "<env reply>");
        reply[len - 1] = '}';
        if (!JS_IsException(*value)) {
            release(reply);
            return 1;
        }
        JS_FreeValue(ctx, JS_GetException(ctx)); /* not one value: the glue parses the whole reply */
    }
    return 0;
}

/* glue: invoke(name, args) -> one env call: a promise of the value when the host replied with
 * one, else the reply text. */
static JSValue js_host_invoke(JSContext *ctx, JSValueConst this_val, int argc, JSValueConst *argv) {
    int64_t packed;
    JSValue value;
    if (send_env_call(ctx, argv[0], argv[1], 1, &packed)) return JS_EXCEPTION;
    const char *reply = (const char *)(uintptr_t)((uint64_t)packed >> 32);
    int stub = (uint32_t)packed > 1 && (uint8_t)reply[0] == CLONE_MAGIC && reply[1] == CLONE_STUB;
    switch (reply_value(ctx, packed, &value)) {
    case -1: return JS_EXCEPTION;
    case 0: return reply_string(ctx, packed);
    }
    if (!stub) return settled_promise(ctx, value);
    /* A stub: its methods are on the promise too, so calls pipeline as on Workers RPC
     * (`env.DB.prepare(sql).bind(x).all()`); each one is an env call of its own. */
    JSValue methods = JS_DupValue(ctx, value);
    JSValue promise = settled_promise(ctx, value);
    if (!JS_IsException(promise) && JS_CopyDataProperties(ctx, promise, methods, JS_UNDEFINED, false) < 0) {
        JS_FreeValue(ctx, promise);
        promise = JS_EXCEPTION;
    }
    JS_FreeValue(ctx, methods);
    return promise;
}

/* glue: hostCallValue(name, args) -> [value] when the host replied with one, else the reply text
 * (an error): a synchronous env call, for the durable engine's step operations, whose values
 * (step results) cross as an env call's do, functions excepted (a step result is stored). */
static JSValue js_host_call_value(JSContext *ctx, JSValueConst this_val, int argc, JSValueConst *argv) {
    int64_t packed;
    JSValue value;
    if (send_env_call(ctx, argv[0], argv[1], 0, &packed)) return JS_EXCEPTION;
    switch (reply_value(ctx, packed, &value)) {
    case -1: return JS_EXCEPTION;
    case 0: return reply_string(ctx, packed);
    }
    JSValue boxed = JS_NewArray(ctx);
    if (JS_IsException(boxed)) {
        JS_FreeValue(ctx, value);
        return boxed;
    }
    /* Defined, not set: no index setter a tenant put on Array.prototype runs. */
    if (JS_DefinePropertyValueUint32(ctx, boxed, 0, value, JS_PROP_C_W_E) < 0) {
        JS_FreeValue(ctx, boxed);
        return JS_EXCEPTION;
    }
    return boxed;
}

/* glue: waiting(n) -> n promises given to ctx.waitUntil are still unsettled. */
static int32_t waits_unsettled;
static JSValue js_waiting(JSContext *ctx, JSValueConst this_val, int argc, JSValueConst *argv) {
    return JS_ToInt32(ctx, &waits_unsettled, argv[0]) ? JS_EXCEPTION : JS_UNDEFINED;
}

/* glue: armTimers() -> the call set a timer, so the event loop must ask for due timers. */
static JSValue js_arm_timers(JSContext *ctx, JSValueConst this_val, int argc, JSValueConst *argv) {
    timers_armed = 1;
    return JS_UNDEFINED;
}

/* ---- time ----
 * The host's clock reads the time of the call's last I/O event (its start, or the end of a wait
 * on the host: a timer, an env call, fetch()), so it stands still while JavaScript runs
 * (rust/js/imports.rs), as workerd's does. */

/* For quickjs.c: what Date.now() and new Date() read. 0 while the modules are evaluated, as
 * workerd's clock reads outside a request: an evaluated heap may be shared by every isolate of
 * the bundle, and no time belongs to all of them. */
static int64_t dynisolate_date_now(void) {
    return in_global_scope ? 0 : js__gettimeofday_us() / 1000;
}

/* Set while js_init evaluates the runtime's own scripts. */
static bool runtime_scripts;

/* For quickjs.c: whether the function being compiled keeps its source text. The runtime's own do
 * not, so Function.prototype.toString shows them as V8 shows built-ins, "[native code]". */
static bool dynisolate_hide_source(void) {
    return runtime_scripts;
}

/* ---- pending promises ----
 * quickjs.c counts the promises that are pending: made, and neither settled nor collected (the
 * count sits in linear memory, so a snapshot keeps it with the heap it counts). Past the cap a new
 * promise throws a RangeError instead, after a garbage collection has had the chance to free
 * unreachable ones. Each `then`, `await` and async call makes one, so this bounds queued promise
 * jobs too; a flood ends in a clear error before it fills the memory limit. */
#define MAX_PENDING_PROMISES 100000

/* For quickjs.c: 0 if another promise may be made, else -1 with the RangeError thrown. */
static int dynisolate_promise_room(JSContext *ctx) {
    if (dynisolate_pending_promises < MAX_PENDING_PROMISES) return 0;
    JS_RunGC(JS_GetRuntime(ctx));
    if (dynisolate_pending_promises < MAX_PENDING_PROMISES) return 0;
    JS_ThrowRangeError(ctx, "Too many pending promises: an isolate may hold %d at once.", MAX_PENDING_PROMISES);
    return -1;
}

/* performance.now(): Date.now(), as on Workers, which report a timeOrigin of 0 (QuickJS's own
 * counts from an origin read at start-up, which the pre-initialised snapshot would freeze). */
static JSValue js_performance_now(JSContext *ctx, JSValueConst this_val, int argc, JSValueConst *argv) {
    return js_float64((double)dynisolate_date_now());
}

/* Replaces QuickJS's global `performance` with Workers' (now() and timeOrigin). */
static int add_performance(JSContext *ctx) {
    JSValue performance = JS_NewObject(ctx);
    if (JS_IsException(performance) ||
        JS_DefinePropertyValueStr(ctx, performance, "now", JS_NewCFunction(ctx, js_performance_now, "now", 0),
                                  JS_PROP_WRITABLE | JS_PROP_CONFIGURABLE | JS_PROP_ENUMERABLE) < 0 ||
        JS_DefinePropertyValueStr(ctx, performance, "timeOrigin", js_float64(0), JS_PROP_ENUMERABLE) < 0)
        return -1;
    return JS_DefinePropertyValueStr(ctx, ctx->global_obj, "performance", performance,
                                     JS_PROP_WRITABLE | JS_PROP_CONFIGURABLE | JS_PROP_ENUMERABLE) < 0 ? -1 : 0;
}

/* ---- start-up ---- */

static const Module *find_module(const char *name) {
    for (uint32_t i = 0; i < link_start; i++)
        if (!strcmp(modules[i].name, name)) return &modules[i];
    return NULL;
}

/* The module `name` means when `base` imports it: the link the host resolved at load
 * (rust/js/resolve.rs; links are sorted by importer, then specifier), else QuickJS's own rule. */
static char *normalize_module(JSContext *ctx, const char *base, const char *name, void *opaque) {
    uint32_t low = link_start, high = module_count;
    while (low < high) {
        uint32_t middle = low + (high - low) / 2;
        const Module *link = &modules[middle];
        int order = strcmp(link->name, base);
        if (!order) order = strcmp((const char *)link->data, name);
        if (!order) return js_strdup(ctx, (const char *)link->data + strlen((const char *)link->data) + 1);
        if (order < 0) low = middle + 1;
        else high = middle;
    }
    return js_default_module_normalize_name(ctx, base, name);
}

/* Set while `json:compile` parses a module. QuickJS resolves a module's imports as it compiles
 * it; the host resolves them afterwards (from the specifiers the reply lists), so here every
 * import is one empty stand-in module: compiling one module never parses another. */
#define NODE_GLOBALS "dynisolate:node-globals"

static int compiling;
static JSModuleDef *stand_in;

/* Resolves imports from the bundle only: no filesystem, no network. */
static JSModuleDef *load_module(JSContext *ctx, const char *name, void *opaque) {
    if (compiling) {
        if (!stand_in) {
            JSValue empty = JS_Eval(ctx, "", 0, "<dynisolate:stand-in>", JS_EVAL_TYPE_MODULE | JS_EVAL_FLAG_COMPILE_ONLY);
            if (JS_IsException(empty)) return NULL;
            stand_in = JS_VALUE_GET_PTR(empty); /* the context's module list keeps it */
            JS_FreeValue(ctx, empty);
        }
        return stand_in;
    }
    const Module *m = find_module(name);
    if (!m) {
        JS_ThrowReferenceError(ctx, "could not resolve module \"%s\"", name);
        return NULL;
    }
    JSValue compiled = m->kind == ENTRY_BYTECODE
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

/* Runs a script that extends web.js (forms.js, subtle.js, compression.js, intl.js, urlpattern.js): it
 * is called with primordials, its natives (taken) and web.js's helpers, and installs what it defines
 * itself. 0, or -1 if it threw. */
static int run_web_script(const char *source, size_t len, const char *name, JSValueConst primordials, JSValue natives,
                          JSValueConst web) {
    JSValue args[] = {JS_DupValue(context, primordials), natives, JS_DupValue(context, web)};
    JSValue result = run_script(source, len, name, 3, args);
    if (JS_IsException(result)) return -1;
    JS_FreeValue(context, result);
    return 0;
}

static JSValue js_on_fulfilled(JSContext *ctx, JSValueConst this_val, int argc, JSValueConst *argv);
static JSValue js_on_rejected(JSContext *ctx, JSValueConst this_val, int argc, JSValueConst *argv);
static JSValue js_finish(JSContext *ctx, JSValueConst this_val, int argc, JSValueConst *argv);

static void native(JSValueConst object, const char *name, JSCFunction *fn, int length) {
    JS_SetPropertyStr(context, object, name, JS_NewCFunction(context, fn, name, length));
}

/* Creates the runtime, the context, the captured intrinsics (primordials.js), the web platform
 * (web.js) and the glue. Runs once, before any snapshot is taken. */
static int32_t init_runtime(void) {
    if (runtime) return 0;
    runtime = JS_NewRuntime();
    if (!runtime) return -1;
    JS_SetMaxStackSize(runtime, 256 * 1024);
    JS_SetModuleLoaderFunc(runtime, normalize_module, load_module, NULL);
    context = JS_NewContext(runtime);
    if (!context || add_performance(context)) return -1;
    JSValue primordials = run_script(PRIMORDIALS_JS, sizeof PRIMORDIALS_JS - 1, "<dynisolate:primordials>", 0, NULL);
    if (JS_IsException(primordials) || wire_init(context, primordials) || clone_init(context, primordials)) return -2;
    /* The interpreter's allocator, not libc's: it takes a snapshot isolate's first reply from
     * pages it writes anyway, where libc would open two fresh pages (see settle). */
    js_dbuf_init(context, &parse_buf);
    js_dbuf_init(context, &reply_buf);
    js_dbuf_init(context, &function_reply_buf);
    JSValue events_args[] = {JS_DupValue(context, primordials)};
    JSValue events = run_script(EVENTS_JS, sizeof EVENTS_JS - 1, "<dynisolate:events>", 1, events_args);
    if (JS_IsException(events)) return -2;
    JSValue streams_args[] = {JS_DupValue(context, primordials), JS_DupValue(context, events)};
    JSValue streams = run_script(STREAMS_JS, sizeof STREAMS_JS - 1, "<dynisolate:streams>", 2, streams_args);
    if (JS_IsException(streams)) return -2;
    JSValue hooks = JS_NewObject(context);
    native(hooks, "randomFill", js_random_fill, 1);
    native(hooks, "encodingName", js_encoding_name, 1);
    native(hooks, "textDecode", js_text_decode, 4);
    url_natives(context, hooks);
    native(hooks, "viewLayout", js_view_layout, 1);
    native(hooks, "bytesView", js_bytes_view, 2);
    JS_SetPropertyStr(context, hooks, "events", JS_DupValue(context, events));
    JS_SetPropertyStr(context, hooks, "streams", JS_DupValue(context, streams));
    JSValue web_args[] = {JS_DupValue(context, primordials), hooks};
    JSValue web = run_script(WEB_JS, sizeof WEB_JS - 1, "<dynisolate:web>", 2, web_args);
    if (JS_IsException(web) || node_init(context) || clone_web_init(context, web)) return -2;
    JSValue forms_natives = JS_NewObject(context);
    native(forms_natives, "randomFill", js_random_fill, 1);
    if (run_web_script(FORMS_JS, sizeof FORMS_JS - 1, "<dynisolate:forms>", primordials, forms_natives, web)) return -2;
    JSValue subtle_natives = JS_NewObject(context);
    native(subtle_natives, "subtle", js_subtle, 1);
    native(subtle_natives, "randomFill", js_random_fill, 1);
    if (run_web_script(SUBTLE_JS, sizeof SUBTLE_JS - 1, "<dynisolate:subtle>", primordials, subtle_natives, web))
        return -2;
    JSValue compression_natives = JS_NewObject(context);
    native(compression_natives, "compressionStep", js_compression_step, 4);
    native(compression_natives, "digestStream", js_digest_stream, 4);
    JS_SetPropertyStr(context, compression_natives, "streams", streams);
    if (run_web_script(COMPRESSION_JS, sizeof COMPRESSION_JS - 1, "<dynisolate:compression>", primordials,
                       compression_natives, web))
        return -2;
    JSValue intl_natives = JS_NewObject(context);
    native(intl_natives, "intl", js_intl, 2);
    if (run_web_script(INTL_JS, sizeof INTL_JS - 1, "<dynisolate:intl>", primordials, intl_natives, web)) return -2;
    JSValue urlpattern_natives = JS_NewObject(context);
    native(urlpattern_natives, "urlPatternParse", js_urlpattern_parse, 1);
    native(urlpattern_natives, "urlPatternMatchInput", js_urlpattern_match_input, 1);
    if (run_web_script(URLPATTERN_JS, sizeof URLPATTERN_JS - 1, "<dynisolate:urlpattern>", primordials,
                       urlpattern_natives, web))
        return -2;
    JSValue inspect_natives = JS_NewObject(context);
    native(inspect_natives, "promiseState", js_promise_state, 1);
    native(inspect_natives, "promiseResult", js_promise_result, 1);
    native(inspect_natives, "proxyTarget", js_proxy_target, 1);
    JSValue inspect_args[] = {JS_DupValue(context, primordials), inspect_natives};
    JSValue inspect = run_script(INSPECT_JS, sizeof INSPECT_JS - 1, "<dynisolate:inspect>", 2, inspect_args);
    if (JS_IsException(inspect)) return -2;
    JSValue natives = JS_NewObject(context);
    JS_SetPropertyStr(context, natives, "inspect", inspect);
    native(natives, "hostCall", js_host_call, 2);
    native(natives, "hostFetch", js_host_fetch, 1);
    native(natives, "hostLog", js_host_log, 2);
    native(natives, "invoke", js_host_invoke, 2);
    native(natives, "hostCallValue", js_host_call_value, 2);
    native(natives, "finish", js_finish, 1);
    native(natives, "armTimers", js_arm_timers, 0);
    native(natives, "waiting", js_waiting, 1);
    native(natives, "refuseInGlobalScope", js_refuse_in_global_scope, 0);
    native(natives, "asyncContext", js_async_context, 0);
    native(natives, "runInAsyncContext", js_run_in_async_context, 2);
    native(natives, "enableAsyncContext", js_enable_async_context, 0);
    JS_SetPropertyStr(context, natives, "events", events);
    JSValue glue_args[] = {primordials, natives, web};
    JSValue glue = run_script(GLUE_JS, sizeof GLUE_JS - 1, "<dynisolate>", 3, glue_args);
    if (JS_IsException(glue)) return -3;
    glue_run = JS_GetPropertyStr(context, glue, "run");
    glue_timers = JS_GetPropertyStr(context, glue, "timers");
    glue_fail = JS_GetPropertyStr(context, glue, "fail");
    glue_invoke = JS_GetPropertyStr(context, glue, "invoke");
    JS_FreeValue(context, glue);
    on_fulfilled = JS_NewCFunction(context, js_on_fulfilled, "", 1);
    on_rejected = JS_NewCFunction(context, js_on_rejected, "", 1);
    /* Made by each isolate's first call: replacing a snapshot's object would write to the pages
     * of its neighbours on the GC list. */
    env_object = JS_UNDEFINED;
    JSValue glue_functions[] = {glue_run, glue_timers, glue_fail, glue_invoke};
    for (int i = 0; i < 4; i++)
        if (!JS_IsFunction(context, glue_functions[i])) return -4;
    return 0;
}

/* js_init: init_runtime with the runtime's own scripts compiled without their source text. */
EXPORT("js_init") int32_t js_init(void) {
    runtime_scripts = true;
    int32_t status = init_runtime();
    runtime_scripts = false;
    return status;
}

/* Collects the garbage of what ran so far and leaves room before the next collection: an isolate
 * restored from a snapshot taken now should never pay for a GC of the whole heap. */
static void settle(void) {
    JS_RunGC(runtime);
    JS_SetGCThreshold(runtime, runtime->malloc_state.malloc_size + GC_HEADROOM_BYTES);
    void *volatile headroom[HEADROOM_BIGPAGES]; /* volatile: the compiler may not elide them */
    for (int i = 0; i < HEADROOM_BIGPAGES; i++) headroom[i] = malloc(ONE_BIGPAGE_BYTES);
    for (int i = 0; i < HEADROOM_BIGPAGES; i++) free(headroom[i]);
}

/* The pre-initialisation entry point: the host takes the interpreter's base heap after this
 * returns 0. */
EXPORT("pre_initialize") int32_t pre_initialize(void) {
    int32_t status = js_init();
    if (status == 0) settle();
    return status;
}

/* ---- replies ---- */

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

static int64_t ok_null(void) {
    return output("{\"ok\":null}", 11);
}

/* Takes ownership of `owner` and reads the module bundle at `p` (inside it). Layout (little
 * endian): u32 count, then per entry u32 name_len, u32 data_len, u32 kind, the name and a NUL,
 * the data and a NUL; modules first, then links. Returns an error message, or NULL. */
static const char *set_bundle(uint8_t *owner, const uint8_t *p, uint32_t len) {
    free(bundle_buf);
    free(modules);
    bundle_buf = owner;
    module_count = link_start = 0;
    modules = NULL;
    const uint8_t *end = p + len;
    if (end - p < 4) return "the bundle is truncated";
    uint32_t count = read_u32(p);
    p += 4;
    if (count > MAX_BUNDLE_ENTRIES) return "the bundle has too many entries";
    modules = calloc(count ? count : 1, sizeof *modules);
    if (!modules) return "out of memory";
    for (uint32_t i = 0; i < count; i++) {
        if (end - p < MODULE_HEADER_BYTES) return "the bundle is truncated";
        uint32_t name_len = read_u32(p), data_len = read_u32(p + 4), kind = read_u32(p + 8);
        p += MODULE_HEADER_BYTES;
        if ((uint64_t)(end - p) < (uint64_t)name_len + data_len + 2 || p[name_len] || p[name_len + 1 + data_len])
            return "the bundle is malformed";
        const uint8_t *data = p + name_len + 1;
        int module_after_link = kind != ENTRY_LINK && link_start < i;
        if (kind > ENTRY_LINK || module_after_link || (kind == ENTRY_LINK && !memchr(data, 0, data_len)))
            return "the bundle is malformed";
        modules[i] = (Module){(const char *)p, data, data_len, kind};
        p += name_len + 1 + data_len + 1;
        module_count = i + 1;
        if (kind != ENTRY_LINK) link_start = module_count;
    }
    return NULL;
}

/* Takes ownership of the module bundle (see `set_bundle`). */
EXPORT("json:bundle") int64_t js_bundle(uint8_t *buf, int32_t len) {
    free(last_output);
    last_output = NULL;
    buf = keep(buf, len > 0 ? (size_t)len : 0);
    if (!buf) return internal_error("out of memory");
    const char *error = set_bundle(buf, buf, len > 0 ? (uint32_t)len : 0);
    return error ? internal_error(error) : ok_null();
}

/* Compiles bundle module `index` (given as decimal text) from source to bytecode; replies with
 * COMPILED, the specifiers it imports (u32 count, then u32 length and text each) and the
 * bytecode, or with an error envelope (which starts with '{'). */
EXPORT("json:compile") int64_t js_compile(char *request, int32_t len) {
    free(last_output);
    last_output = NULL;
    /* The request is not NUL-terminated: read at most `len` digits. */
    uint64_t index = 0;
    int32_t digits = 0;
    for (; digits < len && digits < 10 && request[digits] >= '0' && request[digits] <= '9'; digits++)
        index = index * 10 + (uint64_t)(request[digits] - '0');
    int valid = digits > 0 && digits == len;
    release(request);
    if (!valid || js_init() != 0 || index >= link_start || modules[index].kind != ENTRY_SOURCE)
        return internal_error("no such source module");
    const Module *m = &modules[index];
    compiling = 1;
    JSValue compiled = JS_Eval(context, (const char *)m->data, m->len, m->name,
                               JS_EVAL_TYPE_MODULE | JS_EVAL_FLAG_COMPILE_ONLY);
    compiling = 0;
    if (JS_IsException(compiled)) {
        JS_FreeValue(context, JS_GetException(context));
        return internal_error("the module does not compile");
    }
    DynBuf reply;
    js_dbuf_init(context, &reply);
    JSModuleDef *module = JS_VALUE_GET_PTR(compiled);
    dbuf_putc(&reply, COMPILED);
    dbuf_put_u32(&reply, (uint32_t)module->req_module_entries_count);
    for (int i = 0; i < module->req_module_entries_count; i++) {
        size_t specifier_len;
        const char *specifier = JS_AtomToCStringLen(context, &specifier_len, module->req_module_entries[i].module_name);
        if (!specifier) {
            reply.error = 1;
            break;
        }
        dbuf_put_u32(&reply, (uint32_t)specifier_len);
        dbuf_put(&reply, (const uint8_t *)specifier, specifier_len);
        JS_FreeCString(context, specifier);
    }
    size_t size;
    uint8_t *bytes = JS_WriteObject(context, &size, compiled, JS_WRITE_OBJ_BYTECODE);
    JS_FreeValue(context, compiled);
    if (bytes) dbuf_put(&reply, bytes, size);
    js_free(context, bytes);
    int64_t packed = !bytes || reply.error ? internal_error("the module cannot be written as bytecode")
                                           : output((const char *)reply.buf, reply.size);
    dbuf_free(&reply);
    return packed;
}

/* ---- the event loop ---- */

/* The call's reply, written by our reactions to its promise: 0 pending, 1 bytes in reply_buf,
 * 2 glue's reply text in settled_text, 3 failed. */
static int settled;
static JSValue settled_text;

/* Writes the reply for a call's result (or for a function the host called) into `out`:
 * {"ok":JSON} for plain data (null for undefined: a call that returns nothing), CLONE_MAGIC and
 * the clone for other values, and {"serialization":message} for a value that cannot be sent. -1
 * when out of memory. */
static int write_result(JSContext *ctx, DynBuf *out, JSValueConst value) {
    out->size = 0;
    if (JS_IsNull(value) || JS_IsUndefined(value)) {
        dbuf_put(out, (const uint8_t *)"{\"ok\":null}", 11);
        return out->error ? -1 : 0;
    }
    dbuf_put(out, (const uint8_t *)"{\"ok\":", 6);
    if (!wire(ctx, out, value)) {
        dbuf_putc(out, '}');
        return out->error ? -1 : 0;
    }
    out->size = 0;
    if (!clone_write(ctx, out, value, 0)) return 0;
    JSValue error = JS_GetException(ctx);
    JSValue message = JS_IsObject(error) ? JS_GetProperty(ctx, error, JS_ATOM_message) : JS_UNDEFINED;
    JSValue text = JS_ConcatString3(ctx, "the result cannot be sent to the host: ",
                                    JS_IsString(message) ? JS_DupValue(ctx, message) : JS_NewString(ctx, "out of memory"), "");
    out->size = 0;
    if (!JS_IsString(text)) {
        JS_FreeValue(ctx, JS_GetException(ctx));
        out->error = true;
    } else {
        dbuf_put(out, (const uint8_t *)"{\"serialization\":", 17);
        wire_string(out, JS_VALUE_GET_STRING(text));
        dbuf_putc(out, '}');
    }
    JS_FreeValue(ctx, text);
    JS_FreeValue(ctx, message);
    JS_FreeValue(ctx, error);
    return out->error ? -1 : 0;
}

static JSValue js_on_fulfilled(JSContext *ctx, JSValueConst this_val, int argc, JSValueConst *argv) {
    settled = write_result(ctx, &reply_buf, argv[0]) ? 3 : 1;
    return JS_UNDEFINED;
}

/* glue: finish(value) -> true: the reply for a result that is not a promise is in reply_buf, as
 * the reaction to a call's promise writes it; reply_of sends it. */
static JSValue js_finish(JSContext *ctx, JSValueConst this_val, int argc, JSValueConst *argv) {
    return write_result(ctx, &reply_buf, argv[0]) ? JS_ThrowOutOfMemory(ctx) : JS_TRUE;
}

static JSValue js_on_rejected(JSContext *ctx, JSValueConst this_val, int argc, JSValueConst *argv) {
    settled = 3;
    settled_text = JS_Call(ctx, glue_fail, JS_UNDEFINED, 1, &argv[0]);
    if (JS_IsException(settled_text)) return JS_EXCEPTION;
    settled = 2;
    return JS_UNDEFINED;
}

/* Runs jobs, and due timers (sleeping on the host, against the call's deadline, until the next),
 * until `done` says so or nothing is left to run. */
static void run_jobs(int (*done)(JSValueConst), JSValueConst arg) {
    JSContext *job_context;
    while (!done(arg)) {
        int ran = run_job(&job_context);
        if (ran > 0) continue;
        if (ran < 0) JS_FreeValue(context, JS_GetException(context)); /* a job failed to start */
        if (!timers_armed) break;
        JSValue next = JS_Call(context, glue_timers, JS_UNDEFINED, 0, NULL);
        int32_t ms = -1;
        if (JS_IsException(next)) JS_FreeValue(context, JS_GetException(context));
        else JS_ToInt32(context, &ms, next);
        JS_FreeValue(context, next);
        if (ms < 0) break;
        if (ms > 0) host_sleep(ms);
    }
}

static int promise_settled(JSValueConst promise) {
    return JS_PromiseState(context, promise) != JS_PROMISE_PENDING;
}

/* The call's reply is ready while promises given to ctx.waitUntil still run: the host may hand it
 * to its caller now (as Cloudflare sends the response first), while the isolate goes on. */
static void reply_early(void) {
    if (waits_unsettled > 0) host_early_reply((const char *)reply_buf.buf, (int32_t)reply_buf.size);
}

static int call_settled(JSValueConst unused) {
    return settled != 0;
}

static int waits_settled(JSValueConst unused) {
    return waits_unsettled <= 0;
}

/* Jobs a call queued but did not await run now, inside the call and its budget (a session's next
 * call never runs them, and a fresh isolate behaves the same); so does the event loop, timers
 * included, while promises given to ctx.waitUntil are unsettled. Then its timers are dropped. */
static void end_call(void) {
    JSContext *job_context;
    while (run_job(&job_context) != 0) {
        if (JS_HasException(context)) JS_FreeValue(context, JS_GetException(context));
    }
    if (waits_unsettled > 0) run_jobs(waits_settled, JS_UNDEFINED);
    waits_unsettled = 0;
    if (timers_armed) {
        JSValue clear = JS_TRUE;
        JS_FreeValue(context, JS_Call(context, glue_timers, JS_UNDEFINED, 1, &clear));
        timers_armed = 0;
    }
}

/* ---- loading ---- */

/* Loads, links and evaluates module `name`, as `import(name)` would without the dynamic-import
 * job and its promises, with randomness, timers and I/O refused. 0 with it in *module; -1 with
 * the reason (what import() would have rejected with) in *reason; -2 if evaluation never
 * settles. */
static int evaluate_module(const char *name, JSModuleDef **module, JSValue *reason) {
    in_global_scope = 1;
    JSModuleDef *m = js_host_resolve_imported_module(context, "<dynisolate>", name, JS_UNDEFINED);
    if (!m) goto fail;
    if (js_resolve_module(context, m) < 0) {
        js_free_modules(context, JS_FREE_MODULE_NOT_RESOLVED);
        goto fail;
    }
    JSValue promise = JS_EvalFunction(context, JS_NewModuleValue(context, m));
    if (JS_IsException(promise)) goto fail;
    run_jobs(promise_settled, promise);
    in_global_scope = 0;
    JSPromiseStateEnum state = JS_PromiseState(context, promise);
    if (state == JS_PROMISE_PENDING) {
        JS_FreeValue(context, promise);
        return -2;
    }
    if (state == JS_PROMISE_REJECTED) {
        *reason = JS_PromiseResult(context, promise);
        JS_FreeValue(context, promise);
        return -1;
    }
    JS_FreeValue(context, promise);
    *module = m;
    return 0;
fail:
    in_global_scope = 0;
    *reason = JS_GetException(context);
    return -1;
}

/* Evaluates the main module as evaluate_module does, after the module defining Node's globals
 * when the bundle holds it; 0 with the main module's namespace in *ns. */
static int load_main(const char *name, JSValue *ns, JSValue *reason) {
    JSModuleDef *m;
    /* The bundle holds it when a module names `Buffer` or `process` (rust/js/builtins.rs). */
    int status = find_module(NODE_GLOBALS) ? evaluate_module(NODE_GLOBALS, &m, reason) : 0;
    if (status == 0) status = evaluate_module(name, &m, reason);
    if (status) return status;
    *ns = JS_GetModuleNamespace(context, m);
    if (JS_IsException(*ns)) {
        *reason = JS_GetException(context);
        return -1;
    }
    return 0;
}

/* ---- requests ---- */

/* The request's name as the glue's (entry, method) strings, kept while the name repeats (a
 * session's calls). The method is an atom's string, so `object[method]` needs no atom lookup. */
static char *name_cache;
static size_t name_cache_len = (size_t)-1;
static JSValue name_entry = JS_NULL, name_method = JS_UNDEFINED;
/* The method is one the host raises (`#workflow`, `#scheduled`, `#queue`; glue.js names them):
 * told to the glue as a flag, so an ordinary call compares no strings (each string it reads is
 * a refcount written, on a page a fresh isolate would then copy). */
static int name_special;

static JSValue atom_string(const char *s, size_t len) {
    JSAtom atom = JS_NewAtomLen(context, s, len);
    if (atom == JS_ATOM_NULL) return JS_EXCEPTION;
    JSValue v = JS_AtomToString(context, atom);
    JS_FreeAtom(context, atom);
    return v;
}

static int split_name(const char *name, size_t len) {
    if (name_cache && len == name_cache_len && !memcmp(name, name_cache, len)) return 0;
    free(name_cache);
    name_cache = NULL;
    name_cache_len = (size_t)-1;
    JS_FreeValue(context, name_entry);
    JS_FreeValue(context, name_method);
    name_entry = JS_NULL;
    const char *dot = memchr(name, '.', len);
    const char *method = dot ? dot + 1 : name;
    name_special = method < name + len && *method == '#';
    if (dot) {
        name_entry = JS_NewStringLen(context, name, dot - name);
        name_method = atom_string(dot + 1, len - (dot + 1 - name));
    } else {
        name_method = atom_string(name, len);
    }
    if (JS_IsException(name_entry) || JS_IsException(name_method)) {
        JS_FreeValue(context, JS_GetException(context));
        JS_FreeValue(context, name_entry);
        JS_FreeValue(context, name_method);
        name_entry = JS_NULL;
        name_method = JS_UNDEFINED;
        return -1;
    }
    name_cache = malloc(len ? len : 1);
    if (name_cache) {
        memcpy(name_cache, name, len);
        name_cache_len = len;
    }
    return 0;
}

/* A request's parts (layout in rust/js/protocol.rs). */
typedef struct {
    uint8_t op, flags;
    int64_t seed;
    const char *name, *env, *payload;
    uint32_t name_len, env_len, payload_len;
    size_t size; /* header and all parts */
} Request;

static int parse_request(const uint8_t *p, size_t len, Request *r) {
    if (len < REQUEST_HEADER_BYTES) return -1;
    r->op = p[0];
    r->flags = p[1];
    r->name_len = read_u32(p + 2);
    r->env_len = read_u32(p + 6);
    r->payload_len = read_u32(p + 10);
    memcpy(&r->seed, p + 14, 8);
    uint64_t size = (uint64_t)REQUEST_HEADER_BYTES + r->name_len + r->env_len + r->payload_len;
    if (size > len) return -1;
    r->name = (const char *)p + REQUEST_HEADER_BYTES;
    r->env = r->name + r->name_len;
    r->payload = r->env + r->env_len;
    r->size = (size_t)size;
    return 0;
}

/* The reply to `reply` (glue's reply text, or the call's promise, which our reactions answer). */
static int64_t reply_of(JSValue reply) {
    if (JS_IsException(reply)) {
        JS_FreeValue(context, JS_GetException(context));
        return internal_error("the request handler threw (out of memory or stack?)");
    }
    if (JS_IsObject(reply) && !JS_IsPromise(reply)) { /* a thenable: as Promise.resolve(result) */
        JSValue promise = js_promise_resolve(context, context->promise_ctor, 1, vc(&reply), 0);
        JS_FreeValue(context, reply);
        reply = promise;
        if (JS_IsException(reply)) {
            JS_FreeValue(context, JS_GetException(context));
            return internal_error("the request handler failed (out of memory or stack?)");
        }
    }
    if (JS_IsPromise(reply)) {
        settled = 0;
        if (JS_PromiseState(context, reply) == JS_PROMISE_FULFILLED && !JS_IsJobPending(runtime)) {
            /* Fulfilled, and no job queued ahead of where its reaction's would go (a method that
             * returned without awaiting): what that reaction would do, done now. */
            JSValue value = JS_PromiseResult(context, reply);
            JSValue done = js_on_fulfilled(context, JS_UNDEFINED, 1, &value);
            if (JS_IsException(done)) JS_FreeValue(context, JS_GetException(context));
            JS_FreeValue(context, value);
            JS_FreeValue(context, reply);
            reply = JS_UNDEFINED;
        } else {
            /* Wait with reactions of our own (no derived promise), which write the reply; they
             * run where the job of `then(finish, fail)` would have. */
            JSValueConst handlers[2] = {on_fulfilled, on_rejected};
            JSValueConst no_capability[2] = {JS_UNDEFINED, JS_UNDEFINED};
            int failed = perform_promise_then(context, reply, handlers, no_capability);
            JS_FreeValue(context, reply);
            reply = JS_UNDEFINED;
            if (failed) {
                JS_FreeValue(context, JS_GetException(context));
                return internal_error("the request handler failed (out of memory or stack?)");
            }
            run_jobs(call_settled, JS_UNDEFINED);
        }
        int outcome = settled;
        settled = 0;
        if (outcome == 0) return internal_error("the call awaited something that never settles");
        if (outcome == 3) {
            JS_FreeValue(context, settled_text);
            settled_text = JS_UNDEFINED;
            return internal_error("the request handler failed (out of memory or stack?)");
        }
        if (outcome == 1) {
            reply_early();
            end_call();
            return output((const char *)reply_buf.buf, reply_buf.size);
        }
        reply = settled_text;
        settled_text = JS_UNDEFINED;
    }
    if (JS_IsBool(reply)) reply_early(); /* glue's finish wrote it */
    end_call();
    if (JS_IsBool(reply)) return output((const char *)reply_buf.buf, reply_buf.size);
    size_t reply_len;
    const char *text = JS_IsString(reply) ? JS_ToCStringLen(context, &reply_len, reply) : NULL;
    int64_t packed = text ? output(text, reply_len) : internal_error("the reply is not a string");
    if (text) JS_FreeCString(context, text);
    JS_FreeValue(context, reply);
    return packed;
}

/* Handles one request; returns the packed reply envelope. */
static int64_t handle(const Request *r) {
    if (js_init() != 0) return internal_error("the interpreter failed to start");
    if (r->seed) context->random_state = (uint64_t)r->seed;
    if (r->flags & FLAG_ENV) {
        JSValue env = env_build(context, (const uint8_t *)r->env, r->env_len);
        if (JS_IsException(env)) {
            JS_FreeValue(context, JS_GetException(context));
            return internal_error("the env section is malformed");
        }
        JS_FreeValue(context, env_object);
        env_object = env;
    }
    JSValue reply;
    if (r->op == OP_LOAD) {
        char *main_name = malloc((size_t)r->name_len + 1);
        if (!main_name) return internal_error("out of memory");
        memcpy(main_name, r->name, r->name_len);
        main_name[r->name_len] = 0;
        JSValue ns = JS_UNDEFINED, reason = JS_UNDEFINED;
        int loaded = load_main(main_name, &ns, &reason);
        free(main_name);
        if (loaded == -2) return internal_error("the module's evaluation awaited something that never settles");
        if (loaded < 0) {
            reply = JS_Call(context, glue_fail, JS_UNDEFINED, 1, &reason);
            JS_FreeValue(context, reason);
        } else {
            JSValue args[] = {JS_NewInt32(context, r->op), JS_NewInt32(context, r->flags), ns};
            reply = JS_Call(context, glue_run, JS_UNDEFINED, 3, args);
            for (int i = 0; i < 3; i++) JS_FreeValue(context, args[i]);
        }
        int64_t packed = reply_of(reply);
        if (r->flags & FLAG_SETTLE) settle();
        return packed;
    }
    if (split_name(r->name, r->name_len)) return internal_error("out of memory");
    /* The arguments are parsed here (no JS string of them, no UTF-8 copy of that string for
     * JSON.parse); if they do not parse, the glue parses the text and throws JSON.parse's error. */
    JSValue parsed = JS_UNDEFINED, text = JS_UNDEFINED;
    parse_buf.size = 0;
    if (r->payload_len && (uint8_t)r->payload[0] == CLONE_MAGIC) {
        parsed = clone_read(context, (const uint8_t *)r->payload, r->payload_len);
        if (JS_IsException(parsed)) {
            JS_FreeValue(context, JS_GetException(context));
            return internal_error("the call's arguments are malformed");
        }
    } else if (!dbuf_put(&parse_buf, (const uint8_t *)r->payload, r->payload_len) && !dbuf_putc(&parse_buf, 0)) {
        parsed = JS_ParseJSON(context, (const char *)parse_buf.buf, r->payload_len, "<input>");
        if (JS_IsException(parsed)) {
            JS_FreeValue(context, JS_GetException(context));
            parsed = JS_UNDEFINED;
        }
    }
    if (JS_IsUndefined(parsed)) text = JS_NewStringLen(context, r->payload, r->payload_len);
    if (JS_IsUndefined(env_object)) { /* a first call without the env section: an empty env */
        JSValue empty = JS_NewObject(context);
        if (JS_IsException(empty) || JS_FreezeObject(context, empty) < 0) {
            JS_FreeValue(context, JS_GetException(context));
            JS_FreeValue(context, empty);
            JS_FreeValue(context, parsed);
            JS_FreeValue(context, text);
            return internal_error("out of memory");
        }
        env_object = empty;
    }
    JSValue args[] = {
        JS_NewInt32(context, r->op),
        JS_NewInt32(context, r->flags),
        JS_UNDEFINED,
        JS_DupValue(context, name_entry),
        JS_DupValue(context, name_method),
        parsed,
        text,
        JS_DupValue(context, env_object),
        JS_NewBool(context, name_special),
    };
    reply = JS_Call(context, glue_run, JS_UNDEFINED, 9, args);
    for (int i = 0; i < 9; i++) JS_FreeValue(context, args[i]);
    return reply_of(reply);
}

/* Handles one call request (and frees its buffer, unless it is the inbox); returns the packed reply. */
EXPORT("json:run") int64_t js_run(uint8_t *buf, int32_t len) {
    free(last_output);
    last_output = NULL;
    Request r;
    int64_t packed = parse_request(buf, len > 0 ? (size_t)len : 0, &r) || r.op == OP_LOAD
        ? internal_error("the request is malformed")
        : handle(&r);
    release(buf);
    return packed;
}

/* Boots a fresh isolate in one entry (takes ownership of the buffer, which the bundle lives in).
 * Layout: u32 bundle length, the bundle (see `set_bundle`), a load request, and optionally a call
 * request: the reply is the call's, or the load's when no call follows or the load failed. */
EXPORT("json:start") int64_t js_start(uint8_t *buf, int32_t len) {
    free(last_output);
    last_output = NULL;
    size_t size = len > 0 ? (size_t)len : 0;
    uint32_t bundle_len;
    Request load, call;
    /* The bundle lives on in the buffer, and evaluating it may make host calls. */
    buf = keep(buf, size);
    if (!buf) return internal_error("out of memory");
    if (js_init() != 0 || size < START_HEADER_BYTES ||
        (bundle_len = read_u32(buf), size - START_HEADER_BYTES < bundle_len)) {
        free(buf);
        return internal_error("the start request is malformed");
    }
    const char *error = set_bundle(buf, buf + START_HEADER_BYTES, bundle_len);
    if (error) return internal_error(error);
    size_t at = START_HEADER_BYTES + bundle_len;
    if (parse_request(buf + at, size - at, &load) || load.op != OP_LOAD)
        return internal_error("the start request is malformed");
    at += load.size;
    int has_call = at < size;
    if (has_call && (parse_request(buf + at, size - at, &call) || call.op == OP_LOAD || at + call.size != size))
        return internal_error("the start request is malformed");
    int64_t packed = handle(&load);
    if (!has_call) return packed;
    /* The load replied {"ok":...} or an error; only an error ends the start here. */
    const char *reply = (const char *)(uintptr_t)((uint64_t)packed >> 32);
    if ((uint32_t)packed < 6 || memcmp(reply, "{\"ok\":", 6)) return packed;
    free(last_output);
    last_output = NULL;
    return handle(&call);
}

/* ---- functions the host calls ---- */

/* Writes the error reply for `reason` (an exception value, taken) into function_reply_buf. */
static void function_failed(JSValue reason) {
    JSValue text = JS_Call(context, glue_fail, JS_UNDEFINED, 1, vc(&reason));
    JS_FreeValue(context, reason);
    size_t len;
    const char *reply = JS_IsString(text) ? JS_ToCStringLen(context, &len, text) : NULL;
    function_reply_buf.size = 0;
    if (reply) dbuf_put(&function_reply_buf, (const uint8_t *)reply, len);
    else dbuf_putstr(&function_reply_buf, "{\"error\":{\"name\":\"InternalError\",\"message\":\"out of memory\"}}");
    if (JS_IsException(text)) JS_FreeValue(context, JS_GetException(context));
    JS_FreeCString(context, reply);
    JS_FreeValue(context, text);
}

/* Calls `fn` with the argument array `args` (taken) and awaits a promise it returns by running
 * queued jobs, never timers: the host waits inside an env call, where no timer may fire. */
static JSValue call_function(JSValueConst fn, JSValue args) {
    JSValue *argv;
    uint32_t argc;
    JSValue result = !js_get_fast_array(context, args, &argv, &argc)
        ? JS_ThrowTypeError(context, "a function's arguments must be an array")
        : JS_Call(context, fn, JS_UNDEFINED, (int)argc, vc(argv));
    JS_FreeValue(context, args);
    if (JS_IsException(result) || !JS_IsPromise(result)) return result;
    JSContext *job_context;
    while (JS_PromiseState(context, result) == JS_PROMISE_PENDING) {
        int ran = run_job(&job_context);
        if (ran == 0) break;
        if (ran < 0) JS_FreeValue(context, JS_GetException(context)); /* a job failed to start */
    }
    JSPromiseStateEnum state = JS_PromiseState(context, result);
    JSValue value = state == JS_PROMISE_PENDING ? JS_UNDEFINED : JS_PromiseResult(context, result);
    JS_FreeValue(context, result);
    if (state == JS_PROMISE_FULFILLED) return value;
    if (state == JS_PROMISE_REJECTED) return JS_Throw(context, value);
    return JS_ThrowTypeError(context, "the function's promise did not settle while the host waited for it (a "
                                      "function the host calls may await env calls, not timers)");
}

/* Calls function `index` of the env calls in progress (clone_functions) for the host serving one
 * of them, with the argument array at `buf` (JSON or a clone; freed unless it is the inbox).
 * Replies as a call does: {"ok":...} or a clone, {"error":...}, or {"serialization":...}. */
EXPORT("dynisolate_call_function") int64_t js_call_guest_function(int32_t index, uint8_t *buf, int32_t len) {
    size_t size = len > 0 ? (size_t)len : 0;
    JSValue args;
    if (size && buf[0] == CLONE_MAGIC) {
        args = clone_read(context, buf, size);
    } else {
        parse_buf.size = 0;
        args = dbuf_put(&parse_buf, buf, size) || dbuf_putc(&parse_buf, 0)
            ? JS_ThrowOutOfMemory(context)
            : JS_ParseJSON(context, (const char *)parse_buf.buf, size, "<arguments>");
    }
    release(buf);
    JSValue result;
    if (JS_IsException(args)) result = args;
    else if ((uint32_t)index >= clone_functions.count) {
        JS_FreeValue(context, args);
        result = JS_ThrowTypeError(context, "no function has this index: its env call has returned");
    } else {
        JSValue fn = JS_DupValue(context, clone_functions.items[index]);
        result = call_function(fn, args);
        JS_FreeValue(context, fn);
    }
    if (JS_IsException(result)) function_failed(JS_GetException(context));
    else if (write_result(context, &function_reply_buf, result)) {
        JS_ThrowOutOfMemory(context);
        function_failed(JS_GetException(context));
    }
    JS_FreeValue(context, result);
    return pack((const char *)function_reply_buf.buf, function_reply_buf.size);
}
