//! Confining the process that runs tenant code: the second layer around wasmtime's sandbox.
//!
//! A sandbox process (the Python package's `dynisolate._process`) calls these in order, each
//! once: [`namespaces::enter`] while it is still single-threaded, [`rlimits::apply`] (which reads
//! `/proc`) and [`filesystem::restrict`] once its engine is warm, and [`syscalls::install`] last, for every thread.
//! Each is the kernel's own mechanism through a maintained crate or a plain libc call; none is
//! hand-written BPF. What a step could not apply (an old kernel, a container that forbids user
//! namespaces) is reported, never silently claimed.

pub mod filesystem;
pub mod namespaces;
pub mod rlimits;
pub mod syscalls;
