//! CompressionStream and DecompressionStream's host half: the "gzip", "deflate" and "deflate-raw"
//! formats, compressed and decompressed by `flate2` over zlib-rs (zlib's own gzip framing, header
//! and checksums), for the `compression` import (`imports.rs`); `guest/js/compression.c` and
//! `compression.js` are the guest half.
//!
//! A stream's zlib state cannot be handed to the guest and back, so it stays here, in [`Streams`],
//! under an id the guest chose, from the stream's first chunk until its end, its first error, an
//! abort, or the end of the isolate (the store owns the streams). An isolate may hold
//! [`MAX_STREAMS`] at once (a compressor's state is about 256 KiB, a decompressor's about 40 KiB,
//! so a few MiB at most); past that, a new stream fails with a RangeError that says so. An isolate
//! whose module evaluation leaves a stream open is not snapshotted (`snapshot.rs`).
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

use flate2::{Compress, Compression, Decompress, FlushCompress, FlushDecompress, Status};

use crate::error::{Error, Result};

/// Streams one isolate may keep open at once.
pub const MAX_STREAMS: usize = 32;

/// Bytes a reply spends before its output (see [`Step::encode`]).
pub const HEADER_BYTES: usize = 8;

/// Most output bytes one call gives back: with its header, a reply fits the guest's 64 KiB inbox.
pub const MAX_PIECE_BYTES: usize = (64 << 10) - HEADER_BYTES;

/// Input bytes run through zlib between checks of the call's deadline.
const CHUNK_BYTES: usize = 1 << 20;

/// `compression` flags: the format, in the low two bits.
pub const GZIP: i32 = 0;
pub const DEFLATE: i32 = 1;
pub const DEFLATE_RAW: i32 = 2;
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

/// One stream's zlib state.
enum Coder {
    Compress(Compress),
    /// `ended` once the compressed data's end has been read: any byte after it is an error.
    Decompress {
        inflate: Decompress,
        ended: bool,
    },
}

impl Coder {
    fn new(flags: i32) -> Result<Coder> {
        let level = Compression::default();
        let window_bits = 15; // zlib's largest window, as workerd and browsers use
        let format = flags & FORMAT_MASK;
        let decompress = flags & DECOMPRESS != 0;
        Ok(match (format, decompress) {
            (GZIP, false) => Coder::Compress(Compress::new_gzip(level, window_bits)),
            (DEFLATE, false) => Coder::Compress(Compress::new(level, true)),
            (DEFLATE_RAW, false) => Coder::Compress(Compress::new(level, false)),
            (GZIP, true) => Coder::decompress(Decompress::new_gzip(window_bits)),
            (DEFLATE, true) => Coder::decompress(Decompress::new(true)),
            (DEFLATE_RAW, true) => Coder::decompress(Decompress::new(false)),
            _ => return Err(Error::Serialization(format!("compression() was given format {format}, which is none"))),
        })
    }

    fn decompress(inflate: Decompress) -> Coder {
        Coder::Decompress { inflate, ended: false }
    }

    fn run(&mut self, input: &[u8], finish: bool, check: &mut dyn FnMut() -> Result<()>) -> Result<Step> {
        match self {
            Coder::Compress(deflate) => compress(deflate, input, finish, check),
            Coder::Decompress { inflate, ended } => decompress(inflate, ended, input, finish, check),
        }
    }
}

/// The zlib states of one isolate's compression streams in progress, by the guest's id.
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
            if self.coders.len() >= MAX_STREAMS {
                return Ok(Step::Refused(format!(
                    "{MAX_STREAMS} compression streams are already open in this isolate; close or abort one \
                     before starting another."
                )));
            }
            Coder::new(flags)?
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

/// Bytes in and out of one zlib call, from its totals before and after.
fn moved(before: (u64, u64), after: (u64, u64)) -> (usize, usize) {
    ((after.0 - before.0) as usize, (after.1 - before.1) as usize)
}

/// Deflates `input` until it is used up or a piece of output is full; when `finish`, until the
/// stream's end is written.
fn compress(deflate: &mut Compress, input: &[u8], finish: bool, check: &mut dyn FnMut() -> Result<()>) -> Result<Step> {
    let mut output = vec![0; MAX_PIECE_BYTES];
    let (mut read, mut written) = (0, 0);
    loop {
        check()?;
        let chunk = &input[read..read + (input.len() - read).min(CHUNK_BYTES)];
        let last = read + chunk.len() == input.len();
        let flush = if finish && last { FlushCompress::Finish } else { FlushCompress::None };
        let before = (deflate.total_in(), deflate.total_out());
        let Ok(status) = deflate.compress(chunk, &mut output[written..], flush) else {
            return Ok(Step::Failed(COMPRESSION_FAILED));
        };
        let (took, gave) = moved(before, (deflate.total_in(), deflate.total_out()));
        (read, written) = (read + took, written + gave);
        let piece = |more: bool, mut output: Vec<u8>| {
            output.truncate(written);
            Ok(Step::Output { consumed: read, output, more })
        };
        if status == Status::StreamEnd {
            return piece(false, output);
        }
        if written == output.len() {
            return piece(true, output);
        }
        if read == input.len() && !finish {
            return piece(false, output);
        }
        if took == 0 && gave == 0 {
            return Ok(Step::Failed(COMPRESSION_FAILED)); // zlib can make no progress: a bug
        }
    }
}

/// Inflates `input` until it is used up, a piece of output is full, or the compressed data ends;
/// when `finish`, the data must have ended.
fn decompress(
    inflate: &mut Decompress,
    ended: &mut bool,
    input: &[u8],
    finish: bool,
    check: &mut dyn FnMut() -> Result<()>,
) -> Result<Step> {
    let mut output = vec![0; MAX_PIECE_BYTES];
    let (mut read, mut written) = (0, 0);
    loop {
        let piece = |more: bool, read: usize, written: usize, mut output: Vec<u8>| {
            output.truncate(written);
            Ok(Step::Output { consumed: read, output, more })
        };
        if *ended {
            if read == input.len() {
                return piece(false, read, written, output);
            }
            // What came before the end reaches the guest before the error does.
            return if written > 0 { piece(true, read, written, output) } else { Ok(Step::Failed(TRAILING)) };
        }
        check()?;
        let chunk = &input[read..read + (input.len() - read).min(CHUNK_BYTES)];
        let before = (inflate.total_in(), inflate.total_out());
        let Ok(status) = inflate.decompress(chunk, &mut output[written..], FlushDecompress::None) else {
            return Ok(Step::Failed(CORRUPT));
        };
        let (took, gave) = moved(before, (inflate.total_in(), inflate.total_out()));
        (read, written) = (read + took, written + gave);
        *ended = status == Status::StreamEnd;
        if *ended {
            continue;
        }
        if written == output.len() {
            return piece(true, read, written, output);
        }
        if read == input.len() {
            if !finish {
                return piece(false, read, written, output);
            }
            // Closed before the end: the output so far first, then the error.
            return if written > 0 { piece(true, read, written, output) } else { Ok(Step::Failed(TRUNCATED)) };
        }
        if took == 0 && gave == 0 {
            return Ok(Step::Failed(CORRUPT)); // input zlib cannot use, and no room was lacking
        }
    }
}
