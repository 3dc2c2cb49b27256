//! Values as bytes, for Python code that keeps them (the durable engine persists step results):
//! the encoding a JavaScript guest receives, JSON when that carries a value exactly, else a clone
//! (`js/protocol.rs`), so what was stored reaches a replayed guest as the first run saw it.

use pyo3::prelude::*;
use pyo3::types::PyBytes;

use crate::python::convert;
use crate::python::errors::to_pyerr;

/// `value` encoded (at most `limit` bytes); `what` names it in errors. JSON text or a clone.
#[pyfunction]
pub fn encode_value<'py>(value: &Bound<'py, PyAny>, limit: u64, what: &str) -> PyResult<Bound<'py, PyBytes>> {
    let py = value.py();
    let bytes = convert::to_wire(value, limit, what, None).map_err(|e| to_pyerr(py, e))?;
    Ok(PyBytes::new(py, &bytes))
}

/// The value `data` (from `encode_value`) holds; `what` names it in errors.
#[pyfunction]
pub fn decode_value<'py>(py: Python<'py>, data: &[u8], what: &str) -> PyResult<Bound<'py, PyAny>> {
    convert::from_wire(py, data, what).map_err(|e| to_pyerr(py, e))
}
