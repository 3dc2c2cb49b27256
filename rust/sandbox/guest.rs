//! A guest: compiled code prepared for instantiation, with its export table, its `env` data and
//! its limits. The code is one self-contained module (`InstancePre`, imports resolved once), or
//! [`Code`] whose memory comes from a heap module (`runtime/heap.rs`): one compiled interpreter,
//! many copy-on-write heaps. A guest describes what to boot and never boots anything itself:
//! `isolate.rs` boots isolates from it (`Guest::boot`, `Guest::call`).

use std::collections::HashMap;
use std::sync::Arc;

use wasmtime::{Extern, ExternType, Instance, InstancePre, Linker, Module, ModuleExport, Store, ValType};

use crate::config::Limits;
use crate::error::{Error, Result};
use crate::runtime::Runtime;
use crate::runtime::heap::{HEAP_EXPORT, MEMORY_IMPORT};
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
    /// Its place among the guest's exports: where an isolate caches the function.
    pub(crate) ordinal: usize,
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

/// Code that imports its memory from a heap module (`runtime/heap.rs`), with what it imports:
/// host functions from `linker`, resolved into each store, and the heap's memory.
pub struct Code {
    module: Module,
    linker: Arc<Linker<StoreData>>,
    imports: Vec<(String, String)>,
    memory_at: usize,
}

impl Code {
    pub fn new(module: Module, linker: Arc<Linker<StoreData>>) -> Result<Code> {
        let imports: Vec<(String, String)> =
            module.imports().map(|import| (import.module().to_owned(), import.name().to_owned())).collect();
        let memory_at = imports
            .iter()
            .position(|(module, name)| (module.as_str(), name.as_str()) == MEMORY_IMPORT)
            .ok_or_else(|| Error::Load("the code does not import its memory".into()))?;
        Ok(Code { module, linker, imports, memory_at })
    }

    /// Instantiates `heap` (its memory a copy-on-write image), then the code on that memory.
    /// (`InstancePre` cannot serve the code: its memory import belongs to each store.)
    pub(crate) fn instantiate(
        &self,
        store: &mut Store<StoreData>,
        heap: &InstancePre<StoreData>,
    ) -> wasmtime::Result<Instance> {
        let memory = heap.instantiate(&mut *store)?.get_memory(&mut *store, HEAP_EXPORT);
        let memory = memory.ok_or_else(|| wasmtime::Error::msg("the heap module exports no memory"))?;
        let mut externs: Vec<Extern> = Vec::with_capacity(self.imports.len());
        for (at, (module, name)) in self.imports.iter().enumerate() {
            if at == self.memory_at {
                externs.push(memory.into());
            } else {
                let found = self.linker.get(&mut *store, module, name);
                externs.push(found?);
            }
        }
        Instance::new(&mut *store, &self.module, &externs)
    }
}

/// How an isolate of a guest is instantiated.
pub(crate) enum Instantiation {
    Module(InstancePre<StoreData>),
    Split { code: Arc<Code>, heap: InstancePre<StoreData> },
}

/// A compiled tenant module ready to boot isolates from (see the module docs).
pub struct Guest {
    pub(crate) runtime: Arc<Runtime>,
    pub(crate) instantiation: Instantiation,
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
        let ordinal = exports.len();
        let previous = exports.insert(name.to_owned(), Export { name: name.to_owned(), kind, index, ordinal });
        if previous.is_some() {
            return Err(Error::Load(format!("the module exports both {name:?} and \"json:{name}\"")));
        }
    }
    Ok(exports)
}

/// Fails unless memory and tables `modules` start with fit the limits.
fn check_needs(runtime: &Runtime, limits: &Limits, modules: &[&Module]) -> Result<()> {
    let memory_bytes = limits.effective_memory_bytes(&runtime.config);
    for module in modules {
        let needs = module.resources_required();
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
    }
    Ok(())
}

impl Guest {
    /// A guest of one self-contained module whose imports `linker` defines.
    pub(crate) fn new(
        runtime: Arc<Runtime>,
        linker: &Linker<StoreData>,
        module: &Module,
        env: Arc<EnvData>,
        limits: Limits,
    ) -> Result<Guest> {
        let pre = linker.instantiate_pre(module).map_err(|e| Error::Load(format!("{e:#}")))?;
        check_needs(&runtime, &limits, &[module])?;
        Guest::with(runtime, Instantiation::Module(pre), module, env, limits)
    }

    /// A guest of `code` on a copy-on-write `heap` (a heap module, `runtime/heap.rs`).
    pub(crate) fn split(
        runtime: Arc<Runtime>,
        code: Arc<Code>,
        heap: &Module,
        env: Arc<EnvData>,
        limits: Limits,
    ) -> Result<Guest> {
        let heap_pre = Linker::new(&runtime.engine).instantiate_pre(heap).map_err(|e| Error::Load(format!("{e:#}")))?;
        check_needs(&runtime, &limits, &[heap, &code.module])?;
        let module = code.module.clone();
        Guest::with(runtime, Instantiation::Split { code, heap: heap_pre }, &module, env, limits)
    }

    fn with(
        runtime: Arc<Runtime>,
        instantiation: Instantiation,
        module: &Module,
        env: Arc<EnvData>,
        limits: Limits,
    ) -> Result<Guest> {
        let exports = read_exports(module)?;
        let uses_json = exports.values().any(|e| matches!(e.kind, ExportKind::Json));
        if uses_json {
            JsonAbi::check(module)?;
        }
        Ok(Guest { runtime, instantiation, env, limits, exports, uses_json })
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
