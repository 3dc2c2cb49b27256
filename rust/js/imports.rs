//! The imports only the JavaScript interpreter links, never offered to tenant wasm: `outbound`
//! (`fetch()`), `sleep` (timers), `random` (`crypto`), `digest` (`node:crypto`'s hashes),
//! `subtle` (`crypto.subtle`, served by `js/subtle/`), `encoding_name` and `text_decode`
//! (TextDecoder, served by `js/encoding.rs`), `compression` (CompressionStream and
//! DecompressionStream, by `js/compression/`), `digest_stream` (`crypto.DigestStream`, by
//! `js/digest_stream.rs`), `intl` (`Intl`, by `js/intl/`), `domain_to_ascii` (IDNA's check of
//! punycode labels, by `js/domain.rs`), `urlpattern_parse` and `urlpattern_match_input`
//! (URLPattern, by `js/urlpattern.rs`), `early_reply` (a result ready before `ctx.waitUntil` work
//! ends), and the five WASI functions wasi-libc needs, stubbed so the interpreter gets a coarse clock and no files. It
//! also links `log` and `env_call` from the tenant surface (`sandbox/imports.rs`).
//!
//! `outbound`, `sleep` and `early_reply` wait on the host: their time counts against the call's
//! `wall_ms`, not its `cpu_ms`, and their return is an I/O event, the only thing that moves the
//! guest's clock on (`StoreData::io_at`): `Date.now()` and `performance.now()` stand still while
//! JavaScript runs, as on Cloudflare.

use std::ops::Range;
use std::sync::OnceLock;
use std::time::{Duration, Instant};

use hmac::{Hmac, Mac};
use sha2::Digest;
use wasmtime::{Caller, Linker};

use crate::error::Error;
use crate::js::extension::JsExtension;
use crate::js::{domain, encoding, protocol, subtle, urlpattern};
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
    caller.data_mut().count_sub_request().map_err(fail)?;
    let limit = caller.data().limits.max_payload_bytes;
    let request = imports::read(&mut caller, ptr, len, limit)?;
    let envelope = match caller.data().host.clone() {
        Some(host) => {
            caller.data_mut().begin_wait();
            let response = host.fetch(&request);
            caller.data_mut().end_wait();
            response?
        }
        None => error_envelope("TypeError", "this worker has no outbound handler"),
    };
    check_reply(&caller, &envelope)?;
    reply(&mut caller, &envelope)
}

/// `sleep(ms)`: waits until `ms` after the guest's clock reading (the last I/O event, from which
/// the guest computed its next timer's wait), for a JavaScript timer. The wait counts against the
/// call's `wall_ms`, not its `cpu_ms`, and ends early (with the wall-clock limit's error) when
/// that deadline comes first, or when the call is cancelled.
fn sleep(mut caller: Caller<'_, StoreData>, ms: i32) -> wasmtime::Result<()> {
    let state = caller.data_mut();
    let wake = state.io_at() + Duration::from_millis(ms.max(0) as u64);
    state.begin_wait();
    let slept = loop {
        if let Err(e) = state.check_budget() {
            break Err(fail(e));
        }
        let now = Instant::now();
        if now >= wake {
            break Ok(());
        }
        std::thread::sleep((wake.min(state.wall_deadline()) - now).min(SLEEP_SLICE));
    };
    state.end_wait();
    slept
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
        return Err(outside("random"));
    };
    getrandom::fill(dst).map_err(|e| fail(Error::Host(wasmtime::Error::msg(format!("no OS randomness: {e}")))))
}

/// Bytes hashed between checks of the call's deadline.
const DIGEST_CHUNK_BYTES: usize = 1 << 20;

/// `digest(name, name_len, key, key_len, data, data_len, out) -> i32`: the hash named `name` of
/// guest bytes `data`, or their HMAC when `key_len >= 0`, written to `out` (64 bytes); returns
/// its length, or -1 for a hash it does not offer (it offers md5, sha1, sha224, sha256, sha384 and
/// sha512, by the names Node.js gives them). Long inputs are hashed in chunks,
/// with the call's deadline checked between them.
#[allow(clippy::too_many_arguments)]
fn digest(
    mut caller: Caller<'_, StoreData>,
    name: i32,
    name_len: i32,
    key: i32,
    key_len: i32,
    data: i32,
    data_len: i32,
    out: i32,
) -> wasmtime::Result<i32> {
    let memory = imports::memory(&mut caller)?;
    let range = |ptr: i32, len: i32| {
        let start = ptr as u32 as usize;
        start..start.saturating_add(len as u32 as usize)
    };
    let outside_memory = || outside("digest");
    let bytes = memory.data(&caller);
    let algorithm = bytes.get(range(name, name_len)).ok_or_else(outside_memory)?;
    let key = if key_len < 0 { None } else { Some(bytes.get(range(key, key_len)).ok_or_else(outside_memory)?) };
    let input = bytes.get(range(data, data_len)).ok_or_else(outside_memory)?;
    let state = caller.data();
    let hash = |update: &mut dyn FnMut(&[u8])| {
        for chunk in input.chunks(DIGEST_CHUNK_BYTES) {
            state.check_budget().map_err(fail)?;
            update(chunk);
        }
        wasmtime::Result::<()>::Ok(())
    };
    macro_rules! run {
        ($hasher:ty) => {
            match key {
                None => {
                    let mut hasher = <$hasher>::new();
                    hash(&mut |chunk| hasher.update(chunk))?;
                    hasher.finalize().to_vec()
                }
                Some(key) => {
                    let mut mac = <Hmac<$hasher>>::new_from_slice(key).expect("HMAC takes keys of any length");
                    hash(&mut |chunk| mac.update(chunk))?;
                    mac.finalize().into_bytes().to_vec()
                }
            }
        };
    }
    let result = match algorithm {
        b"md5" => run!(md5::Md5),
        b"sha1" => run!(sha1::Sha1),
        b"sha224" => run!(sha2::Sha224),
        b"sha256" => run!(sha2::Sha256),
        b"sha384" => run!(sha2::Sha384),
        b"sha512" => run!(sha2::Sha512),
        _ => return Ok(-1),
    };
    let len = result.len();
    let slot = memory.data_mut(&mut caller).get_mut(range(out, len as i32)).ok_or_else(outside_memory)?;
    slot.copy_from_slice(&result);
    Ok(len as i32)
}

/// Most fields one `subtle` or `intl` request may name.
const MAX_REQUEST_FIELDS: usize = 16;

/// `subtle(req_ptr, req_len) -> i64`: one `crypto.subtle` operation. The request descriptor at
/// `req_ptr` (`count: u32 LE`, then `count` pairs `(ptr: u32 LE, len: u32 LE)`) names each field's
/// bytes in guest memory, which are read in place; the reply (see `js/subtle/`) is written through
/// `dynisolate_alloc` and its packed pointer/length returned. Long work checks the call's
/// deadline between chunks; running out of time ends the call.
fn subtle(mut caller: Caller<'_, StoreData>, req_ptr: i32, req_len: i32) -> wasmtime::Result<i64> {
    let memory = imports::memory(&mut caller)?;
    let bytes = memory.data(&caller);
    let Some(descriptor) = bytes.get(guest_span(req_ptr as u32, req_len as u32)) else {
        return Err(fail(Error::Serialization("subtle() was given a request outside guest memory".into())));
    };
    let fields = request_fields("subtle", bytes, descriptor)?;
    let state = caller.data();
    let answer = subtle::run(&fields, &mut || state.check_budget()).map_err(fail)?;
    reply(&mut caller, &answer.encode())
}

/// `intl(req_ptr, req_len) -> i64`: one `Intl` operation (`js/intl/`), its request laid out as
/// `subtle`'s; the reply is written through `dynisolate_alloc` and its packed pointer/length
/// returned. The isolate's formatters stay in its store between calls.
fn intl(mut caller: Caller<'_, StoreData>, req_ptr: i32, req_len: i32) -> wasmtime::Result<i64> {
    let memory = imports::memory(&mut caller)?;
    let (bytes, state) = memory.data_and_store_mut(&mut caller);
    let Some(descriptor) = bytes.get(guest_span(req_ptr as u32, req_len as u32)) else {
        return Err(fail(Error::Serialization("intl() was given a request outside guest memory".into())));
    };
    let fields = request_fields("intl", bytes, descriptor)?;
    // Out of the store while they work, so the deadline can be read meanwhile.
    let mut formatters = std::mem::take(&mut JsExtension::of_store(state).formatters);
    let answer = formatters.run(&fields, &mut || state.check_budget());
    JsExtension::of_store(state).formatters = formatters;
    reply(&mut caller, &answer.map_err(fail)?.encode())
}

/// The fields a `subtle` or `intl` request descriptor names, borrowed from guest memory.
fn request_fields<'m>(import: &str, memory: &'m [u8], descriptor: &[u8]) -> wasmtime::Result<Vec<&'m [u8]>> {
    let malformed =
        |why: String| fail(Error::Serialization(format!("{import}() was given a malformed request: {why}")));
    let Some((count, pairs)) = descriptor.split_first_chunk::<4>() else {
        return Err(malformed(format!("{} bytes cannot hold a field count", descriptor.len())));
    };
    let count = u32::from_le_bytes(*count) as usize;
    if count > MAX_REQUEST_FIELDS {
        return Err(malformed(format!("{count} fields; the limit is {MAX_REQUEST_FIELDS}")));
    }
    if pairs.len() != 8 * count {
        return Err(malformed(format!("{count} fields described in {} bytes", descriptor.len())));
    }
    let word = |bytes: &[u8]| u32::from_le_bytes(bytes.try_into().expect("chunks_exact gives 4-byte halves"));
    pairs
        .chunks_exact(8)
        .map(|pair| {
            let (ptr, len) = pair.split_at(4);
            memory.get(guest_span(word(ptr), word(len))).ok_or_else(|| malformed("a field outside guest memory".into()))
        })
        .collect()
}

/// The error of an import given guest bytes that are not all in guest memory.
fn outside(import: &str) -> wasmtime::Error {
    fail(Error::Serialization(format!("{import}() was given a range outside guest memory")))
}

/// The guest bytes `len` long at `ptr`, as a range that only fits memory when they do.
fn guest_span(ptr: u32, len: u32) -> Range<usize> {
    let start = ptr as usize;
    start..start.saturating_add(len as usize)
}

/// `encoding_name(label, label_len, out, out_len) -> i32`: writes to `out` the name TextDecoder
/// gives the encoding that the guest string `label` names, and returns its length; -1 when it
/// names none TextDecoder offers.
fn encoding_name(
    mut caller: Caller<'_, StoreData>,
    label: i32,
    label_len: i32,
    out: i32,
    out_len: i32,
) -> wasmtime::Result<i32> {
    let memory = imports::memory(&mut caller)?;
    let outside_memory = || outside("encoding_name");
    let label = memory.data(&caller).get(guest_span(label as u32, label_len as u32)).ok_or_else(outside_memory)?;
    let Some(name) = encoding::name_for_label(label) else { return Ok(-1) };
    let slot =
        memory.data_mut(&mut caller).get_mut(guest_span(out as u32, out_len as u32)).ok_or_else(outside_memory)?;
    let Some(slot) = slot.get_mut(..name.len()) else {
        return Err(fail(Error::Serialization(format!("encoding_name() was given {out_len} bytes for {name:?}"))));
    };
    slot.copy_from_slice(name.as_bytes());
    Ok(name.len() as i32)
}

/// `text_decode(name, name_len, data, data_len, flags, stream) -> i64`: guest bytes `data` decoded
/// as the encoding `name` (see `js/encoding.rs` for the flags, the stream ids and the reply),
/// read in place; long inputs check the call's deadline between chunks.
fn text_decode(
    mut caller: Caller<'_, StoreData>,
    name: i32,
    name_len: i32,
    data: i32,
    data_len: i32,
    flags: i32,
    stream: i32,
) -> wasmtime::Result<i64> {
    let memory = imports::memory(&mut caller)?;
    let (bytes, state) = memory.data_and_store_mut(&mut caller);
    let outside_memory = || outside("text_decode");
    let name = bytes.get(guest_span(name as u32, name_len as u32)).ok_or_else(outside_memory)?;
    let input = bytes.get(guest_span(data as u32, data_len as u32)).ok_or_else(outside_memory)?;
    // Out of the store while they decode, so the deadline can be read meanwhile.
    let mut streams = std::mem::take(&mut JsExtension::of_store(state).streams);
    let decoded = streams.decode(name, input, flags, stream as u32, &mut || state.check_budget());
    JsExtension::of_store(state).streams = streams;
    reply(&mut caller, &decoded.map_err(fail)?.encode())
}

/// `compression(stream, flags, data, data_len) -> i64`: guest bytes `data` run through compression
/// stream `stream` (see `js/compression/` for the flags and the reply, at most one piece of
/// output), read in place; the call's deadline is checked between pieces.
fn compression(
    mut caller: Caller<'_, StoreData>,
    stream: i32,
    flags: i32,
    data: i32,
    data_len: i32,
) -> wasmtime::Result<i64> {
    let memory = imports::memory(&mut caller)?;
    let (bytes, state) = memory.data_and_store_mut(&mut caller);
    let input = bytes.get(guest_span(data as u32, data_len as u32)).ok_or_else(|| outside("compression"))?;
    // Out of the store while they run, so the deadline can be read meanwhile.
    let mut streams = std::mem::take(&mut JsExtension::of_store(state).compression);
    let step = streams.step(stream as u32, flags, input, &mut || state.check_budget());
    JsExtension::of_store(state).compression = streams;
    reply(&mut caller, &step.map_err(fail)?.encode())
}

/// `digest_stream(stream, op, name, name_len, data, data_len) -> i64`: guest bytes `data` hashed
/// into DigestStream `stream`, read in place (see `js/digest_stream.rs` for the operations and the
/// reply); long inputs check the call's deadline between chunks.
fn digest_stream(
    mut caller: Caller<'_, StoreData>,
    stream: i32,
    op: i32,
    name: i32,
    name_len: i32,
    data: i32,
    data_len: i32,
) -> wasmtime::Result<i64> {
    let memory = imports::memory(&mut caller)?;
    let (bytes, state) = memory.data_and_store_mut(&mut caller);
    let outside_memory = || outside("digest_stream");
    let name = bytes.get(guest_span(name as u32, name_len as u32)).ok_or_else(outside_memory)?;
    let input = bytes.get(guest_span(data as u32, data_len as u32)).ok_or_else(outside_memory)?;
    let mut digests = std::mem::take(&mut JsExtension::of_store(state).digests);
    let digested = digests.step(stream as u32, op, name, input, &mut || state.check_budget());
    JsExtension::of_store(state).digests = digests;
    reply(&mut caller, &digested.map_err(fail)?.encode())
}

/// `domain_to_ascii(ptr, len) -> i64`: the URL Standard's domain to ASCII of the guest's UTF-8
/// `domain` (`js/domain.rs`), read in place; the reply is the ASCII domain, or empty when the URL
/// parser must fail.
fn domain_to_ascii(mut caller: Caller<'_, StoreData>, ptr: i32, len: i32) -> wasmtime::Result<i64> {
    let memory = imports::memory(&mut caller)?;
    let Some(domain) = memory.data(&caller).get(guest_span(ptr as u32, len as u32)) else {
        return Err(outside("domain_to_ascii"));
    };
    let ascii = domain::to_ascii(domain).unwrap_or_default();
    reply(&mut caller, ascii.as_bytes())
}

/// `urlpattern_parse(ptr, len) -> i64`: a URLPattern's components from the guest's JSON request
/// (`js/urlpattern.rs`, which refuses one too long before reading it), read in place.
fn urlpattern_parse(caller: Caller<'_, StoreData>, ptr: i32, len: i32) -> wasmtime::Result<i64> {
    serve_in_place(caller, ptr, len, "urlpattern_parse", urlpattern::parse)
}

/// `urlpattern_match_input(ptr, len) -> i64`: the components a URLPatternInit given to `test()` or
/// `exec()` canonicalises to (`js/urlpattern.rs`), read in place.
fn urlpattern_match_input(caller: Caller<'_, StoreData>, ptr: i32, len: i32) -> wasmtime::Result<i64> {
    serve_in_place(caller, ptr, len, "urlpattern_match_input", urlpattern::match_input)
}

/// The reply `serve` makes to the guest bytes `len` long at `ptr`, read where they lie.
fn serve_in_place(
    mut caller: Caller<'_, StoreData>,
    ptr: i32,
    len: i32,
    import: &str,
    serve: fn(&[u8]) -> Vec<u8>,
) -> wasmtime::Result<i64> {
    let memory = imports::memory(&mut caller)?;
    let Some(request) = memory.data(&caller).get(guest_span(ptr as u32, len as u32)) else {
        return Err(outside(import));
    };
    let answer = serve(request);
    reply(&mut caller, &answer)
}

/// `early_reply(ptr, len)`: the call's reply envelope, ready while promises given to
/// `ctx.waitUntil` still run. The host may hand its value to the caller now; the call goes on
/// under its limits, and its final reply is the same.
fn early_reply(mut caller: Caller<'_, StoreData>, ptr: i32, len: i32) -> wasmtime::Result<()> {
    let limit = caller.data().limits.max_payload_bytes;
    let reply = imports::read(&mut caller, ptr, len, limit)?;
    if let (Some(host), Some(value)) = (caller.data().host.clone(), protocol::ok_value(&reply)) {
        caller.data_mut().begin_wait();
        host.reply_ready(value);
        caller.data_mut().end_wait();
    }
    Ok(())
}

/// `clock_time_get(clock, precision, out)`: the time of the call's last I/O event
/// (`StoreData::io_at`), in whole milliseconds, on the calendar clock (0) or a monotonic one (1),
/// so tenant code gets no timer finer than its own I/O.
fn clock_time_get(mut caller: Caller<'_, StoreData>, clock: i32, _precision: i64, out: i32) -> i32 {
    static START: OnceLock<Instant> = OnceLock::new();
    let state = caller.data();
    let ns = match clock {
        0 => state.io_unix_time().as_nanos() as u64,
        1 => state.io_at().saturating_duration_since(*START.get_or_init(Instant::now)).as_nanos() as u64,
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
    linker.func_wrap("dynisolate", "digest", digest)?;
    linker.func_wrap("dynisolate", "subtle", subtle)?;
    linker.func_wrap("dynisolate", "intl", intl)?;
    linker.func_wrap("dynisolate", "encoding_name", encoding_name)?;
    linker.func_wrap("dynisolate", "text_decode", text_decode)?;
    linker.func_wrap("dynisolate", "compression", compression)?;
    linker.func_wrap("dynisolate", "digest_stream", digest_stream)?;
    linker.func_wrap("dynisolate", "domain_to_ascii", domain_to_ascii)?;
    linker.func_wrap("dynisolate", "urlpattern_parse", urlpattern_parse)?;
    linker.func_wrap("dynisolate", "urlpattern_match_input", urlpattern_match_input)?;
    linker.func_wrap("dynisolate", "early_reply", early_reply)?;
    linker.func_wrap(WASI, "clock_time_get", clock_time_get)?;
    linker.func_wrap(WASI, "fd_close", |_: i32| EBADF)?;
    linker.func_wrap(WASI, "fd_fdstat_get", |_: i32, _: i32| EBADF)?;
    linker.func_wrap(WASI, "fd_seek", |_: i32, _: i64, _: i32, _: i32| EBADF)?;
    linker.func_wrap(WASI, "fd_write", |_: i32, _: i32, _: i32, _: i32| EBADF)?;
    Ok(())
}
