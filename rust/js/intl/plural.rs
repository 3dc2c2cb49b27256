//! `Intl.PluralRules`: CLDR's plural rules (ICU4X `icu_plurals`) applied to the number as
//! NumberFormat would round it, so `1.0` with `minimumFractionDigits: 1` is "other" in English.
//!
//! Spec keys: `type` (`cardinal`, `ordinal`) and the rounding keys of `number.rs`.

use icu_plurals::{PluralCategory, PluralRuleType, PluralRules, PluralRulesOptions};

use super::number::{Rounding, Value};
use super::{Outcome, Reply, Spec, range_error};

pub struct PluralFormat {
    rules: PluralRules,
    rounding: Rounding,
}

/// ECMA-402's order for `pluralCategories`.
const ORDER: [PluralCategory; 6] = [
    PluralCategory::Zero,
    PluralCategory::One,
    PluralCategory::Two,
    PluralCategory::Few,
    PluralCategory::Many,
    PluralCategory::Other,
];

fn name(category: PluralCategory) -> &'static str {
    match category {
        PluralCategory::Zero => "zero",
        PluralCategory::One => "one",
        PluralCategory::Two => "two",
        PluralCategory::Few => "few",
        PluralCategory::Many => "many",
        PluralCategory::Other => "other",
    }
}

impl PluralFormat {
    pub fn new(spec: &Spec) -> Result<PluralFormat, Reply> {
        let rule_type = spec.choice("type", PluralRuleType::Cardinal, |v| match v {
            "cardinal" => Some(PluralRuleType::Cardinal),
            "ordinal" => Some(PluralRuleType::Ordinal),
            _ => None,
        })?;
        let mut options = PluralRulesOptions::default();
        options.rule_type = Some(rule_type);
        let rules = PluralRules::try_new((&spec.locale).into(), options)
            .map_err(|e| range_error(format!("Intl: no plural rules: {e}")))?;
        Ok(PluralFormat { rules, rounding: Rounding::from_spec(spec, (0, 3))? })
    }

    pub fn select(&self, value: &str) -> Outcome {
        Ok(match Value::parse(value)? {
            Value::Finite(x) => name(self.rules.category_for(&self.rounding.apply(&x))),
            Value::NaN | Value::Infinite(_) => "other",
        }
        .into())
    }

    pub fn categories(&self) -> String {
        let present: Vec<PluralCategory> = self.rules.categories().collect();
        let names: Vec<&str> = ORDER.into_iter().filter(|c| present.contains(c)).map(name).collect();
        names.join(",")
    }
}
