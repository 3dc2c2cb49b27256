use _core::{Error, Input, Limits};
use wasmtime::Val;

use crate::support::*;

#[test]
fn numeric_exports_take_and_return_numbers() {
    let pool = small_pool(4);
    let guest = load(&pool, "numeric.wat", Limits::default());
    assert_eq!(i32_of(&call_num(&guest, "add", &[Val::I32(2), Val::I32(3)]).unwrap()), 5);
    let sum = call_num(&guest, "add64", &[Val::I64(1 << 40), Val::I64(1)]).unwrap();
    assert_eq!(sum[0].unwrap_i64(), (1 << 40) + 1);
    let qr = call_num(&guest, "divmod", &[Val::I32(17), Val::I32(5)]).unwrap();
    assert_eq!((qr[0].unwrap_i32(), qr[1].unwrap_i32()), (3, 2));
    assert!(call_num(&guest, "noop", &[]).unwrap().is_empty());
}

#[test]
fn every_call_gets_a_fresh_isolate() {
    let pool = small_pool(4);
    let guest = load(&pool, "numeric.wat", Limits::default());
    for _ in 0..3 {
        assert_eq!(i32_of(&call_num(&guest, "bump", &[]).unwrap()), 1);
    }
    assert_eq!(pool.stats().live_isolates, 0);
}

#[test]
fn a_session_keeps_state_between_calls() {
    let pool = small_pool(4);
    let guest = load(&pool, "numeric.wat", Limits::default());
    let mut isolate = guest.boot(None, ACQUIRE).unwrap();
    let bump = guest.export("bump").unwrap().clone();
    let mut seen = vec![];
    for _ in 0..3 {
        match isolate.call(&bump, Input::Numeric(&[]), None).unwrap() {
            _core::Output::Numeric(v) => seen.push(v[0].unwrap_i32()),
            _ => unreachable!(),
        }
    }
    assert_eq!(seen, [1, 2, 3]);
    assert_eq!(pool.stats().live_isolates, 1);
    drop(isolate);
    assert_eq!(pool.stats().live_isolates, 0);
}

#[test]
fn json_exports_round_trip_bytes() {
    let pool = small_pool(4);
    let guest = load(&pool, "json.wat", Limits::default());
    let out = call_json(&guest, "echo", r#"[{"a":[1,2,3]},"x"]"#, None).unwrap();
    assert_eq!(out, r#"[{"a":[1,2,3]},"x"]"#);
}

#[test]
fn wrong_arguments_are_rejected_before_the_guest_runs() {
    let pool = small_pool(4);
    let guest = load(&pool, "numeric.wat", Limits::default());
    assert!(matches!(call_num(&guest, "add", &[Val::I32(1)]), Err(Error::Argument(_))));
    assert!(matches!(call_num(&guest, "add", &[Val::I64(1), Val::I32(1)]), Err(Error::Argument(_))));
    assert!(matches!(call_num(&guest, "takes_v128", &[]), Err(Error::Argument(_))));
    assert!(matches!(guest.export("missing"), Err(Error::ExportNotFound { .. })));
    assert_eq!(i32_of(&call_num(&guest, "add", &[Val::I32(1), Val::I32(1)]).unwrap()), 2);
}
