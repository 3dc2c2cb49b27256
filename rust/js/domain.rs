//! The URL Standard's "domain to ASCII" for the URL parser in `guest/js/web.js` (the
//! `domain_to_ascii` import, `imports.rs`): UTS #46 with the standard's flags (CheckHyphens false,
//! CheckBidi and CheckJoiners true, UseSTD3ASCIIRules false, nontransitional, VerifyDnsLength
//! false as beStrict is), plus its forbidden domain code points, as the `idna` crate's URL entry
//! point implements them. The parser asks only for hosts with non-ASCII or an `xn--` label: for
//! the rest the algorithm is ASCII lower-casing, which it does itself.

use idna::AsciiDenyList;

/// `domain` (UTF-8; invalid sequences read as U+FFFD, which IDNA refuses) as an ASCII domain, or
/// `None` when the URL parser must fail: IDNA refused it, or it maps to the empty string.
pub fn to_ascii(domain: &[u8]) -> Option<String> {
    let ascii = idna::domain_to_ascii_cow(domain, AsciiDenyList::URL).ok()?;
    (!ascii.is_empty()).then(|| ascii.into_owned())
}
