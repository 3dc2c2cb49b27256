// node:events: EventEmitter with Node.js's ordering, `once` wrappers, `newListener` and
// `removeListener` events, the unhandled-'error' rule and the max-listeners warning, plus the
// promise helpers `once` and `on`.
import { codedError, invalidArgType, validateFunction, validateInteger } from "dynisolate:node-errors";

const kCapture = Symbol("kCapture");
export const errorMonitor = Symbol("events.errorMonitor");
export const captureRejectionSymbol = Symbol.for("nodejs.rejection");
let defaultMaxListeners = 10;

function listenersOf(emitter) {
  if (emitter._events === undefined || emitter._events === null) {
    emitter._events = Object.create(null);
    emitter._eventsCount = 0;
  }
  return emitter._events;
}

function checkListener(listener) {
  validateFunction(listener, "listener");
}

function addListener(emitter, type, listener, prepend) {
  checkListener(listener);
  const events = listenersOf(emitter);
  if (events.newListener !== undefined) {
    emitter.emit("newListener", type, listener.listener ?? listener);
  }
  const existing = events[type];
  if (existing === undefined) {
    events[type] = listener;
    emitter._eventsCount++;
    return emitter;
  }
  const list = typeof existing === "function" ? [existing] : existing;
  if (prepend) list.unshift(listener);
  else list.push(listener);
  events[type] = list;
  const max = emitter.getMaxListeners();
  if (max > 0 && list.length > max && !list.warned) {
    list.warned = true;
    console.warn(
      `MaxListenersExceededWarning: Possible EventEmitter memory leak detected. ${list.length} ${String(type)} listeners added to ${emitter.constructor.name}. Use emitter.setMaxListeners() to increase limit`,
    );
  }
  return emitter;
}

function onceWrapper(emitter, type, listener) {
  const state = { fired: false, emitter, type, listener };
  function wrapped(...args) {
    if (state.fired) return undefined;
    state.fired = true;
    emitter.removeListener(type, wrapped);
    return listener.apply(emitter, args);
  }
  wrapped.listener = listener;
  return wrapped;
}

export function EventEmitter(options) {
  EventEmitter.init.call(this, options);
}

EventEmitter.init = function (options) {
  if (this._events === undefined || this._events === Object.getPrototypeOf(this)._events) {
    this._events = Object.create(null);
    this._eventsCount = 0;
  }
  this._maxListeners = this._maxListeners || undefined;
  if (options?.captureRejections) this[kCapture] = true;
};

Object.defineProperty(EventEmitter, "defaultMaxListeners", {
  enumerable: true,
  get: () => defaultMaxListeners,
  set(value) {
    validateInteger(value, "defaultMaxListeners", 0);
    defaultMaxListeners = value;
  },
});
EventEmitter.errorMonitor = errorMonitor;
EventEmitter.captureRejectionSymbol = captureRejectionSymbol;

const methods = {
  setMaxListeners(n) {
    validateInteger(n, "n", 0);
    this._maxListeners = n;
    return this;
  },
  getMaxListeners() {
    return this._maxListeners === undefined ? defaultMaxListeners : this._maxListeners;
  },
  emit(type, ...args) {
    const events = this._events;
    if (type === "error" && events?.[errorMonitor] !== undefined) this.emit(errorMonitor, ...args);
    const handler = events?.[type];
    if (handler === undefined) {
      if (type === "error") {
        const error = args[0];
        if (error instanceof Error) throw error;
        const wrapped = codedError(Error, "ERR_UNHANDLED_ERROR", `Unhandled error. (${String(error)})`);
        wrapped.context = error;
        throw wrapped;
      }
      return false;
    }
    const listeners = typeof handler === "function" ? [handler] : handler.slice();
    for (const listener of listeners) {
      const result = listener.apply(this, args);
      if (this[kCapture] && result !== undefined && result !== null && typeof result.then === "function") {
        result.then(undefined, (error) => {
          if (typeof this[captureRejectionSymbol] === "function") this[captureRejectionSymbol](error, type, ...args);
          else this.emit("error", error);
        });
      }
    }
    return true;
  },
  addListener(type, listener) {
    return addListener(this, type, listener, false);
  },
  prependListener(type, listener) {
    return addListener(this, type, listener, true);
  },
  once(type, listener) {
    checkListener(listener);
    return this.on(type, onceWrapper(this, type, listener));
  },
  prependOnceListener(type, listener) {
    checkListener(listener);
    return this.prependListener(type, onceWrapper(this, type, listener));
  },
  removeListener(type, listener) {
    checkListener(listener);
    const events = this._events;
    const existing = events?.[type];
    if (existing === undefined) return this;
    if (existing === listener || existing.listener === listener) {
      if (--this._eventsCount === 0) this._events = Object.create(null);
      else delete events[type];
      if (events.removeListener !== undefined) this.emit("removeListener", type, existing.listener ?? listener);
      return this;
    }
    if (typeof existing === "function") return this;
    for (let i = existing.length - 1; i >= 0; i--) {
      if (existing[i] === listener || existing[i].listener === listener) {
        const removed = existing[i];
        existing.splice(i, 1);
        if (existing.length === 1) events[type] = existing[0];
        if (events.removeListener !== undefined) this.emit("removeListener", type, removed.listener ?? removed);
        break;
      }
    }
    return this;
  },
  removeAllListeners(type) {
    const events = this._events;
    if (events === undefined) return this;
    if (events.removeListener === undefined) {
      if (type === undefined) {
        this._events = Object.create(null);
        this._eventsCount = 0;
      } else if (events[type] !== undefined) {
        if (--this._eventsCount === 0) this._events = Object.create(null);
        else delete events[type];
      }
      return this;
    }
    if (type === undefined) {
      for (const key of Reflect.ownKeys(events)) {
        if (key !== "removeListener") this.removeAllListeners(key);
      }
      this.removeAllListeners("removeListener");
      this._events = Object.create(null);
      this._eventsCount = 0;
      return this;
    }
    const listeners = events[type];
    if (typeof listeners === "function") this.removeListener(type, listeners);
    else if (listeners !== undefined) {
      for (let i = listeners.length - 1; i >= 0; i--) this.removeListener(type, listeners[i]);
    }
    return this;
  },
  listeners(type) {
    const handler = this._events?.[type];
    if (handler === undefined) return [];
    return typeof handler === "function" ? [handler.listener ?? handler] : handler.map((l) => l.listener ?? l);
  },
  rawListeners(type) {
    const handler = this._events?.[type];
    if (handler === undefined) return [];
    return typeof handler === "function" ? [handler] : handler.slice();
  },
  listenerCount(type, listener) {
    const handler = this._events?.[type];
    if (handler === undefined) return 0;
    const list = typeof handler === "function" ? [handler] : handler;
    if (listener === undefined) return list.length;
    return list.filter((l) => l === listener || l.listener === listener).length;
  },
  eventNames() {
    return this._eventsCount > 0 ? Reflect.ownKeys(this._events) : [];
  },
};
methods.on = methods.addListener;
methods.off = methods.removeListener;
for (const name of Object.keys(methods)) {
  Object.defineProperty(EventEmitter.prototype, name, { value: methods[name], writable: true, configurable: true });
}
EventEmitter.prototype._events = undefined;
EventEmitter.prototype._eventsCount = 0;
EventEmitter.prototype._maxListeners = undefined;
EventEmitter.EventEmitter = EventEmitter;

function abortError(signal) {
  const error = new Error("The operation was aborted");
  error.name = "AbortError";
  error.code = "ABORT_ERR";
  if (signal?.reason !== undefined) error.cause = signal.reason;
  return error;
}

/** A promise of the arguments of the next `name` event (rejected by an 'error' event first). */
export function once(emitter, name, options = {}) {
  const signal = options?.signal;
  if (signal?.aborted) return Promise.reject(abortError(signal));
  return new Promise((resolve, reject) => {
    if (typeof emitter.addEventListener === "function" && typeof emitter.on !== "function") {
      emitter.addEventListener(name, (...args) => resolve(args), { once: true });
      return;
    }
    const onError = (error) => {
      emitter.removeListener(name, onEvent);
      reject(error);
    };
    const onEvent = (...args) => {
      if (name !== "error") emitter.removeListener("error", onError);
      resolve(args);
    };
    emitter.once(name, onEvent);
    if (name !== "error") emitter.once("error", onError);
    signal?.addEventListener?.("abort", () => {
      emitter.removeListener(name, onEvent);
      emitter.removeListener("error", onError);
      reject(abortError(signal));
    });
  });
}

/** An async iterator of the arguments of every `name` event. */
export function on(emitter, name, options = {}) {
  const queued = [];
  const waiting = [];
  let failed = null;
  let done = false;
  const listener = (...args) => {
    if (waiting.length > 0) waiting.shift().resolve({ value: args, done: false });
    else queued.push(args);
  };
  const onError = (error) => {
    if (waiting.length > 0) waiting.shift().reject(error);
    else failed = error;
    stop();
  };
  function stop() {
    done = true;
    emitter.removeListener(name, listener);
    emitter.removeListener("error", onError);
    for (const waiter of waiting.splice(0)) waiter.resolve({ value: undefined, done: true });
  }
  emitter.on(name, listener);
  if (name !== "error") emitter.on("error", onError);
  return {
    next() {
      if (queued.length > 0) return Promise.resolve({ value: queued.shift(), done: false });
      if (failed !== null) {
        const error = failed;
        failed = null;
        return Promise.reject(error);
      }
      if (done) return Promise.resolve({ value: undefined, done: true });
      return new Promise((resolve, reject) => waiting.push({ resolve, reject }));
    },
    return() {
      stop();
      return Promise.resolve({ value: undefined, done: true });
    },
    throw(error) {
      stop();
      return Promise.reject(error);
    },
    [Symbol.asyncIterator]() {
      return this;
    },
  };
}

export function listenerCount(emitter, type) {
  return emitter.listenerCount(type);
}

export function getEventListeners(emitter, type) {
  if (typeof emitter.listeners === "function") return emitter.listeners(type);
  throw invalidArgType("emitter", "an instance of EventEmitter or EventTarget", emitter);
}

export function setMaxListeners(n = defaultMaxListeners, ...emitters) {
  validateInteger(n, "n", 0);
  if (emitters.length === 0) defaultMaxListeners = n;
  for (const emitter of emitters) emitter.setMaxListeners?.(n);
}

EventEmitter.once = once;
EventEmitter.on = on;
EventEmitter.listenerCount = listenerCount;
EventEmitter.getEventListeners = getEventListeners;
EventEmitter.setMaxListeners = setMaxListeners;

export default EventEmitter;
