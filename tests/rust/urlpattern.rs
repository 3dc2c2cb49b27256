//! URLPattern's host side (`rust/js/urlpattern.rs`, the `urlpattern` crate): what it replies to
//! requests the guest glue would never send, since the instance is assumed taken over (malformed
//! JSON, wrong types, bytes that are not UTF-8, requests past the bounds), and the reply layout
//! the guest reads.

use _core::js::urlpattern::{MAX_MATCH_INPUT_BYTES, MAX_PATTERN_BYTES, match_input, parse};
use serde_json::Value;

/// The reply as `Ok(JSON)` or `Err(TypeError message)`.
fn read(reply: &[u8]) -> Result<Value, String> {
    let (status, rest) = reply.split_first().expect("a reply has a status byte");
    match status {
        0 => Ok(serde_json::from_slice(rest).expect("an OK reply is JSON")),
        1 => Err(String::from_utf8(rest.to_vec()).expect("a message is UTF-8")),
        other => panic!("unknown status {other}"),
    }
}

#[test]
fn a_pattern_becomes_eight_components_of_pattern_regexp_and_names() {
    let reply = read(&parse(br#"{"input": {"pathname": "/users/:id"}, "baseURL": null, "ignoreCase": false}"#));
    let reply = reply.expect("a valid pattern");
    let components = reply["components"].as_array().expect("components");
    assert_eq!(components.len(), 8);
    assert_eq!(components[5], serde_json::json!(["/users/:id", r"^\/users(?:\/([^\/]+?))$", ["id"]]));
    assert_eq!(components[0], serde_json::json!(["*", "^(.*)$", ["0"]]));
    assert_eq!(reply["hasRegExpGroups"], false);
}

#[test]
fn hostile_parse_requests_are_type_errors() {
    for request in [
        &b""[..],
        b"not json",
        b"[]",
        b"{}",
        br#"{"input": 5, "baseURL": null}"#,
        br#"{"input": {"pathname": 5}, "baseURL": null}"#,
        br#"{"input": "https://h/", "baseURL": 7}"#,
        b"{\"input\": \"\xff\xfe\", \"baseURL\": null}",
        br#"{"input": "\ud800", "baseURL": null}"#,
    ] {
        let error = read(&parse(request)).expect_err("refused");
        assert!(error.starts_with("URLPattern: "), "{error}");
    }
}

#[test]
fn a_pattern_past_its_bounds_is_refused_before_it_is_read() {
    let padding = " ".repeat(MAX_PATTERN_BYTES);
    let request = format!(r#"{{"input": "https://h/", "baseURL": null}}{padding}"#);
    let error = read(&parse(request.as_bytes())).expect_err("too long");
    assert!(error.contains(&format!("the limit is {MAX_PATTERN_BYTES}")), "{error}");
    let groups: String = (0..300).map(|i| format!("/:g{i}")).collect();
    let request = format!(r#"{{"input": {{"pathname": "{groups}"}}, "baseURL": null}}"#);
    let error = read(&parse(request.as_bytes())).expect_err("too many groups");
    assert_eq!(error, "URLPattern: the pattern has 307 groups; the limit is 256");
}

#[test]
fn an_init_to_match_is_canonicalised_or_null() {
    let parts = read(&match_input(br#"{"pathname": "/caf\u00e9", "baseURL": "https://h/a/b"}"#));
    let parts = parts.expect("canonicalised");
    assert_eq!(parts, serde_json::json!(["https", "", "", "h", "", "/caf%C3%A9", "", ""]));
    assert_eq!(read(&match_input(br#"{"protocol": "a b"}"#)), Ok(Value::Null));
    assert_eq!(read(&match_input(br#"{"baseURL": "not a url"}"#)), Ok(Value::Null));
    assert!(read(&match_input(br#"{"pathname": 5}"#)).is_err());
    assert!(read(&match_input(b"\xff")).is_err());
    let long = format!(r#"{{"pathname": "/{}"}}"#, "a".repeat(MAX_MATCH_INPUT_BYTES));
    let error = read(&match_input(long.as_bytes())).expect_err("too long");
    assert!(error.contains(&format!("the limit is {MAX_MATCH_INPUT_BYTES}")), "{error}");
}
