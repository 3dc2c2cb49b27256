//! A loaded JavaScript worker and its calls. The interpreter is pre-initialised once per runtime
//! (`interpreter.rs`), so booting an isolate maps a ready JS runtime copy-on-write; `bundle.rs`
//! turns the tenant's modules into QuickJS bytecode. A fresh call enters the guest once:
//! - from the bundle's heap (`snapshot.rs`), once there is one: the isolate maps the evaluated
//!   bundle copy-on-write and `json:run` makes the call;
//! - otherwise `json:start` takes the bytecode, loads it and makes the call.
//!
//! An isolate's first call carries its env (env is never part of a heap) and a fresh seed for
//! `Math.random`. A session boots the same way and makes each call through `json:run`.

use std::collections::hash_map::RandomState;
use std::hash::{BuildHasher, Hasher};
use std::sync::atomic::AtomicBool;
use std::sync::{Arc, OnceLock};
use std::time::Duration;

use serde_json::Value;

use crate::error::{Error, Result};
use crate::js::extension::JsExtension;
use crate::js::protocol::{
    self, EXPORT_BUNDLE, EXPORT_RUN, EXPORT_START, FLAG_ENV, FLAG_OUTBOUND, FLAG_PROPS, OP_CALL, OP_FETCH, Request,
};
use crate::js::snapshot::Heap;
use crate::js::transform::SourcePositions;
use crate::js::{JsRuntime, nested};
use crate::runtime::cache::CacheOutcome;
use crate::sandbox::guest::Guest;
use crate::sandbox::host::Host;
use crate::sandbox::isolate::{CallReport, Input, Isolate, Output};

/// What a loaded bundle exports: the default object's methods and each class's methods; and where
/// the positions of its generated modules came from.
#[derive(Clone, Debug, Default)]
pub struct Description {
    pub default_methods: Vec<String>,
    pub classes: Vec<(String, Vec<String>)>,
    pub(crate) positions: SourcePositions,
}

/// Where a cached bundle's description keeps its [`SourcePositions`].
pub(crate) const POSITIONS_KEY: &str = "positions";

/// A JavaScript worker: the interpreter guest, the tenant's modules as QuickJS bytecode, and the
/// env section its isolates are given.
pub struct JsWorker {
    runtime: Arc<JsRuntime>,
    /// The bundle's content key (its heap is cached under it).
    pub(crate) key: [u8; 32],
    /// The interpreter on its base heap, under this worker's limits.
    pub(crate) interpreter: Arc<Guest>,
    /// The interpreter on the bundle's heap, once there is one (`None`: the bundle cannot have one).
    snapshot: OnceLock<Option<Arc<Guest>>>,
    /// The modules compiled to bytecode, laid out as a bundle.
    pub(crate) bytecode: Arc<[u8]>,
    /// The main module's name.
    pub(crate) main: String,
    /// The env section (data bindings and stubs) of every isolate's first call.
    pub(crate) env: Vec<u8>,
    pub description: Description,
    /// Where the bytecode came from.
    pub cache_outcome: CacheOutcome,
    /// The bundle's `.wasm` modules, which its isolates may instantiate.
    pub(crate) wasm: nested::Modules,
}

/// A fresh seed for `Math.random` (never 0, which means "do not reseed").
pub(crate) fn seed() -> i64 {
    (RandomState::new().build_hasher().finish() | 1) as i64
}

/// Calls one of the interpreter's byte exports (`json:NAME`) with its input given in parts.
/// The input was built by the host; the tenant's own payloads (arguments, env values) were
/// checked against `max_payload_bytes` when they were encoded, and a call's result is checked in
/// `call_output`.
pub(crate) fn call_export(
    isolate: &mut Isolate,
    name: &str,
    input: &[&[u8]],
    host: Option<Arc<dyn Host>>,
    interrupt: Option<Arc<AtomicBool>>,
) -> Result<Vec<u8>> {
    let export = isolate.guest().export(name)?.clone();
    match isolate.call_interruptible(&export, Input::HostBytes(input), host, interrupt)? {
        Output::Json(reply) => Ok(reply),
        Output::Numeric(_) => Err(Error::Load(format!("interpreter export {name} is not a byte export"))),
    }
}

/// Boots an interpreter isolate (a copy-on-write map of the pre-initialised heap) holding the
/// module bundle `blob`, evaluated by nobody yet (for compiling its modules).
pub(crate) fn boot_bundle(interpreter: &Arc<Guest>, blob: &[u8], acquire_timeout: Duration) -> Result<Isolate> {
    let mut isolate = interpreter.boot(None, acquire_timeout)?;
    // Compiling a module to bytecode does not run it: no WebAssembly instance is needed.
    protocol::envelope(&call_export(&mut isolate, EXPORT_BUNDLE, &[blob], None, None)?)?;
    Ok(isolate)
}

/// `json:start` in a freshly booted isolate: takes `bundle`, loads it with `load`, and makes
/// `call` if there is one. Returns the reply (the call's, or the load's). The JS heap has no cap
/// of its own: the isolate's linear-memory cap is the one limit, and growth past it traps
/// (`MemoryLimit`), which tenant code cannot catch.
pub(crate) fn start(
    isolate: &mut Isolate,
    bundle: &[u8],
    load: &Request<'_>,
    call: Option<&Request<'_>>,
    host: Option<Arc<dyn Host>>,
    interrupt: Option<Arc<AtomicBool>>,
) -> Result<Vec<u8>> {
    let bundle_len = (bundle.len() as u32).to_le_bytes();
    let load_header = load.header();
    let call_header = call.map(Request::header);
    let mut input: Vec<&[u8]> = vec![&bundle_len, bundle, &load_header, load.name.as_bytes()];
    if let (Some(call), Some(header)) = (call, &call_header) {
        input.extend_from_slice(&[header, call.name.as_bytes(), call.env, call.payload]);
    }
    call_export(isolate, EXPORT_START, &input, host, interrupt)
}

/// `json:run`: one call in a loaded isolate; returns its reply.
fn run(
    isolate: &mut Isolate,
    request: &Request<'_>,
    host: Option<Arc<dyn Host>>,
    interrupt: Option<Arc<AtomicBool>>,
) -> Result<Vec<u8>> {
    let header = request.header();
    let input: [&[u8]; 4] = [&header, request.name.as_bytes(), request.env, request.payload];
    call_export(isolate, EXPORT_RUN, &input, host, interrupt)
}

/// One invocation of a JavaScript worker.
#[derive(Clone, Copy, Debug)]
pub struct JsCall<'a> {
    /// `method` of the default export, or `Class.method` of an entrypoint class.
    pub name: &'a str,
    /// The arguments, a JSON array the host encoded. For `fetch`, one request in wire form.
    pub args_json: &'a [u8],
    /// A `fetch` handler call: the argument becomes a `Request`, the result must be a `Response`.
    pub fetch: bool,
    /// The first argument is the entrypoint's `ctx.props`, not an argument of the method.
    pub props: bool,
}

impl JsWorker {
    #[allow(clippy::too_many_arguments)]
    pub(crate) fn new(
        runtime: Arc<JsRuntime>,
        key: [u8; 32],
        interpreter: Arc<Guest>,
        bytecode: Arc<[u8]>,
        main: &str,
        env: Vec<u8>,
        description: Description,
        cache_outcome: CacheOutcome,
        wasm: nested::Modules,
    ) -> JsWorker {
        JsWorker {
            runtime,
            key,
            interpreter,
            snapshot: OnceLock::new(),
            bytecode,
            main: main.to_owned(),
            env,
            description,
            cache_outcome,
            wasm,
        }
    }

    /// The interpreter on the bundle's heap, if there is one or it is time to take it.
    fn snapshot(&self) -> Option<&Arc<Guest>> {
        if let Some(snapshot) = self.snapshot.get() {
            return snapshot.as_ref();
        }
        let guest = match self.runtime.heap(self)? {
            Heap::Ready(module) => {
                let interpreter = self.runtime.interpreter().ok()?;
                interpreter.guest(&self.runtime.pool, &module, self.interpreter.limits.clone()).ok()
            }
            Heap::Refused => None,
        };
        self.snapshot.get_or_init(|| guest).as_ref()
    }

    /// Boots an isolate of `guest` with the bundle's WebAssembly modules at hand.
    fn boot(&self, guest: &Arc<Guest>, acquire_timeout: Duration) -> Result<Isolate> {
        let mut isolate = guest.boot(None, acquire_timeout)?;
        if !self.wasm.is_empty() {
            isolate.set_extension(JsExtension::with_wasm(Box::new(nested::Nested::new(self.wasm.clone()))));
        }
        Ok(isolate)
    }

    /// The request for `call`; an isolate's first call carries its env and a fresh seed.
    fn request<'a>(&'a self, call: &JsCall<'a>, host: Option<&Arc<dyn Host>>, first: bool) -> Request<'a> {
        let mut flags = if host.is_some_and(|h| h.has_outbound()) { FLAG_OUTBOUND } else { 0 };
        if first {
            flags |= FLAG_ENV;
        }
        if call.props {
            flags |= FLAG_PROPS;
        }
        Request {
            op: if call.fetch { OP_FETCH } else { OP_CALL },
            flags,
            name: call.name,
            env: if first { &self.env } else { &[] },
            payload: call.args_json,
            seed: if first { seed() } else { 0 },
        }
    }

    /// Runs `call` in a fresh isolate, in one entry into the guest and under one budget
    /// (`cpu_ms`, `wall_ms`, host calls, logs, sub-requests): from the bundle's heap, or loading
    /// the bundle first. `host` serves the env stubs and outbound requests; setting `interrupt`
    /// stops it.
    pub fn call(
        &self,
        call: &JsCall<'_>,
        host: Option<Arc<dyn Host>>,
        interrupt: Option<Arc<AtomicBool>>,
        acquire_timeout: Duration,
    ) -> CallReport {
        let snapshot = self.snapshot();
        let mut isolate = match self.boot(snapshot.unwrap_or(&self.interpreter), acquire_timeout) {
            Ok(isolate) => isolate,
            Err(e) => return CallReport { result: Err(e), logs: Vec::new() },
        };
        let request = self.request(call, host.as_ref(), true);
        let reply = if snapshot.is_some() {
            run(&mut isolate, &request, host, interrupt)
        } else {
            let load = protocol::load_request(&self.main, 0, 0);
            start(&mut isolate, &self.bytecode, &load, Some(&request), host, interrupt)
        };
        let result = reply.and_then(|reply| call_output(&isolate, &reply));
        CallReport { result: result.map_err(|e| self.description.positions.remap(e)), logs: isolate.take_logs() }
    }

    /// Boots one isolate that keeps its JavaScript state (module globals) across calls.
    pub fn session(self: &Arc<Self>, acquire_timeout: Duration) -> Result<JsSession> {
        let isolate = match self.snapshot() {
            Some(snapshot) => self.boot(snapshot, acquire_timeout)?,
            None => {
                let mut isolate = self.boot(&self.interpreter, acquire_timeout)?;
                let load = protocol::load_request(&self.main, 0, 0);
                protocol::envelope(&start(&mut isolate, &self.bytecode, &load, None, None, None)?)?;
                isolate
            }
        };
        Ok(JsSession { isolate, worker: self.clone(), has_env: false })
    }

    /// The modules as QuickJS bytecode, laid out as a bundle (for benchmarks that drive the
    /// interpreter themselves).
    pub fn bytecode_bundle(&self) -> &[u8] {
        &self.bytecode
    }
}

/// A call's reply as its result: a successful reply is sliced out without a parse and re-encode
/// (the embedder decodes it once); anything else is decoded. The result is the tenant's payload,
/// bounded by `max_payload_bytes`.
fn call_output(isolate: &Isolate, reply: &[u8]) -> Result<Output> {
    let json = match protocol::ok_value(reply) {
        Some(json) => json.to_vec(),
        None => serde_json::to_vec(&protocol::envelope(reply)?).expect("a JSON value always encodes"),
    };
    let limit = isolate.guest().limits.max_payload_bytes;
    if json.len() as u64 > limit {
        return Err(Error::PayloadTooLarge { bytes: json.len() as u64, limit });
    }
    Ok(Output::Json(json))
}

/// A JavaScript isolate kept across calls. A fatal error (a limit, a trap) ends it; later calls
/// fail with `Error::Closed`.
pub struct JsSession {
    worker: Arc<JsWorker>,
    isolate: Isolate,
    /// Whether the isolate has been given its env (with its first call).
    has_env: bool,
}

impl JsSession {
    pub fn call(
        &mut self,
        call: &JsCall<'_>,
        host: Option<Arc<dyn Host>>,
        interrupt: Option<Arc<AtomicBool>>,
    ) -> CallReport {
        let request = self.worker.request(call, host.as_ref(), !self.has_env);
        let reply = run(&mut self.isolate, &request, host, interrupt);
        if reply.is_ok() {
            self.has_env = true;
        }
        let result = reply.and_then(|reply| call_output(&self.isolate, &reply));
        let result = result.map_err(|e| self.worker.description.positions.remap(e));
        CallReport { result, logs: self.isolate.take_logs() }
    }

    pub fn is_alive(&self) -> bool {
        self.isolate.is_alive()
    }

    /// Frees the slot now.
    pub fn close(&mut self) {
        self.isolate.close();
    }
}

/// The description a load with `FLAG_DESCRIBE` replied with.
pub(crate) fn description(reply: Value) -> Description {
    let names = |v: &Value| -> Vec<String> {
        v.as_array().map(|a| a.iter().filter_map(|s| s.as_str().map(str::to_owned)).collect()).unwrap_or_default()
    };
    let mut description = Description {
        default_methods: names(&reply["default"]),
        classes: Vec::new(),
        positions: SourcePositions::from_json(&reply[POSITIONS_KEY]),
    };
    if let Some(classes) = reply["classes"].as_object() {
        description.classes = classes.iter().map(|(k, v)| (k.clone(), names(v))).collect();
    }
    description
}
