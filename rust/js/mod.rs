//! JavaScript tenants. QuickJS-ng compiled to wasm (`guest/js/`, built by `build.rs`), the
//! interpreter, runs as an ordinary guest of a pool with imports of its own (`imports.rs`) that
//! tenant wasm never sees. Nothing below this layer names JavaScript: it reaches the sandbox
//! through the pool, guests and isolates like any embedder, and keeps per-isolate state in the
//! store's extension slot.
//!
//! Read in this order: `protocol` (the host/guest wire format), `imports`, `typescript` and
//! `bundle` (a tenant's modules to bytecode), `nested` (WebAssembly inside a JS isolate),
//! `worker` (calls and sessions).

mod builtins;
pub(crate) mod bundle;
pub mod compression;
pub mod digest_stream;
pub mod domain;
pub mod encoding;
pub(crate) mod extension;
mod imports;
pub(crate) mod interpreter;
pub mod intl;
pub(crate) mod nested;
pub mod protocol;
pub(crate) mod resolve;
pub(crate) mod snapshot;
pub mod subtle;
pub(crate) mod transform;
pub mod typescript;
pub mod urlpattern;
pub(crate) mod worker;

use std::collections::HashMap;
use std::sync::{Arc, Mutex, OnceLock, Weak};

use wasmtime::Linker;

use crate::config::Limits;
use crate::error::{Error, Result};
use crate::pool::Pool;
use crate::sandbox::host::EnvData;
use crate::sandbox::state::StoreData;
use interpreter::Interpreter;
use snapshot::{Heap, Next, Snapshots};
pub use worker::{Description, JsCall, JsSession, JsWorker};

/// The interpreter module as built (QuickJS-ng, our shim and scripts), before it is split and
/// pre-initialised.
pub const INTERPRETER_WASM: &[u8] = include_bytes!(concat!(env!("OUT_DIR"), "/js-guest.wasm"));

/// JavaScript on one pool: the interpreter's imports, the interpreter itself (split into code and
/// its pre-initialised heap, built on first use), and the heaps of evaluated bundles.
pub struct JsRuntime {
    pub pool: Arc<Pool>,
    linker: Arc<Linker<StoreData>>,
    interpreter: Mutex<Option<Arc<Interpreter>>>,
    snapshots: Mutex<Snapshots>,
}

fn registry() -> &'static Mutex<HashMap<usize, Weak<JsRuntime>>> {
    static REGISTRY: OnceLock<Mutex<HashMap<usize, Weak<JsRuntime>>>> = OnceLock::new();
    REGISTRY.get_or_init(Default::default)
}

impl JsRuntime {
    /// The JavaScript runtime of `pool`, shared by everyone loading JavaScript on that pool (so
    /// the interpreter is built once per pool) for as long as anyone holds it: a loader should
    /// keep it, or the interpreter and the bundles' heaps go with the last worker.
    pub fn shared(pool: &Arc<Pool>) -> Result<Arc<JsRuntime>> {
        let key = Arc::as_ptr(pool) as usize;
        let mut runtimes = registry().lock().unwrap();
        if let Some(runtime) = runtimes.get(&key).and_then(Weak::upgrade) {
            return Ok(runtime);
        }
        runtimes.retain(|_, runtime| runtime.strong_count() > 0);
        let mut linker = Linker::new(&pool.runtime.engine);
        imports::link(&mut linker).map_err(|e| Error::Config(format!("cannot link interpreter imports: {e}")))?;
        let runtime = Arc::new(JsRuntime {
            pool: pool.clone(),
            linker: Arc::new(linker),
            interpreter: Mutex::new(None),
            snapshots: Mutex::new(Snapshots::default()),
        });
        runtimes.insert(key, Arc::downgrade(&runtime));
        Ok(runtime)
    }

    /// Loads a JavaScript bundle (see [`bundle::load`]).
    pub fn load(
        self: &Arc<Self>,
        main: &str,
        modules: &[(String, String)],
        wasm: &[(String, Vec<u8>)],
        env: &EnvData,
        stubs: &[(String, Option<Vec<String>>)],
        limits: Limits,
    ) -> Result<Arc<JsWorker>> {
        bundle::load(self, main, modules, wasm, env, stubs, limits)
    }

    /// The interpreter, split and pre-initialised (built once per runtime; cached on disk).
    pub(crate) fn interpreter(&self) -> Result<Arc<Interpreter>> {
        let mut slot = self.interpreter.lock().unwrap();
        if let Some(interpreter) = slot.as_ref() {
            return Ok(interpreter.clone());
        }
        let interpreter = Arc::new(Interpreter::build(&self.pool, self.linker.clone(), INTERPRETER_WASM)?);
        *slot = Some(interpreter.clone());
        Ok(interpreter)
    }

    /// The heap of `worker`'s evaluated bundle: cached, or taken now on the bundle's second call
    /// (see `snapshot.rs`). `None`: this call evaluates the bundle (its first, or while the pool
    /// is too busy to take the heap).
    pub(crate) fn heap(&self, worker: &JsWorker) -> Option<Heap> {
        match self.snapshots.lock().unwrap().next(&worker.key) {
            Next::Use(heap) => return Some(heap),
            Next::Evaluate => return None,
            Next::Take => {}
        }
        let interpreter = self.interpreter().ok()?;
        let heap = match snapshot::take(&self.pool, &interpreter, worker) {
            Ok(Some(module)) => Heap::Ready(module),
            Ok(None) => Heap::Refused,
            Err(Error::PoolExhausted { .. }) => return None, // busy, not refused: try again later
            Err(_) => Heap::Refused,
        };
        self.snapshots.lock().unwrap().insert(worker.key, heap.clone());
        Some(heap)
    }

    /// The pre-initialised interpreter as one self-contained wasm module (its code with the base
    /// heap's memory and data put back), for benchmarks that run it outside the pool.
    pub fn interpreter_wasm(&self) -> Result<Vec<u8>> {
        interpreter::pre_initialized_module(&self.pool, self.linker.clone(), INTERPRETER_WASM)
    }
}
