//! The one place core errors become Python exceptions. The classes live in
//! `dynisolate.exceptions` (pure Python, so they can carry fields and pickle); each core error
//! variant maps to exactly one of them.

use pyo3::IntoPyObjectExt;
use pyo3::exceptions::PyRuntimeError;
use pyo3::prelude::*;
use pyo3::types::PyDict;

use crate::error::Error;

fn raise(py: Python<'_>, class: &str, message: String, fields: &[(&str, Py<PyAny>)]) -> PyErr {
    let build = || -> PyResult<PyErr> {
        let cls = py.import("dynisolate.exceptions")?.getattr(class)?;
        let exc = cls.call1((message.clone(),))?;
        for (name, value) in fields {
            exc.setattr(*name, value)?;
        }
        Ok(PyErr::from_value(exc))
    };
    build().unwrap_or_else(|e| e)
}

fn obj<'py, T: IntoPyObject<'py>>(py: Python<'py>, value: T) -> Py<PyAny> {
    value.into_py_any(py).unwrap_or_else(|_| py.None())
}

/// Converts a core error into the Python exception the caller should see.
pub fn to_pyerr(py: Python<'_>, err: Error) -> PyErr {
    let message = err.to_string();
    match err {
        Error::Config(_) => raise(py, "ConfigError", message, &[]),
        Error::Load(_) => raise(py, "LoadError", message, &[]),
        Error::ExportNotFound { name } => raise(py, "ExportNotFoundError", message, &[("export", obj(py, name))]),
        Error::Argument(_) => raise(py, "ArgumentError", message, &[]),
        Error::Serialization(_) => raise(py, "SerializationError", message, &[]),
        Error::Guest { name, message: guest_message, stack } => raise(
            py,
            "GuestError",
            message,
            &[("name", obj(py, name)), ("guest_message", obj(py, guest_message)), ("stack", obj(py, stack))],
        ),
        Error::Trap { code, message: trap_message, backtrace } => raise(
            py,
            "TrapError",
            message,
            &[
                ("name", obj(py, "Trap")),
                ("guest_message", obj(py, trap_message)),
                ("stack", obj(py, backtrace)),
                ("trap_code", obj(py, code)),
            ],
        ),
        Error::CpuLimit { cpu_ms } => raise(py, "CpuLimitError", message, &[("cpu_ms", obj(py, cpu_ms))]),
        Error::WallTimeLimit { wall_ms } => raise(py, "WallTimeLimitError", message, &[("wall_ms", obj(py, wall_ms))]),
        Error::MemoryLimit { memory_bytes } => {
            raise(py, "MemoryLimitError", message, &[("memory_bytes", obj(py, memory_bytes))])
        }
        Error::TableLimit { elements } => raise(py, "TableLimitError", message, &[("elements", obj(py, elements))]),
        Error::FuelExhausted { fuel } => raise(py, "FuelExhaustedError", message, &[("fuel", obj(py, fuel))]),
        Error::StackOverflow => raise(py, "StackOverflowError", message, &[]),
        Error::Cancelled => raise(py, "CallCancelledError", message, &[]),
        Error::PayloadTooLarge { bytes, limit } => {
            raise(py, "PayloadTooLargeError", message, &[("bytes", obj(py, bytes)), ("limit", obj(py, limit))])
        }
        Error::HostCallLimit { limit } => raise(py, "HostCallLimitError", message, &[("limit", obj(py, limit))]),
        Error::LogLimit { limit } => raise(py, "LogLimitError", message, &[("limit", obj(py, limit))]),
        Error::SubRequestLimit { limit } => raise(py, "SubRequestLimitError", message, &[("limit", obj(py, limit))]),
        Error::PoolExhausted { max_isolates, waited_ms } => raise(
            py,
            "PoolExhaustedError",
            message,
            &[("max_isolates", obj(py, max_isolates)), ("waited_ms", obj(py, waited_ms))],
        ),
        Error::Closed(_) => raise(py, "ClosedError", message, &[]),
        Error::Confinement(_) => raise(py, "ConfinementError", message, &[]),
        // A Python exception that aborted a host call travels back unchanged.
        Error::Host(inner) => match inner.downcast::<PyErr>() {
            Ok(pyerr) => pyerr,
            Err(other) => PyRuntimeError::new_err(format!("dynisolate internal error: {other:#}")),
        },
    }
}

/// A `dynisolate.GuestFunction` called when it cannot be (`why`): its env call has returned, or
/// it or a later env call is running. A condition of the binding layer, not a core error.
pub fn function_unavailable(py: Python<'_>, why: &str) -> PyErr {
    raise(py, "FunctionUnavailableError", format!("this guest function cannot be called: {why}"), &[])
}

/// Shorthand for `Result<T, Error>` -> `PyResult<T>`.
pub trait IntoPyResult<T> {
    fn or_raise(self, py: Python<'_>) -> PyResult<T>;
}

impl<T> IntoPyResult<T> for crate::error::Result<T> {
    fn or_raise(self, py: Python<'_>) -> PyResult<T> {
        self.map_err(|e| to_pyerr(py, e))
    }
}

/// Keyword arguments helper for building dicts of stats.
pub fn dict<'py>(py: Python<'py>, items: &[(&str, u64)]) -> PyResult<Bound<'py, PyDict>> {
    let d = PyDict::new(py);
    for (k, v) in items {
        d.set_item(*k, *v)?;
    }
    Ok(d)
}
