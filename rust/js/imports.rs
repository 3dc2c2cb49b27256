//! The imports only the JavaScript interpreter links, never offered to tenant wasm: `outbound`
//! (`fetch()`), `sleep` (timers), `random` (`crypto`), and the five WASI functions wasi-libc
//! needs, stubbed so the interpreter gets a coarse clock and no files. It also links `log` and
//! `env_call` from the tenant surface (`sandbox/imports.rs`).

use std::sync::OnceLock;
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use wasmtime::{Caller, Linker};

use crate::error::Error;
use crate::sandbox::host::error_envelope;
use crate::sandbox::imports;
use crate::sandbox::imports::{check_reply, count_host_call, fail, link_shared, reply};
use crate::sandbox::state::StoreData;

const EBADF: i32 = 8;
const EINVAL: i32 = 28;

/// Clock readings are rounded down to this, so tenant code gets no fine-grained timer.
const CLOCK_GRANULARITY_NS: u64 = 1_000_000;

/// Longest nap between checks for cancellation while a guest waits on a timer.
const SLEEP_SLICE: Duration = Duration::from_millis(5);

/// Most bytes one `random` call may fill.
const MAX_RANDOM_BYTES: usize = 65_536;

/// `outbound(ptr, len) -> i64`: one `fetch()`, counted against `sub_requests`.
fn outbound(mut caller: Caller<'_, StoreData>, ptr: i32, len: i32) -> wasmtime::Result<i64> {
    count_host_call(&mut caller)?;
    let state = caller.data_mut();
    state.sub_requests += 1;
    if state.sub_requests > state.limits.sub_requests {
        return Err(fail(Error::SubRequestLimit { limit: state.limits.sub_requests }));
    }
    let limit = state.limits.max_payload_bytes;
    let request = imports::read(&mut caller, ptr, len, limit)?;
    let envelope = match caller.data().host.clone() {
        Some(host) => host.fetch(&request)?,
        None => error_envelope("TypeError", "this worker has no outbound handler"),
    };
    check_reply(&caller, &envelope)?;
    reply(&mut caller, &envelope)
}

/// `sleep(ms)`: waits for a JavaScript timer. The wait counts against the call's deadline like
/// any other time, and ends early (with the deadline's error) when the deadline comes first.
fn sleep(caller: Caller<'_, StoreData>, ms: i32) -> wasmtime::Result<()> {
    let state = caller.data();
    let wake = Instant::now() + Duration::from_millis(ms.max(0) as u64);
    loop {
        state.check_budget().map_err(fail)?;
        let now = Instant::now();
        if now >= wake {
            return Ok(());
        }
        std::thread::sleep((wake.min(state.deadline) - now).min(SLEEP_SLICE));
    }
}

/// `random(ptr, len)`: fills guest bytes from the operating system's CSPRNG (`crypto.*`).
fn random(mut caller: Caller<'_, StoreData>, ptr: i32, len: i32) -> wasmtime::Result<()> {
    let memory = imports::memory(&mut caller)?;
    let (start, len) = (ptr as u32 as usize, len as u32 as usize);
    if len > MAX_RANDOM_BYTES {
        return Err(fail(Error::Serialization(format!(
            "random() asked for {len} bytes; the limit is {MAX_RANDOM_BYTES}"
        ))));
    }
    let Some(dst) = memory.data_mut(&mut caller).get_mut(start..start.saturating_add(len)) else {
        return Err(fail(Error::Serialization("random() was given a range outside guest memory".into())));
    };
    getrandom::fill(dst).map_err(|e| fail(Error::Host(wasmtime::Error::msg(format!("no OS randomness: {e}")))))
}

fn clock_time_get(mut caller: Caller<'_, StoreData>, clock: i32, _precision: i64, out: i32) -> i32 {
    static START: OnceLock<Instant> = OnceLock::new();
    let ns = match clock {
        0 => SystemTime::now().duration_since(UNIX_EPOCH).unwrap_or_default().as_nanos() as u64,
        1 => START.get_or_init(Instant::now).elapsed().as_nanos() as u64,
        _ => return EINVAL,
    };
    let ns = ns - ns % CLOCK_GRANULARITY_NS;
    let Ok(memory) = imports::memory(&mut caller) else { return EINVAL };
    let start = out as u32 as usize;
    match memory.data_mut(&mut caller).get_mut(start..start.saturating_add(8)) {
        Some(slot) => {
            slot.copy_from_slice(&ns.to_le_bytes());
            0
        }
        None => EINVAL,
    }
}

/// Defines the interpreter's imports on `linker`.
pub fn link(linker: &mut Linker<StoreData>) -> wasmtime::Result<()> {
    const WASI: &str = "wasi_snapshot_preview1";
    link_shared(linker)?;
    linker.func_wrap("dynisolate", "outbound", outbound)?;
    linker.func_wrap("dynisolate", "sleep", sleep)?;
    linker.func_wrap("dynisolate", "random", random)?;
    linker.func_wrap(WASI, "clock_time_get", clock_time_get)?;
    linker.func_wrap(WASI, "fd_close", |_: i32| EBADF)?;
    linker.func_wrap(WASI, "fd_fdstat_get", |_: i32, _: i32| EBADF)?;
    linker.func_wrap(WASI, "fd_seek", |_: i32, _: i64, _: i32, _: i32| EBADF)?;
    linker.func_wrap(WASI, "fd_write", |_: i32, _: i32, _: i32, _: i32| EBADF)?;
    Ok(())
}
