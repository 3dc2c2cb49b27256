//! JavaScript functions a guest passes in an env call's arguments, as Python callables
//! (`dynisolate.GuestFunction`), as Workers RPC passes a function as a stub. Each is valid while
//! the host serves the env call that brought it, and only on the thread serving it: calling one
//! enters the guest again, on that thread's stack, under the call's limits.
//!
//! While `serve` runs the host's handler, the env call's [`WaitingGuest`] sits on a
//! thread-local stack of frames (an env call made by a called function pushes its own). A
//! function is callable when its frame is on top and not already calling, which is exactly when
//! the guest is waiting in that env call and nowhere else: the frame's pointer is then the only
//! live route to the guest.

use std::cell::RefCell;
use std::ptr::NonNull;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Instant;

use pyo3::prelude::*;
use pyo3::types::PyTuple;

use crate::error::Error;
use crate::js::protocol;
use crate::python::convert;
use crate::python::errors::{function_unavailable, to_pyerr};
use crate::sandbox::host::WaitingGuest;

/// The largest argument array the host sends to a guest function before the guest's own
/// `max_payload_bytes` applies.
const MAX_ARGS_BYTES: u64 = 16 << 20;

/// One env call being served: its number, its guest (`None` while one of its functions runs),
/// and when the guest's call must end (its wall-clock deadline).
struct Frame {
    id: u64,
    functions: Option<NonNull<dyn WaitingGuest + 'static>>,
    wall_deadline: Instant,
}

thread_local! {
    static FRAMES: RefCell<Vec<Frame>> = const { RefCell::new(Vec::new()) };
}

/// Frame numbers, unique in the process: a function kept from an earlier env call never names a
/// later one's.
static NEXT_FRAME: AtomicU64 = AtomicU64::new(1);

/// Runs `serve(frame)` with `guest`'s functions callable through the `GuestFunction`s made for
/// `frame`.
pub fn serve<R>(guest: &mut dyn WaitingGuest, serve: impl FnOnce(u64) -> R) -> R {
    let id = NEXT_FRAME.fetch_add(1, Ordering::Relaxed);
    let wall_deadline = guest.wall_deadline();
    let borrowed = NonNull::from(guest);
    // SAFETY: only the lifetime is erased. The pointer is used only while this frame is on the
    // thread's stack, which `Pop` ends before `guest`'s borrow does.
    let erased: NonNull<dyn WaitingGuest + 'static> = unsafe { std::mem::transmute(borrowed) };
    FRAMES.with_borrow_mut(|frames| frames.push(Frame { id, functions: Some(erased), wall_deadline }));
    struct Pop;
    impl Drop for Pop {
        fn drop(&mut self) {
            FRAMES.with_borrow_mut(|frames| frames.pop());
        }
    }
    let _pop = Pop;
    serve(id)
}

/// The earliest wall-clock deadline of the guests whose env calls this thread is serving: a call
/// made now (a service binding's, or any the host makes) must end by it.
pub fn serving_wall_deadline() -> Option<Instant> {
    FRAMES.with_borrow(|frames| frames.iter().map(|frame| frame.wall_deadline).min())
}

/// Takes frame `id`'s functions for one call, or says why it cannot be called now.
fn take(id: u64) -> Result<NonNull<dyn WaitingGuest>, &'static str> {
    FRAMES.with_borrow_mut(|frames| match frames.iter().rposition(|frame| frame.id == id) {
        Some(at) if at + 1 == frames.len() => frames[at]
            .functions
            .take()
            .ok_or("it is already running: the host cannot call the guest while it waits for it"),
        Some(_) => Err("a later env call is being served: only the functions of the innermost env call can be called"),
        _ => Err("the env call that passed it has returned (or it is called from another thread): a guest \
                  function can be called only while the host serves the env call that received it, on the \
                  thread serving it"),
    })
}

fn give_back(id: u64, functions: NonNull<dyn WaitingGuest>) {
    FRAMES.with_borrow_mut(|frames| {
        if let Some(frame) = frames.iter_mut().rev().find(|frame| frame.id == id) {
            frame.functions = Some(functions);
        }
    })
}

/// The functions pointer, for the thread that released the GIL to call the guest (the same one:
/// `detach` runs the closure in place).
struct Borrowed(NonNull<dyn WaitingGuest>);
// SAFETY: `detach` runs its closure on the calling thread; the pointer never leaves it.
unsafe impl Send for Borrowed {}

/// A JavaScript function a guest passed in an env call's arguments. Calling it runs the function
/// in the guest with the arguments (as an env call's result would cross) and returns its result,
/// awaited if it is a promise; a function that throws raises `GuestError`. Valid only while the
/// host serves that env call, on the thread serving it; a resource limit hit inside ends the
/// guest's whole call, whatever the host does next.
#[pyclass(frozen, module = "dynisolate", name = "GuestFunction")]
pub struct GuestFunction {
    frame: u64,
    index: u32,
}

impl GuestFunction {
    pub fn new(frame: u64, index: u32) -> GuestFunction {
        GuestFunction { frame, index }
    }
}

#[pymethods]
impl GuestFunction {
    #[pyo3(signature = (*args))]
    fn __call__<'py>(&self, py: Python<'py>, args: &Bound<'py, PyTuple>) -> PyResult<Bound<'py, PyAny>> {
        let wire = convert::args_to_wire(args, MAX_ARGS_BYTES).map_err(|e| to_pyerr(py, e))?;
        let (frame, index) = (self.frame, self.index);
        let functions = Borrowed(take(frame).map_err(|why| function_unavailable(py, why))?);
        let reply = py.detach(|| {
            let mut functions = functions;
            // SAFETY: the frame is on top of this thread's stack (so its env call is being
            // served and the guest waits in it) and its pointer was taken out, so this is the
            // only use until `give_back`.
            let reply = unsafe { functions.0.as_mut() }.call_function(index, &wire);
            (functions, reply)
        });
        let (functions, reply) = reply;
        give_back(frame, functions.0);
        let reply = reply.map_err(|e| to_pyerr(py, e))?;
        match protocol::ok_value(&reply) {
            Some(value) => convert::from_wire(py, value, "function's result").map_err(|e| to_pyerr(py, e)),
            None => Err(to_pyerr(
                py,
                protocol::envelope(&reply).err().unwrap_or_else(|| Error::Serialization("malformed reply".into())),
            )),
        }
    }

    fn __repr__(&self) -> String {
        format!("<dynisolate.GuestFunction {} of env call {}>", self.index, self.frame)
    }
}
