//! CompressionStream and DecompressionStream's host half, for the `compression` import
//! (`imports.rs`): "gzip", "deflate" and "deflate-raw" by `flate2` over zlib-rs (zlib's own gzip
//! framing, header and checksums; `zlib.rs`), and "brotli" by the `brotli` crate (`brotli.rs`).
//! `guest/js/compression.c` and `compression.js` are the guest half.
//!
//! A stream's codec state cannot be handed to the guest and back, so it stays here, in
//! [`Streams`], under an id the guest chose, from the stream's first chunk until its end, its first
//! error, an abort, or the end of the isolate (the store owns the streams). An isolate may hold
//! [`MAX_STREAMS`] at once, of them [`MAX_BROTLI_STREAMS`] brotli ones: a zlib compressor's state is
//! about 256 KiB, a decompressor's about 40 KiB, a brotli encoder's about 5 MiB and a decoder's up
//! to 16 MiB (its window, which the input chooses), so an isolate holds at most about 90 MiB here.
//! Past a cap, a new stream fails with a RangeError that says so. An isolate whose module
//! evaluation leaves a stream open is not snapshotted (`snapshot.rs`).
//!
//! Nothing else is kept: input is read where it lies in guest memory, and one call gives back at
//! most [`MAX_PIECE_BYTES`] of output and how much input it consumed; the guest enqueues the
//! piece and calls again with the rest. So a decompression bomb grows only the guest's memory,
//! piece by piece, until the isolate's memory limit stops it, and a call checks its deadline
//! between pieces and between megabytes of input (which may compress to nothing).
//!
//! Errors are workerd's, as TypeErrors: corrupt input, a stream closed before its end, and bytes
//! after its end ("strict compression"). Output made before an error reaches the guest first.

use std::collections::HashMap;

mod brotli;
mod zlib;

use crate::error::{Error, Result};

/// Streams one isolate may keep open at once.
pub const MAX_STREAMS: usize = 32;

/// Of those, brotli streams: a brotli decoder's window is up to 16 MiB, as its input asks.
pub const MAX_BROTLI_STREAMS: usize = 4;

/// Bytes a reply spends before its output (see [`Step::encode`]).
pub const HEADER_BYTES: usize = 8;

/// Most output bytes one call gives back: with its header, a reply fits the guest's 64 KiB inbox.
pub const MAX_PIECE_BYTES: usize = (64 << 10) - HEADER_BYTES;

/// Input bytes run through a codec between checks of the call's deadline.
const CHUNK_BYTES: usize = 1 << 20;

/// `compression` flags: the format, in the low two bits.
pub const GZIP: i32 = 0;
pub const DEFLATE: i32 = 1;
pub const DEFLATE_RAW: i32 = 2;
pub const BROTLI: i32 = 3;
const FORMAT_MASK: i32 = 3;
/// `compression` flags: decompress (else compress).
pub const DECOMPRESS: i32 = 4;
/// `compression` flags: a new stream begins with this call (else it continues the id's).
pub const START: i32 = 8;
/// `compression` flags: the input ends with this call's bytes (the stream is closing).
pub const FINISH: i32 = 16;
/// `compression` flags: forget the stream (aborted or cancelled); nothing else is done.
pub const DROP: i32 = 32;

/// Reply statuses (see [`Step::encode`]).
pub const OUTPUT: u8 = 0;
pub const TYPE_ERROR: u8 = 1;
pub const RANGE_ERROR: u8 = 2;

/// workerd's messages.
const CORRUPT: &str = "Decompression failed.";
const TRAILING: &str = "Trailing bytes after end of compressed data";
const TRUNCATED: &str = "Called close() on a decompression stream with incomplete data";
const COMPRESSION_FAILED: &str = "Compression failed.";

/// What one call gives the guest.
#[derive(Debug, PartialEq)]
pub enum Step {
    /// `output` made from the first `consumed` bytes of the input. `more`: call again, with the
    /// rest of the input (or none), for more; else the input is used up and, when the call
    /// finished the stream, the stream is over.
    Output { consumed: usize, output: Vec<u8>, more: bool },
    /// The stream failed and is forgotten (the guest throws a TypeError).
    Failed(&'static str),
    /// Not begun: too many streams are open (the guest throws a RangeError).
    Refused(String),
}

impl Step {
    /// The reply the guest reads (`compression.c`): a status byte, then
    /// - [`OUTPUT`]: a byte that is 1 when there is more, two pad bytes, the bytes consumed (u32
    ///   LE), then the output; or
    /// - [`TYPE_ERROR`] / [`RANGE_ERROR`]: the message of the error to throw, as UTF-8.
    pub fn encode(self) -> Vec<u8> {
        let (status, message) = match self {
            Step::Output { consumed, output, more } => {
                let mut out = Vec::with_capacity(HEADER_BYTES + output.len());
                out.extend_from_slice(&[OUTPUT, u8::from(more), 0, 0]);
                out.extend_from_slice(&(consumed as u32).to_le_bytes());
                out.extend_from_slice(&output);
                return out;
            }
            Step::Failed(message) => (TYPE_ERROR, message.to_string()),
            Step::Refused(message) => (RANGE_ERROR, message),
        };
        let mut out = Vec::with_capacity(1 + message.len());
        out.push(status);
        out.extend_from_slice(message.as_bytes());
        out
    }
}

/// One stream's codec, and where it stands.
struct Coder {
    codec: Box<dyn Codec>,
    decompress: bool,
    brotli: bool,
    /// The compressed data's end has been written or read: a decoder takes no byte after it.
    ended: bool,
}

impl Coder {
    fn new(flags: i32) -> Result<Coder> {
        let format = flags & FORMAT_MASK;
        let decompress = flags & DECOMPRESS != 0;
        let codec = match (format, decompress) {
            (BROTLI, false) => brotli::encoder(),
            (BROTLI, true) => brotli::decoder(),
            (_, false) => zlib::compressor(format),
            (_, true) => zlib::decompressor(format),
        };
        Ok(Coder { codec, decompress, brotli: format == BROTLI, ended: false })
    }

    fn run(&mut self, input: &[u8], finish: bool, check: &mut dyn FnMut() -> Result<()>) -> Result<Step> {
        if self.decompress {
            decompress(self.codec.as_mut(), &mut self.ended, input, finish, check)
        } else {
            compress(self.codec.as_mut(), input, finish, check)
        }
    }
}

/// What one run of a codec over some input into some output room did.
struct Pass {
    took: usize,
    gave: usize,
    /// The compressed data's end was written (a compressor told to finish) or read.
    ended: bool,
}

/// A compressor or decompressor of one format, as the loops below drive it.
trait Codec: Send {
    /// Runs `input` into `output`; a compressor told to `finish` ends the compressed data once
    /// `input` is in (a decompressor is never told: the loops decide what an early close means).
    /// `None` for data the codec refuses.
    fn pass(&mut self, input: &[u8], output: &mut [u8], finish: bool) -> Option<Pass>;
}

/// The codec states of one isolate's compression streams in progress, by the guest's id.
#[derive(Default)]
pub struct Streams {
    coders: HashMap<u32, Coder>,
}

impl Streams {
    /// How many streams are open.
    pub fn len(&self) -> usize {
        self.coders.len()
    }

    pub fn is_empty(&self) -> bool {
        self.coders.is_empty()
    }

    /// Runs `input` through stream `id` under `flags` ([`START`] and a format, [`DECOMPRESS`],
    /// [`FINISH`], [`DROP`]). `check` is called between pieces; its error ends the call.
    pub fn step(&mut self, id: u32, flags: i32, input: &[u8], check: &mut dyn FnMut() -> Result<()>) -> Result<Step> {
        if flags & DROP != 0 {
            self.coders.remove(&id);
            return Ok(Step::Output { consumed: 0, output: Vec::new(), more: false });
        }
        let mut coder = if flags & START != 0 {
            self.coders.remove(&id); // a new stream replaces one the guest abandoned
            let coder = Coder::new(flags)?;
            let brotli = self.coders.values().filter(|open| open.brotli).count();
            if self.coders.len() >= MAX_STREAMS || (coder.brotli && brotli >= MAX_BROTLI_STREAMS) {
                let (limit, kind) =
                    if coder.brotli { (MAX_BROTLI_STREAMS, "brotli") } else { (MAX_STREAMS, "compression") };
                return Ok(Step::Refused(format!(
                    "{limit} {kind} streams are already open in this isolate; close or abort one before \
                     starting another."
                )));
            }
            coder
        } else {
            // A stream the guest began: its state is here unless a bug lost it, which must not
            // pass for a fresh start (the output would silently differ).
            self.coders
                .remove(&id)
                .ok_or_else(|| Error::Serialization(format!("compression stream {id} continued, but none is open")))?
        };
        let finish = flags & FINISH != 0;
        let step = coder.run(input, finish, check)?;
        if let Step::Output { more, .. } = step
            && (more || !finish)
        {
            self.coders.insert(id, coder);
        }
        Ok(step)
    }
}

/// Compresses `input` until it is used up or a piece of output is full; when `finish`, until the
/// compressed data's end is written.
fn compress(codec: &mut dyn Codec, input: &[u8], finish: bool, check: &mut dyn FnMut() -> Result<()>) -> Result<Step> {
    let mut output = vec![0; MAX_PIECE_BYTES];
    let (mut read, mut written) = (0, 0);
    loop {
        check()?;
        let chunk = &input[read..read + (input.len() - read).min(CHUNK_BYTES)];
        let last = read + chunk.len() == input.len();
        let Some(pass) = codec.pass(chunk, &mut output[written..], finish && last) else {
            return Ok(Step::Failed(COMPRESSION_FAILED));
        };
        (read, written) = (read + pass.took, written + pass.gave);
        let full = written == output.len();
        if pass.ended || full || (read == input.len() && !finish) {
            output.truncate(written);
            return Ok(Step::Output { consumed: read, output, more: !pass.ended && full });
        }
        if pass.took == 0 && pass.gave == 0 {
            return Ok(Step::Failed(COMPRESSION_FAILED)); // the codec can make no progress: a bug
        }
    }
}

/// Decompresses `input` until it is used up, a piece of output is full, or the compressed data
/// ends; when `finish`, the data must have ended.
fn decompress(
    codec: &mut dyn Codec,
    ended: &mut bool,
    input: &[u8],
    finish: bool,
    check: &mut dyn FnMut() -> Result<()>,
) -> Result<Step> {
    let mut output = vec![0; MAX_PIECE_BYTES];
    let (mut read, mut written) = (0, 0);
    loop {
        if *ended {
            // What came before the end reaches the guest before the error about what follows it.
            return piece(output, read, written, read < input.len(), TRAILING);
        }
        check()?;
        let chunk = &input[read..read + (input.len() - read).min(CHUNK_BYTES)];
        let Some(pass) = codec.pass(chunk, &mut output[written..], false) else {
            return Ok(Step::Failed(CORRUPT));
        };
        (read, written) = (read + pass.took, written + pass.gave);
        *ended = pass.ended;
        if *ended {
            continue;
        }
        if written == output.len() {
            return piece(output, read, written, true, CORRUPT);
        }
        if read == input.len() {
            // Closed before the end: the output so far first, then the error.
            return piece(output, read, written, finish, TRUNCATED);
        }
        if pass.took == 0 && pass.gave == 0 {
            return Ok(Step::Failed(CORRUPT)); // input the codec cannot use, and no room was lacking
        }
    }
}

/// The first `written` bytes of `output`, made from `read` bytes of input, and whether to call
/// again; or, when more was wanted but the call gave nothing, `error`.
fn piece(mut output: Vec<u8>, read: usize, written: usize, more: bool, error: &'static str) -> Result<Step> {
    if more && written == 0 {
        return Ok(Step::Failed(error));
    }
    output.truncate(written);
    Ok(Step::Output { consumed: read, output, more })
}
