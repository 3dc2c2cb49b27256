//! The zlib formats ("gzip", "deflate", "deflate-raw") as [`Codec`]s: flate2 over zlib-rs, with
//! zlib's largest window and default level, as workerd and browsers use.

use flate2::{Compress, Compression, Decompress, FlushCompress, FlushDecompress, Status};

use super::{Codec, DEFLATE, GZIP, Pass};

/// zlib's largest window (32 KiB).
const WINDOW_BITS: u8 = 15;

/// The compressor of `format` (a zlib one).
pub(super) fn compressor(format: i32) -> Box<dyn Codec> {
    let level = Compression::default();
    Box::new(match format {
        GZIP => Compress::new_gzip(level, WINDOW_BITS),
        DEFLATE => Compress::new(level, true),
        _ => Compress::new(level, false),
    })
}

/// The decompressor of `format` (a zlib one).
pub(super) fn decompressor(format: i32) -> Box<dyn Codec> {
    Box::new(match format {
        GZIP => Decompress::new_gzip(WINDOW_BITS),
        DEFLATE => Decompress::new(true),
        _ => Decompress::new(false),
    })
}

/// Bytes in and out of one zlib call, from its totals before and after.
fn moved(before: (u64, u64), after: (u64, u64)) -> (usize, usize) {
    ((after.0 - before.0) as usize, (after.1 - before.1) as usize)
}

impl Codec for Compress {
    fn pass(&mut self, input: &[u8], output: &mut [u8], finish: bool) -> Option<Pass> {
        let before = (self.total_in(), self.total_out());
        let flush = if finish { FlushCompress::Finish } else { FlushCompress::None };
        let status = self.compress(input, output, flush).ok()?;
        let (took, gave) = moved(before, (self.total_in(), self.total_out()));
        Some(Pass { took, gave, ended: status == Status::StreamEnd })
    }
}

impl Codec for Decompress {
    fn pass(&mut self, input: &[u8], output: &mut [u8], _finish: bool) -> Option<Pass> {
        let before = (self.total_in(), self.total_out());
        let status = self.decompress(input, output, FlushDecompress::None).ok()?;
        let (took, gave) = moved(before, (self.total_in(), self.total_out()));
        Some(Pass { took, gave, ended: status == Status::StreamEnd })
    }
}
