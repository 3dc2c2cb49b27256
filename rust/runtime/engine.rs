//! Builds the wasmtime `Engine` a pool runs on: pooling allocator sized by `PoolConfig`,
//! copy-on-write memory images, epoch interruption, optional fuel, and 4 GiB of address space
//! reserved per memory slot (wasmtime's default), so guest loads and stores need no bounds checks.

use std::hash::{DefaultHasher, Hash, Hasher};
use std::sync::atomic::{AtomicU64, Ordering};

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

/// Address space reserved for each linear memory while the process has room for it (see
/// [`MAX_RESERVED_ADDRESS_SPACE_BYTES`]): all of a 32-bit memory's 4 GiB. With the guard region
/// after it, every address a guest can form lands in the reservation, so Cranelift compiles
/// loads and stores without explicit bounds checks (or the Spectre masking that goes with them);
/// the memory cap is still `max_memory_size`. Against a reservation of `max_memory_bytes`, which
/// made every access check its bounds: in a dev build a JavaScript loop and object allocation ran
/// 3.8 to 4.5 times faster; in a release build (benches/test_web.py, 2026-12-07) a fresh isolate's
/// first call took 16.7 instead of 26.3 µs, a URL parse 47.9 instead of 63.9 µs. It is address
/// space only: no page is touched or committed for it.
const MEMORY_RESERVATION_BYTES: u64 = 4 << 30;

/// The most address space the pools of one process reserve for full reservations (x86-64 gives
/// a process 128 TiB). A pool that would pass it, counting the pools alive, reserves
/// `max_memory_bytes` per slot instead, and its guests pay for bounds checks.
const MAX_RESERVED_ADDRESS_SPACE_BYTES: u64 = 64 << 40;

/// Guard region after each memory: wasmtime's default on 64-bit hosts.
const MEMORY_GUARD_BYTES: u64 = 32 << 20;

/// Address space the live pools hold in full reservations.
static RESERVED_BYTES: AtomicU64 = AtomicU64::new(0);

/// A pool's share of [`RESERVED_BYTES`], given back when the pool's runtime is dropped.
pub struct Reservation {
    /// What each memory slot reserves.
    pub slot_bytes: u64,
    held_bytes: u64,
}

impl Reservation {
    /// Full reservations for `max_isolates` slots if the process has room for them, else slots of
    /// `max_memory_bytes` (which are not counted: they are at most the memory the pool may use).
    pub fn take(max_isolates: u32, max_memory_bytes: u64) -> Reservation {
        let full = u64::from(max_isolates).saturating_mul(MEMORY_RESERVATION_BYTES + MEMORY_GUARD_BYTES);
        let taken = RESERVED_BYTES.fetch_update(Ordering::AcqRel, Ordering::Acquire, |held| {
            held.checked_add(full).filter(|&total| total <= MAX_RESERVED_ADDRESS_SPACE_BYTES)
        });
        match taken {
            Ok(_) => Reservation { slot_bytes: MEMORY_RESERVATION_BYTES, held_bytes: full },
            Err(_) => Reservation { slot_bytes: max_memory_bytes, held_bytes: 0 },
        }
    }
}

impl Drop for Reservation {
    fn drop(&mut self) {
        RESERVED_BYTES.fetch_sub(self.held_bytes, Ordering::AcqRel);
    }
}

/// Creates the engine for `config`, with the address space its memories reserve.
pub fn build(config: &PoolConfig) -> Result<(Engine, Reservation)> {
    config.validate()?;
    let reservation = Reservation::take(config.max_isolates, config.max_memory_bytes);
    let engine = Engine::new(&wasmtime_config(config, reservation.slot_bytes))
        .map_err(|e| Error::Config(format!("cannot create the wasmtime engine: {e}")))?;
    Ok((engine, reservation))
}

/// The wasmtime settings for `config`, each memory slot reserving `slot_bytes`. wasmtime's own
/// defences stay as its defaults have them, and the tests read them back from the engine: signals
/// based traps with the guard region after each memory, Spectre mitigations for heap and table
/// accesses (a heap access has no bounds check to mitigate while the reservation covers 4 GiB),
/// and memory protection keys for the pooling allocator where the CPU has them (`Auto`: stripes of
/// slots share their guard regions, so more slots fit the address space).
fn wasmtime_config(config: &PoolConfig, slot_bytes: u64) -> Config {
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
        .pagemap_scan(wasmtime::Enabled::Auto)
        .memory_protection_keys(wasmtime::Enabled::Auto);

    let mut wasm = Config::new();
    wasm.allocation_strategy(InstanceAllocationStrategy::Pooling(pooling))
        .memory_init_cow(true)
        .memory_reservation(slot_bytes)
        .memory_guard_size(MEMORY_GUARD_BYTES)
        .memory_reservation_for_growth(0)
        .signals_based_traps(true)
        .epoch_interruption(true)
        .consume_fuel(config.consume_fuel)
        .max_wasm_stack(config.max_stack_bytes)
        .cranelift_opt_level(OptLevel::Speed)
        .parallel_compilation(true);
    wasm
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pools_past_the_process_budget_reserve_their_cap() {
        // 10,000 slots take 40 TiB: one such pool gets full reservations, a second does not, and
        // the budget comes back when the first is dropped. (Other tests' pools are small.)
        let first = Reservation::take(10_000, 128 << 20);
        assert_eq!(first.slot_bytes, MEMORY_RESERVATION_BYTES);
        let second = Reservation::take(10_000, 128 << 20);
        assert_eq!(second.slot_bytes, 128 << 20);
        drop((first, second));
        assert_eq!(Reservation::take(10_000, 128 << 20).slot_bytes, MEMORY_RESERVATION_BYTES);
    }

    fn compile_env_hash(config: &Config) -> u64 {
        let engine = Engine::new(config).unwrap();
        let mut hasher = DefaultHasher::new();
        engine.precompile_compatibility_hash().hash(&mut hasher);
        hasher.finish()
    }

    /// wasmtime hashes everything that decides how a module compiles (Cranelift's flags, the
    /// memory tunables) into an engine's compatibility hash. Our settings with a defence stated
    /// explicitly hash as ours do, so the defence is in effect; stated off, they hash differently,
    /// so the comparison can tell.
    #[test]
    fn the_engine_keeps_wasmtime_defences_on() {
        let pool = PoolConfig { max_isolates: 2, max_memory_bytes: 16 << 20, ..PoolConfig::default() };
        let ours = wasmtime_config(&pool, MEMORY_RESERVATION_BYTES);
        let ours_hash = compile_env_hash(&ours);
        type Statement = fn(&mut Config, bool);
        let defences: [(&str, Statement); 5] = [
            ("Spectre mitigation of heap accesses", |c, on| unsafe {
                c.cranelift_flag_set("enable_heap_access_spectre_mitigation", if on { "true" } else { "false" });
            }),
            ("Spectre mitigation of table accesses", |c, on| unsafe {
                c.cranelift_flag_set("enable_table_access_spectre_mitigation", if on { "true" } else { "false" });
            }),
            ("signals-based traps", |c, on| {
                c.signals_based_traps(on);
            }),
            ("the guard region", |c, on| {
                c.memory_guard_size(if on { MEMORY_GUARD_BYTES } else { 0 });
            }),
            ("4 GiB reservations (no bounds checks)", |c, on| {
                c.memory_reservation(if on { MEMORY_RESERVATION_BYTES } else { 16 << 20 });
            }),
        ];
        for (name, state) in defences {
            let mut on = ours.clone();
            state(&mut on, true);
            assert_eq!(compile_env_hash(&on), ours_hash, "{name} is not in effect");
            let mut off = ours.clone();
            state(&mut off, false);
            assert_ne!(compile_env_hash(&off), ours_hash, "{name}: the hash does not tell it");
        }
    }
}
