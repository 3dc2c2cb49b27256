//! JavaScript tenants: QuickJS-ng compiled to wasm (`guest/js/`, built by `build.rs`) runs as an
//! ordinary guest of the pool, with its own imports: `dynisolate.log`, `dynisolate.env_call` (env
//! RPC stubs) and the five WASI functions
//! wasi-libc needs, stubbed so the engine gets a coarse clock and no files. Tenant wasm never sees
//! these imports.
//!
//! The engine module is pre-initialised once per pool (`snapshot.rs`), so booting an isolate maps
//! a ready JS runtime copy-on-write. `Pool::load_js` evaluates the tenant's modules once from
//! source (reporting syntax errors and listing exports), then compiles each to QuickJS bytecode;
//! every call boots a fresh isolate, hands it the bytecode (`json:bundle`), evaluates the modules
//! and calls one method. Requests and replies cross as JSON through the engine's `json:run`.

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
use crate::host::{self, EnvData, Host, HostState, MAX_ERROR_MESSAGE_BYTES, truncate};
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
    host::link_js(linker)?;
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

/// Modules every bundle can import.
const BUILTIN_MODULES: &[(&str, &str)] = &[(
    "cloudflare:workers",
    "export class WorkerEntrypoint { constructor(ctx, env) { this.ctx = ctx; this.env = env; } }\n\
     export class WorkflowEntrypoint { constructor(ctx, env) { this.ctx = ctx; this.env = env; } }\n",
)];

/// A JavaScript worker: the engine guest plus the tenant's modules as QuickJS bytecode.
pub struct JsGuest {
    engine: Arc<Guest>,
    /// The modules compiled to bytecode, laid out for the engine's `json:bundle`.
    bytecode: Vec<u8>,
    load_request: Vec<u8>,
    /// The env data bindings, as one JSON object.
    env_json: Vec<u8>,
    /// The env bindings served by the host: name -> `null` (a function) or a list of method names.
    stubs_json: Vec<u8>,
    pub description: Description,
}

fn seed() -> i64 {
    RandomState::new().build_hasher().finish() as i64
}

/// Lays modules out for `json:bundle`: u32 count, then per module u32 name length, u32 data
/// length, u32 bytecode flag, name, NUL, data, NUL.
fn bundle_blob<'a>(modules: impl ExactSizeIterator<Item = (&'a str, &'a [u8])>, bytecode: bool) -> Vec<u8> {
    let mut out = (modules.len() as u32).to_le_bytes().to_vec();
    for (name, data) in modules {
        for n in [name.len() as u32, data.len() as u32, bytecode as u32] {
            out.extend_from_slice(&n.to_le_bytes());
        }
        out.extend_from_slice(name.as_bytes());
        out.push(0);
        out.extend_from_slice(data);
        out.push(0);
    }
    out
}

fn numeric(isolate: &mut Isolate, name: &str, args: &[Val]) -> Result<Vec<Val>> {
    let export = isolate.guest().export(name)?.clone();
    match isolate.call(&export, Input::Numeric(args), None)? {
        Output::Numeric(v) => Ok(v),
        Output::Json(_) => Err(Error::Load(format!("engine export {name} is not numeric"))),
    }
}

/// Calls one of the engine's byte exports (`json:NAME`).
fn bytes(
    isolate: &mut Isolate,
    name: &str,
    input: &[u8],
    host: Option<Arc<dyn Host>>,
    interrupt: Option<Arc<AtomicBool>>,
) -> Result<Vec<u8>> {
    let export = isolate.guest().export(name)?.clone();
    match isolate.call_interruptible(&export, Input::Json(input), host, interrupt)? {
        Output::Json(reply) => Ok(reply),
        Output::Numeric(_) => Err(Error::Load(format!("engine export {name} is not a byte export"))),
    }
}

/// Decodes an engine reply envelope into the `ok` value or the guest's error.
fn envelope(reply: &[u8]) -> Result<Value> {
    let mut reply: Value = serde_json::from_slice(reply)
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

/// Sends one request to the engine's glue.
fn run(
    isolate: &mut Isolate,
    request: &[u8],
    host: Option<Arc<dyn Host>>,
    interrupt: Option<Arc<AtomicBool>>,
) -> Result<Value> {
    envelope(&bytes(isolate, "run", request, host, interrupt)?)
}

/// Boots an engine isolate (a copy-on-write map of the pre-initialised heap) holding `blob`.
fn boot(engine: &Arc<Guest>, blob: &[u8], acquire_timeout: Duration) -> Result<Isolate> {
    let mut isolate = engine.boot(None, acquire_timeout)?;
    numeric(&mut isolate, "js_reseed", &[Val::I64(seed())])?;
    let heap = engine.limits.effective_memory_bytes(&engine.pool.config);
    let heap = heap.saturating_sub(ENGINE_OVERHEAD_BYTES).max(1 << 20);
    numeric(&mut isolate, "js_set_memory_limit", &[Val::I64(heap as i64)])?;
    envelope(&bytes(&mut isolate, "bundle", blob, None, None)?)?;
    Ok(isolate)
}

fn stubs_to_json(stubs: &[(String, Option<Vec<String>>)]) -> Vec<u8> {
    let map: serde_json::Map<String, Value> =
        stubs.iter().map(|(name, methods)| (name.clone(), json!(methods))).collect();
    serde_json::to_vec(&map).expect("JSON always encodes")
}

fn load_request(main: &str, describe: bool) -> Vec<u8> {
    serde_json::to_vec(&json!({ "op": "load", "main": main, "describe": describe })).expect("JSON always encodes")
}

impl JsGuest {
    /// Calls `method` of the default export (`entry = None`) or of the named entrypoint class with
    /// `args_json` (a JSON array the host encoded), in a fresh isolate. `host` serves the env
    /// stubs; setting `interrupt` stops the call.
    pub fn call(
        &self,
        entry: Option<&str>,
        method: &str,
        args_json: &[u8],
        host: Option<Arc<dyn Host>>,
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
        request.extend_from_slice(b",\"stubs\":");
        request.extend_from_slice(&self.stubs_json);
        request.push(b'}');
        let mut isolate = match boot(&self.engine, &self.bytecode, acquire_timeout) {
            Ok(isolate) => isolate,
            Err(e) => return CallReport { result: Err(e), logs: Vec::new() },
        };
        let result = run(&mut isolate, &self.load_request, None, interrupt.clone())
            .and_then(|_| run(&mut isolate, &request, host, interrupt))
            .map(|v| Output::Json(serde_json::to_vec(&v).expect("a JSON value always encodes")));
        CallReport { result, logs: isolate.take_logs() }
    }
}

impl Pool {
    /// Loads a JavaScript bundle: `modules` maps names to source text, `main` names the entry,
    /// `env` holds the data bindings copied into every call and `stubs` the bindings the host
    /// serves (`None`: a function; `Some(methods)`: an object with those methods). Syntax errors,
    /// failed imports and module-body exceptions are load errors.
    pub fn load_js(
        self: &Arc<Self>,
        main: &str,
        modules: &[(String, String)],
        env: &EnvData,
        stubs: &[(String, Option<Vec<String>>)],
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
        let engine =
            Arc::new(Guest::new(self.clone(), &self.js_linker, &module, Arc::new(EnvData::default()), limits)?);
        let all: Vec<(&str, &[u8])> = modules
            .iter()
            .map(|(name, source)| (name.as_str(), source.as_bytes()))
            .chain(BUILTIN_MODULES.iter().map(|(name, source)| (*name, source.as_bytes())))
            .collect();
        let sources = bundle_blob(all.iter().copied(), false);
        let timeout = Duration::from_secs(5);
        // Evaluate once from source: syntax errors, missing imports and throwing module bodies
        // surface here, with the tenant's file:line, and the exports are listed.
        let described = boot(&engine, &sources, timeout)
            .and_then(|mut isolate| run(&mut isolate, &load_request(main, true), None, None));
        let described = match described {
            Ok(d) => d,
            Err(Error::Guest { name, message, stack }) => {
                return Err(Error::Load(format!(
                    "{name}: {message}{}{stack}",
                    if stack.is_empty() { "" } else { "\n" }
                )));
            }
            Err(e) => return Err(e),
        };
        // Then compile each module to bytecode in its own throwaway isolate, so no isolate that
        // serves a call ever parses source again.
        let mut compiled = Vec::with_capacity(all.len());
        for index in 0..all.len() {
            let mut isolate = boot(&engine, &sources, timeout)?;
            let code = bytes(&mut isolate, "compile", index.to_string().as_bytes(), None, None)?;
            if code.first() == Some(&b'{') {
                envelope(&code)?;
            }
            compiled.push(code);
        }
        let bytecode = bundle_blob(all.iter().zip(&compiled).map(|((name, _), code)| (*name, code.as_slice())), true);
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
        let mut guest = JsGuest {
            engine,
            bytecode,
            load_request: load_request(main, false),
            env_json,
            stubs_json: stubs_to_json(stubs),
            description: Description::default(),
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
