//! The JSON ABI between host and guest, and bounds-checked access to guest memory.
//!
//! A guest that takes or returns structured values exports:
//! - `memory`, its linear memory;
//! - `dynisolate_alloc(len: i32) -> i32`, returning a pointer to `len` writable bytes;
//! - optionally `dynisolate_inbox() -> i64`, the packed pointer/length of a buffer the host may
//!   write an input or a host call's result into instead of calling `dynisolate_alloc` (one guest
//!   entry less), when it fits. Asked once per isolate, at its second write (a fresh isolate that
//!   writes once would pay an entry to save one). The guest owns what `dynisolate_alloc` gave,
//!   but never the inbox: it must neither free it nor keep pointers into it past the call or the
//!   host call it holds the input of;
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
/// The optional buffer the host writes inputs into when they fit.
pub const INBOX_EXPORT: &str = "dynisolate_inbox";
/// The optional export that calls a function the guest passed in the env call being served:
/// `(index: i32, ptr: i32, len: i32) -> i64`, the arguments in and the reply out as a JSON
/// method's (see `host::WaitingGuest`).
pub const CALL_FUNCTION_EXPORT: &str = "dynisolate_call_function";

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

/// Writes `parts`, one after the other, into guest memory through the guest's allocator (one
/// allocation, each part copied straight in); returns the pointer and the total length.
fn write<T: 'static>(
    mut store: impl AsContextMut<Data = T>,
    memory: Memory,
    alloc: &TypedFunc<i32, i32>,
    inbox: Option<u32>,
    parts: &[&[u8]],
) -> wasmtime::Result<(u32, u32)> {
    let total: usize = parts.iter().map(|p| p.len()).sum();
    let len = i32::try_from(total).map_err(|_| abi_error("payload larger than 2 GiB"))?;
    let ptr = match inbox {
        Some(ptr) => ptr,
        None => alloc.call(&mut store, len)? as u32,
    };
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
    abi: Option<&mut JsonAbi>,
    bytes: &[u8],
) -> wasmtime::Result<i64> {
    let (ptr, len) = match abi {
        Some(abi) => abi.write(&mut *caller, &[bytes])?,
        None => {
            let memory = memory(caller)?;
            let alloc = match caller.get_export(ALLOC_EXPORT) {
                Some(Extern::Func(f)) => f.typed::<i32, i32>(&*caller)?,
                _ => return Err(abi_error("the guest calls a host import but exports no `dynisolate_alloc`")),
            };
            write(&mut *caller, memory, &alloc, None, &[bytes])?
        }
    };
    Ok(pack(ptr, len))
}

/// Whether a function type is that of a JSON-ABI method: `(i32, i32) -> i64`.
pub fn is_json_method(ty: &wasmtime::FuncType) -> bool {
    let (params, results): (Vec<ValType>, Vec<ValType>) = (ty.params().collect(), ty.results().collect());
    matches!((params.as_slice(), results.as_slice()), ([ValType::I32, ValType::I32], [ValType::I64]))
}

fn is_inbox(ty: &wasmtime::FuncType) -> bool {
    ty.params().len() == 0 && matches!(ty.results().collect::<Vec<_>>().as_slice(), [ValType::I64])
}

fn is_alloc(ty: &wasmtime::FuncType) -> bool {
    let (params, results): (Vec<ValType>, Vec<ValType>) = (ty.params().collect(), ty.results().collect());
    matches!((params.as_slice(), results.as_slice()), ([ValType::I32], [ValType::I32]))
}

/// Writes an isolate makes before it asks for the guest's inbox (see the module docs).
const WRITES_BEFORE_INBOX: u32 = 1;

/// What the host knows of a guest's inbox.
#[derive(Clone, Copy)]
enum Inbox {
    Unasked { writes: u32 },
    At { ptr: u32, len: u32 },
    Absent,
}

/// The memory, allocator and inbox of an instance that speaks the JSON ABI.
#[derive(Clone)]
pub struct JsonAbi {
    pub memory: Memory,
    pub alloc: TypedFunc<i32, i32>,
    instance: Instance,
    inbox: Inbox,
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
        match module.get_export(INBOX_EXPORT) {
            None => Ok(()),
            Some(ExternType::Func(ty)) if is_inbox(&ty) => Ok(()),
            Some(_) => Err(Error::Load("a module's `dynisolate_inbox` export must have type () -> i64".into())),
        }
    }

    /// Looks up the ABI exports of a fresh instance of a module that passed `check`.
    pub fn of<T>(store: &mut Store<T>, instance: &Instance) -> Result<JsonAbi, Error> {
        let memory = instance
            .get_memory(&mut *store, MEMORY_EXPORT)
            .ok_or_else(|| Error::Load("a JSON-ABI guest must export `memory`".into()))?;
        let alloc = instance
            .get_typed_func::<i32, i32>(&mut *store, ALLOC_EXPORT)
            .map_err(|_| Error::Load("a JSON-ABI guest must export `dynisolate_alloc: (i32) -> i32`".into()))?;
        Ok(JsonAbi { memory, alloc, instance: *instance, inbox: Inbox::Unasked { writes: 0 } })
    }

    /// Copies the call's input, given in parts, into the guest as one buffer.
    pub fn write_input<T: 'static>(&mut self, store: &mut Store<T>, parts: &[&[u8]]) -> wasmtime::Result<(i32, i32)> {
        let (ptr, len) = self.write(&mut *store, parts)?;
        Ok((ptr as i32, len as i32))
    }

    fn write<T: 'static>(
        &mut self,
        mut store: impl AsContextMut<Data = T>,
        parts: &[&[u8]],
    ) -> wasmtime::Result<(u32, u32)> {
        let total: usize = parts.iter().map(|p| p.len()).sum();
        let inbox = match self.inbox(&mut store)? {
            Inbox::At { ptr, len } if total <= len as usize => Some(ptr),
            _ => None,
        };
        write(store, self.memory, &self.alloc, inbox, parts)
    }

    /// The inbox, asked for (a guest entry) at the write that makes it worth it.
    fn inbox<T: 'static>(&mut self, mut store: impl AsContextMut<Data = T>) -> wasmtime::Result<Inbox> {
        if let Inbox::Unasked { writes } = self.inbox {
            self.inbox = if writes < WRITES_BEFORE_INBOX {
                Inbox::Unasked { writes: writes + 1 }
            } else {
                match self.instance.get_typed_func::<(), i64>(&mut store, INBOX_EXPORT) {
                    Err(_) => Inbox::Absent,
                    Ok(ask) => {
                        let (ptr, len) = unpack(ask.call(&mut store, ())?);
                        let end = (ptr as usize).checked_add(len as usize);
                        if end.is_none_or(|end| end > self.memory.data_size(&store)) {
                            return Err(abi_error(format!(
                                "dynisolate_inbox gave {len} bytes at {ptr:#x}, outside guest memory"
                            )));
                        }
                        Inbox::At { ptr, len }
                    }
                }
            };
        }
        Ok(self.inbox)
    }

    /// Copies the call's result out of the guest.
    pub fn read_output<T>(&self, store: &Store<T>, packed: i64, limit: u64) -> Result<Vec<u8>, Error> {
        let (ptr, len) = unpack(packed);
        copy_out(self.memory.data(store), ptr, len, limit)
    }
}
