//! Random valid modules from wasm-smith, of two shapes: free exports, or the JSON ABI's exports
//! (`memory`, `dynisolate_alloc`, a `json:` method) with random bodies. Both may import only the
//! tenant surface (`sandbox/imports.rs`). Each is loaded and its exports called with random
//! arguments under tight limits (CPU, fuel, memory, tables, stack); then its bytes are corrupted
//! and loaded again. Every outcome must be a result or a typed error the cause explains, with no
//! slot left taken and the pool still serving a known-good module.

use std::collections::BTreeMap;
use std::sync::Arc;

use _core::{Code, EnvData, Error, ExportKind, Guest, Input, Limits, NumType, Pool, PoolConfig};
use arbitrary::Unstructured;
use wasmtime::Val;

use super::random::{Rng, seeds};
use crate::support::{ACQUIRE, call_num, i32_of, load};

/// Default number of modules (and as many corrupted copies).
const MODULES: u64 = 200;

/// Random bytes wasm-smith draws one module from.
const SMITH_INPUT_BYTES: usize = 4096;

/// Exports called per module, at most.
const CALLS_PER_MODULE: usize = 6;

/// The tenant surface, as wasm-smith reads it: the only imports a module may have.
const TENANT_IMPORTS: &str = r#"(module
  (import "dynisolate" "env_call" (func (param i32 i32 i32 i32) (result i64)))
  (import "dynisolate" "env_get" (func (param i32 i32) (result i64)))
  (import "dynisolate" "log" (func (param i32 i32 i32)))
  (import "dynisolate" "throw" (func (param i32 i32))))"#;

/// The JSON ABI's exports, as wasm-smith reads them: it writes random bodies for exactly these.
const JSON_ABI_EXPORTS: &str = r#"(module
  (memory (export "memory") 1)
  (func (export "dynisolate_alloc") (param i32) (result i32) unreachable)
  (func (export "json:run") (param i32 i32) (result i64) unreachable)
  (func (export "spin") (result i32) unreachable))"#;

fn pool() -> Arc<Pool> {
    Pool::new(PoolConfig {
        max_isolates: 2,
        max_memory_bytes: 16 << 20,
        max_table_elements: 1_000,
        max_stack_bytes: 256 << 10,
        consume_fuel: true,
        cache_dir: None,
    })
    .unwrap()
}

/// What wasm-smith may generate: the proposals this engine runs (no GC, exceptions, threads or
/// custom page sizes; no reference types either, since `externref` needs wasmtime's GC), one
/// memory and one table, and sizes around the limits so some modules start past them.
/// With `no_traps`, wasm-smith guards what would trap (so more calls run to their end); loops may
/// still run forever.
fn smith_config(json_abi: bool, no_traps: bool) -> wasm_smith::Config {
    wasm_smith::Config {
        available_imports: Some(wat::parse_str(TENANT_IMPORTS).unwrap()),
        exports: json_abi.then(|| wat::parse_str(JSON_ABI_EXPORTS).unwrap()),
        gc_enabled: false,
        reference_types_enabled: false,
        exceptions_enabled: false,
        threads_enabled: false,
        shared_everything_threads_enabled: false,
        custom_page_sizes_enabled: false,
        custom_descriptors_enabled: false,
        wide_arithmetic_enabled: false,
        max_memories: 1,
        max_tables: 1,
        max_memory32_bytes: 2 << 20,
        max_memory64_bytes: 2 << 20,
        max_table_elements: 1_200,
        disallow_traps: no_traps,
        min_exports: 2,
        max_funcs: 20,
        max_instructions: 200,
        ..wasm_smith::Config::default()
    }
}

/// The limits of seed `seed`: mostly a small fuel budget, sometimes a CPU one, always 1 MiB.
fn limits(seed: u64) -> Limits {
    let by_cpu = seed.is_multiple_of(4);
    Limits {
        cpu_ms: if by_cpu { 10 } else { 200 },
        wall_ms: 2_000,
        memory_bytes: Some(1 << 20),
        fuel: (!by_cpu).then_some(50_000),
        max_payload_bytes: 64 << 10,
        max_host_calls: 100,
        max_log_bytes: 4 << 10,
        sub_requests: 2,
    }
}

/// The module of `seed`: every other one speaks the JSON ABI, every third avoids traps.
fn smith_module(rng: &mut Rng, seed: u64) -> Option<Vec<u8>> {
    let input: Vec<u8> = (0..SMITH_INPUT_BYTES).map(|_| rng.next_u64() as u8).collect();
    let config = smith_config(!seed.is_multiple_of(2), seed.is_multiple_of(3));
    let module = wasm_smith::Module::new(config, &mut Unstructured::new(&input)).ok()?;
    Some(module.to_bytes())
}

fn random_arg(rng: &mut Rng, ty: NumType) -> Val {
    let edge = [0, 1, u64::MAX, 1 << 31, 1 << 63, 65_536, 65_535];
    let bits = if rng.chance(50) { *rng.pick(&edge) } else { rng.next_u64() };
    match ty {
        NumType::I32 => Val::I32(bits as i32),
        NumType::I64 => Val::I64(bits as i64),
        NumType::F32 => Val::F32(bits as u32),
        NumType::F64 => Val::F64(bits),
    }
}

/// Why a load may fail: bad bytes, or a start past the memory cap.
fn load_may_fail_with(e: &Error) -> bool {
    matches!(e, Error::Load(_) | Error::MemoryLimit { .. })
}

/// What a call may end in without a host: the guest's own faults and the limits it hits. Never
/// the embedder's (`Host`, `Config`), the pool's or a cancellation nobody asked for.
fn call_may_fail_with(e: &Error) -> bool {
    matches!(
        e,
        Error::Trap { .. }
            | Error::CpuLimit { .. }
            | Error::FuelExhausted { .. }
            | Error::StackOverflow
            | Error::MemoryLimit { .. }
            | Error::TableLimit { .. }
            | Error::Argument(_)
            | Error::Serialization(_)
            | Error::PayloadTooLarge { .. }
            | Error::Guest { .. }
            | Error::LogLimit { .. }
            | Error::HostCallLimit { .. }
            | Error::WallTimeLimit { .. }
    )
}

/// Tallies of what the runs ended in, so the test can show that it reached the guest at all.
#[derive(Default)]
struct Tally(BTreeMap<String, u32>);

impl Tally {
    fn count(&mut self, outcome: &str) {
        *self.0.entry(outcome.to_owned()).or_default() += 1;
    }

    fn of(&self, outcome: &str) -> u32 {
        self.0.get(outcome).copied().unwrap_or(0)
    }
}

fn outcome_name(e: &Error) -> String {
    let debug = format!("{e:?}");
    debug.split(|c: char| !c.is_alphanumeric()).next().unwrap_or_default().to_owned()
}

/// Calls up to [`CALLS_PER_MODULE`] exports of `guest` with random arguments.
fn call_exports(guest: &Arc<Guest>, rng: &mut Rng, seed: u64, tally: &mut Tally) {
    for name in guest.export_names().into_iter().take(CALLS_PER_MODULE) {
        let export = guest.export(&name).unwrap().clone();
        let json: Vec<u8>;
        let args: Vec<Val>;
        let input = match &export.kind {
            ExportKind::Json => {
                json = if rng.chance(50) { rng.json(3).into_bytes() } else { rng.bytes(256) };
                Input::Json(&json)
            }
            ExportKind::Numeric { params, .. } => {
                args = params.iter().map(|ty| random_arg(rng, *ty)).collect();
                Input::Numeric(&args)
            }
            ExportKind::Unsupported { .. } => Input::Numeric(&[]),
        };
        match guest.call(&export, input, None, ACQUIRE).result {
            Ok(_) => tally.count("Ok"),
            Err(e) => {
                assert!(call_may_fail_with(&e), "seed {seed}: {name}() ended in {e:?}");
                tally.count(&outcome_name(&e));
            }
        }
    }
}

/// The pool after a module: no slot held, and a known-good module still served.
fn assert_healthy(pool: &Arc<Pool>, seed: u64) {
    assert_eq!(pool.stats().live_isolates, 0, "seed {seed} left an isolate slot taken");
    let known_good = load(pool, "numeric.wat", Limits::default());
    assert_eq!(i32_of(&call_num(&known_good, "add", &[Val::I32(20), Val::I32(22)]).unwrap()), 42, "seed {seed}");
}

fn load_and_call(pool: &Arc<Pool>, wasm: &[u8], rng: &mut Rng, seed: u64, tally: &mut Tally) {
    match pool.load(Code::Wasm(wasm), EnvData::default(), limits(seed)) {
        Ok((guest, _)) => {
            tally.count("loaded");
            call_exports(&guest, rng, seed, tally);
        }
        Err(e) => {
            assert!(load_may_fail_with(&e), "seed {seed}: the load failed with {e:?}");
            tally.count(&format!("load:{}", outcome_name(&e)));
        }
    }
}

#[test]
fn random_modules_end_in_a_result_or_a_typed_error() {
    let pool = pool();
    let mut tally = Tally::default();
    for seed in seeds(MODULES) {
        let mut rng = Rng::new("modules", seed);
        let Some(wasm) = smith_module(&mut rng, seed) else { continue };
        load_and_call(&pool, &wasm, &mut rng, seed, &mut tally);
        assert_healthy(&pool, seed);
        let corrupted = rng.mutate(wasm);
        load_and_call(&pool, &corrupted, &mut rng, seed, &mut tally);
        assert_healthy(&pool, seed);
    }
    eprintln!("random modules: {:?}", tally.0);
    // The runs reach the guest: most modules load, calls return, limits stop some, and most
    // corrupted copies are refused.
    let runs = seeds(MODULES).count() as u32;
    assert!(tally.of("loaded") >= runs / 2, "{:?}", tally.0);
    assert!(tally.of("Ok") >= runs / 10, "{:?}", tally.0);
    assert!(tally.of("FuelExhausted") + tally.of("CpuLimit") + tally.of("StackOverflow") > 0, "{:?}", tally.0);
    assert!(tally.of("load:Load") >= runs / 4, "{:?}", tally.0);
}
