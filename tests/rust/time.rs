//! A call's two clocks: `cpu_ms` counts the time the guest runs, `wall_ms` the whole call, waits
//! on the host included; and the JavaScript guest's clock, which moves on only at I/O events.

use std::sync::Arc;
use std::time::{Duration, Instant};

use crate::support::*;
use _core::js::{JsCall, JsRuntime, JsWorker};
use _core::{EnvData, Error, Guest, Host, Input, Limits, Output, WaitingGuest};

/// Serves every env call after `wait`, with `null`.
struct Slow {
    wait: Duration,
}

impl Host for Slow {
    fn env_call(&self, _: &str, _: &[u8], _: &mut dyn WaitingGuest) -> wasmtime::Result<Vec<u8>> {
        std::thread::sleep(self.wait);
        Ok(b"{\"ok\":null}".to_vec())
    }
}

#[test]
fn an_env_call_longer_than_cpu_ms_is_not_cpu_time() {
    let pool = small_pool(2);
    let guest = load(&pool, "json.wat", Limits { cpu_ms: 30, ..Limits::default() });
    let host = Arc::new(Slow { wait: Duration::from_millis(120) });
    assert_eq!(call_json(&guest, "env", r#"["noop"]"#, Some(host)).unwrap(), r#"{"ok":null}"#);
}

#[test]
fn wall_ms_ends_a_call_that_keeps_waiting_on_env_calls() {
    let pool = small_pool(2);
    let guest = load(&pool, "json.wat", Limits { cpu_ms: 10_000, wall_ms: 100, ..Limits::default() });
    let host = Arc::new(Slow { wait: Duration::from_millis(5) });
    let result = call_json(&guest, "env_forever", "[]", Some(host));
    assert!(matches!(result, Err(Error::WallTimeLimit { wall_ms: 100 })), "{result:?}");
    assert_eq!(call_json(&guest, "echo", "[2]", None).unwrap(), "[2]", "the pool serves the next call");
}

#[test]
fn a_busy_loop_ends_at_cpu_ms_with_wall_time_to_spare() {
    let pool = small_pool(2);
    let guest = load(&pool, "json.wat", Limits { cpu_ms: 50, wall_ms: 60_000, ..Limits::default() });
    let result = call_json(&guest, "spin", "[]", None);
    assert!(matches!(result, Err(Error::CpuLimit { cpu_ms: 50 })), "{result:?}");
}

#[test]
fn wall_ms_is_checked_like_the_other_limits() {
    for wall_ms in [0, _core::config::MAX_WALL_MS + 1] {
        let limits = Limits { wall_ms, ..Limits::default() };
        assert!(matches!(limits.check(), Err(Error::Config(m)) if m.contains("wall_ms")), "{wall_ms}");
    }
    assert!(Limits { wall_ms: 1, cpu_ms: 5_000, ..Limits::default() }.check().is_ok());
}

/// Serves each env call by calling `callee` (a numeric guest's `spin`) as a service binding
/// would, with a host that hands down the waiting guest's wall-clock deadline; replies with the
/// name of the error that ended the callee.
struct Relay {
    callee: Arc<Guest>,
}

struct Inherits(Instant);

impl Host for Inherits {
    fn env_call(&self, _: &str, _: &[u8], _: &mut dyn WaitingGuest) -> wasmtime::Result<Vec<u8>> {
        unreachable!("the callee makes no env calls")
    }

    fn wall_deadline(&self) -> Option<Instant> {
        Some(self.0)
    }
}

impl Host for Relay {
    fn env_call(&self, _: &str, _: &[u8], guest: &mut dyn WaitingGuest) -> wasmtime::Result<Vec<u8>> {
        let host = Arc::new(Inherits(guest.wall_deadline()));
        let export = self.callee.export("spin").unwrap().clone();
        let ended = match self.callee.call(&export, Input::Numeric(&[]), Some(host), ACQUIRE).result {
            Err(Error::CpuLimit { .. }) => "CpuLimit",
            Err(Error::WallTimeLimit { .. }) => "WallTimeLimit",
            other => panic!("{other:?}"),
        };
        Ok(format!("{{\"ok\":\"{ended}\"}}").into_bytes())
    }
}

#[test]
fn a_call_made_while_serving_inherits_the_wall_deadline_never_the_cpu_deadline() {
    let pool = small_pool(4);
    let callee = load(&pool, "numeric.wat", Limits { cpu_ms: 100, ..Limits::default() });
    // The caller's CPU budget is far smaller than the callee's: it stands still while it waits.
    let caller = load(&pool, "json.wat", Limits { cpu_ms: 20, ..Limits::default() });
    let relay: Arc<dyn Host> = Arc::new(Relay { callee: callee.clone() });
    assert_eq!(call_json(&caller, "env", r#"["relay"]"#, Some(relay.clone())).unwrap(), r#"{"ok":"CpuLimit"}"#);
    // A wall-clock budget shorter than the callee's CPU budget ends both.
    let caller = load(&pool, "json.wat", Limits { cpu_ms: 20, wall_ms: 50, ..Limits::default() });
    let result = call_json(&caller, "env", r#"["relay"]"#, Some(relay));
    assert!(matches!(result, Err(Error::WallTimeLimit { wall_ms: 50 })), "{result:?}");
    assert_eq!(pool.stats().live_isolates, 0);
}

fn js(source: &str, limits: Limits) -> Arc<JsWorker> {
    let modules = vec![("agent.js".to_owned(), source.to_owned())];
    let stubs = [("PING".to_owned(), None)];
    JsRuntime::shared(&js_pool()).unwrap().load("agent.js", &modules, &[], &EnvData::default(), &stubs, limits).unwrap()
}

fn js_call(worker: &JsWorker, method: &str, args: &str, host: Option<Arc<dyn Host>>) -> Result<String, Error> {
    let call = JsCall { name: method, args_json: args.as_bytes(), fetch: false, props: false };
    match worker.call(&call, host, None, ACQUIRE).result? {
        Output::Json(bytes) => Ok(String::from_utf8(bytes).unwrap()),
        Output::Numeric(_) => unreachable!(),
    }
}

const CLOCK: &str = r#"
    const sleep = (ms) => new Promise((resolve) => setTimeout(resolve, ms));
    export default {
      async nap(ms) {
        const before = Date.now();
        let sum = 0;
        for (let i = 0; i < 300_000; i++) sum += i;  // some 20 ms of work the clock does not see
        const worked = Date.now();
        await sleep(ms);
        return [worked - before, Date.now() - worked >= ms, performance.now() === Date.now()];
      },
      async ping(env) { const before = Date.now(); await env.PING(); return Date.now() - before; },
      spin() { for (;;) {} },
    };
"#;

#[test]
fn a_timer_longer_than_cpu_ms_is_not_cpu_time_and_moves_the_clock() {
    let worker = js(CLOCK, Limits { cpu_ms: 200, ..Limits::default() });
    assert_eq!(js_call(&worker, "nap", "[400]", None).unwrap(), "[0,true,true]");
}

#[test]
fn an_env_call_moves_the_clock_on() {
    let worker = js(CLOCK, Limits { cpu_ms: 30, ..Limits::default() });
    let host = Arc::new(Slow { wait: Duration::from_millis(60) });
    let waited: u64 = js_call(&worker, "ping", "[]", Some(host)).unwrap().parse().unwrap();
    assert!(waited >= 60, "{waited}");
}

#[test]
fn a_timer_past_wall_ms_ends_the_call_and_a_busy_loop_still_ends_at_cpu_ms() {
    let worker = js(CLOCK, Limits { cpu_ms: 200, wall_ms: 1_000, ..Limits::default() });
    let result = js_call(&worker, "nap", "[10000]", None);
    assert!(matches!(result, Err(Error::WallTimeLimit { wall_ms: 1_000 })), "{result:?}");
    let result = js_call(&worker, "spin", "[]", None);
    assert!(matches!(result, Err(Error::CpuLimit { cpu_ms: 200 })), "{result:?}");
    assert_eq!(js_call(&worker, "nap", "[0]", None).unwrap(), "[0,true,true]", "the pool serves the next call");
}

/// A module of the bundle whose `ping` makes one env call (`PING`) and returns 1.
const PING_WAT: &str = r#"(module
  (import "dynisolate" "env_call" (func $env_call (param i32 i32 i32 i32) (result i64)))
  (memory (export "memory") 1)
  (data (i32.const 0) "PING[]")
  (func (export "dynisolate_alloc") (param i32) (result i32) (i32.const 1024))
  (func (export "ping") (result i32)
    (drop (call $env_call (i32.const 0) (i32.const 4) (i32.const 4) (i32.const 2)))
    (i32.const 1)))"#;

#[test]
fn a_bundles_webassembly_waiting_on_env_calls_is_not_the_callers_cpu_time() {
    let modules = vec![(
        "agent.js".to_owned(),
        r#"import ping from "./ping.wasm";
           export default { ping() { return new WebAssembly.Instance(ping).exports.ping(); } };"#
            .to_owned(),
    )];
    let wasm = vec![("ping.wasm".to_owned(), wat::parse_str(PING_WAT).unwrap())];
    // The wait is four times the CPU limit; the limit leaves a dev build room for the call itself
    // on a busy machine.
    let limits = Limits { cpu_ms: 100, ..Limits::default() };
    let worker = JsRuntime::shared(&js_pool())
        .unwrap()
        .load("agent.js", &modules, &wasm, &EnvData::default(), &[], limits)
        .unwrap();
    let host = Arc::new(Slow { wait: Duration::from_millis(400) });
    assert_eq!(js_call(&worker, "ping", "[]", Some(host)).unwrap(), "1");
}
