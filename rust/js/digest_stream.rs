//! Cloudflare's `crypto.DigestStream`'s host half: a hash of everything written to the stream,
//! computed as the chunks arrive (MD5, SHA-1, SHA-256, SHA-384 and SHA-512, by RustCrypto's
//! crates), for the `digest_stream` import (`imports.rs`); `guest/js/compression.c` and
//! `compression.js` are the guest half.
//!
//! A stream's hash state stays here, in [`Digests`], under an id the guest chose, from its first
//! chunk until it is closed (the digest is returned and the state forgotten) or aborted, or the
//! isolate ends. A state is a few hundred bytes; an isolate may hold [`MAX_STREAMS`] at once, and
//! past that a new stream fails with a RangeError that says so. An isolate whose module evaluation
//! leaves a stream open is not snapshotted (`snapshot.rs`).

use std::collections::HashMap;

use sha2::Digest;

use crate::error::{Error, Result};

/// Streams one isolate may keep open at once.
pub const MAX_STREAMS: usize = 1024;

/// Bytes hashed between checks of the call's deadline.
const CHUNK_BYTES: usize = 1 << 20;

/// `digest_stream` operations: hash the bytes.
pub const UPDATE: i32 = 0;
/// `digest_stream` operations: hash the bytes, then end the stream and return its digest.
pub const FINISH: i32 = 1;
/// `digest_stream` operations: forget the stream (aborted).
pub const DROP: i32 = 2;
/// `digest_stream` flags, with an operation: a new stream of the named algorithm begins.
pub const START: i32 = 4;

/// Reply statuses (see [`Digested::encode`]).
pub const OK: u8 = 0;
pub const RANGE_ERROR: u8 = 2;

/// One stream's hash state.
enum Hasher {
    Md5(md5::Md5),
    Sha1(sha1::Sha1),
    Sha256(sha2::Sha256),
    Sha384(sha2::Sha384),
    Sha512(sha2::Sha512),
}

/// Runs `$body` with `$h` bound to the hasher inside `$hasher`, whatever its algorithm.
macro_rules! with_hasher {
    ($hasher:expr, $h:ident => $body:expr) => {
        match $hasher {
            Hasher::Md5($h) => $body,
            Hasher::Sha1($h) => $body,
            Hasher::Sha256($h) => $body,
            Hasher::Sha384($h) => $body,
            Hasher::Sha512($h) => $body,
        }
    };
}

impl Hasher {
    /// The hasher of algorithm `name`, as the guest normalised it (WebCrypto's names, and MD5).
    fn new(name: &[u8]) -> Result<Hasher> {
        Ok(match name {
            b"MD5" => Hasher::Md5(md5::Md5::new()),
            b"SHA-1" => Hasher::Sha1(sha1::Sha1::new()),
            b"SHA-256" => Hasher::Sha256(sha2::Sha256::new()),
            b"SHA-384" => Hasher::Sha384(sha2::Sha384::new()),
            b"SHA-512" => Hasher::Sha512(sha2::Sha512::new()),
            _ => {
                let name = String::from_utf8_lossy(name);
                return Err(Error::Serialization(format!(
                    "digest_stream() was given algorithm {name:?}, which is none"
                )));
            }
        })
    }

    fn update(&mut self, data: &[u8]) {
        with_hasher!(self, h => h.update(data))
    }

    fn finish(self) -> Vec<u8> {
        with_hasher!(self, h => h.finalize().to_vec())
    }
}

/// What one call gives the guest.
#[derive(Debug, PartialEq)]
pub enum Digested {
    /// The digest, when the call finished the stream; else empty.
    Done(Vec<u8>),
    /// Not begun: too many streams are open (the guest throws a RangeError).
    Refused(String),
}

impl Digested {
    /// The reply the guest reads (`compression.c`): a status byte, then the digest ([`OK`]) or the
    /// RangeError's message as UTF-8 ([`RANGE_ERROR`]).
    pub fn encode(self) -> Vec<u8> {
        let (status, bytes) = match self {
            Digested::Done(digest) => (OK, digest),
            Digested::Refused(message) => (RANGE_ERROR, message.into_bytes()),
        };
        let mut out = Vec::with_capacity(1 + bytes.len());
        out.push(status);
        out.extend_from_slice(&bytes);
        out
    }
}

/// The hash states of one isolate's DigestStreams in progress, by the guest's id.
#[derive(Default)]
pub struct Digests {
    hashers: HashMap<u32, Hasher>,
}

impl Digests {
    /// How many streams are open.
    pub fn len(&self) -> usize {
        self.hashers.len()
    }

    pub fn is_empty(&self) -> bool {
        self.hashers.is_empty()
    }

    /// Runs operation `op` (with [`START`] and the algorithm `name` for a new stream) on stream
    /// `id` with `data`. `check` is called between chunks of a long input; its error ends the call.
    pub fn step(
        &mut self,
        id: u32,
        op: i32,
        name: &[u8],
        data: &[u8],
        check: &mut dyn FnMut() -> Result<()>,
    ) -> Result<Digested> {
        if op == DROP {
            self.hashers.remove(&id);
            return Ok(Digested::Done(Vec::new()));
        }
        let mut hasher = if op & START != 0 {
            self.hashers.remove(&id); // a new stream replaces one the guest abandoned
            if op & FINISH == 0 && self.hashers.len() >= MAX_STREAMS {
                return Ok(Digested::Refused(format!(
                    "{MAX_STREAMS} DigestStreams are already open in this isolate; close or abort one before \
                     writing to another."
                )));
            }
            Hasher::new(name)?
        } else {
            self.hashers
                .remove(&id)
                .ok_or_else(|| Error::Serialization(format!("DigestStream {id} continued, but none is open")))?
        };
        for chunk in data.chunks(CHUNK_BYTES) {
            check()?;
            hasher.update(chunk);
        }
        if op & FINISH != 0 {
            return Ok(Digested::Done(hasher.finish()));
        }
        self.hashers.insert(id, hasher);
        Ok(Digested::Done(Vec::new()))
    }
}
