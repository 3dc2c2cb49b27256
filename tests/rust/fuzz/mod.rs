//! Fuzzing inside the test suite: every target draws its cases from fixed seeds, so a run is
//! repeatable and a failure names the seed that reproduces it. Each target asserts what must hold
//! for any input: a result or a typed [`_core::Error`], never a panic, and the pool still serving.
//!
//! The default budget keeps the whole module to a few seconds in the dev profile.
//! `DYNISOLATE_FUZZ_SCALE` multiplies the number of cases and `DYNISOLATE_FUZZ_FIRST_SEED` moves
//! the seeds, which is what `nox -s fuzz` does for a longer run over fresh ones.
//!
//! - `modules`: random valid modules (wasm-smith) that import only the tenant surface, loaded
//!   and called under tight limits, plus their bytes corrupted before loading;
//! - `tenant_imports`: random bytes and JSON handed to `env_call`, `env_get`, `log` and `throw`
//!   through a guest that forwards them;
//! - `js_imports`: random requests to the pure halves of the interpreter's imports (`subtle`,
//!   `intl`, TextDecoder, compression, DigestStream, domain to ASCII, URLPattern) and to the
//!   parsers of the interpreter's replies;
//! - `typescript`: random and deeply nested TypeScript for the host's type stripper.

mod js_imports;
mod modules;
mod random;
mod tenant_imports;
mod typescript;
