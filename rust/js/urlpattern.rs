//! URLPattern's parsing for `guest/js/urlpattern.js` (the `urlpattern_parse` and
//! `urlpattern_match_input` imports, `imports.rs`), by the `urlpattern` crate (Deno's): a pattern
//! string or URLPatternInit, a base URL and `ignoreCase` become each component's canonical pattern
//! string, its regular expression's ECMAScript source and its group names. The guest compiles
//! and runs those with its own RegExp, as the URL Pattern Standard specifies (its syntax and its
//! matching are ECMAScript's, which a Rust regex engine only approximates). The crate also
//! canonicalises a URLPatternInit that `test()` or `exec()` is given, with the `url` crate's
//! WHATWG parser.
//!
//! Patterns are tenant input: a request is bounded in bytes before it is read, and a pattern in
//! groups, each with a TypeError that says so. What a regular expression costs to run is the
//! guest's CPU time, under `cpu_ms`.

use std::panic::{AssertUnwindSafe, catch_unwind};

use serde_json::{Value, json};
use urlpattern::quirks::{self, EcmaRegexp, StringOrInit, UrlPatternComponent};
use urlpattern::regexp::RegExp;
use urlpattern::{RegexSyntax, UrlPatternOptions};

/// Longest `urlpattern_parse` request (the pattern, its base URL and options, as JSON): far past
/// any route, short enough that parsing and compiling one stay cheap. (What matching costs is not
/// a matter of length: `cpu_ms` bounds it.)
pub const MAX_PATTERN_BYTES: usize = 16 << 10;

/// Most named and numbered groups one pattern may have, over all its components.
pub const MAX_GROUPS: usize = 256;

/// Longest `urlpattern_match_input` request (a URLPatternInit to match, as JSON).
pub const MAX_MATCH_INPUT_BYTES: usize = 64 << 10;

/// The first byte of a reply: the rest is JSON, or a TypeError's message.
const OK: u8 = 0;
const TYPE_ERROR: u8 = 1;

/// A component's regular expression as the guest compiles it: its ECMAScript source, unchecked
/// here (the guest's RegExp refuses an invalid one, with the standard's TypeError). While
/// parsing, the crate matches the protocol component against the special schemes once, to choose
/// how the pathname is read; that match reads the source with the `regex` crate's syntax, which
/// agrees with ECMAScript's on what a protocol pattern holds, and a source it refuses matches
/// nothing.
struct GuestRegExp(String);

impl RegExp for GuestRegExp {
    fn syntax() -> RegexSyntax {
        RegexSyntax::EcmaScript
    }

    fn parse(pattern: &str, _flags: &str, _force_eval: bool) -> Result<Self, ()> {
        Ok(Self(pattern.to_owned()))
    }

    fn matches<'a>(&self, text: &'a str) -> Option<Vec<Option<&'a str>>> {
        EcmaRegexp::parse(&self.0, "u", false).ok()?.matches(text)
    }

    fn pattern_string(&self) -> &str {
        &self.0
    }
}

/// The reply to a `urlpattern_parse` request, JSON `{"input": string or URLPatternInit,
/// "baseURL": string or null, "ignoreCase": bool}` (strings well-formed, as the guest's USVString
/// conversion leaves them): `OK` then `{"components": [[pattern, regexp, [group names]] x 8],
/// "hasRegExpGroups": bool}` in the standard's order (protocol, username, password, hostname, port,
/// pathname, search, hash), or `TYPE_ERROR` then a message.
pub fn parse(request: &[u8]) -> Vec<u8> {
    if request.len() > MAX_PATTERN_BYTES {
        return type_error(&format!(
            "the pattern and its base URL take {} bytes; the limit is {MAX_PATTERN_BYTES}",
            request.len()
        ));
    }
    let Ok(Value::Object(mut request)) = serde_json::from_slice::<Value>(request) else {
        return type_error("malformed request from the guest");
    };
    let input = serde_json::from_value::<StringOrInit>(request.remove("input").unwrap_or(Value::Null));
    let base_url = request.remove("baseURL").unwrap_or(Value::Null);
    let ignore_case = request.remove("ignoreCase").and_then(|v| v.as_bool()).unwrap_or(false);
    let (Ok(input), Value::String(_) | Value::Null) = (input, &base_url) else {
        return type_error("malformed request from the guest");
    };
    let options = UrlPatternOptions { regex_syntax: RegexSyntax::EcmaScript, ignore_case };
    // The crate asserts on what should not happen: a panic is a refused pattern, not a lost host.
    let parsed = catch_unwind(AssertUnwindSafe(|| {
        let init = quirks::process_construct_pattern_input(input, base_url.as_str())?;
        quirks::parse_pattern::<GuestRegExp>(init, options)
    }));
    let pattern = match parsed {
        Ok(Ok(pattern)) => pattern,
        Ok(Err(e)) => return type_error(&e.to_string()),
        Err(_) => return type_error("the pattern could not be parsed"),
    };
    let components = [
        &pattern.protocol,
        &pattern.username,
        &pattern.password,
        &pattern.hostname,
        &pattern.port,
        &pattern.pathname,
        &pattern.search,
        &pattern.hash,
    ];
    let groups: usize = components.iter().map(|c| c.group_name_list.len()).sum();
    if groups > MAX_GROUPS {
        return type_error(&format!("the pattern has {groups} groups; the limit is {MAX_GROUPS}"));
    }
    let components: Vec<Value> = components.iter().map(|c| component_json(c)).collect();
    ok(&json!({"components": components, "hasRegExpGroups": pattern.has_regexp_groups}))
}

fn component_json(component: &UrlPatternComponent) -> Value {
    json!([component.pattern_string, component.regexp_string, component.group_name_list])
}

/// The reply to a `urlpattern_match_input` request, a URLPatternInit as JSON (its members
/// well-formed strings): `OK` then the eight components it canonicalises to, in the same
/// order, or `null` when it does not canonicalise (then nothing matches it); `TYPE_ERROR` for a
/// request that is too long or malformed.
pub fn match_input(request: &[u8]) -> Vec<u8> {
    if request.len() > MAX_MATCH_INPUT_BYTES {
        return type_error(&format!(
            "the URL to match takes {} bytes; the limit is {MAX_MATCH_INPUT_BYTES}",
            request.len()
        ));
    }
    let Ok(init @ quirks::UrlPatternInit { .. }) = serde_json::from_slice(request) else {
        return type_error("malformed request from the guest");
    };
    let processed = catch_unwind(AssertUnwindSafe(|| {
        let (input, _) = quirks::process_match_input(StringOrInit::Init(init), None).ok()??;
        quirks::parse_match_input(input)
    }));
    let Ok(Some(parts)) = processed else { return ok(&Value::Null) };
    let values = [
        parts.protocol,
        parts.username,
        parts.password,
        parts.hostname,
        parts.port,
        parts.pathname,
        parts.search,
        parts.hash,
    ];
    ok(&json!(values))
}

fn ok(value: &Value) -> Vec<u8> {
    let mut reply = vec![OK];
    serde_json::to_writer(&mut reply, value).expect("JSON values serialise");
    reply
}

fn type_error(message: &str) -> Vec<u8> {
    [&[TYPE_ERROR], format!("URLPattern: {message}").as_bytes()].concat()
}
