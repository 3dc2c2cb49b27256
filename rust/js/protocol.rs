//! The host/guest protocol of the JavaScript interpreter, written down once. `guest/js/shim.c`
//! reads these layouts and `guest/js/glue.js` names these ops and flags; `tests/rust/protocol.rs`
//! checks that both agree with the constants here.
//!
//! The interpreter speaks the JSON ABI (`sandbox/abi.rs`): the host writes a request into guest
//! memory and calls a byte export; the export returns a packed pointer/length of the reply.
//!
//! Exports (all `json:NAME`, all integers little endian):
//! - `json:start`: boots a fresh isolate in one entry. Input: `u32 bundle_len | bundle | load
//!   request | [call request]`: it loads the bundle (evaluates the main module) and, when a call
//!   request follows, makes the call; the reply is the call's (or the load's error).
//! - `json:run`: one call request in an isolate that has loaded its bundle (a session's, or one
//!   restored from a snapshot of the evaluated bundle).
//! - `json:bundle`: takes a bundle without evaluating it (to compile its modules).
//! - `json:compile`: compiles bundle module N (decimal text) to bytecode; replies with
//!   [`COMPILED`], `u32 count`, the count specifiers the module imports statically (each `u32
//!   len | text`), then the bytecode; or with an error envelope (which starts with `{`).
//!
//! A request: `u8 op | u8 flags | u32 name_len | u32 env_len | u32 payload_len | i64 seed |
//! name | env | payload`. The name is `method` (the default export), `Class.method` (an
//! entrypoint class), or for a load the main module; the payload is the argument array as JSON
//! (a load has none). A non-zero seed reseeds `Math.random` first (the pre-initialised heap, or a
//! snapshot, would otherwise give every isolate the same sequence). With [`FLAG_ENV`] the env
//! section builds the isolate's `env` (an isolate's first call carries it: env is never part of
//! an evaluated heap). A binary header rather than a JSON envelope: parsing JSON costs the
//! interpreter far more.
//!
//! The env section: `u32 count`, then per binding `u8 kind | u32 name_len | u32 value_len |
//! name | value`: [`ENV_DATA`] (the value's JSON, parsed when first read), [`ENV_FUNCTION`]
//! (an RPC stub function; no value), [`ENV_OBJECT`] (an object of RPC stub methods; the value
//! is their names, each followed by a NUL) or [`ENV_SERVICE`] (a service binding: as
//! `ENV_OBJECT`, but named `service:NAME`; the env property is `NAME` and its calls are
//! `service:NAME.method`, each a sub-request of the caller's; see [`SERVICE_PREFIX`]).
//!
//! A bundle: `u32 count`, then per entry `u32 name_len | u32 data_len | u32 kind`, the name, a
//! NUL, the data, a NUL. An entry is a module ([`ENTRY_SOURCE`] or [`ENTRY_BYTECODE`]) or, after
//! all modules, a link ([`ENTRY_LINK`]: name is the importer, data the specifier, a NUL and the
//! module it resolves to; links sorted by importer, then specifier; see `resolve.rs`).
//!
//! A reply: `{"ok": value}`, a clone (below) of the value, `{"error": {"name", "message",
//! "stack"}}` (the guest's exception), or `{"serialization": message}` (a result that cannot
//! cross).
//!
//! Values: plain data crosses as JSON, the cheapest form for both sides. A value JSON cannot carry
//! faithfully (undefined, bytes, Date, Map, Set, BigInt, Error, a non-finite number, a shared or
//! cyclic reference) crosses as a clone: [`CLONE_MAGIC`] (never the first byte of JSON, nor of
//! UTF-8), then one value. A value is a tag and its payload: [`CLONE_UNDEFINED`], [`CLONE_NULL`],
//! [`CLONE_TRUE`], [`CLONE_FALSE`] (none); [`CLONE_INT`] (i32); [`CLONE_FLOAT`] (f64);
//! [`CLONE_STRING`] and [`CLONE_BIGINT`] (a string: `u32 len | UTF-8`, a lone surrogate as its
//! own three bytes; a BigInt as its decimal text); [`CLONE_BYTES`] (`u32 len | bytes`: a
//! Uint8Array or an ArrayBuffer); [`CLONE_DATE`] (f64 ms since the epoch); [`CLONE_ERROR`]
//! (three strings: name, message, stack); [`CLONE_ARRAY`] and [`CLONE_SET`] (`u32 count |
//! values`); [`CLONE_OBJECT`] (`u32 count | (string key, value)*`); [`CLONE_MAP`] (`u32 count |
//! (key, value)*`); [`CLONE_STUB`] (host to guest only: a string, the stub's name, `u32 count |
//! method names`, then `u32 count | (string name, value)*` of its properties: an object whose
//! methods make env calls named `NAME.method`, for an `RpcTarget` the host returned; see
//! [`STUB_PREFIX`]); [`CLONE_REQUEST`] and [`CLONE_RESPONSE`] (a `Request` or `Response`, body
//! and all: then one value, an object `{method, url, headers, body, cf?}` or `{status, statusText,
//! headers, body}` with `headers` a list of `[name, value]` and `body` bytes or null; sending one
//! consumes its body, as Workers RPC does); [`CLONE_FUNCTION`] (guest to host, in an env call's
//! arguments only: `u32 index`, a function the host may call while it serves that env call,
//! through the `dynisolate_call_function` export; see `sandbox::host::WaitingGuest`; not an
//! object for references); [`CLONE_REF`] (`u32 index`: the
//! index-th object of the value, counting arrays, objects, maps, sets, bytes, dates, errors,
//! stubs, requests and responses in the order they began). Nesting is
//! bounded by [`CLONE_MAX_DEPTH`] both ways. Both sides write JSON when they can: the plain-data
//! path costs nothing more for the clone's existence.
//!
//! Env calls: a stub's call reaches the host as `env_call("NAME" | "NAME.method", args)`. Names
//! with a prefix in [`RESERVED_PREFIXES`] are never env bindings (binding names cannot contain
//! `:`): `wasm:*` is served by the core itself (`nested.rs`), `step:*` by the durable engine's
//! run host (`dynisolate.workflows`).

use serde_json::Value;

use crate::error::{Error, Result};
pub use crate::js::builtins::NODE_GLOBALS;
use crate::js::resolve::Link;
pub use crate::sandbox::abi::CALL_FUNCTION_EXPORT;
pub use crate::sandbox::host::SERVICE_PREFIX;
use crate::sandbox::host::{MAX_ERROR_MESSAGE_BYTES, guest_error, truncate};

/// `json:start`: boot a fresh isolate (load, and make the call that follows).
pub const EXPORT_START: &str = "start";
/// `json:run`: one call in a loaded isolate.
pub const EXPORT_RUN: &str = "run";
/// `json:bundle`: take a bundle without evaluating it.
pub const EXPORT_BUNDLE: &str = "bundle";
/// `json:compile`: compile one source module of the bundle to bytecode.
pub const EXPORT_COMPILE: &str = "compile";

/// Call a method with the argument array.
pub const OP_CALL: u8 = 0;
/// Call a `fetch` handler: the one argument becomes a `Request`, the result must be a `Response`.
pub const OP_FETCH: u8 = 1;
/// Evaluate the bundle from its main module (the request's name).
pub const OP_LOAD: u8 = 2;

/// The worker has an outbound handler: `fetch()` reaches the host instead of being refused.
pub const FLAG_OUTBOUND: u8 = 1;
/// A load replies with what the bundle exports (`{"default": [...], "classes": {...}}`).
pub const FLAG_DESCRIBE: u8 = 2;
/// The request carries the isolate's env section.
pub const FLAG_ENV: u8 = 4;
/// After a load, collect the garbage and leave room before the next collection: the heap is
/// about to be snapshotted.
pub const FLAG_SETTLE: u8 = 8;
/// The argument array starts with the entrypoint's `ctx.props` (Cloudflare's props of a
/// `getEntrypoint`), which the method does not receive as an argument.
pub const FLAG_PROPS: u8 = 16;

/// An env binding holding data (its JSON).
pub const ENV_DATA: u8 = 0;
/// An env binding the host serves as a function.
pub const ENV_FUNCTION: u8 = 1;
/// An env binding the host serves as an object of methods.
pub const ENV_OBJECT: u8 = 2;
/// An env binding that is another worker (a service binding).
pub const ENV_SERVICE: u8 = 3;

/// Bytes before a request's name: op, flags, the three lengths and the seed.
pub const REQUEST_HEADER_BYTES: usize = 22;
/// Bytes before the bundle in `json:start`: the bundle's length.
pub const START_HEADER_BYTES: usize = 4;
/// Bytes before each entry's name in a bundle: name length, data length, kind.
pub const MODULE_HEADER_BYTES: usize = 12;
/// Most modules one bundle may hold.
pub const MAX_BUNDLE_MODULES: usize = 4096;
/// Most entries (modules and links) one bundle may hold.
pub const MAX_BUNDLE_ENTRIES: usize = 65_536;
/// A bundle entry holding a module's source text.
pub const ENTRY_SOURCE: u32 = 0;
/// A bundle entry holding a module's QuickJS bytecode (made by `json:compile`).
pub const ENTRY_BYTECODE: u32 = 1;
/// A bundle entry saying which module an importer's specifier resolved to.
pub const ENTRY_LINK: u32 = 2;
/// The first byte of a successful `json:compile` reply.
pub const COMPILED: u8 = b'B';

/// The first byte of a value sent as a clone rather than JSON.
pub const CLONE_MAGIC: u8 = 0xC1;
/// Deepest nesting a clone may have, in either direction.
pub const CLONE_MAX_DEPTH: usize = 128;
pub const CLONE_UNDEFINED: u8 = b'u';
pub const CLONE_NULL: u8 = b'n';
pub const CLONE_TRUE: u8 = b't';
pub const CLONE_FALSE: u8 = b'f';
pub const CLONE_INT: u8 = b'i';
pub const CLONE_FLOAT: u8 = b'd';
pub const CLONE_BIGINT: u8 = b'z';
pub const CLONE_STRING: u8 = b's';
pub const CLONE_ARRAY: u8 = b'a';
pub const CLONE_OBJECT: u8 = b'o';
pub const CLONE_MAP: u8 = b'm';
pub const CLONE_SET: u8 = b'e';
pub const CLONE_BYTES: u8 = b'b';
pub const CLONE_DATE: u8 = b'D';
pub const CLONE_ERROR: u8 = b'E';
pub const CLONE_REF: u8 = b'r';
pub const CLONE_STUB: u8 = b'S';
pub const CLONE_REQUEST: u8 = b'Q';
pub const CLONE_RESPONSE: u8 = b'P';
pub const CLONE_FUNCTION: u8 = b'F';

/// The prefix of a stub's name: `stub:ID`, ID unique in the process, so a stub kept past the call
/// that received it never reaches another call's object.
pub const STUB_PREFIX: &str = "stub:";
/// `env_call` name prefixes that never reach the embedder's env bindings.
pub const RESERVED_PREFIXES: &[&str] = &["wasm:", "step:", STUB_PREFIX];
/// The prefix of the WebAssembly requests the core serves itself.
pub const WASM_PREFIX: &str = "wasm:";

/// One request, held as its parts so it can be written into the guest without concatenating.
pub struct Request<'a> {
    pub op: u8,
    pub flags: u8,
    pub name: &'a str,
    pub env: &'a [u8],
    pub payload: &'a [u8],
    pub seed: i64,
}

impl Request<'_> {
    /// The fixed-size header.
    pub fn header(&self) -> [u8; REQUEST_HEADER_BYTES] {
        let mut header = [0u8; REQUEST_HEADER_BYTES];
        header[0] = self.op;
        header[1] = self.flags;
        header[2..6].copy_from_slice(&(self.name.len() as u32).to_le_bytes());
        header[6..10].copy_from_slice(&(self.env.len() as u32).to_le_bytes());
        header[10..14].copy_from_slice(&(self.payload.len() as u32).to_le_bytes());
        header[14..22].copy_from_slice(&self.seed.to_le_bytes());
        header
    }
}

/// A load request: evaluate the bundle from `main`.
pub fn load_request(main: &str, flags: u8, seed: i64) -> Request<'_> {
    Request { op: OP_LOAD, flags, name: main, env: &[], payload: &[], seed }
}

/// The env section for the data bindings (`data`: name and JSON) and the stubs (`None`: a
/// function; `Some(methods)`: an object with those methods). Built once per worker.
pub fn env_section<'a>(
    data: impl ExactSizeIterator<Item = (&'a str, &'a [u8])>,
    stubs: &[(String, Option<Vec<String>>)],
) -> Vec<u8> {
    let mut out = ((data.len() + stubs.len()) as u32).to_le_bytes().to_vec();
    let mut binding = |kind: u8, name: &str, value: &[u8]| {
        out.push(kind);
        out.extend_from_slice(&(name.len() as u32).to_le_bytes());
        out.extend_from_slice(&(value.len() as u32).to_le_bytes());
        out.extend_from_slice(name.as_bytes());
        out.extend_from_slice(value);
    };
    for (name, json) in data {
        binding(ENV_DATA, name, json);
    }
    for (name, methods) in stubs {
        match methods {
            None => binding(ENV_FUNCTION, name, &[]),
            Some(methods) => {
                let names: Vec<u8> = methods.iter().flat_map(|m| m.bytes().chain([0])).collect();
                let kind = if name.starts_with(SERVICE_PREFIX) { ENV_SERVICE } else { ENV_OBJECT };
                binding(kind, name, &names);
            }
        }
    }
    out
}

/// Lays modules (of `kind`) and then `links` out as a bundle (see the module docs).
pub fn bundle<'a>(modules: impl ExactSizeIterator<Item = (&'a str, &'a [u8])>, kind: u32, links: &[Link]) -> Vec<u8> {
    let mut out = ((modules.len() + links.len()) as u32).to_le_bytes().to_vec();
    let mut entry = |name: &str, data: &[&[u8]], kind: u32| {
        let data_len: usize = data.iter().map(|part| part.len()).sum();
        for n in [name.len() as u32, data_len as u32, kind] {
            out.extend_from_slice(&n.to_le_bytes());
        }
        out.extend_from_slice(name.as_bytes());
        out.push(0);
        data.iter().for_each(|part| out.extend_from_slice(part));
        out.push(0);
    };
    for (name, data) in modules {
        entry(name, &[data], kind);
    }
    for link in links {
        entry(&link.importer, &[link.specifier.as_bytes(), b"\0", link.target.as_bytes()], ENTRY_LINK);
    }
    out
}

/// A `json:compile` reply's specifiers and bytecode; `None` for an error envelope or a reply
/// that does not follow the layout.
pub fn compiled(reply: &[u8]) -> Option<(Vec<String>, &[u8])> {
    fn u32_prefix(bytes: &[u8]) -> Option<(usize, &[u8])> {
        let (head, tail) = bytes.split_first_chunk::<4>()?;
        Some((u32::from_le_bytes(*head) as usize, tail))
    }
    let (count, mut rest) = u32_prefix(reply.strip_prefix(&[COMPILED])?)?;
    let mut specifiers = Vec::new();
    for _ in 0..count {
        let (len, tail) = u32_prefix(rest)?;
        let (text, tail) = (tail.get(..len)?, tail.get(len..)?);
        specifiers.push(String::from_utf8(text.to_vec()).ok()?);
        rest = tail;
    }
    Some((specifiers, rest))
}

/// A clone of plain data (what the guest sends as a clone when tenant code has changed the
/// intrinsics its JSON writer trusts) as JSON; `None` for a clone JSON cannot hold (references
/// included: plain data has none).
pub fn clone_to_json(clone: &[u8]) -> Option<Value> {
    struct Reader<'a> {
        bytes: &'a [u8],
    }
    impl Reader<'_> {
        fn take(&mut self, n: usize) -> Option<&[u8]> {
            let (head, tail) = (self.bytes.get(..n)?, self.bytes.get(n..)?);
            self.bytes = tail;
            Some(head)
        }
        fn u32(&mut self) -> Option<usize> {
            Some(u32::from_le_bytes(self.take(4)?.try_into().ok()?) as usize)
        }
        fn string(&mut self) -> Option<String> {
            let len = self.u32()?;
            String::from_utf8(self.take(len)?.to_vec()).ok()
        }
        fn value(&mut self, depth: usize) -> Option<Value> {
            if depth > CLONE_MAX_DEPTH {
                return None;
            }
            Some(match self.take(1)?[0] {
                CLONE_UNDEFINED | CLONE_NULL => Value::Null,
                CLONE_TRUE => Value::Bool(true),
                CLONE_FALSE => Value::Bool(false),
                CLONE_INT => Value::from(i32::from_le_bytes(self.take(4)?.try_into().ok()?)),
                CLONE_FLOAT => serde_json::Number::from_f64(f64::from_le_bytes(self.take(8)?.try_into().ok()?))
                    .map(Value::Number)?,
                CLONE_STRING => Value::String(self.string()?),
                CLONE_ARRAY => {
                    let count = self.u32()?;
                    (0..count).map(|_| self.value(depth + 1)).collect::<Option<Vec<_>>>().map(Value::Array)?
                }
                CLONE_OBJECT => {
                    let count = self.u32()?;
                    let mut object = serde_json::Map::new();
                    for _ in 0..count {
                        let key = self.string()?;
                        object.insert(key, self.value(depth + 1)?);
                    }
                    Value::Object(object)
                }
                _ => return None,
            })
        }
    }
    let mut reader = Reader { bytes: clone.strip_prefix(&[CLONE_MAGIC])? };
    let value = reader.value(0)?;
    reader.bytes.is_empty().then_some(value)
}

/// Decodes a reply envelope into the `ok` value or the error it reports.
pub fn envelope(reply: &[u8]) -> Result<Value> {
    if reply.first() == Some(&CLONE_MAGIC) {
        return clone_to_json(reply)
            .ok_or_else(|| Error::Serialization("the interpreter replied with a value JSON cannot hold".into()));
    }
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

/// The value of a successful reply, sliced out without a parse: its JSON text (from `{"ok":` +
/// the JSON + `}`) or the whole reply when it is a clone. `None` for any other reply.
pub fn ok_value(reply: &[u8]) -> Option<&[u8]> {
    if reply.first() == Some(&CLONE_MAGIC) {
        return Some(reply);
    }
    reply.strip_prefix(b"{\"ok\":").and_then(|rest| rest.strip_suffix(b"}"))
}
