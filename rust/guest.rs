//! A guest: one compiled module, prepared for instantiation (`InstancePre`, imports resolved once),
//! with its export table, its `env` data and its limits. Every isolate of a worker boots from it.

use std::collections::HashMap;
use std::sync::Arc;
use std::sync::atomic::AtomicBool;
use std::time::Duration;

use wasmtime::{ExternType, InstancePre, Linker, Module, ModuleExport, ValType};

use crate::abi;
use crate::config::Limits;
use crate::error::{Error, Result};
use crate::host::{EnvData, Host, HostState, LogRecord};
use crate::isolate::{Input, Isolate, Output};
use crate::runtime::Runtime;

/// Size of a wasm page, in bytes.
const WASM_PAGE_BYTES: u64 = 65_536;

/// A numeric wasm value type that can cross to the host.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum NumType {
    I32,
    I64,
    F32,
    F64,
}

impl NumType {
    fn of(ty: &ValType) -> Option<NumType> {
        match ty {
            ValType::I32 => Some(NumType::I32),
            ValType::I64 => Some(NumType::I64),
            ValType::F32 => Some(NumType::F32),
            ValType::F64 => Some(NumType::F64),
            _ => None,
        }
    }
}

/// How an export is called.
#[derive(Clone, Debug)]
pub enum ExportKind {
    /// Numbers in, numbers out.
    Numeric { params: Vec<NumType>, results: Vec<NumType> },
    /// The JSON ABI (`json:NAME`).
    Json,
    /// A function whose signature cannot cross to the host (references, vectors).
    Unsupported { signature: String },
}

/// One callable export.
#[derive(Clone)]
pub struct Export {
    /// The name callers use (without the `json:` prefix).
    pub name: String,
    pub kind: ExportKind,
    pub(crate) index: ModuleExport,
}

impl Export {
    /// Fails unless `count` arguments fit this numeric export.
    pub fn check_arity(&self, count: usize) -> Result<()> {
        let ExportKind::Numeric { params, .. } = &self.kind else { return Ok(()) };
        if params.len() == count {
            return Ok(());
        }
        Err(Error::Argument(format!(
            "{}() takes {} argument{}, got {count}",
            self.name,
            params.len(),
            if params.len() == 1 { "" } else { "s" },
        )))
    }
}

/// See the module docs.
pub struct Guest {
    pub(crate) runtime: Arc<Runtime>,
    pub(crate) pre: InstancePre<HostState>,
    pub(crate) env: Arc<EnvData>,
    pub limits: Limits,
    exports: HashMap<String, Export>,
    pub(crate) uses_json: bool,
}

/// What a fresh-isolate call produced: its result and the log records it wrote.
pub struct CallReport {
    pub result: Result<Output>,
    pub logs: Vec<LogRecord>,
}

fn signature(params: &[ValType], results: &[ValType]) -> String {
    let list = |tys: &[ValType]| tys.iter().map(|t| t.to_string()).collect::<Vec<_>>().join(", ");
    format!("({}) -> ({})", list(params), list(results))
}

fn read_exports(module: &Module) -> Result<HashMap<String, Export>> {
    let mut exports = HashMap::new();
    for export in module.exports() {
        let ExternType::Func(ty) = export.ty() else { continue };
        let params: Vec<ValType> = ty.params().collect();
        let results: Vec<ValType> = ty.results().collect();
        let wasm_name = export.name();
        let (name, kind) = match wasm_name.strip_prefix(abi::JSON_EXPORT_PREFIX) {
            Some(name) => {
                let ok =
                    matches!((params.as_slice(), results.as_slice()), ([ValType::I32, ValType::I32], [ValType::I64]));
                if !ok {
                    return Err(Error::Load(format!(
                        "export {wasm_name:?} must have type (i32, i32) -> i64 to speak the JSON ABI, not {}",
                        signature(&params, &results)
                    )));
                }
                (name, ExportKind::Json)
            }
            None => {
                let nums = |tys: &[ValType]| tys.iter().map(NumType::of).collect::<Option<Vec<_>>>();
                let kind = match (nums(&params), nums(&results)) {
                    (Some(params), Some(results)) => ExportKind::Numeric { params, results },
                    _ => ExportKind::Unsupported { signature: signature(&params, &results) },
                };
                (wasm_name, kind)
            }
        };
        let index = module.get_export_index(wasm_name).expect("the module lists this export");
        let previous = exports.insert(name.to_owned(), Export { name: name.to_owned(), kind, index });
        if previous.is_some() {
            return Err(Error::Load(format!("the module exports both {name:?} and \"json:{name}\"")));
        }
    }
    Ok(exports)
}

fn check_json_abi(module: &Module) -> Result<()> {
    let memory = module.get_export(abi::MEMORY_EXPORT);
    if !matches!(memory, Some(ExternType::Memory(_))) {
        return Err(Error::Load("a module with json: exports must export its `memory`".into()));
    }
    let alloc_ok = match module.get_export(abi::ALLOC_EXPORT) {
        Some(ExternType::Func(ty)) => {
            let p: Vec<_> = ty.params().collect();
            let r: Vec<_> = ty.results().collect();
            matches!((p.as_slice(), r.as_slice()), ([ValType::I32], [ValType::I32]))
        }
        _ => false,
    };
    if !alloc_ok {
        return Err(Error::Load("a module with json: exports must export `dynisolate_alloc: (i32) -> i32`".into()));
    }
    Ok(())
}

impl Guest {
    pub(crate) fn new(
        runtime: Arc<Runtime>,
        linker: &Linker<HostState>,
        module: &Module,
        env: Arc<EnvData>,
        limits: Limits,
    ) -> Result<Guest> {
        let pre = linker.instantiate_pre(module).map_err(|e| Error::Load(format!("{e:#}")))?;
        let needs = module.resources_required();
        let memory_bytes = limits.effective_memory_bytes(&runtime.config);
        if let Some(pages) = needs.max_initial_memory_size
            && pages.saturating_mul(WASM_PAGE_BYTES) > memory_bytes
        {
            return Err(Error::MemoryLimit { memory_bytes });
        }
        if needs.max_initial_table_size.unwrap_or(0) > runtime.config.max_table_elements as u64 {
            return Err(Error::Load(format!(
                "the module's table starts larger than max_table_elements ({})",
                runtime.config.max_table_elements
            )));
        }
        let exports = read_exports(module)?;
        let uses_json = exports.values().any(|e| matches!(e.kind, ExportKind::Json));
        if uses_json {
            check_json_abi(module)?;
        }
        Ok(Guest { runtime, pre, env, limits, exports, uses_json })
    }

    /// The export callers know as `name`.
    pub fn export(&self, name: &str) -> Result<&Export> {
        self.exports.get(name).ok_or_else(|| Error::ExportNotFound { name: name.to_owned() })
    }

    /// Names of all callable exports, sorted.
    pub fn export_names(&self) -> Vec<String> {
        let mut names: Vec<String> = self.exports.keys().cloned().collect();
        names.sort();
        names
    }

    /// Boots an isolate that lives until dropped (a stateful session).
    pub fn boot(self: &Arc<Self>, host: Option<Arc<dyn Host>>, acquire_timeout: Duration) -> Result<Isolate> {
        Isolate::boot(self.clone(), host, None, acquire_timeout)
    }

    /// Runs one call in a fresh isolate that is discarded afterwards.
    pub fn call(
        self: &Arc<Self>,
        export: &Export,
        input: Input<'_>,
        host: Option<Arc<dyn Host>>,
        acquire_timeout: Duration,
    ) -> CallReport {
        self.call_interruptible(export, input, host, None, acquire_timeout)
    }

    /// Like `call`; setting `interrupt` stops the guest within an epoch tick with `Error::Cancelled`.
    pub fn call_interruptible(
        self: &Arc<Self>,
        export: &Export,
        input: Input<'_>,
        host: Option<Arc<dyn Host>>,
        interrupt: Option<Arc<AtomicBool>>,
        acquire_timeout: Duration,
    ) -> CallReport {
        let booted = Isolate::boot(self.clone(), host.clone(), interrupt.clone(), acquire_timeout);
        let mut isolate = match booted {
            Ok(isolate) => isolate,
            Err(e) => return CallReport { result: Err(e), logs: Vec::new() },
        };
        let result = isolate.call_interruptible(export, input, host, interrupt);
        CallReport { result, logs: isolate.take_logs() }
    }
}
