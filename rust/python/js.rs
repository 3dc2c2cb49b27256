//! `_core.JsGuest` (a loaded JavaScript bundle; each call runs in a fresh engine isolate) and
//! `_core.JsSession` (one engine isolate kept across calls).

use std::sync::Arc;
use std::time::Duration;

use pyo3::prelude::*;
use pyo3::types::{PyBytes, PyList, PyTuple};

use crate::js::{JsCall, JsSession, JsWorker};
use crate::python::convert;
use crate::python::errors::IntoPyResult;
use crate::python::guest::{PyCancelToken, flag, report_to_py};
use crate::python::host::PyHost;
use crate::python::session::SessionCell;
use crate::sandbox::host::Host;

/// A call's parts that must be built with the GIL held.
struct Prepared {
    entry: Option<String>,
    method: String,
    args: Vec<u8>,
    host: Option<Arc<dyn Host>>,
}

impl Prepared {
    /// `name` is `method` (default export) or `Class.method`.
    fn new(
        py: Python<'_>,
        name: &str,
        args: &Bound<'_, PyTuple>,
        host: Option<Py<PyAny>>,
        limit: u64,
    ) -> PyResult<Self> {
        let (entry, method) = match name.split_once('.') {
            Some((entry, method)) => (Some(entry.to_owned()), method.to_owned()),
            None => (None, name.to_owned()),
        };
        let args = convert::args_to_json(args, limit).or_raise(py)?;
        Ok(Prepared { entry, method, args, host: host.map(PyHost::shared) })
    }

    fn call(&self, fetch: bool) -> JsCall<'_> {
        JsCall { entry: self.entry.as_deref(), method: &self.method, args_json: &self.args, fetch }
    }
}

#[pyclass(name = "JsGuest", module = "dynisolate._core", frozen)]
pub struct PyJsGuest {
    guest: Arc<JsWorker>,
    acquire_timeout: Duration,
    max_payload_bytes: u64,
    #[pyo3(get)]
    label: String,
}

impl PyJsGuest {
    pub fn new(guest: Arc<JsWorker>, acquire_timeout: Duration, max_payload_bytes: u64, label: String) -> Self {
        PyJsGuest { guest, acquire_timeout, max_payload_bytes, label }
    }
}

#[pymethods]
impl PyJsGuest {
    /// Calls `method` of the default export, or `Class.method` of a named entrypoint class, in a
    /// fresh isolate. With `fetch`, the one argument is a request in wire form and the result a
    /// response in wire form.
    #[pyo3(signature = (name, args, host=None, cancel=None, logs=None, fetch=false))]
    #[allow(clippy::too_many_arguments)]
    fn call<'py>(
        &self,
        py: Python<'py>,
        name: &str,
        args: &Bound<'py, PyTuple>,
        host: Option<Py<PyAny>>,
        cancel: Option<&Bound<'py, PyCancelToken>>,
        logs: Option<&Bound<'py, PyList>>,
        fetch: bool,
    ) -> PyResult<Bound<'py, PyAny>> {
        let prepared = Prepared::new(py, name, args, host, self.max_payload_bytes)?;
        let (timeout, interrupt) = (self.acquire_timeout, flag(cancel));
        let report = py.detach(|| self.guest.call(&prepared.call(fetch), prepared.host.clone(), interrupt, timeout));
        report_to_py(py, &self.label, report, logs)
    }

    /// Boots an isolate that keeps its JavaScript state across calls until closed.
    fn session(&self, py: Python<'_>) -> PyResult<PyJsSession> {
        let (guest, timeout) = (self.guest.clone(), self.acquire_timeout);
        let session = py.detach(|| guest.session(timeout)).or_raise(py)?;
        Ok(PyJsSession {
            session: SessionCell::new(session),
            max_payload_bytes: self.max_payload_bytes,
            label: self.label.clone(),
        })
    }

    /// Callable names: default-export methods, and `Class.method` for entrypoint classes.
    fn exports(&self) -> Vec<String> {
        let d = &self.guest.description;
        let mut names = d.default_methods.clone();
        for (class, methods) in &d.classes {
            names.extend(methods.iter().map(|m| format!("{class}.{m}")));
        }
        names.sort();
        names
    }

    /// The modules as QuickJS bytecode in the engine's `json:bundle` layout (for benchmarks).
    fn bytecode_bundle<'py>(&self, py: Python<'py>) -> Bound<'py, PyBytes> {
        PyBytes::new(py, self.guest.bytecode_bundle())
    }

    /// Where the bytecode came from: `"compiled"`, `"memory"` or `"disk"`.
    #[getter]
    fn cache_outcome(&self) -> &'static str {
        self.guest.cache_outcome.as_str()
    }
}

#[pyclass(name = "JsSession", module = "dynisolate._core", frozen)]
pub struct PyJsSession {
    session: SessionCell<JsSession>,
    max_payload_bytes: u64,
    label: String,
}

#[pymethods]
impl PyJsSession {
    /// Like `JsGuest.call`, in this session's isolate.
    #[pyo3(signature = (name, args, host=None, cancel=None, logs=None, fetch=false))]
    #[allow(clippy::too_many_arguments)]
    fn call<'py>(
        &self,
        py: Python<'py>,
        name: &str,
        args: &Bound<'py, PyTuple>,
        host: Option<Py<PyAny>>,
        cancel: Option<&Bound<'py, PyCancelToken>>,
        logs: Option<&Bound<'py, PyList>>,
        fetch: bool,
    ) -> PyResult<Bound<'py, PyAny>> {
        let prepared = Prepared::new(py, name, args, host, self.max_payload_bytes)?;
        let interrupt = flag(cancel);
        let report =
            self.session.with(py, |session| session.call(&prepared.call(fetch), prepared.host.clone(), interrupt))?;
        report_to_py(py, &self.label, report, logs)
    }

    /// Frees the isolate's slot; later calls raise `ClosedError`.
    fn close(&self, py: Python<'_>) -> PyResult<()> {
        self.session.with(py, |session| session.close())
    }

    /// Whether the isolate can still take calls.
    #[getter]
    fn alive(&self) -> bool {
        self.session.peek(true, |session| session.is_alive())
    }
}
