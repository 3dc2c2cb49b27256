//! The `T` of every `Store<T>`: one isolate's limits, its budget for the call in progress
//! (deadlines and counters), the log records it wrote, its connection to the host, and one slot
//! for a layer above to keep per-isolate state in (see [`Extension`]).
//!
//! A call has two clocks. Its wall-clock deadline (`wall_ms`) is fixed when it starts. Its CPU
//! deadline (`cpu_ms`) is pushed back by every wait on the host (a timer, an env call, an
//! outbound request) when the wait ends, so only the time the guest runs counts against it. The
//! guest's own clock reads the time of the last I/O event, the call's start or the end of a
//! wait, and stands still in between (see [`StoreData::io_at`]).

use std::any::Any;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

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

    /// How long the env call it last served waited on the host (a guest of its own making env
    /// calls), which is not the calling guest's CPU time either. Taken once.
    fn take_waited(&mut self) -> Duration {
        Duration::ZERO
    }
}

/// The time of the call in progress: its deadlines, its waits on the host, and its I/O events.
struct CallTime {
    /// When `cpu_ms` runs out if the guest never waits again: each wait pushes it back by its
    /// length when it ends.
    cpu_deadline: Instant,
    /// When the call must end, waits included: its own `wall_ms`, or an earlier deadline it
    /// inherited from its host. Never moves.
    wall_deadline: Instant,
    /// The wall-clock budget the call started with, in ms (`wall_ms`, or what an inherited
    /// deadline left), for the error that reports it.
    wall_budget_ms: u64,
    /// Since when the guest waits on the host, while it does.
    waiting_since: Option<Instant>,
    /// How long the call has waited on the host so far.
    waited: Duration,
    /// The last I/O event: the call's start, or the end of its last wait.
    io_at: Instant,
    /// The call's start, and the Unix time then: the guest's calendar clock is this plus the
    /// monotonic time since, so it never steps back within a call.
    started: (Instant, Duration),
}

impl CallTime {
    fn new(limits: &Limits, inherited: Option<Instant>) -> CallTime {
        let now = Instant::now();
        let own = now + Duration::from_millis(limits.wall_ms);
        let wall_deadline = inherited.map_or(own, |inherited| inherited.min(own));
        CallTime {
            cpu_deadline: now + Duration::from_millis(limits.cpu_ms),
            wall_deadline,
            wall_budget_ms: wall_deadline.saturating_duration_since(now).as_millis() as u64,
            waiting_since: None,
            waited: Duration::ZERO,
            io_at: now,
            started: (now, SystemTime::now().duration_since(UNIX_EPOCH).unwrap_or_default()),
        }
    }
}

/// See the module docs.
pub struct StoreData {
    pub limiter: MemoryLimiter,
    pub limits: Limits,
    time: CallTime,
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
            time: CallTime::new(&limits, None),
            limits,
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

    /// Starts a call's budget (deadlines and counters) and connects it to its host. The call
    /// inherits its host's wall-clock deadline, if it has one (`Host::wall_deadline`): never a
    /// CPU deadline, which stands still while its guest waits for this call.
    pub fn begin_call(&mut self, host: Option<Arc<dyn Host>>, interrupt: Option<Arc<AtomicBool>>) {
        self.time = CallTime::new(&self.limits, host.as_ref().and_then(|host| host.wall_deadline()));
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

    /// When the call must end, waits included (see [`Limits::wall_ms`]): what a call the host
    /// makes while this guest waits on it inherits.
    pub fn wall_deadline(&self) -> Instant {
        self.time.wall_deadline
    }

    /// The guest starts waiting on the host (a timer, an env call, an outbound request): until
    /// [`end_wait`](Self::end_wait), time counts against `wall_ms` only.
    pub fn begin_wait(&mut self) {
        self.time.waiting_since.get_or_insert_with(Instant::now);
    }

    /// The wait ends, an I/O event: its length is added to the CPU deadline, and the guest's
    /// clock moves on to now.
    pub fn end_wait(&mut self) {
        let since = self.time.waiting_since.take();
        self.credit_wait(since.map_or(Duration::ZERO, |since| since.elapsed()));
    }

    /// Counts `waited` as time the guest waited on the host rather than ran (also what a guest of
    /// an [`Extension`]'s waited while serving it), and moves the guest's clock on to now.
    pub fn credit_wait(&mut self, waited: Duration) {
        self.time.cpu_deadline += waited;
        self.time.waited += waited;
        self.time.io_at = Instant::now();
    }

    /// How long the call has waited on the host so far.
    pub fn waited(&self) -> Duration {
        self.time.waited
    }

    /// The time of the call's last I/O event (its start, or the end of its last wait): what the
    /// guest's clock reads. It stands still while the guest runs, as workerd's clock does (a
    /// Spectre mitigation: a guest cannot time its own code).
    pub fn io_at(&self) -> Instant {
        self.time.io_at
    }

    /// [`io_at`](Self::io_at) as a Unix time.
    pub fn io_unix_time(&self) -> Duration {
        let (instant, unix) = self.time.started;
        unix + self.time.io_at.saturating_duration_since(instant)
    }

    /// Whether the call may go on: `Cancelled` once the caller interrupted it, `CpuLimit` once the
    /// guest ran for `cpu_ms` (while it waits, only if it had before the wait began),
    /// `WallTimeLimit` once its wall-clock deadline passed; when both have, the one that passed
    /// first (a busy machine may delay the check past both). Checked at every epoch tick and
    /// while the guest waits on the host.
    pub fn check_budget(&self) -> Result<()> {
        if self.interrupt.as_ref().is_some_and(|flag| flag.load(Ordering::Relaxed)) {
            return Err(Error::Cancelled);
        }
        let now = Instant::now();
        let time = &self.time;
        let cpu_spent = time.waiting_since.unwrap_or(now) >= time.cpu_deadline;
        let wall_spent = now >= time.wall_deadline;
        if cpu_spent && (!wall_spent || time.cpu_deadline <= time.wall_deadline) {
            return Err(Error::CpuLimit { cpu_ms: self.limits.cpu_ms });
        }
        if wall_spent {
            return Err(Error::WallTimeLimit { wall_ms: time.wall_budget_ms });
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
        // The epoch deadline callback ends a call with its own error (`check_budget`'s), so an
        // interrupt trap is never raised; were it, running past `cpu_ms` would be its cause.
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
