//! Loading a JavaScript bundle: the tenant's modules (by name: `.js`/`.mjs` ES modules, `.ts`
//! TypeScript, `.json` data, `.txt` text) become what the engine runs, QuickJS bytecode, plus the
//! list of what the main module exports.
//!
//! The first load of a bundle compiles every module to bytecode in a throwaway isolate that runs
//! no tenant code, resolves the imports the modules list (`resolve.rs`), then evaluates the bundle
//! once from source in another throwaway isolate (syntax errors, unresolved imports and throwing
//! module bodies are load errors, with the tenant's file:line:col where the interpreter gives one).
//! The result is cached by content hash in memory and on disk (`cache.rs`), so a bundle seen
//! before costs a hash and a lookup, and no isolate that serves a call ever parses source.

use std::borrow::Cow;
use std::sync::{Arc, OnceLock};
use std::time::Duration;

use serde_json::Value;
use sha2::{Digest, Sha256};

use crate::config::Limits;
use crate::error::{Error, Result};
use crate::js::builtins::{self, BUILTINS};
use crate::js::extension::JsExtension;
use crate::js::protocol::{
    self, ENTRY_BYTECODE, ENTRY_SOURCE, EXPORT_COMPILE, FLAG_DESCRIBE, MAX_BUNDLE_ENTRIES, MAX_BUNDLE_MODULES,
};
use crate::js::resolve::{Link, Resolver};
use crate::js::transform::SourcePositions;
use crate::js::worker::{self, Description, JsWorker, POSITIONS_KEY};
use crate::js::{INTERPRETER_WASM, JsRuntime, nested, typescript};
use crate::pool::{Code, MAX_MODULE_BYTES};
use crate::runtime::cache;
use crate::sandbox::guest::{ExportKind, Guest};
use crate::sandbox::host::EnvData;

/// How long a load waits for the slots of its throwaway isolates.
const LOAD_ACQUIRE_TIMEOUT: Duration = Duration::from_secs(5);

/// What a bundle's module is, by the ending of its name.
#[derive(Clone, Copy, PartialEq, Eq)]
enum ModuleKind {
    JavaScript,
    TypeScript,
    Json,
    Text,
    Wasm,
}

/// The one list of the modules a bundle takes (Python only routes by these endings).
const MODULE_KINDS: &[(&str, ModuleKind)] = &[
    (".js", ModuleKind::JavaScript),
    (".mjs", ModuleKind::JavaScript),
    (".ts", ModuleKind::TypeScript),
    (".json", ModuleKind::Json),
    (".txt", ModuleKind::Text),
    (".wasm", ModuleKind::Wasm),
];

/// TypeScript declaration files and what a `node_modules` folder holds besides modules (readme,
/// licence, source maps, CommonJS builds) are part of a project as written, but never code a
/// bundle runs: they are left out rather than refused.
fn is_module(name: &str) -> bool {
    let declaration = [".d.ts", ".d.mts", ".d.cts"].iter().any(|ending| name.ends_with(ending));
    let in_node_modules = name.split('/').any(|folder| folder == "node_modules");
    !declaration && (!in_node_modules || kind_of(name).is_ok())
}

fn kind_of(name: &str) -> Result<ModuleKind> {
    match MODULE_KINDS.iter().find(|(ending, _)| name.ends_with(ending)) {
        Some((_, kind)) => Ok(*kind),
        None => Err(Error::Load(format!(
            "{name:?}: a JavaScript worker takes .js, .mjs and .ts modules, .json and .txt data, and .wasm WebAssembly"
        ))),
    }
}

/// The JavaScript the interpreter evaluates for module `name`; a TypeScript module that needed code
/// generation adds its position map to `positions`.
fn module_source<'a>(name: &str, text: &'a str, positions: &mut SourcePositions) -> Result<Cow<'a, str>> {
    let literal = |s: &str| serde_json::to_string(s).expect("a str always encodes");
    match kind_of(name)? {
        ModuleKind::JavaScript => Ok(Cow::Borrowed(text)),
        ModuleKind::TypeScript => {
            let (code, map) = typescript::to_javascript(text, name)
                .map_err(|e| Error::Load(format!("{name}:{}:{}: {}", e.line, e.column, e.message)))?;
            if let Some(map) = map {
                positions.insert(name, map);
            }
            Ok(Cow::Owned(code))
        }
        ModuleKind::Json => {
            serde_json::from_str::<Value>(text)
                .map_err(|e| Error::Load(format!("{name}:{}:{}: invalid JSON: {e}", e.line(), e.column())))?;
            // Parsed rather than spliced in as a literal: `__proto__` keys stay plain data.
            Ok(Cow::Owned(format!("export default JSON.parse({});\n", literal(text))))
        }
        ModuleKind::Text => Ok(Cow::Owned(format!("export default {};\n", literal(text)))),
        ModuleKind::Wasm => Ok(Cow::Borrowed(text)), // the stub `wasm_stub` wrote for a compiled module
    }
}

/// The cache key of a bundle: the interpreter build, the main module and every module's name and text.
fn bundle_key(main: &str, modules: &[(String, String)]) -> [u8; 32] {
    static INTERPRETER_HASH: OnceLock<[u8; 32]> = OnceLock::new();
    let interpreter = INTERPRETER_HASH.get_or_init(|| Sha256::digest(INTERPRETER_WASM).into());
    // The code that turns modules into what is cached (this file, the TypeScript stripper) is
    // hashed in too, so a changed transform never serves bytecode made by the old one.
    static TRANSFORM_HASH: OnceLock<[u8; 32]> = OnceLock::new();
    let transform = TRANSFORM_HASH.get_or_init(|| {
        let mut digest = Sha256::new();
        digest.update(include_bytes!("bundle.rs"));
        digest.update(include_bytes!("typescript.rs"));
        digest.update(include_bytes!("transform.rs"));
        digest.update(include_bytes!("resolve.rs"));
        builtins::texts().for_each(|text| digest.update(text));
        digest.update(env!("CARGO_PKG_VERSION"));
        digest.finalize().into()
    });
    let mut digest = Sha256::new();
    digest.update(b"dynisolate js bundle v1\0");
    digest.update(interpreter);
    digest.update(transform);
    for part in std::iter::once(main).chain(modules.iter().flat_map(|(n, s)| [n.as_str(), s.as_str()])) {
        digest.update((part.len() as u64).to_le_bytes());
        digest.update(part.as_bytes());
    }
    digest.finalize().into()
}

/// Compiles each module to bytecode, resolves their imports, then evaluates the bundle once from
/// source. Returns the cached form: u32 length of the description JSON, the description, the
/// bytecode bundle (with its links).
fn compile(
    interpreter: &Arc<Guest>,
    main: &str,
    modules: &[(String, String)],
    wasm: &nested::Modules,
) -> Result<Vec<u8>> {
    // Every built-in is in the bundle the compiler sees; only those the modules reach are kept.
    let mut positions = SourcePositions::default();
    let all_sources = modules
        .iter()
        .map(|(name, text)| Ok((name.as_str(), module_source(name, text, &mut positions)?)))
        .chain(BUILTINS.iter().map(|(name, text)| Ok((*name, Cow::Borrowed(*text)))))
        .collect::<Result<Vec<_>>>()?;
    let bundle_of = |sources: &[&(&str, Cow<'_, str>)], links: &[Link]| {
        protocol::bundle(sources.iter().map(|(name, text)| (*name, text.as_bytes())), ENTRY_SOURCE, links)
    };
    let resolver = Resolver::new(modules.iter().map(|(name, text)| (name.as_str(), text.as_str())));
    // All modules in one throwaway isolate that runs no tenant code: compiling only parses, so
    // no module can affect how another compiles.
    let unlinked = bundle_of(&all_sources.iter().collect::<Vec<_>>(), &[]);
    let mut compiled: Vec<Option<(Vec<String>, Vec<u8>)>> = vec![None; all_sources.len()];
    {
        let mut isolate = worker::boot_bundle(interpreter, &unlinked, LOAD_ACQUIRE_TIMEOUT)?;
        let mut pending: Vec<usize> = (0..modules.len()).rev().collect();
        let is_code = |name: &str| matches!(kind_of(name), Ok(ModuleKind::JavaScript | ModuleKind::TypeScript));
        if modules.iter().any(|(name, text)| is_code(name) && builtins::uses_node_globals(text)) {
            pending.extend(all_sources.iter().position(|(name, _)| *name == builtins::NODE_GLOBALS));
        }
        while let Some(index) = pending.pop() {
            if compiled[index].is_some() {
                continue;
            }
            let reply = worker::call_export(&mut isolate, EXPORT_COMPILE, &[index.to_string().as_bytes()], None, None)?;
            let Some((imports, bytecode)) = protocol::compiled(&reply) else {
                // A syntax error: evaluating the source says where, as a load error.
                describe(interpreter, &unlinked, main, wasm, &positions)?;
                protocol::envelope(&reply)?;
                return Err(Error::Load(format!("{}: the module does not compile", all_sources[index].0)));
            };
            let importer = all_sources[index].0;
            for specifier in &imports {
                // Unresolved imports are reported when the links are made, below.
                if let Ok(target) = resolver.resolve(importer, specifier)
                    && builtins::is_builtin(&target)
                {
                    pending.extend(all_sources.iter().position(|(name, _)| *name == target));
                }
            }
            compiled[index] = Some((imports, bytecode.to_vec()));
        }
    }
    let (sources, compiled): (Vec<_>, Vec<_>) =
        all_sources.iter().zip(compiled).filter_map(|(source, code)| Some((source, code?))).unzip();
    let links =
        resolver.links(sources.iter().zip(&compiled).map(|((name, _), (imports, _))| (*name, imports.as_slice())))?;
    if sources.len() + links.len() > MAX_BUNDLE_ENTRIES {
        let imports = links.len();
        return Err(Error::Load(format!(
            "the modules import each other by {imports} names that need resolving; the limit is {}",
            MAX_BUNDLE_ENTRIES - sources.len()
        )));
    }
    let mut described = describe(interpreter, &bundle_of(&sources, &links), main, wasm, &positions)?;
    if !positions.is_empty() {
        described[POSITIONS_KEY] = positions.to_json();
    }
    let bytecode = protocol::bundle(
        sources.iter().zip(&compiled).map(|((name, _), (_, code))| (*name, code.as_slice())),
        ENTRY_BYTECODE,
        &links,
    );
    let description = serde_json::to_vec(&described).expect("a JSON value always encodes");
    let mut out = Vec::with_capacity(4 + description.len() + bytecode.len());
    out.extend_from_slice(&(description.len() as u32).to_le_bytes());
    out.extend_from_slice(&description);
    out.extend_from_slice(&bytecode);
    Ok(out)
}

/// Evaluates `bundle` (source modules) from `main` in a throwaway isolate and returns what the
/// main module exports; the guest's errors (syntax, imports, a throwing module body) are load
/// errors.
fn describe(
    interpreter: &Arc<Guest>,
    bundle: &[u8],
    main: &str,
    wasm: &nested::Modules,
    positions: &SourcePositions,
) -> Result<Value> {
    let load = protocol::load_request(main, FLAG_DESCRIBE, worker::seed());
    let described = interpreter.boot(None, LOAD_ACQUIRE_TIMEOUT).and_then(|mut isolate| {
        if !wasm.is_empty() {
            isolate.set_extension(JsExtension::with_wasm(Box::new(nested::Nested::new(wasm.clone()))));
        }
        protocol::envelope(&worker::start(&mut isolate, bundle, &load, None, None, None)?)
    });
    match described {
        Err(Error::Guest { name, message, stack }) => {
            let stack = positions.remap_text(&stack);
            let at = if stack.is_empty() { String::new() } else { format!("\n{stack}") };
            Err(Error::Load(format!("{name}: {message}{at}")))
        }
        other => other,
    }
}

/// Splits a cached bundle into its description and bytecode.
fn split(blob: &[u8]) -> Result<(Description, Arc<[u8]>)> {
    let corrupt = || Error::Load("a cached JavaScript bundle is corrupt; delete the cache directory".into());
    let len = u32::from_le_bytes(blob.get(..4).ok_or_else(corrupt)?.try_into().expect("4 bytes")) as usize;
    let described: Value = serde_json::from_slice(blob.get(4..4 + len).ok_or_else(corrupt)?).map_err(|_| corrupt())?;
    Ok((worker::description(described), Arc::from(&blob[4 + len..])))
}

/// Loads a JavaScript bundle: `modules` maps names to source text, `main` names the entry,
/// `wasm` holds the bundle's `.wasm` modules, `env` the data bindings copied into every call and
/// `stubs` the bindings the host serves (`None`: a function; `Some(methods)`: an object with
/// those methods). Syntax errors, failed imports, bad module names and module-body exceptions
/// are load errors.
pub fn load(
    runtime: &Arc<JsRuntime>,
    main: &str,
    modules: &[(String, String)],
    wasm: &[(String, Vec<u8>)],
    env: &EnvData,
    stubs: &[(String, Option<Vec<String>>)],
    limits: Limits,
) -> Result<Arc<JsWorker>> {
    let pool = &runtime.pool;
    limits.validate(&pool.runtime.config)?;
    let total: usize = modules.iter().map(|(n, s)| n.len() + s.len()).sum::<usize>()
        + wasm.iter().map(|(n, b)| n.len() + b.len()).sum::<usize>();
    if total > MAX_MODULE_BYTES {
        return Err(Error::Load(format!("the modules add up to {total} bytes; the limit is {MAX_MODULE_BYTES}")));
    }
    let modules: Vec<_> = modules.iter().filter(|(name, _)| is_module(name)).cloned().collect();
    let wasm: Vec<_> = wasm.iter().filter(|(name, _)| is_module(name)).collect();
    for (name, _) in &modules {
        if kind_of(name)? == ModuleKind::Wasm {
            return Err(Error::Load(format!("{name:?} must be bytes (binary WebAssembly), not text")));
        }
    }
    for (name, _) in &wasm {
        if kind_of(name)? != ModuleKind::Wasm {
            return Err(Error::Load(format!("JavaScript worker module {name:?} must be str (text), not bytes")));
        }
    }
    // Room is kept for every built-in, whether or not the bundle reaches it.
    let most = MAX_BUNDLE_MODULES - BUILTINS.len();
    let count = modules.len() + wasm.len();
    if count > most {
        return Err(Error::Load(format!("a bundle holds at most {most} modules; this one has {count}")));
    }
    if !modules.iter().any(|(name, _)| name == main) {
        return Err(Error::Load(format!("main module {main:?} is not in the bundle")));
    }
    if !matches!(kind_of(main), Ok(ModuleKind::JavaScript | ModuleKind::TypeScript)) {
        return Err(Error::Load(format!("main module {main:?} must be a .js, .mjs or .ts module")));
    }
    let mut all = modules;
    let mut compiled_wasm = Vec::with_capacity(wasm.len());
    for (index, (name, bytes)) in wasm.iter().enumerate() {
        let (guest, _) = pool.load(Code::Wasm(bytes), env.clone(), limits.clone()).map_err(|e| match e {
            Error::Load(message) => Error::Load(format!("{name}: {message}")),
            other => other,
        })?;
        all.push((name.clone(), wasm_stub(index, bytes, &guest)));
        compiled_wasm.push(guest);
    }
    let wasm: nested::Modules = compiled_wasm.into();
    let interpreter = runtime.interpreter()?.guest(pool, &runtime.interpreter()?.base, limits)?;
    let key = bundle_key(main, &all);
    let (blob, cache_outcome) = pool.cache.get_or_make_blob(&key, || compile(&interpreter, main, &all, &wasm))?;
    let (description, bytecode) = split(&blob)?;
    let env = protocol::env_section(env.iter(), stubs);
    Ok(Arc::new(JsWorker::new(
        runtime.clone(),
        key,
        interpreter,
        bytecode,
        main,
        env,
        description,
        cache_outcome,
        wasm,
    )))
}

/// The JavaScript module that stands for a bundle's `.wasm` module: its default export is a
/// `WebAssembly.Module` for module `index`, listing the function exports JavaScript can call.
/// The content hash makes the bundle's cache key cover the module's bytes.
fn wasm_stub(index: usize, bytes: &[u8], guest: &Guest) -> String {
    let functions: Vec<&str> = guest
        .export_names()
        .iter()
        .filter_map(|name| match guest.export(name) {
            Ok(export) if matches!(export.kind, ExportKind::Numeric { .. }) => Some(export.name.as_str()),
            _ => None,
        })
        .collect();
    let hash = cache::hex(&Sha256::digest(bytes));
    let functions = serde_json::to_string(&functions).expect("strings always encode");
    format!(
        "// sha256:{hash}\nexport default WebAssembly.Module[Symbol.for(\"dynisolate.bundled\")]({index}, {functions});\n"
    )
}
