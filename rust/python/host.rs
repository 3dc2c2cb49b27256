//! Env calls from a guest into Python. The dispatcher is a Python callable built by
//! `dynisolate._env` (it owns the allow-list); this side converts values, re-takes the GIL only
//! for the call, and turns Python exceptions into sanitised error envelopes for the guest.

use std::sync::Arc;

use pyo3::exceptions::PyException;
use pyo3::prelude::*;
use pyo3::types::PyString;

use crate::js::protocol::CLONE_MAGIC;
use crate::python::convert;
use crate::sandbox::host::{Host, MAX_ERROR_MESSAGE_BYTES, error_envelope, ok_envelope, truncate};

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
    let class = err.get_type(py).name().map(|n| n.to_string()).unwrap_or_default();
    let name = if GUEST_VISIBLE_ERRORS.contains(&class.as_str()) { class.as_str() } else { "Error" };
    let message = err
        .value(py)
        .str()
        .map(|s| s.to_string_lossy().into_owned())
        .unwrap_or_else(|_| "the host raised an error".into());
    error_envelope(name, &truncate(message, MAX_ERROR_MESSAGE_BYTES))
}

/// Routes env calls and outbound requests to a Python dispatcher (`dynisolate._env.Dispatcher`):
/// `dispatcher(name, args)` for env calls, `dispatcher.fetch(request)` for outbound requests.
pub struct PyHost {
    dispatch: Py<PyAny>,
    outbound: bool,
}

impl PyHost {
    pub fn shared(dispatch: Py<PyAny>) -> Arc<dyn Host> {
        let outbound =
            Python::attach(|py| dispatch.bind(py).getattr("outbound").is_ok_and(|handler| !handler.is_none()));
        Arc::new(PyHost { dispatch, outbound })
    }

    /// Calls `f(decoded)` with the GIL held and wraps its result in an `ok` envelope; ordinary
    /// Python exceptions become sanitised error envelopes for the guest.
    fn dispatch(
        &self,
        json: &[u8],
        what: &str,
        f: impl for<'py> FnOnce(&Bound<'py, PyAny>, Bound<'py, PyAny>) -> PyResult<Bound<'py, PyAny>>,
    ) -> wasmtime::Result<Vec<u8>> {
        Python::attach(|py| {
            let decoded = match convert::from_wire(py, json, what) {
                Ok(value) => value,
                Err(e) => return Ok(error_envelope("TypeError", &e.to_string())),
            };
            match f(self.dispatch.bind(py), decoded) {
                Ok(value) => match convert::to_wire(&value, MAX_ENV_RESULT_BYTES, "the host's reply") {
                    Ok(wire) if wire.first() == Some(&CLONE_MAGIC) => Ok(wire), // a clone is its own reply
                    Ok(json) => Ok(ok_envelope(&json)),
                    Err(e) => Ok(error_envelope("TypeError", &format!("{what}: {e}"))),
                },
                // Ordinary exceptions are the guest's to handle; KeyboardInterrupt, SystemExit
                // and friends end the call and surface to the Python caller unchanged.
                Err(err) if err.is_instance_of::<PyException>(py) => Ok(sanitise(py, &err)),
                Err(err) => Err(wasmtime::Error::new(err)),
            }
        })
    }
}

impl Host for PyHost {
    fn env_call(&self, name: &str, args_json: &[u8]) -> wasmtime::Result<Vec<u8>> {
        self.dispatch(args_json, "env call arguments", |dispatch, args| {
            dispatch.call1((PyString::new(dispatch.py(), name), args))
        })
    }

    fn fetch(&self, request_json: &[u8]) -> wasmtime::Result<Vec<u8>> {
        self.dispatch(request_json, "the outbound request", |dispatch, request| {
            dispatch.call_method1("fetch", (request,))
        })
    }

    fn has_outbound(&self) -> bool {
        self.outbound
    }
}
