// The request handler inside the JS guest. Evaluated once by shim.c at js_init, after web.js; the
// object it returns ({run, timers, finish, fail, invoke}) is held by C only. It captures every intrinsic it uses up
// front and never iterates with tenant-replaceable protocols (spread, for-of, Array methods), so
// tenant code that replaces JSON, Object, Array or Promise members later cannot steer it.
(function (primordials, native, web) {
  "use strict";
  // What C provides (shim.c): the host imports, and the fast paths of the hot path: strict JSON
  // of plain data, env calls, timer bookkeeping, the global-scope refusal.
  const {
    hostCall,
    hostFetch,
    hostLog,
    invoke: nativeInvoke,
    hostCallValue,
    finish,
    armTimers,
    refuseInGlobalScope,
    waiting,
    asyncContext,
    runInAsyncContext,
    enableAsyncContext,
    events,
  } = native;
  const {
    JSONParse: parse,
    JSONStringify: stringify,
    ObjectKeys: keys,
    ObjectGetPrototypeOf: getPrototypeOf,
    ObjectGetOwnPropertyNames: ownNames,
    ObjectDefineProperty: defineProperty,
    ObjectCreate: create,
    ObjectFreeze: freeze,
    ObjectHasOwn: hasOwn,
    ObjectEntries: entries,
    ObjectPrototype: ObjectProto,
    ReflectApply: apply,
    ArrayIsArray: isArray,
    ArrayPrototypeIncludes: includes,
    StringCtor: StringOf,
    ErrorCtor: ErrorClass,
    TypeErrorCtor: TypeErrorClass,
    RangeErrorCtor: RangeErrorClass,
    PromiseCtor: PromiseClass,
    PromiseResolve: resolve,
    PromiseReject: reject,
    PromisePrototypeThen: promiseThen,
    NumberIsFinite: isFinite,
    DateCtor: DateClass,
    DateNow: now,
    DatePrototypeGetTime: dateTime,
    MapCtor: MapClass,
    ProxyCtor: ProxyClass,
    MapPrototypeGet: mapGet,
    MapPrototypeSet: mapSet,
    MapPrototypeDelete: mapDelete,
    MapPrototypeClear: mapClear,
    MapPrototypeForEach: mapForEach,
    MapPrototypeGetSize: mapSize,
    MathCeil: ceil,
    WeakMapCtor: WeakMapClass,
    WeakMapPrototypeGet: bundledGet,
    WeakMapPrototypeSet: bundledSet,
    SymbolFor: symbolFor,
    StringPrototypeSlice: sliceString,
    StringPrototypeCharCodeAt: charCodeAt,
  } = primordials;

  // The request's ops and flags (rust/js/protocol.rs, which tests/rust/protocol.rs checks).
  const OP_CALL = 0;
  const OP_FETCH = 1;
  const OP_LOAD = 2;
  const FLAG_OUTBOUND = 1;
  const FLAG_DESCRIBE = 2;
  const FLAG_PROPS = 16;
  const RequestClass = Request; // web.js's, before any tenant code can replace the globals
  const URLClass = URL;

  const NOT_PERMITTED =
    "This worker is not permitted to access the internet via global functions like fetch(). " +
    "It must use capabilities (such as bindings in 'env') to talk to the outside world.";

  // Each `define` makes a global the way built-ins are: writable, configurable, not enumerable.
  function define(name, value) {
    defineProperty(globalThis, name, { value, writable: true, configurable: true, enumerable: false });
  }

  // ---- console: structured records (level, message) for the host ----
  const LEVELS = { debug: 0, log: 1, info: 1, warn: 2, error: 3, trace: 0 };

  // Values as workerd's console prints them (inspect.js).
  const inspector = native.inspect;
  const inspect = (value) => inspector.inspect(value);
  const format = (args) => inspector.format(args);

  const console = {};
  for (const name of keys(LEVELS)) {
    const level = LEVELS[name];
    console[name] = function (...args) {
      hostLog(level, format(args));
    };
  }
  define("console", console);

  // ---- timers: they fire within the call that set them; the host sleeps between them ----
  // Due times are read on the guest's clock (Date.now()), which stands still between I/O events:
  // a timer set after a long computation is due that long earlier in real time, as on Workers,
  // and the host's sleep counts its wait from the same reading.
  const timers = new MapClass();
  const MAX_TIMER_WAIT_MS = 0x7fffffff; // C reads the wait as an int32
  // Live timers one call may hold (workerd's MAX_TIMEOUTS); the glue's own (a step's timeout, a
  // workflow's suspension) are not held to it.
  const MAX_TIMERS = 10000;
  let nextTimerId = 1;
  let timerSeq = 0;
  let timersFinished = 0;

  let timersArmed = false; // C asks for due timers only once a call set one
  function addTimer(callback, delay, args, repeat, own = false) {
    refuseInGlobalScope();
    if (typeof callback !== "function") throw new TypeErrorClass("the timer callback must be a function");
    if (!own && mapSize(timers) >= MAX_TIMERS) {
      // workerd's words and error.
      throw new web.QuotaExceededError(
        "You have exceeded the number of active timeouts you may set. " +
          `max active timeouts: ${MAX_TIMERS}, current active timeouts: ${mapSize(timers)}, ` +
          `finished timeouts: ${timersFinished}`,
      );
    }
    if (!timersArmed) {
      timersArmed = true;
      armTimers();
    }
    const ms = isFinite(+delay) && +delay > 0 ? +delay : 0;
    const id = nextTimerId++;
    // The async context (node:async_hooks) the callback will run in; undefined until one is used.
    const context = asyncContext();
    mapSet(timers, id, { due: now() + ms, seq: timerSeq++, ms, callback, args, repeat, context, own });
    return id;
  }
  // What runs when the call would otherwise only wait: no job is queued, no timer of the tenant's
  // is set, and nothing else is pending (env calls and fetch() return before the caller goes on),
  // so nothing the tenant wrote can run before the glue's own timers fire; a promise of the
  // tenant's that is still pending can never settle. The hook returns true if it moved something
  // on (the workflow section fails the step attempts stuck on such a promise).
  let whenIdle = null;
  function clearTimer(id) {
    if (mapDelete(timers, +id)) timersFinished++;
  }
  define("setTimeout", function setTimeout(callback, delay = 0, ...args) {
    return addTimer(callback, delay, args, false);
  });
  define("setInterval", function setInterval(callback, delay = 0, ...args) {
    return addTimer(callback, delay, args, true);
  });
  define("clearTimeout", clearTimer);
  define("clearInterval", clearTimer);
  // Cloudflare's scheduler.wait(ms, {signal}): a promise for a timer, which an aborted signal
  // rejects with its reason (clearing the timer). It is held to the same count as setTimeout.
  class Scheduler {
    wait(delay = 0, options = undefined) {
      let signal = null;
      if (options !== undefined && options !== null) {
        if (typeof options !== "object") throw new TypeErrorClass("scheduler.wait: options must be an object");
        const given = options.signal;
        if (given !== undefined) {
          if (!events.isSignal(given)) throw new TypeErrorClass("scheduler.wait: options.signal must be an AbortSignal");
          signal = given;
        }
      }
      if (signal !== null && events.aborted(signal)) return reject(events.reason(signal));
      return new PromiseClass((resolveWait, rejectWait) => {
        const onAbort = () => {
          clearTimer(id);
          rejectWait(events.reason(signal));
        };
        const fired = () => {
          if (signal !== null) events.removeAbort(signal, onAbort); // a long-lived signal keeps nothing
          resolveWait(undefined);
        };
        const id = addTimer(fired, delay, [], false);
        if (signal !== null) events.onAbort(signal, onAbort);
      });
    }
  }
  define("scheduler", new Scheduler());

  // AbortSignal.timeout's timer, and where an exception in an event listener goes (events.js).
  events.useTimers((callback, ms) => addTimer(callback, ms, [], false));
  events.useReporter((error) => hostLog(LEVELS.error, "Uncaught " + inspect(error)));

  // Called by C when no job is left: fires the earliest due timer (one, so its promise jobs run
  // before the next), and returns 0 after firing, the ms until the next timer, or -1 for none.
  function runTimers(clear) {
    if (clear === true) {
      mapClear(timers); // timers do not outlive the call that set them
      timersArmed = false;
      timersFinished = 0;
      return -1;
    }
    let earliest = null;
    let earliestId = 0;
    let tenantTimers = false;
    mapForEach(timers, (timer, id) => {
      if (!timer.own) tenantTimers = true;
      if (earliest === null || timer.due < earliest.due || (timer.due === earliest.due && timer.seq < earliest.seq)) {
        earliest = timer;
        earliestId = id;
      }
    });
    // Whole milliseconds, rounded up: the clock moves on only when the host sleeps, so a wait
    // that rounded down to 0 would never end.
    const wait = earliest === null ? 0 : ceil(earliest.due - now());
    const nothingDue = earliest === null || wait > 0;
    if (nothingDue && !tenantTimers && whenIdle !== null && whenIdle()) return 0;
    if (earliest === null) return -1;
    if (wait > 0) return wait < MAX_TIMER_WAIT_MS ? wait : MAX_TIMER_WAIT_MS;
    if (earliest.repeat) {
      earliest.due = now() + (earliest.ms || 1);
      earliest.seq = timerSeq++;
    } else {
      mapDelete(timers, earliestId);
      timersFinished++;
    }
    try {
      const timer = earliest;
      if (timer.context === undefined) apply(timer.callback, globalThis, timer.args);
      else runInAsyncContext(timer.context, () => apply(timer.callback, globalThis, timer.args));
    } catch (e) {
      hostLog(3, "Uncaught (in timer) " + inspect(e));
    }
    return 0;
  }

  // What the host learns of a thrown value. Tenant values may throw from their getters or
  // toString: any part that cannot be read is replaced, never allowed to fail the request.
  function errorInfo(e) {
    const read = (f, fallback) => {
      try {
        return StringOf(f());
      } catch {
        return fallback;
      }
    };
    let isError = false;
    try {
      isError = e instanceof ErrorClass;
    } catch {}
    if (isError) {
      return {
        name: read(() => e.name, "Error"),
        message: read(() => e.message, "(unreadable message)"),
        stack: read(() => e.stack ?? "", ""),
      };
    }
    return { name: "Error", message: read(() => e, "(a thrown value that cannot be read)"), stack: "" };
  }

  // An Error from the {name, message} the host sent (a failed host call, a recorded step error).
  function errorFrom(info) {
    const error = new ErrorClass(StringOf(info?.message ?? ""));
    error.name = StringOf(info?.name ?? "Error");
    return error;
  }

  function hostError(reply) {
    return errorFrom(reply.error);
  }

  // ---- fetch(): through the worker's outbound handler, or refused ----
  let outboundAllowed = false;
  define("fetch", async function fetch(input, init) {
    refuseInGlobalScope();
    if (!outboundAllowed) throw new TypeErrorClass(NOT_PERMITTED);
    const request = new RequestClass(input, init);
    const signal = web.requestSignal(request);
    if (signal !== null && events.aborted(signal)) throw events.reason(signal);
    const scheme = new URLClass(request.url).protocol;
    if (scheme !== "http:" && scheme !== "https:") {
      throw new TypeErrorClass(`Fetch API cannot load ${request.url}: only http: and https: URLs are supported`);
    }
    return web.fetch(request, (wire) => {
      const reply = parse(hostFetch(stringify(wire)));
      if (!hasOwn(reply, "ok")) throw hostError(reply);
      return reply.ok;
    });
  });

  // ---- WebAssembly: the bundle's .wasm modules, instantiated and run by the host ----
  // The isolate has no wasm compiler: a Module comes only from a .wasm module of the bundle (as
  // Cloudflare allows no compiling at run time either). Each instance is an isolate of its own on
  // the host; calling an export crosses there, numbers in and out, and its memory stays there.
  const bundled = new WeakMapClass();

  class CompileError extends ErrorClass {}
  class LinkError extends ErrorClass {}
  class RuntimeError extends ErrorClass {}
  const WASM_ERRORS = { CompileError, LinkError, RuntimeError, TypeError: TypeErrorClass, RangeError: RangeErrorClass };
  for (const [name, klass] of entries({ CompileError, LinkError, RuntimeError })) {
    defineProperty(klass.prototype, "name", { value: name, writable: true, configurable: true });
  }

  function wasmCall(op, args) {
    const reply = parse(hostCall("wasm:" + op, stringify(args)));
    if (hasOwn(reply, "ok")) return reply.ok;
    const name = reply.error?.name;
    const Klass = typeof name === "string" && hasOwn(WASM_ERRORS, name) ? WASM_ERRORS[name] : ErrorClass;
    throw new Klass(StringOf(reply.error?.message ?? ""));
  }

  function moduleOf(module, what) {
    const found = (typeof module === "object" && module !== null) ? bundledGet(bundled, module) : undefined;
    if (found === undefined) throw new TypeErrorClass(`${what}: argument 0 must be a WebAssembly.Module`);
    return found;
  }

  class Module {
    constructor() {
      throw new CompileError("WebAssembly.Module: compiling at run time is not permitted; import a .wasm module of the bundle");
    }
    static exports(module) {
      const { functions } = moduleOf(module, "WebAssembly.Module.exports()");
      const out = [];
      for (let i = 0; i < functions.length; i++) out[i] = { name: functions[i], kind: "function" };
      return out;
    }
    static imports(module) {
      moduleOf(module, "WebAssembly.Module.imports()");
      return [];
    }
  }
  // How a .wasm module's stub (bundle.rs `wasm_stub`) makes its Module.
  defineProperty(Module, symbolFor("dynisolate.bundled"), {
    value(index, functions) {
      const module = create(Module.prototype);
      bundledSet(bundled, module, { index, functions });
      return freeze(module);
    },
  });

  class Instance {
    constructor(module) {
      const { index, functions } = moduleOf(module, "WebAssembly.Instance()");
      const id = wasmCall("instantiate", [index]);
      const exports = create(null);
      for (let i = 0; i < functions.length; i++) {
        const name = functions[i];
        exports[name] = function (...args) {
          return wasmCall("call", [id, name, args]);
        };
      }
      defineProperty(this, "exports", { value: freeze(exports), enumerable: true });
    }
  }

  define("WebAssembly", {
    Module,
    Instance,
    CompileError,
    LinkError,
    RuntimeError,
    instantiate(source, imports) {
      try {
        if (bundledGet(bundled, source) !== undefined) return resolve(new Instance(source, imports));
        throw new CompileError("WebAssembly.instantiate: compiling at run time is not permitted; import a .wasm module of the bundle");
      } catch (e) {
        return reject(e);
      }
    },
    compile() {
      return reject(new CompileError("WebAssembly.compile: compiling at run time is not permitted"));
    },
    validate() {
      throw new CompileError("WebAssembly.validate: compiling at run time is not permitted");
    },
  });

  // ---- env: built in C per isolate (env.c); its RPC stubs call invoke ----
  // One env call: synchronous on the host, a promise to the tenant (as Workers RPC). C sends the
  // arguments (as JSON or a clone; clone.c) and turns a value reply into the promise; an error
  // reply is read here.
  // A service binding's `fetch` takes what the global `fetch` takes: a URL (string or URL) or a
  // Request, and an init. The host receives one Request.
  const SERVICE_PREFIX = "service:";
  const FETCH_SUFFIX = ".fetch";

  function serviceFetchArgs(name, args) {
    if (sliceString(name, 0, SERVICE_PREFIX.length) !== SERVICE_PREFIX) return args;
    if (sliceString(name, -FETCH_SUFFIX.length) !== FETCH_SUFFIX) return args;
    // Own elements only: destructuring would run a tenant's Array.prototype iterator.
    const input = args.length > 0 ? args[0] : undefined;
    const init = args.length > 1 ? args[1] : undefined;
    return [init === undefined && input instanceof RequestClass ? input : new RequestClass(input, init)];
  }

  function invoke(name, args) {
    let reply;
    try {
      if (name.length > SERVICE_PREFIX.length && charCodeAt(name, 0) === 115 /* s */) {
        args = serviceFetchArgs(name, args);
      }
      reply = nativeInvoke(name, args);
      if (typeof reply !== "string") return reply;
      reply = parse(reply);
    } catch (e) {
      return reject(e);
    }
    return hasOwn(reply, "ok") ? resolve(reply.ok) : reject(hostError(reply));
  }

  // ---- the tenant's exports ----
  let namespace = null;

  function methodsOf(target) {
    const names = [];
    for (let o = target; o && o !== ObjectProto; o = getPrototypeOf(o)) {
      const own = ownNames(o);
      for (let i = 0; i < own.length; i++) {
        const name = own[i];
        if (name !== "constructor" && typeof target[name] === "function" && !includes(names, name)) {
          names[names.length] = name;
        }
      }
    }
    return names;
  }

  function describe(ns) {
    const out = { default: [], classes: {} };
    const main = ns.default;
    if (main && typeof main === "object") out.default = methodsOf(main);
    else if (main === undefined && listeners.fetch?.length) out.default = ["fetch"]; // service-worker syntax
    const names = keys(ns);
    for (let i = 0; i < names.length; i++) {
      const value = ns[names[i]];
      if (typeof value === "function" && value.prototype) out.classes[names[i]] = methodsOf(value.prototype);
    }
    return out;
  }

  // The `ctx` a handler gets (Cloudflare's ExecutionContext). A promise given to `waitUntil`
  // keeps the call going after its result is ready: C runs the event loop until every such
  // promise has settled (within the call's limits), then replies. A rejection is logged, as an
  // uncaught error of the call, and does not change its result.
  // Counted per call: a promise a session's earlier call gave `waitUntil` no longer holds a call.
  // Only a call after one that used waitUntil writes to this state: a write per call cost every
  // session another page of the heap (measured).
  let waitsUnsettled = 0;
  let callNumber = 0;
  let waitsUsed = false;
  function startWaits() {
    callNumber++;
    waitsUnsettled = 0;
    waitsUsed = false;
  }
  function waitUntil(promise) {
    const awaited = resolve(promise); // may throw (a promise's `constructor` getter): not counted
    waitsUsed = true;
    const call = callNumber;
    const settled = () => {
      if (call === callNumber) waiting(--waitsUnsettled);
    };
    waiting(++waitsUnsettled);
    promiseThen(awaited, settled, (e) => {
      hostLog(3, "Uncaught (in waitUntil) " + inspect(e));
      settled();
    });
  }
  function passThroughOnException() {}
  // One context per isolate, made before any snapshot: a new one per call (as Cloudflare makes)
  // cost a warm call 0.2-0.3 µs and each session 8 KiB more private memory (measured). A
  // session's calls share it, as they share module state; a fresh isolate's call has it alone.
  // `props` is the entrypoint's (Cloudflare's `getEntrypoint(name, {props})`), else empty; it is
  // set only for a call with props and the call after one, for the same reason. The context is
  // frozen: tenant code cannot redefine what a later call of its session reads from it.
  const NO_PROPS = freeze(create(ObjectProto));
  let props = NO_PROPS;
  let propsGiven = false;
  const context = freeze({
    waitUntil,
    passThroughOnException,
    get props() {
      return props;
    },
  });

  // The call's arguments: with FLAG_PROPS the first element is ctx.props, taken off here.
  function takeProps(flags, payload) {
    if ((flags & FLAG_PROPS) === 0) {
      props = NO_PROPS;
      propsGiven = false;
      return payload;
    }
    props = payload[0] ?? NO_PROPS;
    propsGiven = true;
    const args = [];
    for (let i = 1; i < payload.length; i++) args[i - 1] = payload[i];
    return args;
  }

  // What `cloudflare:workers` exports besides its classes (bundle.rs BUILTIN_MODULES reads them
  // from this hook, which tenant code cannot replace): `env` is a view of the isolate's env (it
  // arrives with the first call, so at module scope it is empty), `waitUntil` the call's.
  const envView = new ProxyClass(create(null), {
    get: (_, name) => (env === null ? undefined : env[name]),
    has: (_, name) => env !== null && name in env,
    ownKeys: () => (env === null ? [] : ownNames(env)),
    getOwnPropertyDescriptor: (_, name) =>
      env !== null && hasOwn(env, name) ? { value: env[name], enumerable: true, configurable: true } : undefined,
    set: () => false,
    defineProperty: () => false,
    deleteProperty: () => false,
  });
  class RpcTarget {}
  defineProperty(globalThis, symbolFor("dynisolate.workers"), {
    value: freeze({ env: envView, waitUntil: (promise) => waitUntil(promise), RpcTarget }),
  });

  // Finds the object and method a request names (`entry` null: the default export), and the
  // arguments it gets; returns the method and leaves the object in `targetObject`.
  let targetObject = null;
  function target(entry, name, env, args) {
    const ctx = context;
    let object;
    if (entry === null) {
      object = namespace.default;
      args[args.length] = env;
      args[args.length] = ctx;
    } else {
      const Entry = namespace[entry];
      if (typeof Entry !== "function") throw new TypeErrorClass(`the worker has no entrypoint named ${entry}`);
      object = new Entry(ctx, env);
    }
    const method = object == null ? undefined : object[name];
    if (typeof method !== "function") {
      throw new TypeErrorClass(`${entry ?? "default"}.${name} is not a function`);
    }
    targetObject = object;
    return method;
  }

  // The env of this isolate: C builds it from its first call's request (never part of a heap
  // snapshot) and passes it with every call.
  let env = null;

  function fail(e) {
    return stringify({ error: errorInfo(e) });
  }

  // C has evaluated the main module (shim.c `load_main`); this keeps its namespace.
  function load(ns, describeExports) {
    namespace = ns;
    return describeExports ? describe(namespace) : null;
  }

  async function fetchOp(entry, name, args) {
    args[0] = web.requestFromWire(args[0]);
    if (serviceWorker(entry)) return web.responseToWire(await dispatchFetch(args[0]));
    const method = target(entry, name, env, args);
    const object = targetObject;
    targetObject = null;
    const response = await apply(method, object, args);
    if (!web.isResponse(response)) {
      throw new TypeErrorClass("the fetch handler must return a Response, got " + inspect(response));
    }
    return web.responseToWire(response);
  }

  // ---- service-worker syntax: `addEventListener("fetch", ...)` instead of a default export ----
  // Listeners are registered while the modules are evaluated; the env bindings are globals, as
  // Cloudflare gives them to a service worker.
  const listeners = create(null); // type -> [listener]
  const EVENT_TYPES = ["fetch", "scheduled"];
  define("addEventListener", function addEventListener(type, listener) {
    type = StringOf(type);
    if (!includes(EVENT_TYPES, type)) return; // other events never fire in a worker
    if (typeof listener !== "function" && typeof listener?.handleEvent !== "function") {
      throw new TypeErrorClass("addEventListener: the listener must be a function or have handleEvent");
    }
    const list = listeners[type] ?? (listeners[type] = []);
    if (!includes(list, listener)) list[list.length] = listener;
  });
  define("removeEventListener", function removeEventListener(type, listener) {
    const list = listeners[StringOf(type)];
    if (list === undefined) return;
    const kept = [];
    for (let i = 0; i < list.length; i++) if (list[i] !== listener) kept[kept.length] = list[i];
    listeners[StringOf(type)] = kept;
  });

  // Does a call of the default entrypoint go to listeners (no default export, some listener)?
  let globalsBound = false;
  function serviceWorker(entry) {
    if (entry !== null || namespace.default !== undefined) return false;
    for (let i = 0; i < EVENT_TYPES.length; i++) if (listeners[EVENT_TYPES[i]]?.length) return bindGlobals();
    return false;
  }
  function bindGlobals() {
    if (globalsBound || env === null) return true;
    globalsBound = true;
    const names = keys(env);
    for (let i = 0; i < names.length; i++) {
      const name = names[i];
      if (!hasOwn(globalThis, name)) defineProperty(globalThis, name, { get: () => env[name], configurable: true });
    }
    return true;
  }

  function dispatch(type, event) {
    const list = listeners[type];
    for (let i = 0; i < list.length; i++) {
      const listener = list[i];
      if (typeof listener === "function") apply(listener, globalThis, [event]);
      else apply(listener.handleEvent, listener, [event]);
    }
  }

  function dispatchFetch(request) {
    let response = null;
    const event = freeze({
      type: "fetch",
      request,
      respondWith(r) {
        if (response !== null) throw new TypeErrorClass("respondWith() was already called");
        response = resolve(r);
      },
      waitUntil,
      passThroughOnException,
    });
    dispatch("fetch", event);
    if (response === null) throw new TypeErrorClass("no fetch listener called respondWith() (there is no origin to fall back to)");
    return response;
  }

  // ---- scheduled(controller, env, ctx) and queue(batch, env, ctx): events the host raises ----
  const SCHEDULED = "#scheduled";
  const QUEUE = "#queue";

  // (Arguments are read by index: destructuring would use the tenant-replaceable iterator.)
  async function scheduledOp(entry, args) {
    const cron = args[0];
    const scheduledTime = args[1];
    let noRetry = false;
    const controller = freeze({
      cron,
      scheduledTime,
      noRetry() {
        noRetry = true;
      },
    });
    if (serviceWorker(entry)) {
      dispatch("scheduled", freeze({ type: "scheduled", cron, scheduledTime, noRetry: controller.noRetry, waitUntil }));
    } else {
      const method = target(entry, "scheduled", env, [controller]);
      const object = targetObject;
      targetObject = null;
      await apply(method, object, [controller, env, context]);
    }
    return { noRetry };
  }

  // A batch's messages each end acknowledged or retried: by their own ack()/retry(), else by the
  // batch's ackAll()/retryAll(), else acknowledged if the handler succeeded and retried if it
  // threw. The host gets every message's outcome, and the error if there was one. Messages share
  // their methods (a batch may hold 10,000 of them, each costing only its fields).
  const MAX_RETRY_DELAY_S = 43200; // Cloudflare's longest (12 hours); the host checks it too
  function delayOf(options) {
    const delay = options?.delaySeconds;
    if (delay === undefined) return null;
    const seconds = +delay;
    if (!isFinite(seconds) || seconds < 0 || seconds > MAX_RETRY_DELAY_S) {
      throw new RangeErrorClass(`delaySeconds must be 0 to ${MAX_RETRY_DELAY_S}, not ${StringOf(delay)}`);
    }
    return seconds;
  }
  class Message {
    #decisions;
    constructor(wire, decisions) {
      this.#decisions = decisions;
      this.id = wire.id;
      this.timestamp = new DateClass(wire.timestamp);
      this.body = wire.body;
      this.attempts = wire.attempts;
      freeze(this);
    }
    ack() {
      this.#decisions[this.id] = [true, null];
    }
    retry(options) {
      this.#decisions[this.id] = [false, delayOf(options)];
    }
  }

  async function queueOp(entry, args) {
    const queue = args[0];
    const wires = args[1];
    const own = create(null); // id -> [acked, delaySeconds]
    let all = null;
    const messages = [];
    for (let i = 0; i < wires.length; i++) messages[i] = new Message(wires[i], own);
    const batch = freeze({
      queue,
      messages: freeze(messages),
      ackAll() {
        all = [true, null];
      },
      retryAll(options) {
        all = [false, delayOf(options)];
      },
    });
    const method = target(entry, "queue", env, [batch]); // no handler: the call fails, nothing settles
    const object = targetObject;
    targetObject = null;
    let error = null;
    try {
      await apply(method, object, [batch, env, context]);
    } catch (e) {
      error = errorInfo(e);
    }
    const acked = [];
    const retried = [];
    for (let i = 0; i < wires.length; i++) {
      const id = wires[i].id;
      const outcome = own[id] ?? all ?? [error === null, null];
      if (outcome[0]) acked[acked.length] = id;
      else retried[retried.length] = [id, outcome[1]];
    }
    return { acked, retried, error };
  }

  // ---- workflows: `run(event, step)` of a workflow class; the host records every step ----
  // The engine calls method WORKFLOW_RUN of the class. Each step asks the host first: a recorded
  // outcome replays, a new step runs here and its outcome is committed before `step.do` returns.
  // A wait that is not yet due parks (a promise that never settles); once no step callback is
  // running, the host suspends the instance by trapping, so no tenant `catch` can see it.
  const WORKFLOW_RUN = "#workflow";
  let running = 0; // step callbacks in flight
  let parkedWaits = 0;
  let defaultConfig = null; // ctx.config of steps without a config of their own
  const attempts = new MapClass(); // step key -> what ends its attempt in flight

  // Which step's callback is running, as the async context of its code (node.c carries it
  // through every await, microtask and timer, as for AsyncLocalStorage): an entry under a key
  // of the glue's own in the context's Map, beside the tenant's stores. The host refuses a wait
  // called there, which could never end (a run suspends only between steps). Turned on by the
  // run's first step attempt, so runs without one pay nothing for it.
  const STEP_CONTEXT = freeze(create(null));
  let stepContextOn = false;
  function stepContext(key) {
    if (!stepContextOn) {
      stepContextOn = true;
      enableAsyncContext();
    }
    const outer = asyncContext();
    const inner = new MapClass();
    try {
      if (outer !== undefined) mapForEach(outer, (value, storage) => mapSet(inner, storage, value));
    } catch {} // not a Map: a context tenant code set through the node hook, whose stores are its own
    mapSet(inner, STEP_CONTEXT, key);
    return inner;
  }
  function enclosingStep() {
    if (!stepContextOn) return null;
    const context = asyncContext();
    if (context === undefined) return null;
    try {
      const key = mapGet(context, STEP_CONTEXT);
      return typeof key === "string" ? key : null;
    } catch {
      return null;
    }
  }

  // One step operation: its arguments and the host's reply cross as env calls' do, so step
  // results carry what structured clone carries (bytes, Date, Map, Set, BigInt, undefined). A
  // step call's arguments end with what the host needs to know of the run around it: which
  // step's callback makes it (null: the workflow's own code), the callbacks running and the
  // waits parked.
  function stepCall(op, args) {
    const reply = hostCallValue("step:" + op, args);
    if (isArray(reply)) return reply[0];
    throw hostError(parse(reply));
  }

  // The run has nothing left that could move an attempt in flight on (the timers' `whenIdle`):
  // each awaits a promise nothing will settle, or a wait that ends only in a later run. Failing
  // one now, rather than when its timeout fires, frees the run's slot at once; it retries as its
  // step is configured. One at a time, the earliest started first: a step that awaits another
  // may move on once the other's failure starts its retry.
  whenIdle = () => {
    if (running === 0) return false;
    let failed = false;
    mapForEach(attempts, (finish, key) => {
      if (failed) return;
      failed = true;
      const message =
        `step '${key}' awaited something that can never settle: nothing the run could still do ` +
        "(no job, timer or I/O was pending) would settle it, as with a promise nothing resolves, " +
        "or a wait that ends only when the instance resumes";
      finish([false, { name: "StepStalledError", message }]);
    });
    return true;
  };

  // A wait not yet due: a promise that never settles in this isolate. The instance suspends
  // once the run can make no more progress here: when the job queue has drained (a 0 ms timer
  // fires only then) and no step callback is running. Steps started in the same tick, such as
  // the others of a Promise.all, run first.
  function park() {
    parkedWaits++;
    armSuspend();
    return new PromiseClass(() => {});
  }

  let suspendArmed = false;
  function armSuspend() {
    if (suspendArmed) return;
    suspendArmed = true;
    addTimer(
      () => {
        suspendArmed = false;
        if (running === 0 && parkedWaits > 0) stepCall("suspend", []);
      },
      0,
      [],
      false,
      true,
    );
  }

  function deepFreeze(value) {
    if (value !== null && typeof value === "object") {
      const names = keys(value);
      for (let i = 0; i < names.length; i++) deepFreeze(value[names[i]]);
      freeze(value);
    }
    return value;
  }

  function timedOut(ms) {
    return [false, { name: "WorkflowTimeoutError", message: `Execution timed out after ${ms}ms` }];
  }

  // Runs one attempt of a step. Resolves with the outcome as the host records it ([true, value]
  // or [false, error]) when the callback settles or its timeout passes, whichever is first.
  function attempt(callback, name, run) {
    running++;
    return new PromiseClass((settle) => {
      let open = true;
      const finish = (outcome) => {
        if (!open) return;
        open = false;
        running--;
        mapDelete(attempts, run.key);
        if (timer !== 0) clearTimer(timer);
        settle(outcome);
      };
      mapSet(attempts, run.key, finish);
      const failed = (e) => {
        const info = errorInfo(e);
        finish([false, { name: info.name, message: info.message }]);
      };
      // The value is serialised when the outcome is sent (advance), where a value that cannot be
      // sent is recorded as a SerializationError, which is not retried: the same code would
      // return the same value.
      const succeeded = (value) => finish([true, value]);
      const ms = run.timeoutMs;
      const timer = ms === null ? 0 : addTimer(() => finish(timedOut(ms)), ms, [], false, true);
      let result;
      try {
        const ctx = { step: { name, count: run.count }, attempt: run.attempt, config: run.config ?? defaultConfig };
        // A thenable's `then` runs in a job queued here: in the step's context too.
        result = runInAsyncContext(stepContext(run.key), () => resolve(callback(ctx)));
      } catch (e) {
        return failed(e);
      }
      promiseThen(result, succeeded, failed);
    });
  }

  // Follows the host's replies for one step until there is a value, an error or a wait.
  function advance(name, callback, reply) {
    if (hasOwn(reply, "value")) return reply.value;
    if (hasOwn(reply, "error")) throw errorFrom(reply.error);
    if (hasOwn(reply, "wait")) return park();
    const run = reply.run;
    return promiseThen(attempt(callback, name, run), (outcome) => {
      let next;
      try {
        next = stepCall("done", [run.key, run.attempt, outcome[0], outcome[1]]);
      } catch (e) {
        // The value cannot be sent, or the host could not take it (too deep, too large to
        // decode): record that.
        const info = { name: "SerializationError", message: errorInfo(e).message };
        next = stepCall("done", [run.key, run.attempt, false, info]);
      }
      if (running === 0 && parkedWaits > 0) armSuspend();
      return advance(name, callback, next);
    });
  }

  const step = freeze({
    // do(name, callback, [rollbackOptions]) or do(name, config, callback, [rollbackOptions]);
    // rollback handlers are accepted but not run.
    do(name, config, callback) {
      if (typeof config === "function") {
        callback = config;
        config = null;
      }
      try {
        if (typeof callback !== "function") throw new TypeErrorClass("step.do(name, [config], callback) needs a callback");
        const limit = config?.retries?.limit;
        if (limit === Infinity) config = { ...config, retries: { ...config.retries, limit: 10000 } }; // Cloudflare's cap
        if (typeof config?.retries?.delay === "function") {
          throw new TypeErrorClass(`step ${stringify(StringOf(name))}: a retry delay function is not supported; give a duration`);
        }
        return resolve(advance(name, callback, stepCall("do", [name, config ?? null, enclosingStep(), running, parkedWaits])));
      } catch (e) {
        return reject(e);
      }
    },
    async sleep(name, duration) {
      const reply = stepCall("sleep", [name, duration, enclosingStep(), running, parkedWaits]);
      if (hasOwn(reply, "error")) throw errorFrom(reply.error);
      if (hasOwn(reply, "wait")) return park();
    },
    async sleepUntil(name, timestamp) {
      const ms = timestamp instanceof DateClass ? dateTime(timestamp) : timestamp;
      const reply = stepCall("sleepUntil", [name, ms, enclosingStep(), running, parkedWaits]);
      if (hasOwn(reply, "error")) throw errorFrom(reply.error);
      if (hasOwn(reply, "wait")) return park();
    },
    async waitForEvent(name, options) {
      const type = options?.type;
      const timeout = options?.timeout ?? null;
      const reply = stepCall("waitForEvent", [name, type, timeout, enclosingStep(), running, parkedWaits]);
      if (hasOwn(reply, "error")) throw errorFrom(reply.error);
      if (hasOwn(reply, "wait")) return park();
      const event = reply.event;
      return { payload: event.payload, timestamp: new DateClass(event.timestamp), type: event.type };
    },
  });

  function workflowRun(entry, args) {
    const Entry = entry === null ? undefined : namespace[entry];
    if (typeof Entry !== "function") throw new TypeErrorClass(`the worker has no workflow class named ${entry}`);
    const object = new Entry(context, env);
    if (typeof object.run !== "function") throw new TypeErrorClass(`${entry}.run is not a function`);
    const wire = args[0];
    defaultConfig = deepFreeze(wire.defaultConfig);
    const event = {
      payload: wire.payload,
      timestamp: new DateClass(wire.timestamp),
      instanceId: wire.instanceId,
      workflowName: wire.workflowName,
    };
    return object.run(event, step);
  }

  // The request, as shim.c decodes it: `op` (OP_*), `flags` (FLAG_*); for a load the main
  // module's namespace (C evaluated it); for a call the entry (null: the default export) and the
  // method's name, the arguments (parsed by C, or their text when they did not parse), the
  // isolate's env and whether the method is one the host raises (`#...`). Returns the reply text of a failure, true once C's `finish` has written the
  // reply of a result, or the call's result when it is a thenable, which C awaits: a method that
  // returns a plain value costs no promise machinery.
  function run(op, flags, ns, entry, method, parsed, payloadText, envObject, special) {
    let result;
    try {
      outboundAllowed = (flags & FLAG_OUTBOUND) !== 0;
      if (op === OP_LOAD) {
        result = load(ns, (flags & FLAG_DESCRIBE) !== 0);
      } else {
        if (namespace === null) throw new TypeErrorClass("no module is loaded");
        env = envObject;
        if (waitsUsed) startWaits();
        let payload = payloadText === undefined ? parsed : parse(payloadText);
        // (Tested here, not in takeProps: a call of a function object writes to its page, which a
        // fresh isolate would then copy; most calls have no props.)
        if ((flags & FLAG_PROPS) !== 0 || propsGiven) payload = takeProps(flags, payload);
        if (op === OP_FETCH) {
          result = fetchOp(entry, method, payload);
        } else if (op !== OP_CALL) {
          throw new TypeErrorClass(`unknown request op ${op}`);
        } else if (special) {
          if (method === WORKFLOW_RUN) result = workflowRun(entry, payload);
          else if (method === SCHEDULED) result = scheduledOp(entry, payload);
          else if (method === QUEUE) result = queueOp(entry, payload);
          else throw new TypeErrorClass(`unknown host event ${method}`);
        } else {
          const fn = target(entry, method, env, payload);
          const object = targetObject;
          targetObject = null;
          result = apply(fn, object, payload);
        }
      }
    } catch (e) {
      return fail(e);
    }
    // Awaiting a tenant value reads its `then` (a getter may throw): that is the tenant's error.
    try {
      if (result !== null && (typeof result === "object" || typeof result === "function") && typeof result.then === "function") {
        return result;
      }
    } catch (e) {
      return fail(e);
    }
    return finish(result);
  }

  return { run, timers: runTimers, fail, invoke };
})
