//! The sandbox layer: one tenant module and its isolates. Read bottom-up:
//! - `host`: what the embedder implements ([`Host`](host::Host)) and the data it hands over;
//! - `state`: what every `Store` carries (budget, counters, logs, the host, one extension slot);
//! - `abi`: the JSON ABI and bounds-checked access to guest memory;
//! - `imports`: the only host functions tenant wasm may import (the security surface);
//! - `guest`: a compiled module prepared for instantiation, with its exports, env and limits;
//! - `isolate`: one `Store` + `Instance` in a pool slot, booted from a guest, running calls.

pub mod abi;
pub mod guest;
pub mod host;
pub mod imports;
pub mod isolate;
pub mod state;
