//! The pyo3 binding: the only code that knows about Python. It converts values, releases the GIL
//! around guest work and maps core errors to the classes in `dynisolate.exceptions`.

mod call;
mod clone;
mod codec;
#[cfg(target_os = "linux")]
mod confine;
mod convert;
mod errors;
mod functions;
mod host;
mod pool;
mod session;
mod worker;

use pyo3::prelude::*;

/// The private native module behind the `dynisolate` package.
#[pymodule]
mod _core {
    use pyo3::prelude::*;

    #[pymodule_export]
    use super::call::PyCancelToken;
    #[pymodule_export]
    use super::codec::{decode_value, encode_value};
    #[cfg(target_os = "linux")]
    #[pymodule_export]
    use super::confine::{confine_filesystem, confine_namespaces, confine_rlimits, confine_syscalls};
    #[pymodule_export]
    use super::functions::GuestFunction;
    #[cfg(feature = "bench")]
    #[pymodule_export]
    use super::pool::interpreter_wasm;
    #[pymodule_export]
    use super::pool::{PyPool, check_limits};
    #[pymodule_export]
    use super::worker::{PySession, PyWorker};

    #[pymodule_init]
    fn init(m: &Bound<'_, PyModule>) -> PyResult<()> {
        m.add("__version__", env!("CARGO_PKG_VERSION"))?;
        Ok(())
    }
}
