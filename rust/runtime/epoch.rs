//! The epoch ticker: a background thread that advances the engine's epoch once per tick while any
//! guest runs, so running guests reach their epoch deadline callback and can be stopped. It parks
//! when no guest has run for a while, so an idle process costs no wake-ups.

use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{Arc, Weak};
use std::thread::{self, Thread};
use std::time::Duration;

/// One epoch tick. A running call's deadlines (`cpu_ms`, `wall_ms`) are checked once per tick, so
/// they are honoured to within a tick.
pub const EPOCH_TICK: Duration = Duration::from_micros(500);

/// Ticks without a running guest before the ticker parks.
const IDLE_TICKS_BEFORE_PARK: u32 = 2_000;

struct Shared {
    running: AtomicUsize,
    parked: AtomicBool,
    stop: AtomicBool,
}

/// Owns the ticker thread of one engine; dropping it stops the thread.
pub struct EpochTicker {
    shared: Arc<Shared>,
    thread: Thread,
}

/// Marks a guest as running for as long as it lives.
pub struct Running<'a>(&'a EpochTicker);

impl EpochTicker {
    /// Starts the ticker for `engine`. The thread holds only a weak reference to the engine.
    pub fn start(engine: &wasmtime::Engine) -> std::io::Result<EpochTicker> {
        let shared = Arc::new(Shared {
            running: AtomicUsize::new(0),
            parked: AtomicBool::new(false),
            stop: AtomicBool::new(false),
        });
        let weak_engine = engine.weak();
        let thread_shared: Weak<Shared> = Arc::downgrade(&shared);
        let handle = thread::Builder::new()
            .name("dynisolate-epoch".into())
            .spawn(move || tick_loop(&weak_engine, &thread_shared))?;
        Ok(EpochTicker { shared, thread: handle.thread().clone() })
    }

    /// Declares a guest running until the returned guard drops, waking the ticker if it sleeps.
    pub fn running(&self) -> Running<'_> {
        self.shared.running.fetch_add(1, Ordering::SeqCst);
        if self.shared.parked.load(Ordering::SeqCst) {
            self.thread.unpark();
        }
        Running(self)
    }
}

impl Drop for Running<'_> {
    fn drop(&mut self) {
        self.0.shared.running.fetch_sub(1, Ordering::SeqCst);
    }
}

impl Drop for EpochTicker {
    fn drop(&mut self) {
        self.shared.stop.store(true, Ordering::SeqCst);
        self.thread.unpark();
    }
}

fn tick_loop(engine: &wasmtime::EngineWeak, shared: &Weak<Shared>) {
    let mut idle = 0u32;
    loop {
        thread::sleep(EPOCH_TICK);
        let (Some(state), Some(engine)) = (shared.upgrade(), engine.upgrade()) else { return };
        if state.stop.load(Ordering::SeqCst) {
            return;
        }
        engine.increment_epoch();
        if state.running.load(Ordering::SeqCst) > 0 {
            idle = 0;
            continue;
        }
        idle += 1;
        if idle < IDLE_TICKS_BEFORE_PARK {
            continue;
        }
        idle = 0;
        // Publish `parked` before re-checking, so a guest starting now either sees it and
        // unparks us, or we see its `running` count and keep ticking.
        state.parked.store(true, Ordering::SeqCst);
        if state.running.load(Ordering::SeqCst) == 0 && !state.stop.load(Ordering::SeqCst) {
            drop(engine);
            thread::park();
        }
        state.parked.store(false, Ordering::SeqCst);
    }
}
