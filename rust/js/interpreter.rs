//! The interpreter as the pool runs it: QuickJS split into compiled code and a copy-on-write heap
//! (`runtime/heap.rs`). The code is compiled once per engine and cached on disk like any module.
//! The base heap is the memory after `pre_initialize` ran (the JS runtime, context, web platform
//! and glue created): every isolate starts from it, or from a heap that a bundle's evaluation
//! made of it (`snapshot.rs`). Both are keyed by the interpreter's own bytes, so a later process
//! deserialises them instead of compiling or initialising again.

use std::borrow::Cow;
use std::sync::Arc;

use wasmtime::{Linker, Module};

use crate::config::{Limits, MAX_CPU_MS, MAX_WALL_MS};
use crate::error::{Error, Result};
use crate::pool::Pool;
use crate::runtime::heap::{self, Split};
use crate::sandbox::guest::{Code, Guest};
use crate::sandbox::host::EnvData;
use crate::sandbox::isolate::{Input, Output};
use crate::sandbox::state::StoreData;

/// The interpreter's init function (shim.c), run once before the base heap is taken.
const INIT_FUNCTION: &str = "pre_initialize";

/// How long building the base heap may wait for a slot.
const INIT_ACQUIRE_TIMEOUT: std::time::Duration = std::time::Duration::from_secs(30);

/// The split interpreter of one pool.
pub struct Interpreter {
    pub(crate) code: Arc<Code>,
    /// The memory after `pre_initialize`, as a heap module.
    pub(crate) base: Module,
    /// The memory's type and the top of its shadow stack, for snapshots of it.
    pub(crate) memory: wasmparser::MemoryType,
    pub(crate) stack_top: usize,
}

fn init_failed(e: impl std::fmt::Display) -> Error {
    Error::Load(format!("pre-initialising the interpreter failed: {e}"))
}

impl Interpreter {
    /// Splits `wasm` (the interpreter as built), compiles its code, and makes (or fetches from the
    /// cache) its base heap.
    pub fn build(pool: &Arc<Pool>, linker: Arc<Linker<StoreData>>, wasm: &[u8]) -> Result<Interpreter> {
        let split = heap::split(wasm)?;
        let code = compile_code(pool, linker, wasm, &split)?;
        let build_base = || {
            let memory = initialized_memory(pool, &code, &split)?;
            Ok(Cow::Owned(heap::snapshot_heap(&split.memory, &memory, split.stack_top)))
        };
        let (base, _) =
            pool.cache.get_or_build(&pool.runtime.engine, &cache_key("interpreter base heap", wasm), build_base)?;
        Ok(Interpreter { code, base, memory: split.memory, stack_top: split.stack_top })
    }

    /// A guest of the interpreter on `heap` (the base heap, or a bundle's), under `limits`.
    pub fn guest(&self, pool: &Arc<Pool>, heap: &Module, limits: Limits) -> Result<Arc<Guest>> {
        let guest = Guest::split(pool.runtime.clone(), self.code.clone(), heap, Arc::new(EnvData::default()), limits)?;
        Ok(Arc::new(guest))
    }
}

/// The interpreter as one self-contained, pre-initialised module (its memory starting as the base
/// heap's), for benchmarks that run it outside the pool.
pub fn pre_initialized_module(pool: &Arc<Pool>, linker: Arc<Linker<StoreData>>, wasm: &[u8]) -> Result<Vec<u8>> {
    let split = heap::split(wasm)?;
    let code = compile_code(pool, linker, wasm, &split)?;
    let memory = initialized_memory(pool, &code, &split)?;
    heap::with_memory(wasm, &split, &memory)
}

fn cache_key(what: &str, wasm: &[u8]) -> Vec<u8> {
    [what.as_bytes(), b"\0", wasm].concat()
}

fn compile_code(pool: &Arc<Pool>, linker: Arc<Linker<StoreData>>, wasm: &[u8], split: &Split) -> Result<Arc<Code>> {
    let build = || Ok(Cow::Borrowed(split.code.as_slice()));
    let (code, _) = pool.cache.get_or_build(&pool.runtime.engine, &cache_key("interpreter code", wasm), build)?;
    Ok(Arc::new(Code::new(code, linker)?))
}

/// Runs the init function on the interpreter's initial heap and returns the resulting memory.
fn initialized_memory(pool: &Arc<Pool>, code: &Arc<Code>, split: &Split) -> Result<Vec<u8>> {
    let initial = Module::new(&pool.runtime.engine, &split.heap).map_err(init_failed)?;
    let limits = Limits { cpu_ms: MAX_CPU_MS, wall_ms: MAX_WALL_MS, ..Limits::default() };
    let runtime = pool.runtime.clone();
    let guest = Arc::new(Guest::split(runtime, code.clone(), &initial, Arc::new(EnvData::default()), limits)?);
    let mut isolate = guest.boot(None, INIT_ACQUIRE_TIMEOUT)?;
    let init = guest.export(INIT_FUNCTION)?;
    match isolate.call(init, Input::Numeric(&[]), None)? {
        Output::Numeric(status) if matches!(status.as_slice(), [wasmtime::Val::I32(0)]) => {}
        other => return Err(init_failed(format!("{INIT_FUNCTION} returned {other:?}"))),
    }
    let memory = isolate.memory().ok_or_else(|| init_failed("the interpreter has no memory"))?;
    Ok(memory.to_vec())
}
