//! The lock around a session's isolate. Calls take it with the GIL released (a call may need the
//! GIL for env calls); a call made on the same session from inside one of its own env calls would
//! wait on itself forever, so it is refused instead.

use std::hash::{BuildHasher, BuildHasherDefault, DefaultHasher};
use std::sync::Mutex;
use std::sync::atomic::{AtomicU64, Ordering};

use pyo3::exceptions::PyRuntimeError;
use pyo3::prelude::*;

fn this_thread() -> u64 {
    BuildHasherDefault::<DefaultHasher>::default().hash_one(std::thread::current().id()) | 1
}

pub(crate) struct SessionCell<T> {
    inner: Mutex<T>,
    /// The thread running a call in this session, or 0.
    owner: AtomicU64,
}

impl<T: Send> SessionCell<T> {
    pub(crate) fn new(inner: T) -> Self {
        SessionCell { inner: Mutex::new(inner), owner: AtomicU64::new(0) }
    }

    /// Runs `f` on the session with the GIL released, after any call on another thread ends.
    pub(crate) fn with<R: Send>(&self, py: Python<'_>, f: impl FnOnce(&mut T) -> R + Send) -> PyResult<R> {
        let me = this_thread();
        if self.owner.load(Ordering::Acquire) == me {
            return Err(PyRuntimeError::new_err(
                "this session is already running a call on this thread (a re-entrant call from an env binding)",
            ));
        }
        Ok(py.detach(|| {
            let mut inner = self.inner.lock().unwrap_or_else(|poisoned| poisoned.into_inner());
            self.owner.store(me, Ordering::Release);
            let result = f(&mut inner);
            self.owner.store(0, Ordering::Release);
            result
        }))
    }

    /// Reads the session without waiting: `busy` when a call holds it.
    pub(crate) fn peek<R>(&self, busy: R, f: impl FnOnce(&T) -> R) -> R {
        match self.inner.try_lock() {
            Ok(inner) => f(&inner),
            Err(_) => busy,
        }
    }
}
