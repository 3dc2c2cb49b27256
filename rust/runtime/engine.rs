//! Builds the wasmtime `Engine` a pool runs on: pooling allocator sized by `PoolConfig`,
//! copy-on-write memory images, epoch interruption, optional fuel, and a per-slot memory
//! reservation no larger than the memory cap (wasmtime then bounds-checks explicitly).

use std::hash::{DefaultHasher, Hash, Hasher};

use sha2::{Digest, Sha256};
use wasmtime::{Config, Engine, InstanceAllocationStrategy, OptLevel, PoolingAllocationConfig};

use crate::config::PoolConfig;
use crate::error::{Error, Result};

/// Linear memory kept mapped and reset in place when a slot is reused: the next isolate in that
/// slot does not fault those pages in again. With `PAGEMAP_SCAN` (Linux 6.7+) only the pages the
/// guest dirtied are reset. In `benches/core.rs` this took a fresh wasm isolate + call from 2.35
/// to 1.59 µs (PAGEMAP_SCAN) and a fresh JavaScript call from 130 to 67 µs (64 KiB -> 8 MiB).
/// The cost: an idle warm slot keeps the pages its last isolate touched resident.
const MEMORY_KEEP_RESIDENT_BYTES: usize = 8 << 20;

/// Creates the engine for `config`.
pub fn build(config: &PoolConfig) -> Result<Engine> {
    config.validate()?;
    let mut pooling = PoolingAllocationConfig::new();
    pooling
        // An isolate may be two instances: code and the heap module holding its memory.
        .total_core_instances(config.max_isolates.saturating_mul(2))
        .total_memories(config.max_isolates)
        .total_tables(config.max_isolates)
        .max_memories_per_module(1)
        .max_tables_per_module(1)
        .max_memory_size(config.max_memory_bytes as usize)
        .table_elements(config.max_table_elements as usize)
        .linear_memory_keep_resident(MEMORY_KEEP_RESIDENT_BYTES)
        .table_keep_resident(4096)
        .pagemap_scan(wasmtime::Enabled::Auto);

    let mut wasm = Config::new();
    wasm.allocation_strategy(InstanceAllocationStrategy::Pooling(pooling))
        .memory_init_cow(true)
        .memory_reservation(config.max_memory_bytes)
        .memory_reservation_for_growth(0)
        .epoch_interruption(true)
        .consume_fuel(config.consume_fuel)
        .max_wasm_stack(config.max_stack_bytes)
        .cranelift_opt_level(OptLevel::Speed)
        .parallel_compilation(true);
    Engine::new(&wasm).map_err(|e| Error::Config(format!("cannot create the wasmtime engine: {e}")))
}

/// A digest of everything that decides whether a compiled module fits this engine: our version,
/// wasmtime's compatibility hash and the engine settings.
pub fn fingerprint(engine: &Engine) -> [u8; 32] {
    let mut compat = DefaultHasher::new();
    engine.precompile_compatibility_hash().hash(&mut compat);
    let mut digest = Sha256::new();
    digest.update(b"dynisolate-cwasm\0");
    digest.update(env!("CARGO_PKG_VERSION").as_bytes());
    digest.update(compat.finish().to_le_bytes());
    digest.finalize().into()
}
