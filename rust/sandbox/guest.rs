//! A guest: one compiled module, prepared for instantiation (`InstancePre`, imports resolved once),
//! with its export table, its `env` data and its limits. It describes what to boot and never
//! boots anything itself: `isolate.rs` boots isolates from it (`Guest::boot`, `Guest::call`).

use std::collections::HashMap;
use std::sync::Arc;

use wasmtime::{ExternType, InstancePre, Linker, Module, ModuleExport, ValType};

use crate::config::Limits;
use crate::error::{Error, Result};
use crate::runtime::Runtime;
use crate::sandbox::abi::{self, JsonAbi};
use crate::sandbox::host::EnvData;
use crate::sandbox::state::StoreData;

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

/// A compiled tenant module ready to boot isolates from (see the module docs).
pub struct Guest {
    pub(crate) runtime: Arc<Runtime>,
    pub(crate) pre: InstancePre<StoreData>,
    pub(crate) env: Arc<EnvData>,
    pub limits: Limits,
    exports: HashMap<String, Export>,
    pub(crate) uses_json: bool,
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
                if !abi::is_json_method(&ty) {
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

impl Guest {
    pub(crate) fn new(
        runtime: Arc<Runtime>,
        linker: &Linker<StoreData>,
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
            JsonAbi::check(module)?;
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
}
