//! The JSON ABI between host and guest, and bounds-checked access to guest memory.
//!
//! A guest that takes or returns structured values exports:
//! - `memory`, its linear memory;
//! - `dynisolate_alloc(len: i32) -> i32`, returning a pointer to `len` writable bytes;
//! - one function per method, exported as `json:NAME` with type `(ptr: i32, len: i32) -> i64`.
//!   The input is a UTF-8 JSON array of the call's arguments; the result is a packed
//!   pointer/length (`ptr << 32 | len`) of the UTF-8 JSON result.
//!
//! Everything read here comes from a guest and is treated as hostile: pointers and lengths are
//! checked against the memory and the payload limit before anything is copied. Nothing here
//! depends on what a store holds, so every function is generic over the store's data.

use wasmtime::{AsContextMut, Caller, Extern, ExternType, Instance, Memory, Module, Store, TypedFunc, ValType};

use crate::error::Error;

/// Name prefix of exports that speak the JSON ABI.
pub const JSON_EXPORT_PREFIX: &str = "json:";
/// The guest allocator the host writes inputs through.
pub const ALLOC_EXPORT: &str = "dynisolate_alloc";
/// The guest memory the ABI reads and writes.
pub const MEMORY_EXPORT: &str = "memory";

/// Packs a pointer and a length into the `i64` a JSON function returns.
pub fn pack(ptr: u32, len: u32) -> i64 {
    (((ptr as u64) << 32) | len as u64) as i64
}

/// Splits a packed `i64` into pointer and length.
pub fn unpack(packed: i64) -> (u32, u32) {
    let v = packed as u64;
    ((v >> 32) as u32, v as u32)
}

fn abi_error(msg: impl Into<String>) -> wasmtime::Error {
    wasmtime::Error::new(Error::Serialization(msg.into()))
}

/// Copies `len` bytes at `ptr` out of `memory`, refusing anything out of bounds or over `limit`.
pub fn copy_out(memory: &[u8], ptr: u32, len: u32, limit: u64) -> Result<Vec<u8>, Error> {
    if len as u64 > limit {
        return Err(Error::PayloadTooLarge { bytes: len as u64, limit });
    }
    let start = ptr as usize;
    let end = start.checked_add(len as usize);
    match end.and_then(|end| memory.get(start..end)) {
        Some(bytes) => Ok(bytes.to_vec()),
        None => Err(Error::Serialization(format!(
            "the guest passed {len} bytes at {ptr:#x}, outside its {}-byte memory",
            memory.len()
        ))),
    }
}

/// The calling guest's exported memory, inside a host import.
pub fn memory<T>(caller: &mut Caller<'_, T>) -> wasmtime::Result<Memory> {
    match caller.get_export(MEMORY_EXPORT) {
        Some(Extern::Memory(m)) => Ok(m),
        _ => Err(abi_error("the guest calls a host import but exports no `memory`")),
    }
}

/// Reads guest bytes inside a host import.
pub fn read<T>(caller: &mut Caller<'_, T>, ptr: i32, len: i32, limit: u64) -> wasmtime::Result<Vec<u8>> {
    let memory = memory(caller)?;
    copy_out(memory.data(&*caller), ptr as u32, len as u32, limit).map_err(wasmtime::Error::new)
}

/// Writes `parts`, one after the other, into guest memory through the guest's allocator (one
/// allocation, each part copied straight in); returns the pointer and the total length.
fn write<T: 'static>(
    mut store: impl AsContextMut<Data = T>,
    memory: Memory,
    alloc: &TypedFunc<i32, i32>,
    parts: &[&[u8]],
) -> wasmtime::Result<(u32, u32)> {
    let total: usize = parts.iter().map(|p| p.len()).sum();
    let len = i32::try_from(total).map_err(|_| abi_error("payload larger than 2 GiB"))?;
    let ptr = alloc.call(&mut store, len)? as u32;
    let data = memory.data_mut(&mut store);
    let end = (ptr as usize).checked_add(total);
    let Some(mut dst) = end.and_then(|end| data.get_mut(ptr as usize..end)) else {
        return Err(abi_error(format!("dynisolate_alloc returned {ptr:#x}, outside guest memory")));
    };
    for part in parts {
        let (head, rest) = dst.split_at_mut(part.len());
        head.copy_from_slice(part);
        dst = rest;
    }
    Ok((ptr, total as u32))
}

/// Writes a host-call result into the guest and returns the packed pointer/length. `abi` is the
/// guest's ABI when found at boot; without it the exports are looked up by name.
pub fn write_result<T: 'static>(
    caller: &mut Caller<'_, T>,
    abi: Option<&JsonAbi>,
    bytes: &[u8],
) -> wasmtime::Result<i64> {
    let (memory, alloc) = match abi {
        Some(abi) => (abi.memory, abi.alloc.clone()),
        None => {
            let memory = memory(caller)?;
            let alloc = match caller.get_export(ALLOC_EXPORT) {
                Some(Extern::Func(f)) => f.typed::<i32, i32>(&*caller)?,
                _ => return Err(abi_error("the guest calls a host import but exports no `dynisolate_alloc`")),
            };
            (memory, alloc)
        }
    };
    let (ptr, len) = write(&mut *caller, memory, &alloc, &[bytes])?;
    Ok(pack(ptr, len))
}

/// Whether a function type is that of a JSON-ABI method: `(i32, i32) -> i64`.
pub fn is_json_method(ty: &wasmtime::FuncType) -> bool {
    let (params, results): (Vec<ValType>, Vec<ValType>) = (ty.params().collect(), ty.results().collect());
    matches!((params.as_slice(), results.as_slice()), ([ValType::I32, ValType::I32], [ValType::I64]))
}

fn is_alloc(ty: &wasmtime::FuncType) -> bool {
    let (params, results): (Vec<ValType>, Vec<ValType>) = (ty.params().collect(), ty.results().collect());
    matches!((params.as_slice(), results.as_slice()), ([ValType::I32], [ValType::I32]))
}

/// The memory and allocator of an instance that speaks the JSON ABI.
#[derive(Clone)]
pub struct JsonAbi {
    pub memory: Memory,
    pub alloc: TypedFunc<i32, i32>,
}

impl JsonAbi {
    /// Fails unless `module` exports what the ABI needs: its `memory` and `dynisolate_alloc`.
    pub fn check(module: &Module) -> Result<(), Error> {
        if !matches!(module.get_export(MEMORY_EXPORT), Some(ExternType::Memory(_))) {
            return Err(Error::Load("a module with json: exports must export its `memory`".into()));
        }
        let alloc_ok = match module.get_export(ALLOC_EXPORT) {
            Some(ExternType::Func(ty)) => is_alloc(&ty),
            _ => false,
        };
        if !alloc_ok {
            return Err(Error::Load("a module with json: exports must export `dynisolate_alloc: (i32) -> i32`".into()));
        }
        Ok(())
    }

    /// Looks up the ABI exports of a fresh instance of a module that passed `check`.
    pub fn of<T>(store: &mut Store<T>, instance: &Instance) -> Result<JsonAbi, Error> {
        let memory = instance
            .get_memory(&mut *store, MEMORY_EXPORT)
            .ok_or_else(|| Error::Load("a JSON-ABI guest must export `memory`".into()))?;
        let alloc = instance
            .get_typed_func::<i32, i32>(&mut *store, ALLOC_EXPORT)
            .map_err(|_| Error::Load("a JSON-ABI guest must export `dynisolate_alloc: (i32) -> i32`".into()))?;
        Ok(JsonAbi { memory, alloc })
    }

    /// Copies the call's input, given in parts, into the guest as one buffer.
    pub fn write_input<T: 'static>(&self, store: &mut Store<T>, parts: &[&[u8]]) -> wasmtime::Result<(i32, i32)> {
        let (ptr, len) = write(&mut *store, self.memory, &self.alloc, parts)?;
        Ok((ptr as i32, len as i32))
    }

    /// Copies the call's result out of the guest.
    pub fn read_output<T>(&self, store: &Store<T>, packed: i64, limit: u64) -> Result<Vec<u8>, Error> {
        let (ptr, len) = unpack(packed);
        copy_out(self.memory.data(store), ptr, len, limit)
    }
}
