use std::time::{Duration, Instant};

use _core::{Error, Limits, Pool, PoolConfig};
use wasmtime::Val;

use crate::support::*;

#[test]
fn a_full_pool_waits_then_fails_without_leaking() {
    let pool = small_pool(2);
    let guest = load(&pool, "numeric.wat", Limits::default());
    let a = guest.boot(None, ACQUIRE).unwrap();
    let b = guest.boot(None, ACQUIRE).unwrap();
    let start = Instant::now();
    let result = guest.boot(None, Duration::from_millis(50));
    assert!(matches!(result, Err(Error::PoolExhausted { max_isolates: 2, .. })));
    assert!(start.elapsed() >= Duration::from_millis(50));
    assert_eq!(pool.stats().live_isolates, 2);
    drop(a);
    assert_eq!(i32_of(&call_num(&guest, "add", &[Val::I32(1), Val::I32(2)]).unwrap()), 3);
    drop(b);
    assert_eq!(pool.stats().live_isolates, 0);
}

#[test]
fn a_waiting_call_gets_the_slot_freed_by_another_thread() {
    let pool = small_pool(1);
    let guest = load(&pool, "numeric.wat", Limits::default());
    let held = guest.boot(None, ACQUIRE).unwrap();
    let releaser = std::thread::spawn(move || {
        std::thread::sleep(Duration::from_millis(30));
        drop(held);
    });
    assert_eq!(i32_of(&call_num(&guest, "add", &[Val::I32(1), Val::I32(2)]).unwrap()), 3);
    releaser.join().unwrap();
}

#[test]
fn a_reused_slot_never_shows_the_previous_tenants_memory() {
    let pool = small_pool(1);
    let guest = load(&pool, "numeric.wat", Limits::default());
    let write = guest.export("write_secret").unwrap().clone();
    let read = guest.export("read_secret").unwrap().clone();
    for round in 0..5 {
        let mut isolate = guest.boot(None, ACQUIRE).unwrap();
        let seen = match isolate.call(&read, _core::Input::Numeric(&[]), None).unwrap() {
            _core::Output::Numeric(v) => v[0].unwrap_i32(),
            _ => unreachable!(),
        };
        assert_eq!(seen, 0, "round {round} saw a previous isolate's secret");
        isolate.call(&write, _core::Input::Numeric(&[Val::I32(0x5ec2e7)]), None).unwrap();
    }
    // Another module in the same single slot sees zeroes too.
    let other = load(&pool, "numeric.wat", Limits { cpu_ms: 999, ..Limits::default() });
    assert_eq!(i32_of(&call_num(&other, "load_at", &[Val::I32(2048)]).unwrap()), 0);
}

#[test]
fn many_threads_share_one_guest() {
    let pool = small_pool(8);
    let guest = load(&pool, "numeric.wat", Limits::default());
    let threads: Vec<_> = (0..16)
        .map(|t| {
            let guest = guest.clone();
            std::thread::spawn(move || {
                for i in 0..200 {
                    let r = call_num(&guest, "add", &[Val::I32(t), Val::I32(i)]).unwrap();
                    assert_eq!(i32_of(&r), t + i);
                }
            })
        })
        .collect();
    for t in threads {
        t.join().unwrap();
    }
    assert_eq!(pool.stats().live_isolates, 0);
}

#[test]
fn equal_settings_share_one_pool() {
    let config = PoolConfig { max_isolates: 3, max_memory_bytes: 1 << 20, ..PoolConfig::default() };
    let a = Pool::shared(config.clone()).unwrap();
    let b = Pool::shared(config).unwrap();
    assert!(std::sync::Arc::ptr_eq(&a, &b));
}

#[test]
fn bad_pool_settings_are_config_errors() {
    for config in [
        PoolConfig { max_isolates: 0, ..PoolConfig::default() },
        PoolConfig { max_memory_bytes: 100, ..PoolConfig::default() },
        PoolConfig { max_stack_bytes: 1, ..PoolConfig::default() },
    ] {
        assert!(matches!(Pool::new(config), Err(Error::Config(_))));
    }
}
