//! The runtime layer: wasmtime plumbing that every isolate borrows and that knows nothing of what
//! a guest means. One [`Runtime`] per pool: the engine (pooling allocator, copy-on-write images,
//! epochs), the epoch ticker that enforces deadlines, and the slots that bound live isolates. The
//! module cache, the memory limiter and heap images (one compiled code module, many
//! copy-on-write heaps) live here too, as tools the layers above use.

pub mod cache;
pub mod engine;
pub mod epoch;
pub mod heap;
pub mod limits;
pub mod slots;

use std::sync::Arc;

use crate::config::PoolConfig;
use crate::error::{Error, Result};
use epoch::EpochTicker;
use slots::Slots;

/// What every isolate of a pool runs on.
pub struct Runtime {
    pub config: PoolConfig,
    pub engine: wasmtime::Engine,
    pub ticker: EpochTicker,
    pub slots: Arc<Slots>,
    /// The address space the engine's memories reserve (after `engine`: given back once it is gone).
    pub reservation: engine::Reservation,
}

impl Runtime {
    /// Builds the engine for `config` and starts its epoch ticker.
    pub fn new(config: PoolConfig) -> Result<Arc<Runtime>> {
        let (engine, reservation) = engine::build(&config)?;
        let ticker =
            EpochTicker::start(&engine).map_err(|e| Error::Config(format!("cannot start the epoch ticker: {e}")))?;
        let slots = Slots::new(config.max_isolates);
        Ok(Arc::new(Runtime { config, engine, ticker, slots, reservation }))
    }
}
