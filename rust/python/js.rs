//! `_core.JsGuest`: a loaded JavaScript bundle; each call runs in a fresh engine isolate.

use std::sync::Arc;
use std::time::Duration;

use pyo3::prelude::*;
use pyo3::types::PyTuple;

use crate::js::JsGuest;
use crate::python::convert;
use crate::python::errors::IntoPyResult;
use crate::python::guest::{PyCancelToken, emit_logs, flag, output_to_py};
use crate::python::host::PyHost;

#[pyclass(name = "JsGuest", module = "dynisolate._core", frozen)]
pub struct PyJsGuest {
    guest: Arc<JsGuest>,
    acquire_timeout: Duration,
    max_payload_bytes: u64,
    #[pyo3(get)]
    label: String,
}

impl PyJsGuest {
    pub fn new(guest: Arc<JsGuest>, acquire_timeout: Duration, max_payload_bytes: u64, label: String) -> Self {
        PyJsGuest { guest, acquire_timeout, max_payload_bytes, label }
    }
}

#[pymethods]
impl PyJsGuest {
    /// Calls `method` of the default export, or `Class.method` of a named entrypoint class.
    #[pyo3(signature = (name, args, host=None, cancel=None))]
    fn call<'py>(
        &self,
        py: Python<'py>,
        name: &str,
        args: &Bound<'py, PyTuple>,
        host: Option<Py<PyAny>>,
        cancel: Option<&Bound<'py, PyCancelToken>>,
    ) -> PyResult<Bound<'py, PyAny>> {
        let (entry, method) = match name.split_once('.') {
            Some((entry, method)) => (Some(entry), method),
            None => (None, name),
        };
        let args = convert::args_to_json(args, self.max_payload_bytes).or_raise(py)?;
        let (timeout, interrupt) = (self.acquire_timeout, flag(cancel));
        let host = host.map(PyHost::shared);
        let report = py.detach(|| self.guest.call(entry, method, &args, host, interrupt, timeout));
        emit_logs(py, &self.label, report.logs)?;
        output_to_py(py, report.result.or_raise(py)?)
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

    #[getter]
    fn cache_outcome(&self) -> &'static str {
        "source"
    }
}
