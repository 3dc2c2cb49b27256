//! An isolate: one `Store` and `Instance` in a pool slot, booted from a [`Guest`]. It runs calls
//! under the guest's limits and is discarded after any fatal error; dropping it frees the slot,
//! and wasmtime resets the slot's memory before the next isolate uses it.

use std::sync::Arc;
use std::sync::atomic::AtomicBool;
use std::time::Duration;

use wasmtime::{Extern, Func, Instance, Store, StoreContextMut, TypedFunc, UpdateDeadline, Val};

use crate::error::{Error, Result};
use crate::runtime::slots::SlotPermit;
use crate::sandbox::abi::JsonAbi;
use crate::sandbox::guest::{Export, ExportKind, Guest, Instantiation, NumType};
use crate::sandbox::host::{Host, LogRecord};
use crate::sandbox::state::{Extension, StoreData, classify};

/// A call's arguments.
#[derive(Clone, Copy)]
pub enum Input<'a> {
    Numeric(&'a [Val]),
    /// A UTF-8 JSON array of arguments.
    Json(&'a [u8]),
    /// Bytes for a `json:` export that the host built itself (the JavaScript engine's bundle
    /// and requests), given in parts that are written into the guest as one buffer: neither they
    /// nor the reply are counted against `max_payload_bytes`; the caller checks what part of the
    /// reply is the tenant's.
    HostBytes(&'a [&'a [u8]]),
}

/// A call's result.
#[derive(Debug)]
pub enum Output {
    Numeric(Vec<Val>),
    /// UTF-8 JSON, as the guest wrote it (not yet validated).
    Json(Vec<u8>),
}

// Field order is drop order: the store (and its instance) goes before the slot is given back.
struct Live {
    store: Store<StoreData>,
    instance: Instance,
    /// Exports looked up so far, by `Export::ordinal` (a lookup and a type check cost more than
    /// a small call).
    funcs: Vec<Option<Callable>>,
    _slot: SlotPermit,
}

#[derive(Clone)]
enum Callable {
    Numeric(Func),
    Json(TypedFunc<(i32, i32), i64>),
}

impl Live {
    fn callable(&mut self, export: &Export) -> Result<Callable> {
        if let Some(Some(callable)) = self.funcs.get(export.ordinal) {
            return Ok(callable.clone());
        }
        let Some(Extern::Func(func)) = self.instance.get_module_export(&mut self.store, &export.index) else {
            return Err(Error::ExportNotFound { name: export.name.clone() });
        };
        let callable = match export.kind {
            ExportKind::Json => Callable::Json(func.typed(&self.store).map_err(|e| Error::Load(e.to_string()))?),
            _ => Callable::Numeric(func),
        };
        if self.funcs.len() <= export.ordinal {
            self.funcs.resize(export.ordinal + 1, None);
        }
        self.funcs[export.ordinal] = Some(callable.clone());
        Ok(callable)
    }
}

/// What a fresh-isolate call produced: its result and the log records it wrote.
pub struct CallReport {
    pub result: Result<Output>,
    pub logs: Vec<LogRecord>,
}

/// One live instance of a guest (see the module docs).
pub struct Isolate {
    live: Option<Live>,
    guest: Arc<Guest>,
    logs: Vec<LogRecord>,
    ended_by: Option<String>,
    /// How long its last call (or its boot) waited on the host.
    waited: Duration,
}

fn check_deadline(ctx: StoreContextMut<'_, StoreData>) -> wasmtime::Result<UpdateDeadline> {
    ctx.data().check_budget().map_err(wasmtime::Error::new)?;
    Ok(UpdateDeadline::Continue(1))
}

fn check_args(export: &Export, params: &[NumType], args: &[Val]) -> Result<()> {
    export.check_arity(args.len())?;
    for (i, (want, got)) in params.iter().zip(args).enumerate() {
        let ok = matches!(
            (want, got),
            (NumType::I32, Val::I32(_))
                | (NumType::I64, Val::I64(_))
                | (NumType::F32, Val::F32(_))
                | (NumType::F64, Val::F64(_))
        );
        if !ok {
            return Err(Error::Argument(format!("argument {i} of {}() must be {want:?}", export.name)));
        }
    }
    Ok(())
}

fn zero(ty: NumType) -> Val {
    match ty {
        NumType::I32 => Val::I32(0),
        NumType::I64 => Val::I64(0),
        NumType::F32 => Val::F32(0),
        NumType::F64 => Val::F64(0),
    }
}

impl Isolate {
    pub(crate) fn boot(
        guest: Arc<Guest>,
        host: Option<Arc<dyn Host>>,
        interrupt: Option<Arc<AtomicBool>>,
        acquire_timeout: Duration,
    ) -> Result<Isolate> {
        let runtime = guest.runtime.clone();
        let slot = runtime.slots.acquire(acquire_timeout)?;
        let memory_bytes = guest.limits.effective_memory_bytes(&runtime.config);
        let state = StoreData::new(
            guest.limits.clone(),
            memory_bytes,
            runtime.config.max_table_elements as usize,
            guest.env.clone(),
        );
        let mut store = Store::new(&runtime.engine, state);
        store.limiter(|state| &mut state.limiter);
        store.epoch_deadline_callback(check_deadline);
        if runtime.config.consume_fuel {
            store.set_fuel(guest.limits.fuel.unwrap_or(u64::MAX)).expect("fuel is enabled on this engine");
        }
        store.data_mut().begin_call(host, interrupt);
        store.set_epoch_deadline(1);
        let booted = {
            let _running = runtime.ticker.running();
            match &guest.instantiation {
                Instantiation::Module(pre) => pre.instantiate(&mut store),
                Instantiation::Split { code, heap } => code.instantiate(&mut store, heap),
            }
        };
        let instance = match booted {
            Ok(instance) => instance,
            Err(e) => return Err(classify(e, &store.data().limits)),
        };
        if guest.uses_json {
            store.data_mut().abi = Some(JsonAbi::of(&mut store, &instance)?);
        }
        let logs = store.data_mut().end_call();
        let waited = store.data().waited();
        Ok(Isolate {
            live: Some(Live { store, instance, funcs: Vec::new(), _slot: slot }),
            guest,
            logs,
            ended_by: None,
            waited,
        })
    }

    /// The guest this isolate runs.
    pub fn guest(&self) -> &Arc<Guest> {
        &self.guest
    }

    /// Whether the isolate can still take calls.
    pub fn is_alive(&self) -> bool {
        self.live.is_some()
    }

    /// How long its last call (or its boot, before any call) waited on the host.
    pub fn waited(&self) -> Duration {
        self.waited
    }

    /// Log records written since the last `take_logs`.
    pub fn take_logs(&mut self) -> Vec<LogRecord> {
        std::mem::take(&mut self.logs)
    }

    /// Frees the slot now; later calls fail with `Error::Closed`.
    pub fn close(&mut self) {
        self.live = None;
        self.ended_by.get_or_insert_with(|| "the session is closed".into());
    }

    /// Calls `export` with `input`. A fatal error discards the isolate.
    pub fn call(&mut self, export: &Export, input: Input<'_>, host: Option<Arc<dyn Host>>) -> Result<Output> {
        self.call_interruptible(export, input, host, None)
    }

    /// Like `call`; setting `interrupt` stops the guest within an epoch tick with `Error::Cancelled`.
    pub fn call_interruptible(
        &mut self,
        export: &Export,
        input: Input<'_>,
        host: Option<Arc<dyn Host>>,
        interrupt: Option<Arc<AtomicBool>>,
    ) -> Result<Output> {
        let Some(live) = self.live.as_mut() else {
            let why = self.ended_by.clone().unwrap_or_default();
            return Err(Error::Closed(format!("this isolate can take no more calls: {why}")));
        };
        let runtime = &self.guest.runtime;
        live.store.data_mut().begin_call(host, interrupt);
        if let Some(fuel) = self.guest.limits.fuel {
            live.store.set_fuel(fuel).expect("fuel is enabled on this engine");
        }
        live.store.set_epoch_deadline(1);
        let result = {
            let _running = runtime.ticker.running();
            run(live, export, input)
        };
        self.logs.append(&mut live.store.data_mut().end_call());
        self.waited = live.store.data().waited();
        match result {
            Ok(output) => Ok(output),
            Err(Failure { error, in_guest }) => {
                // Whatever stopped the guest mid-run (a trap, a limit, a failed host import)
                // left its state half-unwound: the isolate must not run again.
                if in_guest || error.is_fatal_to_isolate() {
                    self.ended_by = Some(format!("an earlier call failed: {error}"));
                    self.live = None;
                }
                Err(error)
            }
        }
    }

    /// The guest's whole linear memory, as it is now (to take a heap snapshot of it between calls).
    pub fn memory(&self) -> Option<&[u8]> {
        let live = self.live.as_ref()?;
        let abi = live.store.data().abi.as_ref()?;
        Some(abi.memory.data(&live.store))
    }

    /// Attaches per-isolate state of a layer above (see [`Extension`]).
    pub fn set_extension(&mut self, extension: Box<dyn Extension>) {
        if let Some(live) = self.live.as_mut() {
            live.store.data_mut().extension = Some(extension);
        }
    }

    /// The per-isolate state of a layer above, if it has any.
    pub fn extension(&mut self) -> Option<&mut dyn Extension> {
        self.live.as_mut()?.store.data_mut().extension.as_deref_mut()
    }
}

/// Why a call failed, and whether the guest was running when it did.
struct Failure {
    error: Error,
    in_guest: bool,
}

impl From<Error> for Failure {
    fn from(error: Error) -> Self {
        Failure { error, in_guest: false }
    }
}

fn in_guest(e: wasmtime::Error, store: &Store<StoreData>) -> Failure {
    Failure { error: classify(e, &store.data().limits), in_guest: true }
}

fn run(live: &mut Live, export: &Export, input: Input<'_>) -> Result<Output, Failure> {
    let limit = live.store.data().limits.max_payload_bytes;
    let (parts, checked): (&[&[u8]], bool) = match (&export.kind, input) {
        (ExportKind::Numeric { params, results }, Input::Numeric(args)) => {
            check_args(export, params, args)?;
            let Callable::Numeric(func) = live.callable(export)? else { unreachable!("a numeric export") };
            let mut out: Vec<Val> = results.iter().copied().map(zero).collect();
            func.call(&mut live.store, args, &mut out).map_err(|e| in_guest(e, &live.store))?;
            return Ok(Output::Numeric(out));
        }
        (ExportKind::Json, Input::Json(bytes)) => (&[bytes], true),
        (ExportKind::Json, Input::HostBytes(parts)) => (parts, false),
        (ExportKind::Unsupported { signature }, _) => {
            return Err(Error::Argument(format!(
                "{}() has a signature that cannot be called from the host: {signature}",
                export.name
            ))
            .into());
        }
        (ExportKind::Numeric { .. }, Input::Json(_) | Input::HostBytes(_)) | (ExportKind::Json, Input::Numeric(_)) => {
            return Err(
                Error::Argument(format!("{}() was called with the wrong kind of arguments", export.name)).into()
            );
        }
    };
    if checked && parts[0].len() as u64 > limit {
        return Err(Error::PayloadTooLarge { bytes: parts[0].len() as u64, limit }.into());
    }
    let Callable::Json(typed) = live.callable(export)? else { unreachable!("a JSON export") };
    let mut abi = live.store.data().abi.clone().expect("JSON exports imply the ABI was checked at boot");
    let written = abi.write_input(&mut live.store, parts);
    live.store.data_mut().abi = Some(abi.clone()); // what it learnt of the inbox
    let packed =
        written.and_then(|(ptr, len)| typed.call(&mut live.store, (ptr, len))).map_err(|e| in_guest(e, &live.store))?;
    // Host-built exchanges (bytecode, load replies) are bounded by guest memory, not the limit.
    let out_limit = if checked { limit } else { u32::MAX as u64 };
    Ok(Output::Json(abi.read_output(&live.store, packed, out_limit)?))
}

// Booting and calling live here, beside the isolate they make, so that `guest.rs` only describes
// a module and never names an isolate.
impl Guest {
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
