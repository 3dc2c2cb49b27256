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
        let cache = ModuleCache::new(runtime.config.cache_dir.clone(), engine::fingerprint(engine))?;
        Ok(Arc::new(Pool { runtime, linker, cache }))
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

    /// Counters: slots, live isolates, compiles and cache hits.
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
