// Streams as the WHATWG Streams Standard defines them, and as Workers have them: ReadableStream
// (default and byte streams, with BYOB readers), WritableStream, TransformStream, their readers,
// writers and controllers, pipeTo/pipeThrough/tee, async iteration, ReadableStream.from, the
// queuing strategies, and Cloudflare's IdentityTransformStream and FixedLengthStream. shim.c
// evaluates this after events.js (a writable controller's `signal` is an AbortSignal) and before
// web.js, whose bodies are these streams; the function defines the globals and returns the hooks
// web.js uses.
//
// The standard's abstract operations are transcribed here over internal records: each public
// object maps (in a WeakMap) to a record of its slots, and the operations take records. Every
// built-in called comes from primordials.js (uncurried: receiver first), so tenant code that
// replaces Promise.prototype.then or the array iterator changes nothing here.
(function (primordials, events) {
  "use strict";

  const {
    ReflectApply,
    ObjectDefineProperty,
    ObjectFreeze,
    ObjectCreate,
    ArrayPrototypePush: push,
    NumberCtor,
    NumberIsNaN,
    NumberIsFinite,
    MathTrunc,
    MathMin,
    WeakMapCtor,
    WeakMapPrototypeGet: weakGet,
    WeakMapPrototypeSet: weakSet,
    PromiseCtor,
    PromiseReject,
    PromisePrototypeThen,
    ArrayBufferCtor,
    ArrayBufferIsView,
    ArrayBufferGetByteLength,
    ArrayBufferGetDetached,
    ArrayBufferPrototypeTransfer,
    ArrayBufferPrototypeSlice,
    DataViewCtor,
    DataViewGetBuffer,
    DataViewGetByteOffset,
    DataViewGetByteLength,
    TypedArrayGetTag,
    TypedArrayGetBuffer,
    TypedArrayGetByteOffset,
    TypedArrayGetByteLength,
    TypedArrayGetLength,
    TypedArrayCtors,
    TypedArrayPrototypeSet,
    Uint8ArrayCtor,
    TypeErrorCtor,
    RangeErrorCtor,
    SymbolIterator,
    SymbolAsyncIterator,
    SymbolToStringTag,
    AsyncIteratorPrototype,
    isArrayBuffer,
  } = primordials;
  const {
    isSignal,
    aborted: signalAborted,
    reason: signalReason,
    newSignal,
    onAbort: addAbortAlgorithm,
    removeAbort: removeAbortAlgorithm,
    abort: signalAbort,
  } = events;

  const isObject = (x) => x !== null && (typeof x === "object" || typeof x === "function");
  const noop = () => {};
  const then = (promise, onFulfilled, onRejected) => PromisePrototypeThen(promise, onFulfilled, onRejected);
  const setHandled = (promise) => PromisePrototypeThen(promise, undefined, noop);
  // "A promise resolved with" a value, as the reference implementation makes one: a new promise,
  // so a thenable given by tenant code adopts its state after the same number of ticks (WPT
  // checks the interleavings this produces).
  const resolved = (value) => new PromiseCtor((resolve) => resolve(value));
  const rejected = (reason) => PromiseReject(reason);
  const illegal = (what) => new TypeErrorCtor(`Illegal invocation: this is not a ${what}.`);

  // A promise, the functions that settle it, and whether it is still pending.
  function deferred() {
    const d = { __proto__: null, promise: undefined, resolve: undefined, reject: undefined, pending: true };
    d.promise = new PromiseCtor((resolve, reject) => {
      d.resolve = (value) => {
        d.pending = false;
        resolve(value);
      };
      d.reject = (reason) => {
        d.pending = false;
        reject(reason);
      };
    });
    return d;
  }

  // Calls a tenant's method (looked up once, when the stream was made) and turns a throw into a
  // rejected promise, as "invoking a callback function" with a promise return type does.
  function promiseCall(fn, thisArg, args) {
    if (fn === undefined) return resolved(undefined);
    try {
      return resolved(ReflectApply(fn, thisArg, args));
    } catch (error) {
      return rejected(error);
    }
  }

  function defineTag(proto, tag) {
    ObjectDefineProperty(proto, SymbolToStringTag, { __proto__: null, value: tag, configurable: true });
  }

  // Makes the named prototype members enumerable, as WebIDL has attributes and operations.
  function enumerable(proto, names) {
    for (let i = 0; i < names.length; i++) ObjectDefineProperty(proto, names[i], { __proto__: null, enumerable: true });
  }

  // A FIFO with O(1) shift: entries from `head` on are live.
  class Queue {
    constructor() {
      this.items = [];
      this.head = 0;
    }
    get length() {
      return this.items.length - this.head;
    }
    push(item) {
      push(this.items, item);
    }
    shift() {
      const item = this.items[this.head];
      this.items[this.head++] = undefined;
      if (this.head > 1024 && this.head * 2 > this.items.length) {
        const rest = [];
        for (let i = this.head; i < this.items.length; i++) push(rest, this.items[i]);
        this.items = rest;
        this.head = 0;
      }
      return item;
    }
    peek() {
      return this.items[this.head];
    }
    last() {
      return this.items[this.items.length - 1];
    }
    at(i) {
      return this.items[this.head + i];
    }
    clear() {
      this.items = [];
      this.head = 0;
    }
  }
  ObjectSetPrototypeOfNull(Queue.prototype);

  function ObjectSetPrototypeOfNull(proto) {
    primordials.ObjectSetPrototypeOf(proto, null);
  }

  // ---------------------------------------------------------------------------------------------
  // WebIDL conversions

  function toDictionary(x, what) {
    if (x === undefined || x === null) return { __proto__: null };
    if (!isObject(x)) throw new TypeErrorCtor(`${what} must be an object.`);
    return x;
  }

  function toFunction(x, what) {
    if (x === undefined) return undefined;
    if (typeof x !== "function") throw new TypeErrorCtor(`${what} must be a function.`);
    return x;
  }

  function toUnrestrictedDouble(x) {
    return NumberCtor(x);
  }

  function enforceRangeUnsignedLongLong(x, what) {
    let n = NumberCtor(x);
    if (NumberIsNaN(n) || !NumberIsFinite(n)) throw new TypeErrorCtor(`${what} must be a finite number.`);
    n = MathTrunc(n) + 0;
    if (n < 0 || n > 2 ** 53 - 1) throw new TypeErrorCtor(`${what} is out of range.`);
    return n;
  }

  // QueuingStrategy: {highWaterMark, size}, read in that order.
  function strategyOf(strategy) {
    const dict = toDictionary(strategy, "The queuing strategy");
    const highWaterMark = dict.highWaterMark;
    const size = dict.size;
    return {
      __proto__: null,
      highWaterMark: highWaterMark === undefined ? undefined : toUnrestrictedDouble(highWaterMark),
      size: toFunction(size, "The queuing strategy's size"),
    };
  }

  function extractHighWaterMark(strategy, defaultHWM) {
    if (strategy.highWaterMark === undefined) return defaultHWM;
    const hwm = strategy.highWaterMark;
    if (NumberIsNaN(hwm) || hwm < 0) throw new RangeErrorCtor("The highWaterMark must be a non-negative number.");
    return hwm;
  }

  function extractSizeAlgorithm(strategy) {
    const size = strategy.size;
    if (size === undefined) return () => 1;
    return (chunk) => ReflectApply(size, undefined, [chunk]);
  }

  // ---------------------------------------------------------------------------------------------
  // Buffers

  function isDetached(buffer) {
    return ArrayBufferGetDetached(buffer);
  }

  function canTransfer(buffer) {
    return !isDetached(buffer);
  }

  function transfer(buffer) {
    return ArrayBufferPrototypeTransfer(buffer);
  }

  // {buffer, byteOffset, byteLength, elementSize, ctor} of an ArrayBufferView.
  function viewInfo(view) {
    const tag = TypedArrayGetTag(view);
    if (tag !== undefined) {
      const ctor = TypedArrayCtors[tag];
      return {
        __proto__: null,
        buffer: TypedArrayGetBuffer(view),
        byteOffset: TypedArrayGetByteOffset(view),
        byteLength: TypedArrayGetByteLength(view),
        elementSize: ctor.BYTES_PER_ELEMENT,
        ctor,
      };
    }
    return {
      __proto__: null,
      buffer: DataViewGetBuffer(view),
      byteOffset: DataViewGetByteOffset(view),
      byteLength: DataViewGetByteLength(view),
      elementSize: 1,
      ctor: DataViewCtor,
    };
  }

  function newView(ctor, buffer, byteOffset, length) {
    return new ctor(buffer, byteOffset, length);
  }

  function copyDataBlockBytes(toBuffer, toIndex, fromBuffer, fromIndex, count) {
    TypedArrayPrototypeSet(new Uint8ArrayCtor(toBuffer, toIndex, count), new Uint8ArrayCtor(fromBuffer, fromIndex, count));
  }

  function cloneAsUint8Array(view) {
    const info = viewInfo(view);
    const buffer = ArrayBufferPrototypeSlice(info.buffer, info.byteOffset, info.byteOffset + info.byteLength);
    return new Uint8ArrayCtor(buffer);
  }

  // ---------------------------------------------------------------------------------------------
  // Queue-with-sizes

  function dequeueValue(container) {
    const pair = container.queue.shift();
    container.queueTotalSize -= pair.size;
    if (container.queueTotalSize < 0) container.queueTotalSize = 0;
    return pair.value;
  }

  function enqueueValueWithSize(container, value, size) {
    if (typeof size !== "number" || NumberIsNaN(size) || size < 0 || size === Infinity) {
      throw new RangeErrorCtor("The chunk size must be a finite, non-negative number.");
    }
    container.queue.push({ __proto__: null, value, size });
    container.queueTotalSize += size;
  }

  function resetQueue(container) {
    container.queue = new Queue();
    container.queueTotalSize = 0;
  }

  // ---------------------------------------------------------------------------------------------
  // Records

  const records = new WeakMapCtor();

  function recordOf(object, kind) {
    const record = isObject(object) ? weakGet(records, object) : undefined;
    if (record === undefined || record.kind !== kind) throw illegal(kind);
    return record;
  }

  // A promise-returning method's steps on `object`'s record: a failed brand check rejects.
  function withRecord(object, kind, steps) {
    let record;
    try {
      record = recordOf(object, kind);
    } catch (error) {
      return rejected(error);
    }
    return steps(record);
  }

  function isKind(object, kind) {
    const record = isObject(object) ? weakGet(records, object) : undefined;
    return record !== undefined && record.kind === kind;
  }

  function attach(object, record) {
    record.object = object;
    weakSet(records, object, record);
    return record;
  }

  // Makes a public object of `Class` (whose constructor takes INTERNAL) around `record`.
  const INTERNAL = ObjectFreeze({ __proto__: null });

  // =============================================================================================
  // ReadableStream

  function newReadableRecord() {
    return {
      __proto__: null,
      kind: "ReadableStream",
      object: undefined,
      state: "readable",
      reader: undefined,
      storedError: undefined,
      disturbed: false,
      controller: undefined,
    };
  }

  class ReadableStream {
    constructor(underlyingSource = undefined, strategy = undefined) {
      if (underlyingSource === INTERNAL) {
        attach(this, newReadableRecord());
        return;
      }
      const source = underlyingSource === undefined ? null : underlyingSource;
      if (underlyingSource !== undefined && !isObject(underlyingSource)) {
        throw new TypeErrorCtor("The underlying source must be an object.");
      }
      const strat = strategyOf(strategy);
      const dict = sourceDict(source);
      const stream = attach(this, newReadableRecord());
      if (dict.type === "bytes") {
        if (strat.size !== undefined) throw new RangeErrorCtor("A byte stream's strategy cannot have a size.");
        const hwm = extractHighWaterMark(strat, 0);
        setUpByteControllerFromSource(stream, source, dict, hwm);
      } else {
        const sizeAlgorithm = extractSizeAlgorithm(strat);
        const hwm = extractHighWaterMark(strat, 1);
        setUpDefaultControllerFromSource(stream, source, dict, hwm, sizeAlgorithm);
      }
    }

    static from(asyncIterable) {
      return readableFromIterable(asyncIterable).object;
    }

    get locked() {
      return isLocked(recordOf(this, "ReadableStream"));
    }

    cancel(reason = undefined) {
      return withRecord(this, "ReadableStream", (stream) =>
        isLocked(stream) ? rejected(new TypeErrorCtor("Cannot cancel a locked stream.")) : readableCancel(stream, reason),
      );
    }

    getReader(options = undefined) {
      const stream = recordOf(this, "ReadableStream");
      const dict = toDictionary(options, "The reader options");
      const mode = dict.mode;
      if (mode === undefined) return acquireDefaultReader(stream).object;
      if (`${mode}` !== "byob") throw new TypeErrorCtor(`"${mode}" is not a valid reader mode.`);
      return acquireBYOBReader(stream).object;
    }

    pipeThrough(transform, options = undefined) {
      const stream = recordOf(this, "ReadableStream");
      if (!isObject(transform)) throw new TypeErrorCtor("pipeThrough's first argument must be an object.");
      const readable = transform.readable;
      const readableRecord = recordOfOrThrow(readable, "ReadableStream", "transform.readable");
      const writable = transform.writable;
      const writableRecord = recordOfOrThrow(writable, "WritableStream", "transform.writable");
      const opts = pipeOptions(options);
      if (isLocked(stream)) throw new TypeErrorCtor("Cannot pipe a locked stream.");
      if (writableIsLocked(writableRecord)) throw new TypeErrorCtor("Cannot pipe to a locked stream.");
      const promise = pipeTo(stream, writableRecord, opts.preventClose, opts.preventAbort, opts.preventCancel, opts.signal);
      setHandled(promise);
      return readableRecord.object;
    }

    pipeTo(destination, options = undefined) {
      return withRecord(this, "ReadableStream", (stream) => {
        let dest, opts;
        try {
          dest = recordOfOrThrow(destination, "WritableStream", "The destination");
          opts = pipeOptions(options);
        } catch (error) {
          return rejected(error);
        }
        if (isLocked(stream)) return rejected(new TypeErrorCtor("Cannot pipe a locked stream."));
        if (writableIsLocked(dest)) return rejected(new TypeErrorCtor("Cannot pipe to a locked stream."));
        return pipeTo(stream, dest, opts.preventClose, opts.preventAbort, opts.preventCancel, opts.signal);
      });
    }

    tee() {
      const stream = recordOf(this, "ReadableStream");
      const branches = readableTee(stream, false);
      return [branches[0].object, branches[1].object];
    }

    values(options = undefined) {
      const stream = recordOf(this, "ReadableStream");
      const dict = toDictionary(options, "The iterator options");
      return newAsyncIterator(stream, !!dict.preventCancel);
    }
  }
  defineTag(ReadableStream.prototype, "ReadableStream");
  enumerable(ReadableStream.prototype, ["locked", "cancel", "getReader", "pipeThrough", "pipeTo", "tee", "values"]);
  ObjectDefineProperty(ReadableStream.prototype, SymbolAsyncIterator, {
    __proto__: null,
    value: ReadableStream.prototype.values,
    writable: true,
    configurable: true,
  });
  ObjectDefineProperty(ReadableStream, "from", { __proto__: null, enumerable: true });

  function recordOfOrThrow(object, kind, what) {
    const record = isObject(object) ? weakGet(records, object) : undefined;
    if (record === undefined || record.kind !== kind) throw new TypeErrorCtor(`${what} is not a ${kind}.`);
    return record;
  }

  // UnderlyingSource, its members read in lexicographic order.
  function sourceDict(source) {
    const dict = { __proto__: null };
    if (source === null) return dict;
    const autoAllocateChunkSize = source.autoAllocateChunkSize;
    if (autoAllocateChunkSize !== undefined) {
      dict.autoAllocateChunkSize = enforceRangeUnsignedLongLong(autoAllocateChunkSize, "autoAllocateChunkSize");
    }
    dict.cancel = toFunction(source.cancel, "The underlying source's cancel");
    dict.pull = toFunction(source.pull, "The underlying source's pull");
    dict.start = toFunction(source.start, "The underlying source's start");
    const type = source.type;
    if (type !== undefined) {
      dict.type = `${type}`;
      if (dict.type !== "bytes") throw new TypeErrorCtor(`"${dict.type}" is not a valid stream type.`);
    }
    return dict;
  }

  function pipeOptions(options) {
    const dict = toDictionary(options, "The pipe options");
    const preventAbort = !!dict.preventAbort;
    const preventCancel = !!dict.preventCancel;
    const preventClose = !!dict.preventClose;
    const signal = dict.signal;
    if (signal !== undefined && !isSignal(signal)) throw new TypeErrorCtor("The signal is not an AbortSignal.");
    return { __proto__: null, preventAbort, preventCancel, preventClose, signal };
  }

  const isLocked = (stream) => stream.reader !== undefined;

  // The record of a fresh ReadableStream with no controller yet.
  function newReadable() {
    const object = new ReadableStream(INTERNAL);
    return weakGet(records, object);
  }

  function createReadableStream(startAlgorithm, pullAlgorithm, cancelAlgorithm, hwm = 1, sizeAlgorithm = () => 1) {
    const stream = newReadable();
    const controller = newDefaultControllerRecord();
    setUpDefaultController(stream, controller, startAlgorithm, pullAlgorithm, cancelAlgorithm, hwm, sizeAlgorithm);
    return stream;
  }

  function createReadableByteStream(startAlgorithm, pullAlgorithm, cancelAlgorithm) {
    const stream = newReadable();
    const controller = newByteControllerRecord();
    setUpByteController(stream, controller, startAlgorithm, pullAlgorithm, cancelAlgorithm, 0, undefined);
    return stream;
  }

  function readableCancel(stream, reason) {
    stream.disturbed = true;
    if (stream.state === "closed") return resolved(undefined);
    if (stream.state === "errored") return rejected(stream.storedError);
    readableClose(stream);
    const reader = stream.reader;
    if (reader !== undefined && reader.kind === "ReadableStreamBYOBReader") {
      const requests = reader.readIntoRequests;
      reader.readIntoRequests = new Queue();
      while (requests.length > 0) requests.shift().close(undefined);
    }
    const sourceCancelPromise = stream.controller.cancelSteps(reason);
    return then(sourceCancelPromise, () => undefined);
  }

  function readableClose(stream) {
    stream.state = "closed";
    const reader = stream.reader;
    if (reader === undefined) return;
    reader.closed.resolve(undefined);
    if (reader.kind === "ReadableStreamDefaultReader") {
      const requests = reader.readRequests;
      reader.readRequests = new Queue();
      while (requests.length > 0) requests.shift().close();
    }
  }

  function readableError(stream, error) {
    stream.state = "errored";
    stream.storedError = error;
    const reader = stream.reader;
    if (reader === undefined) return;
    reader.closed.reject(error);
    setHandled(reader.closed.promise);
    if (reader.kind === "ReadableStreamDefaultReader") {
      readerErrorReadRequests(reader, error);
    } else {
      readerErrorReadIntoRequests(reader, error);
    }
  }

  function readerErrorReadRequests(reader, error) {
    const requests = reader.readRequests;
    reader.readRequests = new Queue();
    while (requests.length > 0) requests.shift().error(error);
  }

  function readerErrorReadIntoRequests(reader, error) {
    const requests = reader.readIntoRequests;
    reader.readIntoRequests = new Queue();
    while (requests.length > 0) requests.shift().error(error);
  }

  function addReadRequest(stream, request) {
    stream.reader.readRequests.push(request);
  }

  function addReadIntoRequest(stream, request) {
    stream.reader.readIntoRequests.push(request);
  }

  function fulfillReadRequest(stream, chunk, done) {
    const request = stream.reader.readRequests.shift();
    if (done) request.close();
    else request.chunk(chunk);
  }

  function fulfillReadIntoRequest(stream, chunk, done) {
    const request = stream.reader.readIntoRequests.shift();
    if (done) request.close(chunk);
    else request.chunk(chunk);
  }

  function numReadRequests(stream) {
    return stream.reader.readRequests.length;
  }

  function numReadIntoRequests(stream) {
    return stream.reader.readIntoRequests.length;
  }

  function hasDefaultReader(stream) {
    return stream.reader !== undefined && stream.reader.kind === "ReadableStreamDefaultReader";
  }

  function hasBYOBReader(stream) {
    return stream.reader !== undefined && stream.reader.kind === "ReadableStreamBYOBReader";
  }

  // ---------------------------------------------------------------------------------------------
  // Readers

  function readerInitialize(reader, stream) {
    reader.stream = stream;
    stream.reader = reader;
    reader.closed = deferred();
    if (stream.state === "closed") {
      reader.closed.resolve(undefined);
    } else if (stream.state === "errored") {
      reader.closed.reject(stream.storedError);
      setHandled(reader.closed.promise);
    }
  }

  function readerRelease(reader) {
    const stream = reader.stream;
    const error = new TypeErrorCtor("The reader's lock was released.");
    if (stream.state === "readable") {
      reader.closed.reject(error);
    } else {
      reader.closed = deferred();
      reader.closed.reject(error);
    }
    setHandled(reader.closed.promise);
    stream.controller.releaseSteps();
    stream.reader = undefined;
    reader.stream = undefined;
  }

  function readerGenericCancel(reader, reason) {
    return readableCancel(reader.stream, reason);
  }

  function newDefaultReaderRecord() {
    return {
      __proto__: null,
      kind: "ReadableStreamDefaultReader",
      object: undefined,
      stream: undefined,
      closed: undefined,
      readRequests: new Queue(),
    };
  }

  function setUpDefaultReader(reader, stream) {
    if (isLocked(stream)) throw new TypeErrorCtor("The stream is locked to a reader.");
    readerInitialize(reader, stream);
    reader.readRequests = new Queue();
  }

  function acquireDefaultReader(stream) {
    const reader = weakGet(records, new ReadableStreamDefaultReader(INTERNAL));
    setUpDefaultReader(reader, stream);
    return reader;
  }

  function defaultReaderRead(reader, request) {
    const stream = reader.stream;
    stream.disturbed = true;
    if (stream.state === "closed") request.close();
    else if (stream.state === "errored") request.error(stream.storedError);
    else stream.controller.pullSteps(request);
  }

  function readRequestPromise() {
    const d = deferred();
    return {
      __proto__: null,
      promise: d.promise,
      chunk: (chunk) => d.resolve({ value: chunk, done: false }),
      close: () => d.resolve({ value: undefined, done: true }),
      error: (e) => d.reject(e),
    };
  }

  // What both reader classes share: `closed`, cancel() and releaseLock().
  const readerClosed = (object, kind) => withRecord(object, kind, (reader) => reader.closed.promise);

  function readerCancel(object, kind, reason) {
    return withRecord(object, kind, (reader) =>
      reader.stream === undefined
        ? rejected(new TypeErrorCtor("The reader has no stream."))
        : readerGenericCancel(reader, reason),
    );
  }

  function readerReleaseLock(object, kind, errorRequests) {
    const reader = recordOf(object, kind);
    if (reader.stream === undefined) return;
    readerRelease(reader);
    errorRequests(reader, new TypeErrorCtor("The reader's lock was released."));
  }

  // A reader constructor's steps: INTERNAL makes an unattached reader for acquire*Reader.
  function constructReader(object, stream, newRecord, setUp) {
    if (stream === INTERNAL) {
      attach(object, newRecord());
      return;
    }
    const streamRecord = recordOfOrThrow(stream, "ReadableStream", "The argument");
    setUp(attach(object, newRecord()), streamRecord);
  }

  class ReadableStreamDefaultReader {
    constructor(stream) {
      constructReader(this, stream, newDefaultReaderRecord, setUpDefaultReader);
    }

    get closed() {
      return readerClosed(this, "ReadableStreamDefaultReader");
    }

    cancel(reason = undefined) {
      return readerCancel(this, "ReadableStreamDefaultReader", reason);
    }

    read() {
      return withRecord(this, "ReadableStreamDefaultReader", (reader) => {
        if (reader.stream === undefined) return rejected(new TypeErrorCtor("The reader has no stream."));
        const request = readRequestPromise();
        defaultReaderRead(reader, request);
        return request.promise;
      });
    }

    releaseLock() {
      readerReleaseLock(this, "ReadableStreamDefaultReader", readerErrorReadRequests);
    }
  }
  defineTag(ReadableStreamDefaultReader.prototype, "ReadableStreamDefaultReader");
  enumerable(ReadableStreamDefaultReader.prototype, ["closed", "cancel", "read", "releaseLock"]);

  function newBYOBReaderRecord() {
    return {
      __proto__: null,
      kind: "ReadableStreamBYOBReader",
      object: undefined,
      stream: undefined,
      closed: undefined,
      readIntoRequests: new Queue(),
    };
  }

  function setUpBYOBReader(reader, stream) {
    if (isLocked(stream)) throw new TypeErrorCtor("The stream is locked to a reader.");
    if (stream.controller.kind !== "ReadableByteStreamController") {
      throw new TypeErrorCtor("A BYOB reader needs a byte stream.");
    }
    readerInitialize(reader, stream);
    reader.readIntoRequests = new Queue();
  }

  function acquireBYOBReader(stream) {
    const reader = weakGet(records, new ReadableStreamBYOBReader(INTERNAL));
    setUpBYOBReader(reader, stream);
    return reader;
  }

  function byobReaderRead(reader, view, min, request) {
    const stream = reader.stream;
    stream.disturbed = true;
    if (stream.state === "errored") request.error(stream.storedError);
    else byteControllerPullInto(stream.controller, view, min, request);
  }

  class ReadableStreamBYOBReader {
    constructor(stream) {
      constructReader(this, stream, newBYOBReaderRecord, setUpBYOBReader);
    }

    get closed() {
      return readerClosed(this, "ReadableStreamBYOBReader");
    }

    cancel(reason = undefined) {
      return readerCancel(this, "ReadableStreamBYOBReader", reason);
    }

    read(view, options = undefined) {
      let reader, info, min;
      try {
        reader = recordOf(this, "ReadableStreamBYOBReader");
        if (!isObject(view) || !ArrayBufferIsView(view)) throw new TypeErrorCtor("read() needs an ArrayBufferView.");
        const dict = toDictionary(options, "The read options");
        min = dict.min === undefined ? 1 : enforceRangeUnsignedLongLong(dict.min, "min");
        info = viewInfo(view);
      } catch (error) {
        return rejected(error);
      }
      if (info.byteLength === 0) return rejected(new TypeErrorCtor("The view is empty."));
      if (ArrayBufferGetByteLength(info.buffer) === 0) return rejected(new TypeErrorCtor("The view's buffer is empty."));
      if (isDetached(info.buffer)) return rejected(new TypeErrorCtor("The view's buffer is detached."));
      if (min === 0) return rejected(new TypeErrorCtor("min must be at least 1."));
      if (info.ctor !== DataViewCtor) {
        if (min > TypedArrayGetLength(view)) return rejected(new RangeErrorCtor("min is larger than the view."));
      } else if (min > info.byteLength) {
        return rejected(new RangeErrorCtor("min is larger than the view."));
      }
      if (reader.stream === undefined) return rejected(new TypeErrorCtor("The reader has no stream."));
      const d = deferred();
      const request = {
        __proto__: null,
        chunk: (chunk) => d.resolve({ value: chunk, done: false }),
        close: (chunk) => d.resolve({ value: chunk, done: true }),
        error: (e) => d.reject(e),
      };
      byobReaderRead(reader, view, min, request);
      return d.promise;
    }

    releaseLock() {
      readerReleaseLock(this, "ReadableStreamBYOBReader", readerErrorReadIntoRequests);
    }
  }
  defineTag(ReadableStreamBYOBReader.prototype, "ReadableStreamBYOBReader");
  enumerable(ReadableStreamBYOBReader.prototype, ["closed", "cancel", "read", "releaseLock"]);

  // ---------------------------------------------------------------------------------------------
  // ReadableStreamDefaultController

  function newDefaultControllerRecord() {
    const controller = {
      __proto__: null,
      kind: "ReadableStreamDefaultController",
      object: undefined,
      stream: undefined,
      queue: new Queue(),
      queueTotalSize: 0,
      started: false,
      closeRequested: false,
      pullAgain: false,
      pulling: false,
      strategySizeAlgorithm: undefined,
      strategyHWM: 0,
      pullAlgorithm: undefined,
      cancelAlgorithm: undefined,
      cancelSteps: undefined,
      pullSteps: undefined,
      releaseSteps: undefined,
    };
    controller.cancelSteps = (reason) => {
      resetQueue(controller);
      const result = controller.cancelAlgorithm(reason);
      defaultControllerClearAlgorithms(controller);
      return result;
    };
    controller.pullSteps = (request) => {
      const stream = controller.stream;
      if (controller.queue.length > 0) {
        const chunk = dequeueValue(controller);
        if (controller.closeRequested && controller.queue.length === 0) {
          defaultControllerClearAlgorithms(controller);
          readableClose(stream);
        } else {
          defaultControllerCallPullIfNeeded(controller);
        }
        request.chunk(chunk);
      } else {
        addReadRequest(stream, request);
        defaultControllerCallPullIfNeeded(controller);
      }
    };
    controller.releaseSteps = noop;
    new ReadableStreamDefaultController(INTERNAL, controller);
    return controller;
  }

  function setUpDefaultController(stream, controller, startAlgorithm, pullAlgorithm, cancelAlgorithm, hwm, sizeAlgorithm) {
    controller.stream = stream;
    resetQueue(controller);
    controller.started = controller.closeRequested = controller.pullAgain = controller.pulling = false;
    controller.strategySizeAlgorithm = sizeAlgorithm;
    controller.strategyHWM = hwm;
    controller.pullAlgorithm = pullAlgorithm;
    controller.cancelAlgorithm = cancelAlgorithm;
    stream.controller = controller;
    const startResult = startAlgorithm();
    then(
      resolved(startResult),
      () => {
        controller.started = true;
        defaultControllerCallPullIfNeeded(controller);
      },
      (r) => defaultControllerError(controller, r),
    );
  }

  // An underlying source's start, pull and cancel as the controller's algorithms.
  function sourceAlgorithms(source, dict, controller) {
    const start = dict.start;
    const pull = dict.pull;
    const cancel = dict.cancel;
    return {
      __proto__: null,
      start: () => (start === undefined ? undefined : ReflectApply(start, source, [controller.object])),
      pull: () => promiseCall(pull, source, [controller.object]),
      cancel: (reason) => promiseCall(cancel, source, [reason]),
    };
  }

  function setUpDefaultControllerFromSource(stream, source, dict, hwm, sizeAlgorithm) {
    const controller = newDefaultControllerRecord();
    const a = sourceAlgorithms(source, dict, controller);
    setUpDefaultController(stream, controller, a.start, a.pull, a.cancel, hwm, sizeAlgorithm);
  }

  // Both controllers' "call pull if needed": one pull at a time, another after it if asked for.
  function callPullIfNeeded(controller, shouldCallPull, error) {
    if (!shouldCallPull(controller)) return;
    if (controller.pulling) {
      controller.pullAgain = true;
      return;
    }
    controller.pulling = true;
    then(
      controller.pullAlgorithm(),
      () => {
        controller.pulling = false;
        if (controller.pullAgain) {
          controller.pullAgain = false;
          callPullIfNeeded(controller, shouldCallPull, error);
        }
      },
      (e) => error(controller, e),
    );
  }

  function defaultControllerCallPullIfNeeded(controller) {
    callPullIfNeeded(controller, defaultControllerShouldCallPull, defaultControllerError);
  }

  function defaultControllerShouldCallPull(controller) {
    const stream = controller.stream;
    if (!defaultControllerCanCloseOrEnqueue(controller)) return false;
    if (!controller.started) return false;
    if (isLocked(stream) && hasDefaultReader(stream) && numReadRequests(stream) > 0) return true;
    return defaultControllerGetDesiredSize(controller) > 0;
  }

  function defaultControllerClearAlgorithms(controller) {
    controller.pullAlgorithm = undefined;
    controller.cancelAlgorithm = undefined;
    controller.strategySizeAlgorithm = undefined;
  }

  function defaultControllerClose(controller) {
    if (!defaultControllerCanCloseOrEnqueue(controller)) return;
    controller.closeRequested = true;
    if (controller.queue.length === 0) {
      defaultControllerClearAlgorithms(controller);
      readableClose(controller.stream);
    }
  }

  function defaultControllerEnqueue(controller, chunk) {
    if (!defaultControllerCanCloseOrEnqueue(controller)) return;
    const stream = controller.stream;
    if (isLocked(stream) && hasDefaultReader(stream) && numReadRequests(stream) > 0) {
      fulfillReadRequest(stream, chunk, false);
    } else {
      let size;
      try {
        size = controller.strategySizeAlgorithm(chunk);
      } catch (error) {
        defaultControllerError(controller, error);
        throw error;
      }
      try {
        enqueueValueWithSize(controller, chunk, size);
      } catch (error) {
        defaultControllerError(controller, error);
        throw error;
      }
    }
    defaultControllerCallPullIfNeeded(controller);
  }

  function defaultControllerError(controller, error) {
    const stream = controller.stream;
    if (stream.state !== "readable") return;
    resetQueue(controller);
    defaultControllerClearAlgorithms(controller);
    readableError(stream, error);
  }

  function defaultControllerGetDesiredSize(controller) {
    const state = controller.stream.state;
    if (state === "errored") return null;
    if (state === "closed") return 0;
    return controller.strategyHWM - controller.queueTotalSize;
  }

  function defaultControllerHasBackpressure(controller) {
    return !defaultControllerShouldCallPull(controller);
  }

  function defaultControllerCanCloseOrEnqueue(controller) {
    return !controller.closeRequested && controller.stream.state === "readable";
  }

  class ReadableStreamDefaultController {
    constructor(token, record) {
      if (token !== INTERNAL) throw new TypeErrorCtor("Illegal constructor");
      attach(this, record);
    }

    get desiredSize() {
      return defaultControllerGetDesiredSize(recordOf(this, "ReadableStreamDefaultController"));
    }

    close() {
      const controller = recordOf(this, "ReadableStreamDefaultController");
      if (!defaultControllerCanCloseOrEnqueue(controller)) throw new TypeErrorCtor("The stream cannot be closed.");
      defaultControllerClose(controller);
    }

    enqueue(chunk = undefined) {
      const controller = recordOf(this, "ReadableStreamDefaultController");
      if (!defaultControllerCanCloseOrEnqueue(controller)) throw new TypeErrorCtor("The stream cannot be enqueued to.");
      defaultControllerEnqueue(controller, chunk);
    }

    error(e = undefined) {
      defaultControllerError(recordOf(this, "ReadableStreamDefaultController"), e);
    }
  }
  defineTag(ReadableStreamDefaultController.prototype, "ReadableStreamDefaultController");
  enumerable(ReadableStreamDefaultController.prototype, ["desiredSize", "close", "enqueue", "error"]);

  // ---------------------------------------------------------------------------------------------
  // ReadableByteStreamController

  function newByteControllerRecord() {
    const controller = {
      __proto__: null,
      kind: "ReadableByteStreamController",
      object: undefined,
      stream: undefined,
      queue: new Queue(),
      queueTotalSize: 0,
      started: false,
      closeRequested: false,
      pullAgain: false,
      pulling: false,
      byobRequest: null,
      autoAllocateChunkSize: undefined,
      pendingPullIntos: new Queue(),
      strategyHWM: 0,
      pullAlgorithm: undefined,
      cancelAlgorithm: undefined,
      cancelSteps: undefined,
      pullSteps: undefined,
      releaseSteps: undefined,
    };
    controller.cancelSteps = (reason) => {
      byteControllerClearPendingPullIntos(controller);
      resetQueue(controller);
      const result = controller.cancelAlgorithm(reason);
      byteControllerClearAlgorithms(controller);
      return result;
    };
    controller.pullSteps = (request) => {
      const stream = controller.stream;
      if (controller.queueTotalSize > 0) {
        byteControllerFillReadRequestFromQueue(controller, request);
        return;
      }
      const autoAllocateChunkSize = controller.autoAllocateChunkSize;
      if (autoAllocateChunkSize !== undefined) {
        let buffer;
        try {
          buffer = new ArrayBufferCtor(autoAllocateChunkSize);
        } catch (error) {
          request.error(error);
          return;
        }
        controller.pendingPullIntos.push({
          __proto__: null,
          buffer,
          bufferByteLength: autoAllocateChunkSize,
          byteOffset: 0,
          byteLength: autoAllocateChunkSize,
          bytesFilled: 0,
          minimumFill: 1,
          elementSize: 1,
          viewConstructor: Uint8ArrayCtor,
          readerType: "default",
        });
      }
      addReadRequest(stream, request);
      byteControllerCallPullIfNeeded(controller);
    };
    controller.releaseSteps = () => {
      if (controller.pendingPullIntos.length > 0) {
        const first = controller.pendingPullIntos.peek();
        first.readerType = "none";
        const rest = new Queue();
        rest.push(first);
        controller.pendingPullIntos = rest;
      }
    };
    new ReadableByteStreamController(INTERNAL, controller);
    return controller;
  }

  function setUpByteController(stream, controller, startAlgorithm, pullAlgorithm, cancelAlgorithm, hwm, autoAllocateChunkSize) {
    controller.stream = stream;
    controller.pullAgain = controller.pulling = false;
    controller.byobRequest = null;
    resetQueue(controller);
    controller.closeRequested = controller.started = false;
    controller.strategyHWM = hwm;
    controller.pullAlgorithm = pullAlgorithm;
    controller.cancelAlgorithm = cancelAlgorithm;
    controller.autoAllocateChunkSize = autoAllocateChunkSize;
    controller.pendingPullIntos = new Queue();
    stream.controller = controller;
    const startResult = startAlgorithm();
    then(
      resolved(startResult),
      () => {
        controller.started = true;
        byteControllerCallPullIfNeeded(controller);
      },
      (r) => byteControllerError(controller, r),
    );
  }

  function setUpByteControllerFromSource(stream, source, dict, hwm) {
    const controller = newByteControllerRecord();
    const a = sourceAlgorithms(source, dict, controller);
    const autoAllocateChunkSize = dict.autoAllocateChunkSize;
    if (autoAllocateChunkSize === 0) throw new TypeErrorCtor("autoAllocateChunkSize cannot be 0.");
    setUpByteController(stream, controller, a.start, a.pull, a.cancel, hwm, autoAllocateChunkSize);
  }

  function byteControllerCallPullIfNeeded(controller) {
    callPullIfNeeded(controller, byteControllerShouldCallPull, byteControllerError);
  }

  function byteControllerShouldCallPull(controller) {
    const stream = controller.stream;
    if (stream.state !== "readable") return false;
    if (controller.closeRequested) return false;
    if (!controller.started) return false;
    if (hasDefaultReader(stream) && numReadRequests(stream) > 0) return true;
    if (hasBYOBReader(stream) && numReadIntoRequests(stream) > 0) return true;
    return byteControllerGetDesiredSize(controller) > 0;
  }

  function byteControllerClearAlgorithms(controller) {
    controller.pullAlgorithm = undefined;
    controller.cancelAlgorithm = undefined;
  }

  function byteControllerClearPendingPullIntos(controller) {
    byteControllerInvalidateBYOBRequest(controller);
    controller.pendingPullIntos = new Queue();
  }

  function byteControllerClose(controller) {
    const stream = controller.stream;
    if (controller.closeRequested || stream.state !== "readable") return;
    if (controller.queueTotalSize > 0) {
      controller.closeRequested = true;
      return;
    }
    if (controller.pendingPullIntos.length > 0) {
      const first = controller.pendingPullIntos.peek();
      if (first.bytesFilled % first.elementSize !== 0) {
        const e = new TypeErrorCtor("The stream closed in the middle of an element.");
        byteControllerError(controller, e);
        throw e;
      }
    }
    byteControllerClearAlgorithms(controller);
    readableClose(stream);
  }

  function byteControllerCommitPullIntoDescriptor(stream, descriptor) {
    let done = false;
    if (stream.state === "closed") done = true;
    const filledView = byteControllerConvertPullIntoDescriptor(descriptor);
    if (descriptor.readerType === "default") fulfillReadRequest(stream, filledView, done);
    else fulfillReadIntoRequest(stream, filledView, done);
  }

  function byteControllerConvertPullIntoDescriptor(descriptor) {
    const bytesFilled = descriptor.bytesFilled;
    const elementSize = descriptor.elementSize;
    const buffer = transfer(descriptor.buffer);
    return newView(descriptor.viewConstructor, buffer, descriptor.byteOffset, bytesFilled / elementSize);
  }

  function byteControllerEnqueue(controller, chunk) {
    const stream = controller.stream;
    if (controller.closeRequested || stream.state !== "readable") return;
    const info = viewInfo(chunk);
    if (isDetached(info.buffer)) throw new TypeErrorCtor("The chunk's buffer is detached.");
    const transferredBuffer = transfer(info.buffer);
    if (controller.pendingPullIntos.length > 0) {
      const first = controller.pendingPullIntos.peek();
      if (isDetached(first.buffer)) throw new TypeErrorCtor("The BYOB request's buffer is detached.");
      byteControllerInvalidateBYOBRequest(controller);
      first.buffer = transfer(first.buffer);
      if (first.readerType === "none") byteControllerEnqueueDetachedPullIntoToQueue(controller, first);
    }
    if (hasDefaultReader(stream)) {
      byteControllerProcessReadRequestsUsingQueue(controller);
      if (numReadRequests(stream) === 0) {
        byteControllerEnqueueChunkToQueue(controller, transferredBuffer, info.byteOffset, info.byteLength);
      } else {
        if (controller.pendingPullIntos.length > 0) byteControllerShiftPendingPullInto(controller);
        const transferredView = new Uint8ArrayCtor(transferredBuffer, info.byteOffset, info.byteLength);
        fulfillReadRequest(stream, transferredView, false);
      }
    } else if (hasBYOBReader(stream)) {
      byteControllerEnqueueChunkToQueue(controller, transferredBuffer, info.byteOffset, info.byteLength);
      const filled = byteControllerProcessPullIntoDescriptorsUsingQueue(controller);
      for (let i = 0; i < filled.length; i++) byteControllerCommitPullIntoDescriptor(stream, filled[i]);
    } else {
      byteControllerEnqueueChunkToQueue(controller, transferredBuffer, info.byteOffset, info.byteLength);
    }
    byteControllerCallPullIfNeeded(controller);
  }

  function byteControllerEnqueueChunkToQueue(controller, buffer, byteOffset, byteLength) {
    controller.queue.push({ __proto__: null, buffer, byteOffset, byteLength });
    controller.queueTotalSize += byteLength;
  }

  function byteControllerEnqueueClonedChunkToQueue(controller, buffer, byteOffset, byteLength) {
    let clone;
    try {
      clone = ArrayBufferPrototypeSlice(buffer, byteOffset, byteOffset + byteLength);
    } catch (error) {
      byteControllerError(controller, error);
      throw error;
    }
    byteControllerEnqueueChunkToQueue(controller, clone, 0, byteLength);
  }

  function byteControllerEnqueueDetachedPullIntoToQueue(controller, descriptor) {
    if (descriptor.bytesFilled > 0) {
      byteControllerEnqueueClonedChunkToQueue(controller, descriptor.buffer, descriptor.byteOffset, descriptor.bytesFilled);
    }
    byteControllerShiftPendingPullInto(controller);
  }

  function byteControllerFillPullIntoDescriptorFromQueue(controller, descriptor) {
    const maxBytesToCopy = MathMin(controller.queueTotalSize, descriptor.byteLength - descriptor.bytesFilled);
    const maxBytesFilled = descriptor.bytesFilled + maxBytesToCopy;
    let totalBytesToCopyRemaining = maxBytesToCopy;
    let ready = false;
    const remainderBytes = maxBytesFilled % descriptor.elementSize;
    const maxAlignedBytes = maxBytesFilled - remainderBytes;
    if (maxAlignedBytes >= descriptor.minimumFill) {
      totalBytesToCopyRemaining = maxAlignedBytes - descriptor.bytesFilled;
      ready = true;
    }
    const queue = controller.queue;
    while (totalBytesToCopyRemaining > 0) {
      const head = queue.peek();
      const bytesToCopy = MathMin(totalBytesToCopyRemaining, head.byteLength);
      const destStart = descriptor.byteOffset + descriptor.bytesFilled;
      copyDataBlockBytes(descriptor.buffer, destStart, head.buffer, head.byteOffset, bytesToCopy);
      if (head.byteLength === bytesToCopy) queue.shift();
      else {
        head.byteOffset += bytesToCopy;
        head.byteLength -= bytesToCopy;
      }
      controller.queueTotalSize -= bytesToCopy;
      byteControllerFillHeadPullIntoDescriptor(controller, bytesToCopy, descriptor);
      totalBytesToCopyRemaining -= bytesToCopy;
    }
    return ready;
  }

  function byteControllerFillReadRequestFromQueue(controller, request) {
    const entry = controller.queue.shift();
    controller.queueTotalSize -= entry.byteLength;
    byteControllerHandleQueueDrain(controller);
    request.chunk(new Uint8ArrayCtor(entry.buffer, entry.byteOffset, entry.byteLength));
  }

  function byteControllerGetBYOBRequest(controller) {
    if (controller.byobRequest === null && controller.pendingPullIntos.length > 0) {
      const first = controller.pendingPullIntos.peek();
      const view = new Uint8ArrayCtor(first.buffer, first.byteOffset + first.bytesFilled, first.byteLength - first.bytesFilled);
      const request = new ReadableStreamBYOBRequest(INTERNAL);
      const record = weakGet(records, request);
      record.controller = controller;
      record.view = view;
      controller.byobRequest = record;
    }
    return controller.byobRequest === null ? null : controller.byobRequest.object;
  }

  function byteControllerGetDesiredSize(controller) {
    const state = controller.stream.state;
    if (state === "errored") return null;
    if (state === "closed") return 0;
    return controller.strategyHWM - controller.queueTotalSize;
  }

  function byteControllerHandleQueueDrain(controller) {
    if (controller.queueTotalSize === 0 && controller.closeRequested) {
      byteControllerClearAlgorithms(controller);
      readableClose(controller.stream);
    } else {
      byteControllerCallPullIfNeeded(controller);
    }
  }

  function byteControllerInvalidateBYOBRequest(controller) {
    if (controller.byobRequest === null) return;
    controller.byobRequest.controller = undefined;
    controller.byobRequest.view = null;
    controller.byobRequest = null;
  }

  function byteControllerProcessPullIntoDescriptorsUsingQueue(controller) {
    const filled = [];
    while (controller.pendingPullIntos.length > 0) {
      if (controller.queueTotalSize === 0) break;
      const descriptor = controller.pendingPullIntos.peek();
      if (byteControllerFillPullIntoDescriptorFromQueue(controller, descriptor)) {
        byteControllerShiftPendingPullInto(controller);
        push(filled, descriptor);
      }
    }
    return filled;
  }

  function byteControllerProcessReadRequestsUsingQueue(controller) {
    const reader = controller.stream.reader;
    while (reader.readRequests.length > 0) {
      if (controller.queueTotalSize === 0) return;
      const request = reader.readRequests.shift();
      byteControllerFillReadRequestFromQueue(controller, request);
    }
  }

  function byteControllerPullInto(controller, view, min, request) {
    const stream = controller.stream;
    const info = viewInfo(view);
    const elementSize = info.elementSize;
    const ctor = info.ctor;
    const minimumFill = min * elementSize;
    let buffer;
    try {
      buffer = transfer(info.buffer);
    } catch (error) {
      request.error(error);
      return;
    }
    const descriptor = {
      __proto__: null,
      buffer,
      bufferByteLength: ArrayBufferGetByteLength(buffer),
      byteOffset: info.byteOffset,
      byteLength: info.byteLength,
      bytesFilled: 0,
      minimumFill,
      elementSize,
      viewConstructor: ctor,
      readerType: "byob",
    };
    if (controller.pendingPullIntos.length > 0) {
      controller.pendingPullIntos.push(descriptor);
      addReadIntoRequest(stream, request);
      return;
    }
    if (stream.state === "closed") {
      const emptyView = newView(ctor, descriptor.buffer, descriptor.byteOffset, 0);
      request.close(emptyView);
      return;
    }
    if (controller.queueTotalSize > 0) {
      if (byteControllerFillPullIntoDescriptorFromQueue(controller, descriptor)) {
        const filledView = byteControllerConvertPullIntoDescriptor(descriptor);
        byteControllerHandleQueueDrain(controller);
        request.chunk(filledView);
        return;
      }
      if (controller.closeRequested) {
        const e = new TypeErrorCtor("The stream closed in the middle of an element.");
        byteControllerError(controller, e);
        request.error(e);
        return;
      }
    }
    controller.pendingPullIntos.push(descriptor);
    addReadIntoRequest(stream, request);
    byteControllerCallPullIfNeeded(controller);
  }

  function byteControllerRespond(controller, bytesWritten) {
    const first = controller.pendingPullIntos.peek();
    const state = controller.stream.state;
    if (state === "closed") {
      if (bytesWritten !== 0) throw new TypeErrorCtor("A closed stream can only respond with 0 bytes.");
    } else {
      if (bytesWritten === 0) throw new TypeErrorCtor("A readable stream must respond with at least 1 byte.");
      if (first.bytesFilled + bytesWritten > first.byteLength) throw new RangeErrorCtor("More bytes written than the view holds.");
    }
    first.buffer = transfer(first.buffer);
    byteControllerRespondInternal(controller, bytesWritten);
  }

  function byteControllerRespondInClosedState(controller, first) {
    if (first.readerType === "none") byteControllerShiftPendingPullInto(controller);
    const stream = controller.stream;
    if (hasBYOBReader(stream)) {
      const filled = [];
      const count = numReadIntoRequests(stream);
      for (let i = 0; i < count; i++) push(filled, byteControllerShiftPendingPullInto(controller));
      for (let i = 0; i < filled.length; i++) byteControllerCommitPullIntoDescriptor(stream, filled[i]);
    }
  }

  function byteControllerRespondInReadableState(controller, bytesWritten, descriptor) {
    byteControllerFillHeadPullIntoDescriptor(controller, bytesWritten, descriptor);
    if (descriptor.readerType === "none") {
      byteControllerEnqueueDetachedPullIntoToQueue(controller, descriptor);
      const filled = byteControllerProcessPullIntoDescriptorsUsingQueue(controller);
      for (let i = 0; i < filled.length; i++) byteControllerCommitPullIntoDescriptor(controller.stream, filled[i]);
      return;
    }
    if (descriptor.bytesFilled < descriptor.minimumFill) return;
    byteControllerShiftPendingPullInto(controller);
    const remainderSize = descriptor.bytesFilled % descriptor.elementSize;
    if (remainderSize > 0) {
      const end = descriptor.byteOffset + descriptor.bytesFilled;
      byteControllerEnqueueClonedChunkToQueue(controller, descriptor.buffer, end - remainderSize, remainderSize);
    }
    descriptor.bytesFilled -= remainderSize;
    const filled = byteControllerProcessPullIntoDescriptorsUsingQueue(controller);
    byteControllerCommitPullIntoDescriptor(controller.stream, descriptor);
    for (let i = 0; i < filled.length; i++) byteControllerCommitPullIntoDescriptor(controller.stream, filled[i]);
  }

  function byteControllerRespondInternal(controller, bytesWritten) {
    const first = controller.pendingPullIntos.peek();
    byteControllerInvalidateBYOBRequest(controller);
    const state = controller.stream.state;
    if (state === "closed") byteControllerRespondInClosedState(controller, first);
    else byteControllerRespondInReadableState(controller, bytesWritten, first);
    byteControllerCallPullIfNeeded(controller);
  }

  function byteControllerRespondWithNewView(controller, view) {
    const first = controller.pendingPullIntos.peek();
    const info = viewInfo(view);
    const state = controller.stream.state;
    if (state === "closed") {
      if (info.byteLength !== 0) throw new TypeErrorCtor("A closed stream can only respond with an empty view.");
    } else if (info.byteLength === 0) {
      throw new TypeErrorCtor("A readable stream must respond with a non-empty view.");
    }
    if (first.byteOffset + first.bytesFilled !== info.byteOffset) throw new RangeErrorCtor("The view's offset does not match the request.");
    if (first.bufferByteLength !== ArrayBufferGetByteLength(info.buffer)) throw new RangeErrorCtor("The view's buffer length does not match the request.");
    if (first.bytesFilled + info.byteLength > first.byteLength) throw new RangeErrorCtor("The view is larger than the request.");
    const viewByteLength = info.byteLength;
    first.buffer = transfer(info.buffer);
    byteControllerRespondInternal(controller, viewByteLength);
  }

  function byteControllerShiftPendingPullInto(controller) {
    return controller.pendingPullIntos.shift();
  }

  function byteControllerFillHeadPullIntoDescriptor(controller, size, descriptor) {
    descriptor.bytesFilled += size;
  }

  function byteControllerError(controller, error) {
    const stream = controller.stream;
    if (stream.state !== "readable") return;
    byteControllerClearPendingPullIntos(controller);
    resetQueue(controller);
    byteControllerClearAlgorithms(controller);
    readableError(stream, error);
  }

  class ReadableByteStreamController {
    constructor(token, record) {
      if (token !== INTERNAL) throw new TypeErrorCtor("Illegal constructor");
      attach(this, record);
    }

    get byobRequest() {
      return byteControllerGetBYOBRequest(recordOf(this, "ReadableByteStreamController"));
    }

    get desiredSize() {
      return byteControllerGetDesiredSize(recordOf(this, "ReadableByteStreamController"));
    }

    close() {
      const controller = recordOf(this, "ReadableByteStreamController");
      if (controller.closeRequested) throw new TypeErrorCtor("The stream is already closing.");
      if (controller.stream.state !== "readable") throw new TypeErrorCtor("The stream cannot be closed.");
      byteControllerClose(controller);
    }

    enqueue(chunk) {
      const controller = recordOf(this, "ReadableByteStreamController");
      if (!isObject(chunk) || !ArrayBufferIsView(chunk)) throw new TypeErrorCtor("enqueue() needs an ArrayBufferView.");
      const info = viewInfo(chunk);
      if (info.byteLength === 0) throw new TypeErrorCtor("The chunk is empty.");
      if (ArrayBufferGetByteLength(info.buffer) === 0) throw new TypeErrorCtor("The chunk's buffer is empty.");
      if (controller.closeRequested) throw new TypeErrorCtor("The stream is closing.");
      if (controller.stream.state !== "readable") throw new TypeErrorCtor("The stream is not readable.");
      byteControllerEnqueue(controller, chunk);
    }

    error(e = undefined) {
      byteControllerError(recordOf(this, "ReadableByteStreamController"), e);
    }
  }
  defineTag(ReadableByteStreamController.prototype, "ReadableByteStreamController");
  enumerable(ReadableByteStreamController.prototype, ["byobRequest", "desiredSize", "close", "enqueue", "error"]);

  class ReadableStreamBYOBRequest {
    constructor(token) {
      if (token !== INTERNAL) throw new TypeErrorCtor("Illegal constructor");
      attach(this, { __proto__: null, kind: "ReadableStreamBYOBRequest", object: undefined, controller: undefined, view: null });
    }

    get view() {
      return recordOf(this, "ReadableStreamBYOBRequest").view;
    }

    respond(bytesWritten) {
      const request = recordOf(this, "ReadableStreamBYOBRequest");
      const written = enforceRangeUnsignedLongLong(bytesWritten, "bytesWritten");
      if (request.controller === undefined) throw new TypeErrorCtor("The request was already answered.");
      if (isDetached(TypedArrayGetBuffer(request.view))) throw new TypeErrorCtor("The view's buffer is detached.");
      byteControllerRespond(request.controller, written);
    }

    respondWithNewView(view) {
      const request = recordOf(this, "ReadableStreamBYOBRequest");
      if (!isObject(view) || !ArrayBufferIsView(view)) throw new TypeErrorCtor("respondWithNewView() needs an ArrayBufferView.");
      if (request.controller === undefined) throw new TypeErrorCtor("The request was already answered.");
      if (isDetached(viewInfo(view).buffer)) throw new TypeErrorCtor("The view's buffer is detached.");
      byteControllerRespondWithNewView(request.controller, view);
    }
  }
  defineTag(ReadableStreamBYOBRequest.prototype, "ReadableStreamBYOBRequest");
  enumerable(ReadableStreamBYOBRequest.prototype, ["view", "respond", "respondWithNewView"]);

  // ---------------------------------------------------------------------------------------------
  // tee

  function readableTee(stream, cloneForBranch2) {
    if (stream.controller.kind === "ReadableByteStreamController") return byteStreamTee(stream);
    return defaultTee(stream, cloneForBranch2);
  }

  // A branch's cancel: the source is cancelled, with both reasons, once both branches are.
  function teeCancel(stream, otherCanceled, reason1, reason2, cancelPromise) {
    if (otherCanceled) cancelPromise.resolve(readableCancel(stream, [reason1, reason2]));
    return cancelPromise.promise;
  }

  function defaultTee(stream, cloneForBranch2) {
    const reader = acquireDefaultReader(stream);
    let reading = false;
    let readAgain = false;
    let canceled1 = false;
    let canceled2 = false;
    let reason1, reason2, branch1, branch2;
    const cancelPromise = deferred();
    const pullAlgorithm = () => {
      if (reading) {
        readAgain = true;
        return resolved(undefined);
      }
      reading = true;
      const request = {
        __proto__: null,
        chunk: (chunk) => {
          queueMicrotaskLike(() => {
            readAgain = false;
            const chunk1 = chunk;
            let chunk2 = chunk;
            if (!canceled2 && cloneForBranch2) {
              try {
                chunk2 = structuredCloneHook(chunk);
              } catch (error) {
                defaultControllerError(branch1.controller, error);
                defaultControllerError(branch2.controller, error);
                cancelPromise.resolve(readableCancel(stream, error));
                return;
              }
            }
            if (!canceled1) defaultControllerEnqueue(branch1.controller, chunk1);
            if (!canceled2) defaultControllerEnqueue(branch2.controller, chunk2);
            reading = false;
            if (readAgain) pullAlgorithm();
          });
        },
        close: () => {
          reading = false;
          if (!canceled1) defaultControllerClose(branch1.controller);
          if (!canceled2) defaultControllerClose(branch2.controller);
          if (!canceled1 || !canceled2) cancelPromise.resolve(undefined);
        },
        error: () => {
          reading = false;
        },
      };
      defaultReaderRead(reader, request);
      return resolved(undefined);
    };
    const cancel1Algorithm = (reason) => {
      canceled1 = true;
      reason1 = reason;
      return teeCancel(stream, canceled2, reason1, reason2, cancelPromise);
    };
    const cancel2Algorithm = (reason) => {
      canceled2 = true;
      reason2 = reason;
      return teeCancel(stream, canceled1, reason1, reason2, cancelPromise);
    };
    const startAlgorithm = () => undefined;
    branch1 = createReadableStream(startAlgorithm, pullAlgorithm, cancel1Algorithm);
    branch2 = createReadableStream(startAlgorithm, pullAlgorithm, cancel2Algorithm);
    then(reader.closed.promise, undefined, (r) => {
      defaultControllerError(branch1.controller, r);
      defaultControllerError(branch2.controller, r);
      if (!canceled1 || !canceled2) cancelPromise.resolve(undefined);
    });
    return [branch1, branch2];
  }

  function byteStreamTee(stream) {
    let reader = acquireDefaultReader(stream);
    let reading = false;
    let readAgainForBranch1 = false;
    let readAgainForBranch2 = false;
    let canceled1 = false;
    let canceled2 = false;
    let reason1, reason2, branch1, branch2;
    const cancelPromise = deferred();
    const forwardReaderError = (thisReader) => {
      then(thisReader.closed.promise, undefined, (r) => {
        if (thisReader !== reader) return;
        byteControllerError(branch1.controller, r);
        byteControllerError(branch2.controller, r);
        if (!canceled1 || !canceled2) cancelPromise.resolve(undefined);
      });
    };
    const pullWithDefaultReader = () => {
      if (reader.kind === "ReadableStreamBYOBReader") {
        readerRelease(reader);
        readerErrorReadIntoRequests(reader, new TypeErrorCtor("The reader's lock was released."));
        reader = acquireDefaultReader(stream);
        forwardReaderError(reader);
      }
      const request = {
        __proto__: null,
        chunk: (chunk) => {
          queueMicrotaskLike(() => {
            readAgainForBranch1 = false;
            readAgainForBranch2 = false;
            const chunk1 = chunk;
            let chunk2 = chunk;
            if (!canceled1 && !canceled2) {
              try {
                chunk2 = cloneAsUint8Array(chunk);
              } catch (error) {
                byteControllerError(branch1.controller, error);
                byteControllerError(branch2.controller, error);
                cancelPromise.resolve(readableCancel(stream, error));
                return;
              }
            }
            if (!canceled1) byteControllerEnqueue(branch1.controller, chunk1);
            if (!canceled2) byteControllerEnqueue(branch2.controller, chunk2);
            reading = false;
            if (readAgainForBranch1) pull1Algorithm();
            else if (readAgainForBranch2) pull2Algorithm();
          });
        },
        close: () => {
          reading = false;
          if (!canceled1) byteControllerClose(branch1.controller);
          if (!canceled2) byteControllerClose(branch2.controller);
          if (branch1.controller.pendingPullIntos.length > 0) byteControllerRespond(branch1.controller, 0);
          if (branch2.controller.pendingPullIntos.length > 0) byteControllerRespond(branch2.controller, 0);
          if (!canceled1 || !canceled2) cancelPromise.resolve(undefined);
        },
        error: () => {
          reading = false;
        },
      };
      defaultReaderRead(reader, request);
    };
    const pullWithBYOBReader = (view, forBranch2) => {
      if (reader.kind === "ReadableStreamDefaultReader") {
        readerRelease(reader);
        readerErrorReadRequests(reader, new TypeErrorCtor("The reader's lock was released."));
        reader = acquireBYOBReader(stream);
        forwardReaderError(reader);
      }
      const byobBranch = forBranch2 ? branch2 : branch1;
      const otherBranch = forBranch2 ? branch1 : branch2;
      const request = {
        __proto__: null,
        chunk: (chunk) => {
          queueMicrotaskLike(() => {
            readAgainForBranch1 = false;
            readAgainForBranch2 = false;
            const byobCanceled = forBranch2 ? canceled2 : canceled1;
            const otherCanceled = forBranch2 ? canceled1 : canceled2;
            if (!otherCanceled) {
              let clonedChunk;
              try {
                clonedChunk = cloneAsUint8Array(chunk);
              } catch (error) {
                byteControllerError(byobBranch.controller, error);
                byteControllerError(otherBranch.controller, error);
                cancelPromise.resolve(readableCancel(stream, error));
                return;
              }
              if (!byobCanceled) byteControllerRespondWithNewView(byobBranch.controller, chunk);
              byteControllerEnqueue(otherBranch.controller, clonedChunk);
            } else if (!byobCanceled) {
              byteControllerRespondWithNewView(byobBranch.controller, chunk);
            }
            reading = false;
            if (readAgainForBranch1) pull1Algorithm();
            else if (readAgainForBranch2) pull2Algorithm();
          });
        },
        close: (chunk) => {
          reading = false;
          const byobCanceled = forBranch2 ? canceled2 : canceled1;
          const otherCanceled = forBranch2 ? canceled1 : canceled2;
          if (!byobCanceled) byteControllerClose(byobBranch.controller);
          if (!otherCanceled) byteControllerClose(otherBranch.controller);
          if (chunk !== undefined) {
            if (!byobCanceled) byteControllerRespondWithNewView(byobBranch.controller, chunk);
            if (!otherCanceled && otherBranch.controller.pendingPullIntos.length > 0) {
              byteControllerRespond(otherBranch.controller, 0);
            }
          }
          if (!byobCanceled || !otherCanceled) cancelPromise.resolve(undefined);
        },
        error: () => {
          reading = false;
        },
      };
      byobReaderRead(reader, view, 1, request);
    };
    const pull1Algorithm = () => {
      if (reading) {
        readAgainForBranch1 = true;
        return resolved(undefined);
      }
      reading = true;
      const byobRequest = byteControllerGetBYOBRequest(branch1.controller);
      if (byobRequest === null) pullWithDefaultReader();
      else pullWithBYOBReader(weakGet(records, byobRequest).view, false);
      return resolved(undefined);
    };
    const pull2Algorithm = () => {
      if (reading) {
        readAgainForBranch2 = true;
        return resolved(undefined);
      }
      reading = true;
      const byobRequest = byteControllerGetBYOBRequest(branch2.controller);
      if (byobRequest === null) pullWithDefaultReader();
      else pullWithBYOBReader(weakGet(records, byobRequest).view, true);
      return resolved(undefined);
    };
    const cancel1Algorithm = (reason) => {
      canceled1 = true;
      reason1 = reason;
      return teeCancel(stream, canceled2, reason1, reason2, cancelPromise);
    };
    const cancel2Algorithm = (reason) => {
      canceled2 = true;
      reason2 = reason;
      return teeCancel(stream, canceled1, reason1, reason2, cancelPromise);
    };
    const startAlgorithm = () => undefined;
    branch1 = createReadableByteStream(startAlgorithm, pull1Algorithm, cancel1Algorithm);
    branch2 = createReadableByteStream(startAlgorithm, pull2Algorithm, cancel2Algorithm);
    forwardReaderError(reader);
    return [branch1, branch2];
  }

  // The standard queues a microtask for a read request's chunk steps.
  function queueMicrotaskLike(fn) {
    then(resolved(undefined), fn);
  }

  let structuredCloneHook = (value) => value;

  // ---------------------------------------------------------------------------------------------
  // Async iteration and ReadableStream.from

  const asyncIterators = new WeakMapCtor();

  // WebIDL's async iterator: each next() and return() waits for the one before it.
  const ITERATION_END = ObjectFreeze({ __proto__: null });

  function iteratorState(iterator) {
    const state = isObject(iterator) ? weakGet(asyncIterators, iterator) : undefined;
    if (state === undefined) throw illegal("ReadableStream async iterator");
    return state;
  }

  const iteratorMethods = {
    next() {
      let state;
      try {
        state = iteratorState(this);
      } catch (error) {
        return rejected(error);
      }
      const nextSteps = () => {
        if (state.finished) return resolved({ value: undefined, done: true });
        return then(
          iteratorGetNext(state),
          (result) => {
            state.ongoing = undefined;
            if (result === ITERATION_END) {
              state.finished = true;
              return { value: undefined, done: true };
            }
            return { value: result, done: false };
          },
          (reason) => {
            state.ongoing = undefined;
            state.finished = true;
            throw reason;
          },
        );
      };
      state.ongoing = state.ongoing === undefined ? nextSteps() : then(state.ongoing, nextSteps, nextSteps);
      return state.ongoing;
    },
    return(value) {
      let state;
      try {
        state = iteratorState(this);
      } catch (error) {
        return rejected(error);
      }
      const returnSteps = () => {
        if (state.finished) return resolved(undefined);
        state.finished = true;
        return iteratorReturn(state, value);
      };
      const returnPromise = state.ongoing === undefined ? returnSteps() : then(state.ongoing, returnSteps, returnSteps);
      state.ongoing = returnPromise;
      return then(returnPromise, () => ({ value, done: true }));
    },
  };
  const ReadableStreamAsyncIteratorPrototype = ObjectCreate(AsyncIteratorPrototype);
  for (const name of ["next", "return"]) {
    ObjectDefineProperty(ReadableStreamAsyncIteratorPrototype, name, {
      __proto__: null,
      value: iteratorMethods[name],
      writable: true,
      enumerable: true,
      configurable: true,
    });
  }
  defineTag(ReadableStreamAsyncIteratorPrototype, "ReadableStream AsyncIterator");

  function newAsyncIterator(stream, preventCancel) {
    const reader = acquireDefaultReader(stream);
    const iterator = ObjectCreate(ReadableStreamAsyncIteratorPrototype);
    weakSet(asyncIterators, iterator, { __proto__: null, reader, preventCancel, ongoing: undefined, finished: false });
    return iterator;
  }

  // The stream's next chunk, or ITERATION_END once it closed (the reader then released).
  function iteratorGetNext(state) {
    const reader = state.reader;
    if (reader.stream === undefined) return rejected(new TypeErrorCtor("The iterator's reader was released."));
    const d = deferred();
    defaultReaderRead(reader, {
      __proto__: null,
      chunk: (chunk) => d.resolve(chunk),
      close: () => {
        readerRelease(reader);
        d.resolve(ITERATION_END);
      },
      error: (e) => {
        readerRelease(reader);
        d.reject(e);
      },
    });
    return d.promise;
  }

  function iteratorReturn(state, value) {
    const reader = state.reader;
    if (reader.stream === undefined) return resolved(undefined);
    if (!state.preventCancel) {
      const result = readerGenericCancel(reader, value);
      readerRelease(reader);
      return result;
    }
    readerRelease(reader);
    return resolved(undefined);
  }

  function readableFromIterable(asyncIterable) {
    if (!isObject(asyncIterable) && typeof asyncIterable !== "string") {
      throw new TypeErrorCtor("ReadableStream.from needs an iterable.");
    }
    let method = asyncIterable[SymbolAsyncIterator];
    let sync = false;
    if (method === undefined || method === null) {
      method = asyncIterable[SymbolIterator];
      sync = true;
    }
    if (typeof method !== "function") throw new TypeErrorCtor("ReadableStream.from needs an iterable.");
    const iterator = ReflectApply(method, asyncIterable, []);
    if (!isObject(iterator)) throw new TypeErrorCtor("The iterator is not an object.");
    const nextMethod = iterator.next;
    const pullAlgorithm = () => {
      let result;
      try {
        result = ReflectApply(nextMethod, iterator, []);
      } catch (error) {
        return rejected(error);
      }
      if (sync) {
        if (!isObject(result)) return rejected(new TypeErrorCtor("The iterator result is not an object."));
        const done = !!result.done;
        const value = result.value;
        return then(resolved(value), (v) => {
          if (done) defaultControllerClose(stream.controller);
          else defaultControllerEnqueue(stream.controller, v);
        });
      }
      return then(resolved(result), (r) => {
        if (!isObject(r)) throw new TypeErrorCtor("The iterator result is not an object.");
        if (r.done) defaultControllerClose(stream.controller);
        else defaultControllerEnqueue(stream.controller, r.value);
      });
    };
    const cancelAlgorithm = (reason) => {
      let returnMethod;
      try {
        returnMethod = iterator.return;
      } catch (error) {
        return rejected(error);
      }
      if (returnMethod === undefined || returnMethod === null) return resolved(undefined);
      let result;
      try {
        result = ReflectApply(returnMethod, iterator, [reason]);
      } catch (error) {
        return rejected(error);
      }
      return then(resolved(result), (r) => {
        if (!isObject(r)) throw new TypeErrorCtor("The iterator's return() result is not an object.");
      });
    };
    const stream = createReadableStream(() => undefined, pullAlgorithm, cancelAlgorithm, 0);
    return stream;
  }

  // =============================================================================================
  // WritableStream

  function newWritableRecord() {
    return {
      __proto__: null,
      kind: "WritableStream",
      object: undefined,
      state: "writable",
      storedError: undefined,
      writer: undefined,
      controller: undefined,
      inFlightWriteRequest: undefined,
      closeRequest: undefined,
      inFlightCloseRequest: undefined,
      pendingAbortRequest: undefined,
      writeRequests: new Queue(),
      backpressure: false,
    };
  }

  class WritableStream {
    constructor(underlyingSink = undefined, strategy = undefined) {
      if (underlyingSink === INTERNAL) {
        attach(this, newWritableRecord());
        return;
      }
      const sink = underlyingSink === undefined ? null : underlyingSink;
      if (underlyingSink !== undefined && !isObject(underlyingSink)) {
        throw new TypeErrorCtor("The underlying sink must be an object.");
      }
      const strat = strategyOf(strategy);
      const dict = sinkDict(sink);
      const stream = attach(this, newWritableRecord());
      if (dict.type !== undefined) throw new RangeErrorCtor("A writable stream has no type.");
      const sizeAlgorithm = extractSizeAlgorithm(strat);
      const hwm = extractHighWaterMark(strat, 1);
      setUpWritableControllerFromSink(stream, sink, dict, hwm, sizeAlgorithm);
    }

    get locked() {
      return writableIsLocked(recordOf(this, "WritableStream"));
    }

    abort(reason = undefined) {
      return withRecord(this, "WritableStream", (stream) =>
        writableIsLocked(stream) ? rejected(new TypeErrorCtor("Cannot abort a locked stream.")) : writableAbort(stream, reason),
      );
    }

    close() {
      return withRecord(this, "WritableStream", (stream) => {
        if (writableIsLocked(stream)) return rejected(new TypeErrorCtor("Cannot close a locked stream."));
        if (writableCloseQueuedOrInFlight(stream)) return rejected(new TypeErrorCtor("The stream is already closing."));
        return writableClose(stream);
      });
    }

    getWriter() {
      return acquireWriter(recordOf(this, "WritableStream")).object;
    }
  }
  defineTag(WritableStream.prototype, "WritableStream");
  enumerable(WritableStream.prototype, ["locked", "abort", "close", "getWriter"]);

  function sinkDict(sink) {
    const dict = { __proto__: null };
    if (sink === null) return dict;
    dict.abort = toFunction(sink.abort, "The underlying sink's abort");
    dict.close = toFunction(sink.close, "The underlying sink's close");
    dict.start = toFunction(sink.start, "The underlying sink's start");
    dict.type = sink.type;
    dict.write = toFunction(sink.write, "The underlying sink's write");
    return dict;
  }

  const writableIsLocked = (stream) => stream.writer !== undefined;

  function createWritableStream(startAlgorithm, writeAlgorithm, closeAlgorithm, abortAlgorithm, hwm = 1, sizeAlgorithm = () => 1) {
    const stream = weakGet(records, new WritableStream(INTERNAL));
    const controller = newWritableControllerRecord();
    setUpWritableController(stream, controller, startAlgorithm, writeAlgorithm, closeAlgorithm, abortAlgorithm, hwm, sizeAlgorithm);
    return stream;
  }

  function writableAbort(stream, reason) {
    if (stream.state === "closed" || stream.state === "errored") return resolved(undefined);
    signalAbort(stream.controller.abortSignal, reason);
    const state = stream.state;
    if (state === "closed" || state === "errored") return resolved(undefined);
    if (stream.pendingAbortRequest !== undefined) return stream.pendingAbortRequest.promise.promise;
    let wasAlreadyErroring = false;
    if (state === "erroring") {
      wasAlreadyErroring = true;
      reason = undefined;
    }
    const promise = deferred();
    stream.pendingAbortRequest = { __proto__: null, promise, reason, wasAlreadyErroring };
    if (!wasAlreadyErroring) writableStartErroring(stream, reason);
    return promise.promise;
  }

  function writableClose(stream) {
    const state = stream.state;
    if (state === "closed" || state === "errored") {
      return rejected(new TypeErrorCtor("The stream is closed or errored."));
    }
    const promise = deferred();
    stream.closeRequest = promise;
    const writer = stream.writer;
    if (writer !== undefined && stream.backpressure && state === "writable") writer.ready.resolve(undefined);
    writableControllerClose(stream.controller);
    return promise.promise;
  }

  function writableAddWriteRequest(stream) {
    const promise = deferred();
    stream.writeRequests.push(promise);
    return promise.promise;
  }

  function writableDealWithRejection(stream, error) {
    if (stream.state === "writable") {
      writableStartErroring(stream, error);
      return;
    }
    writableFinishErroring(stream);
  }

  function writableStartErroring(stream, reason) {
    const controller = stream.controller;
    stream.state = "erroring";
    stream.storedError = reason;
    const writer = stream.writer;
    if (writer !== undefined) writerEnsureReadyPromiseRejected(writer, reason);
    if (!writableHasOperationMarkedInFlight(stream) && controller.started) writableFinishErroring(stream);
  }

  function writableFinishErroring(stream) {
    stream.state = "errored";
    stream.controller.errorSteps();
    const storedError = stream.storedError;
    const requests = stream.writeRequests;
    stream.writeRequests = new Queue();
    while (requests.length > 0) requests.shift().reject(storedError);
    if (stream.pendingAbortRequest === undefined) {
      writableRejectCloseAndClosedPromiseIfNeeded(stream);
      return;
    }
    const abortRequest = stream.pendingAbortRequest;
    stream.pendingAbortRequest = undefined;
    if (abortRequest.wasAlreadyErroring) {
      abortRequest.promise.reject(storedError);
      writableRejectCloseAndClosedPromiseIfNeeded(stream);
      return;
    }
    const promise = stream.controller.abortSteps(abortRequest.reason);
    then(
      promise,
      () => {
        abortRequest.promise.resolve(undefined);
        writableRejectCloseAndClosedPromiseIfNeeded(stream);
      },
      (reason) => {
        abortRequest.promise.reject(reason);
        writableRejectCloseAndClosedPromiseIfNeeded(stream);
      },
    );
  }

  function writableFinishInFlightWrite(stream) {
    stream.inFlightWriteRequest.resolve(undefined);
    stream.inFlightWriteRequest = undefined;
  }

  function writableFinishInFlightWriteWithError(stream, error) {
    stream.inFlightWriteRequest.reject(error);
    stream.inFlightWriteRequest = undefined;
    writableDealWithRejection(stream, error);
  }

  function writableFinishInFlightClose(stream) {
    stream.inFlightCloseRequest.resolve(undefined);
    stream.inFlightCloseRequest = undefined;
    const state = stream.state;
    if (state === "erroring") {
      stream.storedError = undefined;
      if (stream.pendingAbortRequest !== undefined) {
        stream.pendingAbortRequest.promise.resolve(undefined);
        stream.pendingAbortRequest = undefined;
      }
    }
    stream.state = "closed";
    const writer = stream.writer;
    if (writer !== undefined) writer.closed.resolve(undefined);
  }

  function writableFinishInFlightCloseWithError(stream, error) {
    stream.inFlightCloseRequest.reject(error);
    stream.inFlightCloseRequest = undefined;
    if (stream.pendingAbortRequest !== undefined) {
      stream.pendingAbortRequest.promise.reject(error);
      stream.pendingAbortRequest = undefined;
    }
    writableDealWithRejection(stream, error);
  }

  function writableCloseQueuedOrInFlight(stream) {
    return stream.closeRequest !== undefined || stream.inFlightCloseRequest !== undefined;
  }

  function writableHasOperationMarkedInFlight(stream) {
    return stream.inFlightWriteRequest !== undefined || stream.inFlightCloseRequest !== undefined;
  }

  function writableMarkCloseRequestInFlight(stream) {
    stream.inFlightCloseRequest = stream.closeRequest;
    stream.closeRequest = undefined;
  }

  function writableMarkFirstWriteRequestInFlight(stream) {
    stream.inFlightWriteRequest = stream.writeRequests.shift();
  }

  function writableRejectCloseAndClosedPromiseIfNeeded(stream) {
    if (stream.closeRequest !== undefined) {
      stream.closeRequest.reject(stream.storedError);
      stream.closeRequest = undefined;
    }
    const writer = stream.writer;
    if (writer !== undefined) {
      writer.closed.reject(stream.storedError);
      setHandled(writer.closed.promise);
    }
  }

  function writableUpdateBackpressure(stream, backpressure) {
    const writer = stream.writer;
    if (writer !== undefined && backpressure !== stream.backpressure) {
      if (backpressure) writer.ready = deferred();
      else writer.ready.resolve(undefined);
    }
    stream.backpressure = backpressure;
  }

  // ---------------------------------------------------------------------------------------------
  // WritableStreamDefaultWriter

  function newWriterRecord() {
    return {
      __proto__: null,
      kind: "WritableStreamDefaultWriter",
      object: undefined,
      stream: undefined,
      ready: undefined,
      closed: undefined,
    };
  }

  function acquireWriter(stream) {
    const writer = weakGet(records, new WritableStreamDefaultWriter(INTERNAL));
    setUpWriter(writer, stream);
    return writer;
  }

  function rejectedDeferred(reason) {
    const d = deferred();
    d.reject(reason);
    setHandled(d.promise);
    return d;
  }

  function resolvedDeferred() {
    const d = deferred();
    d.resolve(undefined);
    return d;
  }

  function setUpWriter(writer, stream) {
    if (writableIsLocked(stream)) throw new TypeErrorCtor("The stream is locked to a writer.");
    writer.stream = stream;
    stream.writer = writer;
    const state = stream.state;
    if (state === "writable") {
      writer.ready = !writableCloseQueuedOrInFlight(stream) && stream.backpressure ? deferred() : resolvedDeferred();
      writer.closed = deferred();
    } else if (state === "erroring") {
      writer.ready = rejectedDeferred(stream.storedError);
      writer.closed = deferred();
    } else if (state === "closed") {
      writer.ready = resolvedDeferred();
      writer.closed = resolvedDeferred();
    } else {
      writer.ready = rejectedDeferred(stream.storedError);
      writer.closed = rejectedDeferred(stream.storedError);
    }
  }

  function writerAbort(writer, reason) {
    return writableAbort(writer.stream, reason);
  }

  function writerClose(writer) {
    return writableClose(writer.stream);
  }

  function writerCloseWithErrorPropagation(writer) {
    const stream = writer.stream;
    const state = stream.state;
    if (writableCloseQueuedOrInFlight(stream) || state === "closed") return resolved(undefined);
    if (state === "errored") return rejected(stream.storedError);
    return writerClose(writer);
  }

  function writerEnsureClosedPromiseRejected(writer, error) {
    if (writer.closed.pending) writer.closed.reject(error);
    else writer.closed = rejectedDeferred(error);
    setHandled(writer.closed.promise);
  }

  function writerEnsureReadyPromiseRejected(writer, error) {
    if (writer.ready.pending) writer.ready.reject(error);
    else writer.ready = rejectedDeferred(error);
    setHandled(writer.ready.promise);
  }

  function writerGetDesiredSize(writer) {
    const stream = writer.stream;
    const state = stream.state;
    if (state === "errored" || state === "erroring") return null;
    if (state === "closed") return 0;
    return writableControllerGetDesiredSize(stream.controller);
  }

  function writerRelease(writer) {
    const stream = writer.stream;
    const releasedError = new TypeErrorCtor("The writer's lock was released.");
    writerEnsureReadyPromiseRejected(writer, releasedError);
    writerEnsureClosedPromiseRejected(writer, releasedError);
    stream.writer = undefined;
    writer.stream = undefined;
  }

  function writerWrite(writer, chunk) {
    const stream = writer.stream;
    const controller = stream.controller;
    const chunkSize = writableControllerGetChunkSize(controller, chunk);
    if (stream !== writer.stream) return rejected(new TypeErrorCtor("The writer's lock was released."));
    const state = stream.state;
    if (state === "errored") return rejected(stream.storedError);
    if (writableCloseQueuedOrInFlight(stream) || state === "closed") {
      return rejected(new TypeErrorCtor("The stream is closing or closed."));
    }
    if (state === "erroring") return rejected(stream.storedError);
    const promise = writableAddWriteRequest(stream);
    writableControllerWrite(controller, chunk, chunkSize);
    return promise;
  }

  // A writer method's steps, refused once the writer has released its stream.
  function withWriter(object, steps) {
    return withRecord(object, "WritableStreamDefaultWriter", (writer) =>
      writer.stream === undefined ? rejected(new TypeErrorCtor("The writer has no stream.")) : steps(writer),
    );
  }

  class WritableStreamDefaultWriter {
    constructor(stream) {
      if (stream === INTERNAL) {
        attach(this, newWriterRecord());
        return;
      }
      const streamRecord = recordOfOrThrow(stream, "WritableStream", "The argument");
      const writer = attach(this, newWriterRecord());
      setUpWriter(writer, streamRecord);
    }

    get closed() {
      return withRecord(this, "WritableStreamDefaultWriter", (writer) => writer.closed.promise);
    }

    get desiredSize() {
      const writer = recordOf(this, "WritableStreamDefaultWriter");
      if (writer.stream === undefined) throw new TypeErrorCtor("The writer has no stream.");
      return writerGetDesiredSize(writer);
    }

    get ready() {
      return withRecord(this, "WritableStreamDefaultWriter", (writer) => writer.ready.promise);
    }

    abort(reason = undefined) {
      return withWriter(this, (writer) => writerAbort(writer, reason));
    }

    close() {
      return withWriter(this, (writer) =>
        writableCloseQueuedOrInFlight(writer.stream)
          ? rejected(new TypeErrorCtor("The stream is already closing."))
          : writerClose(writer),
      );
    }

    releaseLock() {
      const writer = recordOf(this, "WritableStreamDefaultWriter");
      if (writer.stream === undefined) return;
      writerRelease(writer);
    }

    write(chunk = undefined) {
      return withWriter(this, (writer) => writerWrite(writer, chunk));
    }
  }
  defineTag(WritableStreamDefaultWriter.prototype, "WritableStreamDefaultWriter");
  enumerable(WritableStreamDefaultWriter.prototype, ["closed", "desiredSize", "ready", "abort", "close", "releaseLock", "write"]);

  // ---------------------------------------------------------------------------------------------
  // WritableStreamDefaultController

  const CLOSE_SENTINEL = ObjectFreeze({ __proto__: null });

  function newWritableControllerRecord() {
    const controller = {
      __proto__: null,
      kind: "WritableStreamDefaultController",
      object: undefined,
      stream: undefined,
      queue: new Queue(),
      queueTotalSize: 0,
      abortSignal: undefined,
      started: false,
      strategySizeAlgorithm: undefined,
      strategyHWM: 0,
      writeAlgorithm: undefined,
      closeAlgorithm: undefined,
      abortAlgorithm: undefined,
      abortSteps: undefined,
      errorSteps: undefined,
    };
    controller.abortSteps = (reason) => {
      const result = controller.abortAlgorithm(reason);
      writableControllerClearAlgorithms(controller);
      return result;
    };
    controller.errorSteps = () => resetQueue(controller);
    new WritableStreamDefaultController(INTERNAL, controller);
    return controller;
  }

  function setUpWritableController(stream, controller, startAlgorithm, writeAlgorithm, closeAlgorithm, abortAlgorithm, hwm, sizeAlgorithm) {
    controller.stream = stream;
    stream.controller = controller;
    resetQueue(controller);
    controller.abortSignal = newSignal();
    controller.started = false;
    controller.strategySizeAlgorithm = sizeAlgorithm;
    controller.strategyHWM = hwm;
    controller.writeAlgorithm = writeAlgorithm;
    controller.closeAlgorithm = closeAlgorithm;
    controller.abortAlgorithm = abortAlgorithm;
    const backpressure = writableControllerGetBackpressure(controller);
    writableUpdateBackpressure(stream, backpressure);
    const startResult = startAlgorithm();
    then(
      resolved(startResult),
      () => {
        controller.started = true;
        writableControllerAdvanceQueueIfNeeded(controller);
      },
      (r) => {
        controller.started = true;
        writableDealWithRejection(stream, r);
      },
    );
  }

  function setUpWritableControllerFromSink(stream, sink, dict, hwm, sizeAlgorithm) {
    const controller = newWritableControllerRecord();
    const start = dict.start;
    const write = dict.write;
    const close = dict.close;
    const abort = dict.abort;
    const startAlgorithm = () => (start === undefined ? undefined : ReflectApply(start, sink, [controller.object]));
    const writeAlgorithm = (chunk) => promiseCall(write, sink, [chunk, controller.object]);
    const closeAlgorithm = () => promiseCall(close, sink, []);
    const abortAlgorithm = (reason) => promiseCall(abort, sink, [reason]);
    setUpWritableController(stream, controller, startAlgorithm, writeAlgorithm, closeAlgorithm, abortAlgorithm, hwm, sizeAlgorithm);
  }

  function writableControllerAdvanceQueueIfNeeded(controller) {
    const stream = controller.stream;
    if (!controller.started) return;
    if (stream.inFlightWriteRequest !== undefined) return;
    const state = stream.state;
    if (state === "erroring") {
      writableFinishErroring(stream);
      return;
    }
    if (controller.queue.length === 0) return;
    const value = controller.queue.peek().value;
    if (value === CLOSE_SENTINEL) writableControllerProcessClose(controller);
    else writableControllerProcessWrite(controller, value);
  }

  function writableControllerClearAlgorithms(controller) {
    controller.writeAlgorithm = undefined;
    controller.closeAlgorithm = undefined;
    controller.abortAlgorithm = undefined;
    controller.strategySizeAlgorithm = undefined;
  }

  function writableControllerClose(controller) {
    enqueueValueWithSize(controller, CLOSE_SENTINEL, 0);
    writableControllerAdvanceQueueIfNeeded(controller);
  }

  function writableControllerError(controller, error) {
    const stream = controller.stream;
    writableControllerClearAlgorithms(controller);
    writableStartErroring(stream, error);
  }

  function writableControllerErrorIfNeeded(controller, error) {
    if (controller.stream.state === "writable") writableControllerError(controller, error);
  }

  function writableControllerGetBackpressure(controller) {
    return writableControllerGetDesiredSize(controller) <= 0;
  }

  function writableControllerGetChunkSize(controller, chunk) {
    if (controller.strategySizeAlgorithm === undefined) return 1;
    try {
      return controller.strategySizeAlgorithm(chunk);
    } catch (error) {
      writableControllerErrorIfNeeded(controller, error);
      return 1;
    }
  }

  function writableControllerGetDesiredSize(controller) {
    return controller.strategyHWM - controller.queueTotalSize;
  }

  function writableControllerProcessClose(controller) {
    const stream = controller.stream;
    writableMarkCloseRequestInFlight(stream);
    dequeueValue(controller);
    const sinkClosePromise = controller.closeAlgorithm();
    writableControllerClearAlgorithms(controller);
    then(
      sinkClosePromise,
      () => writableFinishInFlightClose(stream),
      (reason) => writableFinishInFlightCloseWithError(stream, reason),
    );
  }

  function writableControllerProcessWrite(controller, chunk) {
    const stream = controller.stream;
    writableMarkFirstWriteRequestInFlight(stream);
    const sinkWritePromise = controller.writeAlgorithm(chunk);
    then(
      sinkWritePromise,
      () => {
        writableFinishInFlightWrite(stream);
        const state = stream.state;
        dequeueValue(controller);
        if (!writableCloseQueuedOrInFlight(stream) && state === "writable") {
          writableUpdateBackpressure(stream, writableControllerGetBackpressure(controller));
        }
        writableControllerAdvanceQueueIfNeeded(controller);
      },
      (reason) => {
        if (stream.state === "writable") writableControllerClearAlgorithms(controller);
        writableFinishInFlightWriteWithError(stream, reason);
      },
    );
  }

  function writableControllerWrite(controller, chunk, chunkSize) {
    try {
      enqueueValueWithSize(controller, chunk, chunkSize);
    } catch (error) {
      writableControllerErrorIfNeeded(controller, error);
      return;
    }
    const stream = controller.stream;
    if (!writableCloseQueuedOrInFlight(stream) && stream.state === "writable") {
      writableUpdateBackpressure(stream, writableControllerGetBackpressure(controller));
    }
    writableControllerAdvanceQueueIfNeeded(controller);
  }

  class WritableStreamDefaultController {
    constructor(token, record) {
      if (token !== INTERNAL) throw new TypeErrorCtor("Illegal constructor");
      attach(this, record);
    }

    get signal() {
      return recordOf(this, "WritableStreamDefaultController").abortSignal;
    }

    error(e = undefined) {
      const controller = recordOf(this, "WritableStreamDefaultController");
      if (controller.stream.state !== "writable") return;
      writableControllerError(controller, e);
    }
  }
  defineTag(WritableStreamDefaultController.prototype, "WritableStreamDefaultController");
  enumerable(WritableStreamDefaultController.prototype, ["signal", "error"]);

  // =============================================================================================
  // pipeTo

  function pipeTo(source, dest, preventClose, preventAbort, preventCancel, signal) {
    const reader = acquireDefaultReader(source);
    const writer = acquireWriter(dest);
    source.disturbed = true;
    let shuttingDown = false;
    let currentWrite = resolved(undefined);
    const promise = deferred();
    let abortAlgorithm;

    const waitForWritesToFinish = () => {
      const oldCurrentWrite = currentWrite;
      return then(oldCurrentWrite, () => (oldCurrentWrite !== currentWrite ? waitForWritesToFinish() : undefined));
    };

    const finalize = (isError, error) => {
      writerRelease(writer);
      readerRelease(reader);
      if (signal !== undefined) removeAbortAlgorithm(signal, abortAlgorithm);
      if (isError) promise.reject(error);
      else promise.resolve(undefined);
    };

    const shutdownWithAction = (action, originalIsError, originalError) => {
      if (shuttingDown) return;
      shuttingDown = true;
      const doAction = () => {
        then(
          action(),
          () => finalize(originalIsError, originalError),
          (newError) => finalize(true, newError),
        );
      };
      if (dest.state === "writable" && !writableCloseQueuedOrInFlight(dest)) then(waitForWritesToFinish(), doAction);
      else doAction();
    };

    const shutdown = (isError, error) => {
      if (shuttingDown) return;
      shuttingDown = true;
      if (dest.state === "writable" && !writableCloseQueuedOrInFlight(dest)) {
        then(waitForWritesToFinish(), () => finalize(isError, error));
      } else {
        finalize(isError, error);
      }
    };

    if (signal !== undefined) {
      abortAlgorithm = () => {
        const error = signalReason(signal);
        const actions = [];
        if (!preventAbort) {
          push(actions, () => (dest.state === "writable" ? writableAbort(dest, error) : resolved(undefined)));
        }
        if (!preventCancel) {
          push(actions, () => (source.state === "readable" ? readableCancel(source, error) : resolved(undefined)));
        }
        shutdownWithAction(
          () => {
            const results = [];
            for (let i = 0; i < actions.length; i++) push(results, actions[i]());
            return waitAll(results);
          },
          true,
          error,
        );
      };
      if (signalAborted(signal)) {
        abortAlgorithm();
        return promise.promise;
      }
      addAbortAlgorithm(signal, abortAlgorithm);
    }

    // Errors and closes must be propagated forward and backward.
    const isOrBecomesErrored = (stream, closedPromise, action) => {
      if (stream.state === "errored") action(stream.storedError);
      else then(closedPromise, undefined, action);
    };
    const isOrBecomesClosed = (stream, closedPromise, action) => {
      if (stream.state === "closed") action();
      else then(closedPromise, action, undefined);
    };

    isOrBecomesErrored(source, reader.closed.promise, (storedError) => {
      if (!preventAbort) shutdownWithAction(() => writableAbort(dest, storedError), true, storedError);
      else shutdown(true, storedError);
    });
    isOrBecomesErrored(dest, writer.closed.promise, (storedError) => {
      if (!preventCancel) shutdownWithAction(() => readableCancel(source, storedError), true, storedError);
      else shutdown(true, storedError);
    });
    isOrBecomesClosed(source, reader.closed.promise, () => {
      if (!preventClose) shutdownWithAction(() => writerCloseWithErrorPropagation(writer));
      else shutdown();
    });
    if (writableCloseQueuedOrInFlight(dest) || dest.state === "closed") {
      const destClosed = new TypeErrorCtor("The destination is closed.");
      if (!preventCancel) shutdownWithAction(() => readableCancel(source, destClosed), true, destClosed);
      else shutdown(true, destClosed);
    }

    // The loop: wait for the writer to be ready, read a chunk, write it; never more than the
    // destination's desired size ahead.
    const pipeStep = () => {
      if (shuttingDown) return resolved(true);
      return then(writer.ready.promise, () => {
        const d = deferred();
        defaultReaderRead(reader, {
          __proto__: null,
          // Written a microtask later: a source's enqueue() never runs the sink's write().
          chunk: (chunk) =>
            queueMicrotaskLike(() => {
              currentWrite = then(writerWrite(writer, chunk), undefined, noop);
              d.resolve(false);
            }),
          close: () => d.resolve(true),
          error: (e) => d.reject(e),
        });
        return d.promise;
      });
    };
    const loop = () => {
      then(
        pipeStep(),
        (done) => {
          if (!done) loop();
        },
        noop,
      );
    };
    loop();
    return promise.promise;
  }

  function waitAll(promises) {
    const d = deferred();
    let remaining = promises.length;
    if (remaining === 0) d.resolve(undefined);
    for (let i = 0; i < promises.length; i++) {
      then(
        promises[i],
        () => {
          if (--remaining === 0) d.resolve(undefined);
        },
        (e) => d.reject(e),
      );
    }
    return d.promise;
  }

  // =============================================================================================
  // TransformStream

  function newTransformRecord() {
    return {
      __proto__: null,
      kind: "TransformStream",
      object: undefined,
      readable: undefined,
      writable: undefined,
      backpressure: undefined,
      backpressureChangePromise: undefined,
      controller: undefined,
    };
  }

  class TransformStream {
    constructor(transformer = undefined, writableStrategy = undefined, readableStrategy = undefined) {
      if (transformer === INTERNAL) {
        attach(this, newTransformRecord());
        return;
      }
      const source = transformer === undefined ? null : transformer;
      if (transformer !== undefined && !isObject(transformer)) throw new TypeErrorCtor("The transformer must be an object.");
      const writableStrat = strategyOf(writableStrategy);
      const readableStrat = strategyOf(readableStrategy);
      const dict = transformerDict(source);
      if (dict.readableType !== undefined) throw new RangeErrorCtor("readableType is not supported.");
      if (dict.writableType !== undefined) throw new RangeErrorCtor("writableType is not supported.");
      const readableHWM = extractHighWaterMark(readableStrat, 0);
      const readableSize = extractSizeAlgorithm(readableStrat);
      const writableHWM = extractHighWaterMark(writableStrat, 1);
      const writableSize = extractSizeAlgorithm(writableStrat);
      const stream = attach(this, newTransformRecord());
      const startPromise = deferred();
      initializeTransformStream(stream, startPromise.promise, writableHWM, writableSize, readableHWM, readableSize);
      setUpTransformControllerFromTransformer(stream, source, dict);
      if (dict.start !== undefined) startPromise.resolve(ReflectApply(dict.start, source, [stream.controller.object]));
      else startPromise.resolve(undefined);
    }

    get readable() {
      return recordOf(this, "TransformStream").readable.object;
    }

    get writable() {
      return recordOf(this, "TransformStream").writable.object;
    }
  }
  defineTag(TransformStream.prototype, "TransformStream");
  enumerable(TransformStream.prototype, ["readable", "writable"]);

  function transformerDict(transformer) {
    const dict = { __proto__: null };
    if (transformer === null) return dict;
    dict.cancel = toFunction(transformer.cancel, "The transformer's cancel");
    dict.flush = toFunction(transformer.flush, "The transformer's flush");
    dict.readableType = transformer.readableType;
    dict.start = toFunction(transformer.start, "The transformer's start");
    dict.transform = toFunction(transformer.transform, "The transformer's transform");
    dict.writableType = transformer.writableType;
    return dict;
  }

  function initializeTransformStream(stream, startPromise, writableHWM, writableSize, readableHWM, readableSize) {
    const startAlgorithm = () => startPromise;
    const writeAlgorithm = (chunk) => transformSinkWrite(stream, chunk);
    const abortAlgorithm = (reason) => transformSinkAbort(stream, reason);
    const closeAlgorithm = () => transformSinkClose(stream);
    stream.writable = createWritableStream(startAlgorithm, writeAlgorithm, closeAlgorithm, abortAlgorithm, writableHWM, writableSize);
    const pullAlgorithm = () => transformSourcePull(stream);
    const cancelAlgorithm = (reason) => transformSourceCancel(stream, reason);
    stream.readable = createReadableStream(startAlgorithm, pullAlgorithm, cancelAlgorithm, readableHWM, readableSize);
    stream.backpressure = undefined;
    stream.backpressureChangePromise = undefined;
    transformSetBackpressure(stream, true);
    stream.controller = undefined;
  }

  function transformError(stream, error) {
    defaultControllerError(stream.readable.controller, error);
    transformErrorWritableAndUnblockWrite(stream, error);
  }

  function transformErrorWritableAndUnblockWrite(stream, error) {
    transformControllerClearAlgorithms(stream.controller);
    writableControllerErrorIfNeeded(stream.writable.controller, error);
    transformUnblockWrite(stream);
  }

  function transformUnblockWrite(stream) {
    if (stream.backpressure) transformSetBackpressure(stream, false);
  }

  function transformSetBackpressure(stream, backpressure) {
    if (stream.backpressureChangePromise !== undefined) stream.backpressureChangePromise.resolve(undefined);
    stream.backpressureChangePromise = deferred();
    stream.backpressure = backpressure;
  }

  function newTransformControllerRecord() {
    const controller = {
      __proto__: null,
      kind: "TransformStreamDefaultController",
      object: undefined,
      stream: undefined,
      transformAlgorithm: undefined,
      flushAlgorithm: undefined,
      cancelAlgorithm: undefined,
      finishPromise: undefined,
    };
    new TransformStreamDefaultController(INTERNAL, controller);
    return controller;
  }

  function setUpTransformController(stream, controller, transformAlgorithm, flushAlgorithm, cancelAlgorithm) {
    controller.stream = stream;
    stream.controller = controller;
    controller.transformAlgorithm = transformAlgorithm;
    controller.flushAlgorithm = flushAlgorithm;
    controller.cancelAlgorithm = cancelAlgorithm;
  }

  function setUpTransformControllerFromTransformer(stream, transformer, dict) {
    const controller = newTransformControllerRecord();
    const transform = dict.transform;
    const flush = dict.flush;
    const cancel = dict.cancel;
    let transformAlgorithm = (chunk) => {
      try {
        transformControllerEnqueue(controller, chunk);
        return resolved(undefined);
      } catch (error) {
        return rejected(error);
      }
    };
    if (transform !== undefined) transformAlgorithm = (chunk) => promiseCall(transform, transformer, [chunk, controller.object]);
    const flushAlgorithm = () => promiseCall(flush, transformer, [controller.object]);
    const cancelAlgorithm = (reason) => promiseCall(cancel, transformer, [reason]);
    setUpTransformController(stream, controller, transformAlgorithm, flushAlgorithm, cancelAlgorithm);
  }

  function transformControllerClearAlgorithms(controller) {
    controller.transformAlgorithm = undefined;
    controller.flushAlgorithm = undefined;
    controller.cancelAlgorithm = undefined;
  }

  function transformControllerEnqueue(controller, chunk) {
    const stream = controller.stream;
    const readableController = stream.readable.controller;
    if (!defaultControllerCanCloseOrEnqueue(readableController)) {
      throw new TypeErrorCtor("The readable side cannot be enqueued to.");
    }
    try {
      defaultControllerEnqueue(readableController, chunk);
    } catch (error) {
      transformErrorWritableAndUnblockWrite(stream, error);
      throw stream.readable.storedError;
    }
    const backpressure = defaultControllerHasBackpressure(readableController);
    if (backpressure !== stream.backpressure) transformSetBackpressure(stream, true);
  }

  function transformControllerError(controller, error) {
    transformError(controller.stream, error);
  }

  function transformControllerPerformTransform(controller, chunk) {
    const transformPromise = controller.transformAlgorithm(chunk);
    return then(transformPromise, undefined, (r) => {
      transformError(controller.stream, r);
      throw r;
    });
  }

  function transformControllerTerminate(controller) {
    const stream = controller.stream;
    defaultControllerClose(stream.readable.controller);
    const error = new TypeErrorCtor("The transform stream was terminated.");
    transformErrorWritableAndUnblockWrite(stream, error);
  }

  function transformSinkWrite(stream, chunk) {
    const controller = stream.controller;
    if (stream.backpressure) {
      const backpressureChangePromise = stream.backpressureChangePromise.promise;
      return then(backpressureChangePromise, () => {
        const writable = stream.writable;
        if (writable.state === "erroring") throw writable.storedError;
        return transformControllerPerformTransform(controller, chunk);
      });
    }
    return transformControllerPerformTransform(controller, chunk);
  }

  // The sink's abort and close and the source's cancel each finish the transform once: `run`
  // starts the tenant's algorithm; when it settles, `other` (the opposite side) is closed or
  // errored by `onFulfilled` / `onRejected`, unless it already errored.
  function transformFinish(stream, run, other, onFulfilled, onRejected) {
    const controller = stream.controller;
    if (controller.finishPromise !== undefined) return controller.finishPromise.promise;
    controller.finishPromise = deferred();
    const finish = controller.finishPromise;
    const promise = run(controller);
    transformControllerClearAlgorithms(controller);
    then(
      promise,
      () => {
        if (other.state === "errored") finish.reject(other.storedError);
        else {
          onFulfilled();
          finish.resolve(undefined);
        }
      },
      (r) => {
        onRejected(r);
        finish.reject(r);
      },
    );
    return finish.promise;
  }

  function transformSinkAbort(stream, reason) {
    const readable = stream.readable;
    return transformFinish(
      stream,
      (controller) => controller.cancelAlgorithm(reason),
      readable,
      () => defaultControllerError(readable.controller, reason),
      (r) => defaultControllerError(readable.controller, r),
    );
  }

  function transformSinkClose(stream) {
    const readable = stream.readable;
    return transformFinish(
      stream,
      (controller) => controller.flushAlgorithm(),
      readable,
      () => defaultControllerClose(readable.controller),
      (r) => defaultControllerError(readable.controller, r),
    );
  }

  function transformSourcePull(stream) {
    transformSetBackpressure(stream, false);
    return stream.backpressureChangePromise.promise;
  }

  function transformSourceCancel(stream, reason) {
    const writable = stream.writable;
    const errorWritable = (error) => {
      writableControllerErrorIfNeeded(writable.controller, error);
      transformUnblockWrite(stream);
    };
    return transformFinish(
      stream,
      (controller) => controller.cancelAlgorithm(reason),
      writable,
      () => errorWritable(reason),
      errorWritable,
    );
  }

  class TransformStreamDefaultController {
    constructor(token, record) {
      if (token !== INTERNAL) throw new TypeErrorCtor("Illegal constructor");
      attach(this, record);
    }

    get desiredSize() {
      const controller = recordOf(this, "TransformStreamDefaultController");
      return defaultControllerGetDesiredSize(controller.stream.readable.controller);
    }

    enqueue(chunk = undefined) {
      transformControllerEnqueue(recordOf(this, "TransformStreamDefaultController"), chunk);
    }

    error(reason = undefined) {
      transformControllerError(recordOf(this, "TransformStreamDefaultController"), reason);
    }

    terminate() {
      transformControllerTerminate(recordOf(this, "TransformStreamDefaultController"));
    }
  }
  defineTag(TransformStreamDefaultController.prototype, "TransformStreamDefaultController");
  enumerable(TransformStreamDefaultController.prototype, ["desiredSize", "enqueue", "error", "terminate"]);

  // =============================================================================================
  // Queuing strategies

  const byteLengthSize = {
    size(chunk) {
      return chunk.byteLength;
    },
  }.size;
  const countSize = {
    size() {
      return 1;
    },
  }.size;

  function strategyInit(object, init, kind) {
    if (!isObject(init)) throw new TypeErrorCtor(`${kind} needs an object argument.`);
    const hwm = init.highWaterMark;
    if (hwm === undefined) throw new TypeErrorCtor(`${kind} needs a highWaterMark.`);
    attach(object, { __proto__: null, kind, object: undefined, highWaterMark: toUnrestrictedDouble(hwm) });
  }

  class ByteLengthQueuingStrategy {
    constructor(init) {
      strategyInit(this, init, "ByteLengthQueuingStrategy");
    }
    get highWaterMark() {
      return recordOf(this, "ByteLengthQueuingStrategy").highWaterMark;
    }
    get size() {
      recordOf(this, "ByteLengthQueuingStrategy");
      return byteLengthSize;
    }
  }
  defineTag(ByteLengthQueuingStrategy.prototype, "ByteLengthQueuingStrategy");
  enumerable(ByteLengthQueuingStrategy.prototype, ["highWaterMark", "size"]);

  class CountQueuingStrategy {
    constructor(init) {
      strategyInit(this, init, "CountQueuingStrategy");
    }
    get highWaterMark() {
      return recordOf(this, "CountQueuingStrategy").highWaterMark;
    }
    get size() {
      recordOf(this, "CountQueuingStrategy");
      return countSize;
    }
  }
  defineTag(CountQueuingStrategy.prototype, "CountQueuingStrategy");
  enumerable(CountQueuingStrategy.prototype, ["highWaterMark", "size"]);

  // =============================================================================================
  // Cloudflare's byte transforms: IdentityTransformStream passes bytes through; FixedLengthStream
  // also checks that exactly the announced number of bytes went through.

  function bytesOfChunk(chunk) {
    if (isArrayBuffer(chunk)) return new Uint8ArrayCtor(chunk);
    if (isObject(chunk) && ArrayBufferIsView(chunk)) {
      const info = viewInfo(chunk);
      return new Uint8ArrayCtor(info.buffer, info.byteOffset, info.byteLength);
    }
    throw new TypeErrorCtor("This TransformStream is being used as a byte stream, but received an object of non-ArrayBuffer/ArrayBufferView type on its writable side.");
  }

  // Sets up `object` (a TransformStream made with INTERNAL) with algorithms of ours:
  // transform(chunk, enqueue) and flush(enqueue); what they throw errors the stream.
  function setUpInternalTransform(object, transform, flush, cancel = undefined) {
    const stream = weakGet(records, object);
    const startPromise = deferred();
    initializeTransformStream(stream, startPromise.promise, 1, () => 1, 0, () => 1);
    const controller = newTransformControllerRecord();
    const enqueue = (chunk) => transformControllerEnqueue(controller, chunk);
    // undefined while the readable side wants more; else a promise that settles once it does (or
    // once the stream is cancelled), for a transform that makes much output from one chunk.
    const ready = () => (stream.backpressure ? stream.backpressureChangePromise.promise : undefined);
    // A transform may return a promise (of this file's realm: only library code calls this).
    const run = (fn, args) => {
      try {
        const result = ReflectApply(fn, undefined, args);
        return result === undefined ? resolved(undefined) : result;
      } catch (error) {
        return rejected(error);
      }
    };
    setUpTransformController(
      stream,
      controller,
      (chunk) => run(transform, [chunk, enqueue, ready]),
      () => run(flush, [enqueue, ready]),
      () => (cancel === undefined ? resolved(undefined) : run(cancel, [])),
    );
    startPromise.resolve(undefined);
    return stream;
  }

  function makeByteTransform(object, expectedLength) {
    let seen = 0;
    const transform = (chunk, enqueue) => {
      const bytes = bytesOfChunk(chunk);
      seen += TypedArrayGetLength(bytes);
      if (expectedLength !== undefined && seen > expectedLength) {
        throw new TypeErrorCtor("Attempt to write too many bytes through a FixedLengthStream.");
      }
      if (TypedArrayGetLength(bytes) > 0) enqueue(bytes);
    };
    const flush = () => {
      if (expectedLength !== undefined && seen < expectedLength) {
        throw new TypeErrorCtor("FixedLengthStream did not see all expected bytes before close().");
      }
    };
    return setUpInternalTransform(object, transform, flush);
  }

  class IdentityTransformStream extends TransformStream {
    constructor(options = undefined) {
      super(INTERNAL);
      toDictionary(options, "The IdentityTransformStream options");
      makeByteTransform(this, undefined);
    }
  }
  defineTag(IdentityTransformStream.prototype, "IdentityTransformStream");

  class FixedLengthStream extends TransformStream {
    constructor(expectedLength, options = undefined) {
      super(INTERNAL);
      const length = enforceRangeUnsignedLongLong(expectedLength, "FixedLengthStream's expectedLength");
      toDictionary(options, "The FixedLengthStream options");
      makeByteTransform(this, length);
    }
  }
  defineTag(FixedLengthStream.prototype, "FixedLengthStream");

  // =============================================================================================
  // Globals, and the hooks web.js uses for bodies

  function defineGlobal(name, value) {
    ObjectDefineProperty(globalThis, name, { __proto__: null, value, writable: true, configurable: true });
  }

  defineGlobal("ReadableStream", ReadableStream);
  defineGlobal("ReadableStreamDefaultReader", ReadableStreamDefaultReader);
  defineGlobal("ReadableStreamBYOBReader", ReadableStreamBYOBReader);
  defineGlobal("ReadableStreamDefaultController", ReadableStreamDefaultController);
  defineGlobal("ReadableByteStreamController", ReadableByteStreamController);
  defineGlobal("ReadableStreamBYOBRequest", ReadableStreamBYOBRequest);
  defineGlobal("WritableStream", WritableStream);
  defineGlobal("WritableStreamDefaultWriter", WritableStreamDefaultWriter);
  defineGlobal("WritableStreamDefaultController", WritableStreamDefaultController);
  defineGlobal("TransformStream", TransformStream);
  defineGlobal("TransformStreamDefaultController", TransformStreamDefaultController);
  defineGlobal("ByteLengthQueuingStrategy", ByteLengthQueuingStrategy);
  defineGlobal("CountQueuingStrategy", CountQueuingStrategy);
  defineGlobal("IdentityTransformStream", IdentityTransformStream);
  defineGlobal("FixedLengthStream", FixedLengthStream);

  return ObjectFreeze({
    __proto__: null,
    isReadableStream: (x) => isKind(x, "ReadableStream"),
    isWritableStream: (x) => isKind(x, "WritableStream"),
    // For web.js: the standard's hooks a body needs.
    readableRecord: (x) => recordOf(x, "ReadableStream"),
    isLocked,
    isDisturbed: (stream) => stream.disturbed,
    isErrored: (stream) => stream.state === "errored",
    acquireDefaultReader,
    defaultReaderRead,
    readerRelease,
    readableCancel,
    readableTee,
    createReadableByteStream,
    createReadableStream,
    byteControllerEnqueue,
    byteControllerClose,
    byteControllerError,
    defaultControllerEnqueue,
    defaultControllerClose,
    defaultControllerError,
    // A new stream that yields what `stream` does, piped through an identity transform: `stream`
    // is locked and disturbed from now on (a Request made from another takes its body so).
    proxy(stream) {
      const transform = weakGet(records, new TransformStream());
      setHandled(pipeTo(stream, transform.writable, false, false, false, undefined));
      return transform.readable;
    },
    // {readable, writable} of a new TransformStream running transform(chunk, enqueue, ready),
    // flush(enqueue, ready) and, when given, cancel() once the readable is cancelled or the
    // writable aborted (TextEncoderStream, TextDecoderStream, compression). `ready()` is undefined
    // while the readable side wants more, else a promise of when it does; a transform or flush
    // that waits on it returns a promise.
    newTransform(transform, flush, cancel = undefined) {
      const stream = setUpInternalTransform(new TransformStream(INTERNAL), transform, flush, cancel);
      return ObjectFreeze({ __proto__: null, readable: stream.readable.object, writable: stream.writable.object });
    },
    setStructuredClone(fn) {
      structuredCloneHook = fn;
    },
  });
})
