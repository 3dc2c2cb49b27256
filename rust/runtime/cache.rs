//! Compiled modules, cached in memory and (optionally) on disk as serialized `.cwasm` files keyed
//! by the module's content hash and the engine fingerprint, so a second process loading the same
//! module deserializes it instead of running Cranelift again. JavaScript bundles are cached the
//! same way as opaque blobs (their QuickJS bytecode and export list, `.qjsbc`), so a tenant's
//! source is parsed once per cache, not once per process.

use std::collections::{HashMap, VecDeque};
use std::fs;
use std::io::Write;
use std::os::unix::fs::{DirBuilderExt, OpenOptionsExt, PermissionsExt};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};

use sha2::{Digest, Sha256};
use wasmtime::{Engine, Module};

use crate::error::{Error, Result};

/// Compiled modules kept in memory per pool.
const MAX_MODULES_IN_MEMORY: usize = 4096;

/// How a module was obtained.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum CacheOutcome {
    Memory,
    Disk,
    Compiled,
}

impl CacheOutcome {
    /// The outcome's name as callers see it: `"memory"`, `"disk"` or `"compiled"`.
    pub fn as_str(self) -> &'static str {
        match self {
            CacheOutcome::Memory => "memory",
            CacheOutcome::Disk => "disk",
            CacheOutcome::Compiled => "compiled",
        }
    }
}

/// Counters of where modules came from.
#[derive(Debug, Default)]
pub struct CacheStats {
    pub memory_hits: AtomicU64,
    pub disk_hits: AtomicU64,
    pub compiles: AtomicU64,
    pub disk_write_errors: AtomicU64,
}

/// An insertion-ordered map that forgets its oldest entries past `MAX_MODULES_IN_MEMORY`.
struct Resident<T> {
    entries: HashMap<[u8; 32], T>,
    order: VecDeque<[u8; 32]>,
}

impl<T: Clone> Resident<T> {
    fn new() -> Self {
        Resident { entries: HashMap::new(), order: VecDeque::new() }
    }

    fn insert(&mut self, key: [u8; 32], value: T) {
        if self.entries.insert(key, value).is_none() {
            self.order.push_back(key);
        }
        while self.order.len() > MAX_MODULES_IN_MEMORY {
            if let Some(old) = self.order.pop_front() {
                self.entries.remove(&old);
            }
        }
    }
}

/// The module cache of one pool.
pub struct ModuleCache {
    dir: Option<PathBuf>,
    fingerprint: [u8; 32],
    resident: Mutex<Resident<Module>>,
    blobs: Mutex<Resident<Arc<[u8]>>>,
    pub stats: CacheStats,
}

/// Lower-case hex digits of `bytes` (content hashes in file names and module stubs).
pub(crate) fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

/// Creates (or checks) the cache directory: it must belong to this host alone.
fn prepare_dir(dir: &Path) -> Result<()> {
    fs::DirBuilder::new()
        .recursive(true)
        .mode(0o700)
        .create(dir)
        .map_err(|e| Error::Config(format!("cannot create cache_dir {}: {e}", dir.display())))?;
    let mode = fs::metadata(dir)
        .map_err(|e| Error::Config(format!("cannot read cache_dir {}: {e}", dir.display())))?
        .permissions()
        .mode();
    if mode & 0o022 != 0 {
        return Err(Error::Config(format!(
            "cache_dir {} is writable by other users (mode {:o}); compiled code loaded from it runs natively",
            dir.display(),
            mode & 0o777
        )));
    }
    Ok(())
}

impl ModuleCache {
    pub fn new(dir: Option<PathBuf>, fingerprint: [u8; 32]) -> Result<ModuleCache> {
        if let Some(dir) = &dir {
            prepare_dir(dir)?;
        }
        Ok(ModuleCache {
            dir,
            fingerprint,
            resident: Mutex::new(Resident::new()),
            blobs: Mutex::new(Resident::new()),
            stats: CacheStats::default(),
        })
    }

    fn key(&self, wasm: &[u8]) -> [u8; 32] {
        let mut digest = Sha256::new();
        digest.update(self.fingerprint);
        digest.update(wasm);
        digest.finalize().into()
    }

    /// Returns the compiled module for `wasm`, compiling only if neither cache has it.
    pub fn get_or_compile(&self, engine: &Engine, wasm: &[u8]) -> Result<(Module, CacheOutcome)> {
        self.get_or_build(engine, wasm, || Ok(std::borrow::Cow::Borrowed(wasm)))
    }

    /// Like `get_or_compile`, for a module derived from `source` by `build` (which runs only when
    /// no cache holds the result): the cache key is the source, so the build is skipped too.
    pub fn get_or_build<'a>(
        &self,
        engine: &Engine,
        source: &[u8],
        build: impl FnOnce() -> Result<std::borrow::Cow<'a, [u8]>>,
    ) -> Result<(Module, CacheOutcome)> {
        let key = self.key(source);
        if let Some(module) = self.resident.lock().unwrap().entries.get(&key) {
            self.stats.memory_hits.fetch_add(1, Ordering::Relaxed);
            return Ok((module.clone(), CacheOutcome::Memory));
        }
        let path = self.dir.as_ref().map(|d| d.join(format!("{}.cwasm", hex(&key))));
        let (module, outcome) = match path.as_deref().and_then(|p| self.read_disk(engine, p)) {
            Some(module) => {
                self.stats.disk_hits.fetch_add(1, Ordering::Relaxed);
                (module, CacheOutcome::Disk)
            }
            None => {
                let wasm = build()?;
                let module =
                    Module::new(engine, &wasm).map_err(|e| Error::Load(format!("invalid WebAssembly: {e:#}")))?;
                self.stats.compiles.fetch_add(1, Ordering::Relaxed);
                if let Some(path) = &path
                    && write_disk(&module, path).is_err()
                {
                    self.stats.disk_write_errors.fetch_add(1, Ordering::Relaxed);
                }
                (module, CacheOutcome::Compiled)
            }
        };
        self.resident.lock().unwrap().insert(key, module.clone());
        Ok((module, outcome))
    }

    /// Returns the blob cached under `source` (in memory, then on disk), or makes it with `make`
    /// and caches it. Failures of `make` are not cached.
    pub fn get_or_make_blob(
        &self,
        source: &[u8],
        make: impl FnOnce() -> Result<Vec<u8>>,
    ) -> Result<(Arc<[u8]>, CacheOutcome)> {
        let key = self.key(source);
        if let Some(blob) = self.blobs.lock().unwrap().entries.get(&key) {
            self.stats.memory_hits.fetch_add(1, Ordering::Relaxed);
            return Ok((blob.clone(), CacheOutcome::Memory));
        }
        let path = self.dir.as_ref().map(|d| d.join(format!("{}.qjsbc", hex(&key))));
        let (blob, outcome) = match path.as_deref().and_then(|p| fs::read(p).ok()) {
            Some(bytes) => {
                self.stats.disk_hits.fetch_add(1, Ordering::Relaxed);
                (Arc::from(bytes), CacheOutcome::Disk)
            }
            None => {
                let bytes = make()?;
                self.stats.compiles.fetch_add(1, Ordering::Relaxed);
                if let Some(path) = &path
                    && write_atomically(&bytes, path).is_err()
                {
                    self.stats.disk_write_errors.fetch_add(1, Ordering::Relaxed);
                }
                (Arc::from(bytes), CacheOutcome::Compiled)
            }
        };
        self.blobs.lock().unwrap().insert(key, Arc::clone(&blob));
        Ok((blob, outcome))
    }

    fn read_disk(&self, engine: &Engine, path: &Path) -> Option<Module> {
        if !path.is_file() {
            return None;
        }
        // SAFETY: the file lives in a directory only this user can write (checked in `prepare_dir`),
        // was written by `write_disk` under a name that includes the engine fingerprint, and
        // wasmtime checks its header against this engine before using it.
        unsafe { Module::deserialize_file(engine, path) }.ok()
    }
}

/// Writes a serialized module atomically.
fn write_disk(module: &Module, path: &Path) -> std::io::Result<()> {
    write_atomically(&module.serialize().map_err(std::io::Error::other)?, path)
}

/// Writes `bytes` to `path` through a temporary file renamed into place, so readers never see a
/// partial file.
fn write_atomically(bytes: &[u8], path: &Path) -> std::io::Result<()> {
    let tmp = path.with_extension(format!("{}.tmp", std::process::id()));
    let mut file = fs::OpenOptions::new().write(true).create(true).truncate(true).mode(0o600).open(&tmp)?;
    file.write_all(bytes)?;
    file.sync_all()?;
    fs::rename(&tmp, path)
}
