use std::sync::Arc;
use std::sync::atomic::{AtomicU32, Ordering};

use _core::{Code, EnvData, Error, Host, Limits, LogLevel, WaitingGuest};

use crate::support::*;

/// Answers `greet` with a greeting and everything else with an error envelope; counts calls.
struct TestHost(AtomicU32);

impl Host for TestHost {
    fn env_call(&self, name: &str, args: &[u8], _: &mut dyn WaitingGuest) -> wasmtime::Result<Vec<u8>> {
        self.0.fetch_add(1, Ordering::SeqCst);
        let args: serde_json::Value = serde_json::from_slice(args)?;
        Ok(match name {
            "greet" => {
                serde_json::to_vec(&serde_json::json!({ "ok": format!("hello {}", args[0].as_str().unwrap()) }))?
            }
            "noop" => b"{\"ok\":null}".to_vec(),
            _ => serde_json::to_vec(
                &serde_json::json!({ "error": { "name": "TypeError", "message": format!("no {name}") } }),
            )?,
        })
    }
}

#[test]
fn env_calls_reach_the_host_and_come_back() {
    let pool = small_pool(2);
    let guest = load(&pool, "json.wat", Limits::default());
    let host = Arc::new(TestHost(AtomicU32::new(0)));
    let out = call_json(&guest, "env", r#"["greet","bob"]"#, Some(host.clone())).unwrap();
    assert_eq!(out, r#"{"ok":"hello bob"}"#);
    assert_eq!(host.0.load(Ordering::SeqCst), 1);
}

#[test]
fn a_guest_without_a_host_gets_an_error_envelope() {
    let pool = small_pool(2);
    let guest = load(&pool, "json.wat", Limits::default());
    let out = call_json(&guest, "env", r#"["greet","bob"]"#, None).unwrap();
    assert!(out.starts_with(r#"{"error":{"#), "{out}");
}

#[test]
fn a_rethrown_host_error_becomes_a_guest_error() {
    let pool = small_pool(2);
    let guest = load(&pool, "json.wat", Limits::default());
    let host: Arc<dyn Host> = Arc::new(TestHost(AtomicU32::new(0)));
    match call_json(&guest, "env_or_throw", r#"["nothing"]"#, Some(host)) {
        Err(Error::Guest { message, .. }) => assert!(message.contains("no nothing") || message.is_empty(), "{message}"),
        other => panic!("{other:?}"),
    }
}

#[test]
fn data_bindings_are_copied_in() {
    let pool = small_pool(2);
    let mut env = EnvData::default();
    env.insert("GREETING", &b"\"hi\""[..]);
    let guest = pool.load(Code::Wat(&fixture("json.wat")), env, Limits::default()).unwrap().0;
    assert_eq!(call_json(&guest, "env_get", r#"["GREETING"]"#, None).unwrap(), r#"{"ok":"hi"}"#);
    let missing = call_json(&guest, "env_get", r#"["SECRET"]"#, None).unwrap();
    assert!(missing.contains("ReferenceError"), "{missing}");
}

#[test]
fn logs_are_collected_even_when_the_call_traps() {
    let pool = small_pool(2);
    let guest = load(&pool, "json.wat", Limits::default());
    let export = guest.export("log").unwrap().clone();
    let report = guest.call(&export, _core::Input::Json(b"\"hello\""), None, ACQUIRE);
    assert!(report.result.is_ok());
    assert_eq!(report.logs.len(), 2);
    assert_eq!(report.logs[0].level, LogLevel::Info);
    assert_eq!(report.logs[0].message, "\"hello\"");
    assert_eq!(report.logs[1].level, LogLevel::Error);
    let export = guest.export("log_then_trap").unwrap().clone();
    let report = guest.call(&export, _core::Input::Json(b"bye"), None, ACQUIRE);
    assert!(matches!(report.result, Err(Error::Trap { .. })));
    assert_eq!(report.logs.len(), 1);
}

#[test]
fn guest_throw_carries_name_message_and_stack() {
    let pool = small_pool(2);
    let guest = load(&pool, "json.wat", Limits::default());
    match call_json(&guest, "throw", r#"{"name":"RangeError","message":"too far","stack":"at f (main.wat:1)"}"#, None) {
        Err(Error::Guest { name, message, stack }) => {
            assert_eq!(
                (name.as_str(), message.as_str(), stack.as_str()),
                ("RangeError", "too far", "at f (main.wat:1)")
            );
        }
        other => panic!("{other:?}"),
    }
    match call_json(&guest, "throw", "plain words", None) {
        Err(Error::Guest { name, message, .. }) => {
            assert_eq!((name.as_str(), message.as_str()), ("Error", "plain words"))
        }
        other => panic!("{other:?}"),
    }
}

#[test]
fn the_log_limit_ends_the_call() {
    let pool = small_pool(2);
    let guest = load(&pool, "json.wat", Limits { max_log_bytes: 10_000, ..Limits::default() });
    assert!(matches!(call_json(&guest, "log_forever", "[1]", None), Err(Error::LogLimit { limit: 10_000 })));
}

#[test]
fn the_host_call_limit_ends_the_call() {
    let pool = small_pool(2);
    let guest = load(&pool, "json.wat", Limits { max_host_calls: 100, ..Limits::default() });
    let host = Arc::new(TestHost(AtomicU32::new(0)));
    assert!(matches!(
        call_json(&guest, "env_forever", "[]", Some(host.clone())),
        Err(Error::HostCallLimit { limit: 100 })
    ));
    assert_eq!(host.0.load(Ordering::SeqCst), 100);
}
