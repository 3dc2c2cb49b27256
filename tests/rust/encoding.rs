//! TextDecoder's host half (`rust/js/encoding.rs`) called directly, as the `encoding_name` and
//! `text_decode` imports would: labels, one-shot and streamed decoding (a multi-byte sequence
//! split across chunks, ISO-2022-JP's mode kept between them), BOM handling, fatal errors, the
//! cap on open streams, the deadline check, and the reply's form and numbers as the guest reads them.

use _core::error::{Error, Result};
use _core::js::encoding::{
    CONTINUE, Decoded, FATAL, IGNORE_BOM, LATIN1, MAX_STREAMS, RANGE_ERROR, STREAM, Streams, TYPE_ERROR, UTF16,
    name_for_label,
};

use crate::protocol::{defined, guest_source};

fn no_deadline() -> Result<()> {
    Ok(())
}

fn decode(streams: &mut Streams, name: &str, input: &[u8], flags: i32, id: u32) -> Decoded {
    streams.decode(name.as_bytes(), input, flags, id, &mut no_deadline).expect("no deadline to miss")
}

fn text(s: &str) -> Decoded {
    Decoded::Text(s.into())
}

#[test]
fn labels_resolve_to_the_lower_cased_canonical_name() {
    assert_eq!(name_for_label(b"utf8").as_deref(), Some("utf-8"));
    assert_eq!(name_for_label(b" \tShift_JIS\n").as_deref(), Some("shift_jis"));
    assert_eq!(name_for_label(b"latin1").as_deref(), Some("windows-1252"));
    assert_eq!(name_for_label(b"GB2312").as_deref(), Some("gbk"));
    assert_eq!(name_for_label(b"utf-16").as_deref(), Some("utf-16le"));
    assert_eq!(name_for_label(b"x-user-defined").as_deref(), Some("x-user-defined"));
    // The replacement encoding's labels and unknown ones are refused alike (a RangeError).
    assert_eq!(name_for_label(b"replacement"), None);
    assert_eq!(name_for_label(b"iso-2022-kr"), None);
    assert_eq!(name_for_label(b"utf-7"), None);
    assert_eq!(name_for_label(b""), None);
}

#[test]
fn one_shot_decodes_keep_no_stream() {
    let mut streams = Streams::default();
    assert_eq!(decode(&mut streams, "shift_jis", b"\x93\xfa\x96\x7b", 0, 0), text("日本"));
    assert_eq!(decode(&mut streams, "gbk", b"\xc4\xe3\xba\xc3", 0, 0), text("你好"));
    assert_eq!(decode(&mut streams, "windows-1252", b"caf\xe9 \x80", 0, 0), text("café €"));
    assert_eq!(decode(&mut streams, "euc-kr", b"\xc7\xd1", 0, 0), text("한"));
    // Malformed input becomes U+FFFD; a truncated sequence at the end too.
    assert_eq!(decode(&mut streams, "shift_jis", b"a\x93", 0, 0), text("a\u{fffd}"));
    assert!(streams.is_empty());
}

#[test]
fn a_sequence_split_across_chunks_decodes_once_whole() {
    let mut streams = Streams::default();
    assert_eq!(decode(&mut streams, "shift_jis", b"\x93", STREAM, 7), text(""));
    assert_eq!(streams.len(), 1);
    assert_eq!(decode(&mut streams, "shift_jis", b"\xfa\x96", CONTINUE | STREAM, 7), text("日"));
    assert_eq!(decode(&mut streams, "shift_jis", b"\x7b", CONTINUE, 7), text("本"));
    assert!(streams.is_empty(), "a flush frees the stream");

    // gb18030's four-byte sequences, one byte per chunk.
    let mut out = String::new();
    let bytes = b"\x81\x30\x81\x30";
    for (i, byte) in bytes.iter().enumerate() {
        let flags = if i == 0 { STREAM } else { CONTINUE | STREAM };
        let Decoded::Text(part) = decode(&mut streams, "gb18030", &[*byte], flags, 1) else { panic!() };
        out.push_str(&part);
    }
    let Decoded::Text(end) = decode(&mut streams, "gb18030", b"", CONTINUE, 1) else { panic!() };
    assert_eq!(out + &end, "\u{80}");
}

#[test]
fn iso_2022_jp_keeps_its_mode_between_chunks() {
    let mut streams = Streams::default();
    // ESC $ B switches to JIS X 0208; "F|K\\" is 日本 there; ESC ( B back to ASCII.
    assert_eq!(decode(&mut streams, "iso-2022-jp", b"\x1b$B", STREAM, 3), text(""));
    assert_eq!(decode(&mut streams, "iso-2022-jp", b"F|K", CONTINUE | STREAM, 3), text("日"));
    assert_eq!(decode(&mut streams, "iso-2022-jp", b"\\\x1b(Bok", CONTINUE, 3), text("本ok"));
    // Each stream has its own state.
    assert_eq!(decode(&mut streams, "iso-2022-jp", b"\x1b$B", STREAM, 4), text(""));
    assert_eq!(decode(&mut streams, "iso-2022-jp", b"F|", STREAM, 5), text("F|"));
    assert_eq!(decode(&mut streams, "iso-2022-jp", b"F|", CONTINUE, 4), text("日"));
    assert_eq!(decode(&mut streams, "iso-2022-jp", b"", CONTINUE, 5), text(""));
    assert!(streams.is_empty());
}

#[test]
fn a_byte_order_mark_of_the_encoding_is_dropped_unless_asked_to_keep_it() {
    let mut streams = Streams::default();
    assert_eq!(decode(&mut streams, "utf-16le", b"\xff\xfeh\x00i\x00", 0, 0), text("hi"));
    assert_eq!(decode(&mut streams, "utf-16le", b"\xff\xfeh\x00", IGNORE_BOM, 0), text("\u{feff}h"));
    assert_eq!(decode(&mut streams, "utf-16be", b"\xfe\xff\x00h", 0, 0), text("h"));
    // Split across chunks, and only at the start of the stream.
    assert_eq!(decode(&mut streams, "utf-16le", b"\xff", STREAM, 2), text(""));
    assert_eq!(decode(&mut streams, "utf-16le", b"\xfeh\x00", CONTINUE | STREAM, 2), text("h"));
    assert_eq!(decode(&mut streams, "utf-16le", b"\xff\xfe", CONTINUE, 2), text("\u{feff}"));
    // Another encoding's BOM is text, never a switch of encoding.
    assert_eq!(decode(&mut streams, "utf-16le", b"\xfe\xff", 0, 0), text("\u{fffe}"));
}

#[test]
fn fatal_reports_malformed_input_and_ends_the_stream() {
    let mut streams = Streams::default();
    let malformed = Decoded::Malformed("TextDecoder.decode: the encoded data was not valid shift_jis.".into());
    assert_eq!(decode(&mut streams, "shift_jis", b"a\xa0", FATAL, 0), malformed);
    assert_eq!(decode(&mut streams, "shift_jis", b"\x93", FATAL | STREAM, 9), text(""));
    assert_eq!(decode(&mut streams, "shift_jis", b"", FATAL | CONTINUE, 9), malformed);
    assert!(streams.is_empty(), "the failed stream is gone");
    let err = streams.decode(b"shift_jis", b"", CONTINUE, 9, &mut no_deadline).unwrap_err();
    assert!(matches!(err, Error::Serialization(m) if m.contains("none is open")));
}

#[test]
fn open_streams_are_capped_until_one_is_flushed() {
    let mut streams = Streams::default();
    for id in 0..MAX_STREAMS as u32 {
        assert_eq!(decode(&mut streams, "big5", b"", STREAM, id), text(""));
    }
    let Decoded::Refused(message) = decode(&mut streams, "big5", b"", STREAM, u32::MAX) else {
        panic!("the stream past the cap is refused");
    };
    assert!(message.contains(&format!("{MAX_STREAMS} streams")), "{message}");
    // Decoding without a stream still works, and a flushed stream makes room.
    assert_eq!(decode(&mut streams, "big5", b"a", 0, u32::MAX), text("a"));
    assert_eq!(decode(&mut streams, "big5", b"", CONTINUE, 0), text(""));
    assert_eq!(decode(&mut streams, "big5", b"", STREAM, u32::MAX), text(""));
    assert_eq!(streams.len(), MAX_STREAMS);
}

#[test]
fn unknown_names_are_refused_and_the_deadline_ends_long_decodes() {
    let mut streams = Streams::default();
    assert!(matches!(decode(&mut streams, "replacement", b"x", 0, 0), Decoded::Refused(_)));
    let input = vec![b'a'; 3 << 20];
    let mut checks = 0;
    let decoded = streams.decode(b"windows-1252", &input, 0, 0, &mut || {
        checks += 1;
        if checks > 2 { Err(Error::CpuLimit { cpu_ms: 1 }) } else { Ok(()) }
    });
    assert!(matches!(decoded, Err(Error::CpuLimit { .. })));
}

#[test]
fn replies_carry_a_status_byte_then_the_text_as_quickjs_strings_hold_it() {
    assert_eq!(text("").encode(), b"\x00");
    assert_eq!(text("ok").encode(), b"\x00ok");
    assert_eq!(text("café ÿ").encode(), b"\x00caf\xe9 \xff", "Latin-1, one byte each");
    assert_eq!(text("a€😀").encode(), b"\x03\x00a\x00\xac\x20\x3d\xd8\x00\xde", "a pad byte, then UTF-16LE");
    assert_eq!(Decoded::Malformed("m".into()).encode(), b"\x01m");
    assert_eq!(Decoded::Refused("é".into()).encode(), b"\x02\xc3\xa9", "messages are UTF-8");
}

#[test]
fn the_guest_restates_the_flags_and_statuses() {
    let web_c = guest_source("web.c");
    for (name, value) in [("TEXT_LATIN1", LATIN1), ("TEXT_TYPE_ERROR", TYPE_ERROR), ("TEXT_RANGE_ERROR", RANGE_ERROR)] {
        assert_eq!(defined(&web_c, "#define ", name, " "), value as u64, "{name}");
    }
    assert_eq!(defined(&web_c, "#define ", "TEXT_UTF16", " "), UTF16 as u64);
    let web_js = guest_source("web.js");
    for (name, value) in [("DECODE_FATAL", FATAL), ("DECODE_IGNORE_BOM", IGNORE_BOM), ("DECODE_CONTINUE", CONTINUE)] {
        assert_eq!(defined(&web_js, "const ", name, " = "), value as u64, "{name}");
    }
    assert_eq!(defined(&web_js, "const ", "DECODE_STREAM", " = "), STREAM as u64);
}
