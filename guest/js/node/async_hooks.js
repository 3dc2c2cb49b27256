// node:async_hooks: AsyncLocalStorage and AsyncResource. The context (a frozen Map from each
// storage to its store) is carried by the engine: every promise job and timer runs in the context
// that was current when it was queued or set, so a store survives any number of awaits
// (guest/js/node.c). Importing this module turns that on for the isolate.
const native = globalThis[Symbol.for("dynisolate.node")];
native.enableAsyncContext();

const EMPTY = new Map();

function current() {
  return native.asyncContext() ?? EMPTY;
}

function withStore(storage, store) {
  const next = new Map(current());
  next.set(storage, store);
  return next;
}

function runIn(context, fn, thisArg, args) {
  return native.runInAsyncContext(context, () => Reflect.apply(fn, thisArg, args));
}

export class AsyncLocalStorage {
  #enabled = true;

  /** The store of the current context, or undefined outside run(). */
  getStore() {
    return this.#enabled ? current().get(this) : undefined;
  }

  run(store, callback, ...args) {
    this.#enabled = true;
    return runIn(withStore(this, store), callback, undefined, args);
  }

  exit(callback, ...args) {
    const next = new Map(current());
    next.delete(this);
    return runIn(next, callback, undefined, args);
  }

  /** Workers (and Node.js) disallow enterWith in favour of run(); kept for code that calls it. */
  enterWith() {
    throw new Error("AsyncLocalStorage.enterWith() is not supported; use run()");
  }

  disable() {
    this.#enabled = false;
  }

  /** `fn` bound to the current context. */
  static bind(fn) {
    if (typeof fn !== "function") throw new TypeError("AsyncLocalStorage.bind: fn must be a function");
    const context = current();
    return function (...args) {
      return runIn(context, fn, this, args);
    };
  }

  /** A function that runs its argument in the context current now. */
  static snapshot() {
    const context = current();
    return (fn, ...args) => runIn(context, fn, undefined, args);
  }
}

export class AsyncResource {
  #context = current();

  constructor(type) {
    this.type = type;
  }

  runInAsyncScope(fn, thisArg, ...args) {
    return runIn(this.#context, fn, thisArg, args);
  }

  bind(fn, thisArg = this) {
    const resource = this;
    return function (...args) {
      return resource.runInAsyncScope(fn, thisArg === undefined ? this : thisArg, ...args);
    };
  }

  emitDestroy() {
    return this;
  }

  asyncId() {
    return 0;
  }

  triggerAsyncId() {
    return 0;
  }

  static bind(fn, type, thisArg) {
    return new AsyncResource(type ?? fn.name ?? "bound-anonymous-fn").bind(fn, thisArg);
  }
}

export default { AsyncLocalStorage, AsyncResource };
