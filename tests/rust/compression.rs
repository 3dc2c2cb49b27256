//! The compression and DigestStream host halves (`rust/js/compression/`, `rust/js/digest_stream.rs`)
//! called directly, as the `compression` and `digest_stream` imports would: output in bounded
//! pieces with the input consumed reported, workerd's errors, the caps on open streams, the
//! deadline checked between pieces, forgetting a stream, and the flags and statuses the guest uses.

use _core::error::{Error, Result};
use _core::js::compression::{
    BROTLI, DECOMPRESS, DEFLATE, DROP, FINISH, GZIP, HEADER_BYTES, MAX_BROTLI_STREAMS, MAX_PIECE_BYTES, MAX_STREAMS,
    OUTPUT, RANGE_ERROR, START, Step, Streams, TYPE_ERROR,
};
use _core::js::digest_stream::{self, Digested, Digests};
use sha2::Digest;

use crate::protocol::{defined, guest_source};

fn no_deadline() -> Result<()> {
    Ok(())
}

/// Runs `input` through stream `id` as the guest does: call again with the rest while there is
/// more; the pieces, or the first failure's step.
fn run(streams: &mut Streams, id: u32, mut flags: i32, input: &[u8]) -> std::result::Result<Vec<Vec<u8>>, Step> {
    let (mut pieces, mut offset) = (Vec::new(), 0);
    loop {
        match streams.step(id, flags, &input[offset..], &mut no_deadline).expect("no deadline to miss") {
            Step::Output { consumed, output, more } => {
                assert!(output.len() <= MAX_PIECE_BYTES);
                offset += consumed;
                if !output.is_empty() {
                    pieces.push(output);
                }
                if !more {
                    assert_eq!(offset, input.len(), "all input consumed when no more is asked for");
                    return Ok(pieces);
                }
                flags &= !START;
            }
            failed => return Err(failed),
        }
    }
}

fn whole(streams: &mut Streams, id: u32, flags: i32, input: &[u8]) -> std::result::Result<Vec<u8>, Step> {
    let mut out = run(streams, id, flags | START, input)?.concat();
    out.extend(run(streams, id, flags | FINISH, &[])?.concat());
    Ok(out)
}

fn sample() -> Vec<u8> {
    (0..200_000u64).flat_map(|i| ((i * 2_654_435_761 % 977) as u32).to_le_bytes()).collect()
}

#[test]
fn every_format_round_trips_in_bounded_pieces_and_forgets_the_stream() {
    let data = sample();
    let mut streams = Streams::default();
    for format in [GZIP, DEFLATE, 2, BROTLI] {
        let compressed = whole(&mut streams, 1, format, &data).unwrap_or_else(|e| panic!("{format}: {e:?}"));
        assert!(compressed.len() < data.len(), "{format}");
        let pieces = run(&mut streams, 2, format | DECOMPRESS | START, &compressed).expect("decompresses");
        assert!(pieces.len() >= data.len() / MAX_PIECE_BYTES, "{format}: output came in pieces");
        assert_eq!(run(&mut streams, 2, format | DECOMPRESS | FINISH, &[]).expect("ends"), Vec::<Vec<u8>>::new());
        assert_eq!(pieces.concat(), data, "{format}");
        assert!(streams.is_empty(), "{format}: finished streams are forgotten");
    }
}

#[test]
fn bad_data_is_workerds_type_errors_and_forgets_the_stream() {
    let mut streams = Streams::default();
    let compressed = whole(&mut streams, 1, GZIP, b"hello").expect("compresses");
    let failed = |message: &'static str| Err(Step::Failed(message));
    assert_eq!(whole(&mut streams, 2, GZIP | DECOMPRESS, b"not gzip at all"), failed("Decompression failed."));
    assert_eq!(
        whole(&mut streams, 3, GZIP | DECOMPRESS, &compressed[..compressed.len() - 2]),
        failed("Called close() on a decompression stream with incomplete data")
    );
    // The output before the end first, then the bytes after it are the error.
    let mut trailing = compressed.clone();
    trailing.push(0);
    let first = streams.step(4, GZIP | DECOMPRESS | START, &trailing, &mut no_deadline).expect("runs");
    assert_eq!(first, Step::Output { consumed: compressed.len(), output: b"hello".to_vec(), more: true });
    assert_eq!(
        streams.step(4, GZIP | DECOMPRESS, &[0], &mut no_deadline).expect("runs"),
        Step::Failed("Trailing bytes after end of compressed data")
    );
    assert!(streams.is_empty());
}

#[test]
fn open_streams_are_capped_and_dropping_frees_one() {
    let mut streams = Streams::default();
    for id in 0..MAX_STREAMS as u32 {
        assert!(run(&mut streams, id, DEFLATE | START, b"x").is_ok());
    }
    let Err(Step::Refused(message)) = run(&mut streams, 999, DEFLATE | START, b"x") else { panic!("not refused") };
    assert!(message.starts_with("32 compression streams are already open in this isolate"), "{message}");
    assert!(run(&mut streams, 0, DROP, &[]).is_ok());
    assert!(run(&mut streams, 999, DEFLATE | START, b"x").is_ok());

    let mut streams = Streams::default();
    for id in 0..MAX_BROTLI_STREAMS as u32 {
        assert!(run(&mut streams, id, BROTLI | DECOMPRESS | START, &[0x21]).is_ok());
    }
    let Err(Step::Refused(message)) = run(&mut streams, 99, BROTLI | START, b"x") else { panic!("not refused") };
    assert!(message.starts_with("4 brotli streams are already open"), "{message}");
    assert!(run(&mut streams, 99, GZIP | START, b"x").is_ok(), "other formats still open");
}

#[test]
fn a_continued_stream_that_is_not_open_is_an_error_not_a_fresh_start() {
    let mut streams = Streams::default();
    assert!(matches!(streams.step(7, GZIP, b"x", &mut no_deadline), Err(Error::Serialization(_))));
}

#[test]
fn the_deadline_is_checked_between_pieces() {
    // 64 MiB of zeros, compressed to some 64 KiB: decompressing them takes a thousand pieces, and
    // a missed deadline ends the call at the first check after it.
    let mut streams = Streams::default();
    let bomb = whole(&mut streams, 1, GZIP, &vec![0; 64 << 20]).expect("compresses");
    let mut checks = 0;
    let mut deadline = || {
        checks += 1;
        if checks > 3 { Err(Error::CpuLimit { cpu_ms: 1 }) } else { Ok(()) }
    };
    let mut offset = 0;
    let result = loop {
        match streams.step(2, GZIP | DECOMPRESS | if offset == 0 { START } else { 0 }, &bomb[offset..], &mut deadline) {
            Ok(Step::Output { consumed, .. }) => offset += consumed.max(1),
            other => break other,
        }
    };
    assert!(matches!(result, Err(Error::CpuLimit { .. })), "{result:?}");
}

#[test]
fn replies_read_as_the_guest_reads_them() {
    let reply = Step::Output { consumed: 300, output: b"abc".to_vec(), more: true }.encode();
    assert_eq!(reply, [&[OUTPUT, 1, 0, 0][..], &300u32.to_le_bytes(), b"abc"].concat());
    assert_eq!(Step::Failed("bad").encode(), [&[TYPE_ERROR][..], b"bad"].concat());
    assert_eq!(Step::Refused("many".into()).encode(), [&[RANGE_ERROR][..], b"many"].concat());
    let c = guest_source("compression.c");
    assert_eq!(defined(&c, "#define ", "COMPRESSION_HEADER_BYTES", " "), HEADER_BYTES as u64);
    assert_eq!(defined(&c, "#define ", "STREAM_OK", " "), OUTPUT as u64);
    assert_eq!(defined(&c, "#define ", "STREAM_TYPE_ERROR", " "), TYPE_ERROR as u64);
    assert_eq!(defined(&c, "#define ", "STREAM_RANGE_ERROR", " "), RANGE_ERROR as u64);
    let js = guest_source("compression.js");
    for (name, value) in [("DECOMPRESS", DECOMPRESS), ("START", START), ("FINISH", FINISH), ("DROP", DROP)] {
        assert_eq!(defined(&js, "const ", name, " = "), value as u64, "{name}");
    }
    assert!(js.contains(&format!("gzip: {GZIP}, deflate: {DEFLATE}, \"deflate-raw\": 2, brotli: {BROTLI}")));
    for (name, value) in [
        ("UPDATE", digest_stream::UPDATE),
        ("DIGEST_FINISH", digest_stream::FINISH),
        ("DIGEST_DROP", digest_stream::DROP),
        ("DIGEST_START", digest_stream::START),
    ] {
        assert_eq!(defined(&js, "const ", name, " = "), value as u64, "{name}");
    }
}

#[test]
fn digests_hash_incrementally_and_are_capped() {
    use digest_stream::{FINISH as END, START as BEGIN, UPDATE};
    let mut digests = Digests::default();
    let mut step = |id, op, name: &str, data: &[u8]| digests.step(id, op, name.as_bytes(), data, &mut no_deadline);
    assert_eq!(step(1, UPDATE | BEGIN, "SHA-256", b"hello, ").unwrap(), Digested::Done(vec![]));
    assert_eq!(step(1, UPDATE, "SHA-256", b"world").unwrap(), Digested::Done(vec![]));
    let expected = sha2::Sha256::digest(b"hello, world").to_vec();
    assert_eq!(step(1, END, "SHA-256", b"").unwrap(), Digested::Done(expected));
    assert_eq!(step(2, END | BEGIN, "MD5", b"").unwrap(), Digested::Done(md5::Md5::digest(b"").to_vec()));
    assert!(matches!(step(3, UPDATE | BEGIN, "SHA-3", b""), Err(Error::Serialization(_))));
    assert!(matches!(step(1, UPDATE, "SHA-256", b"gone"), Err(Error::Serialization(_))));
    for id in 0..digest_stream::MAX_STREAMS as u32 {
        assert_eq!(step(id, UPDATE | BEGIN, "SHA-1", b"x").unwrap(), Digested::Done(vec![]));
    }
    let Digested::Refused(message) = step(5000, UPDATE | BEGIN, "SHA-1", b"x").unwrap() else { panic!("not refused") };
    assert!(message.starts_with("1024 DigestStreams are already open"), "{message}");
    assert_eq!(step(0, digest_stream::DROP, "", b"").unwrap(), Digested::Done(vec![]));
    assert_eq!(step(5000, UPDATE | BEGIN, "SHA-1", b"x").unwrap(), Digested::Done(vec![]));
}
