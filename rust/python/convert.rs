//! Values crossing between Python and the core: Python data to JSON bytes (with depth and size
//! caps checked while writing, before anything reaches a guest), JSON bytes back to Python, and
//! Python numbers to and from wasm values. For a JavaScript guest, a value JSON cannot carry
//! faithfully crosses as a clone instead (`clone.rs`); plain data never pays for that.

use std::collections::HashSet;

use pyo3::prelude::*;
use pyo3::types::{PyBool, PyDict, PyFloat, PyInt, PyList, PyString, PyTuple};
use wasmtime::Val;

use crate::error::Error;
use crate::js::protocol::{CLONE_MAGIC, CLONE_MAX_DEPTH};
use crate::python::clone;
use crate::sandbox::guest::NumType;

/// Deepest nesting of lists and dicts that may cross the boundary.
pub const MAX_DEPTH: usize = CLONE_MAX_DEPTH;
/// The largest integer a JavaScript number holds exactly; beyond it, JSON would round silently.
const MAX_SAFE_INTEGER: i64 = (1 << 53) - 1;

/// Why the JSON writer stopped: an error, or a value only a clone can carry.
enum Stop {
    Fail(Error),
    NotJson,
}

impl From<Error> for Stop {
    fn from(e: Error) -> Stop {
        Stop::Fail(e)
    }
}

struct Writer {
    buf: Vec<u8>,
    limit: u64,
    /// Whether a value JSON cannot carry exactly may go as a clone (a JavaScript guest); if not,
    /// it is refused (a guest that speaks only JSON, which reads 64-bit integers exactly).
    clone_allowed: bool,
    /// The containers written so far (when a clone is allowed): one met twice is a shared
    /// reference, which JSON would copy and a clone keeps.
    containers: HashSet<usize>,
}

/// Can `value` be met twice in one value? Only if two containers refer to it, besides the
/// reference the walk holds: below three references it is met once, and need not be tracked (an
/// argument dict of a call has two).
fn may_be_shared(value: &Bound<'_, PyAny>) -> bool {
    // SAFETY: `value` is a live object; reading its reference count has no side effects.
    unsafe { pyo3::ffi::Py_REFCNT(value.as_ptr()) >= 3 }
}

fn type_name(value: &Bound<'_, PyAny>) -> String {
    value.get_type().name().map(|n| n.to_string()).unwrap_or_else(|_| "?".into())
}

impl Writer {
    fn new(limit: u64, clone_allowed: bool) -> Writer {
        Writer { buf: Vec::with_capacity(64), limit, clone_allowed, containers: HashSet::new() }
    }

    /// A value JSON cannot carry: a clone's job, or an error saying `why`.
    fn not_json(&self, why: impl FnOnce() -> String) -> Stop {
        if self.clone_allowed { Stop::NotJson } else { Stop::Fail(Error::Serialization(why())) }
    }

    fn check_size(&self) -> Result<(), Error> {
        if self.buf.len() as u64 > self.limit {
            return Err(Error::PayloadTooLarge { bytes: self.buf.len() as u64, limit: self.limit });
        }
        Ok(())
    }

    fn string(&mut self, s: &Bound<'_, PyString>, path: &dyn Fn() -> String) -> Result<(), Stop> {
        let text = s.to_str().map_err(|_| {
            Error::Serialization(format!("{} is a str that is not valid Unicode (lone surrogate)", path()))
        })?;
        serde_json::to_writer(&mut self.buf, text).expect("writing to a Vec cannot fail");
        Ok(())
    }

    /// Writes `value` as JSON; `Stop::NotJson` for anything JSON would not carry exactly (nesting
    /// too deep may be a cycle, which a clone carries).
    fn value(&mut self, value: &Bound<'_, PyAny>, depth: usize, path: &dyn Fn() -> String) -> Result<(), Stop> {
        if depth > MAX_DEPTH {
            return Err(self.not_json(|| format!("{} nests deeper than {MAX_DEPTH} levels", path())));
        }
        if value.is_none() {
            self.buf.extend_from_slice(b"null");
        } else if let Ok(b) = value.cast::<PyBool>() {
            self.buf.extend_from_slice(if b.is_true() { b"true" } else { b"false" });
        } else if value.is_instance_of::<PyInt>() {
            match (value.extract::<i64>(), value.extract::<u64>()) {
                (Ok(i), _) if !self.clone_allowed || (-MAX_SAFE_INTEGER..=MAX_SAFE_INTEGER).contains(&i) => {
                    self.buf.extend_from_slice(i.to_string().as_bytes())
                }
                (_, Ok(u)) if !self.clone_allowed => self.buf.extend_from_slice(u.to_string().as_bytes()),
                _ => return Err(self.not_json(|| format!("{} is an integer outside the 64-bit range", path()))),
            }
        } else if let Ok(f) = value.cast::<PyFloat>() {
            let f = f.value();
            if !f.is_finite() {
                return Err(self.not_json(|| format!("{} is {f}, which JSON cannot carry", path())));
            }
            serde_json::to_writer(&mut self.buf, &f).expect("writing to a Vec cannot fail");
        } else if let Ok(s) = value.cast::<PyString>() {
            self.string(s, path)?;
        } else if self.clone_allowed
            && may_be_shared(value)
            && (value.is_instance_of::<PyList>()
                || value.is_instance_of::<PyDict>()
                || value.is_instance_of::<PyTuple>())
            && !self.containers.insert(value.as_ptr() as usize)
        {
            return Err(Stop::NotJson);
        } else if let Ok(list) = value.cast::<PyList>() {
            self.sequence(list.iter(), depth, path)?;
        } else if let Ok(tuple) = value.cast::<PyTuple>() {
            self.sequence(tuple.iter(), depth, path)?;
        } else if let Ok(dict) = value.cast::<PyDict>() {
            self.buf.push(b'{');
            for (n, (k, v)) in dict.iter().enumerate() {
                let Ok(key) = k.cast::<PyString>() else {
                    return Err(self.not_json(|| {
                        format!("{} has a key of type {}; only str keys can cross", path(), type_name(&k))
                    }));
                };
                if n > 0 {
                    self.buf.push(b',');
                }
                self.string(key, path)?;
                self.buf.push(b':');
                let key_text = key.to_string_lossy().into_owned();
                self.value(&v, depth + 1, &|| format!("{}[{key_text:?}]", path()))?;
                self.check_size()?;
            }
            self.buf.push(b'}');
        } else {
            return Err(self.not_json(|| {
                format!(
                    "{} is a {}; only None, bool, int, float, str, list, tuple and dict can cross",
                    path(),
                    type_name(value)
                )
            }));
        }
        Ok(self.check_size()?)
    }

    fn sequence<'py>(
        &mut self,
        items: impl Iterator<Item = Bound<'py, PyAny>>,
        depth: usize,
        path: &dyn Fn() -> String,
    ) -> Result<(), Stop> {
        self.buf.push(b'[');
        for (i, item) in items.enumerate() {
            if i > 0 {
                self.buf.push(b',');
            }
            self.value(&item, depth + 1, &|| format!("{}[{i}]", path()))?;
            self.check_size()?;
        }
        self.buf.push(b']');
        Ok(())
    }
}

/// Encodes Python data as JSON, refusing anything that is not plain data (for guests that speak
/// only JSON). `what` names the value in error messages (`"argument"`, `"env['ROOM']"`, ...).
pub fn to_json(value: &Bound<'_, PyAny>, limit: u64, what: &str) -> Result<Vec<u8>, Error> {
    let mut writer = Writer::new(limit, false);
    match writer.value(value, 0, &|| what.to_owned()) {
        Ok(()) => Ok(writer.buf),
        Err(Stop::Fail(e)) => Err(e),
        Err(Stop::NotJson) => unreachable!("a JSON-only writer refuses instead"),
    }
}

/// Encodes call arguments as a JSON array (for guests that speak only JSON).
pub fn args_to_json(args: &Bound<'_, PyTuple>, limit: u64) -> Result<Vec<u8>, Error> {
    let mut writer = Writer::new(limit, false);
    match writer.sequence(args.iter(), 0, &|| "arguments".to_owned()) {
        Ok(()) => Ok(writer.buf),
        Err(Stop::Fail(e)) => Err(e),
        Err(Stop::NotJson) => unreachable!("a JSON-only writer refuses instead"),
    }
}

/// Encodes a value for a JavaScript guest: JSON when that carries it exactly, else a clone, in
/// which `RpcTarget`s become stubs kept in `stubs` (given for an env call's result).
pub fn to_wire(
    value: &Bound<'_, PyAny>,
    limit: u64,
    what: &str,
    stubs: Option<&clone::Stubs>,
) -> Result<Vec<u8>, Error> {
    let mut writer = Writer::new(limit, true);
    match writer.value(value, 0, &|| what.to_owned()) {
        Ok(()) => Ok(writer.buf),
        Err(Stop::Fail(e)) => Err(e),
        Err(Stop::NotJson) => clone::to_clone(value, limit, what, stubs),
    }
}

/// Encodes call arguments for a JavaScript guest: a JSON array, or a clone of the array.
pub fn args_to_wire(args: &Bound<'_, PyTuple>, limit: u64) -> Result<Vec<u8>, Error> {
    let mut writer = Writer::new(limit, true);
    match writer.sequence(args.iter(), 0, &|| "arguments".to_owned()) {
        Ok(()) => Ok(writer.buf),
        Err(Stop::Fail(e)) => Err(e),
        Err(Stop::NotJson) => clone::args_to_clone(args, limit),
    }
}

/// How guest JSON becomes Python objects: straight from the bytes, no intermediate tree; strict
/// JSON (no NaN or Infinity); dict keys cached, as they repeat. jiter bounds the nesting depth,
/// so a hostile guest cannot recurse the host.
const GUEST_JSON: jiter::PythonParse = jiter::PythonParse {
    allow_inf_nan: false,
    cache_mode: jiter::StringCacheMode::Keys,
    partial_mode: jiter::PartialMode::Off,
    catch_duplicate_keys: false,
    float_mode: jiter::FloatMode::Float,
};

/// Decodes a value a guest wrote, as JSON or a clone, into Python data. `what` names it in errors.
pub fn from_wire<'py>(py: Python<'py>, bytes: &[u8], what: &str) -> Result<Bound<'py, PyAny>, Error> {
    args_from_wire(py, bytes, what, None)
}

/// As [`from_wire`], for the arguments of the env call `frame` numbers (if given): functions in
/// them become `GuestFunction`s.
pub fn args_from_wire<'py>(
    py: Python<'py>,
    bytes: &[u8],
    what: &str,
    frame: Option<u64>,
) -> Result<Bound<'py, PyAny>, Error> {
    if bytes.first() == Some(&CLONE_MAGIC) {
        return clone::from_clone(py, bytes, what, frame);
    }
    from_json(py, bytes, what)
}

/// Decodes JSON written by a guest into Python data. `what` names it in errors.
pub fn from_json<'py>(py: Python<'py>, bytes: &[u8], what: &str) -> Result<Bound<'py, PyAny>, Error> {
    GUEST_JSON
        .python_parse(py, bytes)
        .map_err(|e| Error::Serialization(format!("the guest's {what} is not valid JSON: {}", e.description(bytes))))
}

/// Converts a Python number to the wasm value a parameter expects.
pub fn to_val(value: &Bound<'_, PyAny>, ty: NumType, index: usize, export: &str) -> Result<Val, Error> {
    let wrong = || {
        Error::Argument(format!(
            "argument {index} of {export}() must be {} (got {})",
            match ty {
                NumType::I32 => "an int in the 32-bit range",
                NumType::I64 => "an int in the 64-bit range",
                NumType::F32 | NumType::F64 => "a float or an int",
            },
            type_name(value)
        ))
    };
    match ty {
        NumType::I32 => {
            let i: i64 = value.extract().map_err(|_| wrong())?;
            if let Ok(v) = i32::try_from(i) {
                Ok(Val::I32(v))
            } else if let Ok(v) = u32::try_from(i) {
                Ok(Val::I32(v as i32))
            } else {
                Err(wrong())
            }
        }
        NumType::I64 => match value.extract::<i64>() {
            Ok(v) => Ok(Val::I64(v)),
            Err(_) => value.extract::<u64>().map(|v| Val::I64(v as i64)).map_err(|_| wrong()),
        },
        NumType::F32 | NumType::F64 => {
            if value.is_instance_of::<PyString>() {
                return Err(wrong());
            }
            let f: f64 = value.extract().map_err(|_| wrong())?;
            Ok(if ty == NumType::F32 { Val::F32((f as f32).to_bits()) } else { Val::F64(f.to_bits()) })
        }
    }
}

/// Converts wasm results to Python: nothing -> None, one -> the value, several -> a tuple.
pub fn from_vals<'py>(py: Python<'py>, vals: &[Val]) -> PyResult<Bound<'py, PyAny>> {
    let one = |v: &Val| -> PyResult<Bound<'py, PyAny>> {
        Ok(match v {
            Val::I32(i) => i.into_pyobject(py)?.into_any(),
            Val::I64(i) => i.into_pyobject(py)?.into_any(),
            Val::F32(bits) => (f32::from_bits(*bits) as f64).into_pyobject(py)?.into_any(),
            Val::F64(bits) => f64::from_bits(*bits).into_pyobject(py)?.into_any(),
            _ => py.None().into_bound(py),
        })
    };
    match vals {
        [] => Ok(py.None().into_bound(py)),
        [v] => one(v),
        many => Ok(PyTuple::new(py, many.iter().map(one).collect::<PyResult<Vec<_>>>()?)?.into_any()),
    }
}
