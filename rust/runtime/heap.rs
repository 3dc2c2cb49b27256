//! Heap images: one compiled code module serving many copy-on-write memories.
//!
//! A module that defines its memory is split in two: the *code* (the same module with its memory
//! turned into an import from [`MEMORY_IMPORT`] and its data removed), compiled once; and a
//! *heap* (a module with no code: one exported memory and the data segments that fill it). An
//! instance is the heap instantiated first, then the code importing the heap's memory. Wasmtime
//! turns a heap module's data into a copy-on-write memory image, so a fresh instance maps a heap
//! instead of copying it, and a new heap (the memory of an instance at some moment: a
//! pre-initialised interpreter, a tenant bundle evaluated in it) costs a data-only module, never
//! a compile of the code. This is how per-tenant state stays data, not a module per tenant.
//!
//! What makes a memory snapshot a valid heap, checked here: the module has exactly one memory,
//! defined, not shared; its data segments are active with constant offsets, so nothing but
//! instantiation writes them (no `memory.init` or `data.drop`); the only mutable global is the
//! shadow stack pointer, which is back at its initial value whenever no export is running, and
//! the shadow stack below it holds nothing between calls, so it is left out of heaps.

use wasm_encoder::reencode::{Reencode, RoundtripReencoder};
use wasm_encoder::{ConstExpr, CustomSection, DataSection, ExportKind, ExportSection, ImportSection, MemorySection};
use wasmparser::{DataKind, Operator, Parser, Payload, TypeRef};

use crate::error::{Error, Result};

/// Where the code module imports its memory from.
pub const MEMORY_IMPORT: (&str, &str) = ("dynisolate_heap", "memory");
/// The name a heap module exports its memory under.
pub const HEAP_EXPORT: &str = "memory";

const WASM_PAGE_BYTES: usize = 65_536;
const HOST_PAGE_BYTES: usize = 4096;

fn invalid(what: impl std::fmt::Display) -> Error {
    Error::Load(format!("cannot split the module into code and heap: {what}"))
}

/// A module split into code and its initial heap (see the module docs).
pub struct Split {
    pub code: Vec<u8>,
    pub heap: Vec<u8>,
    /// The memory's type, for heaps made later from snapshots of it.
    pub memory: wasmparser::MemoryType,
    /// Where the shadow stack ends (its pointer's initial value): memory below it holds nothing
    /// between calls.
    pub stack_top: usize,
}

fn const_offset(expr: &wasmparser::ConstExpr<'_>) -> Option<u64> {
    let mut reader = expr.get_operators_reader();
    let offset = match reader.read().ok()? {
        Operator::I32Const { value } => value as u32 as u64,
        _ => return None,
    };
    matches!(reader.read().ok()?, Operator::End).then_some(offset)
}

fn memory_type(ty: &wasmparser::MemoryType, minimum_pages: u64) -> wasm_encoder::MemoryType {
    wasm_encoder::MemoryType {
        minimum: minimum_pages,
        maximum: ty.maximum,
        memory64: ty.memory64,
        shared: ty.shared,
        page_size_log2: ty.page_size_log2,
    }
}

/// A heap module: one exported memory of `pages` wasm pages, of type `like`, holding `segments`
/// (offset, bytes).
fn heap_module(like: &wasmparser::MemoryType, pages: u64, segments: &[(u64, &[u8])]) -> Vec<u8> {
    let mut module = wasm_encoder::Module::new();
    let mut memories = MemorySection::new();
    memories.memory(memory_type(like, pages));
    module.section(&memories);
    let mut exports = ExportSection::new();
    exports.export(HEAP_EXPORT, ExportKind::Memory, 0);
    module.section(&exports);
    let mut data = DataSection::new();
    for (offset, bytes) in segments {
        data.active(0, &ConstExpr::i32_const(*offset as u32 as i32), bytes.iter().copied());
    }
    module.section(&data);
    module.finish()
}

/// The heap of a memory snapshot: runs of non-zero host pages at or above `stack_top`, each
/// trimmed of zero ends, in a memory as large as the snapshot.
pub fn snapshot_heap(like: &wasmparser::MemoryType, memory: &[u8], stack_top: usize) -> Vec<u8> {
    heap_module(like, memory.len().div_ceil(WASM_PAGE_BYTES) as u64, &segments(memory, stack_top))
}

/// The original, self-contained module `wasm` whose memory starts as `memory` (a snapshot of an
/// instance of its split form), as a pre-initialiser such as wizer would write it.
pub fn with_memory(wasm: &[u8], split: &Split, memory: &[u8]) -> Result<Vec<u8>> {
    let mut module = wasm_encoder::Module::new();
    for payload in Parser::new(0).parse_all(wasm) {
        let payload = payload.map_err(invalid)?;
        match &payload {
            Payload::Version { .. } | Payload::End(_) | Payload::CodeSectionEntry(_) => {}
            Payload::DataCountSection { .. } | Payload::DataSection(_) => {}
            Payload::MemorySection(_) => {
                let mut memories = MemorySection::new();
                memories.memory(memory_type(&split.memory, memory.len().div_ceil(WASM_PAGE_BYTES) as u64));
                module.section(&memories);
            }
            Payload::CustomSection(section) => {
                module.section(&CustomSection { name: section.name().into(), data: section.data().into() });
            }
            other => {
                let (id, range) = other.as_section().ok_or_else(|| invalid("an unexpected section"))?;
                if id == 11 {
                    continue;
                }
                if id == 10 {
                    // Data goes after the code section.
                    module.section(&wasm_encoder::RawSection { id, data: &wasm[range] });
                    let mut data = DataSection::new();
                    for (offset, bytes) in segments(memory, split.stack_top) {
                        data.active(0, &ConstExpr::i32_const(offset as u32 as i32), bytes.iter().copied());
                    }
                    module.section(&data);
                    continue;
                }
                module.section(&wasm_encoder::RawSection { id, data: &wasm[range] });
            }
        }
    }
    Ok(module.finish())
}

/// Runs of non-zero host pages at or above `stack_top`, each trimmed of zero ends.
fn segments(memory: &[u8], stack_top: usize) -> Vec<(u64, &[u8])> {
    let pages = memory.chunks(HOST_PAGE_BYTES).collect::<Vec<_>>();
    let mut segments = Vec::new();
    let mut page = stack_top / HOST_PAGE_BYTES;
    while page < pages.len() {
        if pages[page].iter().all(|&b| b == 0) {
            page += 1;
            continue;
        }
        let first = page;
        while page < pages.len() && pages[page].iter().any(|&b| b != 0) {
            page += 1;
        }
        let run = &memory[first * HOST_PAGE_BYTES..(page * HOST_PAGE_BYTES).min(memory.len())];
        let start = run.iter().position(|&b| b != 0).expect("the run holds a non-zero page");
        let end = run.iter().rposition(|&b| b != 0).expect("the run holds a non-zero page");
        segments.push(((first * HOST_PAGE_BYTES + start) as u64, &run[start..=end]));
    }
    segments
}

/// Splits `wasm` into code and heap, checking that its memories can be snapshotted (see the
/// module docs).
pub fn split(wasm: &[u8]) -> Result<Split> {
    let mut memory = None;
    let mut data = Vec::new();
    let mut mutable_globals = Vec::new();
    let mut stack_pointer = None;
    let mut global_index = 0u32;
    for payload in Parser::new(0).parse_all(wasm) {
        match payload.map_err(invalid)? {
            Payload::ImportSection(reader) => {
                for import in reader.into_imports() {
                    let import = import.map_err(invalid)?;
                    match import.ty {
                        TypeRef::Memory(_) => return Err(invalid("it imports a memory")),
                        TypeRef::Global(ty) => {
                            if ty.mutable {
                                mutable_globals.push(global_index);
                            }
                            global_index += 1;
                        }
                        _ => {}
                    }
                }
            }
            Payload::MemorySection(reader) => {
                for ty in reader {
                    let ty = ty.map_err(invalid)?;
                    if memory.replace(ty).is_some() {
                        return Err(invalid("it defines more than one memory"));
                    }
                }
            }
            Payload::GlobalSection(reader) => {
                for global in reader {
                    let global = global.map_err(invalid)?;
                    if global.ty.mutable {
                        mutable_globals.push(global_index);
                        stack_pointer = const_offset(&global.init_expr);
                    }
                    global_index += 1;
                }
            }
            Payload::DataSection(reader) => {
                for segment in reader {
                    let segment = segment.map_err(invalid)?;
                    let DataKind::Active { memory_index: 0, offset_expr } = segment.kind else {
                        return Err(invalid("it has a passive data segment"));
                    };
                    let offset = const_offset(&offset_expr).ok_or_else(|| invalid("a data offset is not constant"))?;
                    data.push((offset, segment.data));
                }
            }
            Payload::CodeSectionEntry(body) => {
                let mut reader = body.get_operators_reader().map_err(invalid)?;
                while !reader.eof() {
                    if let Operator::MemoryInit { .. } | Operator::DataDrop { .. } = reader.read().map_err(invalid)? {
                        return Err(invalid("its code writes data segments"));
                    }
                }
            }
            _ => {}
        }
    }
    let memory = memory.ok_or_else(|| invalid("it defines no memory"))?;
    if memory.shared || memory.memory64 {
        return Err(invalid("its memory is shared or 64-bit"));
    }
    let stack_top = match (mutable_globals.as_slice(), stack_pointer) {
        ([_], Some(top)) => top as usize,
        _ => return Err(invalid("the shadow stack pointer must be its only mutable global")),
    };
    if data.iter().any(|(offset, _)| (*offset as usize) < stack_top) {
        return Err(invalid("data lies inside the shadow stack"));
    }
    Ok(Split {
        code: code_module(wasm, &memory)?,
        heap: heap_module(&memory, memory.initial, &data),
        memory,
        stack_top,
    })
}

/// `wasm` with its memory imported from `MEMORY_IMPORT` and its data removed. The import is the
/// module's only memory, so memory index 0 and the `memory` export keep their meaning, and no
/// other index moves.
fn code_module(wasm: &[u8], memory: &wasmparser::MemoryType) -> Result<Vec<u8>> {
    let mut module = wasm_encoder::Module::new();
    let mut imported = false;
    let add_import = |module: &mut wasm_encoder::Module, imports: &mut ImportSection| {
        imports.import(MEMORY_IMPORT.0, MEMORY_IMPORT.1, memory_type(memory, memory.initial));
        module.section(imports);
    };
    for payload in Parser::new(0).parse_all(wasm) {
        let payload = payload.map_err(invalid)?;
        match &payload {
            Payload::Version { .. } | Payload::End(_) | Payload::CodeSectionEntry(_) => {}
            Payload::MemorySection(_) | Payload::DataCountSection { .. } | Payload::DataSection(_) => {}
            Payload::ImportSection(reader) => {
                let mut imports = ImportSection::new();
                RoundtripReencoder.parse_import_section(&mut imports, reader.clone()).map_err(invalid)?;
                add_import(&mut module, &mut imports);
                imported = true;
            }
            Payload::CustomSection(section) => {
                module.section(&CustomSection { name: section.name().into(), data: section.data().into() });
            }
            other => {
                let (id, range) = other.as_section().ok_or_else(|| invalid("an unexpected section"))?;
                if !imported && id > 2 {
                    add_import(&mut module, &mut ImportSection::new());
                    imported = true;
                }
                module.section(&wasm_encoder::RawSection { id, data: &wasm[range] });
            }
        }
    }
    Ok(module.finish())
}

#[cfg(test)]
mod tests {
    use wasmtime::{Engine, Extern, Instance, Memory, Module, Store};

    use super::*;

    const GUEST: &str = r#"
      (module
        (memory (export "memory") 2)
        (global $sp (mut i32) (i32.const 65536))
        (data (i32.const 67584) "hello")
        (func (export "poke") (param i32 i32) (i32.store8 (local.get 0) (local.get 1)))
        (func (export "peek") (param i32) (result i32) (i32.load8_u (local.get 0))))
    "#;

    /// A heap instance, then the code on its memory.
    fn boot(engine: &Engine, code: &Module, heap: &[u8]) -> (Store<()>, Instance, Memory) {
        let mut store = Store::new(engine, ());
        let heap = Instance::new(&mut store, &Module::new(engine, heap).unwrap(), &[]).unwrap();
        let memory = heap.get_memory(&mut store, HEAP_EXPORT).unwrap();
        let instance = Instance::new(&mut store, code, &[Extern::Memory(memory)]).unwrap();
        (store, instance, memory)
    }

    fn peek(store: &mut Store<()>, instance: &Instance, at: i32) -> i32 {
        instance.get_typed_func::<i32, i32>(&mut *store, "peek").unwrap().call(&mut *store, at).unwrap()
    }

    fn poke(store: &mut Store<()>, instance: &Instance, at: i32, value: i32) {
        let poke = instance.get_typed_func::<(i32, i32), ()>(&mut *store, "poke").unwrap();
        poke.call(&mut *store, (at, value)).unwrap();
    }

    #[test]
    fn a_snapshot_of_the_memory_starts_the_next_instance_and_leaves_the_stack_out() {
        let wasm = wat::parse_str(GUEST).unwrap();
        let split = split(&wasm).unwrap();
        assert_eq!(split.stack_top, 65536);
        let engine = Engine::default();
        let code = Module::new(&engine, &split.code).unwrap();
        assert!(code.imports().any(|i| (i.module(), i.name()) == MEMORY_IMPORT));
        let (mut store, instance, memory) = boot(&engine, &code, &split.heap);
        assert_eq!(peek(&mut store, &instance, 67584), i32::from(b'h'));
        poke(&mut store, &instance, 70000, 7);
        poke(&mut store, &instance, 100, 9); // inside the shadow stack: not kept
        let snapshot = snapshot_heap(&split.memory, memory.data(&store), split.stack_top);
        let (mut store, instance, _) = boot(&engine, &code, &snapshot);
        assert_eq!([67584, 70000, 100].map(|at| peek(&mut store, &instance, at)), [i32::from(b'h'), 7, 0]);
        // The same memory as one self-contained module, as a pre-initialiser would write it.
        let (mut store, _, memory) = boot(&engine, &code, &snapshot);
        let image = memory.data(&store).to_vec();
        let whole = Module::new(&engine, with_memory(&wasm, &split, &image).unwrap()).unwrap();
        let instance = Instance::new(&mut store, &whole, &[]).unwrap();
        assert_eq!(peek(&mut store, &instance, 70000), 7);
    }

    #[test]
    fn modules_whose_memory_cannot_be_snapshotted_are_refused() {
        let refused = [
            ("(module (memory 1) (memory 1))", "more than one memory"),
            ("(module (import \"m\" \"mem\" (memory 1)))", "imports a memory"),
            ("(module (memory 1) (global (mut i32) (i32.const 0)) (data \"x\"))", "passive"),
            (
                "(module (memory 1) (global (mut i32) (i32.const 64)) (data \"x\") \
                 (func (memory.init 0 (i32.const 0) (i32.const 0) (i32.const 1))))",
                "writes data segments",
            ),
            ("(module (memory 1))", "only mutable global"),
            (
                "(module (memory 1) (global (mut i32) (i32.const 4096)) (data (i32.const 0) \"x\"))",
                "inside the shadow stack",
            ),
            ("(module (global (mut i32) (i32.const 0)))", "no memory"),
        ];
        for (module, why) in refused {
            let wasm = wat::parse_str(module).unwrap();
            let error = split(&wasm).err().unwrap_or_else(|| panic!("{module} was not refused")).to_string();
            assert!(error.contains(why), "{module}: {error}");
        }
    }
}
