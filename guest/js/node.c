/* What the Node.js compatibility modules (guest/js/node/) need from C (included by shim.c): the
 * host's hashes for node:crypto, and an async context that follows promise jobs and timers for
 * node:async_hooks' AsyncLocalStorage. They reach these through a frozen object at
 * globalThis[Symbol.for("dynisolate.node")]; nothing there grants more than tenant code has (a
 * hash, and a value of the tenant's own that rides along with its own jobs).
 *
 * Async context. A promise reaction (what `then` and `await` register) runs in the context that
 * was current when it was registered: the reaction record keeps it (build.py patches quickjs.c to
 * give it the field; QuickJS-ng's promise hooks do not bracket these jobs) and its job switches
 * to it. Every other job (queueMicrotask, thenables, timers' promises) runs in the context that
 * was current when it was queued: jobs are queued at the tail and run from the head, so their
 * tags are a FIFO of their own, filled lazily: whenever the current context is about to change (a
 * job starts or ends, code enters or leaves runInAsyncContext), the jobs queued since the last
 * tagging get the context that is ending. Until node:async_hooks is imported, only the reaction
 * records' (undefined) field costs anything. */

IMPORT("dynisolate", "digest")
int32_t host_digest(const char *name, int32_t name_len, const uint8_t *key, int32_t key_len, const uint8_t *data,
                    int32_t data_len, uint8_t *out);

#define DIGEST_MAX_BYTES 64

static int async_context_on;
static JSValue async_context; /* the context current code runs in (undefined: none) */
static JSValue *job_tags;     /* ring buffer: the tags of the first job_tags_len queued jobs */
static size_t job_tags_head, job_tags_len, job_tags_cap;
static struct list_head *last_tagged_job; /* the newest tagged job; meaningful while job_tags_len > 0 */

/* The bytes of a typed array or DataView; 0 on success, -1 with an exception. */
static int view_bytes(JSContext *ctx, JSValueConst view, uint8_t **bytes, size_t *len) {
    size_t offset, element, size;
    JSValue buffer = JS_GetTypedArrayBuffer(ctx, view, &offset, len, &element);
    if (JS_IsException(buffer)) return -1;
    uint8_t *data = JS_GetArrayBuffer(ctx, &size, buffer);
    JS_FreeValue(ctx, buffer);
    if (!data || offset + *len > size) {
        JS_ThrowTypeError(ctx, "digest: detached buffer");
        return -1;
    }
    *bytes = data + offset;
    return 0;
}

/* digest(algorithm, key | undefined, data) -> Uint8Array | null (an algorithm the host lacks). */
static JSValue js_digest(JSContext *ctx, JSValueConst this_val, int argc, JSValueConst *argv) {
    size_t name_len, key_len = 0, data_len;
    uint8_t *key = NULL, *data;
    if (!JS_IsUndefined(argv[1]) && view_bytes(ctx, argv[1], &key, &key_len)) return JS_EXCEPTION;
    if (view_bytes(ctx, argv[2], &data, &data_len)) return JS_EXCEPTION;
    if (key_len > INT32_MAX || data_len > INT32_MAX) return JS_ThrowRangeError(ctx, "digest: input too long");
    const char *name = JS_ToCStringLen(ctx, &name_len, argv[0]);
    if (!name) return JS_EXCEPTION;
    uint8_t out[DIGEST_MAX_BYTES];
    int32_t len = host_digest(name, (int32_t)name_len, key, key ? (int32_t)key_len : -1, data, (int32_t)data_len, out);
    JS_FreeCString(ctx, name);
    return len < 0 ? JS_NULL : JS_NewUint8ArrayCopy(ctx, out, (size_t)len);
}

/* Gives the jobs queued since the last tagging the current context. */
static int tag_new_jobs(void) {
    struct list_head *job = job_tags_len ? last_tagged_job->next : runtime->job_list.next;
    for (; job != &runtime->job_list; job = job->next) {
        if (job_tags_len == job_tags_cap) {
            size_t cap = job_tags_cap ? job_tags_cap * 2 : 64;
            JSValue *tags = malloc(cap * sizeof *tags);
            if (!tags) return -1;
            for (size_t i = 0; i < job_tags_len; i++) tags[i] = job_tags[(job_tags_head + i) % job_tags_cap];
            free(job_tags);
            job_tags = tags;
            job_tags_cap = cap;
            job_tags_head = 0;
        }
        job_tags[(job_tags_head + job_tags_len++) % job_tags_cap] = JS_DupValue(context, async_context);
        last_tagged_job = job;
    }
    return 0;
}

/* Makes `next` (owned) the current context, tagging what was queued under the old one; returns
 * the old one (owned). */
static JSValue switch_async_context(JSValue next) {
    if (tag_new_jobs()) JS_ThrowOutOfMemory(context);
    JSValue previous = async_context;
    async_context = next;
    return previous;
}

/* Runs the first queued job in the context it was queued in; as JS_ExecutePendingJob. */
static int run_job(JSContext **job_context) {
    if (!async_context_on) return JS_ExecutePendingJob(runtime, job_context);
    if (list_empty(&runtime->job_list)) {
        *job_context = NULL;
        return 0;
    }
    if (tag_new_jobs()) return -1;
    /* The first job's tag leaves the FIFO as the job leaves the queue; nothing may be tagged in
     * between, or the job about to run would count as queued. */
    JSValue outer = async_context;
    async_context = job_tags[job_tags_head];
    job_tags_head = (job_tags_head + 1) % job_tags_cap;
    job_tags_len--;
    int ran = JS_ExecutePendingJob(runtime, job_context);
    JS_FreeValue(context, switch_async_context(outer));
    return ran;
}

/* For quickjs.c: the context a reaction registered now will run in (owned). */
static JSValue dynisolate_reaction_context(JSContext *ctx) {
    return async_context_on ? JS_DupValue(ctx, async_context) : JS_UNDEFINED;
}

/* A reaction's job: upstream's promise_reaction_job (five arguments) in context argv[5]. */
static JSValue reaction_job_in_context(JSContext *ctx, int argc, JSValueConst *argv) {
    if (!async_context_on) return promise_reaction_job(ctx, 5, argv);
    JSValue outer = switch_async_context(JS_DupValue(ctx, argv[5]));
    JSValue result = promise_reaction_job(ctx, 5, argv);
    JS_FreeValue(ctx, switch_async_context(outer));
    return result;
}

/* For quickjs.c: queues a reaction's job (args: its five arguments) to run in `context`; upstream's
 * own job while no async context is in use (every `await` queues one: the wrapper would cost each
 * a call and an argument). */
static int dynisolate_enqueue_reaction(JSContext *ctx, JSValueConst *args, JSValueConst context) {
    if (!async_context_on) return JS_EnqueueJob(ctx, promise_reaction_job, 5, args);
    JSValueConst with_context[6] = {args[0], args[1], args[2], args[3], args[4], context};
    return JS_EnqueueJob(ctx, reaction_job_in_context, 6, with_context);
}

/* enableAsyncContext(): node:async_hooks is in use; from now on jobs carry their context. */
static JSValue js_enable_async_context(JSContext *ctx, JSValueConst this_val, int argc, JSValueConst *argv) {
    if (!async_context_on) {
        async_context = JS_UNDEFINED;
        job_tags_len = 0;
        async_context_on = 1;
    }
    return JS_UNDEFINED;
}

/* asyncContext() -> the current context (undefined: none, or not enabled). */
static JSValue js_async_context(JSContext *ctx, JSValueConst this_val, int argc, JSValueConst *argv) {
    return async_context_on ? JS_DupValue(ctx, async_context) : JS_UNDEFINED;
}

/* runInAsyncContext(context, fn) -> fn(), with `context` current while it runs (and for the jobs
 * it queues). */
static JSValue js_run_in_async_context(JSContext *ctx, JSValueConst this_val, int argc, JSValueConst *argv) {
    if (!async_context_on) return JS_Call(ctx, argv[1], JS_UNDEFINED, 0, NULL);
    JSValue outer = switch_async_context(JS_DupValue(ctx, argv[0]));
    JSValue result = JS_Call(ctx, argv[1], JS_UNDEFINED, 0, NULL);
    JS_FreeValue(ctx, switch_async_context(outer));
    return result;
}

/* Defines globalThis[Symbol.for("dynisolate.node")]; 0 on success. */
static int node_init(JSContext *ctx) {
    async_context = JS_UNDEFINED;
    JSValue hook = JS_NewObject(ctx);
    struct {
        const char *name;
        JSCFunction *fn;
        int length;
    } functions[] = {
        {"digest", js_digest, 3},
        {"enableAsyncContext", js_enable_async_context, 0},
        {"asyncContext", js_async_context, 0},
        {"runInAsyncContext", js_run_in_async_context, 2},
    };
    for (size_t i = 0; i < sizeof functions / sizeof functions[0]; i++) {
        JSValue fn = JS_NewCFunction(ctx, functions[i].fn, functions[i].name, functions[i].length);
        if (JS_DefinePropertyValueStr(ctx, hook, functions[i].name, fn, JS_PROP_ENUMERABLE) < 0) return -1;
    }
    if (JS_PreventExtensions(ctx, hook) < 0) return -1;
    JSValue key = JS_NewSymbol(ctx, "dynisolate.node", true);
    JSAtom atom = JS_ValueToAtom(ctx, key);
    JS_FreeValue(ctx, key);
    JSValue global = JS_GetGlobalObject(ctx);
    int status = JS_DefinePropertyValue(ctx, global, atom, hook, 0);
    JS_FreeAtom(ctx, atom);
    JS_FreeValue(ctx, global);
    return status < 0 ? -1 : 0;
}
