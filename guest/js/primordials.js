// The built-ins our JavaScript calls, captured once, before any tenant code runs, and handed to
// web.js and glue.js (shim.c evaluates this first). A tenant that later replaces JSON,
// Array.prototype.push, Map.prototype.get or Promise.prototype.then cannot steer the scripts that
// use these. Methods are uncurried: `ArrayPrototypePush(array, value)` calls the original `push`
// with `this` = array, through a bound `call` (no arguments array). The names follow Node's
// lib/internal/per_context/primordials.js: `<Global><Method>` for statics, `<Global>Prototype<Method>`
// for methods, `<Global>Get<Accessor>` for getters, `<Global>Ctor` for constructors.
(function () {
  "use strict";

  const uncurry = Function.prototype.bind.bind(Function.prototype.call);
  const getter = (proto, name) => uncurry(Reflect.getOwnPropertyDescriptor(proto, name).get);
  const TypedArrayPrototype = Object.getPrototypeOf(Uint8Array.prototype);

  const RegExpFlagGetters = [];
  for (const [flag, name] of [["d", "hasIndices"], ["g", "global"], ["i", "ignoreCase"], ["m", "multiline"],
    ["s", "dotAll"], ["u", "unicode"], ["v", "unicodeSets"], ["y", "sticky"]]) {
    if (Object.hasOwn(RegExp.prototype, name)) RegExpFlagGetters.push([flag, getter(RegExp.prototype, name)]);
  }
  // Brand checks by a getter that throws on anything else (instanceof could be fooled).
  const brandCheck = (read) => (x) => {
    try {
      read(x);
      return true;
    } catch {
      return false;
    }
  };

  const TypedArrayCtors = {
    __proto__: null,
    Int8Array, Uint8Array, Uint8ClampedArray, Int16Array, Uint16Array, Int32Array, Uint32Array,
    Float32Array, Float64Array, BigInt64Array, BigUint64Array,
  };
  if (typeof Float16Array === "function") TypedArrayCtors.Float16Array = Float16Array;

  return Object.freeze({
    uncurry,
    ReflectApply: Reflect.apply,
    ReflectOwnKeys: Reflect.ownKeys,
    ObjectCtor: Object,
    ObjectPrototype: Object.prototype,
    ObjectCreate: Object.create,
    ObjectDefineProperty: Object.defineProperty,
    ObjectFreeze: Object.freeze,
    ObjectGetOwnPropertyDescriptor: Object.getOwnPropertyDescriptor,
    ObjectGetOwnPropertyDescriptors: Object.getOwnPropertyDescriptors,
    ObjectGetOwnPropertyNames: Object.getOwnPropertyNames,
    ObjectGetPrototypeOf: Object.getPrototypeOf,
    ObjectSetPrototypeOf: Object.setPrototypeOf,
    ObjectHasOwn: Object.hasOwn,
    ObjectKeys: Object.keys,
    ObjectEntries: Object.entries,
    ArrayCtor: Array,
    ArrayIsArray: Array.isArray,
    ArrayPrototypeIncludes: uncurry(Array.prototype.includes),
    ArrayPrototypeJoin: uncurry(Array.prototype.join),
    ArrayPrototypePush: uncurry(Array.prototype.push),
    ArrayPrototypeSort: uncurry(Array.prototype.sort),
    StringCtor: String,
    StringFromCharCode: String.fromCharCode,
    StringPrototypeCharCodeAt: uncurry(String.prototype.charCodeAt),
    StringPrototypeIndexOf: uncurry(String.prototype.indexOf),
    StringPrototypeSlice: uncurry(String.prototype.slice),
    StringPrototypeToLowerCase: uncurry(String.prototype.toLowerCase),
    StringPrototypeToUpperCase: uncurry(String.prototype.toUpperCase),
    StringPrototypeToWellFormed: uncurry(String.prototype.toWellFormed),
    StringPrototypeTrimEnd: uncurry(String.prototype.trimEnd),
    StringPrototypeValueOf: uncurry(String.prototype.valueOf),
    NumberCtor: Number,
    NumberIsFinite: Number.isFinite,
    NumberIsNaN: Number.isNaN,
    NumberPrototypeToString: uncurry(Number.prototype.toString),
    NumberPrototypeValueOf: uncurry(Number.prototype.valueOf),
    BooleanPrototypeValueOf: uncurry(Boolean.prototype.valueOf),
    BigIntCtor: BigInt,
    BigIntPrototypeValueOf: uncurry(BigInt.prototype.valueOf),
    MathCeil: Math.ceil,
    MathTrunc: Math.trunc,
    MathFloor: Math.floor,
    MathMin: Math.min,
    MathMax: Math.max,
    JSONParse: JSON.parse,
    JSONStringify: JSON.stringify,
    MapCtor: Map,
    ProxyCtor: Proxy,
    MapPrototypeClear: uncurry(Map.prototype.clear),
    MapPrototypeDelete: uncurry(Map.prototype.delete),
    MapPrototypeForEach: uncurry(Map.prototype.forEach),
    MapPrototypeGet: uncurry(Map.prototype.get),
    MapPrototypeHas: uncurry(Map.prototype.has),
    MapPrototypeSet: uncurry(Map.prototype.set),
    MapPrototypeGetSize: getter(Map.prototype, "size"),
    SetCtor: Set,
    SetPrototypeAdd: uncurry(Set.prototype.add),
    SetPrototypeDelete: uncurry(Set.prototype.delete),
    SetPrototypeForEach: uncurry(Set.prototype.forEach),
    SetPrototypeHas: uncurry(Set.prototype.has),
    SetPrototypeGetSize: getter(Set.prototype, "size"),
    WeakMapCtor: WeakMap,
    WeakMapPrototypeGet: uncurry(WeakMap.prototype.get),
    WeakMapPrototypeSet: uncurry(WeakMap.prototype.set),
    WeakSetCtor: WeakSet,
    WeakSetPrototypeAdd: uncurry(WeakSet.prototype.add),
    WeakSetPrototypeHas: uncurry(WeakSet.prototype.has),
    PromiseCtor: Promise,
    PromiseResolve: Promise.resolve.bind(Promise),
    PromiseReject: Promise.reject.bind(Promise),
    PromisePrototypeThen: uncurry(Promise.prototype.then),
    ArrayBufferCtor: ArrayBuffer,
    ArrayBufferIsView: ArrayBuffer.isView,
    ArrayBufferGetByteLength: getter(ArrayBuffer.prototype, "byteLength"),
    ArrayBufferGetMaxByteLength: getter(ArrayBuffer.prototype, "maxByteLength"),
    ArrayBufferGetResizable: getter(ArrayBuffer.prototype, "resizable"),
    ArrayBufferGetDetached: getter(ArrayBuffer.prototype, "detached"),
    ArrayBufferPrototypeTransfer: uncurry(ArrayBuffer.prototype.transfer),
    ArrayBufferPrototypeSlice: uncurry(ArrayBuffer.prototype.slice),
    isArrayBuffer: brandCheck(getter(ArrayBuffer.prototype, "byteLength")),
    isDataView: brandCheck(getter(DataView.prototype, "buffer")),
    isSharedArrayBuffer: brandCheck(getter(SharedArrayBuffer.prototype, "byteLength")),
    SharedArrayBufferGetByteLength: getter(SharedArrayBuffer.prototype, "byteLength"),
    DataViewCtor: DataView,
    DataViewGetBuffer: getter(DataView.prototype, "buffer"),
    DataViewGetByteOffset: getter(DataView.prototype, "byteOffset"),
    DataViewGetByteLength: getter(DataView.prototype, "byteLength"),
    TypedArrayPrototype,
    TypedArrayGetTag: getter(TypedArrayPrototype, Symbol.toStringTag),
    TypedArrayGetBuffer: getter(TypedArrayPrototype, "buffer"),
    TypedArrayGetByteOffset: getter(TypedArrayPrototype, "byteOffset"),
    TypedArrayGetByteLength: getter(TypedArrayPrototype, "byteLength"),
    TypedArrayGetLength: getter(TypedArrayPrototype, "length"),
    TypedArrayPrototypeSet: uncurry(TypedArrayPrototype.set),
    TypedArrayPrototypeIndexOf: uncurry(TypedArrayPrototype.indexOf),
    TypedArrayCtors: Object.freeze(TypedArrayCtors),
    Uint8ArrayCtor: Uint8Array,
    Uint8ArrayFromBase64: Uint8Array.fromBase64,
    Uint8ArrayPrototypeToBase64: uncurry(Uint8Array.prototype.toBase64),
    DateCtor: Date,
    DateNow: Date.now,
    DatePrototypeGetTime: uncurry(Date.prototype.getTime),
    DatePrototypeToISOString: uncurry(Date.prototype.toISOString),
    RegExpCtor: RegExp,
    RegExpPrototype: RegExp.prototype,
    RegExpGetSource: getter(RegExp.prototype, "source"),
    RegExpPrototypeExec: uncurry(RegExp.prototype.exec),
    RegExpPrototypeToString: uncurry(RegExp.prototype.toString),
    RegExpFlagGetters: Object.freeze(RegExpFlagGetters),
    FunctionPrototypeToString: uncurry(Function.prototype.toString),
    // QuickJS-ng keeps an error's stack behind an accessor on Error.prototype.
    ErrorPrototypeGetStack: getter(Error.prototype, "stack"),
    ErrorCtor: Error,
    ErrorIsError: Error.isError,
    ErrorCtors: Object.freeze({
      __proto__: null, Error, EvalError, RangeError, ReferenceError, SyntaxError, TypeError, URIError,
    }),
    TypeErrorCtor: TypeError,
    RangeErrorCtor: RangeError,
    DOMExceptionCtor: DOMException,
    DOMExceptionGetName: getter(DOMException.prototype, "name"),
    DOMExceptionGetMessage: getter(DOMException.prototype, "message"),
    atob: globalThis.atob,
    btoa: globalThis.btoa,
    encodeURIComponent: globalThis.encodeURIComponent,
    decodeURIComponent: globalThis.decodeURIComponent,
    escape: globalThis.escape,
    unescape: globalThis.unescape,
    SymbolFor: Symbol.for,
    SymbolIterator: Symbol.iterator,
    SymbolAsyncIterator: Symbol.asyncIterator,
    SymbolToStringTag: Symbol.toStringTag,
    IteratorPrototype: Object.getPrototypeOf(Object.getPrototypeOf([][Symbol.iterator]())),
    AsyncIteratorPrototype: Object.getPrototypeOf(Object.getPrototypeOf(async function* () {}).prototype),
  });
})
