// Node.js errors carry a `code` (ERR_INVALID_ARG_TYPE, ...) that callers test for; the modules in
// this folder make theirs here, so the codes and wording are written once.

function described(value) {
  if (value === null) return "null";
  if (value === undefined) return "undefined";
  if (typeof value === "function") return `function ${value.name}`;
  if (typeof value === "object") {
    const name = value.constructor?.name;
    return name ? `an instance of ${name}` : "an object";
  }
  const shown = typeof value === "string" ? JSON.stringify(value.length > 28 ? value.slice(0, 25) + "..." : value) : String(value);
  return `type ${typeof value} (${shown}${typeof value === "bigint" ? "n" : ""})`;
}

export function codedError(Class, code, message) {
  const error = new Class(message);
  Object.defineProperty(error, "code", { value: code, writable: true, configurable: true, enumerable: true });
  return error;
}

export function invalidArgType(name, expected, actual) {
  return codedError(
    TypeError,
    "ERR_INVALID_ARG_TYPE",
    `The "${name}" argument must be ${expected}. Received ${described(actual)}`,
  );
}

export function invalidArgValue(name, value, reason = "is invalid") {
  return codedError(TypeError, "ERR_INVALID_ARG_VALUE", `The argument '${name}' ${reason}. Received ${described(value)}`);
}

export function outOfRange(name, range, value) {
  return codedError(
    RangeError,
    "ERR_OUT_OF_RANGE",
    `The value of "${name}" is out of range. It must be ${range}. Received ${typeof value === "bigint" ? `${value}n` : String(value)}`,
  );
}

export function unknownEncoding(encoding) {
  return codedError(TypeError, "ERR_UNKNOWN_ENCODING", `Unknown encoding: ${encoding}`);
}

export function validateFunction(value, name) {
  if (typeof value !== "function") throw invalidArgType(name, "of type function", value);
}

export function validateString(value, name) {
  if (typeof value !== "string") throw invalidArgType(name, "of type string", value);
}

export function validateInteger(value, name, min = Number.MIN_SAFE_INTEGER, max = Number.MAX_SAFE_INTEGER) {
  if (typeof value !== "number") throw invalidArgType(name, "of type number", value);
  if (!Number.isInteger(value)) throw outOfRange(name, "an integer", value);
  if (value < min || value > max) throw outOfRange(name, `>= ${min} && <= ${max}`, value);
}
