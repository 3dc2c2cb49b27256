//! The pool: a runtime (engine, epoch ticker, isolate slots), the linker holding the imports
//! tenant wasm may link, and the module cache. Pools with equal settings are shared process-wide,
//! so every `Loader` with the default settings runs on one engine.

use std::collections::HashMap;
use std::sync::{Arc, Mutex, OnceLock, Weak};

use wasmtime::Linker;

use crate::config::{Limits, PoolConfig};
use crate::error::{Error, Result};
use crate::runtime::Runtime;
use crate::runtime::cache::{CacheOutcome, ModuleCache};
use crate::runtime::engine;
use crate::sandbox::guest::Guest;
use crate::sandbox::host::EnvData;
use crate::sandbox::imports;
use crate::sandbox::state::StoreData;

/// Largest module accepted by `load`, in bytes (binary or text).
pub const MAX_MODULE_BYTES: usize = 64 << 20;

/// Code handed to `Pool::load`.
pub enum Code<'a> {
    /// A binary WebAssembly module.
    Wasm(&'a [u8]),
    /// A module in WebAssembly text format.
    Wat(&'a str),
}

/// A snapshot of a pool's counters.
#[derive(Clone, Debug, Default)]
pub struct PoolStats {
    pub max_isolates: u32,
    pub live_isolates: u32,
    pub compiles: u64,
    pub memory_hits: u64,
    pub disk_hits: u64,
}

/// The process-wide registry entry for one `PoolConfig`: what loads code and hands out guests.
pub struct Pool {
    pub runtime: Arc<Runtime>,
    pub(crate) linker: Linker<StoreData>,
    /// Imports of the JavaScript engine module, never offered to tenant wasm.
    pub(crate) js_linker: Linker<StoreData>,
    js_module: Mutex<Option<wasmtime::Module>>,
    pub(crate) cache: ModuleCache,
}

fn registry() -> &'static Mutex<HashMap<PoolConfig, Weak<Pool>>> {
    static REGISTRY: OnceLock<Mutex<HashMap<PoolConfig, Weak<Pool>>>> = OnceLock::new();
    REGISTRY.get_or_init(Default::default)
}

impl Pool {
    /// Creates a pool of its own, shared with nobody.
    pub fn new(config: PoolConfig) -> Result<Arc<Pool>> {
        let runtime = Runtime::new(config)?;
        let engine = &runtime.engine;
        let mut linker = Linker::new(engine);
        imports::link(&mut linker).map_err(|e| Error::Config(format!("cannot link host imports: {e}")))?;
        let mut js_linker = Linker::new(engine);
        crate::js::link(&mut js_linker).map_err(|e| Error::Config(format!("cannot link engine imports: {e}")))?;
        let cache = ModuleCache::new(runtime.config.cache_dir.clone(), engine::fingerprint(engine))?;
        Ok(Arc::new(Pool { runtime, linker, js_linker, js_module: Mutex::new(None), cache }))
    }

    /// Returns the live pool with these settings, creating it if there is none.
    pub fn shared(config: PoolConfig) -> Result<Arc<Pool>> {
        let mut pools = registry().lock().unwrap();
        if let Some(pool) = pools.get(&config).and_then(Weak::upgrade) {
            return Ok(pool);
        }
        pools.retain(|_, pool| pool.strong_count() > 0);
        let pool = Pool::new(config.clone())?;
        pools.insert(config, Arc::downgrade(&pool));
        Ok(pool)
    }

    /// Compiles (or fetches from cache) `code` and prepares it for instantiation.
    pub fn load(self: &Arc<Self>, code: Code<'_>, env: EnvData, limits: Limits) -> Result<(Arc<Guest>, CacheOutcome)> {
        limits.validate(&self.runtime.config)?;
        let wasm = match code {
            Code::Wasm(bytes) => {
                check_size(bytes.len())?;
                if !bytes.starts_with(b"\0asm") {
                    return Err(Error::Load("not a WebAssembly binary: it does not start with \\0asm".into()));
                }
                std::borrow::Cow::Borrowed(bytes)
            }
            Code::Wat(text) => {
                check_size(text.len())?;
                std::borrow::Cow::Owned(
                    wat::parse_str(text).map_err(|e| Error::Load(format!("invalid WebAssembly text: {e}")))?,
                )
            }
        };
        let (module, outcome) = self.cache.get_or_compile(&self.runtime.engine, &wasm)?;
        let guest = Guest::new(self.runtime.clone(), &self.linker, &module, Arc::new(env), limits)?;
        Ok((Arc::new(guest), outcome))
    }

    /// The compiled JavaScript engine module (compiled once, then cached like any module).
    /// Built once per pool: pre-initialised (the JS runtime and context already created), compiled,
    /// and cached on disk under the engine's own hash, so a later process skips both steps.
    pub(crate) fn js_engine(&self) -> Result<wasmtime::Module> {
        let mut slot = self.js_module.lock().unwrap();
        if let Some(module) = slot.as_ref() {
            return Ok(module.clone());
        }
        let mut source = b"pre-initialised with wizer_init\0".to_vec();
        source.extend_from_slice(crate::js::ENGINE_WASM);
        let build = || Ok(std::borrow::Cow::Owned(self.js_engine_wasm()?));
        let module = self.cache.get_or_build(&self.runtime.engine, &source, build)?.0;
        *slot = Some(module.clone());
        Ok(module)
    }

    /// The JavaScript engine module, pre-initialised, as wasm bytes. Built afresh on every call:
    /// the pool itself keeps only the compiled form (see `js_engine`).
    pub fn js_engine_wasm(&self) -> Result<Vec<u8>> {
        let scratch = StoreData::new(Limits::default(), u64::MAX, usize::MAX, Arc::new(EnvData::default()));
        crate::runtime::snapshot::pre_initialize(
            &self.runtime.engine,
            &self.js_linker,
            scratch,
            crate::js::ENGINE_WASM,
            "wizer_init",
            self.runtime.config.consume_fuel,
        )
    }

    pub fn stats(&self) -> PoolStats {
        use std::sync::atomic::Ordering::Relaxed;
        PoolStats {
            max_isolates: self.runtime.slots.capacity(),
            live_isolates: self.runtime.slots.in_use(),
            compiles: self.cache.stats.compiles.load(Relaxed),
            memory_hits: self.cache.stats.memory_hits.load(Relaxed),
            disk_hits: self.cache.stats.disk_hits.load(Relaxed),
        }
    }
}

fn check_size(len: usize) -> Result<()> {
    if len > MAX_MODULE_BYTES {
        return Err(Error::Load(format!("module is {len} bytes; the limit is {MAX_MODULE_BYTES}")));
    }
    Ok(())
}
