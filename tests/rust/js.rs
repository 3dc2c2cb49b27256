use std::sync::Arc;

use _core::js::{JsCall, JsRuntime, JsWorker};
use _core::{EnvData, Error, Limits, Output, Pool, WaitingGuest};

use crate::support::*;

fn bundle(source: &str) -> Vec<(String, String)> {
    vec![("agent.js".to_owned(), source.to_owned())]
}

fn load(pool: &Arc<Pool>, main: &str, modules: &[(String, String)], limits: Limits) -> Result<Arc<JsWorker>, Error> {
    let mut env = EnvData::default();
    env.insert("GREETING", &b"\"hi\""[..]);
    JsRuntime::shared(pool)?.load(main, modules, &[], &env, &[], limits)
}

fn call(guest: &JsWorker, entry: Option<&str>, method: &str, args: &str) -> Result<String, Error> {
    let name = match entry {
        Some(entry) => format!("{entry}.{method}"),
        None => method.to_owned(),
    };
    let call = JsCall { name: &name, args_json: args.as_bytes(), fetch: false, props: false };
    match guest.call(&call, None, None, ACQUIRE).result? {
        Output::Json(bytes) => Ok(String::from_utf8(bytes).unwrap()),
        Output::Numeric(_) => unreachable!(),
    }
}

#[test]
fn default_export_methods_take_json_and_see_env() {
    let pool = js_pool();
    let source = r#"
        export default {
          async greet(who, env) { return { text: `${env.GREETING} ${who}`, n: [1, 2].map(x => x * 2) }; },
        };
    "#;
    let guest = load(&pool, "agent.js", &bundle(source), Limits::default()).unwrap();
    assert_eq!(guest.description.default_methods, ["greet"]);
    assert_eq!(call(&guest, None, "greet", r#"["bob"]"#).unwrap(), r#"{"text":"hi bob","n":[2,4]}"#);
}

#[test]
fn named_entrypoint_classes_and_imports_between_modules() {
    let pool = js_pool();
    let modules = vec![
        (
            "main.js".to_owned(),
            r#"import { WorkerEntrypoint } from "cloudflare:workers";
               import { rate } from "./lib/rates.js";
               export class Billing extends WorkerEntrypoint {
                 charge(n) { return n * rate + this.env.GREETING.length; }
               }
               export default { ping() { return "pong"; } };"#
                .to_owned(),
        ),
        ("lib/rates.js".to_owned(), "export const rate = 100;".to_owned()),
    ];
    let guest = load(&pool, "main.js", &modules, Limits::default()).unwrap();
    assert_eq!(call(&guest, Some("Billing"), "charge", "[5]").unwrap(), "502");
    assert_eq!(call(&guest, None, "ping", "[]").unwrap(), "\"pong\"");
}

#[test]
fn syntax_errors_are_load_errors_with_a_location() {
    let pool = js_pool();
    let result = load(&pool, "agent.js", &bundle("export default {\n  oops(: 1\n};"), Limits::default());
    match result {
        Err(Error::Load(message)) => {
            assert!(message.contains("SyntaxError") && message.contains("agent.js:2"), "{message}")
        }
        Err(other) => panic!("{other:?}"),
        Ok(_) => panic!("loaded"),
    }
}

#[test]
fn uncaught_exceptions_carry_name_message_and_stack() {
    let pool = js_pool();
    let source = "export default {\n  fail() {\n    throw new RangeError('too far');\n  },\n};";
    let guest = load(&pool, "agent.js", &bundle(source), Limits::default()).unwrap();
    match call(&guest, None, "fail", "[]") {
        Err(Error::Guest { name, message, stack }) => {
            assert_eq!((name.as_str(), message.as_str()), ("RangeError", "too far"));
            assert!(stack.contains("agent.js:3"), "{stack}");
        }
        other => panic!("{other:?}"),
    }
}

#[test]
fn fresh_isolates_reseed_math_random() {
    let pool = js_pool();
    let guest =
        load(&pool, "agent.js", &bundle("export default { r() { return Math.random(); } };"), Limits::default())
            .unwrap();
    let a = call(&guest, None, "r", "[]").unwrap();
    let b = call(&guest, None, "r", "[]").unwrap();
    assert_ne!(a, b);
}

#[test]
fn an_infinite_loop_hits_the_cpu_limit() {
    let pool = js_pool();
    let guest = load(
        &pool,
        "agent.js",
        &bundle("export default { spin() { while (true) {} } };"),
        Limits { cpu_ms: 50, ..Limits::default() },
    )
    .unwrap();
    assert!(matches!(call(&guest, None, "spin", "[]"), Err(Error::CpuLimit { cpu_ms: 50 })));
}

#[test]
fn deep_recursion_is_a_catchable_range_error() {
    let pool = js_pool();
    let source = "function f(n) { return f(n + 1) + 1; }
        export default { deep() { try { f(0); } catch (e) { return e.name; } } };";
    let guest = load(&pool, "agent.js", &bundle(source), Limits::default()).unwrap();
    assert_eq!(call(&guest, None, "deep", "[]").unwrap(), "\"RangeError\"");
}

#[test]
fn the_engine_offers_no_host_facilities() {
    let pool = js_pool();
    let source = r#"
        export default {
          globals() { return [typeof require, typeof std, typeof os, typeof Deno, typeof process.binding]; },
          async file() { try { await import("fs"); return "imported"; } catch (e) { return e.message; } },
          async compile() { try { await WebAssembly.compile(new Uint8Array(8)); } catch (e) { return e.name; } },
        };
    "#;
    let guest = load(&pool, "agent.js", &bundle(source), Limits::default()).unwrap();
    // `process` is nodejs_compat's (node/process.js), with no operating system behind it.
    let undefined = r#"["undefined","undefined","undefined","undefined","undefined"]"#;
    assert_eq!(call(&guest, None, "globals", "[]").unwrap(), undefined);
    // WebAssembly exists only for the bundle's own .wasm modules: nothing compiles at run time.
    assert_eq!(call(&guest, None, "compile", "[]").unwrap(), r#""CompileError""#);
    assert_eq!(call(&guest, None, "file", "[]").unwrap(), r#""could not resolve module \"fs\"""#);
}

#[test]
fn a_missing_method_is_a_type_error() {
    let pool = js_pool();
    let guest = load(&pool, "agent.js", &bundle("export default {};"), Limits::default()).unwrap();
    match call(&guest, None, "nope", "[]") {
        Err(Error::Guest { name, message, .. }) => {
            assert_eq!((name.as_str(), message.as_str()), ("TypeError", "default.nope is not a function"))
        }
        other => panic!("{other:?}"),
    }
}

#[test]
fn a_pre_initialised_engine_keeps_working_across_many_isolates() {
    let pool = js_pool();
    let guest =
        load(&pool, "agent.js", &bundle("let n = 0; export default { bump() { return ++n; } };"), Limits::default())
            .unwrap();
    for _ in 0..20 {
        assert_eq!(call(&guest, None, "bump", "[]").unwrap(), "1");
    }
}

/// Serves `greet(name)` and `ROOM.post(text)`; anything else is an error envelope.
struct Rooms;

impl _core::Host for Rooms {
    fn env_call(&self, name: &str, args: &[u8], _: &mut dyn WaitingGuest) -> wasmtime::Result<Vec<u8>> {
        let args: serde_json::Value = serde_json::from_slice(args)?;
        let reply = match name {
            "greet" => serde_json::json!({ "ok": format!("hello {}", args[0].as_str().unwrap_or("?")) }),
            "ROOM.post" => serde_json::json!({ "ok": args[0].as_str().map(str::len) }),
            _ => {
                serde_json::json!({ "error": { "name": "TypeError", "message": format!("env.{name} is not a function") } })
            }
        };
        Ok(serde_json::to_vec(&reply)?)
    }
}

#[test]
fn env_stubs_call_the_host_and_return_promises() {
    let pool = js_pool();
    let source = r#"
        export default {
          async talk(env) {
            const greeting = await env.greet("ada");
            const length = await env.ROOM.post("hi there");
            let failure;
            try { await env.ROOM.missing(); } catch (e) { failure = "no method"; }
            try { await env.secret(); } catch (e) { failure += `; ${e.name}`; }
            return { greeting, length, failure, thenable: typeof env.ROOM.then, keys: Object.keys(env.ROOM) };
          },
        };
    "#;
    let stubs = [("greet".to_owned(), None), ("ROOM".to_owned(), Some(vec!["post".to_owned()]))];
    let js = JsRuntime::shared(&pool).unwrap();
    let guest = js.load("agent.js", &bundle(source), &[], &EnvData::default(), &stubs, Limits::default()).unwrap();
    let call = JsCall { name: "talk", args_json: b"[]", fetch: false, props: false };
    let report = guest.call(&call, Some(Arc::new(Rooms)), None, ACQUIRE);
    let Output::Json(out) = report.result.unwrap() else { unreachable!() };
    assert_eq!(
        String::from_utf8(out).unwrap(),
        r#"{"greeting":"hello ada","length":8,"failure":"no method; TypeError","thenable":"undefined","keys":["post"]}"#
    );
}

/// Serves `twice(fn)` by calling the guest's function with 21, twice (its reply is the env
/// call's), and `keep(fn)` by calling it after a first call failed: the call must end.
struct CallsBack;

impl _core::Host for CallsBack {
    fn env_call(&self, name: &str, args: &[u8], guest: &mut dyn WaitingGuest) -> wasmtime::Result<Vec<u8>> {
        // The one argument is a function: the clone of [fn] is MAGIC, 'a', 1, 'F', index 0.
        assert_eq!(args, b"\xc1a\x01\x00\x00\x00F\x00\x00\x00\x00", "{name}");
        match name {
            "twice" => {
                let first = guest.call_function(0, b"[21]").map_err(wasmtime::Error::new)?;
                assert_eq!(first, b"{\"ok\":42}");
                Ok(guest.call_function(0, b"[21]").map_err(wasmtime::Error::new)?)
            }
            _ => {
                let failed = guest.call_function(0, b"[]").unwrap_err();
                assert!(matches!(failed, Error::CpuLimit { .. }), "{failed}");
                Ok(b"{\"ok\":\"carry on\"}".to_vec()) // ignored: the call has ended
            }
        }
    }
}

#[test]
fn the_host_calls_functions_the_guest_passed_and_a_failure_there_ends_the_call() {
    let pool = js_pool();
    let source = r#"
        export default {
          async double(env) { return await env.twice(async (n) => { await null; return n * 2; }); },
          async spin(env) { return await env.keep(() => { for (;;) {} }); },
        };
    "#;
    let stubs = [("twice".to_owned(), None), ("keep".to_owned(), None)];
    let js = JsRuntime::shared(&pool).unwrap();
    let limits = Limits { cpu_ms: 200, ..Limits::default() };
    let guest = js.load("agent.js", &bundle(source), &[], &EnvData::default(), &stubs, limits).unwrap();
    let double = JsCall { name: "double", args_json: b"[]", fetch: false, props: false };
    let report = guest.call(&double, Some(Arc::new(CallsBack)), None, ACQUIRE);
    let Output::Json(out) = report.result.unwrap() else { unreachable!() };
    assert_eq!(out, b"42");
    let spin = JsCall { name: "spin", args_json: b"[]", fetch: false, props: false };
    let report = guest.call(&spin, Some(Arc::new(CallsBack)), None, ACQUIRE);
    assert!(matches!(report.result, Err(Error::CpuLimit { .. })), "{:?}", report.result.err());
    let report = guest.call(&double, Some(Arc::new(CallsBack)), None, ACQUIRE);
    assert!(report.result.is_ok(), "the pool serves the next call");
}
