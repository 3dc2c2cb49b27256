// node:assert: the assertion functions with Node.js's AssertionError (code ERR_ASSERTION,
// actual/expected/operator), loose and strict flavours, and assert.strict.
import { deepEqual } from "dynisolate:node-compare";
import { invalidArgType } from "dynisolate:node-errors";
import { inspect } from "node:util";

export class AssertionError extends Error {
  constructor(options) {
    if (options === null || typeof options !== "object") throw invalidArgType("options", "of type object", options);
    const { message, actual, expected, operator } = options;
    super(message !== undefined ? String(message) : `${inspect(actual)} ${operator} ${inspect(expected)}`);
    this.name = "AssertionError";
    this.code = "ERR_ASSERTION";
    this.actual = actual;
    this.expected = expected;
    this.operator = operator;
    this.generatedMessage = message === undefined;
  }
}

function fail(actual, expected, message, operator, defaultMessage) {
  if (message instanceof Error) throw message;
  const error = new AssertionError({ message: message ?? defaultMessage, actual, expected, operator });
  error.generatedMessage = message === undefined;
  throw error;
}

function comparison(operator, holds, describe) {
  return function (actual, expected, message) {
    if (arguments.length < 2) throw invalidArgType("expected", "given", undefined);
    if (!holds(actual, expected)) fail(actual, expected, message, operator, describe(actual, expected));
  };
}

const shown = (value) => inspect(value, { depth: 4 });

function ok(value, message) {
  if (arguments.length === 0) fail(value, true, "No value argument passed to `assert.ok()`", "==");
  if (!value) fail(value, true, message, "==", "The expression evaluated to a falsy value:\n\n  assert.ok(" + shown(value) + ")\n");
}

const equal = comparison("==", (a, b) => a == b || (Number.isNaN(a) && Number.isNaN(b)), (a, b) => `${shown(a)} == ${shown(b)}`);
const notEqual = comparison("!=", (a, b) => !(a == b || (Number.isNaN(a) && Number.isNaN(b))), (a, b) => `${shown(a)} != ${shown(b)}`);
const strictEqual = comparison(
  "strictEqual",
  Object.is,
  (a, b) => `Expected values to be strictly equal:\n\n${shown(a)} !== ${shown(b)}\n`,
);
const notStrictEqual = comparison(
  "notStrictEqual",
  (a, b) => !Object.is(a, b),
  (a) => `Expected "actual" to be strictly unequal to: ${shown(a)}`,
);
const deepEqualAssert = comparison(
  "deepEqual",
  (a, b) => deepEqual(a, b, false),
  (a, b) => `Expected values to be loosely deep-equal:\n\n${shown(a)}\n\nshould loosely deep-equal\n\n${shown(b)}`,
);
const notDeepEqual = comparison(
  "notDeepEqual",
  (a, b) => !deepEqual(a, b, false),
  (a) => `"actual" deepEqual "expected": ${shown(a)}`,
);
const deepStrictEqual = comparison(
  "deepStrictEqual",
  (a, b) => deepEqual(a, b, true),
  (a, b) => `Expected values to be strictly deep-equal:\n${shown(a)}\n\nshould equal\n\n${shown(b)}`,
);
const notDeepStrictEqual = comparison(
  "notDeepStrictEqual",
  (a, b) => !deepEqual(a, b, true),
  (a) => `Expected "actual" not to be strictly deep-equal to: ${shown(a)}`,
);

// Whether `error` is what `expected` (a class, RegExp, validation function or object of
// properties) asks for.
function matches(error, expected, message) {
  if (expected === undefined) return;
  if (expected instanceof RegExp) {
    if (!expected.test(String(error))) {
      fail(error, expected, message, "throws", `The input did not match the regular expression ${expected}. Input:\n\n${shown(String(error))}\n`);
    }
    return;
  }
  if (typeof expected === "function") {
    if (expected.prototype !== undefined && error instanceof expected) return;
    if (Error.isPrototypeOf(expected) || expected === Error) {
      fail(error, expected, message, "throws", `The error is expected to be an instance of "${expected.name}". Received "${error?.constructor?.name}"`);
    }
    if (expected.call({}, error) !== true) {
      fail(error, expected, message, "throws", `The ${expected.name ? `"${expected.name}" ` : ""}validation function is expected to return "true". Received ${shown(error)}`);
    }
    return;
  }
  if (expected !== null && typeof expected === "object") {
    for (const key of Object.keys(expected)) {
      const want = expected[key];
      const have = error?.[key];
      const same = want instanceof RegExp && typeof have === "string" ? want.test(have) : deepEqual(have, want, true);
      if (!same) fail(error, expected, message, "throws", `Expected values to be strictly deep-equal:\n+ actual - expected\n\n  ${key}: ${shown(have)} !== ${shown(want)}`);
    }
    return;
  }
  throw invalidArgType("expected", "of type function or an instance of Error, RegExp, or Object", expected);
}

const NO_ERROR = Symbol("no error");

function throws(fn, expected, message) {
  if (typeof fn !== "function") throw invalidArgType("fn", "of type function", fn);
  if (typeof expected === "string") [message, expected] = [expected, undefined];
  let error = NO_ERROR;
  try {
    fn();
  } catch (e) {
    error = e;
  }
  if (error === NO_ERROR) fail(undefined, expected, message, "throws", `Missing expected exception${message ? `: ${message}` : "."}`);
  matches(error, expected, message);
}

function doesNotThrow(fn, expected, message) {
  if (typeof expected === "string") [message, expected] = [expected, undefined];
  try {
    fn();
  } catch (error) {
    fail(error, expected, message, "doesNotThrow", `Got unwanted exception.\nActual message: "${error?.message}"`);
  }
}

async function rejects(promiseOrFn, expected, message) {
  if (typeof expected === "string") [message, expected] = [expected, undefined];
  let error = NO_ERROR;
  try {
    await (typeof promiseOrFn === "function" ? promiseOrFn() : promiseOrFn);
  } catch (e) {
    error = e;
  }
  if (error === NO_ERROR) fail(undefined, expected, message, "rejects", `Missing expected rejection${message ? `: ${message}` : "."}`);
  matches(error, expected, message);
}

async function doesNotReject(promiseOrFn, expected, message) {
  if (typeof expected === "string") [message, expected] = [expected, undefined];
  try {
    await (typeof promiseOrFn === "function" ? promiseOrFn() : promiseOrFn);
  } catch (error) {
    fail(error, expected, message, "doesNotReject", `Got unwanted rejection.\nActual message: "${error?.message}"`);
  }
}

function match(text, pattern, message) {
  if (!(pattern instanceof RegExp)) throw invalidArgType("regexp", "an instance of RegExp", pattern);
  if (typeof text !== "string" || !pattern.test(text)) {
    fail(text, pattern, message, "match", `The input did not match the regular expression ${pattern}. Input:\n\n${shown(text)}\n`);
  }
}

function doesNotMatch(text, pattern, message) {
  if (!(pattern instanceof RegExp)) throw invalidArgType("regexp", "an instance of RegExp", pattern);
  if (typeof text !== "string" || pattern.test(text)) {
    fail(text, pattern, message, "doesNotMatch", `The input was expected to not match the regular expression ${pattern}. Input:\n\n${shown(text)}\n`);
  }
}

function ifError(value) {
  if (value !== null && value !== undefined) {
    if (value instanceof Error) throw value;
    fail(value, null, undefined, "ifError", `ifError got unwanted exception: ${shown(value)}`);
  }
}

function failAssert(message = "Failed") {
  fail(undefined, undefined, message, "fail");
}

function build(strict) {
  const assert = (...args) => Reflect.apply(ok, undefined, args);
  Object.assign(assert, {
    ok,
    fail: failAssert,
    equal: strict ? strictEqual : equal,
    notEqual: strict ? notStrictEqual : notEqual,
    deepEqual: strict ? deepStrictEqual : deepEqualAssert,
    notDeepEqual: strict ? notDeepStrictEqual : notDeepEqual,
    strictEqual,
    notStrictEqual,
    deepStrictEqual,
    notDeepStrictEqual,
    throws,
    doesNotThrow,
    rejects,
    doesNotReject,
    match,
    doesNotMatch,
    ifError,
    AssertionError,
  });
  return assert;
}

const assert = build(false);
assert.strict = build(true);
assert.strict.strict = assert.strict;

export default assert;
export {
  ok,
  equal,
  notEqual,
  strictEqual,
  notStrictEqual,
  deepEqualAssert as deepEqual,
  notDeepEqual,
  deepStrictEqual,
  notDeepStrictEqual,
  throws,
  doesNotThrow,
  rejects,
  doesNotReject,
  match,
  doesNotMatch,
  ifError,
  failAssert as fail,
};
export const strict = assert.strict;
