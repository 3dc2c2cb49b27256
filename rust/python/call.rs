//! The plumbing every call shares: converting Python arguments for the export they are meant
//! for, the cancel token, handing a call's log records to Python, and turning a finished call's
//! report into a Python value or exception.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};

use pyo3::prelude::*;
use pyo3::types::{PyList, PyTuple};

use crate::error::Result;
use crate::python::convert;
use crate::python::errors::{IntoPyResult, to_pyerr};
use crate::sandbox::guest::{Export, ExportKind};
use crate::sandbox::host::LogRecord;
use crate::sandbox::isolate::{CallReport, Input, Output};

/// Arguments converted for the export they are meant for.
pub(crate) enum Args {
    Numeric(Vec<wasmtime::Val>),
    Json(Vec<u8>),
}

impl Args {
    /// Converts `args` for `export` (a wasm export), or for a JavaScript guest (`None`: JSON or
    /// a clone of the argument array).
    pub(crate) fn convert(export: Option<&Export>, args: &Bound<'_, PyTuple>, limit: u64) -> Result<Args> {
        let Some(export) = export else { return Ok(Args::Json(convert::args_to_wire(args, limit)?)) };
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

    pub(crate) fn input(&self) -> Input<'_> {
        match self {
            Args::Numeric(v) => Input::Numeric(v),
            Args::Json(b) => Input::Json(b),
        }
    }
}

fn output_to_py<'py>(py: Python<'py>, output: Output) -> PyResult<Bound<'py, PyAny>> {
    match output {
        Output::Numeric(vals) => convert::from_vals(py, &vals),
        Output::Json(bytes) => convert::from_wire(py, &bytes, "result").map_err(|e| to_pyerr(py, e)),
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

/// The interrupt flag behind an optional token.
pub(crate) fn flag(cancel: Option<&Bound<'_, PyCancelToken>>) -> Option<Arc<AtomicBool>> {
    cancel.map(|token| token.get().0.clone())
}
