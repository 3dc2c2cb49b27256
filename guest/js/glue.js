// The request handler inside the JS guest. Evaluated once by shim.c at js_init; the function it
// returns is held by C only. It captures the intrinsics it uses up front, so tenant code that
// replaces JSON, Object or Promise methods later cannot steer it.
(function (hostCall) {
  "use strict";
  const parse = JSON.parse;
  const stringify = JSON.stringify;
  const keys = Object.keys;
  const getPrototypeOf = Object.getPrototypeOf;
  const ownNames = Object.getOwnPropertyNames;
  const apply = Reflect.apply;
  const StringOf = String;
  const ErrorClass = Error;
  const TypeErrorClass = TypeError;
  const ObjectProto = Object.prototype;
  const create = Object.create;
  const freeze = Object.freeze;
  const hasOwn = Object.hasOwn;
  const resolve = Promise.resolve.bind(Promise);
  const reject = Promise.reject.bind(Promise);

  // global_outbound = None: no network. Defined (not assigned) before any tenant code exists.
  Object.defineProperty(globalThis, "fetch", {
    value: async function fetch() {
      throw new TypeErrorClass(
        "This worker is not permitted to access the internet via global functions like fetch(). " +
          "It must use capabilities (such as bindings in 'env') to talk to the outside world.",
      );
    },
    writable: true,
    configurable: true,
  });

  let namespace = null;

  function errorInfo(e) {
    if (e instanceof ErrorClass) {
      return { name: StringOf(e.name), message: StringOf(e.message), stack: StringOf(e.stack ?? "") };
    }
    return { name: "Error", message: StringOf(e), stack: "" };
  }

  function methodsOf(target) {
    const names = [];
    for (let o = target; o && o !== ObjectProto; o = getPrototypeOf(o)) {
      for (const name of ownNames(o)) {
        if (name !== "constructor" && typeof target[name] === "function" && !names.includes(name)) names.push(name);
      }
    }
    return names;
  }

  function describe(ns) {
    const out = { default: [], classes: {} };
    const main = ns.default;
    if (main && typeof main === "object") out.default = methodsOf(main);
    for (const name of keys(ns)) {
      const value = ns[name];
      if (typeof value === "function" && value.prototype) out.classes[name] = methodsOf(value.prototype);
    }
    return out;
  }

  // One env call: synchronous on the host, a promise to the tenant (as Workers RPC).
  function invoke(name, args) {
    let reply;
    try {
      reply = parse(hostCall(name, stringify(args)));
    } catch (e) {
      return reject(e);
    }
    if (hasOwn(reply, "ok")) return resolve(reply.ok);
    const error = new ErrorClass(StringOf(reply.error?.message ?? ""));
    error.name = StringOf(reply.error?.name ?? "Error");
    return reject(error);
  }

  // env = copied data plus stubs: a function binding becomes a function, an RpcTarget an object of
  // methods. Stubs hold nothing of the host and are not thenables.
  function makeEnv(data, stubs) {
    const env = { ...data };
    for (const name of keys(stubs)) {
      const methods = stubs[name];
      if (methods === null) {
        env[name] = (...args) => invoke(name, args);
      } else {
        const stub = create(null);
        for (const method of methods) stub[method] = (...args) => invoke(name + "." + method, args);
        env[name] = freeze(stub);
      }
    }
    return freeze(env);
  }

  async function call(request) {
    if (namespace === null) throw new TypeErrorClass("no module is loaded");
    const env = makeEnv(request.env ?? {}, request.stubs ?? {});
    const ctx = {};
    let target;
    let args = request.args;
    if (request.entry == null) {
      target = namespace.default;
      args = [...args, env, ctx];
    } else {
      const Entry = namespace[request.entry];
      if (typeof Entry !== "function") throw new TypeErrorClass(`the worker has no entrypoint named ${request.entry}`);
      target = new Entry(ctx, env);
    }
    const method = target == null ? undefined : target[request.method];
    if (typeof method !== "function") {
      throw new TypeErrorClass(`${request.entry ?? "default"}.${request.method} is not a function`);
    }
    return await apply(method, target, args);
  }

  return async function run(text) {
    try {
      const request = parse(text);
      let value;
      if (request.op === "load") {
        namespace = await import(request.main);
        value = request.describe ? describe(namespace) : null;
      } else {
        value = await call(request);
      }
      try {
        return stringify({ ok: value === undefined ? null : value });
      } catch (e) {
        return stringify({ error: { name: "TypeError", message: "the result cannot be serialised: " + errorInfo(e).message, stack: "" } });
      }
    } catch (e) {
      return stringify({ error: errorInfo(e) });
    }
  };
})
