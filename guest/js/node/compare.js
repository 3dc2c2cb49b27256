// Deep equality as Node.js defines it, for node:assert and node:util: strict (prototypes, types and
// Object.is on primitives) or loose (== on primitives, prototypes ignored). Cycles compare by the
// pairs already being compared.

function isObject(value) {
  return value !== null && typeof value === "object";
}

function ownEnumerableKeys(value, strict) {
  const keys = Object.keys(value);
  if (!strict) return keys;
  for (const symbol of Object.getOwnPropertySymbols(value)) {
    if (Object.prototype.propertyIsEnumerable.call(value, symbol)) keys.push(symbol);
  }
  return keys;
}

function tagOf(value) {
  return Object.prototype.toString.call(value);
}

export function deepEqual(a, b, strict, seen = new Map()) {
  if (strict ? Object.is(a, b) : a == b || (Number.isNaN(a) && Number.isNaN(b))) return true;
  if (!isObject(a) || !isObject(b)) {
    if (strict || isObject(a) || isObject(b)) return false;
    return a == b;
  }
  if (strict && Object.getPrototypeOf(a) !== Object.getPrototypeOf(b)) return false;
  if (tagOf(a) !== tagOf(b)) return false;
  if (Array.isArray(a) !== Array.isArray(b)) return false;
  const pairs = seen.get(a);
  if (pairs?.has(b)) return true;
  if (pairs) pairs.add(b);
  else seen.set(a, new Set([b]));

  if (a instanceof Date) {
    if (a.getTime() !== b.getTime()) return false;
  } else if (a instanceof RegExp) {
    if (a.source !== b.source || a.flags !== b.flags || a.lastIndex !== b.lastIndex) return false;
  } else if (a instanceof Error) {
    if (a.message !== b.message || a.name !== b.name) return false;
  } else if (ArrayBuffer.isView(a)) {
    if (a.byteLength !== b.byteLength) return false;
    if (!(a instanceof DataView)) {
      if (a.length !== b.length) return false;
      for (let i = 0; i < a.length; i++) {
        if (!(strict ? Object.is(a[i], b[i]) : a[i] == b[i])) return false;
      }
      // Indices are compared; other own keys below, skipping them.
      return sameKeys(a, b, strict, seen, (key) => typeof key === "symbol" || !/^\d+$/.test(key));
    }
    const left = new Uint8Array(a.buffer, a.byteOffset, a.byteLength);
    const right = new Uint8Array(b.buffer, b.byteOffset, b.byteLength);
    for (let i = 0; i < left.length; i++) if (left[i] !== right[i]) return false;
  } else if (a instanceof ArrayBuffer) {
    if (a.byteLength !== b.byteLength) return false;
    const left = new Uint8Array(a);
    const right = new Uint8Array(b);
    for (let i = 0; i < left.length; i++) if (left[i] !== right[i]) return false;
  } else if (a instanceof Map) {
    if (a.size !== b.size) return false;
    for (const [key, value] of a) {
      if (b.has(key)) {
        if (!deepEqual(value, b.get(key), strict, seen)) return false;
        continue;
      }
      if (!isObject(key)) return false;
      let found = false;
      for (const [otherKey, otherValue] of b) {
        if (deepEqual(key, otherKey, strict, seen) && deepEqual(value, otherValue, strict, seen)) {
          found = true;
          break;
        }
      }
      if (!found) return false;
    }
  } else if (a instanceof Set) {
    if (a.size !== b.size) return false;
    for (const item of a) {
      if (b.has(item)) continue;
      if (!isObject(item) && strict) return false;
      let found = false;
      for (const other of b) {
        if (deepEqual(item, other, strict, seen)) {
          found = true;
          break;
        }
      }
      if (!found) return false;
    }
  } else if (typeof a.valueOf === "function" && (a instanceof Number || a instanceof String || a instanceof Boolean)) {
    if (!Object.is(a.valueOf(), b.valueOf())) return false;
  }
  return sameKeys(a, b, strict, seen, () => true);
}

function sameKeys(a, b, strict, seen, compared) {
  const keysA = ownEnumerableKeys(a, strict).filter(compared);
  const keysB = ownEnumerableKeys(b, strict).filter(compared);
  if (keysA.length !== keysB.length) return false;
  for (const key of keysA) {
    if (!Object.prototype.propertyIsEnumerable.call(b, key)) return false;
    if (!deepEqual(a[key], b[key], strict, seen)) return false;
  }
  return true;
}
