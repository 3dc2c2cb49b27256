//! The interpreter's wire protocol is written down once, in `rust/js/protocol.rs`; the guest's
//! C shim and JavaScript glue restate its numbers. These tests read both and fail when they
//! disagree with the Rust constants.

use _core::js::protocol::{
    CLONE_ARRAY, CLONE_BIGINT, CLONE_BYTES, CLONE_DATE, CLONE_ERROR, CLONE_FALSE, CLONE_FLOAT, CLONE_FUNCTION,
    CLONE_INT, CLONE_MAGIC, CLONE_MAP, CLONE_MAX_DEPTH, CLONE_NULL, CLONE_OBJECT, CLONE_REF, CLONE_REQUEST,
    CLONE_RESPONSE, CLONE_SET, CLONE_STRING, CLONE_STUB, CLONE_TRUE, CLONE_UNDEFINED, COMPILED, ENTRY_BYTECODE,
    ENTRY_LINK, ENTRY_SOURCE, ENV_DATA, ENV_FUNCTION, ENV_OBJECT, ENV_SERVICE, FLAG_DESCRIBE, FLAG_ENV, FLAG_OUTBOUND,
    FLAG_PROPS, FLAG_SETTLE, MAX_BUNDLE_ENTRIES, MODULE_HEADER_BYTES, OP_CALL, OP_FETCH, OP_LOAD, REQUEST_HEADER_BYTES,
    START_HEADER_BYTES,
};

use _core::js::protocol::{CALL_FUNCTION_EXPORT, NODE_GLOBALS};

pub fn guest_source(name: &str) -> String {
    let path = format!("{}/guest/js/{name}", env!("CARGO_MANIFEST_DIR"));
    std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{path}: {e}"))
}

/// The number a line `<prefix><name><separator><number>` gives `name`, if exactly one line does.
pub fn defined(source: &str, prefix: &str, name: &str, separator: &str) -> u64 {
    let head = format!("{prefix}{name}{separator}");
    let values: Vec<u64> = source
        .lines()
        .filter_map(|line| line.trim_start().strip_prefix(&head))
        .map(|rest| {
            let rest = rest.trim_start();
            if let Some(hex) = rest.strip_prefix("0x") {
                let digits: String = hex.chars().take_while(char::is_ascii_hexdigit).collect();
                return u64::from_str_radix(&digits, 16).unwrap_or_else(|_| panic!("{name} is not a number: {rest:?}"));
            }
            let mut chars = rest.chars();
            if let (Some('\''), Some(c), Some('\'')) = (chars.next(), chars.next(), chars.next()) {
                return c as u64;
            }
            let digits: String = rest.chars().take_while(char::is_ascii_digit).collect();
            digits.parse().unwrap_or_else(|_| panic!("{name} is not a number: {rest:?}"))
        })
        .collect();
    assert_eq!(values.len(), 1, "{name} must be defined exactly once, found {values:?}");
    values[0]
}

#[test]
fn glue_names_the_ops_and_flags_of_the_protocol() {
    let glue = guest_source("glue.js");
    let constant = |name| defined(&glue, "const ", name, " = ");
    assert_eq!(constant("OP_CALL"), OP_CALL as u64);
    assert_eq!(constant("OP_FETCH"), OP_FETCH as u64);
    assert_eq!(constant("OP_LOAD"), OP_LOAD as u64);
    assert_eq!(constant("FLAG_OUTBOUND"), FLAG_OUTBOUND as u64);
    assert_eq!(constant("FLAG_DESCRIBE"), FLAG_DESCRIBE as u64);
    assert_eq!(constant("FLAG_PROPS"), FLAG_PROPS as u64);
}

#[test]
fn shim_reads_the_layouts_of_the_protocol() {
    let shim = guest_source("shim.c");
    let define = |name| defined(&shim, "#define ", name, " ");
    assert!(shim.contains(&format!("#define NODE_GLOBALS \"{NODE_GLOBALS}\"\n")), "NODE_GLOBALS");
    assert!(shim.contains(&format!("EXPORT(\"{CALL_FUNCTION_EXPORT}\")")), "CALL_FUNCTION_EXPORT");
    assert_eq!(define("REQUEST_HEADER_BYTES"), REQUEST_HEADER_BYTES as u64);
    assert_eq!(define("START_HEADER_BYTES"), START_HEADER_BYTES as u64);
    assert_eq!(define("MODULE_HEADER_BYTES"), MODULE_HEADER_BYTES as u64);
    assert_eq!(define("MAX_BUNDLE_ENTRIES"), MAX_BUNDLE_ENTRIES as u64);
    assert_eq!(define("ENTRY_SOURCE"), ENTRY_SOURCE as u64);
    assert_eq!(define("ENTRY_BYTECODE"), ENTRY_BYTECODE as u64);
    assert_eq!(define("ENTRY_LINK"), ENTRY_LINK as u64);
    assert_eq!(define("COMPILED"), COMPILED as u64);
    assert_eq!(define("OP_LOAD"), OP_LOAD as u64);
    assert_eq!(define("FLAG_ENV"), FLAG_ENV as u64);
    assert_eq!(define("FLAG_SETTLE"), FLAG_SETTLE as u64);
    assert_eq!(define("ENV_DATA"), ENV_DATA as u64);
    assert_eq!(define("ENV_FUNCTION"), ENV_FUNCTION as u64);
    assert_eq!(define("ENV_OBJECT"), ENV_OBJECT as u64);
    assert_eq!(define("ENV_SERVICE"), ENV_SERVICE as u64);
}

#[test]
fn clone_c_writes_the_clone_layout_of_the_protocol() {
    let clone = guest_source("clone.c");
    let define = |name| defined(&clone, "#define ", name, " ");
    let tags = [
        ("CLONE_MAGIC", CLONE_MAGIC),
        ("CLONE_UNDEFINED", CLONE_UNDEFINED),
        ("CLONE_NULL", CLONE_NULL),
        ("CLONE_TRUE", CLONE_TRUE),
        ("CLONE_FALSE", CLONE_FALSE),
        ("CLONE_INT", CLONE_INT),
        ("CLONE_FLOAT", CLONE_FLOAT),
        ("CLONE_BIGINT", CLONE_BIGINT),
        ("CLONE_STRING", CLONE_STRING),
        ("CLONE_ARRAY", CLONE_ARRAY),
        ("CLONE_OBJECT", CLONE_OBJECT),
        ("CLONE_MAP", CLONE_MAP),
        ("CLONE_SET", CLONE_SET),
        ("CLONE_BYTES", CLONE_BYTES),
        ("CLONE_DATE", CLONE_DATE),
        ("CLONE_ERROR", CLONE_ERROR),
        ("CLONE_REF", CLONE_REF),
        ("CLONE_STUB", CLONE_STUB),
        ("CLONE_REQUEST", CLONE_REQUEST),
        ("CLONE_RESPONSE", CLONE_RESPONSE),
        ("CLONE_FUNCTION", CLONE_FUNCTION),
    ];
    for (name, value) in tags {
        assert_eq!(define(name), value as u64, "{name}");
    }
    assert_eq!(define("CLONE_MAX_DEPTH"), CLONE_MAX_DEPTH as u64);
}

#[test]
fn the_helper_finds_exactly_one_definition() {
    let source = "#define A 1\n  #define B 22 /* note */\n#define A 3\n#define H 0xC1\n#define T 'u'\n";
    assert_eq!(defined(source, "#define ", "B", " "), 22);
    assert_eq!(defined(source, "#define ", "H", " "), 0xC1);
    assert_eq!(defined(source, "#define ", "T", " "), b'u' as u64);
    let twice = std::panic::catch_unwind(|| defined(source, "#define ", "A", " "));
    assert!(twice.is_err(), "a constant defined twice must fail the check");
    let missing = std::panic::catch_unwind(|| defined(source, "#define ", "C", " "));
    assert!(missing.is_err(), "a missing constant must fail the check");
}
