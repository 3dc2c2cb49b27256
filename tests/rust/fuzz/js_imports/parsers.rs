//! Domain to ASCII, URLPattern's JSON requests, and the host's parsers of interpreter replies.

use _core::Error;
use _core::js::{domain, protocol, urlpattern};

use super::REQUESTS;
use crate::fuzz::random::{Rng, seeds};

#[test]
fn domain_to_ascii_answers_any_domain() {
    for seed in seeds(REQUESTS * 2) {
        let mut rng = Rng::new("domain_to_ascii", seed);
        let domain = match rng.below(3) {
            0 => rng.nasty_text(40).into_bytes(),
            1 => format!("xn--{}.{}", rng.nasty_text(12), rng.nasty_text(6)).into_bytes(),
            _ => rng.bytes(300),
        };
        if let Some(ascii) = domain::to_ascii(&domain) {
            assert!(ascii.is_ascii(), "seed {seed}: {ascii:?}");
        }
    }
}

/// A URLPattern component: pattern syntax pieces glued at random.
fn pattern_text(rng: &mut Rng) -> String {
    const PIECES: &[&str] = &[
        "/",
        ":id",
        ":id(\\d+)",
        "*",
        "(.*)",
        "{",
        "}",
        "?",
        "+",
        "(",
        ")",
        "\\",
        "[a-z]",
        "(?<n>x)",
        "((a)",
        "https",
        "example.com",
        "8080",
        "#",
        ".",
        "é",
        "%20",
        "{:x}?",
        ":a:b",
        "(a|b)",
        "(?=x)",
        "\\u{110000}",
    ];
    (0..rng.below(8)).map(|_| *rng.pick(PIECES)).collect()
}

fn pattern_init(rng: &mut Rng) -> serde_json::Value {
    const PARTS: &[&str] =
        &["protocol", "username", "password", "hostname", "port", "pathname", "search", "hash", "baseURL", "other"];
    let mut init = serde_json::Map::new();
    for _ in 0..rng.below(5) {
        let value = match rng.below(6) {
            0 => serde_json::Value::from(rng.nasty_text(10)),
            // Lone surrogates (which `json` writes) are not Rust strings: a string then.
            1 => serde_json::from_str(&rng.json(2)).unwrap_or_else(|_| serde_json::Value::from("\u{fffd}")),
            _ => serde_json::Value::from(pattern_text(rng)),
        };
        init.insert(rng.pick(PARTS).to_string(), value);
    }
    serde_json::Value::Object(init)
}

#[test]
fn urlpattern_answers_any_request() {
    for seed in seeds(REQUESTS) {
        let mut rng = Rng::new("urlpattern", seed);
        let input =
            if rng.chance(50) { serde_json::Value::from(pattern_text(&mut rng)) } else { pattern_init(&mut rng) };
        let base = if rng.chance(50) { serde_json::Value::Null } else { serde_json::Value::from(rng.nasty_text(20)) };
        let request = serde_json::json!({"input": input, "baseURL": base, "ignoreCase": rng.chance(50)});
        let mut request = request.to_string().into_bytes();
        if rng.chance(20) {
            request = rng.mutate(request);
        }
        for reply in [urlpattern::parse(&request), urlpattern::match_input(&request)] {
            assert!(matches!(reply.first(), Some(0 | 1)), "seed {seed}: {reply:?}");
        }
        let init = pattern_init(&mut rng).to_string();
        assert!(matches!(urlpattern::match_input(init.as_bytes()).first(), Some(0 | 1)), "seed {seed}");
    }
}

/// A clone as the guest writes one, its tags and lengths chosen at random: often nonsense.
fn clone_bytes(rng: &mut Rng) -> Vec<u8> {
    use protocol::*;
    const TAGS: &[u8] = &[
        CLONE_UNDEFINED,
        CLONE_NULL,
        CLONE_TRUE,
        CLONE_FALSE,
        CLONE_INT,
        CLONE_FLOAT,
        CLONE_BIGINT,
        CLONE_STRING,
        CLONE_ARRAY,
        CLONE_OBJECT,
        CLONE_MAP,
        CLONE_BYTES,
        CLONE_REF,
        CLONE_FUNCTION,
    ];
    let mut clone = vec![CLONE_MAGIC];
    for _ in 0..rng.below(40) {
        clone.push(*rng.pick(TAGS));
        let count = if rng.chance(70) { rng.below(4) as u32 } else { rng.next_u64() as u32 };
        if rng.chance(70) {
            clone.extend_from_slice(&count.to_le_bytes());
        }
        if rng.chance(30) {
            clone.extend(rng.bytes(8));
        }
    }
    clone
}

#[test]
fn interpreter_replies_are_parsed_without_panics() {
    for seed in seeds(REQUESTS * 2) {
        let mut rng = Rng::new("replies", seed);
        let reply = match rng.below(5) {
            0 => clone_bytes(&mut rng),
            1 => format!("{{\"ok\":{}}}", rng.json(4)).into_bytes(),
            2 => {
                let json = format!(r#"{{"error":{}, "serialization":{}}}"#, rng.json(2), rng.json(1));
                rng.mutate(json.into_bytes())
            }
            3 => {
                let mut compiled = vec![protocol::COMPILED];
                compiled.extend(rng.bytes(64));
                compiled
            }
            _ => rng.bytes(200),
        };
        match protocol::envelope(&reply) {
            Ok(_) | Err(Error::Serialization(_) | Error::Guest { .. }) => {}
            Err(other) => panic!("seed {seed}: an envelope read as {other:?}"),
        }
        protocol::ok_value(&reply);
        protocol::compiled(&reply);
    }
    // A clone nested past the depth limit is refused, not followed down the stack.
    let mut deep = vec![protocol::CLONE_MAGIC];
    for _ in 0..100_000 {
        deep.push(protocol::CLONE_ARRAY);
        deep.extend_from_slice(&1u32.to_le_bytes());
    }
    deep.push(protocol::CLONE_NULL);
    assert!(protocol::clone_to_json(&deep).is_none());
}
