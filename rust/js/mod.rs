//! JavaScript tenants. QuickJS-ng compiled to wasm (`guest/js/`, built by `build.rs`), the
//! interpreter, runs as an ordinary guest of a pool with imports of its own (`imports.rs`) that
//! tenant wasm never sees. Nothing below this layer names JavaScript: it reaches the sandbox
//! through the pool, guests and isolates like any embedder, and keeps per-isolate state in the
//! store's extension slot.
//!
//! Read in this order: `protocol` (the host/guest wire format), `imports`, `typescript` and
//! `bundle` (a tenant's modules to bytecode), `nested` (WebAssembly inside a JS isolate),
//! `worker` (calls and sessions).

pub(crate) mod bundle;
mod imports;
pub(crate) mod nested;
pub mod protocol;
pub mod typescript;
pub(crate) mod worker;

use std::collections::HashMap;
use std::sync::{Arc, Mutex, OnceLock, Weak};

use wasmtime::{Linker, Module};

use crate::config::Limits;
use crate::error::{Error, Result};
use crate::pool::Pool;
use crate::runtime::snapshot;
use crate::sandbox::host::EnvData;
use crate::sandbox::state::StoreData;
pub use worker::{Description, JsCall, JsSession, JsWorker};

/// The interpreter module as built, before pre-initialisation.
pub const INTERPRETER_WASM: &[u8] = include_bytes!(concat!(env!("OUT_DIR"), "/js-guest.wasm"));

/// The interpreter's init function, run once before the snapshot is taken.
const INIT_FUNCTION: &str = "wizer_init";

/// JavaScript on one pool: the interpreter's linker and its compiled, pre-initialised module.
pub struct JsRuntime {
    pub pool: Arc<Pool>,
    linker: Linker<StoreData>,
    interpreter: Mutex<Option<Module>>,
}

fn registry() -> &'static Mutex<HashMap<usize, Weak<JsRuntime>>> {
    static REGISTRY: OnceLock<Mutex<HashMap<usize, Weak<JsRuntime>>>> = OnceLock::new();
    REGISTRY.get_or_init(Default::default)
}

impl JsRuntime {
    /// The JavaScript runtime of `pool`, shared by everyone loading JavaScript on that pool (so
    /// the interpreter is pre-initialised and compiled once per pool).
    pub fn shared(pool: &Arc<Pool>) -> Result<Arc<JsRuntime>> {
        let key = Arc::as_ptr(pool) as usize;
        let mut runtimes = registry().lock().unwrap();
        if let Some(runtime) = runtimes.get(&key).and_then(Weak::upgrade) {
            return Ok(runtime);
        }
        runtimes.retain(|_, runtime| runtime.strong_count() > 0);
        let mut linker = Linker::new(&pool.runtime.engine);
        imports::link(&mut linker).map_err(|e| Error::Config(format!("cannot link interpreter imports: {e}")))?;
        let runtime = Arc::new(JsRuntime { pool: pool.clone(), linker, interpreter: Mutex::new(None) });
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

    /// The compiled interpreter: pre-initialised (the JS runtime and context already created),
    /// compiled, and cached on disk under the interpreter's own hash, so a later process skips
    /// both steps. Built once per runtime.
    pub(crate) fn interpreter(&self) -> Result<Module> {
        let mut slot = self.interpreter.lock().unwrap();
        if let Some(module) = slot.as_ref() {
            return Ok(module.clone());
        }
        let mut source = b"pre-initialised with wizer_init\0".to_vec();
        source.extend_from_slice(INTERPRETER_WASM);
        let build = || Ok(std::borrow::Cow::Owned(self.interpreter_wasm()?));
        let module = self.pool.cache.get_or_build(&self.pool.runtime.engine, &source, build)?.0;
        *slot = Some(module.clone());
        Ok(module)
    }

    /// The interpreter, pre-initialised, as wasm bytes. Built afresh on every call: the runtime
    /// itself keeps only the compiled form (see `interpreter`).
    pub fn interpreter_wasm(&self) -> Result<Vec<u8>> {
        let scratch = StoreData::new(Limits::default(), u64::MAX, usize::MAX, Arc::new(EnvData::default()));
        let runtime = &self.pool.runtime;
        snapshot::pre_initialize(
            &runtime.engine,
            &self.linker,
            scratch,
            INTERPRETER_WASM,
            INIT_FUNCTION,
            runtime.config.consume_fuel,
        )
    }

    /// The linker holding the interpreter's imports.
    pub(crate) fn linker(&self) -> &Linker<StoreData> {
        &self.linker
    }
}
