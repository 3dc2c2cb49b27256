//! Env calls from a guest into Python. The dispatcher is a Python callable built by
//! `dynisolate._env` (it owns the allow-list); this side converts values, re-takes the GIL only
//! for the call, and turns Python exceptions into sanitised error envelopes for the guest.

use std::sync::Arc;
use std::time::Instant;

use pyo3::exceptions::PyException;
use pyo3::prelude::*;
use pyo3::types::PyString;

use crate::js::protocol::{CLONE_MAGIC, STUB_PREFIX};
use crate::python::clone::{JS_ERROR_NAMES, Stubs, guest_error_class};
use crate::python::{convert, functions};
use crate::sandbox::host::{
    Host, MAX_ERROR_MESSAGE_BYTES, WaitingGuest, error_envelope, no_binding, ok_envelope, truncate,
};

/// Exception names a guest may see; any other Python exception reaches it as a plain `Error`.
const GUEST_VISIBLE_ERRORS: &[&str] = &[
    "TypeError",
    "ValueError",
    "KeyError",
    "LookupError",
    "IndexError",
    "RuntimeError",
    "NotImplementedError",
    "PermissionError",
    "TimeoutError",
];

/// Payload limit for one env result travelling back into the guest.
const MAX_ENV_RESULT_BYTES: u64 = 16 << 20;

/// The guest-facing form of a Python exception: an allow-listed name and a bounded message,
/// never a traceback, a cause or a repr of host objects.
fn sanitise(py: Python<'_>, err: &PyErr) -> Vec<u8> {
    // Another guest's error (a service binding's callee threw): its own name, for the error
    // constructors a guest has, and its own message, as Workers RPC carries a thrown error.
    if let Some((name, message)) = guest_error_parts(py, err) {
        let name = if JS_ERROR_NAMES.contains(&name.as_str()) { name.as_str() } else { "Error" };
        return error_envelope(name, &truncate(message, MAX_ERROR_MESSAGE_BYTES));
    }
    let class = err.get_type(py).name().map(|n| n.to_string()).unwrap_or_default();
    let name = if GUEST_VISIBLE_ERRORS.contains(&class.as_str()) { class.as_str() } else { "Error" };
    let message = err
        .value(py)
        .str()
        .map(|s| s.to_string_lossy().into_owned())
        .unwrap_or_else(|_| "the host raised an error".into());
    error_envelope(name, &truncate(message, MAX_ERROR_MESSAGE_BYTES))
}

/// The name and message of a `dynisolate.GuestError`.
fn guest_error_parts(py: Python<'_>, err: &PyErr) -> Option<(String, String)> {
    let value = err.value(py);
    if !value.is_instance(guest_error_class(py).ok()?).ok()? {
        return None;
    }
    let read = |attr: &str| value.getattr(attr).ok()?.extract::<String>().ok();
    Some((read("name")?, read("guest_message")?))
}

/// Routes env calls and outbound requests to a Python dispatcher (`dynisolate._env.Dispatcher`):
/// `dispatcher(name, args)` for env calls, `dispatcher.fetch(request)` for outbound requests.
pub struct PyHost {
    dispatch: Py<PyAny>,
    outbound: bool,
    /// The guest reads and writes clones (JavaScript); else only JSON crosses (a wasm guest).
    clones: bool,
    /// The `RpcTarget`s env calls of this call returned (a host serves one call).
    stubs: Stubs,
    /// The wall-clock deadline of the guest whose env call this thread serves, if any
    /// (`Host::wall_deadline`).
    wall_deadline: Option<Instant>,
}

impl PyHost {
    pub fn shared(dispatch: Py<PyAny>, clones: bool) -> Arc<dyn Host> {
        let outbound =
            Python::attach(|py| dispatch.bind(py).getattr("outbound").is_ok_and(|handler| !handler.is_none()));
        let wall_deadline = functions::serving_wall_deadline();
        Arc::new(PyHost { dispatch, outbound, clones, stubs: Stubs::default(), wall_deadline })
    }

    /// The host of a call without env that this thread makes while serving a guest's env call:
    /// it serves no binding, and the call ends by that guest's wall-clock deadline.
    pub fn bounded() -> Option<Arc<dyn Host>> {
        struct Bounded(Instant);
        impl Host for Bounded {
            fn env_call(&self, name: &str, _: &[u8], _: &mut dyn WaitingGuest) -> wasmtime::Result<Vec<u8>> {
                Ok(no_binding(name))
            }
            fn wall_deadline(&self) -> Option<Instant> {
                Some(self.0)
            }
        }
        functions::serving_wall_deadline().map(|deadline| Arc::new(Bounded(deadline)) as Arc<dyn Host>)
    }

    /// Calls `f(decoded)` with the GIL held and wraps its result in an `ok` envelope (or sends it
    /// as a clone, in which `RpcTarget`s become stubs of this call, when `stubs` is given; else
    /// as JSON); ordinary Python exceptions become sanitised error envelopes for the guest.
    /// Functions in the value become `GuestFunction`s of env call `frame`, if given.
    fn dispatch(
        &self,
        json: &[u8],
        what: &str,
        result: &str,
        (stubs, frame): (Option<&Stubs>, Option<u64>),
        f: impl for<'py> FnOnce(&Bound<'py, PyAny>, Bound<'py, PyAny>) -> PyResult<Bound<'py, PyAny>>,
    ) -> wasmtime::Result<Vec<u8>> {
        Python::attach(|py| {
            let decoded = match if self.clones {
                convert::args_from_wire(py, json, what, frame)
            } else {
                convert::from_json(py, json, what)
            } {
                Ok(value) => value,
                Err(e) => return Ok(error_envelope("TypeError", &e.to_string())),
            };
            match f(self.dispatch.bind(py), decoded) {
                Ok(value) => match match stubs.filter(|_| self.clones) {
                    Some(stubs) => convert::to_wire(&value, MAX_ENV_RESULT_BYTES, result, Some(stubs)),
                    None => convert::to_json(&value, MAX_ENV_RESULT_BYTES, result),
                } {
                    Ok(wire) if wire.first() == Some(&CLONE_MAGIC) => Ok(wire), // a clone is its own reply
                    Ok(json) => Ok(ok_envelope(&json)),
                    Err(e) => Ok(error_envelope("TypeError", &e.to_string())),
                },
                // Ordinary exceptions are the guest's to handle; KeyboardInterrupt, SystemExit
                // and friends end the call and surface to the Python caller unchanged.
                Err(err) if err.is_instance_of::<PyException>(py) => Ok(sanitise(py, &err)),
                Err(err) => Err(wasmtime::Error::new(err)),
            }
        })
    }
}

impl PyHost {
    /// A call of a stub's method (`stub_call` is `ID.method` of the env call `stub:ID.method`):
    /// served only if this call handed the stub out and its target exposes the method.
    fn stub_call(&self, stub_call: &str, args_json: &[u8], guest: &mut dyn WaitingGuest) -> wasmtime::Result<Vec<u8>> {
        let (id, method) = stub_call.split_once('.').unwrap_or((stub_call, ""));
        let stub = format!("{STUB_PREFIX}{id}");
        let found = Python::attach(|py| self.stubs.target(py, &stub, method));
        let Some((target, exposed)) = found else {
            return Ok(error_envelope(
                "TypeError",
                "this RPC stub is no longer valid: an RpcTarget an env call returns lasts only as long as the call \
                 that received it",
            ));
        };
        if !exposed {
            return Ok(error_envelope("TypeError", &format!("the RpcTarget's {method} is not a function")));
        }
        let result = format!("the result of the RpcTarget's {method}()");
        functions::serve(guest, |frame| {
            let context = (Some(&self.stubs), Some(frame));
            self.dispatch(args_json, "RPC stub call arguments", &result, context, |dispatch, args| {
                dispatch.call_method1("call_target", (target.bind(dispatch.py()), method, args))
            })
        })
    }
}

impl Host for PyHost {
    fn env_call(&self, name: &str, args_json: &[u8], guest: &mut dyn WaitingGuest) -> wasmtime::Result<Vec<u8>> {
        if let Some(stub_call) = name.strip_prefix(STUB_PREFIX) {
            return self.stub_call(stub_call, args_json, guest);
        }
        let result = format!("the result of env.{name}()");
        functions::serve(guest, |frame| {
            let context = (Some(&self.stubs), Some(frame));
            self.dispatch(args_json, "env call arguments", &result, context, |dispatch, args| {
                dispatch.call1((PyString::new(dispatch.py(), name), args))
            })
        })
    }

    fn fetch(&self, request_json: &[u8]) -> wasmtime::Result<Vec<u8>> {
        self.dispatch(
            request_json,
            "the outbound request",
            "the outbound handler's response",
            (None, None),
            |dispatch, request| dispatch.call_method1("fetch", (request,)),
        )
    }

    fn has_outbound(&self) -> bool {
        self.outbound
    }

    fn wall_deadline(&self) -> Option<Instant> {
        self.wall_deadline
    }

    /// Hands the result to `dispatcher.reply_ready(value)` when the dispatcher has one (a caller
    /// that returns early); looked up only now, so other calls pay nothing for it.
    fn reply_ready(&self, value: &[u8]) {
        Python::attach(|py| {
            let Ok(take) = self.dispatch.bind(py).getattr("reply_ready") else { return };
            // A result that does not decode is left for the call's end, which reports it.
            if let Ok(decoded) = convert::from_wire(py, value, "result")
                && let Err(err) = take.call1((decoded,))
            {
                err.write_unraisable(py, None);
            }
        })
    }
}
