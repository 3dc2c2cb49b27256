//! The pyo3 binding: the only code that knows about Python. It converts values, releases the GIL
//! around guest work and maps core errors to the classes in `dynisolate.exceptions`.

mod convert;
mod errors;
mod guest;
mod host;
mod js;
mod pool;
mod session;

use pyo3::prelude::*;

/// The private native module behind the `dynisolate` package.
#[pymodule]
#[pyo3(name = "_core")]
fn core_module(m: &Bound<'_, PyModule>) -> PyResult<()> {
    m.add_class::<pool::PyPool>()?;
    m.add_class::<guest::PyGuest>()?;
    m.add_class::<guest::PyIsolate>()?;
    m.add_class::<guest::PyCancelToken>()?;
    m.add_class::<js::PyJsGuest>()?;
    m.add_class::<js::PyJsSession>()?;
    m.add_function(wrap_pyfunction!(pool::js_engine_wasm, m)?)?;
    m.add("__version__", env!("CARGO_PKG_VERSION"))?;
    m.add("MAX_MODULE_BYTES", crate::pool::MAX_MODULE_BYTES)?;
    Ok(())
}
