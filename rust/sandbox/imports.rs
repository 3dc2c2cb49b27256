//! The security surface: everything tenant wasm can reach outside its own memory is the
//! `dynisolate` import module defined here, and nothing else is linked, so a module importing WASI
//! (files, clocks, environment) or anything unknown fails to load. Every pointer, length and name
//! arriving here comes from the guest and is checked before use (see [`abi`]).
//!
//! Imports (all pointers and lengths are `i32` offsets into the guest's exported `memory`):
//! - `env_call(name_ptr, name_len, args_ptr, args_len) -> i64`: call the env binding `name`
//!   (`"NAME"` or `"NAME.method"`) with a JSON array of arguments. Returns a packed pointer/length
//!   (see [`abi`]) of a JSON envelope the host wrote through `dynisolate_alloc`:
//!   `{"ok": value}` or `{"error": {"name": ..., "message": ...}}`. While the host serves it, it
//!   may call functions the guest passed (a JavaScript guest's; see `host::WaitingGuest`),
//!   which enters the guest again on the same stack and under the same limits.
//! - `env_get(name_ptr, name_len) -> i64`: the JSON value of a data binding, in the same envelope.
//! - `log(level, ptr, len)`: a UTF-8 log record; levels 0 debug, 1 info, 2 warn, 3 error.
//! - `throw(ptr, len)`: end the call with a guest error; the payload is a JSON object with
//!   `name`, `message` and `stack` (or an env error envelope, re-thrown as it came), or plain
//!   text used as the message.
//!
//! Every call counts against the call's limits (host calls, payload bytes, log bytes). An env
//! call the embedder serves is a wait, as I/O is on Cloudflare: its time counts against the
//! call's `wall_ms` but not its `cpu_ms`, except while the host calls back into the guest (see
//! `StoreData::begin_wait`). A host function that blocks (in Python) is not interrupted: the
//! wall-clock deadline takes effect when control returns to the guest. The JavaScript
//! interpreter links `env_call` and `log` from here plus imports of its own (`js/imports.rs`),
//! which tenant wasm never sees.

use std::time::Instant;

use wasmtime::{Caller, Extern, Linker, Memory};

use crate::error::Error;
use crate::sandbox::abi::{self, CALL_FUNCTION_EXPORT};
use crate::sandbox::host::{
    LOG_RECORD_OVERHEAD_BYTES, LogLevel, LogRecord, MAX_BINDING_NAME_BYTES, MAX_ERROR_STACK_BYTES, SERVICE_PREFIX,
    WaitingGuest, error_envelope, guest_error, no_binding, ok_envelope,
};
use crate::sandbox::state::{StoreData, classify};

/// A core error as the trap that ends the call.
pub fn fail(e: Error) -> wasmtime::Error {
    wasmtime::Error::new(e)
}

/// The calling guest's memory: the one found at boot (a lookup by name costs more than a small
/// read), else looked up.
pub fn memory(caller: &mut Caller<'_, StoreData>) -> wasmtime::Result<Memory> {
    match caller.data().abi.as_ref() {
        Some(abi) => Ok(abi.memory),
        None => abi::memory(caller),
    }
}

/// At most `limit` guest bytes at `ptr`.
pub fn read(caller: &mut Caller<'_, StoreData>, ptr: i32, len: i32, limit: u64) -> wasmtime::Result<Vec<u8>> {
    let memory = memory(caller)?;
    abi::copy_out(memory.data(&*caller), ptr as u32, len as u32, limit).map_err(wasmtime::Error::new)
}

/// Counts one host call against `max_host_calls`.
pub fn count_host_call(caller: &mut Caller<'_, StoreData>) -> wasmtime::Result<()> {
    caller.data_mut().count_host_call().map_err(fail)
}

fn binding_name(caller: &mut Caller<'_, StoreData>, ptr: i32, len: i32) -> wasmtime::Result<String> {
    let bytes = read(caller, ptr, len, MAX_BINDING_NAME_BYTES as u64)?;
    String::from_utf8(bytes).map_err(|_| fail(Error::Serialization("env binding name is not UTF-8".into())))
}

/// A host reply (env result, outbound response) is a payload like any other.
pub fn check_reply(caller: &Caller<'_, StoreData>, envelope: &[u8]) -> wasmtime::Result<()> {
    let limit = caller.data().limits.max_payload_bytes;
    if envelope.len() as u64 > limit {
        return Err(fail(Error::PayloadTooLarge { bytes: envelope.len() as u64, limit }));
    }
    Ok(())
}

/// Writes a reply envelope into the calling guest (through the ABI found at boot).
pub fn reply(caller: &mut Caller<'_, StoreData>, envelope: &[u8]) -> wasmtime::Result<i64> {
    let mut abi = caller.data().abi.clone();
    let written = abi::write_result(caller, abi.as_mut(), envelope);
    if abi.is_some() {
        caller.data_mut().abi = abi; // what it learnt of the inbox
    }
    written
}

fn env_call(
    mut caller: Caller<'_, StoreData>,
    name_ptr: i32,
    name_len: i32,
    args_ptr: i32,
    args_len: i32,
) -> wasmtime::Result<i64> {
    count_host_call(&mut caller)?;
    let name = binding_name(&mut caller, name_ptr, name_len)?;
    if name.starts_with(SERVICE_PREFIX) {
        caller.data_mut().count_sub_request().map_err(fail)?;
    }
    let limit = caller.data().limits.max_payload_bytes;
    let args = read(&mut caller, args_ptr, args_len, limit)?;
    let host = caller.data().host.clone();
    // A layer above may own some names (a JavaScript isolate's WebAssembly instances); the
    // embedder sees only the rest.
    let claimed = caller.data_mut().extension.as_mut().and_then(|ext| ext.env_call(&name, &args, host.clone()));
    let envelope = match (claimed, host) {
        (Some(served), _) => {
            // The extension's work is this guest's, but not the waits on the host it made.
            let state = caller.data_mut();
            if let Some(waited) = state.extension.as_mut().map(|ext| ext.take_waited())
                && !waited.is_zero()
            {
                state.credit_wait(waited);
            }
            served.map_err(fail)?
        }
        (None, Some(host)) => {
            caller.data_mut().begin_wait();
            let mut guest = WaitingCaller { caller: &mut caller, ended: None };
            let envelope = host.env_call(&name, &args, &mut guest);
            let ended = guest.ended;
            caller.data_mut().end_wait();
            if let Some(ended) = ended {
                return Err(fail(ended)); // whatever the host made of it, the call is over
            }
            envelope?
        }
        (None, None) => no_binding(&name),
    };
    check_reply(&caller, &envelope)?;
    reply(&mut caller, &envelope)
}

/// The functions of the env call being served, called by entering the guest again through its
/// `dynisolate_call_function` export (the JavaScript interpreter's).
struct WaitingCaller<'a, 'b> {
    caller: &'a mut Caller<'b, StoreData>,
    /// Why a call failed: it ends the env call's whole call.
    ended: Option<Error>,
}

impl WaitingCaller<'_, '_> {
    /// Runs the guest's function: the guest's own time, so its wait pauses meanwhile.
    fn enter(&mut self, index: u32, args: &[u8]) -> Result<Vec<u8>, Error> {
        self.caller.data_mut().end_wait();
        let result = self.run(index, args);
        self.caller.data_mut().begin_wait();
        result
    }

    fn run(&mut self, index: u32, args: &[u8]) -> Result<Vec<u8>, Error> {
        let caller = &mut *self.caller;
        caller.data().check_budget()?; // the host may have spent the call's time before it called
        let limit = caller.data().limits.max_payload_bytes;
        if args.len() as u64 > limit {
            return Err(Error::PayloadTooLarge { bytes: args.len() as u64, limit });
        }
        let Some(Extern::Func(func)) = caller.get_export(CALL_FUNCTION_EXPORT) else {
            return Err(Error::Argument("this guest passes no functions".into()));
        };
        let func = func.typed::<(i32, i32, i32), i64>(&*caller).map_err(Error::Host)?;
        let classify = |e: wasmtime::Error, caller: &Caller<'_, StoreData>| classify(e, &caller.data().limits);
        let (ptr, len) = abi::unpack(reply(caller, args).map_err(|e| classify(e, caller))?);
        let packed =
            func.call(&mut *caller, (index as i32, ptr as i32, len as i32)).map_err(|e| classify(e, caller))?;
        let (ptr, len) = abi::unpack(packed);
        let memory = memory(caller).map_err(|e| classify(e, caller))?;
        abi::copy_out(memory.data(&*caller), ptr, len, limit)
    }
}

impl WaitingGuest for WaitingCaller<'_, '_> {
    fn wall_deadline(&self) -> Instant {
        self.caller.data().wall_deadline()
    }

    fn call_function(&mut self, index: u32, args: &[u8]) -> Result<Vec<u8>, Error> {
        if let Some(ended) = &self.ended {
            return Err(ended.duplicate());
        }
        self.enter(index, args).map_err(|e| {
            let copy = e.duplicate();
            self.ended = Some(e);
            copy
        })
    }
}

fn env_get(mut caller: Caller<'_, StoreData>, name_ptr: i32, name_len: i32) -> wasmtime::Result<i64> {
    count_host_call(&mut caller)?;
    let name = binding_name(&mut caller, name_ptr, name_len)?;
    let envelope = match caller.data().env.get(&name) {
        Some(json) => ok_envelope(json),
        None => error_envelope("ReferenceError", &format!("env has no data binding {name:?}")),
    };
    reply(&mut caller, &envelope)
}

fn log(mut caller: Caller<'_, StoreData>, level: i32, ptr: i32, len: i32) -> wasmtime::Result<()> {
    let max = caller.data().limits.max_log_bytes;
    let used = caller.data().log_bytes;
    let bytes = read(&mut caller, ptr, len, u64::MAX)?;
    let state = caller.data_mut();
    // Each record also costs the host a record, so even empty ones count against the budget.
    state.log_bytes = used.saturating_add(bytes.len() as u64 + LOG_RECORD_OVERHEAD_BYTES);
    if state.log_bytes > max {
        return Err(fail(Error::LogLimit { limit: max }));
    }
    state.logs.push(LogRecord::new(LogLevel::from_guest(level), &bytes));
    Ok(())
}

fn throw(mut caller: Caller<'_, StoreData>, ptr: i32, len: i32) -> wasmtime::Result<()> {
    let bytes = read(&mut caller, ptr, len, MAX_ERROR_STACK_BYTES as u64)?;
    Err(fail(thrown(&bytes)))
}

/// Decodes a `throw` payload: a JSON error object (or an env error envelope re-thrown as it
/// came), or plain text taken as the message.
fn thrown(bytes: &[u8]) -> Error {
    match serde_json::from_slice::<serde_json::Value>(bytes) {
        Ok(v) if v.get("error").is_some_and(serde_json::Value::is_object) => guest_error(&v["error"]),
        Ok(v) if v.is_object() => guest_error(&v),
        _ => guest_error(&serde_json::json!({ "message": String::from_utf8_lossy(bytes) })),
    }
}

/// Defines the imports tenant wasm may link.
pub fn link(linker: &mut Linker<StoreData>) -> wasmtime::Result<()> {
    linker.func_wrap("dynisolate", "env_call", env_call)?;
    linker.func_wrap("dynisolate", "env_get", env_get)?;
    linker.func_wrap("dynisolate", "log", log)?;
    linker.func_wrap("dynisolate", "throw", throw)?;
    Ok(())
}

/// Defines the imports the JavaScript interpreter shares with tenant wasm: `log` and `env_call`.
pub fn link_shared(linker: &mut Linker<StoreData>) -> wasmtime::Result<()> {
    linker.func_wrap("dynisolate", "log", log)?;
    linker.func_wrap("dynisolate", "env_call", env_call)?;
    Ok(())
}
