//! `_core.confine_*`: the steps that confine a sandbox process (`crate::confine`), for
//! `dynisolate._process`'s child, in the order it calls them.

use pyo3::prelude::*;

use crate::confine::{filesystem, namespaces, rlimits, syscalls};
use crate::python::errors::IntoPyResult;

/// Enters fresh user, network, mount and IPC namespaces; False where the kernel refuses.
#[pyfunction]
pub fn confine_namespaces(py: Python<'_>) -> PyResult<bool> {
    namespaces::enter().or_raise(py)
}

/// Landlock: no filesystem access for this thread and the threads it starts. Returns how far the
/// kernel enforced it: `"fully"`, `"partially"` or `"not"`.
#[pyfunction]
pub fn confine_filesystem(py: Python<'_>) -> PyResult<&'static str> {
    filesystem::restrict().map(|enforced| enforced.as_str()).or_raise(py)
}

/// Caps the address space at what is mapped plus `headroom_bytes` (returns the cap), forbids core
/// dumps and bounds file descriptors.
#[pyfunction]
pub fn confine_rlimits(py: Python<'_>, headroom_bytes: u64) -> PyResult<u64> {
    rlimits::apply(headroom_bytes).or_raise(py)
}

/// Installs the syscall filter on every thread (irreversible).
#[pyfunction]
pub fn confine_syscalls(py: Python<'_>) -> PyResult<()> {
    syscalls::install().or_raise(py)
}
