// console's formatting, as workerd's console (Node's util.inspect) prints values: strings bare at
// the top and quoted inside, `Map(1) { 'a' => 1 }`, `Set(1) { 1 }`, class instances by their
// class's name, errors with their stacks, `<ref *1>` and `[Circular *1]` for cycles, getters shown
// as `[Getter]` and never run, nested objects past depth 2 as `[Object]`, and an object broken
// over lines when it does not fit in 80 columns. Format specifiers (%s %d %i %f %j %o %O %c %%) in
// a first string argument. shim.c evaluates this before glue.js, which logs through `format`.
//
// Reading a value never runs tenant code it did not ask for: properties are read through their
// descriptors, a proxy is shown as its target (no trap runs), a promise's state comes from the
// engine. Built-ins come from primordials.js.
(function (primordials, natives) {
  "use strict";

  const {
    ReflectOwnKeys,
    ObjectGetOwnPropertyDescriptor,
    ObjectGetPrototypeOf,
    ObjectFreeze,
    ArrayIsArray,
    ArrayPrototypePush: push,
    ArrayPrototypeJoin: join,
    StringCtor,
    StringPrototypeSlice: slice,
    StringPrototypeIndexOf: indexOf,
    StringPrototypeCharCodeAt: charCodeAt,
    StringPrototypeTrimEnd: trimEnd,
    NumberCtor,
    NumberPrototypeToString,
    JSONStringify,
    MapPrototypeForEach,
    MapPrototypeGetSize,
    MapPrototypeGet,
    MapPrototypeSet,
    MapCtor,
    SetPrototypeForEach,
    SetPrototypeGetSize,
    DatePrototypeGetTime,
    DatePrototypeToISOString,
    RegExpPrototypeToString,
    RegExpGetSource,
    ErrorIsError,
    TypedArrayGetTag,
    TypedArrayGetLength,
    ArrayBufferGetByteLength,
    Uint8ArrayCtor,
    NumberPrototypeValueOf,
    StringPrototypeValueOf,
    BooleanPrototypeValueOf,
    BigIntPrototypeValueOf,
    FunctionPrototypeToString,
    MathFloor,
    ErrorPrototypeGetStack,
    isArrayBuffer,
  } = primordials;
  const { promiseState, promiseResult, proxyTarget } = natives;

  const BREAK_LENGTH = 80;
  const MAX_DEPTH = 2;
  const MAX_ITEMS = 100;
  const isObject = (x) => x !== null && (typeof x === "object" || typeof x === "function");

  // Runs `read(value)` if value has that internal slot (the getter throws otherwise).
  function probe(read, value) {
    try {
      return { __proto__: null, value: read(value) };
    } catch {
      return null;
    }
  }

  function quote(s) {
    let out = "'";
    for (let i = 0; i < s.length; i++) {
      const c = charCodeAt(s, i);
      if (c === 0x27) out += "\\'";
      else if (c === 0x5c) out += "\\\\";
      else if (c === 0x0a) out += "\\n";
      else if (c === 0x0d) out += "\\r";
      else if (c === 0x09) out += "\\t";
      else if (c < 0x20 || c === 0x7f) out += "\\x" + (c < 0x10 ? "0" : "") + NumberPrototypeToString(c, 16);
      else out += s[i];
    }
    return out + "'";
  }

  // A key as Node writes it: bare when it is an identifier, quoted otherwise.
  function isIdentifier(key) {
    if (key === "") return false;
    for (let i = 0; i < key.length; i++) {
      const c = charCodeAt(key, i);
      const letter = (c >= 0x41 && c <= 0x5a) || (c >= 0x61 && c <= 0x7a) || c === 0x5f || c === 0x24;
      if (!letter && !(i > 0 && c >= 0x30 && c <= 0x39)) return false;
    }
    return true;
  }

  function keyText(key) {
    if (typeof key === "symbol") return `[${StringCtor(key)}]`;
    return isIdentifier(key) ? key : quote(key);
  }

  function primitive(value, nested) {
    switch (typeof value) {
      case "string":
        return nested ? quote(value) : value;
      case "number":
        return value === 0 && 1 / value < 0 ? "-0" : StringCtor(value);
      case "bigint":
        return `${value}n`;
      case "symbol":
        return StringCtor(value);
      case "undefined":
        return "undefined";
      case "boolean":
        return value ? "true" : "false";
    }
    return "null";
  }

  // The name of the constructor an object was made by, without running getters; null for none.
  function constructorName(value) {
    let proto = ObjectGetPrototypeOf(value);
    while (proto !== null) {
      const descriptor = ObjectGetOwnPropertyDescriptor(proto, "constructor");
      if (descriptor !== undefined && typeof descriptor.value === "function") {
        const name = ObjectGetOwnPropertyDescriptor(descriptor.value, "name");
        if (name !== undefined && typeof name.value === "string" && name.value !== "") return name.value;
      }
      proto = ObjectGetPrototypeOf(proto);
    }
    return null;
  }

  function functionBase(fn) {
    const source = probe((f) => FunctionPrototypeToString(f), fn);
    const nameDescriptor = ObjectGetOwnPropertyDescriptor(fn, "name");
    const name = nameDescriptor !== undefined && typeof nameDescriptor.value === "string" ? nameDescriptor.value : "";
    if (source !== null && slice(source.value, 0, 6) === "class ") {
      return `[class ${name || "(anonymous)"}]`;
    }
    const kind = constructorName(fn) ?? "Function";
    const kinds = ["Function", "AsyncFunction", "GeneratorFunction", "AsyncGeneratorFunction"];
    let shown = "Function";
    for (let i = 0; i < kinds.length; i++) if (kinds[i] === kind) shown = kind;
    return `[${shown}${name ? `: ${name}` : " (anonymous)"}]`;
  }

  class Context {
    constructor() {
      this.seen = [];
      this.circular = new MapCtor(); // object -> its reference number
      this.indentation = 0;
    }
  }

  function formatValue(ctx, value, depth, nested) {
    if (!isObject(value)) return primitive(value, nested);
    const target = proxyTarget(value);
    if (target !== undefined) return formatValue(ctx, target, depth, nested);
    for (let i = 0; i < ctx.seen.length; i++) {
      if (ctx.seen[i] === value) {
        let index = MapPrototypeGet(ctx.circular, value);
        if (index === undefined) {
          index = MapPrototypeGetSize(ctx.circular) + 1;
          MapPrototypeSet(ctx.circular, value, index);
        }
        return `[Circular *${index}]`;
      }
    }
    return formatObject(ctx, value, depth);
  }

  function ownEntries(ctx, value, depth, skip) {
    const output = [];
    const keys = ReflectOwnKeys(value);
    for (let i = 0; i < keys.length && output.length < MAX_ITEMS; i++) {
      const key = keys[i];
      if (skip(key)) continue;
      const descriptor = ObjectGetOwnPropertyDescriptor(value, key);
      if (descriptor === undefined || !descriptor.enumerable) continue;
      push(output, `${keyText(key)}: ${propertyText(ctx, descriptor, depth)}`);
    }
    return output;
  }

  function propertyText(ctx, descriptor, depth) {
    if (descriptor.get !== undefined) return descriptor.set !== undefined ? "[Getter/Setter]" : "[Getter]";
    if (descriptor.set !== undefined) return "[Setter]";
    ctx.indentation += 2;
    const text = formatValue(ctx, descriptor.value, depth + 1, true);
    ctx.indentation -= 2;
    return text;
  }

  const noSkip = () => false;
  const isIndex = (key) => typeof key === "string" && key !== "" && StringCtor(NumberCtor(key) >>> 0) === key;

  function formatObject(ctx, value, depth) {
    const name = constructorName(value);
    let base = "";
    let braces = ["{", "}"];
    let output;
    let skip = noSkip;
    let tooDeep = `[${name ?? "Object"}]`;

    if (ArrayIsArray(value)) {
      tooDeep = "[Array]";
      braces = [name === "Array" ? "[" : `${name ?? "[Array: null prototype]"} [`, "]"];
      skip = (key) => isIndex(key) || key === "length";
    } else if (typeof value === "function") {
      base = functionBase(value);
      tooDeep = base;
      skip = (key) => key === "prototype";
    } else if (probe(MapPrototypeGetSize, value) !== null) {
      braces = [`${name ?? "Map"}(${MapPrototypeGetSize(value)}) {`, "}"];
      tooDeep = `[${name ?? "Map"}]`;
    } else if (probe(SetPrototypeGetSize, value) !== null) {
      braces = [`${name ?? "Set"}(${SetPrototypeGetSize(value)}) {`, "}"];
      tooDeep = `[${name ?? "Set"}]`;
    } else if (TypedArrayGetTag(value) !== undefined) {
      braces = [`${name ?? TypedArrayGetTag(value)}(${TypedArrayGetLength(value)}) [`, "]"];
      skip = isIndex;
    } else if (ErrorIsError(value)) {
      base = errorText(value);
      skip = (key) => key === "stack" || key === "message";
    } else {
      const time = probe(DatePrototypeGetTime, value);
      const regexp = time === null && probe(RegExpGetSource, value) !== null ? probe(RegExpPrototypeToString, value) : null;
      const boxed = time === null && regexp === null ? boxedText(value) : null;
      if (time !== null) base = time.value === time.value ? DatePrototypeToISOString(value) : "Invalid Date";
      else if (regexp !== null) base = regexp.value;
      else if (boxed !== null) {
        base = boxed;
        skip = (key) => isIndex(key) || key === "length";
      }
      else if (isArrayBuffer(value)) {
        braces = [`${name ?? "ArrayBuffer"} {`, "}"];
      } else if (promiseState(value) >= 0) {
        braces = [`${name ?? "Promise"} {`, "}"];
      } else if (name === null) {
        braces = ["[Object: null prototype] {", "}"];
      } else if (name !== "Object") {
        braces = [`${name} {`, "}"];
      }
    }
    if (depth > MAX_DEPTH) return base !== "" && braces[0] === "{" ? base : tooDeep;

    push(ctx.seen, value);
    try {
      output = [];
      if (ArrayIsArray(value)) arrayEntries(ctx, value, depth, output);
      else if (TypedArrayGetTag(value) !== undefined) typedArrayEntries(value, output);
      else if (probe(MapPrototypeGetSize, value) !== null) mapEntries(ctx, value, depth, output);
      else if (probe(SetPrototypeGetSize, value) !== null) setEntries(ctx, value, depth, output);
      else if (isArrayBuffer(value)) arrayBufferEntries(value, output);
      else if (promiseState(value) >= 0) promiseEntries(ctx, value, depth, output);
      const own = ownEntries(ctx, value, depth, skip);
      for (let i = 0; i < own.length; i++) push(output, own[i]);
      if (ErrorIsError(value)) {
        const cause = ObjectGetOwnPropertyDescriptor(value, "cause");
        if (cause !== undefined && !cause.enumerable) push(output, `[cause]: ${propertyText(ctx, cause, depth)}`);
      }
    } finally {
      ctx.seen.length -= 1;
    }

    let result = reduce(ctx, output, base, braces);
    const index = MapPrototypeGet(ctx.circular, value);
    if (index !== undefined) result = `<ref *${index}> ${result}`;
    return result;
  }

  function arrayEntries(ctx, value, depth, output) {
    const length = value.length;
    let holes = 0;
    const flushHoles = () => {
      if (holes > 0) push(output, `<${holes} empty item${holes > 1 ? "s" : ""}>`);
      holes = 0;
    };
    for (let i = 0; i < length && output.length < MAX_ITEMS; i++) {
      const descriptor = ObjectGetOwnPropertyDescriptor(value, StringCtor(i));
      if (descriptor === undefined) {
        holes++;
        continue;
      }
      flushHoles();
      push(output, propertyText(ctx, descriptor, depth));
    }
    flushHoles();
    if (length > MAX_ITEMS) push(output, `... ${length - MAX_ITEMS} more item${length - MAX_ITEMS > 1 ? "s" : ""}`);
  }

  function typedArrayEntries(value, output) {
    const length = TypedArrayGetLength(value);
    for (let i = 0; i < length && i < MAX_ITEMS; i++) push(output, primitive(value[i], true));
    if (length > MAX_ITEMS) push(output, `... ${length - MAX_ITEMS} more item${length - MAX_ITEMS > 1 ? "s" : ""}`);
  }

  function mapEntries(ctx, value, depth, output) {
    MapPrototypeForEach(value, (v, k) => {
      if (output.length >= MAX_ITEMS) return;
      ctx.indentation += 2;
      const key = formatValue(ctx, k, depth + 1, true);
      const item = formatValue(ctx, v, depth + 1, true);
      ctx.indentation -= 2;
      push(output, `${key} => ${item}`);
    });
  }

  function setEntries(ctx, value, depth, output) {
    SetPrototypeForEach(value, (v) => {
      if (output.length >= MAX_ITEMS) return;
      ctx.indentation += 2;
      push(output, formatValue(ctx, v, depth + 1, true));
      ctx.indentation -= 2;
    });
  }

  function arrayBufferEntries(value, output) {
    const bytes = new Uint8ArrayCtor(value);
    let hex = "";
    for (let i = 0; i < TypedArrayGetLength(bytes) && i < 50; i++) {
      hex += (i ? " " : "") + (bytes[i] < 16 ? "0" : "") + NumberPrototypeToString(bytes[i], 16);
    }
    if (TypedArrayGetLength(bytes) > 50) hex += ` ... ${TypedArrayGetLength(bytes) - 50} more bytes`;
    push(output, `[Uint8Contents]: <${hex}>`);
    push(output, `byteLength: ${ArrayBufferGetByteLength(value)}`);
  }

  function promiseEntries(ctx, value, depth, output) {
    const state = promiseState(value);
    if (state === 0) push(output, "<pending>");
    else {
      ctx.indentation += 2;
      const text = formatValue(ctx, promiseResult(value), depth + 1, true);
      ctx.indentation -= 2;
      push(output, state === 1 ? text : `<rejected> ${text}`);
    }
  }

  function boxedText(value) {
    const kinds = [
      ["Number", NumberPrototypeValueOf],
      ["String", StringPrototypeValueOf],
      ["Boolean", BooleanPrototypeValueOf],
      ["BigInt", BigIntPrototypeValueOf],
    ];
    for (let i = 0; i < kinds.length; i++) {
      const found = probe(kinds[i][1], value);
      if (found !== null) return `[${kinds[i][0]}: ${primitive(found.value, true)}]`;
    }
    return null;
  }

  // "Name: message" and the stack, which QuickJS keeps without that first line.
  function errorText(error) {
    const name = ObjectGetOwnPropertyDescriptor(error, "name") ?? findDescriptor(error, "name");
    const message = ObjectGetOwnPropertyDescriptor(error, "message") ?? findDescriptor(error, "message");
    const own = ObjectGetOwnPropertyDescriptor(error, "stack");
    const stack = own !== undefined ? own : probe(ErrorPrototypeGetStack, error) ?? undefined;
    const nameText = name !== undefined && typeof name.value === "string" ? name.value : "Error";
    const messageText = message !== undefined && typeof message.value === "string" ? message.value : "";
    const head = messageText === "" ? nameText : `${nameText}: ${messageText}`;
    const stackText = stack !== undefined && typeof stack.value === "string" ? trimEnd(stack.value) : "";
    if (stackText === "") return `[${head}]`;
    return indexOf(stackText, head) === 0 ? stackText : `${head}\n${stackText}`;
  }

  function findDescriptor(value, key) {
    let proto = ObjectGetPrototypeOf(value);
    while (proto !== null) {
      const descriptor = ObjectGetOwnPropertyDescriptor(proto, key);
      if (descriptor !== undefined) return descriptor;
      proto = ObjectGetPrototypeOf(proto);
    }
    return undefined;
  }

  // One line when the entries fit in BREAK_LENGTH columns, else one entry per line.
  function reduce(ctx, output, base, braces) {
    if (output.length === 0) {
      if (braces[0] === "{") return base !== "" ? base : "{}";
      if (braces[0] === "[") return "[]";
      return base !== "" ? `${base} ${braces[0]}${braces[1]}` : `${braces[0]}${braces[1]}`;
    }
    const prefix = base !== "" ? `${base} ` : "";
    let total = output.length + ctx.indentation + braces[0].length + base.length + 10;
    let multiline = indexOf(base, "\n") !== -1;
    for (let i = 0; i < output.length && !multiline; i++) {
      total += output[i].length;
      if (indexOf(output[i], "\n") !== -1) multiline = true;
    }
    if (!multiline && total <= BREAK_LENGTH) return `${prefix}${braces[0]} ${join(output, ", ")} ${braces[1]}`;
    let indentation = "\n";
    for (let i = 0; i < ctx.indentation; i++) indentation += " ";
    return `${prefix}${braces[0]}${indentation}  ${join(output, `,${indentation}  `)}${indentation}${braces[1]}`;
  }

  function inspect(value) {
    return formatValue(new Context(), value, 0, true);
  }

  // console.log's arguments as one line of text, format specifiers in a first string applied.
  function format(args) {
    const parts = [];
    let start = 0;
    if (typeof args[0] === "string" && indexOf(args[0], "%") !== -1) {
      const applied = applySpecifiers(args);
      push(parts, applied.text);
      start = applied.next;
    }
    for (let i = start; i < args.length; i++) {
      push(parts, typeof args[i] === "string" ? args[i] : formatValue(new Context(), args[i], 0, true));
    }
    return join(parts, " ");
  }

  // The first argument with its specifiers replaced by the arguments after it: {text, next}, next
  // being the first argument no specifier took.
  function applySpecifiers(args) {
    const template = args[0];
    let out = "";
    let next = 1;
    for (let i = 0; i < template.length; i++) {
      const c = template[i];
      if (c !== "%" || i + 1 === template.length) {
        out += c;
        continue;
      }
      const spec = template[i + 1];
      if (spec === "%") {
        out += "%";
        i++;
        continue;
      }
      if (next >= args.length || indexOf("sdifjoOc", spec) === -1) {
        out += c;
        continue;
      }
      const arg = args[next++];
      i++;
      switch (spec) {
        case "s":
          if (typeof arg === "string") out += arg;
          else if (isObject(arg)) out += formatValue(new Context(), arg, 1, true);
          else out += primitive(arg, false);
          break;
        case "d":
        case "i": {
          if (typeof arg === "bigint") out += `${arg}n`;
          else if (isObject(arg)) out += "NaN";
          else {
            const n = NumberCtor(arg);
            out += spec === "i" ? primitive(n < 0 ? -MathFloor(-n) : MathFloor(n), false) : primitive(n, false);
          }
          break;
        }
        case "f":
          out += typeof arg === "symbol" ? "NaN" : primitive(NumberCtor(arg), false);
          break;
        case "j":
          try {
            out += JSONStringify(arg);
          } catch {
            out += "[Circular]";
          }
          break;
        case "o":
        case "O":
          out += formatValue(new Context(), arg, 0, true);
          break;
        case "c":
          break; // CSS has no meaning in a log
      }
    }
    return { __proto__: null, text: out, next };
  }

  return ObjectFreeze({ __proto__: null, inspect, format });
})
