//! Python values as clones (`js/protocol.rs`): what crosses to and from a JavaScript guest when
//! JSON cannot carry it faithfully. The mapping, both ways:
//!
//! | JavaScript              | Python                                              |
//! |-------------------------|-----------------------------------------------------|
//! | `undefined`             | `dynisolate.undefined`                              |
//! | `null`                  | `None`                                              |
//! | number                  | `int` when integral (as JSON gives it), else `float` (NaN, ±inf too) |
//! | `BigInt`                | `int` (an `int` beyond ±(2**53 - 1) becomes a `BigInt`) |
//! | `Uint8Array`, `ArrayBuffer` | `bytes` (`bytearray`, `memoryview` on the way in)   |
//! | `Date`                  | an aware `datetime` in UTC (naive ones are refused)  |
//! | `Map`                   | `dict` (a `dict` with a key that is not a `str` becomes a `Map`) |
//! | `Set`                   | `set` (`frozenset` on the way in)                    |
//! | `Error`                 | `dynisolate.GuestError` (any exception on the way in) |
//! | an object of methods    | an `RpcTarget` an env call returns (a stub; [`Stubs`]) |
//! | `Request`, `Response`   | `dynisolate.Request`, `dynisolate.Response` (bodies as bytes) |
//! | a function (env call arguments only) | a `dynisolate.GuestFunction` (`functions.rs`) |
//!
//! Shared and cyclic references survive both ways. A guest is hostile: every length is checked
//! against the bytes left, nesting is bounded, and nothing is allocated ahead of the data.

use std::collections::HashMap;
use std::sync::Mutex;
use std::sync::atomic::{AtomicU64, Ordering};

use pyo3::prelude::*;
use pyo3::sync::PyOnceLock;
use pyo3::types::{
    PyBool, PyByteArray, PyBytes, PyDateTime, PyDict, PyFloat, PyFrozenSet, PyInt, PyList, PyMemoryView, PySet,
    PyString, PyTuple, PyTzInfo,
};

use crate::error::Error;
use crate::js::protocol::{
    CLONE_ARRAY, CLONE_BIGINT, CLONE_BYTES, CLONE_DATE, CLONE_ERROR, CLONE_FALSE, CLONE_FLOAT, CLONE_FUNCTION,
    CLONE_INT, CLONE_MAGIC, CLONE_MAP, CLONE_MAX_DEPTH, CLONE_NULL, CLONE_OBJECT, CLONE_REF, CLONE_REQUEST,
    CLONE_RESPONSE, CLONE_SET, CLONE_STRING, CLONE_STUB, CLONE_TRUE, CLONE_UNDEFINED, STUB_PREFIX,
};
use crate::python::functions::GuestFunction;

/// Integers beyond this magnitude are not exact as JavaScript numbers: they cross as BigInts.
const MAX_SAFE_INTEGER: i64 = (1 << 53) - 1;
/// The error constructors a guest has; an exception of another class arrives as an `Error`.
pub(crate) const JS_ERROR_NAMES: &[&str] =
    &["Error", "EvalError", "RangeError", "ReferenceError", "SyntaxError", "TypeError", "URIError", "AggregateError"];

/// `dynisolate.undefined` and `dynisolate.GuestError`, imported once.
fn undefined(py: Python<'_>) -> PyResult<&Bound<'_, PyAny>> {
    static UNDEFINED: PyOnceLock<Py<PyAny>> = PyOnceLock::new();
    Ok(UNDEFINED
        .get_or_try_init(py, || py.import("dynisolate._values")?.getattr("undefined").map(Bound::unbind))?
        .bind(py))
}

pub(crate) fn guest_error_class(py: Python<'_>) -> PyResult<&Bound<'_, PyAny>> {
    static GUEST_ERROR: PyOnceLock<Py<PyAny>> = PyOnceLock::new();
    Ok(GUEST_ERROR
        .get_or_try_init(py, || py.import("dynisolate.exceptions")?.getattr("GuestError").map(Bound::unbind))?
        .bind(py))
}

fn env_attr<'py>(
    py: Python<'py>,
    cell: &'static PyOnceLock<Py<PyAny>>,
    name: &str,
) -> PyResult<&'py Bound<'py, PyAny>> {
    Ok(cell.get_or_try_init(py, || py.import("dynisolate._env")?.getattr(name).map(Bound::unbind))?.bind(py))
}

/// The `RpcTarget`s one call handed its guest, by stub name, with the methods each exposes: a
/// stub's calls reach only those, and only while the call lasts (the table goes with the call).
#[derive(Default)]
pub struct Stubs {
    targets: Mutex<HashMap<String, Exposed>>,
}

/// A target and the methods a guest may call on it.
type Exposed = (Py<PyAny>, Vec<String>);
/// A target's exposed properties: each value with its name.
type Properties<'py> = Vec<(Bound<'py, PyAny>, String)>;

/// Stub numbers, unique in the process: a stub a guest kept from an earlier call never names an
/// object of a later one.
static NEXT_STUB: AtomicU64 = AtomicU64::new(1);

impl Stubs {
    /// Names a stub for `target`; returns the name, its exposed methods, and its exposed
    /// properties with their values now. The stub is kept only once its value is sent whole
    /// (`keep`): a target in a reply that failed to encode is never reachable.
    fn prepare<'py>(&self, target: &Bound<'py, PyAny>) -> PyResult<(String, Vec<String>, Properties<'py>)> {
        static EXPOSED: PyOnceLock<Py<PyAny>> = PyOnceLock::new();
        static PROPERTIES: PyOnceLock<Py<PyAny>> = PyOnceLock::new();
        let py = target.py();
        let exposed = env_attr(py, &EXPOSED, "exposed_methods")?.call1((target,))?;
        let mut methods = exposed.try_iter()?.map(|m| m?.extract::<String>()).collect::<PyResult<Vec<_>>>()?;
        methods.sort();
        let names: Vec<String> = env_attr(py, &PROPERTIES, "exposed_properties")?.call1((target,))?.extract()?;
        let properties =
            names.into_iter().map(|name| Ok((target.getattr(name.as_str())?, name))).collect::<PyResult<Vec<_>>>()?;
        let name = format!("{STUB_PREFIX}{}", NEXT_STUB.fetch_add(1, Ordering::Relaxed));
        Ok((name, methods, properties))
    }

    /// Keeps the stubs of a value that was sent, for the rest of the call.
    fn keep(&self, stubs: Vec<(String, Exposed)>) {
        let mut targets = self.targets.lock().unwrap_or_else(|poisoned| poisoned.into_inner());
        targets.extend(stubs);
    }

    /// The target behind `stub` (a stub name) and whether it exposes `method`; `None` for a stub
    /// this call did not hand out.
    pub fn target(&self, py: Python<'_>, stub: &str, method: &str) -> Option<(Py<PyAny>, bool)> {
        let targets = self.targets.lock().unwrap_or_else(|poisoned| poisoned.into_inner());
        let (target, methods) = targets.get(stub)?;
        Some((target.clone_ref(py), methods.iter().any(|m| m == method)))
    }
}

/// `dynisolate.Request` (`request` true) or `dynisolate.Response`.
fn http_class(py: Python<'_>, request: bool) -> PyResult<&Bound<'_, PyAny>> {
    static REQUEST: PyOnceLock<Py<PyAny>> = PyOnceLock::new();
    static RESPONSE: PyOnceLock<Py<PyAny>> = PyOnceLock::new();
    let (cell, name) = if request { (&REQUEST, "Request") } else { (&RESPONSE, "Response") };
    Ok(cell.get_or_try_init(py, || py.import("dynisolate._http")?.getattr(name).map(Bound::unbind))?.bind(py))
}

/// The clone tag of a `dynisolate.Request` or `Response`, if `value` is one.
fn http_tag(value: &Bound<'_, PyAny>) -> Option<u8> {
    let is = |request| http_class(value.py(), request).is_ok_and(|class| value.is_instance(class).unwrap_or(false));
    if is(true) {
        Some(CLONE_REQUEST)
    } else if is(false) {
        Some(CLONE_RESPONSE)
    } else {
        None
    }
}

fn is_rpc_target(value: &Bound<'_, PyAny>) -> bool {
    static RPC_TARGET: PyOnceLock<Py<PyAny>> = PyOnceLock::new();
    env_attr(value.py(), &RPC_TARGET, "RpcTarget").is_ok_and(|class| value.is_instance(class).unwrap_or(false))
}

/// Is `value` `dynisolate.undefined`?
pub fn is_undefined(value: &Bound<'_, PyAny>) -> bool {
    undefined(value.py()).is_ok_and(|u| u.is(value))
}

fn type_name(value: &Bound<'_, PyAny>) -> String {
    value.get_type().name().map(|n| n.to_string()).unwrap_or_else(|_| "?".into())
}

// ---- writing ----

struct Writer<'s> {
    buf: Vec<u8>,
    limit: u64,
    /// Where `RpcTarget`s become stubs (an env call's result); `None` where they cannot cross.
    stubs: Option<&'s Stubs>,
    /// The stubs of this value, kept in `stubs` once it is written whole.
    new_stubs: Vec<(String, Exposed)>,
    /// Containers written so far, by address, and their index for references; `held` keeps each
    /// alive until the end, so no address is reused by an object made meanwhile (a property read).
    seen: HashMap<usize, u32>,
    held: Vec<Py<PyAny>>,
    /// Objects written so far (the guest counts the same ones): the next one's index.
    objects: u32,
}

impl Writer<'_> {
    fn u32(&mut self, n: usize, path: &dyn Fn() -> String) -> Result<(), Error> {
        let n = u32::try_from(n).map_err(|_| Error::Serialization(format!("{} is too large to send", path())))?;
        self.buf.extend_from_slice(&n.to_le_bytes());
        Ok(())
    }

    fn text(&mut self, text: &str, path: &dyn Fn() -> String) -> Result<(), Error> {
        self.u32(text.len(), path)?;
        self.buf.extend_from_slice(text.as_bytes());
        Ok(())
    }

    fn string(&mut self, s: &Bound<'_, PyString>, path: &dyn Fn() -> String) -> Result<(), Error> {
        let text = s.to_str().map_err(|_| {
            Error::Serialization(format!("{} is a str that is not valid Unicode (lone surrogate)", path()))
        })?;
        self.text(text, path)
    }

    fn check_size(&self) -> Result<(), Error> {
        if self.buf.len() as u64 > self.limit {
            return Err(Error::PayloadTooLarge { bytes: self.buf.len() as u64, limit: self.limit });
        }
        Ok(())
    }

    /// Starts an object: a reference if it was written before (then `false`), else counted.
    fn begin(&mut self, value: &Bound<'_, PyAny>, track: bool) -> bool {
        if track {
            let address = value.as_ptr() as usize;
            if let Some(&index) = self.seen.get(&address) {
                self.buf.push(CLONE_REF);
                self.buf.extend_from_slice(&index.to_le_bytes());
                return false;
            }
            self.seen.insert(address, self.objects);
            self.held.push(value.clone().unbind());
        }
        self.objects += 1;
        true
    }

    fn int(&mut self, value: &Bound<'_, PyAny>) -> Result<(), Error> {
        match value.extract::<i64>() {
            Ok(i) if i32::try_from(i).is_ok() => {
                self.buf.push(CLONE_INT);
                self.buf.extend_from_slice(&(i as i32).to_le_bytes());
            }
            Ok(i) if (-MAX_SAFE_INTEGER..=MAX_SAFE_INTEGER).contains(&i) => {
                self.buf.push(CLONE_FLOAT);
                self.buf.extend_from_slice(&(i as f64).to_le_bytes());
            }
            _ => {
                let digits = value.str().map_err(|e| Error::Serialization(format!("an int: {e}")))?;
                self.buf.push(CLONE_BIGINT);
                self.text(&digits.to_string_lossy(), &|| "an int".into())?;
            }
        }
        Ok(())
    }

    fn error(&mut self, value: &Bound<'_, PyAny>) -> Result<(), Error> {
        let py = value.py();
        let read = |name: &str| -> String {
            value.getattr(name).and_then(|v| v.str()).map(|s| s.to_string_lossy().into_owned()).unwrap_or_default()
        };
        let (name, message, stack) = if guest_error_class(py).is_ok_and(|c| value.is_instance(c).unwrap_or(false)) {
            (read("name"), read("guest_message"), read("stack"))
        } else {
            let class = type_name(value);
            let name = if JS_ERROR_NAMES.contains(&class.as_str()) { class } else { "Error".into() };
            let message = value.str().map(|s| s.to_string_lossy().into_owned()).unwrap_or_default();
            (name, message, String::new())
        };
        self.buf.push(CLONE_ERROR);
        for part in [name, message, stack] {
            self.text(&part, &|| "an exception".into())?;
        }
        Ok(())
    }

    fn value(&mut self, value: &Bound<'_, PyAny>, depth: usize, path: &dyn Fn() -> String) -> Result<(), Error> {
        if depth > CLONE_MAX_DEPTH {
            return Err(Error::Serialization(format!("{} nests deeper than {CLONE_MAX_DEPTH} levels", path())));
        }
        if value.is_none() {
            self.buf.push(CLONE_NULL);
        } else if let Ok(b) = value.cast::<PyBool>() {
            self.buf.push(if b.is_true() { CLONE_TRUE } else { CLONE_FALSE });
        } else if value.is_instance_of::<PyInt>() {
            self.int(value)?;
        } else if let Ok(f) = value.cast::<PyFloat>() {
            self.buf.push(CLONE_FLOAT);
            self.buf.extend_from_slice(&f.value().to_le_bytes());
        } else if let Ok(s) = value.cast::<PyString>() {
            self.buf.push(CLONE_STRING);
            self.string(s, path)?;
        } else if let Ok(list) = value.cast::<PyList>() {
            if self.begin(value, true) {
                self.buf.push(CLONE_ARRAY);
                self.u32(list.len(), path)?;
                self.items(list.iter(), depth, path)?;
            }
        } else if let Ok(tuple) = value.cast::<PyTuple>() {
            if self.begin(value, true) {
                self.buf.push(CLONE_ARRAY);
                self.u32(tuple.len(), path)?;
                self.items(tuple.iter(), depth, path)?;
            }
        } else if let Ok(dict) = value.cast::<PyDict>() {
            if self.begin(value, true) {
                self.dict(dict, depth, path)?;
            }
        } else if value.is_instance_of::<PySet>() || value.is_instance_of::<PyFrozenSet>() {
            if self.begin(value, true) {
                let items: Vec<Bound<'_, PyAny>> = value
                    .try_iter()
                    .and_then(|i| i.collect())
                    .map_err(|e| Error::Serialization(format!("{}: {e}", path())))?;
                self.buf.push(CLONE_SET);
                self.u32(items.len(), path)?;
                self.items(items.into_iter(), depth, path)?;
            }
        } else if is_undefined(value) {
            self.buf.push(CLONE_UNDEFINED);
        } else if let Some(bytes) = bytes_of(value) {
            self.begin(value, false);
            self.buf.push(CLONE_BYTES);
            self.u32(bytes.len(), path)?;
            self.buf.extend_from_slice(&bytes);
        } else if let Ok(date) = value.cast::<PyDateTime>() {
            if date.getattr("tzinfo").is_ok_and(|tz| tz.is_none()) {
                return Err(Error::Serialization(format!(
                    "{} is a naive datetime: give it a timezone (a JavaScript Date is an instant)",
                    path()
                )));
            }
            let seconds: f64 = date
                .call_method0("timestamp")
                .and_then(|t| t.extract())
                .map_err(|e| Error::Serialization(format!("{}: {e}", path())))?;
            self.begin(value, false);
            self.buf.push(CLONE_DATE);
            self.buf.extend_from_slice(&(seconds * 1000.0).to_le_bytes());
        } else if value.is_instance_of::<pyo3::exceptions::PyBaseException>() {
            self.begin(value, false);
            self.error(value)?;
        } else if let Some(tag) = http_tag(value) {
            // Counted as an object, then its record (a dict, counted too), as the guest reads it.
            if self.begin(value, true) {
                let record = value
                    .call_method0("_clone_record")
                    .map_err(|e| Error::Serialization(format!("{}: {e}", path())))?;
                self.buf.push(tag);
                self.value(&record, depth + 1, path)?;
            }
        } else if is_rpc_target(value) {
            let Some(stubs) = self.stubs else {
                return Err(Error::Serialization(format!(
                    "{} is an RpcTarget, which crosses only as what an env method returns",
                    path()
                )));
            };
            if self.begin(value, true) {
                let (name, methods, properties) =
                    stubs.prepare(value).map_err(|e| Error::Serialization(format!("{}: {e}", path())))?;
                self.new_stubs.push((name.clone(), (value.clone().unbind(), methods.clone())));
                self.buf.push(CLONE_STUB);
                self.text(&name, path)?;
                self.u32(methods.len(), path)?;
                for method in &methods {
                    self.text(method, path)?;
                }
                self.u32(properties.len(), path)?;
                for (property, key) in &properties {
                    self.text(key, path)?;
                    self.value(property, depth + 1, &|| format!("{}.{key}", path()))?;
                }
            }
        } else if value.is_instance_of::<GuestFunction>() {
            return Err(Error::Serialization(format!(
                "{} is a function a guest passed to the host: only the host can call it, so it cannot be sent to \
                 a guest (through a service binding either)",
                path()
            )));
        } else {
            let stubs = if self.stubs.is_some() { ", RpcTarget objects" } else { "" };
            return Err(Error::Serialization(format!(
                "{} is a {}; what can cross: None, bool, int, float, str, bytes, list, tuple, dict, set, \
                 datetime (aware), exceptions, dynisolate.Request and Response{stubs} and dynisolate.undefined",
                path(),
                type_name(value)
            )));
        }
        self.check_size()
    }

    fn items<'py>(
        &mut self,
        items: impl Iterator<Item = Bound<'py, PyAny>>,
        depth: usize,
        path: &dyn Fn() -> String,
    ) -> Result<(), Error> {
        for (i, item) in items.enumerate() {
            self.value(&item, depth + 1, &|| format!("{}[{i}]", path()))?;
        }
        Ok(())
    }

    /// A dict of str keys as an object; any other dict as a Map.
    fn dict(&mut self, dict: &Bound<'_, PyDict>, depth: usize, path: &dyn Fn() -> String) -> Result<(), Error> {
        let as_object = dict.keys().iter().all(|k| k.is_instance_of::<PyString>());
        self.buf.push(if as_object { CLONE_OBJECT } else { CLONE_MAP });
        self.u32(dict.len(), path)?;
        for (k, v) in dict.iter() {
            let key_text = k.str().map(|s| s.to_string_lossy().into_owned()).unwrap_or_default();
            if as_object {
                self.string(k.cast::<PyString>().expect("checked above"), path)?;
            } else {
                self.value(&k, depth + 1, &|| format!("a key of {}", path()))?;
            }
            self.value(&v, depth + 1, &|| format!("{}[{key_text:?}]", path()))?;
        }
        Ok(())
    }
}

/// The bytes of a bytes-like value (`bytes`, `bytearray`, a contiguous `memoryview`).
fn bytes_of(value: &Bound<'_, PyAny>) -> Option<Vec<u8>> {
    if let Ok(b) = value.cast::<PyBytes>() {
        return Some(b.as_bytes().to_vec());
    }
    if let Ok(b) = value.cast::<PyByteArray>() {
        return Some(b.to_vec());
    }
    if value.is_instance_of::<PyMemoryView>() {
        return value
            .call_method0("tobytes")
            .ok()
            .and_then(|b| b.cast::<PyBytes>().ok().map(|b| b.as_bytes().to_vec()));
    }
    None
}

/// Encodes `value` as a clone (with its leading [`CLONE_MAGIC`]); `RpcTarget`s in it become stubs
/// kept in `stubs`, if given. `what` names it in errors.
pub fn to_clone(value: &Bound<'_, PyAny>, limit: u64, what: &str, stubs: Option<&Stubs>) -> Result<Vec<u8>, Error> {
    let mut writer = Writer {
        buf: vec![CLONE_MAGIC],
        limit,
        stubs,
        new_stubs: Vec::new(),
        seen: HashMap::new(),
        held: Vec::new(),
        objects: 0,
    };
    writer.value(value, 0, &|| what.to_owned())?;
    if let Some(stubs) = stubs {
        stubs.keep(writer.new_stubs);
    }
    Ok(writer.buf)
}

/// Encodes call arguments as a clone of their array.
pub fn args_to_clone(args: &Bound<'_, PyTuple>, limit: u64) -> Result<Vec<u8>, Error> {
    let mut writer = Writer {
        buf: vec![CLONE_MAGIC, CLONE_ARRAY],
        limit,
        stubs: None,
        new_stubs: Vec::new(),
        seen: HashMap::new(),
        held: Vec::new(),
        objects: 1,
    };
    let path = || "arguments".to_owned();
    writer.u32(args.len(), &path)?;
    writer.items(args.iter(), 0, &path)?;
    writer.check_size()?;
    Ok(writer.buf)
}

// ---- reading ----

struct Reader<'a, 'py> {
    py: Python<'py>,
    bytes: &'a [u8],
    at: usize,
    objects: Vec<Bound<'py, PyAny>>,
    /// Each object's size as a tree (references followed; 1 while it is still being read), so
    /// a few bytes of references to references cannot stand for a value too large to walk.
    weights: Vec<u64>,
    /// The largest tree a value may stand for.
    max_weight: u64,
    what: &'a str,
    /// The env call whose arguments these are, when they may hold functions (`functions.rs`).
    frame: Option<u64>,
}

/// How many values more than its own a clone may stand for through shared references: a host
/// that walks it as a tree (`json.dumps`, a deep copy) does at most this much more work.
const MAX_SHARED_VALUES: u64 = 1 << 20;

impl<'py> Reader<'_, 'py> {
    fn malformed(&self) -> Error {
        Error::Serialization(format!("the guest's {} is malformed at byte {}", self.what, self.at))
    }

    fn take(&mut self, n: usize) -> Result<&[u8], Error> {
        let end = self.at.checked_add(n).filter(|&end| end <= self.bytes.len()).ok_or_else(|| self.malformed())?;
        let slice = &self.bytes[self.at..end];
        self.at = end;
        Ok(slice)
    }

    fn u32(&mut self) -> Result<usize, Error> {
        let b = self.take(4)?;
        Ok(u32::from_le_bytes([b[0], b[1], b[2], b[3]]) as usize)
    }

    fn f64(&mut self) -> Result<f64, Error> {
        let b = self.take(8)?;
        Ok(f64::from_le_bytes(b.try_into().expect("8 bytes")))
    }

    fn py_err(&self, e: PyErr) -> Error {
        Error::Serialization(format!("the guest's {}: {e}", self.what))
    }

    /// A string; the guest's lone surrogates (WTF-8) become lone surrogates in the `str`.
    fn string(&mut self) -> Result<Bound<'py, PyAny>, Error> {
        let len = self.u32()?;
        let py = self.py;
        let bytes = self.take(len)?;
        match std::str::from_utf8(bytes) {
            Ok(text) => Ok(PyString::new(py, text).into_any()),
            Err(_) => PyString::from_encoded_object(&PyBytes::new(py, bytes), Some(c"utf-8"), Some(c"surrogatepass"))
                .map(Bound::into_any)
                .map_err(|e| self.py_err(e)),
        }
    }

    fn unhashable(&self, role: &str, python_role: &str, value: &Bound<'_, PyAny>) -> Error {
        Error::Serialization(format!(
            "the guest's {} has a {role} of type {} (a Python {python_role} must be hashable)",
            self.what,
            type_name(value)
        ))
    }

    /// Distinct JavaScript keys that are equal in Python (`1` and `true`, `1` and `1.0`): silently
    /// merging them would lose entries.
    fn merged(&self, what: &str, container: &str) -> Error {
        Error::Serialization(format!(
            "the guest's {} has {what} that are distinct in JavaScript but equal in a Python {container} \
             (such as 1 and true)",
            self.what
        ))
    }

    fn text(&mut self) -> Result<String, Error> {
        let len = self.u32()?;
        Ok(String::from_utf8_lossy(self.take(len)?).into_owned())
    }

    fn remember(&mut self, value: &Bound<'py, PyAny>) -> usize {
        self.objects.push(value.clone());
        self.weights.push(1);
        self.objects.len() - 1
    }

    /// Records the tree size of object `index` once read; refuses a value too large as a tree.
    fn weigh(&mut self, index: usize, weight: u64) -> Result<u64, Error> {
        if weight > self.max_weight {
            return Err(Error::Serialization(format!(
                "the guest's {} stands for more than {} values through shared references",
                self.what, self.max_weight
            )));
        }
        self.weights[index] = weight;
        Ok(weight)
    }

    /// The next value, and its size as a tree (1 for a scalar).
    fn value(&mut self, depth: usize) -> Result<(Bound<'py, PyAny>, u64), Error> {
        if depth > CLONE_MAX_DEPTH {
            return Err(Error::Serialization(format!(
                "the guest's {} nests deeper than {CLONE_MAX_DEPTH} levels",
                self.what
            )));
        }
        let py = self.py;
        let tag = self.take(1)?[0];
        let mut weight: u64 = 1;
        let value = match tag {
            CLONE_UNDEFINED => undefined(py).map_err(|e| self.py_err(e))?.clone(),
            CLONE_NULL => py.None().into_bound(py),
            CLONE_FUNCTION => {
                let frame = self.frame.ok_or_else(|| self.malformed())?;
                let index = u32::try_from(self.u32()?).map_err(|_| self.malformed())?;
                Bound::new(py, GuestFunction::new(frame, index)).map_err(|e| self.py_err(e))?.into_any()
            }
            CLONE_TRUE => PyBool::new(py, true).to_owned().into_any(),
            CLONE_FALSE => PyBool::new(py, false).to_owned().into_any(),
            CLONE_INT => {
                let b = self.take(4)?;
                i32::from_le_bytes([b[0], b[1], b[2], b[3]]).into_pyobject(py).expect("an int").into_any()
            }
            CLONE_FLOAT => {
                let f = self.f64()?;
                // As the JSON path gives numbers: integral ones as ints.
                if f.fract() == 0.0 && f.abs() < 1e18 {
                    (f as i64).into_pyobject(py).expect("an int").into_any()
                } else {
                    PyFloat::new(py, f).into_any()
                }
            }
            CLONE_BIGINT => {
                let digits = self.text()?;
                py.get_type::<PyInt>().call1((digits,)).map_err(|e| self.py_err(e))?
            }
            CLONE_STRING => self.string()?,
            CLONE_BYTES => {
                let len = self.u32()?;
                let bytes = PyBytes::new(py, self.take(len)?).into_any();
                self.remember(&bytes);
                bytes
            }
            CLONE_DATE => {
                let ms = self.f64()?;
                let utc = PyTzInfo::utc(py).map_err(|e| self.py_err(e))?;
                let date = PyDateTime::from_timestamp(py, ms / 1000.0, Some(&utc)).map_err(|_| {
                    Error::Serialization(format!(
                        "the guest's {} holds a Date ({ms} ms) outside the years datetime can hold",
                        self.what
                    ))
                })?;
                let date = date.into_any();
                self.remember(&date);
                date
            }
            CLONE_ERROR => {
                let (name, message, stack) = (self.text()?, self.text()?, self.text()?);
                let error = guest_error_class(py)
                    .and_then(|class| class.call1((format!("{name}: {message}"),)))
                    .and_then(|error| {
                        error.setattr("name", name)?;
                        error.setattr("guest_message", message)?;
                        error.setattr("stack", stack)?;
                        Ok(error)
                    })
                    .map_err(|e| self.py_err(e))?;
                self.remember(&error);
                error
            }
            CLONE_ARRAY => {
                let count = self.u32()?;
                let list = PyList::empty(py);
                let index = self.remember(list.as_any());
                for _ in 0..count {
                    let (item, size) = self.value(depth + 1)?;
                    weight = weight.saturating_add(size);
                    list.append(item).map_err(|e| self.py_err(e))?;
                }
                self.weigh(index, weight)?;
                list.into_any()
            }
            CLONE_OBJECT | CLONE_MAP => {
                let count = self.u32()?;
                let dict = PyDict::new(py);
                let index = self.remember(dict.as_any());
                for _ in 0..count {
                    let (key, key_size) =
                        if tag == CLONE_OBJECT { (self.string()?, 1) } else { self.value(depth + 1)? };
                    let (item, size) = self.value(depth + 1)?;
                    weight = weight.saturating_add(key_size).saturating_add(size);
                    dict.set_item(&key, item).map_err(|_| self.unhashable("Map key", "dict key", &key))?;
                }
                self.weigh(index, weight)?;
                if dict.len() != count {
                    return Err(self.merged("Map keys", "dict"));
                }
                dict.into_any()
            }
            CLONE_SET => {
                let count = self.u32()?;
                let set = PySet::empty(py).map_err(|e| self.py_err(e))?;
                let index = self.remember(set.as_any());
                for _ in 0..count {
                    let (item, size) = self.value(depth + 1)?;
                    weight = weight.saturating_add(size);
                    set.add(&item).map_err(|_| self.unhashable("Set member", "set member", &item))?;
                }
                self.weigh(index, weight)?;
                if set.len() != count {
                    return Err(self.merged("Set members", "set"));
                }
                set.into_any()
            }
            CLONE_REQUEST | CLONE_RESPONSE => {
                let index = self.remember(&py.None().into_bound(py));
                let (record, size) = self.value(depth + 1)?;
                weight = weight.saturating_add(size);
                let message = http_class(py, tag == CLONE_REQUEST)
                    .and_then(|class| class.call_method1("_from_clone", (record,)))
                    .map_err(|e| {
                        let what = if tag == CLONE_REQUEST { "Request" } else { "Response" };
                        Error::Serialization(format!("the guest's {} holds a {what} that is not valid: {e}", self.what))
                    })?;
                self.objects[index] = message.clone();
                self.weigh(index, weight)?;
                message
            }
            CLONE_REF => {
                let index = self.u32()?;
                weight = *self.weights.get(index).ok_or_else(|| self.malformed())?;
                self.objects[index].clone()
            }
            _ => return Err(self.malformed()),
        };
        Ok((value, weight))
    }
}

/// Decodes a clone a guest wrote (starting with [`CLONE_MAGIC`]) into Python values; with
/// `frame`, the arguments of the env call it numbers, in which functions become
/// `GuestFunction`s (elsewhere a function is malformed).
pub fn from_clone<'py>(
    py: Python<'py>,
    bytes: &[u8],
    what: &str,
    frame: Option<u64>,
) -> Result<Bound<'py, PyAny>, Error> {
    let max_weight = bytes.len() as u64 + MAX_SHARED_VALUES;
    let mut reader = Reader { py, bytes, at: 1, objects: Vec::new(), weights: Vec::new(), max_weight, what, frame };
    if bytes.first() != Some(&CLONE_MAGIC) {
        return Err(reader.malformed());
    }
    let (value, _) = reader.value(0)?;
    if reader.at != bytes.len() {
        return Err(reader.malformed());
    }
    Ok(value)
}
