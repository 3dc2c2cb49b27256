// node:util: inspect and format as Node.js prints values, promisify/callbackify, inherits,
// deprecate, isDeepStrictEqual and util.types.
import { Buffer } from "node:buffer";
import { deepEqual } from "dynisolate:node-compare";
import { codedError, invalidArgType, validateFunction } from "dynisolate:node-errors";

const customInspect = Symbol.for("nodejs.util.inspect.custom");
const customPromisify = Symbol.for("nodejs.util.promisify.custom");
const TypedArray = Object.getPrototypeOf(Uint8Array);
const AsyncFunction = async function () {}.constructor;
const GeneratorFunction = function* () {}.constructor;
const AsyncGeneratorFunction = async function* () {}.constructor;
const tag = (value) => Object.prototype.toString.call(value).slice(8, -1);

export const types = Object.freeze({
  isDate: (v) => v instanceof Date,
  isRegExp: (v) => v instanceof RegExp,
  isMap: (v) => v instanceof Map,
  isSet: (v) => v instanceof Set,
  isWeakMap: (v) => v instanceof WeakMap,
  isWeakSet: (v) => v instanceof WeakSet,
  isPromise: (v) => v instanceof Promise,
  isNativeError: (v) => v instanceof Error,
  isTypedArray: (v) => v instanceof TypedArray,
  isUint8Array: (v) => v instanceof Uint8Array,
  isUint8ClampedArray: (v) => v instanceof Uint8ClampedArray,
  isUint16Array: (v) => v instanceof Uint16Array,
  isUint32Array: (v) => v instanceof Uint32Array,
  isInt8Array: (v) => v instanceof Int8Array,
  isInt16Array: (v) => v instanceof Int16Array,
  isInt32Array: (v) => v instanceof Int32Array,
  isFloat32Array: (v) => v instanceof Float32Array,
  isFloat64Array: (v) => v instanceof Float64Array,
  isBigInt64Array: (v) => v instanceof BigInt64Array,
  isBigUint64Array: (v) => v instanceof BigUint64Array,
  isArrayBuffer: (v) => v instanceof ArrayBuffer,
  isSharedArrayBuffer: (v) => typeof SharedArrayBuffer === "function" && v instanceof SharedArrayBuffer,
  isAnyArrayBuffer: (v) => v instanceof ArrayBuffer || (typeof SharedArrayBuffer === "function" && v instanceof SharedArrayBuffer),
  isArrayBufferView: (v) => ArrayBuffer.isView(v),
  isDataView: (v) => v instanceof DataView,
  isAsyncFunction: (v) => v instanceof AsyncFunction || v instanceof AsyncGeneratorFunction,
  isGeneratorFunction: (v) => v instanceof GeneratorFunction || v instanceof AsyncGeneratorFunction,
  isGeneratorObject: (v) => tag(v) === "Generator",
  isBoxedPrimitive: (v) =>
    v instanceof Number || v instanceof String || v instanceof Boolean || v instanceof BigInt || v instanceof Symbol,
  isNumberObject: (v) => v instanceof Number,
  isStringObject: (v) => v instanceof String,
  isBooleanObject: (v) => v instanceof Boolean,
  isBigIntObject: (v) => v instanceof BigInt,
  isSymbolObject: (v) => v instanceof Symbol,
  isMapIterator: (v) => tag(v) === "Map Iterator",
  isSetIterator: (v) => tag(v) === "Set Iterator",
  isModuleNamespaceObject: (v) => tag(v) === "Module",
  isWeakRef: (v) => typeof WeakRef === "function" && v instanceof WeakRef,
  // A Proxy cannot be told from its target by JavaScript; Workers report false as well when asked
  // without V8's help.
  isProxy: () => false,
  isExternal: () => false,
  isKeyObject: () => false,
  isCryptoKey: (v) => typeof CryptoKey === "function" && v instanceof CryptoKey,
});

// ---- inspect ----

const DEFAULTS = { depth: 2, breakLength: 80, maxArrayLength: 100, maxStringLength: 10000, sorted: false, compact: 3 };
const IDENTIFIER = /^[A-Za-z_$][A-Za-z0-9_$]*$/;

function quote(text) {
  const quoteChar = !text.includes("'") ? "'" : !text.includes('"') ? '"' : !text.includes("`") ? "`" : "'";
  const escaped = text.replace(/[\\\n\r\t\b\f\v\0-\x1f\x7f]/g, (c) => {
    const named = { "\\": "\\\\", "\n": "\\n", "\r": "\\r", "\t": "\\t", "\b": "\\b", "\f": "\\f", "\v": "\\v" };
    return named[c] ?? `\\x${c.charCodeAt(0).toString(16).padStart(2, "0")}`;
  });
  return quoteChar + (quoteChar === "'" ? escaped.replace(/'/g, "\\'") : escaped) + quoteChar;
}

function keyText(key) {
  if (typeof key === "symbol") return `[${key.toString()}]`;
  return IDENTIFIER.test(key) ? key : quote(key);
}

function functionText(fn) {
  const source = Function.prototype.toString.call(fn);
  if (source.startsWith("class")) return `[class ${fn.name || "(anonymous)"}]`;
  const kind =
    fn instanceof AsyncGeneratorFunction
      ? "AsyncGeneratorFunction"
      : fn instanceof AsyncFunction
        ? "AsyncFunction"
        : fn instanceof GeneratorFunction
          ? "GeneratorFunction"
          : "Function";
  return fn.name ? `[${kind}: ${fn.name}]` : `[${kind} (anonymous)]`;
}

function primitiveText(value, options) {
  switch (typeof value) {
    case "string": {
      const text = value.length > options.maxStringLength ? value.slice(0, options.maxStringLength) : value;
      const more = value.length - text.length;
      const shown = quote(text);
      return more > 0 ? `${shown}... ${more} more character${more > 1 ? "s" : ""}` : shown;
    }
    case "number":
      return Object.is(value, -0) ? "-0" : String(value);
    case "bigint":
      return `${value}n`;
    case "symbol":
      return value.toString();
    case "undefined":
      return "undefined";
    default:
      return String(value);
  }
}

function constructorName(value) {
  let proto = Object.getPrototypeOf(value);
  if (proto === null) return null;
  while (proto !== null) {
    const descriptor = Object.getOwnPropertyDescriptor(proto, "constructor");
    if (descriptor && typeof descriptor.value === "function" && descriptor.value.name) return descriptor.value.name;
    proto = Object.getPrototypeOf(proto);
  }
  return "";
}

function propertyEntries(value, options, state, depth, skip) {
  const out = [];
  const keys = [...Object.keys(value), ...Object.getOwnPropertySymbols(value).filter((s) => Object.prototype.propertyIsEnumerable.call(value, s))];
  if (options.sorted) keys.sort();
  for (const key of keys) {
    if (skip(key)) continue;
    const descriptor = Object.getOwnPropertyDescriptor(value, key);
    let shown;
    if (descriptor.get || descriptor.set) shown = descriptor.get && descriptor.set ? "[Getter/Setter]" : descriptor.get ? "[Getter]" : "[Setter]";
    else shown = formatValue(descriptor.value, options, state, depth + 1);
    out.push(`${keyText(key)}: ${shown}`);
  }
  return out;
}

function bytesText(bytes, limit) {
  const shown = Array.from(bytes.subarray(0, limit), (b) => b.toString(16).padStart(2, "0")).join(" ");
  const more = bytes.length - Math.min(bytes.length, limit);
  return more > 0 ? `${shown} ... ${more} more byte${more > 1 ? "s" : ""}` : shown;
}

function group(prefix, entries, open, close, options, depth) {
  if (entries.length === 0) return `${prefix}${open}${close}`;
  const single = `${prefix}${open} ${entries.join(", ")} ${close}`;
  const fits = single.length + depth * 2 <= options.breakLength && !entries.some((e) => e.includes("\n"));
  if (fits) return single;
  const indent = "  ".repeat(depth + 1);
  return `${prefix}${open}\n${indent}${entries.join(`,\n${indent}`)}\n${"  ".repeat(depth)}${close}`;
}

function formatValue(value, options, state, depth) {
  if (value === null) return "null";
  if (typeof value !== "object" && typeof value !== "function") return primitiveText(value, options);
  if (options.customInspect !== false && typeof value[customInspect] === "function" && value[customInspect] !== inspect) {
    const result = value[customInspect](options.depth - depth, { ...options, stylize: (s) => s }, inspect);
    if (result !== value) return typeof result === "string" ? result : formatValue(result, options, state, depth);
  }
  if (state.seen.includes(value)) {
    let index = state.circular.get(value);
    if (index === undefined) {
      index = state.circular.size + 1;
      state.circular.set(value, index);
    }
    return `[Circular *${index}]`;
  }
  state.seen.push(value);
  try {
    const text = formatObject(value, options, state, depth);
    const index = state.circular.get(value);
    return index === undefined ? text : `<ref *${index}> ${text}`;
  } finally {
    state.seen.pop();
  }
}

// "Map(2) ", a subclass's "Cache(2) [Map] ", or "[Map(2): null prototype] ".
function collectionHead(name, kind, size) {
  if (name === kind) return `${kind}(${size}) `;
  return name === null ? `[${kind}(${size}): null prototype] ` : `${name}(${size}) [${kind}] `;
}

function formatObject(value, options, state, depth) {
  if (typeof value === "function") {
    const base = functionText(value);
    const props = propertyEntries(value, options, state, depth, () => false);
    return props.length ? group(`${base} `, props, "{", "}", options, depth) : base;
  }
  const name = constructorName(value);
  if (value instanceof Error) {
    const stack = typeof value.stack === "string" && value.stack ? value.stack : "";
    const head = `${value.name}: ${value.message}`;
    const text = stack.startsWith(head) || !stack ? stack || head : `${head}\n${stack}`;
    const props = propertyEntries(value, options, state, depth, (k) => k === "stack" || k === "message");
    return props.length ? group(`${text} `, props, "{", "}", options, depth) : text;
  }
  if (value instanceof Date) return Number.isNaN(value.getTime()) ? "Invalid Date" : value.toISOString();
  if (value instanceof RegExp) return RegExp.prototype.toString.call(value);
  if (value instanceof Number || value instanceof String || value instanceof Boolean || value instanceof BigInt || value instanceof Symbol) {
    const inner = formatValue(value.valueOf(), options, state, 1);
    return `[${tag(value)}: ${inner}]`;
  }
  if (value instanceof WeakMap || value instanceof WeakSet) return `${name} { <items unknown> }`;
  if (value instanceof Promise) return `Promise { <unknown> }`;
  if (depth > options.depth) {
    if (Array.isArray(value)) return "[Array]";
    return `[${name || "Object"}]`;
  }
  if (value instanceof Buffer) return `<Buffer${value.length ? " " : ""}${bytesText(value, 50)}>`;
  if (value instanceof ArrayBuffer) {
    return group(
      `ArrayBuffer `,
      [`[Uint8Contents]: <${bytesText(new Uint8Array(value), 50)}>`, `byteLength: ${value.byteLength}`],
      "{",
      "}",
      options,
      depth,
    );
  }
  if (value instanceof Map) {
    const entries = [];
    for (const [k, v] of value) {
      entries.push(`${formatValue(k, options, state, depth + 1)} => ${formatValue(v, options, state, depth + 1)}`);
    }
    entries.push(...propertyEntries(value, options, state, depth, () => false));
    return group(collectionHead(name, "Map", value.size), entries, "{", "}", options, depth);
  }
  if (value instanceof Set) {
    const entries = [];
    for (const v of value) entries.push(formatValue(v, options, state, depth + 1));
    entries.push(...propertyEntries(value, options, state, depth, () => false));
    return group(collectionHead(name, "Set", value.size), entries, "{", "}", options, depth);
  }
  if (Array.isArray(value) || value instanceof TypedArray) {
    const entries = [];
    const limit = Math.min(value.length, options.maxArrayLength);
    let holes = 0;
    const flushHoles = () => {
      if (holes) entries.push(`<${holes} empty item${holes > 1 ? "s" : ""}>`);
      holes = 0;
    };
    for (let i = 0; i < limit; i++) {
      if (!(i in value)) {
        holes++;
        continue;
      }
      flushHoles();
      entries.push(formatValue(value[i], options, state, depth + 1));
    }
    flushHoles();
    if (value.length > limit) {
      const more = value.length - limit;
      entries.push(`... ${more} more item${more > 1 ? "s" : ""}`);
    }
    entries.push(...propertyEntries(value, options, state, depth, (k) => typeof k === "string" && /^\d+$/.test(k)));
    const head = Array.isArray(value) ? (name === "Array" ? "" : collectionHead(name, "Array", value.length)) : `${name}(${value.length}) `;
    return group(head, entries, "[", "]", options, depth);
  }
  const entries = propertyEntries(value, options, state, depth, () => false);
  const toStringTag = value[Symbol.toStringTag];
  let head = name === null ? "[Object: null prototype] " : name === "Object" ? "" : `${name} `;
  if (typeof toStringTag === "string" && toStringTag !== name) head = `${head}[${toStringTag}] `.replace(/^\s+/, "");
  if (value === globalThis) head = "<ref *1> Object [global] ";
  return group(head, entries, "{", "}", options, depth);
}

export function inspect(value, options) {
  let merged = { ...DEFAULTS };
  if (typeof options === "boolean") merged.showHidden = options;
  else if (options !== null && typeof options === "object") merged = { ...merged, ...options };
  if (merged.depth === null) merged.depth = Infinity;
  if (merged.maxArrayLength === null) merged.maxArrayLength = Infinity;
  if (merged.maxStringLength === null) merged.maxStringLength = Infinity;
  return formatValue(value, merged, { seen: [], circular: new Map() }, 0);
}
inspect.custom = customInspect;
inspect.defaultOptions = DEFAULTS;

export function formatWithOptions(options, format, ...args) {
  if (typeof format !== "string") {
    return [format, ...args].map((a) => (typeof a === "string" ? a : inspect(a, options))).join(" ");
  }
  let next = 0;
  let text = format.replace(/%([sdifjoOc%])/g, (match, kind) => {
    if (kind === "%") return "%";
    if (next >= args.length) return match;
    const arg = args[next++];
    switch (kind) {
      case "s":
        if (typeof arg === "bigint") return `${arg}n`;
        if (typeof arg === "symbol") return arg.toString();
        if (typeof arg === "object" && arg !== null) return inspect(arg, { ...options, depth: 0 });
        return String(arg);
      case "d":
        return typeof arg === "bigint" ? `${arg}n` : typeof arg === "symbol" ? "NaN" : String(Number(arg));
      case "i":
        return typeof arg === "bigint" ? `${arg}n` : typeof arg === "symbol" ? "NaN" : String(parseInt(arg));
      case "f":
        return typeof arg === "symbol" ? "NaN" : String(parseFloat(arg));
      case "j":
        try {
          return JSON.stringify(arg);
        } catch {
          return "[Circular]";
        }
      case "o":
        return inspect(arg, { ...options, showHidden: true, depth: 4 });
      case "O":
        return inspect(arg, options);
      case "c":
        return "";
    }
    return match;
  });
  for (; next < args.length; next++) {
    const arg = args[next];
    text += ` ${typeof arg === "string" ? arg : inspect(arg, options)}`;
  }
  return text;
}

export function format(format, ...args) {
  return formatWithOptions({}, format, ...args);
}

// ---- functions ----

export function promisify(original) {
  validateFunction(original, "original");
  if (typeof original[customPromisify] === "function") return original[customPromisify];
  function promisified(...args) {
    return new Promise((resolve, reject) => {
      Reflect.apply(original, this, [...args, (error, value) => (error ? reject(error) : resolve(value))]);
    });
  }
  Object.setPrototypeOf(promisified, Object.getPrototypeOf(original));
  Object.defineProperty(promisified, customPromisify, { value: promisified, configurable: true });
  return Object.defineProperties(promisified, Object.getOwnPropertyDescriptors(original));
}
promisify.custom = customPromisify;

export function callbackify(original) {
  validateFunction(original, "original");
  return function (...args) {
    const callback = args.pop();
    validateFunction(callback, "last argument");
    Reflect.apply(original, this, args).then(
      (value) => queueMicrotask(() => callback(null, value)),
      (reason) => {
        const error =
          reason || codedError(Error, "ERR_FALSY_VALUE_REJECTION", "Promise was rejected with falsy value");
        if (!reason) error.reason = reason;
        queueMicrotask(() => callback(error));
      },
    );
  };
}

export function inherits(constructor, superConstructor) {
  validateFunction(constructor, "ctor");
  validateFunction(superConstructor, "superCtor");
  if (superConstructor.prototype === undefined) {
    throw invalidArgType("superCtor.prototype", "of type object", superConstructor.prototype);
  }
  Object.defineProperty(constructor, "super_", { value: superConstructor, writable: true, configurable: true });
  Object.setPrototypeOf(constructor.prototype, superConstructor.prototype);
}

const warned = new Set();
export function deprecate(fn, message, code) {
  validateFunction(fn, "fn");
  return function (...args) {
    const key = code ?? message;
    if (!warned.has(key)) {
      warned.add(key);
      console.warn(`${code ? `[${code}] ` : ""}DeprecationWarning: ${message}`);
    }
    return new.target ? Reflect.construct(fn, args, new.target) : Reflect.apply(fn, this, args);
  };
}

export function debuglog() {
  const log = () => {};
  log.enabled = false;
  return log;
}
export const debug = debuglog;

export function isDeepStrictEqual(a, b) {
  return deepEqual(a, b, true);
}

export function stripVTControlCharacters(text) {
  return String(text).replace(/\x1b\[[0-9;]*[A-Za-z]|\x1b\][^\x07]*\x07/g, "");
}

export function toUSVString(text) {
  return String(text).toWellFormed();
}

export function isArray(value) {
  return Array.isArray(value);
}

export function getSystemErrorName(code) {
  return `Unknown system error ${code}`;
}

export const TextEncoder = globalThis.TextEncoder;
export const TextDecoder = globalThis.TextDecoder;

export default {
  types,
  inspect,
  format,
  formatWithOptions,
  promisify,
  callbackify,
  inherits,
  deprecate,
  debuglog,
  debug,
  isDeepStrictEqual,
  stripVTControlCharacters,
  toUSVString,
  isArray,
  getSystemErrorName,
  TextEncoder,
  TextDecoder,
};
