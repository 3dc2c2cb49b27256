//! Long work split into chunks, with the call's deadline checked before each.

use super::{Check, Stop};

/// Bytes processed between checks of the call's deadline.
const CHUNK_BYTES: usize = 1 << 20;

/// Feeds `data` to `work` a chunk at a time.
pub(crate) fn in_chunks(data: &[u8], check: &mut Check<'_>, mut work: impl FnMut(&[u8])) -> Result<(), Stop> {
    for chunk in data.chunks(CHUNK_BYTES) {
        check()?;
        work(chunk);
    }
    Ok(())
}

/// Hands `data` to `work` a chunk at a time, to change in place. Chunks are whole multiples of
/// 16 bytes (but the last), so block-wise work can resume where it stopped.
pub(crate) fn in_chunks_mut(
    data: &mut [u8],
    check: &mut Check<'_>,
    mut work: impl FnMut(&mut [u8]),
) -> Result<(), Stop> {
    for chunk in data.chunks_mut(CHUNK_BYTES) {
        check()?;
        work(chunk);
    }
    Ok(())
}
