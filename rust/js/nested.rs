//! WebAssembly modules inside a JavaScript bundle. QuickJS has no WebAssembly, so a bundle's
//! `.wasm` modules are compiled by the host like any tenant module (validated, no imports but
//! ours) and their instances are isolates of their own, in slots of the same pool, owned by the
//! JavaScript isolate that created them and freed with it. The guest reaches them through env
//! calls named `wasm:instantiate` and `wasm:call`, which the host serves here and never passes on
//! to the embedder. Only numbers cross: an instance's memory stays its own.

use std::sync::Arc;
use std::time::Duration;

use serde_json::Value;
use wasmtime::Val;

use crate::error::Error;
use crate::sandbox::guest::{ExportKind, Guest, NumType};
use crate::sandbox::host::{Host, error_envelope, ok_envelope};
use crate::sandbox::isolate::{Input, Isolate, Output};
use crate::sandbox::state::Extension;

/// Instances one JavaScript isolate may create: each holds a pool slot until the isolate ends.
pub const MAX_INSTANCES: usize = 16;

/// How long instantiating waits for a free slot.
const ACQUIRE_TIMEOUT: Duration = Duration::from_millis(100);

/// The `.wasm` modules of one bundle, by their index in it.
pub type Modules = Arc<[Arc<Guest>]>;

/// The instances one JavaScript isolate created.
pub struct Nested {
    modules: Modules,
    instances: Vec<Isolate>,
    /// How long the request being served waited on the host (an instance's own env calls).
    waited: Duration,
}

/// What a request yields: a reply envelope for the guest, or an error that ends the whole call.
pub type Reply = Result<Vec<u8>, Error>;

fn ok(value: Value) -> Reply {
    Ok(ok_envelope(&serde_json::to_vec(&value).expect("a JSON value always encodes")))
}

fn type_error(message: &str) -> Reply {
    Ok(error_envelope("TypeError", message))
}

/// A JavaScript number as a wasm value, as `ToInt32` and friends convert it (wrapping integers).
fn to_val(value: &Value, ty: NumType) -> Option<Val> {
    let n = value.as_f64()?;
    Some(match ty {
        NumType::I32 => Val::I32(if n.is_finite() { (n.trunc() as i64) as i32 } else { 0 }),
        NumType::I64 => Val::I64(if n.is_finite() { n.trunc() as i64 } else { 0 }),
        NumType::F32 => Val::F32((n as f32).to_bits()),
        NumType::F64 => Val::F64(n.to_bits()),
    })
}

fn to_json(value: &Val) -> Value {
    let number = |f: f64| serde_json::Number::from_f64(f).map(Value::Number).unwrap_or(Value::Null);
    match value {
        Val::I32(n) => Value::from(*n),
        Val::I64(n) => Value::from(*n),
        Val::F32(bits) => number(f32::from_bits(*bits) as f64),
        Val::F64(bits) => number(f64::from_bits(*bits)),
        _ => Value::Null,
    }
}

impl Nested {
    pub fn new(modules: Modules) -> Nested {
        Nested { modules, instances: Vec::new(), waited: Duration::ZERO }
    }

    /// Serves `wasm:<op>` with a JSON array of arguments.
    pub fn serve(&mut self, op: &str, args: &[u8], host: Option<Arc<dyn Host>>) -> Reply {
        let Ok(Value::Array(args)) = serde_json::from_slice::<Value>(args) else {
            return type_error("a wasm request takes a JSON array");
        };
        match op {
            "instantiate" => self.instantiate(&args, host),
            "call" => self.call(&args, host),
            _ => type_error(&format!("unknown wasm request {op:?}")),
        }
    }

    fn instantiate(&mut self, args: &[Value], host: Option<Arc<dyn Host>>) -> Reply {
        let Some(module) = args.first().and_then(Value::as_u64).and_then(|i| self.modules.get(i as usize)) else {
            return type_error("WebAssembly.Instance needs a WebAssembly.Module of this bundle");
        };
        if self.instances.len() >= MAX_INSTANCES {
            return Ok(error_envelope(
                "RangeError",
                &format!("an isolate may create at most {MAX_INSTANCES} WebAssembly instances"),
            ));
        }
        match module.boot(host, ACQUIRE_TIMEOUT) {
            Ok(isolate) => {
                self.waited = isolate.waited(); // its start function's env calls
                self.instances.push(isolate);
                ok(Value::from(self.instances.len() - 1))
            }
            Err(Error::PoolExhausted { .. }) => {
                Ok(error_envelope("RangeError", "no isolate slot is free for a WebAssembly instance"))
            }
            // A start function that traps is the caller's to catch; a limit ends the call.
            Err(Error::Trap { message, .. }) | Err(Error::Guest { message, .. }) => {
                Ok(error_envelope("RuntimeError", &message))
            }
            Err(e) => Err(e),
        }
    }

    fn call(&mut self, args: &[Value], host: Option<Arc<dyn Host>>) -> Reply {
        let (Some(index), Some(name)) = (args.first().and_then(Value::as_u64), args.get(1).and_then(Value::as_str))
        else {
            return type_error("a wasm call takes an instance and an export name");
        };
        let Some(isolate) = self.instances.get_mut(index as usize) else {
            return type_error("no such WebAssembly instance");
        };
        let guest = isolate.guest().clone();
        let Ok(export) = guest.export(name) else {
            return type_error(&format!("the WebAssembly instance has no function export {name:?}"));
        };
        let ExportKind::Numeric { params, .. } = &export.kind else {
            return type_error(&format!("{name}() takes or returns values that cannot cross from JavaScript"));
        };
        let given = args.get(2).and_then(Value::as_array).map(Vec::as_slice).unwrap_or_default();
        // As JavaScript calls wasm: missing arguments are undefined (0 here), extra ones ignored.
        let mut vals = Vec::with_capacity(params.len());
        for (i, ty) in params.iter().enumerate() {
            let Some(val) = to_val(given.get(i).unwrap_or(&Value::from(0)), *ty) else {
                return type_error(&format!("argument {i} of {name}() must be a number"));
            };
            vals.push(val);
        }
        let called = isolate.call(export, Input::Numeric(&vals), host);
        self.waited = isolate.waited();
        match called {
            Ok(Output::Numeric(out)) => match out.as_slice() {
                [] => ok(Value::Null),
                [one] => ok(to_json(one)),
                many => ok(Value::Array(many.iter().map(to_json).collect())),
            },
            Ok(Output::Json(_)) => type_error("a numeric export returned JSON"),
            // A trap ends that instance (as after any in-guest failure) and is the caller's to
            // catch; a limit ends the whole call, as in the JavaScript isolate itself.
            Err(Error::Trap { message, .. }) | Err(Error::Guest { message, .. }) => {
                Ok(error_envelope("RuntimeError", &message))
            }
            Err(Error::Closed(message)) => Ok(error_envelope("RuntimeError", &message)),
            Err(e) => Err(e),
        }
    }
}

impl Extension for Nested {
    /// Claims the `wasm:*` env calls: a bundle's WebAssembly instances are served here, never by
    /// the embedder.
    fn env_call(&mut self, name: &str, args: &[u8], host: Option<Arc<dyn Host>>) -> Option<Reply> {
        let op = name.strip_prefix("wasm:")?;
        Some(self.serve(op, args, host))
    }

    fn take_waited(&mut self) -> Duration {
        std::mem::take(&mut self.waited)
    }
}
