//! dynisolate's native core: pooled wasmtime isolates for tenant code.
//!
//! A [`Pool`] owns one wasmtime engine (pooling allocator, copy-on-write memory images, epoch
//! interruption), the host imports and a module cache. [`Pool::load`] turns code into a
//! [`Guest`]; each call boots a fresh [`Isolate`] from it, or a caller keeps one as a session.
//! Everything here is plain Rust; the pyo3 binding lives in `python/` behind the `python` feature.

pub mod config;
pub mod error;
pub mod js;
pub mod pool;
pub mod runtime;
pub mod sandbox;

#[cfg(feature = "python")]
mod python;

pub use config::{Limits, PoolConfig};
pub use error::{Error, Result};
pub use pool::{Code, Pool, PoolStats};
pub use runtime::cache::CacheOutcome;
pub use sandbox::guest::{Export, ExportKind, Guest};
pub use sandbox::host::{EnvData, Host, LogLevel, LogRecord};
pub use sandbox::isolate::{CallReport, Input, Isolate, Output};
