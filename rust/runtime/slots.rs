//! Isolate slots: a counting semaphore in front of the pooling allocator, so a full pool makes
//! callers wait (up to a timeout) instead of failing inside wasmtime.

use std::sync::{Arc, Condvar, Mutex};
use std::time::{Duration, Instant};

use crate::error::{Error, Result};

struct State {
    in_use: u32,
    waiters: u32,
}

/// The slot counter of one pool.
pub struct Slots {
    capacity: u32,
    state: Mutex<State>,
    freed: Condvar,
}

/// One taken slot; dropping it gives the slot back.
pub struct SlotPermit(Arc<Slots>);

impl Slots {
    pub fn new(capacity: u32) -> Arc<Slots> {
        Arc::new(Slots { capacity, state: Mutex::new(State { in_use: 0, waiters: 0 }), freed: Condvar::new() })
    }

    /// Takes a slot, waiting up to `timeout` for one to be freed.
    pub fn acquire(self: &Arc<Self>, timeout: Duration) -> Result<SlotPermit> {
        let mut state = self.state.lock().unwrap();
        if state.in_use < self.capacity {
            state.in_use += 1;
            return Ok(SlotPermit(self.clone()));
        }
        let start = Instant::now();
        state.waiters += 1;
        while state.in_use >= self.capacity {
            let left = timeout.saturating_sub(start.elapsed());
            if left.is_zero() {
                state.waiters -= 1;
                return Err(Error::PoolExhausted {
                    max_isolates: self.capacity,
                    waited_ms: timeout.as_millis() as u64,
                });
            }
            state = self.freed.wait_timeout(state, left).unwrap().0;
        }
        state.waiters -= 1;
        state.in_use += 1;
        Ok(SlotPermit(self.clone()))
    }

    /// Slots taken right now.
    pub fn in_use(&self) -> u32 {
        self.state.lock().unwrap().in_use
    }

    pub fn capacity(&self) -> u32 {
        self.capacity
    }
}

impl Drop for SlotPermit {
    fn drop(&mut self) {
        let mut state = self.0.state.lock().unwrap();
        state.in_use -= 1;
        if state.waiters > 0 {
            self.0.freed.notify_one();
        }
    }
}
