//! `Intl.RelativeTimeFormat`: CLDR's relative-time patterns (ICU4X `icu_experimental`'s
//! relative-time formatter), "in 3 days", "vor 3 Tagen", "yesterday" with `numeric: "auto"`.
//!
//! Spec keys: `style` (`long`, `short`, `narrow`), `numeric` (`always`, `auto`). The unit comes
//! with each value, singular (`day`, never `days`: the guest takes the plural off); a unit's
//! formatter is built when first used.

use std::cell::OnceCell;

use icu_experimental::relativetime::options::Numeric;
use icu_experimental::relativetime::{RelativeTimeFormatter, RelativeTimeFormatterOptions};
use icu_locale_core::Locale;

use super::number::{Rounding, Value};
use super::parts::Parts;
use super::{Reply, Spec, range_error};

const UNITS: [&str; 8] = ["second", "minute", "hour", "day", "week", "month", "quarter", "year"];

#[derive(Clone, Copy)]
enum Style {
    Long,
    Short,
    Narrow,
}

pub struct RelativeFormat {
    locale: Locale,
    style: Style,
    options: RelativeTimeFormatterOptions,
    rounding: Rounding,
    /// By the unit's index in [`UNITS`].
    formatters: [OnceCell<RelativeTimeFormatter>; 8],
}

impl RelativeFormat {
    pub fn new(spec: &Spec) -> Result<RelativeFormat, Reply> {
        let style = spec.choice("style", Style::Long, |v| match v {
            "long" => Some(Style::Long),
            "short" => Some(Style::Short),
            "narrow" => Some(Style::Narrow),
            _ => None,
        })?;
        let numeric = spec.choice("numeric", Numeric::Always, |v| match v {
            "always" => Some(Numeric::Always),
            "auto" => Some(Numeric::Auto),
            _ => None,
        })?;
        let mut options = RelativeTimeFormatterOptions::default();
        options.numeric = Some(numeric);
        Ok(RelativeFormat {
            locale: spec.locale.clone(),
            style,
            options,
            rounding: Rounding::from_spec(spec, (0, 3))?,
            formatters: Default::default(),
        })
    }

    pub fn format(&self, value: &str, unit: &str) -> Result<Parts, Reply> {
        let Some(index) = UNITS.iter().position(|u| *u == unit) else {
            return Err(range_error(format!("Invalid unit argument for format() '{unit}'")));
        };
        let x = match Value::parse(value)? {
            Value::Finite(x) => self.rounding.apply(&x),
            _ => return Err(range_error("Invalid number value")),
        };
        let formatter = match self.formatters[index].get() {
            Some(formatter) => formatter,
            None => {
                let built = self.build(index).map_err(|e| range_error(format!("Intl: no relative-time data: {e}")))?;
                self.formatters[index].get_or_init(|| built)
            }
        };
        Ok(Parts::of(&formatter.format(x)))
    }

    fn build(&self, index: usize) -> Result<RelativeTimeFormatter, icu_provider::DataError> {
        type Constructor = fn(
            icu_experimental::relativetime::RelativeTimeFormatterPreferences,
            RelativeTimeFormatterOptions,
        ) -> Result<RelativeTimeFormatter, icu_provider::DataError>;
        use RelativeTimeFormatter as F;
        let constructors: [Constructor; 8] = match self.style {
            Style::Long => [
                F::try_new_long_second,
                F::try_new_long_minute,
                F::try_new_long_hour,
                F::try_new_long_day,
                F::try_new_long_week,
                F::try_new_long_month,
                F::try_new_long_quarter,
                F::try_new_long_year,
            ],
            Style::Short => [
                F::try_new_short_second,
                F::try_new_short_minute,
                F::try_new_short_hour,
                F::try_new_short_day,
                F::try_new_short_week,
                F::try_new_short_month,
                F::try_new_short_quarter,
                F::try_new_short_year,
            ],
            Style::Narrow => [
                F::try_new_narrow_second,
                F::try_new_narrow_minute,
                F::try_new_narrow_hour,
                F::try_new_narrow_day,
                F::try_new_narrow_week,
                F::try_new_narrow_month,
                F::try_new_narrow_quarter,
                F::try_new_narrow_year,
            ],
        };
        constructors[index]((&self.locale).into(), self.options)
    }
}
