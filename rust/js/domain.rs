//! The URL Standard's "domain to ASCII" (the `domain_to_ascii` import, `imports.rs`): UTS #46 with
//! the standard's flags (CheckHyphens false, CheckBidi and CheckJoiners true, UseSTD3ASCIIRules
//! false, nontransitional, VerifyDnsLength false as beStrict is), plus its forbidden domain code
//! points, as the `idna` crate's URL entry point implements them. ada, the guest's URL parser
//! (`guest/js/url.c`), does not check what an `xn--` label decodes to (ada 4.0.0 takes `xn--` alone,
//! and punycode that decodes to code points IDNA disallows); the guest asks this for every host
//! with such a label, and the URL fails to parse when this refuses it.

use idna::AsciiDenyList;

/// `domain` (UTF-8; invalid sequences read as U+FFFD, which IDNA refuses) as an ASCII domain, or
/// `None` when the URL parser must fail: IDNA refused it, or it maps to the empty string.
pub fn to_ascii(domain: &[u8]) -> Option<String> {
    let ascii = idna::domain_to_ascii_cow(domain, AsciiDenyList::URL).ok()?;
    (!ascii.is_empty()).then(|| ascii.into_owned())
}
