//! The host/guest protocol of the JavaScript interpreter, written down once. `guest/js/shim.c`
//! reads these layouts and `guest/js/glue.js` names these ops and flags; `tests/rust/protocol.rs`
//! checks that both agree with the constants here.
//!
//! The interpreter speaks the JSON ABI (`sandbox/abi.rs`): the host writes a request into guest
//! memory and calls a byte export; the export returns a packed pointer/length of the reply.
//!
//! Exports (all `json:NAME`, all integers little endian):
//! - `json:start`: boots a fresh isolate. Input: `i64 seed | u32 bundle_len | bundle | request`,
//!   where the request is a load. The seed reseeds `Math.random`, which the pre-initialised
//!   heap would otherwise give every isolate the same.
//! - `json:run`: one request in an isolate that has loaded its bundle.
//! - `json:bundle`: takes a bundle without evaluating it (to compile its modules).
//! - `json:compile`: compiles bundle module N (decimal text) to bytecode; replies with the raw
//!   bytecode, or an error envelope (which starts with `{`, as bytecode never does).
//!
//! A request: `u8 op | u8 flags | u32 name_len | name | payload JSON`. The name is `method`
//! (the default export), `Class.method` (an entrypoint class), or for a load the main module;
//! the payload is the argument array, or for a load `{"env": {...}, "stubs": {...}}`. A binary
//! header rather than a JSON envelope: parsing JSON costs the interpreter far more.
//!
//! A bundle: `u32 count`, then per module `u32 name_len | u32 data_len | u32 is_bytecode`, the
//! name, a NUL, the data, a NUL.
//!
//! A reply: `{"ok": value}`, `{"error": {"name", "message", "stack"}}` (the guest's exception),
//! or `{"serialization": message}` (a result that cannot cross).
//!
//! Env calls: a stub's call reaches the host as `env_call("NAME" | "NAME.method", args)`. Names
//! with a prefix in [`RESERVED_PREFIXES`] are never env bindings (binding names cannot contain
//! `:`): `wasm:*` is served by the core itself (`nested.rs`), `step:*` by the durable engine's
//! run host (`dynisolate.workflows`).

use serde_json::{Value, json};

use crate::error::{Error, Result};
use crate::sandbox::host::{MAX_ERROR_MESSAGE_BYTES, guest_error, truncate};

/// `json:start`: a fresh isolate's seed, bundle and load request.
pub const EXPORT_START: &str = "start";
/// `json:run`: one request in a loaded isolate.
pub const EXPORT_RUN: &str = "run";
/// `json:bundle`: take a bundle without evaluating it.
pub const EXPORT_BUNDLE: &str = "bundle";
/// `json:compile`: compile one source module of the bundle to bytecode.
pub const EXPORT_COMPILE: &str = "compile";

/// Call a method with the argument array.
pub const OP_CALL: u8 = 0;
/// Call a `fetch` handler: the one argument becomes a `Request`, the result must be a `Response`.
pub const OP_FETCH: u8 = 1;
/// Evaluate the bundle from its main module (the request's name) and build the env.
pub const OP_LOAD: u8 = 2;

/// The worker has an outbound handler: `fetch()` reaches the host instead of being refused.
pub const FLAG_OUTBOUND: u8 = 1;
/// A load replies with what the bundle exports (`{"default": [...], "classes": {...}}`).
pub const FLAG_DESCRIBE: u8 = 2;

/// Bytes before a request's name: op, flags and the name's length.
pub const REQUEST_HEADER_BYTES: usize = 6;
/// Bytes before the bundle in `json:start`: the seed and the bundle's length.
pub const START_HEADER_BYTES: usize = 12;
/// Bytes before each module's name in a bundle: name length, data length, bytecode flag.
pub const MODULE_HEADER_BYTES: usize = 12;
/// Most modules one bundle may hold.
pub const MAX_BUNDLE_MODULES: usize = 4096;

/// `env_call` name prefixes that never reach the embedder's env bindings.
pub const RESERVED_PREFIXES: &[&str] = &["wasm:", "step:"];
/// The prefix of the WebAssembly requests the core serves itself.
pub const WASM_PREFIX: &str = "wasm:";

/// A request: header, name, then the payload given in parts.
pub fn request(op: u8, flags: u8, name: &str, payload: &[&[u8]]) -> Vec<u8> {
    let size = REQUEST_HEADER_BYTES + name.len() + payload.iter().map(|p| p.len()).sum::<usize>();
    let mut out = Vec::with_capacity(size);
    out.extend_from_slice(&[op, flags]);
    out.extend_from_slice(&(name.len() as u32).to_le_bytes());
    out.extend_from_slice(name.as_bytes());
    for part in payload {
        out.extend_from_slice(part);
    }
    out
}

/// The load request: evaluate the bundle from `main` and build the env from the data bindings
/// (`env_json`, one JSON object) and the stubs (`stubs_json`).
pub fn load_request(main: &str, describe: bool, env_json: &[u8], stubs_json: &[u8]) -> Vec<u8> {
    let flags = if describe { FLAG_DESCRIBE } else { 0 };
    request(OP_LOAD, flags, main, &[b"{\"env\":", env_json, b",\"stubs\":", stubs_json, b"}"])
}

/// The stubs of a load request: `None` is a function binding, `Some(methods)` an object.
pub fn stubs_to_json(stubs: &[(String, Option<Vec<String>>)]) -> Vec<u8> {
    let map: serde_json::Map<String, Value> =
        stubs.iter().map(|(name, methods)| (name.clone(), json!(methods))).collect();
    serde_json::to_vec(&map).expect("JSON always encodes")
}

/// Lays modules out as a bundle (see the module docs).
pub fn bundle<'a>(modules: impl ExactSizeIterator<Item = (&'a str, &'a [u8])>, bytecode: bool) -> Vec<u8> {
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

/// What `json:start` takes after the seed: the bundle's length, the bundle, the load request.
pub fn start_tail(bundle: &[u8], load_request: &[u8]) -> Vec<u8> {
    let mut tail = Vec::with_capacity(4 + bundle.len() + load_request.len());
    tail.extend_from_slice(&(bundle.len() as u32).to_le_bytes());
    tail.extend_from_slice(bundle);
    tail.extend_from_slice(load_request);
    tail
}

/// Decodes a reply envelope into the `ok` value or the error it reports.
pub fn envelope(reply: &[u8]) -> Result<Value> {
    let mut reply: Value = serde_json::from_slice(reply)
        .map_err(|e| Error::Serialization(format!("the interpreter replied with invalid JSON: {e}")))?;
    if let Some(value) = reply.get_mut("ok") {
        return Ok(value.take());
    }
    if let Some(Value::String(message)) = reply.get_mut("serialization") {
        return Err(Error::Serialization(truncate(std::mem::take(message), MAX_ERROR_MESSAGE_BYTES)));
    }
    Err(guest_error(reply.get("error").unwrap_or(&Value::Null)))
}

/// The value of an `ok` reply, sliced out without a parse: glue.js writes a successful reply as
/// `{"ok":` + the result's JSON text + `}`. `None` for any other reply.
pub fn ok_value(reply: &[u8]) -> Option<&[u8]> {
    reply.strip_prefix(b"{\"ok\":").and_then(|rest| rest.strip_suffix(b"}"))
}
