//! What a guest can reach outside its own memory: the `dynisolate` import module. Nothing else is
//! linked, so a module importing WASI (files, clocks, environment) or anything unknown fails to load.
//!
//! Imports (all pointers and lengths are `i32` offsets into the guest's exported `memory`):
//! - `env_call(name_ptr, name_len, args_ptr, args_len) -> i64`: call the env binding `name`
//!   (`"NAME"` or `"NAME.method"`) with a JSON array of arguments. Returns a packed pointer/length
//!   (see [`crate::abi`]) of a JSON envelope the host wrote through `dynisolate_alloc`:
//!   `{"ok": value}` or `{"error": {"name": ..., "message": ...}}`.
//! - `env_get(name_ptr, name_len) -> i64`: the JSON value of a data binding, in the same envelope.
//! - `log(level, ptr, len)`: a UTF-8 log record; levels 0 debug, 1 info, 2 warn, 3 error.
//! - `throw(ptr, len)`: end the call with a guest error; the payload is a JSON object with
//!   `name`, `message` and `stack` (or an env error envelope, re-thrown as it came), or plain
//!   text used as the message.
//!
//! The JavaScript engine gets `log` and `env_call` too, plus `outbound`, `sleep` and `random`
//! (see [`link_js`]). Time spent in the host counts against the call's deadline, but a host
//! function that blocks (in Python) is not interrupted: the deadline takes effect when control
//! returns to the guest.

use std::collections::HashMap;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

use wasmtime::{Caller, Linker};

use crate::abi;
use crate::config::Limits;
use crate::error::Error;
use crate::nested::Nested;
use crate::runtime::limits::MemoryLimiter;

/// What one log record counts against `max_log_bytes` on top of its text.
pub const LOG_RECORD_OVERHEAD_BYTES: u64 = 64;

/// Largest env binding name, in bytes.
pub const MAX_BINDING_NAME_BYTES: usize = 256;
/// Longest error message carried into a guest or out of one, in bytes.
pub const MAX_ERROR_MESSAGE_BYTES: usize = 4096;

/// What a JavaScript guest's `fetch()` rejects with when the worker has no outbound handler.
pub const OUTBOUND_NOT_PERMITTED: &str = "This worker is not permitted to access the internet via global functions \
     like fetch(). It must use capabilities (such as bindings in 'env') to talk to the outside world.";

/// Dispatches env calls and outbound requests to the embedder (the Python layer implements this).
pub trait Host: Send + Sync {
    /// Calls binding `name` with `args_json` (a JSON array). `Ok` carries the envelope bytes the
    /// guest will read, including errors the guest may handle; `Err` ends the whole call.
    fn env_call(&self, name: &str, args_json: &[u8]) -> wasmtime::Result<Vec<u8>>;

    /// Serves one outbound request (`{method, url, headers, body}` as JSON, body in base64);
    /// replies with an envelope whose `ok` is `{status, statusText, headers, body}`.
    fn fetch(&self, _request_json: &[u8]) -> wasmtime::Result<Vec<u8>> {
        Ok(error_envelope("TypeError", OUTBOUND_NOT_PERMITTED))
    }

    /// Whether `fetch` serves requests (a JavaScript guest's `fetch()` refuses early if not).
    fn has_outbound(&self) -> bool {
        false
    }
}

/// Severity of a guest log record.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum LogLevel {
    Debug,
    Info,
    Warn,
    Error,
}

/// One record written by the guest through `log`.
#[derive(Clone, Debug)]
pub struct LogRecord {
    pub level: LogLevel,
    pub message: String,
}

/// Data bindings of `env`: JSON copied into every isolate that asks for them.
#[derive(Clone, Debug, Default)]
pub struct EnvData(pub HashMap<String, Arc<[u8]>>);

/// The `T` of every `Store<T>`: one isolate's limits, counters and host connection.
pub struct HostState {
    pub limiter: MemoryLimiter,
    pub limits: Limits,
    pub deadline: Instant,
    pub env: Arc<EnvData>,
    pub host: Option<Arc<dyn Host>>,
    /// Set by the caller to stop the running call at the next epoch tick.
    pub interrupt: Option<Arc<AtomicBool>>,
    pub logs: Vec<LogRecord>,
    pub log_bytes: u64,
    pub host_calls: u32,
    pub sub_requests: u32,
    /// Set while several guest calls make up one caller's call (a JavaScript boot and its
    /// request): they share one deadline and one set of counters.
    pub budget_pinned: bool,
    /// The WebAssembly instances of a JavaScript isolate whose bundle has `.wasm` modules.
    pub nested: Option<Nested>,
}

impl HostState {
    pub fn new(limits: Limits, memory_bytes: u64, table_elements: usize, env: Arc<EnvData>) -> Self {
        HostState {
            limiter: MemoryLimiter { memory_bytes, table_elements },
            limits,
            deadline: Instant::now(),
            env,
            host: None,
            interrupt: None,
            logs: Vec::new(),
            log_bytes: 0,
            host_calls: 0,
            sub_requests: 0,
            budget_pinned: false,
            nested: None,
        }
    }

    /// Starts a fresh budget (deadline and counters) that the following guest calls share until
    /// the next `pin_budget`.
    pub fn pin_budget(&mut self) {
        self.budget_pinned = false;
        self.begin_call(None, None);
        self.budget_pinned = true;
    }

    /// Resets the per-call counters before a call starts (unless a pinned budget is running).
    pub fn begin_call(&mut self, host: Option<Arc<dyn Host>>, interrupt: Option<Arc<AtomicBool>>) {
        self.host = host;
        self.interrupt = interrupt;
        if self.budget_pinned {
            return;
        }
        self.deadline = Instant::now() + std::time::Duration::from_millis(self.limits.cpu_ms);
        self.host_calls = 0;
        self.sub_requests = 0;
        self.log_bytes = 0;
    }

    /// Drops the call's host connection and returns the log records it wrote.
    pub fn end_call(&mut self) -> Vec<LogRecord> {
        self.host = None;
        self.interrupt = None;
        std::mem::take(&mut self.logs)
    }
}

fn fail(e: Error) -> wasmtime::Error {
    wasmtime::Error::new(e)
}

fn count_host_call(caller: &mut Caller<'_, HostState>) -> wasmtime::Result<()> {
    let state = caller.data_mut();
    state.host_calls += 1;
    if state.host_calls > state.limits.max_host_calls {
        return Err(fail(Error::HostCallLimit { limit: state.limits.max_host_calls }));
    }
    Ok(())
}

fn binding_name(caller: &mut Caller<'_, HostState>, ptr: i32, len: i32) -> wasmtime::Result<String> {
    let bytes = abi::read(caller, ptr, len, MAX_BINDING_NAME_BYTES as u64)?;
    String::from_utf8(bytes).map_err(|_| fail(Error::Serialization("env binding name is not UTF-8".into())))
}

/// The reply envelope of a failed host call: `{"error": {"name", "message"}}`.
pub(crate) fn error_envelope(name: &str, message: &str) -> Vec<u8> {
    serde_json::to_vec(&serde_json::json!({ "error": { "name": name, "message": message } }))
        .expect("a JSON object of two strings always encodes")
}

/// The reply envelope of a host call that returned `json`: `{"ok": json}`.
pub(crate) fn ok_envelope(json: &[u8]) -> Vec<u8> {
    let mut out = Vec::with_capacity(json.len() + 7);
    out.extend_from_slice(b"{\"ok\":");
    out.extend_from_slice(json);
    out.push(b'}');
    out
}

fn env_call(
    mut caller: Caller<'_, HostState>,
    name_ptr: i32,
    name_len: i32,
    args_ptr: i32,
    args_len: i32,
) -> wasmtime::Result<i64> {
    count_host_call(&mut caller)?;
    let name = binding_name(&mut caller, name_ptr, name_len)?;
    let limit = caller.data().limits.max_payload_bytes;
    let args = abi::read(&mut caller, args_ptr, args_len, limit)?;
    let host = caller.data().host.clone();
    // A JavaScript bundle's WebAssembly instances are served here, never by the embedder.
    let envelope = if let Some(op) = name.strip_prefix("wasm:") {
        match caller.data_mut().nested.as_mut() {
            Some(nested) => nested.serve(op, &args, host).map_err(fail)?,
            None => error_envelope("TypeError", "this bundle has no WebAssembly modules"),
        }
    } else {
        match host {
            Some(host) => host.env_call(&name, &args)?,
            None => error_envelope("TypeError", &format!("env has no callable binding {name:?}")),
        }
    };
    check_reply(&caller, &envelope)?;
    abi::write_result(&mut caller, &envelope)
}

/// A host reply (env result, outbound response) is a payload like any other.
fn check_reply(caller: &Caller<'_, HostState>, envelope: &[u8]) -> wasmtime::Result<()> {
    let limit = caller.data().limits.max_payload_bytes;
    if envelope.len() as u64 > limit {
        return Err(fail(Error::PayloadTooLarge { bytes: envelope.len() as u64, limit }));
    }
    Ok(())
}

fn env_get(mut caller: Caller<'_, HostState>, name_ptr: i32, name_len: i32) -> wasmtime::Result<i64> {
    count_host_call(&mut caller)?;
    let name = binding_name(&mut caller, name_ptr, name_len)?;
    let envelope = match caller.data().env.0.get(&name) {
        Some(json) => ok_envelope(json),
        None => error_envelope("ReferenceError", &format!("env has no data binding {name:?}")),
    };
    abi::write_result(&mut caller, &envelope)
}

fn log(mut caller: Caller<'_, HostState>, level: i32, ptr: i32, len: i32) -> wasmtime::Result<()> {
    let level = match level {
        0 => LogLevel::Debug,
        1 => LogLevel::Info,
        2 => LogLevel::Warn,
        _ => LogLevel::Error,
    };
    let max = caller.data().limits.max_log_bytes;
    let used = caller.data().log_bytes;
    let bytes = abi::read(&mut caller, ptr, len, u64::MAX)?;
    let state = caller.data_mut();
    // Each record also costs the host a record, so even empty ones count against the budget.
    state.log_bytes = used.saturating_add(bytes.len() as u64 + LOG_RECORD_OVERHEAD_BYTES);
    if state.log_bytes > max {
        return Err(fail(Error::LogLimit { limit: max }));
    }
    state.logs.push(LogRecord { level, message: String::from_utf8_lossy(&bytes).into_owned() });
    Ok(())
}

fn throw(mut caller: Caller<'_, HostState>, ptr: i32, len: i32) -> wasmtime::Result<()> {
    let bytes = abi::read(&mut caller, ptr, len, MAX_ERROR_MESSAGE_BYTES as u64 * 4)?;
    Err(fail(guest_error(&bytes)))
}

/// Decodes a `throw` payload: a JSON error object, or plain text taken as the message.
fn guest_error(bytes: &[u8]) -> Error {
    let field = |v: &serde_json::Value, key: &str| v.get(key).and_then(|s| s.as_str()).map(str::to_owned);
    let parsed = serde_json::from_slice::<serde_json::Value>(bytes).map(|v| match v.get("error") {
        // An env error envelope re-thrown as it came.
        Some(inner) if inner.is_object() => inner.clone(),
        _ => v,
    });
    let (name, message, stack) = match parsed {
        Ok(v) if v.is_object() => (
            field(&v, "name").unwrap_or_else(|| "Error".into()),
            field(&v, "message").unwrap_or_default(),
            field(&v, "stack").unwrap_or_default(),
        ),
        _ => ("Error".into(), String::from_utf8_lossy(bytes).into_owned(), String::new()),
    };
    Error::Guest {
        name: truncate(name, 64),
        message: truncate(message, MAX_ERROR_MESSAGE_BYTES),
        stack: truncate(stack, MAX_ERROR_MESSAGE_BYTES * 4),
    }
}

/// Cuts `s` to at most `max` bytes on a character boundary.
pub fn truncate(mut s: String, max: usize) -> String {
    if s.len() > max {
        let mut end = max;
        while !s.is_char_boundary(end) {
            end -= 1;
        }
        s.truncate(end);
    }
    s
}

/// `outbound(ptr, len) -> i64`: one `fetch()`, counted against `sub_requests`.
fn outbound(mut caller: Caller<'_, HostState>, ptr: i32, len: i32) -> wasmtime::Result<i64> {
    count_host_call(&mut caller)?;
    let state = caller.data_mut();
    state.sub_requests += 1;
    if state.sub_requests > state.limits.sub_requests {
        return Err(fail(Error::SubRequestLimit { limit: state.limits.sub_requests }));
    }
    let limit = state.limits.max_payload_bytes;
    let request = abi::read(&mut caller, ptr, len, limit)?;
    let envelope = match caller.data().host.clone() {
        Some(host) => host.fetch(&request)?,
        None => error_envelope("TypeError", OUTBOUND_NOT_PERMITTED),
    };
    check_reply(&caller, &envelope)?;
    abi::write_result(&mut caller, &envelope)
}

/// Longest nap between checks for cancellation while a guest waits on a timer.
const SLEEP_SLICE: Duration = Duration::from_millis(5);

/// `sleep(ms)`: waits for a JavaScript timer. The wait counts against the call's deadline like
/// any other time, and ends early (with the deadline's error) when the deadline comes first.
fn sleep(caller: Caller<'_, HostState>, ms: i32) -> wasmtime::Result<()> {
    let state = caller.data();
    let wake = Instant::now() + Duration::from_millis(ms.max(0) as u64);
    loop {
        if state.interrupt.as_ref().is_some_and(|flag| flag.load(Ordering::Relaxed)) {
            return Err(fail(Error::Cancelled));
        }
        let now = Instant::now();
        if now >= state.deadline {
            return Err(fail(Error::CpuLimit { cpu_ms: state.limits.cpu_ms }));
        }
        if now >= wake {
            return Ok(());
        }
        std::thread::sleep((wake.min(state.deadline) - now).min(SLEEP_SLICE));
    }
}

/// `random(ptr, len)`: fills guest bytes from the operating system's CSPRNG (`crypto.*`).
fn random(mut caller: Caller<'_, HostState>, ptr: i32, len: i32) -> wasmtime::Result<()> {
    const MAX_RANDOM_BYTES: usize = 65_536;
    let memory = abi::memory(&mut caller)?;
    let (start, len) = (ptr as u32 as usize, len as u32 as usize);
    if len > MAX_RANDOM_BYTES {
        return Err(fail(Error::Serialization(format!("random() asked for {len} bytes; the limit is 65536"))));
    }
    let Some(dst) = memory.data_mut(&mut caller).get_mut(start..start.saturating_add(len)) else {
        return Err(fail(Error::Serialization("random() was given a range outside guest memory".into())));
    };
    getrandom::fill(dst).map_err(|e| fail(Error::Host(wasmtime::Error::msg(format!("no OS randomness: {e}")))))
}

/// Defines the imports the JavaScript engine uses: `log`, `env_call`, `outbound`, `sleep` and
/// `random`.
pub fn link_js(linker: &mut Linker<HostState>) -> wasmtime::Result<()> {
    linker.func_wrap("dynisolate", "log", log)?;
    linker.func_wrap("dynisolate", "env_call", env_call)?;
    linker.func_wrap("dynisolate", "outbound", outbound)?;
    linker.func_wrap("dynisolate", "sleep", sleep)?;
    linker.func_wrap("dynisolate", "random", random)?;
    Ok(())
}

/// Defines the `dynisolate` import module on `linker`.
pub fn link(linker: &mut Linker<HostState>) -> wasmtime::Result<()> {
    linker.func_wrap("dynisolate", "env_call", env_call)?;
    linker.func_wrap("dynisolate", "env_get", env_get)?;
    linker.func_wrap("dynisolate", "log", log)?;
    linker.func_wrap("dynisolate", "throw", throw)?;
    Ok(())
}
