//! `_core.Guest` (a loaded module; each `call` runs in a fresh isolate) and `_core.Isolate`
//! (a stateful session). Guest work always runs with the GIL released.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use pyo3::prelude::*;
use pyo3::types::{PyList, PyTuple};

use crate::error::Result;
use crate::python::convert;
use crate::python::errors::{IntoPyResult, to_pyerr};
use crate::python::host::PyHost;
use crate::python::session::SessionCell;
use crate::sandbox::guest::{Export, ExportKind, Guest};
use crate::sandbox::host::{Host, LogRecord};
use crate::sandbox::isolate::{CallReport, Input, Isolate, Output};

/// Arguments converted for the export they are meant for.
enum Args {
    Numeric(Vec<wasmtime::Val>),
    Json(Vec<u8>),
}

impl Args {
    fn input(&self) -> Input<'_> {
        match self {
            Args::Numeric(v) => Input::Numeric(v),
            Args::Json(b) => Input::Json(b),
        }
    }
}

fn convert_args(export: &Export, args: &Bound<'_, PyTuple>, limit: u64) -> Result<Args> {
    match &export.kind {
        ExportKind::Numeric { params, .. } => {
            export.check_arity(args.len())?;
            let vals = params
                .iter()
                .zip(args.iter())
                .enumerate()
                .map(|(i, (ty, arg))| convert::to_val(&arg, *ty, i, &export.name))
                .collect::<Result<Vec<_>>>()?;
            Ok(Args::Numeric(vals))
        }
        ExportKind::Json => Ok(Args::Json(convert::args_to_json(args, limit)?)),
        ExportKind::Unsupported { .. } => Ok(Args::Numeric(Vec::new())),
    }
}

pub(crate) fn output_to_py<'py>(py: Python<'py>, output: Output) -> PyResult<Bound<'py, PyAny>> {
    match output {
        Output::Numeric(vals) => convert::from_vals(py, &vals),
        Output::Json(bytes) => convert::from_json(py, &bytes, "result").map_err(|e| to_pyerr(py, e))?,
    }
}

/// A finished call for Python: its log records emitted (and appended to `logs`), then its result
/// or its error.
pub(crate) fn report_to_py<'py>(
    py: Python<'py>,
    label: &str,
    report: CallReport,
    logs: Option<&Bound<'py, PyList>>,
) -> PyResult<Bound<'py, PyAny>> {
    emit_logs(py, label, report.logs, logs)?;
    output_to_py(py, report.result.or_raise(py)?)
}

type Prepared<'g> = (&'g Export, Args, Option<Arc<dyn Host>>);

/// Everything a call needs that must be built with the GIL held: the export, converted
/// arguments and the env dispatcher.
fn prepare<'g>(
    py: Python<'_>,
    guest: &'g Guest,
    name: &str,
    args: &Bound<'_, PyTuple>,
    host: Option<Py<PyAny>>,
) -> PyResult<Prepared<'g>> {
    let export = guest.export(name).or_raise(py)?;
    let args = convert_args(export, args, guest.limits.max_payload_bytes).or_raise(py)?;
    Ok((export, args, host.map(PyHost::shared)))
}

/// Hands guest log records to `dynisolate._logs.emit`, and appends them to `sink` (the caller's
/// list of the call's records) when one is given.
pub(crate) fn emit_logs(
    py: Python<'_>,
    label: &str,
    logs: Vec<LogRecord>,
    sink: Option<&Bound<'_, PyList>>,
) -> PyResult<()> {
    if logs.is_empty() {
        return Ok(());
    }
    let records = PyList::empty(py);
    for record in logs {
        records.append((record.level.as_str(), record.message))?;
    }
    if let Some(sink) = sink {
        for record in records.iter() {
            sink.append(record)?;
        }
    }
    py.import("dynisolate._logs")?.getattr("emit")?.call1((label, records))?;
    Ok(())
}

/// Lets an async caller stop the guest it is waiting for.
#[pyclass(name = "CancelToken", module = "dynisolate._core", frozen)]
pub struct PyCancelToken(Arc<AtomicBool>);

#[pymethods]
impl PyCancelToken {
    #[new]
    fn new() -> Self {
        PyCancelToken(Arc::new(AtomicBool::new(false)))
    }

    /// Stops the call within one epoch tick; the isolate is discarded.
    fn cancel(&self) {
        self.0.store(true, Ordering::SeqCst);
    }

    #[getter]
    fn cancelled(&self) -> bool {
        self.0.load(Ordering::SeqCst)
    }
}

pub(crate) fn flag(cancel: Option<&Bound<'_, PyCancelToken>>) -> Option<Arc<AtomicBool>> {
    cancel.map(|token| token.get().0.clone())
}

#[pyclass(name = "Guest", module = "dynisolate._core", frozen)]
pub struct PyGuest {
    guest: Arc<Guest>,
    acquire_timeout: Duration,
    #[pyo3(get)]
    cache_outcome: &'static str,
    #[pyo3(get)]
    label: String,
}

impl PyGuest {
    pub fn new(guest: Arc<Guest>, acquire_timeout: Duration, cache_outcome: &'static str, label: String) -> Self {
        PyGuest { guest, acquire_timeout, cache_outcome, label }
    }
}

#[pymethods]
impl PyGuest {
    /// Calls export `name` with `args` in a fresh isolate.
    #[pyo3(signature = (name, args, host=None, cancel=None, logs=None))]
    fn call<'py>(
        &self,
        py: Python<'py>,
        name: &str,
        args: &Bound<'py, PyTuple>,
        host: Option<Py<PyAny>>,
        cancel: Option<&Bound<'py, PyCancelToken>>,
        logs: Option<&Bound<'py, PyList>>,
    ) -> PyResult<Bound<'py, PyAny>> {
        let guest = &self.guest;
        let (export, args, host) = prepare(py, guest, name, args, host)?;
        let (timeout, interrupt) = (self.acquire_timeout, flag(cancel));
        let report = py.detach(|| guest.call_interruptible(export, args.input(), host, interrupt, timeout));
        report_to_py(py, &self.label, report, logs)
    }

    /// Boots an isolate that keeps its state across calls until closed.
    fn session(&self, py: Python<'_>) -> PyResult<PyIsolate> {
        let guest = self.guest.clone();
        let timeout = self.acquire_timeout;
        let isolate = py.detach(|| guest.boot(None, timeout)).or_raise(py)?;
        let mut isolate = isolate;
        emit_logs(py, &self.label, isolate.take_logs(), None)?;
        Ok(PyIsolate { guest: self.guest.clone(), isolate: SessionCell::new(isolate), label: self.label.clone() })
    }

    /// Names of the callable exports, sorted.
    fn exports(&self) -> Vec<String> {
        self.guest.export_names()
    }

    /// `"numeric"`, `"json"` or `"unsupported"` for export `name`.
    fn export_kind(&self, py: Python<'_>, name: &str) -> PyResult<&'static str> {
        Ok(match self.guest.export(name).or_raise(py)?.kind {
            ExportKind::Numeric { .. } => "numeric",
            ExportKind::Json => "json",
            ExportKind::Unsupported { .. } => "unsupported",
        })
    }
}

#[pyclass(name = "Isolate", module = "dynisolate._core", frozen)]
pub struct PyIsolate {
    // Kept apart from the mutex so argument conversion never waits on it with the GIL held.
    guest: Arc<Guest>,
    isolate: SessionCell<Isolate>,
    label: String,
}

#[pymethods]
impl PyIsolate {
    /// Calls export `name` in this isolate; its state carries over to the next call.
    #[pyo3(signature = (name, args, host=None, cancel=None, logs=None))]
    fn call<'py>(
        &self,
        py: Python<'py>,
        name: &str,
        args: &Bound<'py, PyTuple>,
        host: Option<Py<PyAny>>,
        cancel: Option<&Bound<'py, PyCancelToken>>,
        logs: Option<&Bound<'py, PyList>>,
    ) -> PyResult<Bound<'py, PyAny>> {
        let (export, args, host) = prepare(py, &self.guest, name, args, host)?;
        let interrupt = flag(cancel);
        let (result, records) = self.isolate.with(py, |isolate| {
            let result = isolate.call_interruptible(export, args.input(), host, interrupt);
            (result, isolate.take_logs())
        })?;
        emit_logs(py, &self.label, records, logs)?;
        output_to_py(py, result.or_raise(py)?)
    }

    /// Frees the isolate's slot; later calls raise `ClosedError`.
    fn close(&self, py: Python<'_>) -> PyResult<()> {
        self.isolate.with(py, |isolate| isolate.close())
    }

    /// Whether the isolate can still take calls.
    #[getter]
    fn alive(&self) -> bool {
        self.isolate.peek(true, |isolate| isolate.is_alive())
    }
}
