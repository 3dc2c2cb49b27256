//! Fixtures shared by the core tests.

use std::sync::Arc;
use std::time::Duration;

use _core::{Code, EnvData, Guest, Host, Input, Limits, Output, Pool, PoolConfig, Result};
use wasmtime::Val;

pub const ACQUIRE: Duration = Duration::from_secs(5);

pub fn fixture(name: &str) -> String {
    let path = format!("{}/tests/fixtures/{name}", env!("CARGO_MANIFEST_DIR"));
    std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{path}: {e}"))
}

/// A small private pool, so tests do not share slots.
pub fn small_pool(max_isolates: u32) -> Arc<Pool> {
    Pool::new(PoolConfig { max_isolates, max_memory_bytes: 16 << 20, ..PoolConfig::default() }).unwrap()
}

pub fn load(pool: &Arc<Pool>, name: &str, limits: Limits) -> Arc<Guest> {
    pool.load(Code::Wat(&fixture(name)), EnvData::default(), limits).unwrap().0
}

pub fn call_num(guest: &Arc<Guest>, name: &str, args: &[Val]) -> Result<Vec<Val>> {
    let export = guest.export(name)?.clone();
    match guest.call(&export, Input::Numeric(args), None, ACQUIRE).result? {
        Output::Numeric(v) => Ok(v),
        Output::Json(_) => unreachable!("numeric export returned JSON"),
    }
}

pub fn call_json(guest: &Arc<Guest>, name: &str, args: &str, host: Option<Arc<dyn Host>>) -> Result<String> {
    let export = guest.export(name)?.clone();
    match guest.call(&export, Input::Json(args.as_bytes()), host, ACQUIRE).result? {
        Output::Json(bytes) => Ok(String::from_utf8(bytes).unwrap()),
        Output::Numeric(_) => unreachable!("JSON export returned numbers"),
    }
}

pub fn i32_of(vals: &[Val]) -> i32 {
    vals[0].unwrap_i32()
}

/// One pool shared by the JavaScript tests, so the engine is pre-initialised and compiled once.
pub fn js_pool() -> Arc<Pool> {
    Pool::shared(PoolConfig { max_isolates: 8, max_memory_bytes: 32 << 20, ..PoolConfig::default() }).unwrap()
}
