//! `_core.Pool`: a pool of isolate slots on one engine, and the entry point for loading code.

use std::path::PathBuf;
use std::sync::{Arc, OnceLock};
use std::time::Duration;

use pyo3::prelude::*;
use pyo3::types::{PyBytes, PyDict, PyString};

use crate::config::{Limits, PoolConfig};
use crate::error::Error;
use crate::js::JsRuntime;
use crate::pool::{Code, Pool};
use crate::python::convert;
use crate::python::errors::{IntoPyResult, dict, to_pyerr};
use crate::python::worker::PyWorker;
use crate::sandbox::host::EnvData;
use crate::worker::Worker;

/// Encodes the env data bindings, each as JSON.
fn env_of(py: Python<'_>, env_data: &Bound<'_, PyDict>, max_payload_bytes: u64) -> PyResult<EnvData> {
    let mut env = EnvData::default();
    for (name, value) in env_data.iter() {
        let name: String = name.extract()?;
        let json = convert::to_json(&value, max_payload_bytes, &format!("env[{name:?}]")).or_raise(py)?;
        env.insert(name, json);
    }
    Ok(env)
}

/// A Python int as a setting of type `T`; a value that does not fit (negative, or too large)
/// is a `ConfigError` naming it. The setting's own rules are the core's (`config.rs`).
fn int_setting<T: TryFrom<i128>>(py: Python<'_>, value: &Bound<'_, PyAny>, name: &str) -> PyResult<T> {
    let out_of_range = || Error::Config(format!("{name} is out of range: {value}"));
    let wide: i128 = value.extract().map_err(|_| to_pyerr(py, out_of_range()))?;
    T::try_from(wide).map_err(|_| to_pyerr(py, out_of_range()))
}

/// The core's `Limits` from a `dynisolate.Limits` (a frozen dataclass whose fields are ints, or
/// None for the optional ones), checked by the core's rules.
fn limits_of(py: Python<'_>, limits: &Bound<'_, PyAny>) -> PyResult<Limits> {
    let int = |name: &str| -> PyResult<Bound<'_, PyAny>> { limits.getattr(name) };
    let optional = |name: &str| -> PyResult<Option<u64>> {
        let value = int(name)?;
        if value.is_none() { Ok(None) } else { int_setting(py, &value, &format!("Limits.{name}")).map(Some) }
    };
    let limits = Limits {
        cpu_ms: int_setting(py, &int("cpu_ms")?, "Limits.cpu_ms")?,
        wall_ms: int_setting(py, &int("wall_ms")?, "Limits.wall_ms")?,
        memory_bytes: optional("memory_bytes")?,
        fuel: optional("fuel")?,
        max_payload_bytes: int_setting(py, &int("max_payload_bytes")?, "Limits.max_payload_bytes")?,
        max_host_calls: int_setting(py, &int("max_host_calls")?, "Limits.max_host_calls")?,
        max_log_bytes: int_setting(py, &int("max_log_bytes")?, "Limits.max_log_bytes")?,
        sub_requests: int_setting(py, &int("sub_requests")?, "Limits.sub_requests")?,
    };
    limits.check().or_raise(py)?;
    Ok(limits)
}

/// Checks a `dynisolate.Limits` when it is built, by the core's rules (raises `ConfigError`).
#[pyfunction]
pub fn check_limits(py: Python<'_>, limits: &Bound<'_, PyAny>) -> PyResult<()> {
    limits_of(py, limits).map(|_| ())
}

#[pyclass(name = "Pool", module = "dynisolate._core", frozen)]
pub struct PyPool {
    pool: Arc<Pool>,
    acquire_timeout: Duration,
    /// The pool's JavaScript runtime, held for as long as this loader lives: its interpreter and
    /// bundle heaps would otherwise go with the last worker and be rebuilt by the next load.
    js: OnceLock<Arc<JsRuntime>>,
}

#[pymethods]
impl PyPool {
    #[new]
    #[pyo3(signature = (*, max_isolates, max_memory_bytes, max_table_elements, max_stack_bytes, consume_fuel, cache_dir, acquire_timeout_ms))]
    #[allow(clippy::too_many_arguments)]
    fn new(
        py: Python<'_>,
        max_isolates: &Bound<'_, PyAny>,
        max_memory_bytes: &Bound<'_, PyAny>,
        max_table_elements: &Bound<'_, PyAny>,
        max_stack_bytes: &Bound<'_, PyAny>,
        consume_fuel: bool,
        cache_dir: Option<PathBuf>,
        acquire_timeout_ms: &Bound<'_, PyAny>,
    ) -> PyResult<Self> {
        let config = PoolConfig {
            max_isolates: int_setting(py, max_isolates, "max_isolates")?,
            max_memory_bytes: int_setting(py, max_memory_bytes, "max_memory_bytes")?,
            max_table_elements: int_setting(py, max_table_elements, "max_table_elements")?,
            max_stack_bytes: int_setting(py, max_stack_bytes, "max_stack_bytes")?,
            consume_fuel,
            cache_dir,
        };
        let acquire_timeout = Duration::from_millis(int_setting(py, acquire_timeout_ms, "acquire_timeout_ms")?);
        let pool = py.detach(|| Pool::shared(config)).or_raise(py)?;
        Ok(PyPool { pool, acquire_timeout, js: OnceLock::new() })
    }

    /// Compiles (or fetches from cache) one module; returns a `Worker`.
    #[pyo3(signature = (kind, code, env_data, limits, *, label))]
    fn load(
        &self,
        py: Python<'_>,
        kind: &str,
        code: &Bound<'_, PyAny>,
        env_data: &Bound<'_, PyDict>,
        limits: &Bound<'_, PyAny>,
        label: String,
    ) -> PyResult<PyWorker> {
        let limits = limits_of(py, limits)?;
        let env = env_of(py, env_data, limits.max_payload_bytes)?;
        let bytes: Vec<u8> = if let Ok(b) = code.cast::<PyBytes>() {
            b.as_bytes().to_vec()
        } else if let Ok(s) = code.cast::<PyString>() {
            s.to_str()?.as_bytes().to_vec()
        } else {
            return Err(to_pyerr(py, Error::Load("module code must be bytes or str".into())));
        };
        let pool = self.pool.clone();
        let kind = kind.to_owned();
        let loaded = py.detach(move || {
            let code = match kind.as_str() {
                "wasm" => Code::Wasm(&bytes),
                "wat" => Code::Wat(
                    std::str::from_utf8(&bytes).map_err(|_| Error::Load("WebAssembly text must be UTF-8".into()))?,
                ),
                other => return Err(Error::Load(format!("unknown module kind {other:?}"))),
            };
            pool.load(code, env, limits)
        });
        let (guest, cache_outcome) = loaded.or_raise(py)?;
        Ok(PyWorker::new(Worker::Wasm { guest, cache_outcome }, self.acquire_timeout, label))
    }

    /// Loads a JavaScript bundle (`modules`: name/source pairs; `wasm`: name/bytes pairs of its
    /// `.wasm` modules); returns a `Worker`.
    #[pyo3(signature = (main, modules, env_data, stubs, limits, wasm=Vec::new()))]
    #[allow(clippy::too_many_arguments)]
    fn load_js(
        &self,
        py: Python<'_>,
        main: String,
        modules: Vec<(String, String)>,
        env_data: &Bound<'_, PyDict>,
        stubs: Vec<(String, Option<Vec<String>>)>,
        limits: &Bound<'_, PyAny>,
        wasm: Vec<(String, Vec<u8>)>,
    ) -> PyResult<PyWorker> {
        let limits = limits_of(py, limits)?;
        let env = env_of(py, env_data, limits.max_payload_bytes)?;
        let load = || {
            let runtime = match self.js.get() {
                Some(runtime) => runtime,
                None => {
                    let shared = JsRuntime::shared(&self.pool)?;
                    self.js.get_or_init(|| shared)
                }
            };
            runtime.load(&main, &modules, &wasm, &env, &stubs, limits)
        };
        let worker = py.detach(load).or_raise(py)?;
        Ok(PyWorker::new(Worker::Js(worker), self.acquire_timeout, main))
    }

    /// Counters: slots, live isolates, compiles and cache hits.
    fn stats<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyDict>> {
        let s = self.pool.stats();
        dict(
            py,
            &[
                ("max_isolates", s.max_isolates as u64),
                ("live_isolates", s.live_isolates as u64),
                ("compiles", s.compiles),
                ("memory_hits", s.memory_hits),
                ("disk_hits", s.disk_hits),
            ],
        )
    }
}

/// The pre-initialised JavaScript interpreter as wasm bytes, as the default pool boots it (for
/// benchmarks that run the same interpreter outside the pool).
#[cfg(feature = "bench")]
#[pyfunction]
pub fn interpreter_wasm(py: Python<'_>) -> PyResult<Bound<'_, PyBytes>> {
    let build = || JsRuntime::shared(&Pool::shared(PoolConfig::default())?)?.interpreter_wasm();
    let wasm = py.detach(build).or_raise(py)?;
    Ok(PyBytes::new(py, &wasm))
}
