// Intl as Workers have it (V8's ECMA-402): NumberFormat, DateTimeFormat, PluralRules, Collator,
// RelativeTimeFormat, getCanonicalLocales, and the toLocaleString family and localeCompare that
// use them. This file is ECMA-402's option handling: the order options are read in, their
// defaults, and the RangeError or TypeError each bad value gets. It resolves each object's
// options into a *spec* once, at construction; the host (rust/js/intl/, ICU4X and its compiled
// CLDR data) formats with the formatter a spec names, through one native,
// `intl(operation, ...fields)`. No locale data is in the guest. shim.c evaluates this after
// web.js.
//
// Internal slots live in this file's WeakMap. Reading the tenant's options object calls its
// getters, as the standard says; nothing else here touches a tenant-patchable method.
(function (primordials, natives, web) {
  "use strict";

  const {
    ObjectCreate,
    ObjectDefineProperty,
    ObjectFreeze,
    ArrayPrototypeIncludes: includes,
    ArrayPrototypeJoin: join,
    ArrayPrototypePush: push,
    StringCtor,
    StringPrototypeCharCodeAt: charCodeAt,
    StringPrototypeIndexOf: indexOf,
    StringPrototypeSlice: slice,
    NumberCtor,
    NumberIsFinite,
    NumberIsNaN,
    NumberPrototypeValueOf,
    BigIntPrototypeValueOf,
    BigIntCtor,
    DateCtor,
    DatePrototypeGetTime,
    MathFloor,
    MathMin,
    MathMax,
    MathTrunc,
    JSONParse,
    WeakMapCtor,
    WeakMapPrototypeGet: weakGet,
    WeakMapPrototypeSet: weakSet,
    MapCtor,
    MapPrototypeGet: mapGet,
    MapPrototypeSet: mapSet,
    MapPrototypeClear: mapClear,
    MapPrototypeGetSize: mapSize,
    DateNow,
    TypeErrorCtor,
    RangeErrorCtor,
    SymbolToStringTag,
  } = primordials;
  const { intl: host } = natives;
  const { defineGlobal, defineTag, defineMembers, asciiLower, asciiUpper, isObject } = web;

  const DEFAULT_TIME_ZONE = "UTC"; // Workers run in UTC

  // ---------------------------------------------------------------------------------------------
  // Options (ECMA-402 §9.2)

  function coerceOptions(options) {
    if (options === undefined) return ObjectCreate(null);
    if (options === null) throw new TypeErrorCtor("Cannot convert undefined or null to object");
    return options; // property reads on a primitive go to its wrapper, as ToObject's would
  }

  function getOption(options, property, values, fallback) {
    let value = options[property];
    if (value === undefined) return fallback;
    value = StringCtor(value);
    if (values !== null && !includes(values, value)) {
      throw new RangeErrorCtor(`Value ${value} out of range for Intl options property ${property}`);
    }
    return value;
  }

  function getBooleanOption(options, property, fallback) {
    const value = options[property];
    return value === undefined ? fallback : !!value;
  }

  function defaultNumberOption(value, property, minimum, maximum, fallback) {
    if (value === undefined) return fallback;
    value = NumberCtor(value);
    if (NumberIsNaN(value) || value < minimum || value > maximum) {
      throw new RangeErrorCtor(`${property} value is out of range.`);
    }
    return MathFloor(value);
  }

  const getNumberOption = (options, property, minimum, maximum, fallback) =>
    defaultNumberOption(options[property], property, minimum, maximum, fallback);

  // A Unicode `type` sequence: (3*8alphanum) *("-" (3*8alphanum)), as calendar and numberingSystem must be.
  function isTypeSequence(text) {
    let run = 0;
    for (let i = 0; i <= text.length; i++) {
      const c = i < text.length ? charCodeAt(text, i) : 45;
      if (c === 45) {
        if (run < 3 || run > 8) return false;
        run = 0;
      } else if ((c >= 48 && c <= 57) || (c >= 65 && c <= 90) || (c >= 97 && c <= 122)) {
        run++;
      } else {
        return false;
      }
    }
    return true;
  }

  // ---------------------------------------------------------------------------------------------
  // Locales (ECMA-402 §9.2.1, §9.2.7)

  const canonicalTags = new MapCtor(); // tag -> canonical tag, bounded
  const MAX_CACHED_TAGS = 512;

  function canonicalTag(tag) {
    let canonical = mapGet(canonicalTags, tag);
    if (canonical === undefined) {
      canonical = host("locale.canonical", tag);
      if (mapSize(canonicalTags) >= MAX_CACHED_TAGS) mapClear(canonicalTags);
      mapSet(canonicalTags, tag, canonical);
    }
    return canonical;
  }

  function canonicalizeLocaleList(locales) {
    const seen = [];
    if (locales === undefined) return seen;
    if (typeof locales === "string") {
      push(seen, canonicalTag(locales));
      return seen;
    }
    if (locales === null) throw new TypeErrorCtor("Cannot convert undefined or null to object");
    const length = MathMin(MathMax(MathTrunc(NumberCtor(locales.length)) || 0, 0), 2 ** 32 - 1);
    for (let k = 0; k < length; k++) {
      if (!(k in locales)) continue;
      const value = locales[k];
      if (typeof value !== "string" && !isObject(value)) {
        throw new TypeErrorCtor(`Language ID should be string or object.`);
      }
      const tag = canonicalTag(StringCtor(value));
      if (!includes(seen, tag)) push(seen, tag);
    }
    return seen;
  }

  // The tag without its Unicode extension, and the extension's keywords as [[key, value], ...].
  function splitUnicodeExtension(tag) {
    const at = indexOf(tag, "-u-");
    if (at < 0) return { base: tag, keywords: [] };
    let end = at + 3;
    const keywords = [];
    let key = null;
    let value = "";
    let rest = "";
    while (end <= tag.length) {
      let next = indexOf(tag, "-", end);
      if (next < 0) next = tag.length;
      const subtag = slice(tag, end, next);
      if (subtag.length === 1) {
        rest = slice(tag, end - 1); // another extension (-t-, -x-) follows
        break;
      }
      if (subtag.length === 2) {
        if (key !== null) push(keywords, [key, value === "" ? "true" : value]);
        key = subtag;
        value = "";
      } else if (key !== null) {
        value = value === "" ? subtag : `${value}-${subtag}`;
      }
      end = next + 1;
    }
    if (key !== null) push(keywords, [key, value === "" ? "true" : value]);
    return { base: slice(tag, 0, at) + rest, keywords };
  }

  function keywordValue(keywords, key) {
    for (let i = 0; i < keywords.length; i++) if (keywords[i][0] === key) return keywords[i][1];
    return undefined;
  }

  function withKeywords(base, keywords) {
    if (keywords.length === 0) return base;
    let tag = `${base}-u`;
    for (let i = 0; i < keywords.length; i++) {
      tag += `-${keywords[i][0]}`;
      if (keywords[i][1] !== "true") tag += `-${keywords[i][1]}`;
    }
    return tag;
  }

  // The keyword values each service takes (others are dropped, as an unsupported value is).
  const NUMBERING_SYSTEMS = [
    "arab", "arabext", "bali", "beng", "deva", "fullwide", "gujr", "guru", "hanidec", "khmr", "knda", "laoo",
    "latn", "limb", "mlym", "mong", "mymr", "orya", "tamldec", "telu", "thai", "tibt",
  ];
  const CALENDARS = [
    "buddhist", "chinese", "coptic", "dangi", "ethioaa", "ethiopic", "gregory", "hebrew", "indian", "islamic",
    "islamic-civil", "islamic-tbla", "islamic-umalqura", "iso8601", "japanese", "persian", "roc",
  ];
  const KEYWORD_VALUES = {
    __proto__: null,
    nu: NUMBERING_SYSTEMS,
    ca: CALENDARS,
    hc: ["h11", "h12", "h23", "h24"],
    kn: ["true", "false"],
    kf: ["upper", "lower", "false"],
    co: null, // any collation the locale has; ICU4X falls back to the standard one
  };

  // ResolveLocale: the locale with data, and each relevant keyword's value (an option given in
  // `overrides` wins over the tag's keyword, which then leaves the reported locale).
  function resolveLocale(requested, relevant, overrides) {
    const found = host("locale.resolve", join(requested, ","));
    const { base, keywords } = splitUnicodeExtension(found);
    const reported = [];
    const effective = [];
    const values = { __proto__: null };
    for (let i = 0; i < relevant.length; i++) {
      const key = relevant[i];
      const allowed = KEYWORD_VALUES[key];
      let value = keywordValue(keywords, key);
      if (value !== undefined && allowed !== null && !includes(allowed, value)) value = undefined;
      if (value !== undefined) push(reported, [key, value]);
      const override = overrides[key];
      if (override !== undefined && (allowed === null || includes(allowed, override))) {
        if (override !== value && value !== undefined) reported.length--;
        value = override;
      }
      if (value !== undefined) {
        push(effective, [key, value]);
        values[key] = value;
      }
    }
    return { locale: withKeywords(base, reported), dataLocale: withKeywords(base, effective), values };
  }

  function supportedLocalesOf(locales, options) {
    const requested = canonicalizeLocaleList(locales);
    getOption(coerceOptions(options), "localeMatcher", ["lookup", "best fit"], "best fit");
    const supported = [];
    for (let i = 0; i < requested.length; i++) {
      if (host("locale.supported", requested[i]) === "1") push(supported, requested[i]);
    }
    return supported;
  }

  // ---------------------------------------------------------------------------------------------
  // Shared machinery

  const slots = new WeakMapCtor(); // Intl object -> its record (kind, spec, resolved options)

  function slot(object, kind, method) {
    const record = isObject(object) ? weakGet(slots, object) : undefined;
    if (record === undefined || record.kind !== kind) {
      throw new TypeErrorCtor(`Method Intl.${kind}.prototype.${method} called on incompatible receiver`);
    }
    return record;
  }

  // A constructor callable with or without `new`, as ECMA-402's legacy constructors are.
  function construct(newTarget, proto) {
    return newTarget === undefined ? ObjectCreate(proto) : undefined;
  }

  // `service;locale=...;key=value...` from [key, value, key, value, ...] lists (undefined
  // values left out).
  function specOf(service, dataLocale, entries, more = []) {
    return withEntries(withEntries(`${service};locale=${dataLocale}`, entries), more);
  }

  function withEntries(spec, entries) {
    for (let i = 0; i < entries.length; i += 2) {
      if (entries[i + 1] !== undefined) spec += `;${entries[i]}=${entries[i + 1]}`;
    }
    return spec;
  }

  function toParts(json, extra) {
    const list = JSONParse(json);
    const parts = [];
    for (let i = 0; i < list.length; i++) {
      const part = { type: list[i][0], value: list[i][1] };
      if (extra !== undefined && part.type !== "literal") part.unit = extra;
      push(parts, part);
    }
    return parts;
  }

  // The decimal string the host parses: ECMA-402's ToIntlMathematicalValue, keeping a string's
  // exact digits and a BigInt's.
  function mathematicalValue(value) {
    if (typeof value === "bigint") return `${value}`;
    if (typeof value === "string") return value;
    const x = NumberCtor(value);
    return x === 0 && 1 / x < 0 ? "-0" : `${x}`;
  }

  // The numbering system a spec's digits are written in (resolvedOptions), read off a zero.
  const ZEROS = { __proto__: null, 0x660: "arab", 0x6f0: "arabext", 0x966: "deva", 0x9e6: "beng", 0xe50: "thai" };
  const numberingSystemOf = (spec) => ZEROS[charCodeAt(host("nf.format", spec, "0"), 0)] || "latn";

  // ---------------------------------------------------------------------------------------------
  // Digit options (ECMA-402 §15.1.3 SetNumberFormatDigitOptions)

  const ROUNDING_INCREMENTS = [1, 2, 5, 10, 20, 25, 50, 100, 200, 250, 500, 1000, 2000, 2500, 5000];
  const ROUNDING_MODES = ["ceil", "floor", "expand", "trunc", "halfCeil", "halfFloor", "halfExpand", "halfTrunc",
    "halfEven"];

  function digitOptions(options, mnfdDefault, mxfdDefault, notation) {
    const r = { __proto__: null };
    r.minimumIntegerDigits = getNumberOption(options, "minimumIntegerDigits", 1, 21, 1);
    let mnfd = options.minimumFractionDigits;
    let mxfd = options.maximumFractionDigits;
    let mnsd = options.minimumSignificantDigits;
    let mxsd = options.maximumSignificantDigits;
    r.roundingIncrement = getNumberOption(options, "roundingIncrement", 1, 5000, 1);
    if (!includes(ROUNDING_INCREMENTS, r.roundingIncrement)) {
      throw new RangeErrorCtor("roundingIncrement value is out of range.");
    }
    r.roundingMode = getOption(options, "roundingMode", ROUNDING_MODES, "halfExpand");
    const priority = getOption(options, "roundingPriority", ["auto", "morePrecision", "lessPrecision"], "auto");
    r.trailingZeroDisplay = getOption(options, "trailingZeroDisplay", ["auto", "stripIfInteger"], "auto");
    if (r.roundingIncrement !== 1) mxfdDefault = mnfdDefault;
    const hasSd = mnsd !== undefined || mxsd !== undefined;
    const hasFd = mnfd !== undefined || mxfd !== undefined;
    let needSd = true;
    let needFd = true;
    if (priority === "auto") {
      needSd = hasSd;
      if (needSd || (!hasFd && notation === "compact")) needFd = false;
    }
    if (needSd) {
      if (hasSd) {
        mnsd = defaultNumberOption(mnsd, "minimumSignificantDigits", 1, 21, 1);
        mxsd = defaultNumberOption(mxsd, "maximumSignificantDigits", mnsd, 21, 21);
      } else {
        mnsd = 1;
        mxsd = 21;
      }
      r.minimumSignificantDigits = mnsd;
      r.maximumSignificantDigits = mxsd;
    }
    if (needFd) {
      if (hasFd) {
        mnfd = defaultNumberOption(mnfd, "minimumFractionDigits", 0, 100, undefined);
        mxfd = defaultNumberOption(mxfd, "maximumFractionDigits", 0, 100, undefined);
        if (mnfd === undefined) mnfd = MathMin(mnfdDefault, mxfd);
        else if (mxfd === undefined) mxfd = MathMax(mxfdDefault, mnfd);
        else if (mnfd > mxfd) throw new RangeErrorCtor("maximumFractionDigits value is out of range.");
      } else {
        mnfd = mnfdDefault;
        mxfd = mxfdDefault;
      }
      r.minimumFractionDigits = mnfd;
      r.maximumFractionDigits = mxfd;
    }
    if (!needSd && !needFd) {
      r.minimumFractionDigits = 0;
      r.maximumFractionDigits = 0;
      r.minimumSignificantDigits = 1;
      r.maximumSignificantDigits = 2;
      r.roundingType = "more";
      r.roundingPriority = "morePrecision";
    } else if (priority === "auto") {
      r.roundingType = needSd ? "sd" : "fd";
      r.roundingPriority = "auto";
    } else {
      r.roundingType = priority === "morePrecision" ? "more" : "less";
      r.roundingPriority = priority;
    }
    if (r.roundingIncrement !== 1) {
      if (r.roundingType !== "fd") {
        throw new TypeErrorCtor("roundingIncrement is only allowed with fraction digits rounding");
      }
      if (r.maximumFractionDigits !== r.minimumFractionDigits) {
        throw new RangeErrorCtor("maximumFractionDigits must equal minimumFractionDigits with roundingIncrement");
      }
    }
    return r;
  }

  const digitSpec = (r) => [
    "minInt", r.minimumIntegerDigits, "minFD", r.minimumFractionDigits, "maxFD", r.maximumFractionDigits,
    "minSD", r.minimumSignificantDigits, "maxSD", r.maximumSignificantDigits, "roundingType", r.roundingType,
    "roundingIncrement", r.roundingIncrement, "roundingMode", r.roundingMode,
    "trailingZeroDisplay", r.trailingZeroDisplay,
  ];

  function copyDigitOptions(from, to) {
    to.minimumIntegerDigits = from.minimumIntegerDigits;
    if (from.minimumFractionDigits !== undefined) {
      to.minimumFractionDigits = from.minimumFractionDigits;
      to.maximumFractionDigits = from.maximumFractionDigits;
    }
    if (from.minimumSignificantDigits !== undefined) {
      to.minimumSignificantDigits = from.minimumSignificantDigits;
      to.maximumSignificantDigits = from.maximumSignificantDigits;
    }
  }

  // ISO 4217 minor units where they are not 2 (ECMA-402's CurrencyDigits).
  const CURRENCY_DIGITS = {
    __proto__: null,
    BHD: 3, BIF: 0, CLF: 4, CLP: 0, DJF: 0, GNF: 0, IQD: 3, ISK: 0, JOD: 3, JPY: 0, KMF: 0, KRW: 0, KWD: 3, LYD: 3,
    OMR: 3, PYG: 0, RWF: 0, TND: 3, UGX: 0, UYI: 0, UYW: 4, VND: 0, VUV: 0, XAF: 0, XOF: 0, XPF: 0,
  };

  function isWellFormedCurrency(code) {
    if (code.length !== 3) return false;
    for (let i = 0; i < 3; i++) {
      const c = charCodeAt(code, i) | 0x20;
      if (c < 97 || c > 122) return false;
    }
    return true;
  }

  // ---------------------------------------------------------------------------------------------
  // Intl.NumberFormat (ECMA-402 §15)

  function NumberFormat(locales, options) {
    const self = construct(new.target, NumberFormat.prototype) || this;
    const requested = canonicalizeLocaleList(locales);
    options = coerceOptions(options);
    getOption(options, "localeMatcher", ["lookup", "best fit"], "best fit");
    const nu = getOption(options, "numberingSystem", null, undefined);
    if (nu !== undefined && !isTypeSequence(nu)) throw new RangeErrorCtor(`Invalid numberingSystem : ${nu}`);
    const { locale, dataLocale } = resolveLocale(requested, ["nu"], { nu });
    const r = { __proto__: null, locale };
    r.style = getOption(options, "style", ["decimal", "percent", "currency", "unit"], "decimal");
    let currency = getOption(options, "currency", null, undefined);
    if (currency !== undefined) {
      if (!isWellFormedCurrency(currency)) throw new RangeErrorCtor(`Invalid currency code : ${currency}`);
      currency = asciiUpper(currency);
    }
    const currencyDisplay = getOption(options, "currencyDisplay", ["code", "symbol", "narrowSymbol", "name"], "symbol");
    const currencySign = getOption(options, "currencySign", ["standard", "accounting"], "standard");
    const unit = getOption(options, "unit", null, undefined);
    getOption(options, "unitDisplay", ["short", "narrow", "long"], "short");
    if (r.style === "currency") {
      if (currency === undefined) throw new TypeErrorCtor("Currency code is required with currency style.");
      r.currency = currency;
      r.currencyDisplay = currencyDisplay;
      r.currencySign = currencySign;
    }
    if (r.style === "unit") {
      if (unit === undefined) throw new TypeErrorCtor("Unit is required with unit style.");
      throw new RangeErrorCtor(`Intl.NumberFormat: style "unit" is not supported here (unit ${unit})`);
    }
    r.notation = getOption(options, "notation", ["standard", "scientific", "engineering", "compact"], "standard");
    let mnfdDefault = 0;
    let mxfdDefault = r.style === "percent" ? 0 : 3;
    if (r.style === "currency" && r.notation === "standard") {
      const digits = CURRENCY_DIGITS[currency];
      mnfdDefault = mxfdDefault = digits === undefined ? 2 : digits;
    }
    const digits = digitOptions(options, mnfdDefault, mxfdDefault, r.notation);
    const compactDisplay = getOption(options, "compactDisplay", ["short", "long"], "short");
    if (r.notation === "compact") r.compactDisplay = compactDisplay;
    r.useGrouping = groupingOption(options, r.notation === "compact" ? "min2" : "auto");
    r.signDisplay = getOption(options, "signDisplay", ["auto", "never", "always", "exceptZero", "negative"], "auto");
    r.digits = digits;
    const spec = specOf("nf", dataLocale, [
      "style", r.style, "currency", r.currency, "currencyDisplay", r.currencyDisplay, "currencySign", r.currencySign,
      "notation", r.notation, "compactDisplay", r.compactDisplay, "useGrouping", `${r.useGrouping}`,
      "signDisplay", r.signDisplay,
    ], digitSpec(digits));
    host("nf.format", spec, "0"); // a spec the host refuses fails here, in the constructor
    weakSet(slots, self, { kind: "NumberFormat", spec, resolved: r, boundFormat: undefined });
    return self;
  }

  function groupingOption(options, fallback) {
    const value = options.useGrouping;
    if (value === undefined) return fallback;
    if (value === true) return "always";
    if (!value) return false;
    const text = StringCtor(value);
    if (text === "true" || text === "false") return fallback;
    if (!includes(["min2", "auto", "always"], text)) {
      throw new RangeErrorCtor(`Value ${text} out of range for Intl.NumberFormat options property useGrouping`);
    }
    return text;
  }

  const formatNumber = (record, value) => host("nf.format", record.spec, mathematicalValue(value));

  defineMembers(NumberFormat.prototype, {
    get format() {
      const record = slot(this, "NumberFormat", "format");
      if (record.boundFormat === undefined) record.boundFormat = (value) => formatNumber(record, value);
      return record.boundFormat;
    },
    formatToParts(value) {
      const record = slot(this, "NumberFormat", "formatToParts");
      return toParts(host("nf.parts", record.spec, mathematicalValue(value)));
    },
    resolvedOptions() {
      const r = slot(this, "NumberFormat", "resolvedOptions").resolved;
      const spec = slot(this, "NumberFormat", "resolvedOptions").spec;
      const out = { locale: r.locale, numberingSystem: numberingSystemOf(spec), style: r.style };
      if (r.style === "currency") {
        out.currency = r.currency;
        out.currencyDisplay = r.currencyDisplay;
        out.currencySign = r.currencySign;
      }
      copyDigitOptions(r.digits, out);
      out.useGrouping = r.useGrouping;
      out.notation = r.notation;
      if (r.compactDisplay !== undefined) out.compactDisplay = r.compactDisplay;
      out.signDisplay = r.signDisplay;
      out.roundingIncrement = r.digits.roundingIncrement;
      out.roundingMode = r.digits.roundingMode;
      out.roundingPriority = r.digits.roundingPriority;
      out.trailingZeroDisplay = r.digits.trailingZeroDisplay;
      return out;
    },
  });
  defineTag(NumberFormat.prototype, "Intl.NumberFormat");

  // ---------------------------------------------------------------------------------------------
  // Intl.PluralRules (ECMA-402 §16)

  function PluralRules(locales, options) {
    if (new.target === undefined) throw new TypeErrorCtor("Constructor Intl.PluralRules requires 'new'");
    const requested = canonicalizeLocaleList(locales);
    options = coerceOptions(options);
    getOption(options, "localeMatcher", ["lookup", "best fit"], "best fit");
    const type = getOption(options, "type", ["cardinal", "ordinal"], "cardinal");
    const digits = digitOptions(options, 0, 3, "standard");
    const { locale, dataLocale } = resolveLocale(requested, [], {});
    const spec = specOf("pr", dataLocale, ["type", type], digitSpec(digits));
    weakSet(slots, this, { kind: "PluralRules", spec, resolved: { locale, type, digits } });
  }

  defineMembers(PluralRules.prototype, {
    select(value) {
      const record = slot(this, "PluralRules", "select");
      return host("pr.select", record.spec, mathematicalValue(NumberCtor(value)));
    },
    resolvedOptions() {
      const record = slot(this, "PluralRules", "resolvedOptions");
      const r = record.resolved;
      const out = { locale: r.locale, type: r.type };
      copyDigitOptions(r.digits, out);
      const names = host("pr.categories", record.spec);
      const categories = [];
      let at = 0;
      while (at <= names.length) {
        let next = indexOf(names, ",", at);
        if (next < 0) next = names.length;
        push(categories, slice(names, at, next));
        at = next + 1;
      }
      out.pluralCategories = categories;
      out.roundingIncrement = r.digits.roundingIncrement;
      out.roundingMode = r.digits.roundingMode;
      out.roundingPriority = r.digits.roundingPriority;
      out.trailingZeroDisplay = r.digits.trailingZeroDisplay;
      return out;
    },
  });
  defineTag(PluralRules.prototype, "Intl.PluralRules");

  // ---------------------------------------------------------------------------------------------
  // Intl.Collator (ECMA-402 §10)

  function Collator(locales, options) {
    const self = construct(new.target, Collator.prototype) || this;
    const requested = canonicalizeLocaleList(locales);
    options = coerceOptions(options);
    const usage = getOption(options, "usage", ["sort", "search"], "sort");
    getOption(options, "localeMatcher", ["lookup", "best fit"], "best fit");
    const collation = getOption(options, "collation", null, undefined);
    if (collation !== undefined && !isTypeSequence(collation)) {
      throw new RangeErrorCtor(`Invalid collation : ${collation}`);
    }
    const numeric = getBooleanOption(options, "numeric", undefined);
    const caseFirst = getOption(options, "caseFirst", ["upper", "lower", "false"], undefined);
    const overrides = {
      co: collation === "standard" || collation === "search" ? undefined : collation,
      kn: numeric === undefined ? undefined : `${numeric}`,
      kf: caseFirst,
    };
    const { locale, dataLocale, values } = resolveLocale(requested, ["co", "kf", "kn"], overrides);
    const sensitivity = getOption(options, "sensitivity", ["base", "accent", "case", "variant"], "variant");
    const ignorePunctuation = getBooleanOption(options, "ignorePunctuation", false);
    const spec = specOf("coll", dataLocale, [
      "usage", usage, "sensitivity", sensitivity, "ignorePunctuation", ignorePunctuation ? "true" : undefined,
    ]);
    const resolved = {
      locale, usage, sensitivity, ignorePunctuation,
      collation: values.co || "default", numeric: values.kn === "true", caseFirst: values.kf || "false",
    };
    weakSet(slots, self, { kind: "Collator", spec, resolved, boundCompare: undefined });
    return self;
  }

  const compareStrings = (record, a, b) => NumberCtor(host("coll.compare", record.spec, `${a}`, `${b}`));

  defineMembers(Collator.prototype, {
    get compare() {
      const record = slot(this, "Collator", "compare");
      if (record.boundCompare === undefined) record.boundCompare = (a, b) => compareStrings(record, a, b);
      return record.boundCompare;
    },
    resolvedOptions() {
      const r = slot(this, "Collator", "resolvedOptions").resolved;
      return {
        locale: r.locale, usage: r.usage, sensitivity: r.sensitivity, ignorePunctuation: r.ignorePunctuation,
        collation: r.collation, numeric: r.numeric, caseFirst: r.caseFirst,
      };
    },
  });
  defineTag(Collator.prototype, "Intl.Collator");

  // ---------------------------------------------------------------------------------------------
  // Intl.RelativeTimeFormat (ECMA-402 §17)

  const RELATIVE_UNITS = ["second", "minute", "hour", "day", "week", "month", "quarter", "year"];

  function RelativeTimeFormat(locales, options) {
    if (new.target === undefined) throw new TypeErrorCtor("Constructor Intl.RelativeTimeFormat requires 'new'");
    const requested = canonicalizeLocaleList(locales);
    options = coerceOptions(options);
    getOption(options, "localeMatcher", ["lookup", "best fit"], "best fit");
    const nu = getOption(options, "numberingSystem", null, undefined);
    if (nu !== undefined && !isTypeSequence(nu)) throw new RangeErrorCtor(`Invalid numberingSystem : ${nu}`);
    const { locale, dataLocale } = resolveLocale(requested, ["nu"], { nu });
    const style = getOption(options, "style", ["long", "short", "narrow"], "long");
    const numeric = getOption(options, "numeric", ["always", "auto"], "always");
    const spec = specOf("rtf", dataLocale, ["style", style, "numeric", numeric]);
    weakSet(slots, this, { kind: "RelativeTimeFormat", spec, resolved: { locale, style, numeric, dataLocale } });
  }

  function relativeArgs(value, unit) {
    const x = NumberCtor(value);
    if (!NumberIsFinite(x)) throw new RangeErrorCtor("Invalid number value");
    let singular = `${unit}`;
    if (singular.length > 1 && charCodeAt(singular, singular.length - 1) === 115) {
      const stem = slice(singular, 0, singular.length - 1);
      if (includes(RELATIVE_UNITS, stem)) singular = stem;
    }
    if (!includes(RELATIVE_UNITS, singular)) throw new RangeErrorCtor(`Invalid unit argument for format() '${unit}'`);
    return [mathematicalValue(x), singular];
  }

  defineMembers(RelativeTimeFormat.prototype, {
    format(value, unit) {
      const record = slot(this, "RelativeTimeFormat", "format");
      const args = relativeArgs(value, unit);
      return host("rtf.format", record.spec, args[0], args[1]);
    },
    formatToParts(value, unit) {
      const record = slot(this, "RelativeTimeFormat", "formatToParts");
      const args = relativeArgs(value, unit);
      return toParts(host("rtf.parts", record.spec, args[0], args[1]), args[1]);
    },
    resolvedOptions() {
      const r = slot(this, "RelativeTimeFormat", "resolvedOptions").resolved;
      const numberingSystem = numberingSystemOf(`nf;locale=${r.dataLocale}`);
      return { locale: r.locale, style: r.style, numeric: r.numeric, numberingSystem };
    },
  });
  defineTag(RelativeTimeFormat.prototype, "Intl.RelativeTimeFormat");

  // ---------------------------------------------------------------------------------------------
  // Intl.DateTimeFormat (ECMA-402 §11)

  // The component options in the order they are read, with their values.
  const TEXT = ["narrow", "short", "long"];
  const NUMERIC = ["2-digit", "numeric"];
  const COMPONENTS = [
    ["weekday", TEXT], ["era", TEXT], ["year", NUMERIC], ["month", ["2-digit", "numeric", "narrow", "short", "long"]],
    ["day", NUMERIC], ["dayPeriod", TEXT], ["hour", NUMERIC], ["minute", NUMERIC], ["second", NUMERIC],
    ["fractionalSecondDigits", null],
    ["timeZoneName", ["short", "long", "shortOffset", "longOffset", "shortGeneric", "longGeneric"]],
  ];
  const STYLES = ["full", "long", "medium", "short"];

  // `required` is "date", "time" or "any"; `defaults` "date", "time" or "all" (ECMA-402's
  // CreateDateTimeFormat, which toLocaleDateString and its kin call with their own).
  function createDateTimeFormat(self, locales, options, required, defaults) {
    const requested = canonicalizeLocaleList(locales);
    options = coerceOptions(options);
    getOption(options, "localeMatcher", ["lookup", "best fit"], "best fit");
    const ca = getOption(options, "calendar", null, undefined);
    if (ca !== undefined && !isTypeSequence(ca)) throw new RangeErrorCtor(`Invalid calendar : ${ca}`);
    const nu = getOption(options, "numberingSystem", null, undefined);
    if (nu !== undefined && !isTypeSequence(nu)) throw new RangeErrorCtor(`Invalid numberingSystem : ${nu}`);
    const hour12 = getBooleanOption(options, "hour12", undefined);
    let hc = getOption(options, "hourCycle", ["h11", "h12", "h23", "h24"], undefined);
    if (hour12 !== undefined) hc = undefined;
    let timeZone = options.timeZone;
    timeZone = timeZone === undefined ? DEFAULT_TIME_ZONE : host("tz.canonical", `${timeZone}`);
    const { locale, dataLocale, values } = resolveLocale(requested, ["ca", "hc", "nu"], {
      ca: ca === undefined ? undefined : asciiLower(ca),
      hc,
      nu: nu === undefined ? undefined : asciiLower(nu),
    });
    const fields = { __proto__: null };
    let hasComponent = false;
    for (let i = 0; i < COMPONENTS.length; i++) {
      const name = COMPONENTS[i][0];
      const value = name === "fractionalSecondDigits"
        ? getNumberOption(options, name, 1, 3, undefined)
        : getOption(options, name, COMPONENTS[i][1], undefined);
      if (value !== undefined) {
        fields[name] = value;
        hasComponent = true;
      }
    }
    getOption(options, "formatMatcher", ["basic", "best fit"], "best fit");
    const dateStyle = getOption(options, "dateStyle", STYLES, undefined);
    const timeStyle = getOption(options, "timeStyle", STYLES, undefined);
    if (dateStyle !== undefined || timeStyle !== undefined) {
      if (hasComponent) {
        throw new TypeErrorCtor("Can't set option dateStyle or timeStyle together with date or time components");
      }
      if (required === "date" && timeStyle !== undefined) throw new TypeErrorCtor("Invalid option : timeStyle");
      if (required === "time" && dateStyle !== undefined) throw new TypeErrorCtor("Invalid option : dateStyle");
    } else {
      let needDefaults = true;
      if (required === "date" || required === "any") {
        if (fields.weekday || fields.year || fields.month || fields.day) needDefaults = false;
      }
      if (required === "time" || required === "any") {
        if (fields.dayPeriod || fields.hour || fields.minute || fields.second || fields.fractionalSecondDigits) {
          needDefaults = false;
        }
      }
      if (needDefaults && (defaults === "date" || defaults === "all")) {
        fields.year = fields.month = fields.day = "numeric";
      }
      if (needDefaults && (defaults === "time" || defaults === "all")) {
        fields.hour = fields.minute = fields.second = "numeric";
      }
    }
    const spec = specOf("dtf", dataLocale, [
      "tz", timeZone, "dateStyle", dateStyle, "timeStyle", timeStyle,
      "weekday", fields.weekday, "era", fields.era, "year", fields.year, "month", fields.month, "day", fields.day,
      "dayPeriod", fields.dayPeriod, "hour", fields.hour, "minute", fields.minute, "second", fields.second,
      "fsd", fields.fractionalSecondDigits, "tzn", fields.timeZoneName,
      "hour12", hour12 === undefined ? undefined : `${hour12}`, "hc", values.hc,
    ]);
    const showsHour = fields.hour !== undefined || timeStyle !== undefined;
    let hourCycle;
    if (showsHour) hourCycle = hour12 === undefined ? host("dtf.hourcycle", spec) : hour12 ? "h12" : "h23";
    const resolved = {
      locale, calendar: values.ca || "gregory", dataLocale, timeZone, hourCycle, fields, dateStyle, timeStyle,
    };
    weakSet(slots, self, { kind: "DateTimeFormat", spec, resolved, boundFormat: undefined });
    return self;
  }

  function DateTimeFormat(locales, options) {
    const self = construct(new.target, DateTimeFormat.prototype) || this;
    return createDateTimeFormat(self, locales, options, "any", "date");
  }

  // The time value the host formats: now for undefined, else ToNumber and TimeClip.
  function timeValue(date) {
    const x = date === undefined ? DateNow() : NumberCtor(date);
    if (!NumberIsFinite(x) || x > 8.64e15 || x < -8.64e15) throw new RangeErrorCtor("Invalid time value");
    return `${MathTrunc(x) + 0}`;
  }

  const formatDate = (record, date) => host("dtf.format", record.spec, timeValue(date));

  defineMembers(DateTimeFormat.prototype, {
    get format() {
      const record = slot(this, "DateTimeFormat", "format");
      if (record.boundFormat === undefined) record.boundFormat = (date) => formatDate(record, date);
      return record.boundFormat;
    },
    formatToParts(date) {
      const record = slot(this, "DateTimeFormat", "formatToParts");
      return toParts(host("dtf.parts", record.spec, timeValue(date)));
    },
    resolvedOptions() {
      const r = slot(this, "DateTimeFormat", "resolvedOptions").resolved;
      const out = {
        locale: r.locale, calendar: r.calendar, numberingSystem: numberingSystemOf(`nf;locale=${r.dataLocale}`),
        timeZone: r.timeZone,
      };
      if (r.hourCycle !== undefined && r.hourCycle !== "") {
        out.hourCycle = r.hourCycle;
        out.hour12 = r.hourCycle === "h11" || r.hourCycle === "h12";
      }
      for (let i = 0; i < COMPONENTS.length; i++) {
        const name = COMPONENTS[i][0];
        if (r.fields[name] !== undefined) out[name] = r.fields[name];
      }
      if (r.dateStyle !== undefined) out.dateStyle = r.dateStyle;
      if (r.timeStyle !== undefined) out.timeStyle = r.timeStyle;
      return out;
    },
  });
  defineTag(DateTimeFormat.prototype, "Intl.DateTimeFormat");

  // ---------------------------------------------------------------------------------------------
  // The Intl object, and the built-ins' locale methods

  // Runs once, in js_init, before any tenant code could change an iterator.
  for (const [name, ctor] of [["NumberFormat", NumberFormat], ["PluralRules", PluralRules], ["Collator", Collator],
    ["RelativeTimeFormat", RelativeTimeFormat], ["DateTimeFormat", DateTimeFormat]]) {
    ObjectDefineProperty(ctor, "prototype", { __proto__: null, writable: false, enumerable: false, configurable: false });
    ObjectDefineProperty(ctor, "name", { __proto__: null, value: name, configurable: true });
    defineMembers(ctor, { supportedLocalesOf: (locales, options) => supportedLocalesOf(locales, options) });
  }

  const Intl = {};
  defineMembers(Intl, {
    getCanonicalLocales: (locales) => canonicalizeLocaleList(locales),
    supportedValuesOf(key) {
      const lists = { __proto__: null, calendar: CALENDARS, numberingSystem: NUMBERING_SYSTEMS };
      const list = lists[`${key}`];
      if (list === undefined) throw new RangeErrorCtor(`Invalid key : ${key}`);
      const out = [];
      for (let i = 0; i < list.length; i++) push(out, list[i]);
      return out;
    },
    NumberFormat, PluralRules, Collator, RelativeTimeFormat, DateTimeFormat,
  });
  defineTag(Intl, "Intl");
  defineGlobal("Intl", Intl);

  // The formatters of calls that name no locale and no options, made once each.
  const defaults = { __proto__: null };
  function defaultOr(key, locales, options, make) {
    if (locales !== undefined || options !== undefined) return make();
    if (defaults[key] === undefined) defaults[key] = make();
    return defaults[key];
  }
  const recordOf = (object) => weakGet(slots, object);

  const localeMethods = (proto, members) => defineMembers(proto, members);
  localeMethods(NumberCtor.prototype, {
    toLocaleString(locales, options) {
      const x = NumberPrototypeValueOf(this);
      const format = defaultOr("number", locales, options, () => new NumberFormat(locales, options));
      return formatNumber(recordOf(format), x);
    },
  });
  localeMethods(BigIntCtor.prototype, {
    toLocaleString(locales, options) {
      const x = BigIntPrototypeValueOf(this);
      const format = defaultOr("number", locales, options, () => new NumberFormat(locales, options));
      return formatNumber(recordOf(format), x);
    },
  });
  localeMethods(StringCtor.prototype, {
    localeCompare(that, locales, options) {
      if (this === undefined || this === null) {
        throw new TypeErrorCtor("String.prototype.localeCompare called on null or undefined");
      }
      const collator = defaultOr("collator", locales, options, () => new Collator(locales, options));
      return compareStrings(recordOf(collator), `${this}`, `${that}`);
    },
  });
  function dateMethod(key, required, defaultsKind) {
    return function (locales, options) {
      const t = DatePrototypeGetTime(this);
      if (NumberIsNaN(t)) return "Invalid Date";
      const format = defaultOr(key, locales, options, () =>
        createDateTimeFormat(ObjectCreate(DateTimeFormat.prototype), locales, options, required, defaultsKind));
      return formatDate(recordOf(format), t);
    };
  }
  localeMethods(DateCtor.prototype, {
    toLocaleString: dateMethod("dateTime", "any", "all"),
    toLocaleDateString: dateMethod("date", "date", "date"),
    toLocaleTimeString: dateMethod("time", "time", "time"),
  });
  ObjectFreeze(KEYWORD_VALUES);
});
