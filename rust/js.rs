//! JavaScript tenants: QuickJS-ng compiled to wasm (`guest/js/`, built by `build.rs`) runs as an
//! ordinary guest of the pool, with its own imports: `dynisolate.log` and the five WASI functions
//! wasi-libc needs, stubbed so the engine gets a coarse clock and no files. Tenant wasm never sees
//! these imports.
//!
//! A call boots a fresh isolate of the engine, loads the tenant's modules and calls one method;
//! requests and replies cross as JSON through the engine's `json:run` export.

use std::collections::hash_map::RandomState;
use std::hash::{BuildHasher, Hasher};
use std::sync::atomic::AtomicBool;
use std::sync::{Arc, OnceLock};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use serde_json::{Value, json};
use wasmtime::{Caller, Extern, Linker, Val};

use crate::config::Limits;
use crate::error::{Error, Result};
use crate::guest::{CallReport, Guest};
use crate::host::{self, EnvData, HostState, MAX_ERROR_MESSAGE_BYTES, truncate};
use crate::isolate::{Input, Isolate, Output};
use crate::pool::{MAX_MODULE_BYTES, Pool};

/// The engine module.
pub const ENGINE_WASM: &[u8] = include_bytes!(concat!(env!("OUT_DIR"), "/js-guest.wasm"));

/// JS heap reserved below the isolate's memory cap for the engine's own image and stack.
const ENGINE_OVERHEAD_BYTES: u64 = 4 << 20;

const EBADF: i32 = 8;
const EINVAL: i32 = 28;

/// Clock readings are rounded down to this, so tenant code gets no fine-grained timer.
const CLOCK_GRANULARITY_NS: u64 = 1_000_000;

fn clock_time_get(mut caller: Caller<'_, HostState>, clock: i32, _precision: i64, out: i32) -> i32 {
    static START: OnceLock<Instant> = OnceLock::new();
    let ns = match clock {
        0 => SystemTime::now().duration_since(UNIX_EPOCH).unwrap_or_default().as_nanos() as u64,
        1 => START.get_or_init(Instant::now).elapsed().as_nanos() as u64,
        _ => return EINVAL,
    };
    let ns = ns - ns % CLOCK_GRANULARITY_NS;
    let Some(Extern::Memory(memory)) = caller.get_export("memory") else { return EINVAL };
    let start = out as u32 as usize;
    match memory.data_mut(&mut caller).get_mut(start..start + 8) {
        Some(slot) => {
            slot.copy_from_slice(&ns.to_le_bytes());
            0
        }
        None => EINVAL,
    }
}

/// Defines the engine's imports on `linker`.
pub fn link(linker: &mut Linker<HostState>) -> wasmtime::Result<()> {
    const WASI: &str = "wasi_snapshot_preview1";
    host::link_log(linker)?;
    linker.func_wrap(WASI, "clock_time_get", clock_time_get)?;
    linker.func_wrap(WASI, "fd_close", |_: i32| EBADF)?;
    linker.func_wrap(WASI, "fd_fdstat_get", |_: i32, _: i32| EBADF)?;
    linker.func_wrap(WASI, "fd_seek", |_: i32, _: i64, _: i32, _: i32| EBADF)?;
    linker.func_wrap(WASI, "fd_write", |_: i32, _: i32, _: i32, _: i32| EBADF)?;
    Ok(())
}

/// What a loaded bundle exports: the default object's methods and each class's methods.
#[derive(Clone, Debug, Default)]
pub struct Description {
    pub default_methods: Vec<String>,
    pub classes: Vec<(String, Vec<String>)>,
}

/// A JavaScript worker: the engine guest plus the tenant's bundle.
pub struct JsGuest {
    engine: Arc<Guest>,
    load_request: Vec<u8>,
    describe_request: Vec<u8>,
    /// The env data bindings, as one JSON object.
    env_json: Vec<u8>,
    pub description: Description,
}

fn seed() -> i64 {
    RandomState::new().build_hasher().finish() as i64
}

fn numeric(isolate: &mut Isolate, name: &str, args: &[Val]) -> Result<Vec<Val>> {
    let export = isolate.guest().export(name)?.clone();
    match isolate.call(&export, Input::Numeric(args), None)? {
        Output::Numeric(v) => Ok(v),
        Output::Json(_) => Err(Error::Load(format!("engine export {name} is not numeric"))),
    }
}

/// Sends one request to the engine; returns the `ok` value or the guest's error.
fn run(isolate: &mut Isolate, request: &[u8], interrupt: Option<Arc<AtomicBool>>) -> Result<Value> {
    let export = isolate.guest().export("run")?.clone();
    let Output::Json(reply) = isolate.call_interruptible(&export, Input::Json(request), None, interrupt)? else {
        return Err(Error::Load("engine export run is not JSON".into()));
    };
    let mut reply: Value = serde_json::from_slice(&reply)
        .map_err(|e| Error::Serialization(format!("the engine replied with invalid JSON: {e}")))?;
    if let Some(value) = reply.get_mut("ok") {
        return Ok(value.take());
    }
    let error = reply.get("error").cloned().unwrap_or(Value::Null);
    let text = |key: &str| error.get(key).and_then(Value::as_str).unwrap_or_default().to_owned();
    Err(Error::Guest {
        name: truncate(text("name"), 64),
        message: truncate(text("message"), MAX_ERROR_MESSAGE_BYTES),
        stack: truncate(text("stack"), MAX_ERROR_MESSAGE_BYTES * 4),
    })
}

impl JsGuest {
    /// Boots an engine isolate and loads the bundle into it (`describe`: also list its exports).
    fn boot(&self, acquire_timeout: Duration, describe: bool) -> Result<(Isolate, Value)> {
        // The engine module is pre-initialised: booting maps its ready heap copy-on-write.
        let mut isolate = self.engine.boot(None, acquire_timeout)?;
        numeric(&mut isolate, "js_reseed", &[Val::I64(seed())])?;
        let heap = self.engine.limits.effective_memory_bytes(&self.engine.pool.config);
        let heap = heap.saturating_sub(ENGINE_OVERHEAD_BYTES).max(1 << 20);
        numeric(&mut isolate, "js_set_memory_limit", &[Val::I64(heap as i64)])?;
        let request = if describe { &self.describe_request } else { &self.load_request };
        let description = run(&mut isolate, request, None)?;
        Ok((isolate, description))
    }

    /// Calls `method` of the default export (`entry = None`) or of the named entrypoint class with
    /// `args_json` (a JSON array the host encoded), in a fresh isolate. Setting `interrupt` stops it.
    pub fn call(
        &self,
        entry: Option<&str>,
        method: &str,
        args_json: &[u8],
        interrupt: Option<Arc<AtomicBool>>,
        acquire_timeout: Duration,
    ) -> CallReport {
        let text = |s: &str| serde_json::to_vec(s).expect("a str always encodes");
        let mut request = Vec::with_capacity(64 + args_json.len() + self.env_json.len());
        request.extend_from_slice(b"{\"op\":\"call\",\"entry\":");
        request.extend_from_slice(&entry.map(text).unwrap_or_else(|| b"null".to_vec()));
        request.extend_from_slice(b",\"method\":");
        request.extend_from_slice(&text(method));
        request.extend_from_slice(b",\"args\":");
        request.extend_from_slice(args_json);
        request.extend_from_slice(b",\"env\":");
        request.extend_from_slice(&self.env_json);
        request.push(b'}');
        let (mut isolate, _) = match self.boot(acquire_timeout, false) {
            Ok(booted) => booted,
            Err(e) => return CallReport { result: Err(e), logs: Vec::new() },
        };
        let value = run(&mut isolate, &request, interrupt);
        let result = value.map(|v| Output::Json(serde_json::to_vec(&v).expect("a JSON value always encodes")));
        CallReport { result, logs: isolate.take_logs() }
    }
}

impl Pool {
    /// Loads a JavaScript bundle: `modules` maps names to source text, `main` names the entry and
    /// `env` holds the data bindings copied into every call. Syntax errors, failed imports and
    /// module-body exceptions are load errors.
    pub fn load_js(
        self: &Arc<Self>,
        main: &str,
        modules: &[(String, String)],
        env: &EnvData,
        limits: Limits,
    ) -> Result<Arc<JsGuest>> {
        limits.validate(&self.config)?;
        let total: usize = modules.iter().map(|(n, s)| n.len() + s.len()).sum();
        if total > MAX_MODULE_BYTES {
            return Err(Error::Load(format!("the modules add up to {total} bytes; the limit is {MAX_MODULE_BYTES}")));
        }
        if !modules.iter().any(|(name, _)| name == main) {
            return Err(Error::Load(format!("main module {main:?} is not in the bundle")));
        }
        let module = self.js_engine()?;
        let engine = Arc::new(Guest::new(self.clone(), &self.js_linker, &module, Arc::new(EnvData::default()), limits)?);
        let sources: serde_json::Map<String, Value> =
            modules.iter().map(|(name, source)| (name.clone(), Value::String(source.clone()))).collect();
        let request = |describe: bool| {
            serde_json::to_vec(&json!({ "op": "load", "main": main, "modules": sources, "describe": describe }))
                .expect("a JSON value always encodes")
        };
        let (load_request, describe_request) = (request(false), request(true));
        let mut env_json = b"{".to_vec();
        for (i, (name, value)) in env.0.iter().enumerate() {
            if i > 0 {
                env_json.push(b',');
            }
            env_json.extend_from_slice(&serde_json::to_vec(name).expect("a str always encodes"));
            env_json.push(b':');
            env_json.extend_from_slice(value);
        }
        env_json.push(b'}');
        let mut guest = JsGuest { engine, load_request, describe_request, env_json, description: Description::default() };
        let described = guest.boot(Duration::from_secs(5), true).map(|(_, d)| d);
        let described = match described {
            Ok(d) => d,
            Err(Error::Guest { name, message, stack }) => {
                return Err(Error::Load(format!("{name}: {message}{}{stack}", if stack.is_empty() { "" } else { "\n" })));
            }
            Err(e) => return Err(e),
        };
        let names = |v: &Value| -> Vec<String> {
            v.as_array().map(|a| a.iter().filter_map(|s| s.as_str().map(str::to_owned)).collect()).unwrap_or_default()
        };
        guest.description.default_methods = names(&described["default"]);
        if let Some(classes) = described["classes"].as_object() {
            guest.description.classes = classes.iter().map(|(k, v)| (k.clone(), names(v))).collect();
        }
        Ok(Arc::new(guest))
    }
}
