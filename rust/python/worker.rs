//! `_core.Worker` (loaded tenant code of either kind; each call runs in a fresh isolate) and
//! `_core.Session` (one isolate kept across calls). Guest work always runs with the GIL released.

use std::time::Duration;

use pyo3::prelude::*;
use pyo3::types::{PyList, PyTuple};

use crate::python::call::{Args, PyCancelToken, emit_logs, flag, report_to_py};
use crate::python::errors::IntoPyResult;
use crate::python::host::PyHost;
use crate::python::session::SessionCell;
use crate::sandbox::host::Host;
use crate::worker::{Call, Session, Worker};

/// What a call needs that must be built with the GIL held: converted arguments and the host.
struct Prepared {
    args: Args,
    host: Option<std::sync::Arc<dyn Host>>,
}

impl Prepared {
    fn new(
        py: Python<'_>,
        worker: &Worker,
        name: &str,
        args: &Bound<'_, PyTuple>,
        host: Option<Py<PyAny>>,
    ) -> PyResult<Self> {
        let export = worker.wasm_export(name).or_raise(py)?;
        let args = Args::convert(export, args, worker.limits().max_payload_bytes).or_raise(py)?;
        // Only a JavaScript guest reads clones; a wasm guest's env calls are JSON both ways.
        let clones = matches!(worker, Worker::Js(_));
        let host = match host {
            Some(dispatch) => Some(PyHost::shared(dispatch, clones)),
            None => PyHost::bounded(),
        };
        Ok(Prepared { args, host })
    }

    fn call<'a>(&'a self, name: &'a str, fetch: bool, props: bool) -> Call<'a> {
        Call { name, input: self.args.input(), fetch, props }
    }
}

#[pyclass(name = "Worker", module = "dynisolate._core", frozen)]
pub struct PyWorker {
    worker: Worker,
    acquire_timeout: Duration,
    #[pyo3(get)]
    label: String,
}

impl PyWorker {
    pub fn new(worker: Worker, acquire_timeout: Duration, label: String) -> Self {
        PyWorker { worker, acquire_timeout, label }
    }
}

#[pymethods]
impl PyWorker {
    /// Calls export `name` (for JavaScript: a default-export method, or `Class.method` of an
    /// entrypoint class) in a fresh isolate. With `fetch`, the one argument is a request in wire
    /// form and the result a response in wire form. With `props`, the first argument is the
    /// entrypoint's `ctx.props`, not an argument of the method.
    #[pyo3(signature = (name, args, host=None, cancel=None, logs=None, fetch=false, props=false))]
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
        props: bool,
    ) -> PyResult<Bound<'py, PyAny>> {
        let prepared = Prepared::new(py, &self.worker, name, args, host)?;
        let (timeout, interrupt) = (self.acquire_timeout, flag(cancel));
        let call = prepared.call(name, fetch, props);
        let report = py.detach(|| self.worker.call(&call, prepared.host.clone(), interrupt, timeout));
        report_to_py(py, &self.label, report, logs)
    }

    /// Boots an isolate that keeps its state across calls until closed.
    fn session(&self, py: Python<'_>) -> PyResult<PySession> {
        let (worker, timeout) = (self.worker.clone(), self.acquire_timeout);
        let (session, logs) = py.detach(|| worker.session(timeout)).or_raise(py)?;
        emit_logs(py, &self.label, logs, None)?;
        Ok(PySession { worker: self.worker.clone(), session: SessionCell::new(session), label: self.label.clone() })
    }

    /// Callable names, sorted.
    fn exports(&self) -> Vec<String> {
        self.worker.exports()
    }

    /// Raises `ExportNotFoundError` unless `name` is callable.
    fn check_export(&self, py: Python<'_>, name: &str) -> PyResult<()> {
        self.worker.check_export(name).or_raise(py)
    }

    /// `"wasm"` or `"javascript"`.
    #[getter]
    fn kind(&self) -> &'static str {
        self.worker.kind()
    }

    /// Where the compiled code came from: `"compiled"`, `"memory"` or `"disk"`.
    #[getter]
    fn cache_outcome(&self) -> &'static str {
        self.worker.cache_outcome().as_str()
    }

    /// The JavaScript modules as QuickJS bytecode, laid out as a bundle (benchmarks only).
    #[cfg(feature = "bench")]
    fn bytecode_bundle<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, pyo3::types::PyBytes>> {
        match &self.worker {
            Worker::Js(worker) => Ok(pyo3::types::PyBytes::new(py, worker.bytecode_bundle())),
            Worker::Wasm { .. } => Err(pyo3::exceptions::PyTypeError::new_err("not a JavaScript worker")),
        }
    }
}

#[pyclass(name = "Session", module = "dynisolate._core", frozen)]
pub struct PySession {
    // Kept apart from the lock so argument conversion never waits on it with the GIL held.
    worker: Worker,
    session: SessionCell<Session>,
    label: String,
}

#[pymethods]
impl PySession {
    /// Like `Worker.call`, in this session's isolate; its state carries over to the next call.
    #[pyo3(signature = (name, args, host=None, cancel=None, logs=None, fetch=false, props=false))]
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
        props: bool,
    ) -> PyResult<Bound<'py, PyAny>> {
        let prepared = Prepared::new(py, &self.worker, name, args, host)?;
        let interrupt = flag(cancel);
        let call = prepared.call(name, fetch, props);
        let report = self.session.with(py, |session| session.call(&call, prepared.host.clone(), interrupt))?;
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
