//! JavaScript tenants: QuickJS-ng compiled to wasm (`guest/js/`, built by `build.rs`) runs as an
//! ordinary guest of the pool, with its own imports: `dynisolate.log`, `env_call` (env RPC
//! stubs), `outbound` (`fetch()`), `sleep` (timers), `random` (`crypto`), and the five WASI
//! functions wasi-libc needs, stubbed so the engine gets a coarse clock and no files. Tenant wasm
//! never sees these imports.
//!
//! The engine module is pre-initialised once per pool (`snapshot.rs`), so booting an isolate maps
//! a ready JS runtime copy-on-write. `bundle.rs` turns a tenant's modules into QuickJS bytecode;
//! every call boots a fresh isolate, starts it with one `json:start` (seed, bytecode, load
//! request with the env) and makes the call through `json:run`, both under one budget.
use std::collections::hash_map::RandomState;
use std::hash::{BuildHasher, Hasher};
use std::sync::Arc;
use std::sync::atomic::AtomicBool;
use std::time::Duration;

use serde_json::{Value, json};

use crate::error::{Error, Result};
use crate::nested;
use crate::runtime::cache::CacheOutcome;
use crate::sandbox::guest::Guest;
use crate::sandbox::host::{Host, MAX_ERROR_MESSAGE_BYTES, guest_error, truncate};
use crate::sandbox::isolate::{CallReport, Input, Isolate, Output};

mod imports;
pub use imports::link;

/// The engine module.
pub const ENGINE_WASM: &[u8] = include_bytes!(concat!(env!("OUT_DIR"), "/js-guest.wasm"));

/// What a loaded bundle exports: the default object's methods and each class's methods.
#[derive(Clone, Debug, Default)]
pub struct Description {
    pub default_methods: Vec<String>,
    pub classes: Vec<(String, Vec<String>)>,
}

/// A JavaScript worker: the engine guest plus the tenant's modules as QuickJS bytecode.
pub struct JsGuest {
    pub(crate) engine: Arc<Guest>,
    /// The modules compiled to bytecode, laid out for the engine's `json:bundle`.
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

impl JsGuest {
    /// Boots an isolate of this bundle, with its WebAssembly modules at hand.
    fn boot(&self, acquire_timeout: Duration) -> Result<Isolate> {
        let mut isolate = self.engine.boot(None, acquire_timeout)?;
        if !self.wasm.is_empty() {
            isolate.set_extension(Box::new(nested::Nested::new(self.wasm.clone())));
        }
        Ok(isolate)
    }
}

fn seed() -> i64 {
    RandomState::new().build_hasher().finish() as i64
}

/// Calls one of the engine's byte exports (`json:NAME`). `input` was built by the host; the
/// tenant's own payloads (arguments, env values) were checked against `max_payload_bytes` when
/// they were encoded, and a call's result is checked in `call_output`.
pub(crate) fn bytes(
    isolate: &mut Isolate,
    name: &str,
    input: &[u8],
    host: Option<Arc<dyn Host>>,
    interrupt: Option<Arc<AtomicBool>>,
) -> Result<Vec<u8>> {
    let export = isolate.guest().export(name)?.clone();
    match isolate.call_interruptible(&export, Input::HostBytes(&[input]), host, interrupt)? {
        Output::Json(reply) => Ok(reply),
        Output::Numeric(_) => Err(Error::Load(format!("engine export {name} is not a byte export"))),
    }
}

/// Decodes an engine reply envelope into the `ok` value or the guest's error.
pub(crate) fn envelope(reply: &[u8]) -> Result<Value> {
    let mut reply: Value = serde_json::from_slice(reply)
        .map_err(|e| Error::Serialization(format!("the engine replied with invalid JSON: {e}")))?;
    if let Some(value) = reply.get_mut("ok") {
        return Ok(value.take());
    }
    if let Some(Value::String(message)) = reply.get_mut("serialization") {
        return Err(Error::Serialization(truncate(std::mem::take(message), MAX_ERROR_MESSAGE_BYTES)));
    }
    Err(guest_error(reply.get("error").unwrap_or(&Value::Null)))
}

/// Boots an engine isolate (a copy-on-write map of the pre-initialised heap) holding the
/// module bundle `blob`, evaluated by nobody yet (for compiling its modules).
pub(crate) fn boot_bundle(engine: &Arc<Guest>, blob: &[u8], acquire_timeout: Duration) -> Result<Isolate> {
    let mut isolate = engine.boot(None, acquire_timeout)?;
    // Compiling a module to bytecode does not run it: no WebAssembly instance is needed.
    envelope(&bytes(&mut isolate, "bundle", blob, None, None)?)?;
    Ok(isolate)
}

/// What `json:start` takes after the seed: the bundle's length, the bundle, the load request.
pub(crate) fn start_tail(bundle: &[u8], load_request: &[u8]) -> Vec<u8> {
    let mut tail = Vec::with_capacity(4 + bundle.len() + load_request.len());
    tail.extend_from_slice(&(bundle.len() as u32).to_le_bytes());
    tail.extend_from_slice(bundle);
    tail.extend_from_slice(load_request);
    tail
}

/// Starts a freshly booted isolate in one call into the engine (`json:start`): a fresh random
/// seed, then `tail` (see `start_tail`). Returns the load request's reply. The JS heap has no cap
/// of its own: the isolate's linear-memory cap is the one limit, and growth past it traps
/// (`MemoryLimit`), which tenant code cannot catch.
pub(crate) fn start(isolate: &mut Isolate, tail: &[u8], interrupt: Option<Arc<AtomicBool>>) -> Result<Value> {
    let mut input = Vec::with_capacity(8 + tail.len());
    input.extend_from_slice(&seed().to_le_bytes());
    input.extend_from_slice(tail);
    envelope(&bytes(isolate, "start", &input, None, interrupt)?)
}

pub(crate) fn stubs_to_json(stubs: &[(String, Option<Vec<String>>)]) -> Vec<u8> {
    let map: serde_json::Map<String, Value> =
        stubs.iter().map(|(name, methods)| (name.clone(), json!(methods))).collect();
    serde_json::to_vec(&map).expect("JSON always encodes")
}

/// Request operations and flags of the engine's `json:run` (glue.js `run`).
pub(crate) const OP_CALL: u8 = 0;
pub(crate) const OP_FETCH: u8 = 1;
pub(crate) const OP_LOAD: u8 = 2;
pub(crate) const FLAG_OUTBOUND: u8 = 1;
pub(crate) const FLAG_DESCRIBE: u8 = 2;

/// A request for `json:run`: u8 op, u8 flags, u32 name length (little endian), the name
/// (`method`, `Entry.method`, or the main module of a load), then the payload JSON (the argument
/// array, or a load's `{"env", "stubs"}`), given in parts.
pub(crate) fn request(op: u8, flags: u8, name: &str, payload: &[&[u8]]) -> Vec<u8> {
    let mut out = Vec::with_capacity(6 + name.len() + payload.iter().map(|p| p.len()).sum::<usize>());
    out.extend_from_slice(&[op, flags]);
    out.extend_from_slice(&(name.len() as u32).to_le_bytes());
    out.extend_from_slice(name.as_bytes());
    for part in payload {
        out.extend_from_slice(part);
    }
    out
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

impl JsGuest {
    fn request(&self, call: &JsCall<'_>, host: Option<&Arc<dyn Host>>) -> Vec<u8> {
        let outbound = host.is_some_and(|h| h.has_outbound());
        let name = match call.entry {
            Some(entry) => format!("{entry}.{}", call.method),
            None => call.method.to_owned(),
        };
        let op = if call.fetch { OP_FETCH } else { OP_CALL };
        request(op, if outbound { FLAG_OUTBOUND } else { 0 }, &name, &[call.args_json])
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
        Ok(JsSession { isolate, guest: self.clone() })
    }

    /// The modules as QuickJS bytecode, laid out for the engine's `json:bundle` (for benchmarks
    /// that drive the engine module themselves).
    pub fn bytecode_bundle(&self) -> &[u8] {
        &self.bytecode
    }
}

/// Runs a call request and returns its result as JSON bytes. glue.js writes a successful reply
/// as `{"ok":` + the result's JSON.stringify text + `}`, so the result is sliced out without a
/// parse and re-encode here (the embedder decodes it once); anything else is decoded in full.
fn call_output(
    isolate: &mut Isolate,
    request: &[u8],
    host: Option<Arc<dyn Host>>,
    interrupt: Option<Arc<AtomicBool>>,
) -> Result<Output> {
    let reply = bytes(isolate, "run", request, host, interrupt)?;
    let json = match reply.strip_prefix(b"{\"ok\":").and_then(|rest| rest.strip_suffix(b"}")) {
        Some(json) => json.to_vec(),
        None => serde_json::to_vec(&envelope(&reply)?).expect("a JSON value always encodes"),
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
    guest: Arc<JsGuest>,
    isolate: Isolate,
}

impl JsSession {
    pub fn call(
        &mut self,
        call: &JsCall<'_>,
        host: Option<Arc<dyn Host>>,
        interrupt: Option<Arc<AtomicBool>>,
    ) -> CallReport {
        let request = self.guest.request(call, host.as_ref());
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
