//! What the embedder provides and receives: the [`Host`] trait that serves a guest's env calls
//! (and a JavaScript guest's outbound requests), the env data copied into isolates, log records,
//! and the reply envelopes host calls answer with.

use std::sync::Arc;
use std::time::Instant;

use crate::error::Error;

/// What one log record counts against `max_log_bytes` on top of its text.
pub const LOG_RECORD_OVERHEAD_BYTES: u64 = 64;
/// Longest text one log record keeps, in bytes: past it the text is cut (see [`LogRecord::new`]),
/// so one record cannot flood a log line however much of the call's budget it spends.
pub const MAX_LOG_RECORD_BYTES: usize = 16 * 1024;

/// The prefix of env calls through a service binding (`service:NAME.method`): another worker the
/// embedder bound, each call a sub-request of the caller's. Binding names cannot contain `:`, so
/// no other binding has it.
pub const SERVICE_PREFIX: &str = "service:";

/// Largest env binding name, in bytes.
pub const MAX_BINDING_NAME_BYTES: usize = 256;
/// Longest error message carried into a guest or out of one, in bytes.
pub const MAX_ERROR_MESSAGE_BYTES: usize = 4096;
/// Longest error name carried out of a guest, in bytes.
pub const MAX_ERROR_NAME_BYTES: usize = 64;
/// Longest guest stack carried out of a guest, in bytes.
pub const MAX_ERROR_STACK_BYTES: usize = 4 * MAX_ERROR_MESSAGE_BYTES;

/// The guest waiting in the env call the host is serving. Its functions (a JavaScript guest's,
/// passed as clone tag `F`) can be called until the host replies: each call enters the guest
/// again, on the same stack and under the same limits. An error calling one ends the whole call
/// whatever the host then does: the guest may have stopped anywhere.
pub trait WaitingGuest {
    /// Calls function `index` with `args` (the argument array, as JSON or a clone). Replies with
    /// the guest's envelope, as a call's: `{"ok": value}` or a clone, `{"error": ...}` (the
    /// function threw), or `{"serialization": ...}` (its result cannot cross).
    fn call_function(&mut self, index: u32, args: &[u8]) -> Result<Vec<u8>, Error>;

    /// When the guest's call must end, waits included (its `wall_ms`, or an earlier deadline it
    /// inherited): a call the host makes while this guest waits must end by then too. (Its CPU
    /// deadline is no bound on such a call: it stands still while the guest waits.)
    fn wall_deadline(&self) -> Instant;
}

/// Dispatches env calls and outbound requests to the embedder (the Python layer implements this).
pub trait Host: Send + Sync {
    /// Calls binding `name` with `args_json` (a JSON array, or a clone for a JavaScript guest);
    /// `guest` calls back the functions among them. `Ok` carries the envelope bytes the guest
    /// will read, including errors the guest may handle; `Err` ends the whole call.
    fn env_call(&self, name: &str, args_json: &[u8], guest: &mut dyn WaitingGuest) -> wasmtime::Result<Vec<u8>>;

    /// Serves one outbound request (`{method, url, headers, body}` as JSON, body in base64);
    /// replies with an envelope whose `ok` is `{status, statusText, headers, body}`. A JavaScript
    /// guest only sends requests when `has_outbound` says so (it refuses `fetch()` itself
    /// otherwise, with Cloudflare's words), so this default answers a guest that ignored that.
    fn fetch(&self, _request_json: &[u8]) -> wasmtime::Result<Vec<u8>> {
        Ok(error_envelope("TypeError", "this worker has no outbound handler"))
    }

    /// Whether `fetch` serves requests.
    fn has_outbound(&self) -> bool {
        false
    }

    /// A wall-clock deadline for the call besides its own `wall_ms` (it ends at the earlier): a
    /// call made while the host serves another guest's env call ends by that guest's
    /// [`WaitingGuest::wall_deadline`].
    fn wall_deadline(&self) -> Option<Instant> {
        None
    }

    /// The call's result, ready before the call ends (a JavaScript call whose `ctx.waitUntil`
    /// work goes on): `value` as the call will return it (JSON or a clone). Ignored by default.
    fn reply_ready(&self, _value: &[u8]) {}
}

/// Severity of a guest log record.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum LogLevel {
    Debug,
    Info,
    Warn,
    Error,
}

impl LogLevel {
    /// The level a guest's `log` import passes: 0 debug, 1 info, 2 warn, anything else error.
    pub fn from_guest(level: i32) -> LogLevel {
        match level {
            0 => LogLevel::Debug,
            1 => LogLevel::Info,
            2 => LogLevel::Warn,
            _ => LogLevel::Error,
        }
    }

    pub fn as_str(self) -> &'static str {
        match self {
            LogLevel::Debug => "debug",
            LogLevel::Info => "info",
            LogLevel::Warn => "warn",
            LogLevel::Error => "error",
        }
    }
}

/// One record written by the guest through `log`.
#[derive(Clone, Debug)]
pub struct LogRecord {
    pub level: LogLevel,
    pub message: String,
}

impl LogRecord {
    /// The record of `bytes` (UTF-8, invalid sequences replaced), its text cut at a character
    /// boundary once it passes [`MAX_LOG_RECORD_BYTES`], with a note of how many bytes were cut.
    pub fn new(level: LogLevel, bytes: &[u8]) -> LogRecord {
        let text = String::from_utf8_lossy(bytes);
        if text.len() <= MAX_LOG_RECORD_BYTES {
            return LogRecord { level, message: text.into_owned() };
        }
        let kept = text.floor_char_boundary(MAX_LOG_RECORD_BYTES);
        let message = format!("{}... [{} bytes cut]", &text[..kept], text.len() - kept);
        LogRecord { level, message }
    }
}

/// Data bindings of `env`, in the order the embedder gave them: JSON copied into every isolate
/// that asks for them.
#[derive(Clone, Debug, Default)]
pub struct EnvData(Vec<(String, Arc<[u8]>)>);

impl EnvData {
    /// Adds binding `name` holding `json` (replacing one of the same name, in its place).
    pub fn insert(&mut self, name: impl Into<String>, json: impl Into<Arc<[u8]>>) {
        let (name, json) = (name.into(), json.into());
        match self.0.iter_mut().find(|(n, _)| *n == name) {
            Some(binding) => binding.1 = json,
            None => self.0.push((name, json)),
        }
    }

    /// The JSON of binding `name`.
    pub fn get(&self, name: &str) -> Option<&[u8]> {
        self.0.iter().find(|(n, _)| n == name).map(|(_, json)| &json[..])
    }

    /// The bindings, in order.
    pub fn iter(&self) -> impl ExactSizeIterator<Item = (&str, &[u8])> {
        self.0.iter().map(|(name, json)| (name.as_str(), &json[..]))
    }
}

/// The reply to an env call of `name` that no binding serves.
pub fn no_binding(name: &str) -> Vec<u8> {
    error_envelope("TypeError", &format!("env has no callable binding {name:?}"))
}

/// The reply envelope of a failed host call: `{"error": {"name", "message"}}`.
pub fn error_envelope(name: &str, message: &str) -> Vec<u8> {
    serde_json::to_vec(&serde_json::json!({ "error": { "name": name, "message": message } }))
        .expect("a JSON object of two strings always encodes")
}

/// The reply envelope of a host call that returned `json`: `{"ok": json}`.
pub fn ok_envelope(json: &[u8]) -> Vec<u8> {
    let mut out = Vec::with_capacity(json.len() + 7);
    out.extend_from_slice(b"{\"ok\":");
    out.extend_from_slice(json);
    out.push(b'}');
    out
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

/// A guest's error from its `{name, message, stack}` fields, each bounded: the one decoder for
/// errors a guest reports (a `throw` import, a JavaScript reply envelope).
pub fn guest_error(error: &serde_json::Value) -> Error {
    let text = |key: &str| error.get(key).and_then(serde_json::Value::as_str).map(str::to_owned);
    Error::Guest {
        name: truncate(text("name").unwrap_or_else(|| "Error".into()), MAX_ERROR_NAME_BYTES),
        message: truncate(text("message").unwrap_or_default(), MAX_ERROR_MESSAGE_BYTES),
        stack: truncate(text("stack").unwrap_or_default(), MAX_ERROR_STACK_BYTES),
    }
}
