//! Pre-initialisation: run a module's init function once, then rewrite the module so its memory
//! and globals start in that initialised state (the `wasmtime-wizer` crate does the instrumenting
//! and rewriting). Instantiating the result is a copy-on-write mapping of the initialised heap.

use std::future::Future;
use std::pin::pin;
use std::task::{Context, Poll, Waker};

use wasmtime::{Engine, Instance, Linker, Module, Store, Val};
use wasmtime_wizer::{InstanceState, SnapshotVal, ValType, Wizer};

use crate::error::{Error, Result};

/// Epoch ticks the init function may run for: effectively unbounded, it is our own code.
const INIT_EPOCH_TICKS: u64 = 1 << 40;

struct State<'a, T: 'static> {
    store: &'a mut Store<T>,
    instance: Instance,
}

impl<T: Send> InstanceState for State<'_, T> {
    fn global_get(&mut self, name: &str, _type_hint: ValType) -> impl Future<Output = SnapshotVal> + Send {
        let global = self.instance.get_global(&mut *self.store, name).expect("wizer names an exported global");
        let value = match global.get(&mut *self.store) {
            Val::I32(x) => SnapshotVal::I32(x),
            Val::I64(x) => SnapshotVal::I64(x),
            Val::F32(x) => SnapshotVal::F32(x),
            Val::F64(x) => SnapshotVal::F64(x),
            Val::V128(x) => SnapshotVal::V128(x.as_u128()),
            other => panic!("global {name} holds {other:?}, which a snapshot cannot carry"),
        };
        std::future::ready(value)
    }

    fn memory_contents(&mut self, name: &str, contents: impl FnOnce(&[u8]) + Send) -> impl Future<Output = ()> + Send {
        let memory = self.instance.get_memory(&mut *self.store, name).expect("wizer names an exported memory");
        contents(memory.data(&*self.store));
        std::future::ready(())
    }
}

/// Drives a future whose every await is already complete (our `InstanceState` never waits).
fn complete<F: Future>(future: F) -> F::Output {
    let mut future = pin!(future);
    match future.as_mut().poll(&mut Context::from_waker(Waker::noop())) {
        Poll::Ready(output) => output,
        Poll::Pending => unreachable!("the snapshot only awaits ready futures"),
    }
}

/// Runs `_initialize` (if exported) and `init` in a fresh instance of `wasm` whose store holds
/// `data`, and returns the module rewritten to start from the resulting state.
pub fn pre_initialize<T: Send + 'static>(
    engine: &Engine,
    linker: &Linker<T>,
    data: T,
    wasm: &[u8],
    init: &str,
    consume_fuel: bool,
) -> Result<Vec<u8>> {
    let fail =
        |what: &str, e: wasmtime::Error| Error::Load(format!("pre-initialising the engine failed ({what}): {e:#}"));
    let mut wizer = Wizer::new();
    wizer.init_func(init);
    let (context, instrumented) = wizer.instrument(wasm).map_err(|e| fail("instrument", e))?;
    let module = Module::new(engine, &instrumented).map_err(|e| fail("compile", e))?;
    let mut store = Store::new(engine, data);
    store.set_epoch_deadline(INIT_EPOCH_TICKS);
    if consume_fuel {
        store.set_fuel(u64::MAX).map_err(|e| fail("fuel", e))?;
    }
    let instance = linker.instantiate(&mut store, &module).map_err(|e| fail("instantiate", e))?;
    if let Ok(initialize) = instance.get_typed_func::<(), ()>(&mut store, "_initialize") {
        initialize.call(&mut store, ()).map_err(|e| fail("_initialize", e))?;
    }
    let init_func = instance.get_typed_func::<(), ()>(&mut store, init).map_err(|e| fail(init, e))?;
    init_func.call(&mut store, ()).map_err(|e| fail(init, e))?;
    complete(wizer.snapshot(&context, &mut State { store: &mut store, instance })).map_err(|e| fail("snapshot", e))
}
