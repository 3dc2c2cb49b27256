//! One call surface over both kinds of tenant code: a [`Worker`] is a loaded WebAssembly module
//! or a loaded JavaScript bundle, a [`Session`] one isolate of either kept across calls. Callers
//! (the Python binding) name an export and hand over arguments; only argument conversion, which
//! depends on an export's signature, needs to know which kind it holds.

use std::sync::Arc;
use std::sync::atomic::AtomicBool;
use std::time::Duration;

use crate::config::Limits;
use crate::error::{Error, Result};
use crate::js::{JsCall, JsSession, JsWorker};
use crate::runtime::cache::CacheOutcome;
use crate::sandbox::guest::{Export, Guest};
use crate::sandbox::host::{Host, LogRecord};
use crate::sandbox::isolate::{CallReport, Input, Isolate};

/// Loaded tenant code of either kind.
#[derive(Clone)]
pub enum Worker {
    Wasm { guest: Arc<Guest>, cache_outcome: CacheOutcome },
    Js(Arc<JsWorker>),
}

/// One isolate of a worker, kept across calls.
pub enum Session {
    Wasm(Isolate),
    Js { worker: Arc<JsWorker>, session: JsSession },
}

/// One invocation: an export name (`method`, or `Class.method` for a JavaScript entrypoint
/// class), its arguments, and whether it is a JavaScript `fetch` handler call.
#[derive(Clone, Copy)]
pub struct Call<'a> {
    pub name: &'a str,
    pub input: Input<'a>,
    pub fetch: bool,
    /// JavaScript: the first argument is `ctx.props` (see `JsCall::props`).
    pub props: bool,
}

/// A JavaScript call from a generic one: JavaScript takes its arguments as one JSON array.
fn js_call<'a>(call: &Call<'a>) -> Result<JsCall<'a>> {
    let Input::Json(args_json) = call.input else {
        return Err(Error::Argument(format!("{}() takes JSON arguments", call.name)));
    };
    Ok(JsCall { name: call.name, args_json, fetch: call.fetch, props: call.props })
}

/// A report for a call that failed before any isolate ran.
fn failed(error: Error) -> CallReport {
    CallReport { result: Err(error), logs: Vec::new() }
}

impl Worker {
    /// `"wasm"` or `"javascript"`.
    pub fn kind(&self) -> &'static str {
        match self {
            Worker::Wasm { .. } => "wasm",
            Worker::Js(_) => "javascript",
        }
    }

    /// The limits every isolate of this worker runs under.
    pub fn limits(&self) -> &Limits {
        match self {
            Worker::Wasm { guest, .. } => &guest.limits,
            Worker::Js(worker) => &worker.interpreter.limits,
        }
    }

    /// Where the compiled code came from (for JavaScript, the bundle's bytecode).
    pub fn cache_outcome(&self) -> CacheOutcome {
        match self {
            Worker::Wasm { cache_outcome, .. } => *cache_outcome,
            Worker::Js(worker) => worker.cache_outcome,
        }
    }

    /// Callable names, sorted: wasm exports; JavaScript default-export methods and
    /// `Class.method` for entrypoint classes.
    pub fn exports(&self) -> Vec<String> {
        match self {
            Worker::Wasm { guest, .. } => guest.export_names(),
            Worker::Js(worker) => {
                let d = &worker.description;
                let mut names = d.default_methods.clone();
                for (class, methods) in &d.classes {
                    names.extend(methods.iter().map(|m| format!("{class}.{m}")));
                }
                names.sort();
                names
            }
        }
    }

    /// Fails with `Error::ExportNotFound` unless `name` is callable.
    pub fn check_export(&self, name: &str) -> Result<()> {
        let found = match self {
            Worker::Wasm { guest, .. } => guest.export(name).is_ok(),
            Worker::Js(worker) => {
                let d = &worker.description;
                match name.split_once('.') {
                    None => d.default_methods.iter().any(|m| m == name),
                    Some((class, method)) => {
                        d.classes.iter().any(|(c, methods)| c == class && methods.iter().any(|m| m == method))
                    }
                }
            }
        };
        if found { Ok(()) } else { Err(Error::ExportNotFound { name: name.to_owned() }) }
    }

    /// The wasm export `name`, whose signature decides how arguments convert (`None` for
    /// JavaScript, whose arguments are always a JSON array).
    pub fn wasm_export(&self, name: &str) -> Result<Option<&Export>> {
        match self {
            Worker::Wasm { guest, .. } => guest.export(name).map(Some),
            Worker::Js(_) => Ok(None),
        }
    }

    /// Runs `call` in a fresh isolate; `host` serves env calls (and JavaScript's outbound
    /// requests); setting `interrupt` stops the guest with `Error::Cancelled`.
    pub fn call(
        &self,
        call: &Call<'_>,
        host: Option<Arc<dyn Host>>,
        interrupt: Option<Arc<AtomicBool>>,
        acquire_timeout: Duration,
    ) -> CallReport {
        match self {
            Worker::Wasm { guest, .. } => match guest.export(call.name) {
                Ok(export) => guest.call_interruptible(export, call.input, host, interrupt, acquire_timeout),
                Err(e) => failed(e),
            },
            Worker::Js(worker) => match js_call(call) {
                Ok(js) => worker.call(&js, host, interrupt, acquire_timeout),
                Err(e) => failed(e),
            },
        }
    }

    /// Boots one isolate that keeps its state across calls; returns it with the log records its
    /// start wrote.
    pub fn session(&self, acquire_timeout: Duration) -> Result<(Session, Vec<LogRecord>)> {
        match self {
            Worker::Wasm { guest, .. } => {
                let mut isolate = guest.boot(None, acquire_timeout)?;
                let logs = isolate.take_logs();
                Ok((Session::Wasm(isolate), logs))
            }
            Worker::Js(worker) => {
                let session = worker.session(acquire_timeout)?;
                Ok((Session::Js { worker: worker.clone(), session }, Vec::new()))
            }
        }
    }
}

impl Session {
    /// Runs `call` in this session's isolate; its state carries over to the next call.
    pub fn call(
        &mut self,
        call: &Call<'_>,
        host: Option<Arc<dyn Host>>,
        interrupt: Option<Arc<AtomicBool>>,
    ) -> CallReport {
        match self {
            Session::Wasm(isolate) => {
                let guest = isolate.guest().clone();
                let result = match guest.export(call.name) {
                    Ok(export) => isolate.call_interruptible(export, call.input, host, interrupt),
                    Err(e) => Err(e),
                };
                CallReport { result, logs: isolate.take_logs() }
            }
            Session::Js { session, .. } => match js_call(call) {
                Ok(js) => session.call(&js, host, interrupt),
                Err(e) => failed(e),
            },
        }
    }

    /// Whether the isolate can still take calls.
    pub fn is_alive(&self) -> bool {
        match self {
            Session::Wasm(isolate) => isolate.is_alive(),
            Session::Js { session, .. } => session.is_alive(),
        }
    }

    /// Frees the isolate's slot now; later calls fail with `Error::Closed`.
    pub fn close(&mut self) {
        match self {
            Session::Wasm(isolate) => isolate.close(),
            Session::Js { session, .. } => session.close(),
        }
    }
}
