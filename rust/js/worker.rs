//! A loaded JavaScript worker and its calls. The interpreter module is pre-initialised once per
//! runtime (`js/mod.rs`), so booting an isolate maps a ready JS runtime copy-on-write; `bundle.rs`
//! turns the tenant's modules into QuickJS bytecode. Every call boots a fresh isolate, starts it
//! with one `json:start` (seed, bytecode, load request with the env) and makes the call through
//! `json:run`, both under one budget. A session keeps one isolate across calls.

use std::collections::hash_map::RandomState;
use std::hash::{BuildHasher, Hasher};
use std::sync::Arc;
use std::sync::atomic::AtomicBool;
use std::time::Duration;

use serde_json::Value;

use crate::error::{Error, Result};
use crate::js::nested;
use crate::js::protocol::{self, EXPORT_BUNDLE, EXPORT_RUN, EXPORT_START, FLAG_OUTBOUND, OP_CALL, OP_FETCH};
use crate::runtime::cache::CacheOutcome;
use crate::sandbox::guest::Guest;
use crate::sandbox::host::Host;
use crate::sandbox::isolate::{CallReport, Input, Isolate, Output};

/// What a loaded bundle exports: the default object's methods and each class's methods.
#[derive(Clone, Debug, Default)]
pub struct Description {
    pub default_methods: Vec<String>,
    pub classes: Vec<(String, Vec<String>)>,
}

/// A JavaScript worker: the interpreter guest plus the tenant's modules as QuickJS bytecode.
pub struct JsWorker {
    pub(crate) interpreter: Arc<Guest>,
    /// The modules compiled to bytecode, laid out as a bundle.
    pub(crate) bytecode: Arc<[u8]>,
    /// What `json:start` takes after the seed: the bytecode's length, the bytecode, and the load
    /// request (which carries the env data and stubs).
    pub(crate) start_tail: Vec<u8>,
    pub description: Description,
    /// Where the bytecode came from.
    pub cache_outcome: CacheOutcome,
    /// The bundle's `.wasm` modules, which its isolates may instantiate.
    pub(crate) wasm: nested::Modules,
}

fn seed() -> i64 {
    RandomState::new().build_hasher().finish() as i64
}

/// Calls one of the interpreter's byte exports (`json:NAME`). `input` was built by the host; the
/// tenant's own payloads (arguments, env values) were checked against `max_payload_bytes` when
/// they were encoded, and a call's result is checked in `call_output`.
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

/// Starts a freshly booted isolate in one call into the interpreter (`json:start`): a fresh
/// random seed, then `tail` (see `protocol::start_tail`). Returns the load request's reply. The
/// JS heap has no cap of its own: the isolate's linear-memory cap is the one limit, and growth
/// past it traps (`MemoryLimit`), which tenant code cannot catch.
pub(crate) fn start(isolate: &mut Isolate, tail: &[u8], interrupt: Option<Arc<AtomicBool>>) -> Result<Value> {
    let seed = seed().to_le_bytes();
    protocol::envelope(&call_export(isolate, EXPORT_START, &[&seed, tail], None, interrupt)?)
}

/// One invocation of a JavaScript worker.
#[derive(Clone, Copy, Debug)]
pub struct JsCall<'a> {
    /// `None`: the default export; else the name of an entrypoint class.
    pub entry: Option<&'a str>,
    pub method: &'a str,
    /// The arguments, a JSON array the host encoded. For `fetch`, one request in wire form.
    pub args_json: &'a [u8],
    /// A `fetch` handler call: the argument becomes a `Request`, the result must be a `Response`.
    pub fetch: bool,
}

impl JsWorker {
    /// Boots an isolate of this bundle, with its WebAssembly modules at hand.
    fn boot(&self, acquire_timeout: Duration) -> Result<Isolate> {
        let mut isolate = self.interpreter.boot(None, acquire_timeout)?;
        if !self.wasm.is_empty() {
            isolate.set_extension(Box::new(nested::Nested::new(self.wasm.clone())));
        }
        Ok(isolate)
    }

    fn request(&self, call: &JsCall<'_>, host: Option<&Arc<dyn Host>>) -> Vec<u8> {
        let outbound = host.is_some_and(|h| h.has_outbound());
        let name = match call.entry {
            Some(entry) => format!("{entry}.{}", call.method),
            None => call.method.to_owned(),
        };
        let op = if call.fetch { OP_FETCH } else { OP_CALL };
        protocol::request(op, if outbound { FLAG_OUTBOUND } else { 0 }, &name, &[call.args_json])
    }

    /// Runs `call` in a fresh isolate. `host` serves the env stubs and outbound requests;
    /// setting `interrupt` stops the call. Starting the bundle and the call share one budget
    /// (`cpu_ms`, host calls, logs, sub-requests).
    pub fn call(
        &self,
        call: &JsCall<'_>,
        host: Option<Arc<dyn Host>>,
        interrupt: Option<Arc<AtomicBool>>,
        acquire_timeout: Duration,
    ) -> CallReport {
        let request = self.request(call, host.as_ref());
        let mut isolate = match self.boot(acquire_timeout) {
            Ok(isolate) => isolate,
            Err(e) => return CallReport { result: Err(e), logs: Vec::new() },
        };
        isolate.pin_budget();
        let result = start(&mut isolate, &self.start_tail, interrupt.clone())
            .and_then(|_| call_output(&mut isolate, &request, host, interrupt));
        CallReport { result, logs: isolate.take_logs() }
    }

    /// Boots one isolate that keeps its JavaScript state (module globals) across calls.
    pub fn session(self: &Arc<Self>, acquire_timeout: Duration) -> Result<JsSession> {
        let mut isolate = self.boot(acquire_timeout)?;
        isolate.pin_budget();
        start(&mut isolate, &self.start_tail, None)?;
        Ok(JsSession { isolate, worker: self.clone() })
    }

    /// The modules as QuickJS bytecode, laid out as a bundle (for benchmarks that drive the
    /// interpreter themselves).
    pub fn bytecode_bundle(&self) -> &[u8] {
        &self.bytecode
    }
}

/// Runs a call request and returns its result as JSON bytes. A successful reply is sliced out
/// without a parse and re-encode (the embedder decodes it once); anything else is decoded.
fn call_output(
    isolate: &mut Isolate,
    request: &[u8],
    host: Option<Arc<dyn Host>>,
    interrupt: Option<Arc<AtomicBool>>,
) -> Result<Output> {
    let reply = call_export(isolate, EXPORT_RUN, &[request], host, interrupt)?;
    let json = match protocol::ok_value(&reply) {
        Some(json) => json.to_vec(),
        None => serde_json::to_vec(&protocol::envelope(&reply)?).expect("a JSON value always encodes"),
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
}

impl JsSession {
    pub fn call(
        &mut self,
        call: &JsCall<'_>,
        host: Option<Arc<dyn Host>>,
        interrupt: Option<Arc<AtomicBool>>,
    ) -> CallReport {
        let request = self.worker.request(call, host.as_ref());
        self.isolate.pin_budget();
        let result = call_output(&mut self.isolate, &request, host, interrupt);
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
