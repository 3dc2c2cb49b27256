//! TextDecoder, compression and DigestStream streams, driven with random flags, ids and data.

use std::io::Write;

use _core::js::{compression, digest_stream, encoding};
use _core::{Error, Result};

use super::{REQUESTS, no_deadline};
use crate::fuzz::random::{Rng, seeds};

/// The answer to a request, `None` when the request breaks the import's protocol (a stream
/// continued that was never started, an unknown algorithm for a new one): that ends the call
/// with a serialization error, as a guest bug does. With no deadline to miss, nothing else may.
fn answered<T>(result: Result<T>, what: &str, seed: u64) -> Option<T> {
    match result {
        Ok(answer) => Some(answer),
        Err(Error::Serialization(_)) => None,
        Err(e) => panic!("seed {seed}: {what} failed without a deadline: {e:?}"),
    }
}

/// A stream id: a few of them, so streams are reused, or any.
fn stream_id(rng: &mut Rng) -> u32 {
    if rng.chance(80) { rng.below(4) as u32 } else { rng.next_u64() as u32 }
}

#[test]
fn text_decoding_answers_any_request() {
    const LABELS: &[&str] = &[
        "utf-8",
        "utf-16le",
        "utf-16be",
        "shift_jis",
        "iso-2022-jp",
        "gb18030",
        "big5",
        "euc-kr",
        "windows-1252",
        "x-user-defined",
        "replacement",
        "utf-7",
        "",
    ];
    let mut streams = encoding::Streams::default();
    for seed in seeds(REQUESTS) {
        let mut rng = Rng::new("text_decode", seed);
        let label = if rng.chance(80) { rng.pick(LABELS).as_bytes().to_vec() } else { rng.bytes(20) };
        encoding::name_for_label(&label);
        let input = rng.bytes(2_000);
        let flags = if rng.chance(80) { rng.below(16) as i32 } else { rng.next_u64() as i32 };
        let decoded = streams.decode(&label, &input, flags, stream_id(&mut rng), &mut no_deadline);
        if let Some(decoded) = answered(decoded, "text_decode", seed) {
            assert!(!decoded.encode().is_empty());
        }
        assert!(streams.len() <= encoding::MAX_STREAMS);
    }
}

/// Input for a decompressing stream: data compressed in one of the formats, often damaged, or
/// random bytes.
fn compressed(rng: &mut Rng) -> Vec<u8> {
    let plain = rng.bytes(4_000);
    let packed = match rng.below(4) {
        0 => {
            let mut gz = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
            gz.write_all(&plain).unwrap();
            gz.finish().unwrap()
        }
        1 => {
            let mut z = flate2::write::ZlibEncoder::new(Vec::new(), flate2::Compression::fast());
            z.write_all(&plain).unwrap();
            z.finish().unwrap()
        }
        2 => {
            let mut out = Vec::new();
            let mut br = brotli::CompressorWriter::new(&mut out, 4096, 5, 20);
            br.write_all(&plain).unwrap();
            drop(br);
            out
        }
        _ => return rng.bytes(3_000),
    };
    if rng.chance(60) { rng.mutate(packed) } else { packed }
}

#[test]
fn compression_answers_any_request() {
    use compression::{BROTLI, DECOMPRESS, DROP, FINISH, START, Step};
    let mut streams = compression::Streams::default();
    for seed in seeds(REQUESTS) {
        let mut rng = Rng::new("compression", seed);
        let id = stream_id(&mut rng);
        let mut flags = rng.below(BROTLI as u64 + 1) as i32;
        for (flag, percent) in [(DECOMPRESS, 60), (START, 50), (FINISH, 40), (DROP, 5)] {
            if rng.chance(percent) {
                flags |= flag;
            }
        }
        if rng.chance(5) {
            flags = rng.next_u64() as i32;
        }
        let input = if flags & DECOMPRESS != 0 { compressed(&mut rng) } else { rng.bytes(4_000) };
        // As the guest does: call again with the rest while the stream has more to give.
        let mut offset = 0;
        for _ in 0..64 {
            let step = streams.step(id, flags, &input[offset..], &mut no_deadline);
            let Some(Step::Output { consumed, ref output, more }) = answered(step, "compression", seed) else { break };
            assert!(output.len() <= compression::MAX_PIECE_BYTES, "seed {seed}");
            assert!(consumed <= input.len() - offset, "seed {seed}: consumed past the input");
            offset += consumed;
            if !more {
                break;
            }
            flags &= !START;
        }
        assert!(streams.len() <= compression::MAX_STREAMS);
    }
}

#[test]
fn digest_streams_answer_any_request() {
    use digest_stream::{DROP, FINISH, START, UPDATE};
    let mut digests = digest_stream::Digests::default();
    for seed in seeds(REQUESTS) {
        let mut rng = Rng::new("digest_stream", seed);
        let op = match rng.below(6) {
            0 => START,
            1 => START | FINISH,
            2 => FINISH,
            3 => DROP,
            4 => rng.next_u64() as i32,
            _ => UPDATE,
        };
        let name = if rng.chance(80) {
            rng.pick(&["SHA-1", "SHA-256", "SHA-384", "SHA-512", "MD5", "sha-256", ""]).as_bytes().to_vec()
        } else {
            rng.bytes(16)
        };
        let data = rng.bytes(3_000);
        let step = digests.step(stream_id(&mut rng), op, &name, &data, &mut no_deadline);
        if let Some(digested) = answered(step, "digest_stream", seed) {
            assert!(!digested.encode().is_empty());
        }
        assert!(digests.len() <= digest_stream::MAX_STREAMS);
    }
}
