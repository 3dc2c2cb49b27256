//! The memory side of an isolate's limits: a `ResourceLimiter` that turns growth past the cap
//! into a trap carrying `Error::MemoryLimit`, so the caller learns why the guest stopped.

use crate::error::Error;

/// Caps linear memory and tables of one isolate.
pub struct MemoryLimiter {
    pub memory_bytes: u64,
    pub table_elements: usize,
}

impl wasmtime::ResourceLimiter for MemoryLimiter {
    fn memory_growing(&mut self, _current: usize, desired: usize, _maximum: Option<usize>) -> wasmtime::Result<bool> {
        if desired as u64 > self.memory_bytes {
            return Err(wasmtime::Error::new(Error::MemoryLimit { memory_bytes: self.memory_bytes }));
        }
        Ok(true)
    }

    fn table_growing(&mut self, _current: usize, desired: usize, _maximum: Option<usize>) -> wasmtime::Result<bool> {
        if desired > self.table_elements {
            return Err(wasmtime::Error::new(Error::TableLimit { elements: self.table_elements as u64 }));
        }
        Ok(true)
    }

    /// Two: code whose memory is a heap module's is two instances (`runtime/heap.rs`).
    fn instances(&self) -> usize {
        2
    }

    fn memories(&self) -> usize {
        1
    }

    fn tables(&self) -> usize {
        1
    }
}
