// node:process, as Cloudflare offers it: `env` holds the worker's text and JSON variables (never
// its bindings), read from the current env, and there is no operating system behind it: no
// arguments, no exit, the working directory "/".
import { EventEmitter } from "node:events";

const hook = globalThis[Symbol.for("dynisolate.workers")];

// Only plain values are variables: strings as they are, JSON values as their JSON text.
function variables() {
  const out = {};
  const env = hook.env;
  for (const name of Object.keys(env)) {
    const value = env[name];
    if (typeof value === "string") out[name] = value;
    else if (value === null || ["number", "boolean"].includes(typeof value)) out[name] = JSON.stringify(value);
  }
  return out;
}

const envView = new Proxy(
  {},
  {
    get: (_, name) => (typeof name === "string" ? variables()[name] : undefined),
    has: (_, name) => typeof name === "string" && name in variables(),
    ownKeys: () => Object.keys(variables()),
    getOwnPropertyDescriptor: (_, name) => {
      const all = variables();
      return Object.hasOwn(all, name) ? { value: all[name], writable: true, enumerable: true, configurable: true } : undefined;
    },
    set: () => true, // accepted and dropped: a worker cannot change its environment
    deleteProperty: () => true,
  },
);

// As workerd's: the clock is Date.now()'s (performance.now() is the same), which stands still
// between I/O events, in whole milliseconds.
function hrtime(previous) {
  const ns = BigInt(Math.round(performance.now() * 1e6));
  const seconds = Number(ns / 1_000_000_000n);
  const nanos = Number(ns % 1_000_000_000n);
  if (!previous) return [seconds, nanos];
  let [s, n] = [seconds - previous[0], nanos - previous[1]];
  if (n < 0) [s, n] = [s - 1, n + 1e9];
  return [s, n];
}
hrtime.bigint = () => BigInt(Math.round(performance.now() * 1e6));

const process = new EventEmitter();
Object.assign(process, {
  title: "workerd",
  version: "v22.14.0",
  versions: { node: "22.14.0" },
  platform: "linux",
  arch: "x64",
  release: { name: "node" },
  argv: [],
  argv0: "",
  execArgv: [],
  pid: 1,
  ppid: 0,
  exitCode: undefined,
  features: {},
  hrtime,
  nextTick(callback, ...args) {
    queueMicrotask(() => callback(...args));
  },
  cwd: () => "/",
  chdir() {
    throw new Error("process.chdir() is not supported in Workers");
  },
  umask: () => 0o22,
  // 0, as workerd's: an isolate has no start a tenant could time itself against.
  uptime: () => 0,
  memoryUsage: Object.assign(() => ({ rss: 0, heapTotal: 0, heapUsed: 0, external: 0, arrayBuffers: 0 }), { rss: () => 0 }),
  emitWarning(warning) {
    console.warn(typeof warning === "string" ? `Warning: ${warning}` : String(warning));
  },
  exit() {
    throw new Error("process.exit() is not supported in Workers");
  },
  abort() {
    throw new Error("process.abort() is not supported in Workers");
  },
  getBuiltinModule() {
    return undefined;
  },
});
Object.defineProperty(process, "env", { value: envView, enumerable: true });

export default process;
export const { nextTick, cwd, platform, version, versions, argv, emitWarning } = process;
export const env = envView;
