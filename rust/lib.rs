//! dynisolate's native core: pooled wasmtime isolates for tenant code.
//!
//! The layers, bottom up; each names only the layers below it (`tests/rust/layers.rs` keeps it
//! so):
//! - `error`, `config`: the one error type and the settings, with their units;
//! - `confine/`: the kernel's confinement of a sandbox process (namespaces, Landlock, rlimits,
//!   the syscall filter), knowing nothing of guests;
//! - `runtime/`: wasmtime plumbing (engine, epoch ticker, slots, memory limiter, module cache,
//!   pre-initialisation) that knows nothing of what a guest means;
//! - `sandbox/`: one tenant module and its isolates (the embedder's [`Host`], store state, the
//!   JSON ABI, the imports tenant wasm may link, [`Guest`], [`Isolate`]);
//! - `pool`: the process-wide registry; [`Pool::load`] turns code into a [`Guest`];
//! - `js/`: JavaScript tenants on the QuickJS interpreter ([`js::JsRuntime`]);
//! - `worker`: one call surface over both kinds ([`Worker`], [`Session`]);
//! - `python/`: the pyo3 binding, behind the `python` feature (everything else is plain Rust).

pub mod config;
#[cfg(target_os = "linux")]
pub mod confine;
pub mod error;
pub mod js;
pub(crate) mod pool;
pub(crate) mod runtime;
pub(crate) mod sandbox;
pub mod worker;

#[cfg(feature = "python")]
mod python;

pub use config::{Limits, PoolConfig};
pub use error::{Error, Result};
pub use pool::{Code, MAX_MODULE_BYTES, Pool, PoolStats};
pub use runtime::cache::CacheOutcome;
pub use sandbox::guest::{Export, ExportKind, Guest, NumType};
pub use sandbox::host::{EnvData, Host, LogLevel, LogRecord, WaitingGuest};
pub use sandbox::isolate::{CallReport, Input, Isolate, Output};
pub use worker::{Call, Session, Worker};
