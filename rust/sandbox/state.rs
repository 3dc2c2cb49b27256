//! The `T` of every `Store<T>`: one isolate's limits, its budget for the call in progress
//! (deadline and counters), the log records it wrote, its connection to the host, and one slot
//! for a layer above to keep per-isolate state in (see [`Extension`]).

use std::any::Any;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

use wasmtime::{Trap, WasmBacktrace};

use crate::config::Limits;
use crate::error::{Error, Result};
use crate::runtime::limits::MemoryLimiter;
use crate::sandbox::abi::JsonAbi;
use crate::sandbox::host::{EnvData, Host, LogRecord};

/// Per-isolate state a layer above the sandbox attaches to a store, reached through env calls it
/// claims by name. The sandbox never knows what it is (wasmtime-wasi reaches its context in the
/// embedder's `T` the same way, through a trait the feature owns). `Any`, so the layer's own
/// imports can reach their state.
pub trait Extension: Any + Send {
    /// Serves the env call `name` if this extension owns it; `None` passes it to the host.
    /// `Some(Err)` ends the whole call.
    fn env_call(&mut self, name: &str, args: &[u8], host: Option<Arc<dyn Host>>) -> Option<Result<Vec<u8>>>;
}

/// See the module docs.
pub struct StoreData {
    pub limiter: MemoryLimiter,
    pub limits: Limits,
    pub deadline: Instant,
    pub env: Arc<EnvData>,
    pub host: Option<Arc<dyn Host>>,
    /// Set by the caller to stop the running call at the next epoch tick.
    pub interrupt: Option<Arc<AtomicBool>>,
    pub logs: Vec<LogRecord>,
    pub log_bytes: u64,
    pub host_calls: u32,
    pub sub_requests: u32,
    /// The memory and allocator of a JSON-ABI guest, found once at boot so host imports need
    /// no export look-up by name.
    pub abi: Option<JsonAbi>,
    pub extension: Option<Box<dyn Extension>>,
}

impl StoreData {
    pub fn new(limits: Limits, memory_bytes: u64, table_elements: usize, env: Arc<EnvData>) -> Self {
        StoreData {
            limiter: MemoryLimiter { memory_bytes, table_elements },
            limits,
            deadline: Instant::now(),
            env,
            host: None,
            interrupt: None,
            logs: Vec::new(),
            log_bytes: 0,
            host_calls: 0,
            sub_requests: 0,
            abi: None,
            extension: None,
        }
    }

    /// Starts a call's budget (deadline and counters) and connects it to its host.
    pub fn begin_call(&mut self, host: Option<Arc<dyn Host>>, interrupt: Option<Arc<AtomicBool>>) {
        let own = Instant::now() + Duration::from_millis(self.limits.cpu_ms);
        self.deadline = host.as_ref().and_then(|host| host.deadline()).map_or(own, |inherited| inherited.min(own));
        self.host = host;
        self.interrupt = interrupt;
        self.host_calls = 0;
        self.sub_requests = 0;
        self.log_bytes = 0;
    }

    /// Drops the call's host connection and returns the log records it wrote.
    pub fn end_call(&mut self) -> Vec<LogRecord> {
        self.host = None;
        self.interrupt = None;
        std::mem::take(&mut self.logs)
    }

    /// Whether the call may go on: `Cancelled` once the caller interrupted it, `CpuLimit` once
    /// its deadline passed. Checked at every epoch tick and while the guest waits on the host.
    pub fn check_budget(&self) -> Result<()> {
        if self.interrupt.as_ref().is_some_and(|flag| flag.load(Ordering::Relaxed)) {
            return Err(Error::Cancelled);
        }
        if Instant::now() >= self.deadline {
            return Err(Error::CpuLimit { cpu_ms: self.limits.cpu_ms });
        }
        Ok(())
    }

    /// Counts one host call against `max_host_calls`.
    pub fn count_host_call(&mut self) -> Result<()> {
        self.host_calls += 1;
        if self.host_calls > self.limits.max_host_calls {
            return Err(Error::HostCallLimit { limit: self.limits.max_host_calls });
        }
        Ok(())
    }

    /// Counts one sub-request (an outbound `fetch()`, a call through a service binding) against
    /// `sub_requests`.
    pub fn count_sub_request(&mut self) -> Result<()> {
        self.sub_requests += 1;
        if self.sub_requests > self.limits.sub_requests {
            return Err(Error::SubRequestLimit { limit: self.limits.sub_requests });
        }
        Ok(())
    }
}

/// Turns whatever wasmtime returned into the error the caller should see, under `limits`.
pub fn classify(err: wasmtime::Error, limits: &Limits) -> Error {
    let err = match err.downcast::<Error>() {
        Ok(ours) => return ours,
        Err(err) => err,
    };
    let Some(trap) = err.downcast_ref::<Trap>().copied() else {
        return Error::Host(err);
    };
    let code = match trap {
        Trap::StackOverflow => return Error::StackOverflow,
        Trap::OutOfFuel => return Error::FuelExhausted { fuel: limits.fuel.unwrap_or(u64::MAX) },
        // Epoch interruption stops a guest only at its deadline (cancellation reports itself
        // through `check_budget`), so an interrupt is the deadline: `cpu_ms` is wall-clock.
        Trap::Interrupt => return Error::CpuLimit { cpu_ms: limits.cpu_ms },
        Trap::MemoryOutOfBounds => "memory_out_of_bounds",
        Trap::HeapMisaligned => "heap_misaligned",
        Trap::TableOutOfBounds => "table_out_of_bounds",
        Trap::IndirectCallToNull => "indirect_call_to_null",
        Trap::BadSignature => "bad_signature",
        Trap::IntegerOverflow => "integer_overflow",
        Trap::IntegerDivisionByZero => "integer_division_by_zero",
        Trap::BadConversionToInteger => "bad_conversion_to_integer",
        Trap::UnreachableCodeReached => "unreachable",
        _ => "other",
    };
    let backtrace = err.downcast_ref::<WasmBacktrace>().map(|bt| format!("{bt}")).unwrap_or_default();
    Error::Trap { code, message: trap.to_string(), backtrace }
}
