// URLPattern as the URL Pattern Standard (https://urlpattern.spec.whatwg.org/) and Workers have
// it. The host parses a pattern with the urlpattern crate (rust/js/urlpattern.rs): each component
// comes back as its canonical pattern string, the source of its regular expression and its group
// names. Here those sources become RegExps with the standard's flags, and test() and exec() run
// them, so what a pattern matches is ECMAScript's regular expression semantics, as the standard
// says. A URL to match is parsed by web.js's URL parser; a URLPatternInit to match is
// canonicalised by the host, with the crate's rules.
//
// shim.c evaluates this after subtle.js, with web.js's helpers. Every built-in it calls comes from
// primordials.js, so a tenant that replaces RegExp.prototype.exec, JSON or Array methods cannot
// steer matching; result objects are built with defineProperty, so a group named `__proto__` or a
// setter on Object.prototype changes nothing.
(function (primordials, natives, web) {
  "use strict";

  const {
    JSONParse,
    JSONStringify,
    ObjectDefineProperty,
    RegExpCtor,
    RegExpPrototypeExec,
    TypeErrorCtor,
  } = primordials;
  const { urlPatternParse, urlPatternMatchInput } = natives;
  const { defineGlobal, defineTag, isObject, toDict, toUSV, urlPatternParts, markPlatformObject } = web;

  // The components, in the order the host's replies and web.urlPatternParts give them.
  const COMPONENTS = ["protocol", "username", "password", "hostname", "port", "pathname", "search", "hash"];
  // The standard compiles only these with the `ignoreCase` option (protocol, credentials, hostname
  // and port are case-normalised by canonicalisation instead).
  const IGNORES_CASE = [false, false, false, false, false, true, true, true];
  // URLPatternInit's members, in the order WebIDL reads a dictionary: lexicographic.
  const INIT_MEMBERS = [
    "baseURL", "hash", "hostname", "password", "pathname", "port", "protocol", "search", "username",
  ];

  function defineData(target, key, value) {
    ObjectDefineProperty(target, key, { __proto__: null, value, writable: true, enumerable: true, configurable: true });
  }

  // WebIDL's URLPatternInit: the members present, as well-formed strings, on an object with no
  // prototype (so JSON.stringify finds no tenant toJSON) that keeps WebIDL's order.
  function toInit(value) {
    const dict = toDict(value, "URLPattern");
    const init = { __proto__: null };
    for (let i = 0; i < INIT_MEMBERS.length; i++) {
      const member = dict[INIT_MEMBERS[i]];
      if (member !== undefined) init[INIT_MEMBERS[i]] = toUSV(member);
    }
    return init;
  }

  // WebIDL's (USVString or URLPatternInit): objects (and null, undefined) are dictionaries.
  const toInput = (value) => (value === undefined || value === null || isObject(value) ? toInit(value) : toUSV(value));

  // What exec() reports as one of its inputs: the string, or a fresh copy of the dictionary.
  function inputResult(input) {
    if (typeof input === "string") return input;
    const copy = {};
    for (let i = 0; i < INIT_MEMBERS.length; i++) {
      const member = input[INIT_MEMBERS[i]];
      if (member !== undefined) defineData(copy, INIT_MEMBERS[i], member);
    }
    return copy;
  }

  function compile(source, ignoreCase, component) {
    try {
      // "v": the standard's flags; QuickJS-ng has them (unicodeSets, as `[\d--0]` needs).
      return new RegExpCtor(source, ignoreCase ? "vi" : "v");
    } catch (error) {
      const why = error.message;
      throw new TypeErrorCtor(`URLPattern: the ${component} component is not a valid regular expression: ${why}`);
    }
  }

  class URLPattern {
    // Per component index: {pattern (the canonical pattern string), regExp, names (its groups')}.
    // Kept without prototypes, so no index setter a tenant puts on Array.prototype sees them.
    #components = { __proto__: null };
    #hasRegExpGroups = false;

    // WebIDL's two overloads: (input, baseURL, options) and (input, options), told apart by the
    // second argument when there are exactly two: a string (anything but an object, null or
    // undefined) is a base URL. The arguments are converted in order, as WebIDL does.
    constructor(input = undefined, baseURLOrOptions = undefined, options = undefined) {
      const pattern = toInput(input);
      const second = baseURLOrOptions;
      const hasBaseURL = arguments.length >= 3 || (arguments.length === 2 && !isObject(second) && second != null);
      const baseURL = hasBaseURL ? toUSV(second) : null;
      if (!hasBaseURL) options = second;
      const ignoreCase = !!toDict(options, "URLPattern").ignoreCase;
      const request = { __proto__: null, input: pattern, baseURL, ignoreCase };
      const parsed = JSONParse(urlPatternParse(JSONStringify(request)));
      for (let i = 0; i < COMPONENTS.length; i++) {
        const reply = parsed.components[i]; // [pattern, regular expression source, group names]
        const regExp = compile(reply[1], ignoreCase && IGNORES_CASE[i], COMPONENTS[i]);
        this.#components[i] = { __proto__: null, pattern: reply[0], regExp, names: reply[2] };
      }
      this.#hasRegExpGroups = parsed.hasRegExpGroups;
      markPlatformObject(this);
    }

    test(input = undefined, baseURL = undefined) {
      return this.#match(input, baseURL) !== null;
    }

    exec(input = undefined, baseURL = undefined) {
      return this.#match(input, baseURL);
    }

    get protocol() {
      return this.#components[0].pattern;
    }

    get username() {
      return this.#components[1].pattern;
    }

    get password() {
      return this.#components[2].pattern;
    }

    get hostname() {
      return this.#components[3].pattern;
    }

    get port() {
      return this.#components[4].pattern;
    }

    get pathname() {
      return this.#components[5].pattern;
    }

    get search() {
      return this.#components[6].pattern;
    }

    get hash() {
      return this.#components[7].pattern;
    }

    get hasRegExpGroups() {
      return this.#hasRegExpGroups;
    }

    // The standard's "match": a URLPatternResult, or null.
    #match(rawInput, rawBaseURL) {
      const input = toInput(rawInput);
      const baseURL = rawBaseURL === undefined ? undefined : toUSV(rawBaseURL);
      const inputs = [inputResult(input)];
      let parts;
      if (typeof input === "string") {
        if (baseURL !== undefined) defineData(inputs, 1, baseURL);
        parts = urlPatternParts(input, baseURL);
      } else {
        if (baseURL !== undefined) {
          throw new TypeErrorCtor("URLPattern: a base URL cannot be given with a URLPatternInit.");
        }
        parts = JSONParse(urlPatternMatchInput(JSONStringify(input)));
      }
      if (parts === null) return null;
      const result = { inputs };
      for (let i = 0; i < COMPONENTS.length; i++) {
        const component = this.#components[i];
        const found = RegExpPrototypeExec(component.regExp, parts[i]);
        if (found === null) return null;
        const names = component.names;
        const groups = {};
        for (let g = 0; g < names.length; g++) defineData(groups, names[g], found[g + 1]);
        defineData(result, COMPONENTS[i], { input: parts[i], groups });
      }
      return result;
    }
  }
  defineTag(URLPattern.prototype, "URLPattern");

  defineGlobal("URLPattern", URLPattern);
});
