// Events and abort as Workers have them: the DOM standard's Event, CustomEvent, EventTarget,
// AbortController and AbortSignal, without a document tree (an event's path is its target alone,
// so there is no capture or bubble phase beyond the target's own listeners). shim.c evaluates
// this before web.js, which uses AbortSignal for `request.signal`; the function defines the
// globals and returns the hooks web.js and glue.js use (a signal's state, timers for
// AbortSignal.timeout, where a listener's exception is reported).
//
// As in web.js, every built-in called here comes from primordials.js, and each object's state
// lives in a WeakMap, out of the tenant's reach.
(function (primordials) {
  "use strict";

  const {
    ReflectApply,
    ObjectCreate,
    ObjectDefineProperty,
    ObjectFreeze,
    WeakMapCtor,
    WeakMapPrototypeGet,
    WeakMapPrototypeSet,
    MapCtor,
    MapPrototypeGet,
    MapPrototypeSet,
    NumberCtor,
    NumberIsFinite,
    MathTrunc,
    DateNow,
    TypeErrorCtor,
    DOMExceptionCtor,
    SymbolIterator,
    SymbolToStringTag,
  } = primordials;

  const NONE = 0;
  const CAPTURING_PHASE = 1;
  const AT_TARGET = 2;
  const BUBBLING_PHASE = 3;

  const hooks = { setTimer: null, report: null };

  // Primordials are uncurried: the receiver comes first.
  const weakGet = WeakMapPrototypeGet;
  const weakSet = WeakMapPrototypeSet;
  const mapGet = MapPrototypeGet;
  const mapSet = MapPrototypeSet;
  const isObject = (x) => (typeof x === "object" && x !== null) || typeof x === "function";

  function defineConstants(target) {
    const constants = [["NONE", NONE], ["CAPTURING_PHASE", CAPTURING_PHASE], ["AT_TARGET", AT_TARGET], ["BUBBLING_PHASE", BUBBLING_PHASE]];
    for (let i = 0; i < constants.length; i++) {
      ObjectDefineProperty(target, constants[i][0], { value: constants[i][1], enumerable: true });
    }
  }

  function defineTag(proto, tag) {
    ObjectDefineProperty(proto, SymbolToStringTag, { value: tag, configurable: true });
  }

  function illegal(what) {
    return new TypeErrorCtor(`Illegal invocation: this is not ${what}`);
  }

  // ---- Event ----

  const events = new WeakMapCtor(); // Event -> its state

  function eventState(event) {
    const state = isObject(event) ? weakGet(events, event) : undefined;
    if (state === undefined) throw illegal("an Event");
    return state;
  }

  // WebIDL boolean members of EventInit, read in the dictionary's order.
  function readEventInit(init) {
    if (init === undefined || init === null) return { bubbles: false, cancelable: false, composed: false };
    if (!isObject(init)) throw new TypeErrorCtor("The event init must be an object.");
    const bubbles = !!init.bubbles;
    const cancelable = !!init.cancelable;
    const composed = !!init.composed;
    return { bubbles, cancelable, composed };
  }

  class Event {
    constructor(type, eventInitDict = undefined) {
      if (arguments.length < 1) throw new TypeErrorCtor("Failed to construct 'Event': 1 argument required.");
      const name = `${type}`;
      const init = readEventInit(eventInitDict);
      weakSet(events, this, {
        type: name,
        bubbles: init.bubbles,
        cancelable: init.cancelable,
        composed: init.composed,
        isTrusted: false,
        initialized: true,
        dispatching: false,
        target: null,
        currentTarget: null,
        phase: NONE,
        canceled: false,
        stop: false,
        stopImmediate: false,
        inPassiveListener: false,
        timeStamp: DateNow(),
      });
      // [LegacyUnforgeable]: an own accessor of each event, the same getter for all.
      ObjectDefineProperty(this, "isTrusted", { get: isTrustedGetter, enumerable: true, configurable: false });
    }

    get type() {
      return eventState(this).type;
    }

    get target() {
      return eventState(this).target;
    }

    get srcElement() {
      return eventState(this).target;
    }

    get currentTarget() {
      return eventState(this).currentTarget;
    }

    composedPath() {
      const state = eventState(this);
      return state.dispatching && state.currentTarget !== null ? [state.currentTarget] : [];
    }

    get eventPhase() {
      return eventState(this).phase;
    }

    stopPropagation() {
      eventState(this).stop = true;
    }

    get cancelBubble() {
      return eventState(this).stop;
    }

    set cancelBubble(value) {
      if (value) eventState(this).stop = true;
    }

    stopImmediatePropagation() {
      const state = eventState(this);
      state.stop = true;
      state.stopImmediate = true;
    }

    get bubbles() {
      return eventState(this).bubbles;
    }

    get cancelable() {
      return eventState(this).cancelable;
    }

    get returnValue() {
      return !eventState(this).canceled;
    }

    set returnValue(value) {
      if (!value) cancel(eventState(this));
    }

    preventDefault() {
      cancel(eventState(this));
    }

    get defaultPrevented() {
      return eventState(this).canceled;
    }

    get composed() {
      return eventState(this).composed;
    }

    get timeStamp() {
      return eventState(this).timeStamp;
    }

    initEvent(type, bubbles = false, cancelable = false) {
      if (arguments.length < 1) throw new TypeErrorCtor("Failed to execute 'initEvent': 1 argument required.");
      const state = eventState(this);
      if (state.dispatching) return;
      state.initialized = true;
      state.stop = state.stopImmediate = state.canceled = false;
      state.isTrusted = false;
      state.target = null;
      state.type = `${type}`;
      state.bubbles = !!bubbles;
      state.cancelable = !!cancelable;
    }
  }
  defineConstants(Event);
  defineConstants(Event.prototype);
  defineTag(Event.prototype, "Event");

  function isTrustedGetter() {
    return eventState(this).isTrusted;
  }

  function cancel(state) {
    if (state.cancelable && !state.inPassiveListener) state.canceled = true;
  }

  const details = new WeakMapCtor(); // CustomEvent -> its detail

  class CustomEvent extends Event {
    constructor(type, eventInitDict = undefined) {
      if (arguments.length < 1) throw new TypeErrorCtor("Failed to construct 'CustomEvent': 1 argument required.");
      super(type, eventInitDict);
      const detail = eventInitDict === undefined || eventInitDict === null ? null : eventInitDict.detail;
      weakSet(details, this, detail === undefined ? null : detail);
    }

    get detail() {
      const detail = isObject(this) ? weakGet(details, this) : undefined;
      if (detail === undefined) throw illegal("a CustomEvent");
      return detail;
    }

    initCustomEvent(type, bubbles = false, cancelable = false, detail = null) {
      if (arguments.length < 1) throw new TypeErrorCtor("Failed to execute 'initCustomEvent': 1 argument required.");
      const state = eventState(this);
      if (state.dispatching) return;
      ReflectApply(initEvent, this, [type, bubbles, cancelable]);
      weakSet(details, this, detail === undefined ? null : detail);
    }
  }
  defineTag(CustomEvent.prototype, "CustomEvent");
  const initEvent = Event.prototype.initEvent;

  // ---- EventTarget ----

  const targets = new WeakMapCtor(); // EventTarget -> Map of type -> listener records

  function listenersOf(target) {
    const listeners = isObject(target) ? weakGet(targets, target) : undefined;
    if (listeners === undefined) throw illegal("an EventTarget");
    return listeners;
  }

  function makeTarget(object) {
    weakSet(targets, object, new MapCtor());
    return object;
  }

  // The capture flag of EventListenerOptions (a boolean, or a dictionary's `capture`).
  function readCapture(options) {
    if (typeof options === "boolean") return options;
    if (options === undefined || options === null) return false;
    if (!isObject(options)) return !!options;
    return !!options.capture;
  }

  function readAddOptions(options) {
    if (!isObject(options)) return { capture: readCapture(options), once: false, passive: false, signal: null };
    const capture = !!options.capture;
    const once = !!options.once;
    const passive = !!options.passive;
    const signal = options.signal;
    // Not nullable: `signal: null` is refused, as WebIDL converts it.
    if (signal !== undefined && (!isObject(signal) || weakGet(signals, signal) === undefined)) {
      throw new TypeErrorCtor("Failed to execute 'addEventListener': the signal is not an AbortSignal.");
    }
    return { capture, once, passive, signal: signal ?? null };
  }

  function checkCallback(callback, method) {
    if (callback !== null && callback !== undefined && !isObject(callback)) {
      throw new TypeErrorCtor(`Failed to execute '${method}': the listener must be an object or a function.`);
    }
  }

  function findListener(list, callback, capture) {
    for (let i = 0; i < list.length; i++) {
      if (list[i].callback === callback && list[i].capture === capture) return i;
    }
    return -1;
  }

  function removeAt(list, index) {
    list[index].removed = true;
    for (let i = index; i < list.length - 1; i++) list[i] = list[i + 1];
    list.length--;
  }

  function addListener(target, type, record) {
    const byType = listenersOf(target);
    let list = mapGet(byType, type);
    if (list === undefined) {
      list = [];
      mapSet(byType, type, list);
    }
    if (findListener(list, record.callback, record.capture) !== -1) return;
    list[list.length] = record;
    if (record.signal !== null) {
      onAbort(record.signal, () => removeListener(target, type, record.callback, record.capture));
    }
  }

  function removeListener(target, type, callback, capture) {
    const list = mapGet(listenersOf(target), type);
    if (list === undefined) return;
    const index = findListener(list, callback, capture);
    if (index !== -1) removeAt(list, index);
  }

  class EventTarget {
    constructor() {
      makeTarget(this);
    }

    addEventListener(type, callback, options = undefined) {
      if (arguments.length < 2) throw new TypeErrorCtor("Failed to execute 'addEventListener': 2 arguments required.");
      listenersOf(this);
      const name = `${type}`;
      checkCallback(callback, "addEventListener");
      const flags = readAddOptions(options);
      if (callback === null || callback === undefined) return;
      if (flags.signal !== null && signalState(flags.signal).aborted) return;
      addListener(this, name, { callback, removed: false, ...flags });
    }

    removeEventListener(type, callback, options = undefined) {
      if (arguments.length < 2) throw new TypeErrorCtor("Failed to execute 'removeEventListener': 2 arguments required.");
      listenersOf(this);
      const name = `${type}`;
      checkCallback(callback, "removeEventListener");
      const capture = readCapture(options);
      if (callback === null || callback === undefined) return;
      removeListener(this, name, callback, capture);
    }

    dispatchEvent(event) {
      if (arguments.length < 1) throw new TypeErrorCtor("Failed to execute 'dispatchEvent': 1 argument required.");
      listenersOf(this);
      const state = eventState(event);
      if (state.dispatching || !state.initialized) {
        throw new DOMExceptionCtor("The event is already being dispatched.", "InvalidStateError");
      }
      state.isTrusted = false;
      return dispatch(this, event, state);
    }
  }
  defineTag(EventTarget.prototype, "EventTarget");

  function dispatch(target, event, state) {
    state.dispatching = true;
    state.target = target;
    state.currentTarget = target;
    state.phase = AT_TARGET;
    // At the target, capturing listeners run first, then the others (the DOM standard's order).
    invoke(target, event, state, true);
    if (!state.stop) invoke(target, event, state, false);
    state.phase = NONE;
    state.currentTarget = null;
    state.dispatching = false;
    state.stop = false;
    state.stopImmediate = false;
    return !state.canceled;
  }

  function invoke(target, event, state, capturing) {
    if (state.stop) return;
    const list = mapGet(weakGet(targets, target), state.type);
    if (list === undefined) return;
    const snapshot = [];
    for (let i = 0; i < list.length; i++) snapshot[i] = list[i];
    for (let i = 0; i < snapshot.length; i++) {
      const listener = snapshot[i];
      if (listener.removed || listener.capture !== capturing) continue;
      if (listener.once) removeListener(target, state.type, listener.callback, listener.capture);
      if (listener.passive) state.inPassiveListener = true;
      try {
        const callback = listener.callback;
        if (typeof callback === "function") {
          ReflectApply(callback, target, [event]);
        } else {
          const handleEvent = callback.handleEvent;
          if (typeof handleEvent !== "function") throw new TypeErrorCtor("The listener's handleEvent is not a function.");
          ReflectApply(handleEvent, callback, [event]);
        }
      } catch (error) {
        // As a browser reports an exception in a listener: logged, and dispatch goes on.
        if (hooks.report !== null) hooks.report(error);
      }
      state.inPassiveListener = false;
      if (state.stopImmediate) break;
    }
  }

  function trustedEvent(type) {
    const event = new Event(type);
    eventState(event).isTrusted = true;
    return event;
  }

  // ---- AbortSignal and AbortController ----

  // AbortSignal -> {aborted, reason, algorithms, sources (of a dependent signal), dependents,
  // onabort: {handler, listener} or null}
  const signals = new WeakMapCtor();

  function signalState(signal) {
    const state = isObject(signal) ? weakGet(signals, signal) : undefined;
    if (state === undefined) throw illegal("an AbortSignal");
    return state;
  }

  function newSignal() {
    const signal = makeTarget(ObjectCreate(AbortSignal.prototype));
    weakSet(signals, signal, { aborted: false, reason: undefined, algorithms: [], sources: null, dependents: [], onabort: null });
    return signal;
  }

  // Runs `algorithm` when `signal` aborts (at once if it has).
  function onAbort(signal, algorithm) {
    const state = signalState(signal);
    if (!state.aborted) state.algorithms[state.algorithms.length] = algorithm;
  }

  const abortError = () => new DOMExceptionCtor("signal is aborted without reason", "AbortError");

  function signalAbort(signal, reason) {
    const state = signalState(signal);
    if (state.aborted) return;
    state.aborted = true;
    state.reason = reason === undefined ? abortError() : reason;
    const dependents = [];
    for (let i = 0; i < state.dependents.length; i++) {
      const dependent = state.dependents[i];
      const inner = signalState(dependent);
      if (inner.aborted) continue;
      inner.aborted = true;
      inner.reason = state.reason;
      dependents[dependents.length] = dependent;
    }
    runAbortSteps(signal);
    for (let i = 0; i < dependents.length; i++) runAbortSteps(dependents[i]);
  }

  function runAbortSteps(signal) {
    const state = signalState(signal);
    const algorithms = state.algorithms;
    state.algorithms = [];
    for (let i = 0; i < algorithms.length; i++) algorithms[i]();
    const event = trustedEvent("abort");
    dispatch(signal, event, eventState(event));
  }

  // WebIDL [EnforceRange] unsigned long long.
  function toMilliseconds(value) {
    const n = NumberCtor(value);
    if (!NumberIsFinite(n)) throw new TypeErrorCtor("AbortSignal.timeout: the delay must be a finite number.");
    const ms = MathTrunc(n);
    if (ms < 0 || ms > 9007199254740991) throw new TypeErrorCtor("AbortSignal.timeout: the delay is out of range.");
    return ms;
  }

  class AbortSignal extends EventTarget {
    constructor() {
      throw new TypeErrorCtor("Illegal constructor");
    }

    static abort(reason = undefined) {
      const signal = newSignal();
      const state = signalState(signal);
      state.aborted = true;
      state.reason = reason === undefined ? abortError() : reason;
      return signal;
    }

    static timeout(milliseconds) {
      if (arguments.length < 1) throw new TypeErrorCtor("Failed to execute 'timeout': 1 argument required.");
      const ms = toMilliseconds(milliseconds);
      const signal = newSignal();
      hooks.setTimer(() => signalAbort(signal, new DOMExceptionCtor("The operation timed out.", "TimeoutError")), ms);
      return signal;
    }

    static any(signals) {
      if (arguments.length < 1) throw new TypeErrorCtor("Failed to execute 'any': 1 argument required.");
      if (!isObject(signals) || typeof signals[SymbolIterator] !== "function") {
        throw new TypeErrorCtor("AbortSignal.any takes a sequence of AbortSignals.");
      }
      const list = [];
      for (const signal of signals) {
        signalState(signal);
        list[list.length] = signal;
      }
      return dependentSignal(list);
    }

    get aborted() {
      return signalState(this).aborted;
    }

    get reason() {
      return signalState(this).reason;
    }

    throwIfAborted() {
      const state = signalState(this);
      if (state.aborted) throw state.reason;
    }

    get onabort() {
      const slot = signalState(this).onabort;
      return slot === null ? null : slot.handler;
    }

    set onabort(value) {
      const state = signalState(this);
      const handler = isObject(value) ? value : null;
      if (handler === null) {
        if (state.onabort !== null) removeListener(this, "abort", state.onabort.listener, false);
        state.onabort = null;
        return;
      }
      if (state.onabort !== null) {
        state.onabort.handler = handler;
        return;
      }
      const slot = { handler, listener: null };
      const signal = this;
      slot.listener = function (event) {
        if (typeof slot.handler === "function") ReflectApply(slot.handler, signal, [event]);
      };
      state.onabort = slot;
      addListener(this, "abort", { callback: slot.listener, capture: false, once: false, passive: false, signal: null, removed: false });
    }
  }
  defineTag(AbortSignal.prototype, "AbortSignal");

  // A signal that aborts when any of `sources` does (AbortSignal.any, request.signal).
  function dependentSignal(sources) {
    const signal = newSignal();
    const state = signalState(signal);
    for (let i = 0; i < sources.length; i++) {
      const source = signalState(sources[i]);
      if (source.aborted) {
        state.aborted = true;
        state.reason = source.reason;
        return signal;
      }
    }
    state.sources = [];
    for (let i = 0; i < sources.length; i++) {
      const source = signalState(sources[i]);
      // A dependent signal follows its sources' sources, never another dependent signal.
      const roots = source.sources === null ? [sources[i]] : source.sources;
      for (let j = 0; j < roots.length; j++) {
        let seen = false;
        for (let k = 0; k < state.sources.length; k++) if (state.sources[k] === roots[j]) seen = true;
        if (seen) continue;
        state.sources[state.sources.length] = roots[j];
        const root = signalState(roots[j]);
        root.dependents[root.dependents.length] = signal;
      }
    }
    return signal;
  }

  const controllers = new WeakMapCtor(); // AbortController -> its signal

  class AbortController {
    constructor() {
      weakSet(controllers, this, newSignal());
    }

    get signal() {
      const signal = isObject(this) ? weakGet(controllers, this) : undefined;
      if (signal === undefined) throw illegal("an AbortController");
      return signal;
    }

    abort(reason = undefined) {
      const signal = isObject(this) ? weakGet(controllers, this) : undefined;
      if (signal === undefined) throw illegal("an AbortController");
      signalAbort(signal, reason);
    }
  }
  defineTag(AbortController.prototype, "AbortController");

  const globals = [["Event", Event], ["CustomEvent", CustomEvent], ["EventTarget", EventTarget], ["AbortSignal", AbortSignal], ["AbortController", AbortController]];
  for (let i = 0; i < globals.length; i++) {
    ObjectDefineProperty(globalThis, globals[i][0], { value: globals[i][1], writable: true, configurable: true });
  }

  return ObjectFreeze({
    isSignal: (x) => isObject(x) && weakGet(signals, x) !== undefined,
    aborted: (signal) => signalState(signal).aborted,
    reason: (signal) => signalState(signal).reason,
    newSignal,
    follow: (signal) => dependentSignal([signal]),
    onAbort,
    // streams.js: a pipe forgets its abort algorithm when it ends; a writable stream's controller
    // aborts its own signal.
    removeAbort(signal, algorithm) {
      const state = signalState(signal);
      const kept = [];
      for (let i = 0; i < state.algorithms.length; i++) {
        if (state.algorithms[i] !== algorithm) kept[kept.length] = state.algorithms[i];
      }
      state.algorithms = kept;
    },
    abort: signalAbort,
    // glue.js: how AbortSignal.timeout sets a timer, and where a listener's exception goes.
    useTimers(setTimer) {
      hooks.setTimer = setTimer;
    },
    useReporter(report) {
      hooks.report = report;
    },
  });
});
