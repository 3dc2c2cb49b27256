//! `Intl.NumberFormat` (and `Number.prototype.toLocaleString`, `BigInt.prototype.toLocaleString`):
//! ECMA-402's rounding (FormatNumericToString) on `fixed_decimal`'s exact decimals, then ICU4X's
//! decimal, percent, currency and compact formatting.
//!
//! Spec keys (all resolved by the guest): `style` (`decimal`, `percent`, `currency`),
//! `currency` (ISO code), `currencyDisplay` (`symbol`, `narrowSymbol`, `code`, `name`),
//! `currencySign` (`standard`, `accounting`), `notation` (`standard`, `scientific`,
//! `engineering`, `compact`), `compactDisplay` (`short`, `long`), `useGrouping` (`always`,
//! `auto`, `min2`, `false`), `signDisplay` (`auto`, `never`, `always`, `exceptZero`,
//! `negative`), `minInt`, `minFD`, `maxFD`, `minSD`, `maxSD`, `roundingType` (`fd`, `sd`,
//! `more`, `less`), `roundingIncrement`, `roundingMode` (ECMA-402's nine) and
//! `trailingZeroDisplay` (`auto`, `stripIfInteger`). The numbering system is the locale's `nu`.
//!
//! ICU4X's currency formatter rounds to the currency's own digits, and its percent formatter has
//! one sign style per formatter; so both format a stand-in number carrying the right sign, and
//! the number this module rounded and formatted takes the stand-in's place.

use fixed_decimal::{Decimal, RoundingIncrement, Sign, SignDisplay, SignedRoundingMode, UnsignedRoundingMode};
use icu_decimal::options::{DecimalFormatterOptions, GroupingStrategy};
use icu_decimal::{CompactDecimalFormatter, DecimalFormatter};
use icu_experimental::dimension::currency::CurrencyType;
use icu_experimental::dimension::currency::formatter::CurrencyFormatter;
use icu_experimental::dimension::currency::options::{CurrencyFormatterOptions, CurrencyUsage};
use icu_experimental::dimension::percent::formatter::PercentFormatter;
use icu_experimental::dimension::percent::options::Display;
use writeable::Writeable;

use super::parts::Parts;
use super::{Reply, Spec, range_error};

/// The part types of a number's digits and separators (the sign excluded).
const NUMBER_PARTS: &[&str] = &["integer", "group", "decimal", "fraction", "nan", "infinity"];

/// Where a number is rounded: ECMA-402's roundingType and its digits.
#[derive(Clone, Copy)]
pub struct Rounding {
    kind: RoundingKind,
    min_int: i16,
    min_fd: i16,
    max_fd: i16,
    min_sd: i16,
    max_sd: i16,
    /// The increment's digit (1, 2, 5 or 25) and its power of ten above `-max_fd`.
    increment: (RoundingIncrement, i16),
    mode: SignedRoundingMode,
    strip_if_integer: bool,
}

#[derive(Clone, Copy, PartialEq)]
enum RoundingKind {
    FractionDigits,
    SignificantDigits,
    MorePrecision,
    LessPrecision,
}

impl Rounding {
    /// The rounding a spec names; `defaults` gives the fraction digits when the spec has none.
    pub fn from_spec(spec: &Spec, defaults: (i16, i16)) -> Result<Rounding, Reply> {
        let kind = spec.choice("roundingType", RoundingKind::FractionDigits, |v| match v {
            "fd" => Some(RoundingKind::FractionDigits),
            "sd" => Some(RoundingKind::SignificantDigits),
            "more" => Some(RoundingKind::MorePrecision),
            "less" => Some(RoundingKind::LessPrecision),
            _ => None,
        })?;
        let increment = match spec.number("roundingIncrement")?.unwrap_or(1) {
            1 => (RoundingIncrement::MultiplesOf1, 0),
            2 => (RoundingIncrement::MultiplesOf2, 0),
            5 => (RoundingIncrement::MultiplesOf5, 0),
            10 => (RoundingIncrement::MultiplesOf1, 1),
            20 => (RoundingIncrement::MultiplesOf2, 1),
            25 => (RoundingIncrement::MultiplesOf25, 0),
            50 => (RoundingIncrement::MultiplesOf5, 1),
            100 => (RoundingIncrement::MultiplesOf1, 2),
            200 => (RoundingIncrement::MultiplesOf2, 2),
            250 => (RoundingIncrement::MultiplesOf25, 1),
            500 => (RoundingIncrement::MultiplesOf5, 2),
            1000 => (RoundingIncrement::MultiplesOf1, 3),
            2000 => (RoundingIncrement::MultiplesOf2, 3),
            2500 => (RoundingIncrement::MultiplesOf25, 2),
            5000 => (RoundingIncrement::MultiplesOf5, 3),
            other => return Err(range_error(format!("roundingIncrement value is out of range: {other}"))),
        };
        let mode =
            spec.choice("roundingMode", SignedRoundingMode::Unsigned(UnsignedRoundingMode::HalfExpand), |v| {
                Some(match v {
                    "ceil" => SignedRoundingMode::Ceil,
                    "floor" => SignedRoundingMode::Floor,
                    "expand" => SignedRoundingMode::Unsigned(UnsignedRoundingMode::Expand),
                    "trunc" => SignedRoundingMode::Unsigned(UnsignedRoundingMode::Trunc),
                    "halfCeil" => SignedRoundingMode::HalfCeil,
                    "halfFloor" => SignedRoundingMode::HalfFloor,
                    "halfExpand" => SignedRoundingMode::Unsigned(UnsignedRoundingMode::HalfExpand),
                    "halfTrunc" => SignedRoundingMode::Unsigned(UnsignedRoundingMode::HalfTrunc),
                    "halfEven" => SignedRoundingMode::Unsigned(UnsignedRoundingMode::HalfEven),
                    _ => return None,
                })
            })?;
        let digits = |key, default: i16, low: i16, high: i16| -> Result<i16, Reply> {
            let value = spec.number(key)?.unwrap_or(default);
            if !(low..=high).contains(&value) {
                return Err(range_error(format!("{key} value is out of range: {value}")));
            }
            Ok(value)
        };
        Ok(Rounding {
            kind,
            min_int: digits("minInt", 1, 1, 21)?,
            min_fd: digits("minFD", defaults.0, 0, 100)?,
            max_fd: digits("maxFD", defaults.1, 0, 100)?,
            min_sd: digits("minSD", 1, 1, 21)?,
            max_sd: digits("maxSD", 21, 1, 21)?,
            increment,
            mode,
            strip_if_integer: spec.get("trailingZeroDisplay") == Some("stripIfInteger"),
        })
    }

    /// `x` rounded as ECMA-402's FormatNumericToString rounds it (sign kept, not yet displayed).
    pub fn apply(&self, x: &Decimal) -> Decimal {
        let by_fraction = || self.round_to_fraction_digits(x.clone());
        let by_significance = || self.round_to_significant_digits(x.clone());
        let mut rounded = match self.kind {
            RoundingKind::FractionDigits => by_fraction().0,
            RoundingKind::SignificantDigits => by_significance().0,
            RoundingKind::MorePrecision | RoundingKind::LessPrecision => {
                let (significant, significant_at) = by_significance();
                let (fraction, fraction_at) = by_fraction();
                let significant_wins = if self.kind == RoundingKind::MorePrecision {
                    significant_at <= fraction_at
                } else {
                    significant_at > fraction_at
                };
                if significant_wins { significant } else { fraction }
            }
        };
        if self.strip_if_integer && rounded.absolute.nonzero_magnitude_end() >= 0 {
            rounded.trim_end();
        }
        rounded.pad_start(self.min_int);
        rounded
    }

    /// `x` rounded to fraction digits, and the magnitude it was rounded at.
    fn round_to_fraction_digits(&self, mut x: Decimal) -> (Decimal, i16) {
        let (increment, shift) = self.increment;
        let position = -self.max_fd + shift;
        x.round_with_mode_and_increment(position, self.mode, increment);
        x.trim_end();
        x.pad_end(-self.min_fd);
        (x, position)
    }

    /// `x` rounded to significant digits, and the magnitude it was rounded at.
    fn round_to_significant_digits(&self, mut x: Decimal) -> (Decimal, i16) {
        if x.absolute.is_zero() {
            x.trim_end();
            x.pad_end(1 - self.min_sd);
            return (x, 1 - self.max_sd);
        }
        let position = x.absolute.nonzero_magnitude_start() - self.max_sd + 1;
        x.round_with_mode(position, self.mode);
        x.trim_end();
        let magnitude = x.absolute.nonzero_magnitude_start();
        x.pad_end(magnitude - self.min_sd + 1);
        (x, position)
    }
}

/// A number as the guest gives it.
pub enum Value {
    Finite(Decimal),
    NaN,
    Infinite(Sign),
}

impl Value {
    /// Parses the guest's decimal string (a Number's, a BigInt's, or a tenant string).
    pub fn parse(text: &str) -> Result<Value, Reply> {
        let text = text.trim_matches(|c: char| c.is_whitespace() || c == '\u{feff}');
        Ok(match text {
            "NaN" => Value::NaN,
            "Infinity" | "+Infinity" => Value::Infinite(Sign::None),
            "-Infinity" => Value::Infinite(Sign::Negative),
            "" => Value::Finite(Decimal::from(0)),
            _ => {
                let plain = text.strip_prefix('+').unwrap_or(text).replace("e+", "e").replace("E+", "E");
                let plain = if plain.starts_with('.') { format!("0{plain}") } else { plain };
                let plain = if plain.ends_with('.') { format!("{plain}0") } else { plain };
                match Decimal::try_from_str(&plain) {
                    Ok(decimal) => Value::Finite(decimal),
                    Err(fixed_decimal::ParseError::Limit) => {
                        return Err(range_error("Intl: the number has too many digits to format"));
                    }
                    Err(_) => Value::NaN,
                }
            }
        })
    }
}

enum Notation {
    Standard,
    Scientific,
    Engineering,
    Compact(Box<CompactDecimalFormatter>),
}

enum Style {
    Decimal,
    Percent { plain: Box<PercentFormatter<DecimalFormatter>>, signed: Box<PercentFormatter<DecimalFormatter>> },
    Currency(Box<CurrencyFormatter<DecimalFormatter>>),
}

/// One `Intl.NumberFormat`'s formatters and options.
pub struct NumberFormat {
    decimal: DecimalFormatter,
    style: Style,
    notation: Notation,
    rounding: Rounding,
    sign_display: SignDisplay,
}

fn data_error(error: impl std::fmt::Display) -> Reply {
    range_error(format!("Intl: no locale data: {error}"))
}

impl NumberFormat {
    pub fn new(spec: &Spec) -> Result<NumberFormat, Reply> {
        let locale = &spec.locale;
        let compact = spec.get("notation") == Some("compact");
        let grouping =
            spec.choice("useGrouping", if compact { GroupingStrategy::Min2 } else { GroupingStrategy::Auto }, |v| {
                Some(match v {
                    "always" => GroupingStrategy::Always,
                    "auto" => GroupingStrategy::Auto,
                    "min2" => GroupingStrategy::Min2,
                    "false" => GroupingStrategy::Never,
                    _ => return None,
                })
            })?;
        let options = DecimalFormatterOptions::from(grouping);
        let decimal = DecimalFormatter::try_new(locale.into(), options).map_err(data_error)?;
        let style = match spec.get("style").unwrap_or("decimal") {
            "decimal" => Style::Decimal,
            "percent" => {
                let percent = |display: Display| {
                    let decimal = DecimalFormatter::try_new(locale.into(), options).map_err(data_error)?;
                    PercentFormatter::try_new_with_decimal_formatter(locale.into(), decimal, display.into())
                        .map(Box::new)
                        .map_err(data_error)
                };
                Style::Percent { plain: percent(Display::Standard)?, signed: percent(Display::ExplicitSign)? }
            }
            "currency" => {
                let code = spec.get("currency").unwrap_or_default();
                let currency = CurrencyType::try_from_str(code)
                    .map_err(|_| range_error(format!("Invalid currency code : {code}")))?;
                let usage = if spec.get("currencySign") == Some("accounting") {
                    CurrencyUsage::Accounting
                } else {
                    CurrencyUsage::Standard
                };
                let options = CurrencyFormatterOptions::from(usage);
                let formatter = match spec.get("currencyDisplay").unwrap_or("symbol") {
                    "symbol" => CurrencyFormatter::try_new_symbol(locale.into(), currency, options),
                    "narrowSymbol" => CurrencyFormatter::try_new_symbol_narrow(locale.into(), currency, options),
                    "code" => CurrencyFormatter::try_new_code(locale.into(), currency, options),
                    "name" => CurrencyFormatter::try_new_name(locale.into(), currency),
                    other => return Err(range_error(format!("Value {other} out of range for currencyDisplay"))),
                };
                Style::Currency(Box::new(formatter.map_err(data_error)?))
            }
            "unit" => return Err(range_error("Intl.NumberFormat: style \"unit\" is not supported here")),
            other => return Err(range_error(format!("Value {other} out of range for style"))),
        };
        let notation = match spec.get("notation").unwrap_or("standard") {
            "standard" => Notation::Standard,
            "scientific" => Notation::Scientific,
            "engineering" => Notation::Engineering,
            "compact" => {
                let formatter = if spec.get("compactDisplay") == Some("long") {
                    CompactDecimalFormatter::try_new_long(locale.into(), grouping.into())
                } else {
                    CompactDecimalFormatter::try_new_short(locale.into(), grouping.into())
                };
                Notation::Compact(Box::new(formatter.map_err(data_error)?))
            }
            other => return Err(range_error(format!("Value {other} out of range for notation"))),
        };
        let sign_display = spec.choice("signDisplay", SignDisplay::Auto, |v| {
            Some(match v {
                "auto" => SignDisplay::Auto,
                "never" => SignDisplay::Never,
                "always" => SignDisplay::Always,
                "exceptZero" => SignDisplay::ExceptZero,
                "negative" => SignDisplay::Negative,
                _ => return None,
            })
        })?;
        Ok(NumberFormat { decimal, style, notation, rounding: Rounding::from_spec(spec, (0, 3))?, sign_display })
    }

    /// The formatted `value` (a decimal string, see `Value::parse`), with its parts.
    pub fn format(&self, value: &str) -> Result<Parts, Reply> {
        self.format_value(Value::parse(value)?)
    }

    fn format_value(&self, value: Value) -> Result<Parts, Reply> {
        let (sign, number) = match value {
            Value::Finite(mut x) => {
                if matches!(self.style, Style::Percent { .. }) {
                    x.multiply_pow10(2);
                }
                let (sign, number) = self.format_finite(x);
                (sign, number)
            }
            Value::NaN => {
                let mut parts = Parts::default();
                parts.push("NaN", "nan");
                (Sign::None, parts)
            }
            Value::Infinite(sign) => {
                let mut parts = Parts::default();
                parts.push("∞", "infinity");
                (signed(sign, self.sign_display, false), parts)
            }
        };
        Ok(self.wrap(sign, number))
    }

    /// The sign to show, and the unsigned number's parts.
    fn format_finite(&self, x: Decimal) -> (Sign, Parts) {
        match &self.notation {
            Notation::Standard => {
                let rounded = self.rounding.apply(&x);
                let sign = signed(rounded.sign, self.sign_display, rounded.absolute.is_zero());
                (sign, Parts::of(&self.decimal.format(&unsigned(rounded))))
            }
            Notation::Scientific | Notation::Engineering => {
                let step = if matches!(self.notation, Notation::Engineering) { 3 } else { 1 };
                let exponent_of = |x: &Decimal| {
                    if x.absolute.is_zero() { 0 } else { x.absolute.nonzero_magnitude_start().div_euclid(step) * step }
                };
                let mut exponent = exponent_of(&x);
                let mut mantissa = self.rounding.apply(&scaled(&x, -exponent));
                // Rounding 9.99 up to 10 moves the exponent on.
                let carried = exponent_of(&mantissa);
                if carried != 0 {
                    exponent += carried;
                    mantissa = self.rounding.apply(&scaled(&x, -exponent));
                }
                let sign = signed(mantissa.sign, self.sign_display, mantissa.absolute.is_zero());
                let mut parts = Parts::of(&self.decimal.format(&unsigned(mantissa)));
                parts.push("E", "exponentSeparator");
                if exponent < 0 {
                    let minus = Parts::of(&self.decimal.format(&Decimal::from(-1)));
                    let minus_sign = minus.text.strip_suffix('1').unwrap_or("-").to_owned();
                    parts.push(&minus_sign, "exponentMinusSign");
                }
                let digits = Parts::of(&self.decimal.format(&Decimal::from(exponent.unsigned_abs())));
                parts.push(&digits.text, "exponentInteger");
                (sign, parts)
            }
            Notation::Compact(compact) => {
                let exponent_of = |x: &Decimal| {
                    if x.absolute.is_zero() {
                        0
                    } else {
                        compact.compact_exponent_for_magnitude(x.absolute.nonzero_magnitude_start())
                    }
                };
                let mut exponent = exponent_of(&x);
                let mut mantissa = self.rounding.apply(&scaled(&x, -i16::from(exponent)));
                let carried = exponent_of(&scaled(&mantissa, i16::from(exponent)));
                if carried != exponent {
                    exponent = carried;
                    mantissa = self.rounding.apply(&scaled(&x, -i16::from(exponent)));
                }
                let sign = signed(mantissa.sign, self.sign_display, mantissa.absolute.is_zero());
                let mut parts = match compact.format_with_exponent(&unsigned(mantissa.clone()), exponent) {
                    Ok(formatted) => Parts::of(&formatted),
                    // The data has no pattern for this magnitude after all: the plain number.
                    Err(_) => Parts::of(&self.decimal.format(&unsigned(scaled(&mantissa, i16::from(exponent))))),
                };
                parts.mark_other_literals("compact");
                (sign, parts)
            }
        }
    }

    /// The number inside its style's pattern, with its sign.
    fn wrap(&self, sign: Sign, number: Parts) -> Parts {
        let stand_in = Decimal::new(sign, Decimal::from(1).absolute);
        let digit = self.decimal.format(&Decimal::from(1)).write_to_string().into_owned();
        let (outer, kind) = match &self.style {
            Style::Decimal => (Parts::of(&self.decimal.format(&stand_in)), None),
            Style::Percent { plain, signed } => {
                let formatter = if sign == Sign::Positive { signed } else { plain };
                (Parts::of(&formatter.format(&stand_in)), Some("percentSign"))
            }
            Style::Currency(formatter) => (Parts::of(&formatter.format_fixed_decimal(&stand_in)), Some("currency")),
        };
        let mut out = splice_number(outer, number, &digit);
        if let Some(kind) = kind {
            out.mark_other_literals(kind);
        }
        out
    }
}

/// `outer` with its number (a stand-in, whose digits are `digit` when the formatter does not
/// mark them as a part) replaced by `number`.
fn splice_number(outer: Parts, number: Parts, digit: &str) -> Parts {
    let span = outer.range_of(NUMBER_PARTS).or_else(|| {
        let at = outer.text.find(digit)?;
        Some((at, at + digit.len()))
    });
    match span {
        Some((start, end)) => outer.splice(start, end, number),
        None => number,
    }
}

/// `x` times ten to the `delta`.
fn scaled(x: &Decimal, delta: i16) -> Decimal {
    Decimal::new(x.sign, x.absolute.clone().multiplied_pow10(delta))
}

fn unsigned(mut x: Decimal) -> Decimal {
    x.sign = Sign::None;
    x
}

/// The sign ECMA-402's signDisplay shows for a number of sign `sign`.
fn signed(sign: Sign, display: SignDisplay, zero: bool) -> Sign {
    let negative = sign == Sign::Negative;
    match display {
        SignDisplay::Never => Sign::None,
        SignDisplay::Always => {
            if negative {
                Sign::Negative
            } else {
                Sign::Positive
            }
        }
        SignDisplay::ExceptZero if zero => Sign::None,
        SignDisplay::ExceptZero => {
            if negative {
                Sign::Negative
            } else {
                Sign::Positive
            }
        }
        SignDisplay::Negative if zero => Sign::None,
        _ => {
            if negative {
                Sign::Negative
            } else {
                Sign::None
            }
        }
    }
}
