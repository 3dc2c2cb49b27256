//! Random bytes and JSON at the tenant surface (`sandbox/imports.rs`): a guest forwards what each
//! call gives it to `env_call` (a binding name and arguments), `env_get`, `log` (a level and a
//! record) or `throw`, so every byte the host reads comes from the fuzzer. The embedder's host
//! answers env calls with the arguments it got or with its own failure. Each call must end in a
//! result or the typed error of its cause, within the limits' bounds.

use std::sync::Arc;

use _core::{Code, EnvData, Error, Guest, Host, Input, Limits, LogRecord, Output, Pool, WaitingGuest};

use super::random::{Rng, seeds};
use crate::support::{ACQUIRE, small_pool};

/// Default number of calls per import.
const CALLS: u64 = 150;

/// Log bytes a call may write: small, so random records reach it.
const MAX_LOG_BYTES: u64 = 2_048;

/// The bounds `sandbox/host.rs` puts on a guest error's name, message and stack.
const MAX_ERROR_BYTES: [usize; 3] = [64, 4_096, 16_384];

/// The forwarding guest. Each `json:` method reads its input as `[selector byte, bytes...]`:
/// `env_call` splits the bytes at the selector into name and arguments, `log` takes the selector as
/// the level, `env_get` and `throw` pass the bytes on whole. A bump allocator serves the host.
const FORWARDER: &str = r#"(module
  (import "dynisolate" "env_call" (func $env_call (param i32 i32 i32 i32) (result i64)))
  (import "dynisolate" "env_get" (func $env_get (param i32 i32) (result i64)))
  (import "dynisolate" "log" (func $log (param i32 i32 i32)))
  (import "dynisolate" "throw" (func $throw (param i32 i32)))
  (memory (export "memory") 2)
  (global $next (mut i32) (i32.const 1024))
  (func (export "dynisolate_alloc") (param $len i32) (result i32)
    (local $at i32)
    (local.set $at (global.get $next))
    (global.set $next (i32.add (local.get $at) (local.get $len)))
    (if (i32.gt_u (global.get $next) (i32.mul (memory.size) (i32.const 65536)))
      (then (drop (memory.grow (i32.add (i32.shr_u (local.get $len) (i32.const 16)) (i32.const 1))))))
    (local.get $at))
  ;; The selector, at most the length of what follows it.
  (func $split (param $p i32) (param $n i32) (result i32)
    (local $k i32)
    (local.set $k (i32.load8_u (local.get $p)))
    (select (local.get $k) (i32.sub (local.get $n) (i32.const 1))
      (i32.lt_u (local.get $k) (local.get $n))))
  (func (export "json:env_call") (param $p i32) (param $n i32) (result i64)
    (local $k i32)
    (local.set $k (call $split (local.get $p) (local.get $n)))
    (call $env_call
      (i32.add (local.get $p) (i32.const 1)) (local.get $k)
      (i32.add (i32.add (local.get $p) (i32.const 1)) (local.get $k))
      (i32.sub (i32.sub (local.get $n) (i32.const 1)) (local.get $k))))
  (func (export "json:env_get") (param $p i32) (param $n i32) (result i64)
    (call $env_get (i32.add (local.get $p) (i32.const 1)) (i32.sub (local.get $n) (i32.const 1))))
  (func (export "json:log") (param $p i32) (param $n i32) (result i64)
    (call $log (i32.load8_s (local.get $p))
      (i32.add (local.get $p) (i32.const 1)) (i32.sub (local.get $n) (i32.const 1)))
    (i64.const 0))
  (func (export "json:throw") (param $p i32) (param $n i32) (result i64)
    (call $throw (i32.add (local.get $p) (i32.const 1)) (i32.sub (local.get $n) (i32.const 1)))
    (i64.const 0)))"#;

/// The embedder's side: an env call's reply is its arguments (random bytes for the guest to read
/// back), or the host's own failure when the arguments' first byte is odd.
struct Echo;

impl Host for Echo {
    fn env_call(&self, _name: &str, args: &[u8], _: &mut dyn WaitingGuest) -> wasmtime::Result<Vec<u8>> {
        match args.first() {
            Some(b) if b % 2 == 1 => Err(wasmtime::Error::msg("the embedder failed")),
            _ => Ok(args.to_vec()),
        }
    }
}

fn forwarder(pool: &Arc<Pool>) -> Arc<Guest> {
    let mut env = EnvData::default();
    env.insert("CONFIG", br#"{"a":[1,2,3]}"#.to_vec());
    let limits = Limits { max_log_bytes: MAX_LOG_BYTES, max_payload_bytes: 4_096, ..Limits::default() };
    pool.load(Code::Wat(FORWARDER), env, limits).unwrap().0
}

/// A binding name: one the host knows of, a reserved prefix, or random bytes.
fn name(rng: &mut Rng) -> Vec<u8> {
    match rng.below(4) {
        0 => rng.pick(&["CONFIG", "KV.get", "service:api", "wasm:x", ""]).as_bytes().to_vec(),
        1 => rng.nasty_text(12).into_bytes(),
        _ => rng.bytes(300),
    }
}

/// A payload: random JSON, JSON damaged, or bytes.
fn payload(rng: &mut Rng) -> Vec<u8> {
    match rng.below(3) {
        0 => rng.json(4).into_bytes(),
        1 => {
            let json = rng.json(4).into_bytes();
            rng.mutate(json)
        }
        _ => rng.bytes(6_000),
    }
}

/// The input of `method` for one random call.
fn input(rng: &mut Rng, method: &str) -> Vec<u8> {
    let mut input = Vec::new();
    match method {
        "env_call" => {
            let name = name(rng);
            input.push(name.len().min(255) as u8);
            input.extend_from_slice(&name[..name.len().min(255)]);
            input.extend(payload(rng));
        }
        "env_get" => {
            input.push(0);
            input.extend(name(rng));
        }
        "log" => {
            input.push(*rng.pick(&[0, 1, 2, 3, 4, 0x80, 0xff]));
            input.extend(payload(rng));
        }
        _ => {
            input.push(0);
            input.extend(payload(rng));
        }
    }
    input
}

/// Checks one call's outcome against what `method` may end in.
fn check(method: &str, seed: u64, result: &Result<Output, Error>, logs: &[LogRecord]) {
    let fits = match (method, result) {
        (_, Ok(_)) => method != "throw",
        // The payload limit, or the cap on binding names (`sandbox/host.rs`).
        (_, Err(Error::PayloadTooLarge { limit: 4_096 | 256, .. })) => true,
        (_, Err(Error::Serialization(_))) => true,
        ("env_call", Err(Error::Host(e))) => format!("{e:#}").contains("the embedder failed"),
        ("log", Err(Error::LogLimit { limit })) => *limit == MAX_LOG_BYTES,
        ("throw", Err(Error::Guest { name, message, stack })) => {
            let [name_max, message_max, stack_max] = MAX_ERROR_BYTES;
            name.len() <= name_max && message.len() <= message_max && stack.len() <= stack_max
        }
        _ => false,
    };
    assert!(fits, "seed {seed}: {method} ended in {result:?}");
    // What the log budget lets through, each invalid byte at most a 3-byte replacement character.
    let logged: usize = logs.iter().map(|record| record.message.len()).sum();
    assert!(logged as u64 <= 3 * MAX_LOG_BYTES, "seed {seed}: {logged} bytes of logs");
}

#[test]
fn random_bytes_and_json_at_the_tenant_imports_end_in_typed_errors() {
    let pool = small_pool(2);
    let guest = forwarder(&pool);
    let host: Arc<dyn Host> = Arc::new(Echo);
    for method in ["env_call", "env_get", "log", "throw"] {
        let export = guest.export(method).unwrap().clone();
        let mut oks = 0;
        for seed in seeds(CALLS) {
            let mut rng = Rng::new(method, seed);
            let bytes = input(&mut rng, method);
            let report = guest.call(&export, Input::Json(&bytes), Some(host.clone()), ACQUIRE);
            check(method, seed, &report.result, &report.logs);
            oks += report.result.is_ok() as u32;
        }
        if method != "throw" {
            assert!(oks > 0, "no {method} call succeeded: the fuzzer never got past the checks");
        }
        assert_eq!(pool.stats().live_isolates, 0);
    }
}
