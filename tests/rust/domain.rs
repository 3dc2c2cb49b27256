//! The URL parser's domain to ASCII (`rust/js/domain.rs`, the `idna` crate), with cases of WPT's
//! url/resources/toascii.json: the URL Standard's flags (hyphens anywhere, joiners and bidi
//! checked, nontransitional, no length limits) and its forbidden domain code points.

use _core::js::domain::to_ascii;

fn ascii(domain: &str) -> Option<String> {
    to_ascii(domain.as_bytes())
}

#[test]
fn unicode_domains_become_punycode() {
    assert_eq!(ascii("Bücher.de").as_deref(), Some("xn--bcher-kva.de"));
    assert_eq!(ascii("faß.de").as_deref(), Some("xn--fa-hia.de"), "nontransitional: ß stays");
    assert_eq!(ascii("www.lookout.сом").as_deref(), Some("www.lookout.xn--l1adi"));
    assert_eq!(ascii("≠").as_deref(), Some("xn--1ch"));
    assert_eq!(ascii("xn--zca.ß").as_deref(), Some("xn--zca.xn--zca"));
    assert_eq!(ascii("a\u{ad}b").as_deref(), Some("ab"), "ignored code points vanish");
}

#[test]
fn the_url_standards_flags_apply() {
    assert_eq!(ascii("-†").as_deref(), Some("xn----xhn"), "CheckHyphens is false");
    assert_eq!(ascii("x..ß").as_deref(), Some("x..xn--zca"), "empty labels are allowed");
    assert_eq!(ascii("\u{200d}.example"), None, "CheckJoiners is true");
    assert_eq!(ascii("يa"), None, "CheckBidi is true");
    let long = format!("{}†", "x".repeat(70));
    assert!(ascii(&long).is_some(), "no DNS length limit");
}

#[test]
fn invalid_domains_fail() {
    assert_eq!(ascii("xn--a"), None, "invalid punycode");
    assert_eq!(ascii("xn--tešla"), None);
    assert_eq!(ascii("\u{fffd}.com"), None);
    assert_eq!(to_ascii(b"\xff.com"), None, "malformed UTF-8 reads as U+FFFD");
    assert_eq!(ascii("www\u{a0}.lookout.net"), None, "a forbidden domain code point after mapping");
    assert_eq!(ascii("ü<.de"), None, "a forbidden domain code point");
    assert_eq!(ascii("\u{ad}"), None, "maps to the empty string");
}
