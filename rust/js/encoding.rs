//! TextDecoder's host half: every encoding of the WHATWG Encoding Standard, decoded by
//! `encoding_rs` (which implements exactly that standard), for the `encoding_name` and
//! `text_decode` imports (`imports.rs`); `guest/js/web.c` and `web.js` are the guest half.
//!
//! Streaming: `encoding_rs` decoders are stateful (a multi-byte sequence split across chunks,
//! ISO-2022-JP's current mode), and that state cannot be handed to the guest and back. So a
//! `decode(bytes, {stream: true})` keeps its decoder here, in [`Streams`], under an id the guest
//! chose for its TextDecoder, until a decode without `stream` flushes it, a fatal error ends it,
//! or the isolate ends (the store owns the streams). An isolate may hold [`MAX_STREAMS`] at once;
//! past that, a new stream fails with a RangeError that says so. A decode that is not part of a
//! stream (the usual `decode(bytes)`) keeps nothing. An isolate whose module evaluation leaves a
//! stream open is not snapshotted (`snapshot.rs`), so a heap never names a decoder it lacks.
//!
//! A fatal error ends its stream, as a flush would: the next decode starts afresh. (The standard
//! would keep the rest of the failing chunk queued for a stream that goes on; keeping it here
//! would hold tenant bytes on the host, outside the isolate's memory limit.)

use std::collections::HashMap;

use encoding_rs::{CoderResult, Decoder, DecoderResult, Encoding, mem};
use zerocopy::IntoBytes;

use crate::error::{Error, Result};

/// Streams one isolate may keep open at once.
pub const MAX_STREAMS: usize = 1024;

/// Bytes decoded between checks of the call's deadline.
const CHUNK_BYTES: usize = 1 << 20;

/// `text_decode` flags: report malformed input as an error instead of replacing it.
pub const FATAL: i32 = 1;
/// `text_decode` flags: keep a leading byte order mark of the encoding in the text.
pub const IGNORE_BOM: i32 = 2;
/// `text_decode` flags: continue the stream the id names (else a new decoder starts).
pub const CONTINUE: i32 = 4;
/// `text_decode` flags: more input follows (`{stream: true}`), so keep the decoder.
pub const STREAM: i32 = 8;

/// The name TextDecoder's `encoding` reports (the canonical name, lower-cased) for `label`, or
/// `None` when it names no encoding TextDecoder offers (unknown, or one of "replacement"'s).
pub fn name_for_label(label: &[u8]) -> Option<String> {
    Encoding::for_label_no_replacement(label).map(|encoding| encoding.name().to_ascii_lowercase())
}

/// What a decode gives the guest.
#[derive(Debug, PartialEq)]
pub enum Decoded {
    Text(String),
    /// Malformed input under `fatal` (TextDecoder throws a TypeError).
    Malformed(String),
    /// Not decoded: no such encoding, or too many streams (TextDecoder throws a RangeError).
    Refused(String),
}

impl Decoded {
    /// The reply the guest reads (`web.c`): a status byte, then
    /// - 0 ([`LATIN1`]): the text as Latin-1, when every character is below U+0100 (ASCII
    ///   included), or
    /// - 3 ([`UTF16`]): a pad byte, then the text as UTF-16LE,
    ///
    /// the forms of QuickJS's own strings, so the guest copies the text into a string as it is
    /// (making one from UTF-8 would decode it again, in the interpreter); or
    /// - 1 ([`TYPE_ERROR`]) / 2 ([`RANGE_ERROR`]): the message of the error to throw, as UTF-8.
    pub fn encode(self) -> Vec<u8> {
        let (status, message) = match self {
            Decoded::Text(text) => return text_reply(&text),
            Decoded::Malformed(message) => (TYPE_ERROR, message),
            Decoded::Refused(message) => (RANGE_ERROR, message),
        };
        let mut out = Vec::with_capacity(1 + message.len());
        out.push(status);
        out.extend_from_slice(message.as_bytes());
        out
    }
}

/// Reply statuses (see [`Decoded::encode`]).
pub const LATIN1: u8 = 0;
pub const TYPE_ERROR: u8 = 1;
pub const RANGE_ERROR: u8 = 2;
pub const UTF16: u8 = 3;

// QuickJS's UTF-16 strings are little-endian (wasm is), and the reply is the host's own units.
const _: () = assert!(cfg!(target_endian = "little"), "text replies are written in the host's byte order");

/// The work is encoding_rs's (checks and conversions fast even in a debug build of this crate).
fn text_reply(text: &str) -> Vec<u8> {
    if mem::is_ascii(text.as_bytes()) {
        let mut out = Vec::with_capacity(1 + text.len());
        out.push(LATIN1);
        out.extend_from_slice(text.as_bytes());
        return out;
    }
    if mem::is_str_latin1(text) {
        let mut out = vec![0; 1 + text.len()];
        let written = mem::convert_utf8_to_latin1_lossy(text.as_bytes(), &mut out[1..]);
        out.truncate(1 + written);
        return out;
    }
    // UTF-16 never takes more units than UTF-8 takes bytes; the first unit is the status and pad.
    let mut units = vec![0u16; 1 + text.len()];
    units[0] = u16::from(UTF16);
    let count = mem::convert_str_to_utf16(text, &mut units[1..]);
    units[..1 + count].as_bytes().to_vec()
}

/// The decoders of one isolate's TextDecoder streams in progress, by the guest's id.
#[derive(Default)]
pub struct Streams {
    decoders: HashMap<u32, Decoder>,
}

impl Streams {
    /// How many streams are open.
    pub fn len(&self) -> usize {
        self.decoders.len()
    }

    pub fn is_empty(&self) -> bool {
        self.decoders.is_empty()
    }

    /// Decodes `input` as the encoding named `name` (a label; the guest passes the name
    /// `name_for_label` gave it), under `flags` (`FATAL`, `IGNORE_BOM`, `CONTINUE`, `STREAM`),
    /// in stream `id` when `CONTINUE` or `STREAM` is set. `check` is called between chunks of a
    /// long input; its error ends the call.
    pub fn decode(
        &mut self,
        name: &[u8],
        input: &[u8],
        flags: i32,
        id: u32,
        check: &mut dyn FnMut() -> Result<()>,
    ) -> Result<Decoded> {
        let Some(encoding) = Encoding::for_label_no_replacement(name) else {
            let name = String::from_utf8_lossy(name);
            return Ok(Decoded::Refused(format!("TextDecoder: the \"{name}\" encoding is not supported.")));
        };
        let fatal = flags & FATAL != 0;
        let last = flags & STREAM == 0;
        let mut decoder = if flags & CONTINUE != 0 {
            // A stream the guest began: its decoder is here unless a bug lost it, which must not
            // pass for a fresh start (the text would silently differ).
            self.decoders
                .remove(&id)
                .ok_or_else(|| Error::Serialization(format!("TextDecoder stream {id} continued, but none is open")))?
        } else {
            self.decoders.remove(&id); // a new stream replaces one the guest abandoned
            if !last && self.decoders.len() >= MAX_STREAMS {
                return Ok(Decoded::Refused(format!(
                    "TextDecoder: {MAX_STREAMS} streams are already open in this isolate; finish one \
                     with a decode() call without {{stream: true}} before starting another."
                )));
            }
            if flags & IGNORE_BOM != 0 {
                encoding.new_decoder_without_bom_handling()
            } else {
                encoding.new_decoder_with_bom_removal()
            }
        };
        let text = decode_all(&mut decoder, input, last, fatal, check)?;
        if text.is_none() {
            let name = encoding.name().to_ascii_lowercase();
            return Ok(Decoded::Malformed(format!("TextDecoder.decode: the encoded data was not valid {name}.")));
        }
        if !last {
            self.decoders.insert(id, decoder);
        }
        Ok(Decoded::Text(text.unwrap_or_default()))
    }
}

/// Runs `input` through `decoder` in chunks, checking the deadline between them; `None` at the
/// first malformed sequence when `fatal`.
fn decode_all(
    decoder: &mut Decoder,
    input: &[u8],
    last: bool,
    fatal: bool,
    check: &mut dyn FnMut() -> Result<()>,
) -> Result<Option<String>> {
    let too_long = || Error::Serialization(format!("TextDecoder.decode: {} bytes are too many to decode", input.len()));
    let mut text = String::new();
    let mut rest = input;
    loop {
        check()?;
        let (chunk, after) = rest.split_at(rest.len().min(CHUNK_BYTES));
        let chunk_last = last && after.is_empty();
        let mut src = chunk;
        loop {
            // Each call writes only into spare capacity, so reserve what the chunk may need.
            let done = if fatal {
                text.reserve(decoder.max_utf8_buffer_length_without_replacement(src.len()).ok_or_else(too_long)?);
                let (result, read) = decoder.decode_to_string_without_replacement(src, &mut text, chunk_last);
                src = &src[read..];
                match result {
                    DecoderResult::InputEmpty => true,
                    DecoderResult::OutputFull => false,
                    DecoderResult::Malformed(..) => return Ok(None),
                }
            } else {
                text.reserve(decoder.max_utf8_buffer_length(src.len()).ok_or_else(too_long)?);
                let (result, read, _) = decoder.decode_to_string(src, &mut text, chunk_last);
                src = &src[read..];
                result == CoderResult::InputEmpty
            };
            if done {
                break;
            }
        }
        if after.is_empty() {
            return Ok(Some(text));
        }
        rest = after;
    }
}
