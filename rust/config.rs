//! Settings, with their defaults and units. `PoolConfig` is fixed for the life of a pool (it
//! shapes the wasmtime engine); `Limits` apply per isolate and may differ per worker.

use std::path::PathBuf;

use crate::error::{Error, Result};

/// Settings that shape the engine and its pooling allocator.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct PoolConfig {
    /// Isolates that may be alive at once (pooling-allocator slots). Default 10,000.
    pub max_isolates: u32,
    /// Largest linear memory any isolate may have; also the per-slot address-space reservation.
    /// Default 128 MiB.
    pub max_memory_bytes: u64,
    /// Largest table any isolate may have, in elements. Default 20,000.
    pub max_table_elements: u32,
    /// Native stack a guest may use (wasmtime's `max_wasm_stack`). Default 1 MiB.
    pub max_stack_bytes: usize,
    /// Whether guests are compiled with fuel metering, so `Limits::fuel` can be used. Default off.
    pub consume_fuel: bool,
    /// Directory for compiled modules (`.cwasm`), shared between processes. `None` keeps them in memory only.
    pub cache_dir: Option<PathBuf>,
}

impl Default for PoolConfig {
    fn default() -> Self {
        PoolConfig {
            max_isolates: 10_000,
            max_memory_bytes: 128 << 20,
            max_table_elements: 20_000,
            max_stack_bytes: 1 << 20,
            consume_fuel: false,
            cache_dir: None,
        }
    }
}

impl PoolConfig {
    /// Checks every setting, so a bad value is a clear error rather than an engine failure. The
    /// one place these rules live: the Python `Loader` only checks that it was given ints.
    pub fn validate(&self) -> Result<()> {
        if self.max_isolates == 0 || self.max_isolates > 1_000_000 {
            return Err(Error::Config(format!("max_isolates must be 1..=1000000, got {}", self.max_isolates)));
        }
        if self.max_table_elements == 0 {
            return Err(Error::Config("max_table_elements must be at least 1".into()));
        }
        if self.max_memory_bytes < 65_536 || self.max_memory_bytes > 4 << 30 {
            return Err(Error::Config(format!(
                "max_memory_bytes must be between 64 KiB and 4 GiB, got {}",
                self.max_memory_bytes
            )));
        }
        if self.max_stack_bytes < 64 << 10 || self.max_stack_bytes > 64 << 20 {
            return Err(Error::Config(format!(
                "max_stack_bytes must be between 64 KiB and 64 MiB, got {}",
                self.max_stack_bytes
            )));
        }
        Ok(())
    }
}

/// Longest `cpu_ms`: a day.
pub const MAX_CPU_MS: u64 = 24 * 3_600_000;
/// Longest `wall_ms`: a day.
pub const MAX_WALL_MS: u64 = 24 * 3_600_000;

/// Per-isolate budgets. A limit that is hit ends the call with a typed error and the isolate is discarded.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Limits {
    /// Time the guest may run in one call, in milliseconds: the call's wall-clock time less the
    /// time it waits on the host (timers, env calls, outbound requests), which counts against
    /// `wall_ms` only. Checked once per epoch tick while the guest runs. Default 1,000.
    pub cpu_ms: u64,
    /// Wall-clock budget of one call, waits included, in milliseconds. A call made while the host
    /// serves another guest's env call (a service binding's) also ends by that guest's wall-clock
    /// deadline. Default 30,000.
    pub wall_ms: u64,
    /// Linear memory cap. Default: the pool's `max_memory_bytes`.
    pub memory_bytes: Option<u64>,
    /// Fuel per call (needs `PoolConfig::consume_fuel`). Default: unmetered.
    pub fuel: Option<u64>,
    /// Largest argument, result or host-call payload, in bytes. Default 16 MiB.
    pub max_payload_bytes: u64,
    /// Host calls (env bindings) one call may make. Default 10,000.
    pub max_host_calls: u32,
    /// Log bytes one call may write. Default 1 MiB.
    pub max_log_bytes: u64,
    /// Outbound requests (JavaScript `fetch()`) one call may make. Default 50, as Cloudflare's.
    pub sub_requests: u32,
}

impl Default for Limits {
    fn default() -> Self {
        Limits {
            cpu_ms: 1_000,
            wall_ms: 30_000,
            memory_bytes: None,
            fuel: None,
            max_payload_bytes: 16 << 20,
            max_host_calls: 10_000,
            max_log_bytes: 1 << 20,
            sub_requests: 50,
        }
    }
}

impl Limits {
    /// Checks each limit on its own. The one place these rules live: the Python `Limits` calls
    /// this when it is built and only checks that it was given ints.
    pub fn check(&self) -> Result<()> {
        if self.cpu_ms == 0 || self.cpu_ms > MAX_CPU_MS {
            return Err(Error::Config(format!("Limits.cpu_ms must be 1..={MAX_CPU_MS}, got {}", self.cpu_ms)));
        }
        if self.wall_ms == 0 || self.wall_ms > MAX_WALL_MS {
            return Err(Error::Config(format!("Limits.wall_ms must be 1..={MAX_WALL_MS}, got {}", self.wall_ms)));
        }
        if self.max_payload_bytes == 0 || self.max_payload_bytes > u32::MAX as u64 {
            return Err(Error::Config(format!(
                "Limits.max_payload_bytes must be 1..={}, got {}",
                u32::MAX,
                self.max_payload_bytes
            )));
        }
        let at_least_one = [
            ("memory_bytes", self.memory_bytes.unwrap_or(1)),
            ("fuel", self.fuel.unwrap_or(1)),
            ("max_host_calls", self.max_host_calls as u64),
            ("max_log_bytes", self.max_log_bytes),
            ("sub_requests", self.sub_requests as u64),
        ];
        if let Some((name, value)) = at_least_one.iter().find(|(_, value)| *value == 0) {
            return Err(Error::Config(format!("Limits.{name} must be at least 1, got {value}")));
        }
        Ok(())
    }

    /// Checks the limits on their own and against the pool they will run in.
    pub fn validate(&self, pool: &PoolConfig) -> Result<()> {
        self.check()?;
        if let Some(m) = self.memory_bytes
            && m > pool.max_memory_bytes
        {
            return Err(Error::Config(format!(
                "memory_bytes {m} exceeds the pool's max_memory_bytes {}",
                pool.max_memory_bytes
            )));
        }
        if self.fuel.is_some() && !pool.consume_fuel {
            return Err(Error::Config("fuel limits need a pool created with consume_fuel=True".into()));
        }
        Ok(())
    }

    /// The memory cap in force: the worker's own, or the pool's.
    pub fn effective_memory_bytes(&self, pool: &PoolConfig) -> u64 {
        self.memory_bytes.unwrap_or(pool.max_memory_bytes)
    }
}
