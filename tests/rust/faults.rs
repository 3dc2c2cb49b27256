use std::time::{Duration, Instant};

use _core::{Code, EnvData, Error, Limits, Pool, PoolConfig};
use wasmtime::Val;

use crate::support::*;

/// After every fault the same guest must serve a healthy call.
fn still_healthy(guest: &std::sync::Arc<_core::Guest>) {
    assert_eq!(i32_of(&call_num(guest, "add", &[Val::I32(20), Val::I32(22)]).unwrap()), 42);
}

#[test]
fn unreachable_is_a_trap_with_a_code() {
    let pool = small_pool(2);
    let guest = load(&pool, "numeric.wat", Limits::default());
    match call_num(&guest, "trap", &[]) {
        Err(Error::Trap { code, .. }) => assert_eq!(code, "unreachable"),
        other => panic!("expected a trap, got {other:?}"),
    }
    still_healthy(&guest);
    assert_eq!(pool.stats().live_isolates, 0);
}

#[test]
fn an_infinite_loop_stops_within_twice_its_cpu_budget() {
    let pool = small_pool(2);
    let guest = load(&pool, "numeric.wat", Limits { cpu_ms: 50, ..Limits::default() });
    let start = Instant::now();
    let result = call_num(&guest, "spin", &[]);
    let took = start.elapsed();
    assert!(matches!(result, Err(Error::CpuLimit { cpu_ms: 50 })), "{result:?}");
    assert!(took >= Duration::from_millis(50) && took < Duration::from_millis(100), "took {took:?}");
    still_healthy(&guest);
}

#[test]
fn memory_growth_past_the_cap_is_a_memory_limit_error() {
    let pool = small_pool(2);
    let guest = load(&pool, "numeric.wat", Limits { memory_bytes: Some(4 * 65536), ..Limits::default() });
    assert_eq!(i32_of(&call_num(&guest, "grow", &[Val::I32(3)]).unwrap()), 1);
    let result = call_num(&guest, "grow", &[Val::I32(4)]);
    assert!(matches!(result, Err(Error::MemoryLimit { memory_bytes: 262_144 })), "{result:?}");
    still_healthy(&guest);
}

#[test]
fn a_module_needing_more_memory_than_allowed_fails_to_load() {
    let pool = small_pool(2);
    let wat = "(module (memory 8))";
    let result =
        pool.load(Code::Wat(wat), EnvData::default(), Limits { memory_bytes: Some(65536 * 4), ..Limits::default() });
    assert!(matches!(result, Err(Error::MemoryLimit { .. })));
}

#[test]
fn runaway_recursion_is_a_stack_overflow() {
    let pool = small_pool(2);
    let guest = load(&pool, "numeric.wat", Limits::default());
    assert!(matches!(call_num(&guest, "recurse", &[Val::I32(0)]), Err(Error::StackOverflow)));
    still_healthy(&guest);
}

#[test]
fn fuel_runs_out() {
    let pool = Pool::new(PoolConfig {
        max_isolates: 2,
        consume_fuel: true,
        max_memory_bytes: 1 << 20,
        ..PoolConfig::default()
    })
    .unwrap();
    let guest = load(&pool, "numeric.wat", Limits { fuel: Some(10_000), ..Limits::default() });
    assert!(matches!(call_num(&guest, "spin", &[]), Err(Error::FuelExhausted { fuel: 10_000 })));
    still_healthy(&guest);
}

#[test]
fn fuel_limits_need_a_fuel_pool() {
    let pool = small_pool(1);
    let result = pool.load(
        Code::Wat(&fixture("numeric.wat")),
        EnvData::default(),
        Limits { fuel: Some(1), ..Limits::default() },
    );
    assert!(matches!(result, Err(Error::Config(_))));
}

#[test]
fn bad_code_is_a_load_error() {
    let pool = small_pool(1);
    let cases: [Code; 4] = [
        Code::Wasm(b"not wasm at all"),
        Code::Wasm(b"\0asm\x01\0\0\0\x99"),
        Code::Wat("(module (func (export \"f\") (result i32)))"),
        Code::Wat("(module (func"),
    ];
    for code in cases {
        let result = pool.load(code, EnvData::default(), Limits::default());
        assert!(matches!(result, Err(Error::Load(_))), "{:?}", result.err());
    }
    still_healthy(&load(&pool, "numeric.wat", Limits::default()));
}

#[test]
fn guests_get_no_wasi_and_no_unknown_imports() {
    let pool = small_pool(1);
    for import in [
        r#"(import "wasi_snapshot_preview1" "path_open" (func (param i32 i32 i32 i32 i32 i64 i64 i32 i32) (result i32)))"#,
        r#"(import "wasi_snapshot_preview1" "environ_get" (func (param i32 i32) (result i32)))"#,
        r#"(import "wasi_snapshot_preview1" "sock_accept" (func (param i32 i32 i32) (result i32)))"#,
        r#"(import "env" "system" (func (param i32) (result i32)))"#,
        r#"(import "dynisolate" "env_call" (func (param i32) (result i32)))"#,
    ] {
        let wat = format!("(module {import})");
        match pool.load(Code::Wat(&wat), EnvData::default(), Limits::default()) {
            Err(Error::Load(message)) => assert!(message.contains("import"), "{message}"),
            other => panic!("{import} loaded: {:?}", other.err()),
        }
    }
}

#[test]
fn oversized_modules_are_refused() {
    let pool = small_pool(1);
    let mut big = b"\0asm\x01\0\0\0".to_vec();
    big.resize(_core::MAX_MODULE_BYTES + 1, 0);
    assert!(matches!(pool.load(Code::Wasm(&big), EnvData::default(), Limits::default()), Err(Error::Load(_))));
}

#[test]
fn a_bad_result_pointer_is_refused() {
    let pool = small_pool(1);
    let guest = load(&pool, "json.wat", Limits::default());
    assert!(matches!(call_json(&guest, "bad_pointer", "[]", None), Err(Error::Serialization(_))));
    assert_eq!(call_json(&guest, "echo", "[1]", None).unwrap(), "[1]");
}

#[test]
fn payloads_over_the_limit_are_refused_both_ways() {
    let pool = small_pool(1);
    let guest = load(&pool, "json.wat", Limits { max_payload_bytes: 1000, ..Limits::default() });
    let big = format!("[\"{}\"]", "x".repeat(2000));
    assert!(matches!(call_json(&guest, "echo", &big, None), Err(Error::PayloadTooLarge { limit: 1000, .. })));
    assert!(matches!(call_json(&guest, "whole_memory", "[]", None), Err(Error::PayloadTooLarge { .. })));
    assert_eq!(call_json(&guest, "echo", "[2]", None).unwrap(), "[2]");
}

#[test]
fn an_interrupt_stops_a_running_guest() {
    use std::sync::Arc;
    use std::sync::atomic::{AtomicBool, Ordering};
    let pool = small_pool(2);
    let guest = load(&pool, "numeric.wat", Limits { cpu_ms: 10_000, ..Limits::default() });
    let flag = Arc::new(AtomicBool::new(false));
    let setter = {
        let flag = flag.clone();
        std::thread::spawn(move || {
            std::thread::sleep(Duration::from_millis(30));
            flag.store(true, Ordering::SeqCst);
        })
    };
    let start = Instant::now();
    let export = guest.export("spin").unwrap().clone();
    let report = guest.call_interruptible(&export, _core::Input::Numeric(&[]), None, Some(flag), ACQUIRE);
    setter.join().unwrap();
    assert!(matches!(report.result, Err(Error::Cancelled)), "{:?}", report.result);
    assert!(start.elapsed() < Duration::from_millis(500));
    still_healthy(&guest);
}

/// A host whose calls must end by a wall-clock deadline of its own (`Host::wall_deadline`), as a
/// call made while another guest's env call is served must.
struct Deadline(Instant);

impl _core::Host for Deadline {
    fn env_call(&self, _: &str, _: &[u8], _: &mut dyn _core::WaitingGuest) -> wasmtime::Result<Vec<u8>> {
        Ok(b"{\"ok\":null}".to_vec())
    }

    fn wall_deadline(&self) -> Option<Instant> {
        Some(self.0)
    }
}

#[test]
fn a_hosts_deadline_ends_a_call_before_its_cpu_limit() {
    use std::sync::Arc;
    let pool = small_pool(2);
    let guest = load(&pool, "numeric.wat", Limits { cpu_ms: 10_000, ..Limits::default() });
    let export = guest.export("spin").unwrap().clone();
    let start = Instant::now();
    let host = Arc::new(Deadline(start + Duration::from_millis(50)));
    let report = guest.call_interruptible(&export, _core::Input::Numeric(&[]), Some(host), None, ACQUIRE);
    // The error reports the budget the call had: what the inherited deadline left, not `wall_ms`.
    assert!(matches!(report.result, Err(Error::WallTimeLimit { wall_ms }) if wall_ms <= 50), "{:?}", report.result);
    assert!(start.elapsed() < Duration::from_millis(1_000));
    still_healthy(&guest);
}

/// With 4 GiB reserved per memory, bounds come from inaccessible pages rather than checks
/// compiled into the guest: an access past the memory's current size traps wherever it lands
/// (just past the end, deep in the reservation, at the top of the 32-bit range), a page the guest
/// can grow within the cap, and growing past the cap is the memory limit's error.
#[test]
fn accesses_past_the_memory_trap_however_far_they_land() {
    const PROBE: &str = r#"(module
      (memory 1)
      (func (export "load") (param i32) (result i32) (i32.load (local.get 0)))
      (func (export "grow") (param i32) (result i32) (memory.grow (local.get 0))))"#;
    let pool = small_pool(2); // a 16 MiB cap
    let guest = pool.load(Code::Wat(PROBE), EnvData::default(), Limits::default()).unwrap().0;
    for address in [65_536_i64, 65_533, 1 << 30, (1 << 32) - 4, (1 << 32) - 1] {
        match call_num(&guest, "load", &[Val::I32(address as u32 as i32)]) {
            Err(Error::Trap { code, .. }) => assert_eq!(code, "memory_out_of_bounds", "at {address}"),
            other => panic!("a load at {address} gave {other:?}"),
        }
    }
    assert_eq!(i32_of(&call_num(&guest, "load", &[Val::I32(65_532)]).unwrap()), 0);
    assert!(matches!(call_num(&guest, "grow", &[Val::I32(256)]), Err(Error::MemoryLimit { .. }))); // past 16 MiB
    assert_eq!(i32_of(&call_num(&guest, "grow", &[Val::I32(1)]).unwrap()), 1); // a fresh isolate grows
    assert_eq!(pool.stats().live_isolates, 0);
}
