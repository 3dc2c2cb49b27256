//! `Intl.Collator` and `String.prototype.localeCompare`: the Unicode Collation Algorithm with
//! CLDR's tailorings (ICU4X `icu_collator`), so "ä" sorts with "a" in German and after "z" in
//! Swedish.
//!
//! Spec keys: `sensitivity` (`base`, `accent`, `case`, `variant`), `ignorePunctuation`
//! (`true`), `usage` (`sort`, `search`); `numeric` (`kn`) and `caseFirst` (`kf`) arrive as the
//! locale's Unicode extension keywords, as do `co` collations.

use std::cmp::Ordering;

use icu_collator::options::{AlternateHandling, CaseLevel, CollatorOptions, Strength};
use icu_collator::{CollatorBorrowed, CollatorPreferences};

use super::{Reply, Spec, range_error};

pub struct Collator {
    collator: CollatorBorrowed<'static>,
}

impl Collator {
    pub fn new(spec: &Spec) -> Result<Collator, Reply> {
        let mut options = CollatorOptions::default();
        let (strength, case_level) = spec.choice("sensitivity", (Strength::Tertiary, CaseLevel::Off), |v| {
            Some(match v {
                "base" => (Strength::Primary, CaseLevel::Off),
                "accent" => (Strength::Secondary, CaseLevel::Off),
                "case" => (Strength::Primary, CaseLevel::On),
                "variant" => (Strength::Tertiary, CaseLevel::Off),
                _ => return None,
            })
        })?;
        options.strength = Some(strength);
        options.case_level = Some(case_level);
        if spec.get("ignorePunctuation") == Some("true") {
            options.alternate_handling = Some(AlternateHandling::Shifted);
        }
        let mut locale = spec.locale.clone();
        if spec.get("usage") == Some("search") {
            // ECMA-402's usage "search" is the locale's search collation.
            let search = "search".parse().expect("a valid collation type");
            locale.extensions.unicode.keywords.set("co".parse().expect("a valid key"), search);
        }
        let collator = CollatorBorrowed::try_new(CollatorPreferences::from(&locale), options)
            .map_err(|e| range_error(format!("Intl: no collation data: {e}")))?;
        Ok(Collator { collator })
    }

    pub fn compare(&self, a: &str, b: &str) -> &'static str {
        match self.collator.compare(a, b) {
            Ordering::Less => "-1",
            Ordering::Equal => "0",
            Ordering::Greater => "1",
        }
    }
}
