//! The one error type of the core. Every failure a caller can see is a variant named by cause;
//! the binding layer maps each variant to one Python exception class.

use std::fmt;

/// Result alias used throughout the core.
pub type Result<T, E = Error> = std::result::Result<T, E>;

/// Why a load, a boot or a call failed.
#[derive(Debug)]
pub enum Error {
    /// A pool or limit setting is out of range.
    Config(String),
    /// The code could not be turned into a runnable module (bad bytes, bad text, bad imports).
    Load(String),
    /// The entrypoint has no export of this name.
    ExportNotFound { name: String },
    /// The arguments do not fit the export's signature.
    Argument(String),
    /// A value could not be encoded or decoded across the boundary.
    Serialization(String),
    /// The guest raised an error through `dynisolate.throw`.
    Guest { name: String, message: String, stack: String },
    /// The guest trapped (`unreachable`, out-of-bounds access, ...).
    Trap { code: &'static str, message: String, backtrace: String },
    /// The guest ran for longer than `cpu_ms` in one call (time spent waiting on the host aside).
    CpuLimit { cpu_ms: u64 },
    /// The call, waits included, ran past its wall-clock budget: `wall_ms`, or less when it
    /// inherited an earlier deadline from the guest whose env call its host was serving.
    WallTimeLimit { wall_ms: u64 },
    /// Linear memory (or a table) would have grown past the isolate's cap.
    MemoryLimit { memory_bytes: u64 },
    /// A table would have grown past the pool's `max_table_elements`.
    TableLimit { elements: u64 },
    /// The fuel budget ran out.
    FuelExhausted { fuel: u64 },
    /// The guest's wasm stack ran out.
    StackOverflow,
    /// An argument, result or host-call payload exceeded `max_payload_bytes`.
    PayloadTooLarge { bytes: u64, limit: u64 },
    /// A call made more host calls than `max_host_calls` allows.
    HostCallLimit { limit: u32 },
    /// A call wrote more log bytes than `max_log_bytes` allows.
    LogLimit { limit: u64 },
    /// A call made more outbound requests than `sub_requests` allows.
    SubRequestLimit { limit: u32 },
    /// The caller cancelled the call while the guest ran.
    Cancelled,
    /// No isolate slot became free within the acquire timeout.
    PoolExhausted { max_isolates: u32, waited_ms: u64 },
    /// The session was closed, or ended by an earlier fatal error.
    Closed(String),
    /// A sandbox process could not be confined as asked (the kernel refused a step).
    Confinement(String),
    /// A host call failed in a way that must end the call (the host's own error travels inside).
    Host(wasmtime::Error),
}

impl Error {
    /// A copy for a second reader: a host's own error travels on as its text.
    pub fn duplicate(&self) -> Error {
        match self {
            Error::Config(m) => Error::Config(m.clone()),
            Error::Load(m) => Error::Load(m.clone()),
            Error::ExportNotFound { name } => Error::ExportNotFound { name: name.clone() },
            Error::Argument(m) => Error::Argument(m.clone()),
            Error::Serialization(m) => Error::Serialization(m.clone()),
            Error::Guest { name, message, stack } => {
                Error::Guest { name: name.clone(), message: message.clone(), stack: stack.clone() }
            }
            Error::Trap { code, message, backtrace } => {
                Error::Trap { code, message: message.clone(), backtrace: backtrace.clone() }
            }
            Error::CpuLimit { cpu_ms } => Error::CpuLimit { cpu_ms: *cpu_ms },
            Error::WallTimeLimit { wall_ms } => Error::WallTimeLimit { wall_ms: *wall_ms },
            Error::MemoryLimit { memory_bytes } => Error::MemoryLimit { memory_bytes: *memory_bytes },
            Error::TableLimit { elements } => Error::TableLimit { elements: *elements },
            Error::FuelExhausted { fuel } => Error::FuelExhausted { fuel: *fuel },
            Error::StackOverflow => Error::StackOverflow,
            Error::PayloadTooLarge { bytes, limit } => Error::PayloadTooLarge { bytes: *bytes, limit: *limit },
            Error::HostCallLimit { limit } => Error::HostCallLimit { limit: *limit },
            Error::LogLimit { limit } => Error::LogLimit { limit: *limit },
            Error::SubRequestLimit { limit } => Error::SubRequestLimit { limit: *limit },
            Error::Cancelled => Error::Cancelled,
            Error::PoolExhausted { max_isolates, waited_ms } => {
                Error::PoolExhausted { max_isolates: *max_isolates, waited_ms: *waited_ms }
            }
            Error::Closed(m) => Error::Closed(m.clone()),
            Error::Confinement(m) => Error::Confinement(m.clone()),
            Error::Host(e) => Error::Host(wasmtime::Error::msg(e.to_string())),
        }
    }

    /// True when the isolate that produced this error must not run guest code again.
    pub fn is_fatal_to_isolate(&self) -> bool {
        !matches!(self, Error::ExportNotFound { .. } | Error::Argument(_) | Error::Serialization(_) | Error::Closed(_))
    }
}

impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Error::Config(m)
            | Error::Load(m)
            | Error::Argument(m)
            | Error::Serialization(m)
            | Error::Closed(m)
            | Error::Confinement(m) => f.write_str(m),
            Error::ExportNotFound { name } => write!(f, "the entrypoint has no export named {name:?}"),
            Error::Guest { name, message, .. } => write!(f, "{name}: {message}"),
            Error::Trap { message, .. } => write!(f, "guest trapped: {message}"),
            Error::CpuLimit { cpu_ms } => write!(f, "the call exceeded its CPU limit of {cpu_ms} ms"),
            Error::WallTimeLimit { wall_ms } => {
                write!(f, "the call exceeded its wall-clock limit of {wall_ms} ms (time spent waiting included)")
            }
            Error::MemoryLimit { memory_bytes } => {
                write!(f, "the guest tried to grow past its memory limit of {memory_bytes} bytes")
            }
            Error::TableLimit { elements } => {
                write!(f, "the guest tried to grow a table past its limit of {elements} elements")
            }
            Error::FuelExhausted { fuel } => write!(f, "the call used up its fuel budget of {fuel}"),
            Error::StackOverflow => f.write_str("the guest exhausted its call stack"),
            Error::Cancelled => f.write_str("the call was cancelled by its caller"),
            Error::PayloadTooLarge { bytes, limit } => {
                write!(f, "a payload of {bytes} bytes exceeds the limit of {limit} bytes")
            }
            Error::HostCallLimit { limit } => write!(f, "the call made more than {limit} host calls"),
            Error::LogLimit { limit } => write!(f, "the call wrote more than {limit} bytes of logs"),
            Error::SubRequestLimit { limit } => write!(f, "the call made more than {limit} outbound requests"),
            Error::PoolExhausted { max_isolates, waited_ms } => write!(
                f,
                "all {max_isolates} isolate slots stayed busy for {waited_ms} ms; raise max_isolates or acquire_timeout_ms"
            ),
            Error::Host(e) => write!(f, "host call failed: {e}"),
        }
    }
}

impl std::error::Error for Error {}
