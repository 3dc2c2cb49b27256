//! Evaluated bundles, kept as heaps: a fresh call should not deserialise and evaluate a bundle's
//! modules again. Once a bundle has been called twice in this process (by any of its workers:
//! the durable engine makes a worker per run), its modules are evaluated
//! once more in a throwaway isolate (loaded, no env, no call, garbage collected) and that memory
//! becomes a heap module (`runtime/heap.rs`): every later isolate of the bundle maps it
//! copy-on-write and makes its call in one entry into the guest, reseeded and given its env.
//!
//! What makes this sound: nothing of a call or of a tenant's env is in the heap (env arrives
//! with each isolate's first call); while the modules are evaluated, randomness, timers and I/O
//! are refused (as on Cloudflare), so the heap holds nothing that differs between isolates but
//! what any evaluation of the same code would hold, and `Math.random` is reseeded per isolate. A
//! bundle that instantiates WebAssembly while its modules are evaluated is never snapshotted:
//! those instances live on the host, outside the heap; nor is one whose evaluation leaves a
//! TextDecoder, compression or DigestStream stream open (its state is on the host too). Module-scope values (`Date.now()`, a
//! `Math.random()` there) are those of the evaluation that made the heap, shared by every isolate
//! restored from it, as an isolate's are by every request it serves on Cloudflare.
//!
//! Heaps are keyed by the bundle's content key (interpreter, transform, modules), so every worker
//! of the same code shares one; a few dozen are kept, least recently used evicted (each costs
//! about as much memory as the heap, a few MiB).

use std::collections::{HashMap, VecDeque};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use wasmtime::Module;

use crate::error::{Error, Result};
use crate::js::extension::JsExtension;
use crate::js::interpreter::Interpreter;
use crate::js::protocol::{self, FLAG_SETTLE, WASM_PREFIX};
use crate::js::worker::{self, JsWorker};
use crate::pool::Pool;
use crate::runtime::heap;
use crate::sandbox::host::{Host, error_envelope};
use crate::sandbox::state::Extension;

/// Heaps kept per runtime.
pub const MAX_SNAPSHOTS: usize = 32;

/// Bundles remembered as called once, so their second call (from any worker) takes the heap.
const MAX_SEEN: usize = 4096;

/// How long taking a snapshot waits for a slot.
const SNAPSHOT_ACQUIRE_TIMEOUT: Duration = Duration::from_secs(5);

/// What the cache knows of a bundle.
#[derive(Clone)]
pub(crate) enum Heap {
    Ready(Module),
    /// This bundle cannot be snapshotted; fresh isolates evaluate it.
    Refused,
}

/// A map that forgets its least recently used entries past `capacity`.
struct Recent<T> {
    entries: HashMap<[u8; 32], T>,
    order: VecDeque<[u8; 32]>,
    capacity: usize,
}

impl<T: Clone> Recent<T> {
    fn new(capacity: usize) -> Self {
        Recent { entries: HashMap::new(), order: VecDeque::new(), capacity }
    }

    fn get(&mut self, key: &[u8; 32]) -> Option<T> {
        let value = self.entries.get(key)?.clone();
        if let Some(at) = self.order.iter().rposition(|k| k == key) {
            let key = self.order.remove(at).expect("the position is in range");
            self.order.push_back(key);
        }
        Some(value)
    }

    fn insert(&mut self, key: [u8; 32], value: T) {
        if self.entries.insert(key, value).is_none() {
            self.order.push_back(key);
        }
        while self.order.len() > self.capacity {
            if let Some(old) = self.order.pop_front() {
                self.entries.remove(&old);
            }
        }
    }
}

/// What one runtime knows of bundles' heaps.
pub(crate) struct Snapshots {
    heaps: Recent<Heap>,
    seen: Recent<()>,
}

impl Default for Snapshots {
    fn default() -> Self {
        Snapshots { heaps: Recent::new(MAX_SNAPSHOTS), seen: Recent::new(MAX_SEEN) }
    }
}

/// What a fresh call of a bundle should do about its heap.
pub(crate) enum Next {
    Use(Heap),
    /// Take the heap now: the bundle was called before.
    Take,
    /// Evaluate the bundle in the call: its first.
    Evaluate,
}

impl Snapshots {
    /// Notes a fresh call of bundle `key` and says what it should do.
    pub(crate) fn next(&mut self, key: &[u8; 32]) -> Next {
        if let Some(heap) = self.heaps.get(key) {
            return Next::Use(heap);
        }
        if self.seen.get(key).is_some() {
            return Next::Take;
        }
        self.seen.insert(*key, ());
        Next::Evaluate
    }

    pub(crate) fn insert(&mut self, key: [u8; 32], heap: Heap) {
        self.heaps.insert(key, heap);
    }
}

/// The extension of the isolate a snapshot is taken in: it refuses the bundle's WebAssembly
/// (instances would live on the host, not in the heap) and remembers that it was asked.
struct NoWebAssembly(Arc<AtomicBool>);

impl Extension for NoWebAssembly {
    fn env_call(&mut self, name: &str, _: &[u8], _: Option<Arc<dyn Host>>) -> Option<Result<Vec<u8>>> {
        name.starts_with(WASM_PREFIX).then(|| {
            self.0.store(true, Ordering::Relaxed);
            Ok(error_envelope("TypeError", "WebAssembly cannot be instantiated while the modules are evaluated"))
        })
    }
}

/// Evaluates `worker`'s bundle in a throwaway isolate and returns its memory as a heap: `Ok(None)`
/// when the bundle cannot be snapshotted (it instantiated WebAssembly, left a stream with host state
/// open, or its evaluation failed, which the first call will report).
pub(crate) fn take(pool: &Arc<Pool>, interpreter: &Interpreter, worker: &JsWorker) -> Result<Option<Module>> {
    let mut isolate = worker.interpreter.boot(None, SNAPSHOT_ACQUIRE_TIMEOUT)?;
    let asked_for_wasm = Arc::new(AtomicBool::new(false));
    isolate.set_extension(JsExtension::with_wasm(Box::new(NoWebAssembly(asked_for_wasm.clone()))));
    let load = protocol::load_request(&worker.main, FLAG_SETTLE, worker::seed());
    let loaded = worker::start(&mut isolate, &worker.bytecode, &load, None, None, None)
        .and_then(|reply| protocol::envelope(&reply));
    // A stream left open (TextDecoder, compression, DigestStream) keeps its state on the host,
    // outside the heap.
    let streams_open = isolate.extension().and_then(JsExtension::of).is_some_and(|js| js.has_open_streams());
    match loaded {
        Ok(_) if !asked_for_wasm.load(Ordering::Relaxed) && !streams_open => {}
        Ok(_) | Err(Error::Guest { .. }) => return Ok(None),
        Err(e) => return Err(e),
    }
    let memory = isolate.memory().ok_or_else(|| Error::Load("the interpreter has no memory".into()))?;
    let wasm = heap::snapshot_heap(&interpreter.memory, memory, interpreter.stack_top);
    drop(isolate);
    Module::new(&pool.runtime.engine, &wasm).map(Some).map_err(|e| Error::Load(format!("a bundle's heap: {e:#}")))
}
