//! `Intl.DateTimeFormat` and `Date.prototype.toLocale{,Date,Time}String`: the instant is placed
//! in its time zone by `jiff` (the IANA database compiled in, so DST changes fall where they do
//! on every host), then ICU4X's `icu_datetime` formats the wall-clock time with CLDR's patterns.
//!
//! Spec keys: `tz` (a canonical IANA name or `+hh:mm`, from `tz.canonical`), `dateStyle`,
//! `timeStyle` (`full`, `long`, `medium`, `short`), or the components `weekday`, `era`, `year`,
//! `month`, `day`, `dayPeriod`, `hour`, `minute`, `second`, `fsd` (fractionalSecondDigits) and
//! `tzn` (timeZoneName) with ECMA-402's values; `hour12` (`true`, `false`) or `hc` (an hour
//! cycle). The calendar and numbering system are the locale's `ca` and `nu`.

use icu_calendar::Date;
use icu_datetime::DateTimeFormatter;
use icu_datetime::DateTimeFormatterPreferences;
use icu_datetime::fieldbag::DateTimeFieldBag;
use icu_datetime::fieldbag::field;
use icu_datetime::fieldsets::builder::{DateFields, FieldSetBuilder, ZoneStyle};
use icu_datetime::fieldsets::enums::CompositeFieldSet;
use icu_datetime::options::{Length, TimePrecision, YearStyle};
use icu_locale_core::preferences::extensions::unicode::keywords::HourCycle;
use icu_time::zone::{IanaParserBorrowed, UtcOffset};
use icu_time::{DateTime, Time, TimeZone, ZonedDateTime};
use writeable::Writeable;

use super::parts::Parts;
use super::{Reply, Spec, range_error};

/// Names ECMA-402 canonicalises to "UTC".
const UTC_ALIASES: &[&str] = &[
    "utc",
    "etc/utc",
    "etc/gmt",
    "gmt",
    "etc/uct",
    "uct",
    "etc/universal",
    "universal",
    "etc/zulu",
    "zulu",
    "etc/greenwich",
    "greenwich",
    "etc/gmt0",
    "gmt0",
    "etc/gmt+0",
    "etc/gmt-0",
    "gmt+0",
    "gmt-0",
];

/// The time zone `name` as `resolvedOptions().timeZone` reports it, or `None` when it names none.
pub fn canonical_time_zone(name: &str) -> Option<String> {
    if let Some(seconds) = offset_seconds(name) {
        let (sign, minutes) = if seconds < 0 { ('-', -seconds / 60) } else { ('+', seconds / 60) };
        return Some(format!("{sign}{:02}:{:02}", minutes / 60, minutes % 60));
    }
    if UTC_ALIASES.contains(&name.to_ascii_lowercase().as_str()) {
        return Some("UTC".into());
    }
    // jiff reads only its compiled-in database, case-insensitively, and names the zone as the
    // database spells it.
    let zone = jiff::tz::TimeZone::get(name).ok()?;
    zone.iana_name().map(str::to_owned)
}

/// ECMA-402's offset time zones: `±hh`, `±hhmm` or `±hh:mm`, at most 23:59.
fn offset_seconds(name: &str) -> Option<i32> {
    let sign = match name.as_bytes().first()? {
        b'+' => 1,
        b'-' => -1,
        _ => return None,
    };
    let digits = name[1..].replacen(':', "", usize::from(name.len() == 6));
    if !digits.bytes().all(|b| b.is_ascii_digit()) || !matches!(digits.len(), 2 | 4) {
        return None;
    }
    let hours: i32 = digits[..2].parse().ok()?;
    let minutes: i32 = if digits.len() == 4 { digits[2..].parse().ok()? } else { 0 };
    (hours < 24 && minutes < 60).then_some(sign * (hours * 3600 + minutes * 60))
}

/// Where the wall-clock time is: a zone of the database, or a fixed offset.
enum Zone {
    Named { jiff: jiff::tz::TimeZone, icu: TimeZone },
    Offset(i32),
}

pub struct DateTimeFormat {
    formatter: DateTimeFormatter<CompositeFieldSet>,
    zone: Zone,
}

fn length(style: &str) -> Option<Length> {
    Some(match style {
        "full" | "long" => Length::Long,
        "medium" => Length::Medium,
        "short" => Length::Short,
        _ => return None,
    })
}

impl DateTimeFormat {
    pub fn new(spec: &Spec) -> Result<DateTimeFormat, Reply> {
        let zone_name = spec.get("tz").unwrap_or("UTC");
        let zone = match offset_seconds(zone_name) {
            Some(seconds) => Zone::Offset(seconds),
            None => {
                let jiff = jiff::tz::TimeZone::get(zone_name)
                    .map_err(|_| range_error(format!("Invalid time zone specified: {zone_name}")))?;
                Zone::Named { jiff, icu: IanaParserBorrowed::new().parse(zone_name) }
            }
        };
        let mut prefs = DateTimeFormatterPreferences::from(&spec.locale);
        match (spec.get("hour12"), spec.get("hc")) {
            (Some("true"), _) => prefs.hour_cycle = Some(HourCycle::H12),
            (Some("false"), _) => prefs.hour_cycle = Some(HourCycle::H23),
            (_, Some("h11")) => prefs.hour_cycle = Some(HourCycle::H11),
            (_, Some("h12")) => prefs.hour_cycle = Some(HourCycle::H12),
            (_, Some("h23" | "h24")) => prefs.hour_cycle = Some(HourCycle::H23),
            _ => {}
        }
        let field_set = if spec.get("dateStyle").is_some() || spec.get("timeStyle").is_some() {
            styles(spec)?
        } else {
            components(spec)?.to_composite_field_set()
        };
        let formatter = DateTimeFormatter::try_new(prefs, field_set)
            .map_err(|e| range_error(format!("Intl.DateTimeFormat: no pattern for these options: {e}")))?;
        Ok(DateTimeFormat { formatter, zone })
    }

    /// The instant `ms` milliseconds after the epoch, formatted, with its parts.
    pub fn format(&self, ms: &str) -> Result<Parts, Reply> {
        let invalid = || range_error("Invalid time value");
        let ms: f64 = ms.parse().map_err(|_| invalid())?;
        if !ms.is_finite() {
            return Err(invalid());
        }
        let instant = jiff::Timestamp::from_millisecond(ms.floor() as i64)
            .map_err(|_| range_error("Intl.DateTimeFormat: the date is outside the years -9999 to 9999"))?;
        let (local, offset, icu_zone) = match &self.zone {
            Zone::Named { jiff, icu } => (jiff.to_datetime(instant), jiff.to_offset(instant).seconds(), *icu),
            Zone::Offset(seconds) => {
                let offset = jiff::tz::Offset::from_seconds(*seconds).map_err(|_| invalid())?;
                (jiff::tz::TimeZone::fixed(offset).to_datetime(instant), *seconds, TimeZone::UNKNOWN)
            }
        };
        let date = Date::try_new_iso(i32::from(local.year()), local.month() as u8, local.day() as u8)
            .map_err(|_| invalid())?;
        let time = Time::try_new(
            local.hour() as u8,
            local.minute() as u8,
            local.second() as u8,
            local.subsec_nanosecond() as u32,
        )
        .map_err(|_| invalid())?;
        let offset = UtcOffset::try_from_seconds(offset).map_err(|_| invalid())?;
        let zone = icu_zone.with_offset(Some(offset)).at_date_time(DateTime { date, time });
        let input = ZonedDateTime { date, time, zone };
        Ok(Parts::of(&self.formatter.format(&input)))
    }

    /// The hour cycle the formatter's pattern uses (`h12`, `h23`, `h11`, `h24`), or empty when it
    /// shows no hour.
    pub fn hour_cycle(&self) -> &'static str {
        let probe = ZonedDateTime {
            date: Date::try_new_iso(2000, 1, 1).expect("a valid date"),
            time: Time::try_new(13, 0, 0, 0).expect("a valid time"),
            zone: TimeZone::UNKNOWN.with_offset(Some(UtcOffset::zero())).at_date_time(DateTime {
                date: Date::try_new_iso(2000, 1, 1).expect("a valid date"),
                time: Time::try_new(13, 0, 0, 0).expect("a valid time"),
            }),
        };
        let pattern = self.formatter.format(&probe).pattern().write_to_string().into_owned();
        let mut quoted = false;
        for c in pattern.chars() {
            match c {
                '\'' => quoted = !quoted,
                'h' if !quoted => return "h12",
                'H' if !quoted => return "h23",
                'K' if !quoted => return "h11",
                'k' if !quoted => return "h24",
                _ => {}
            }
        }
        ""
    }
}

/// The field set of `dateStyle` / `timeStyle`.
fn styles(spec: &Spec) -> Result<CompositeFieldSet, Reply> {
    let bad = |key: &str, value: &str| range_error(format!("Value {value} out of range for {key}"));
    let mut builder = FieldSetBuilder::new();
    if let Some(style) = spec.get("dateStyle") {
        builder.length = Some(length(style).ok_or_else(|| bad("dateStyle", style))?);
        builder.date_fields = Some(if style == "full" { DateFields::YMDE } else { DateFields::YMD });
    }
    if let Some(style) = spec.get("timeStyle") {
        let time_length = length(style).ok_or_else(|| bad("timeStyle", style))?;
        builder.length.get_or_insert(time_length);
        builder.time_precision = Some(if style == "short" { TimePrecision::Minute } else { TimePrecision::Second });
        builder.zone_style = match style {
            "full" => Some(ZoneStyle::SpecificLong),
            "long" => Some(ZoneStyle::SpecificShort),
            _ => None,
        };
    }
    if builder.date_fields == Some(DateFields::YMD) && builder.length == Some(Length::Short) {
        builder.year_style = Some(YearStyle::Auto);
    }
    builder.build_composite().map_err(|e| range_error(format!("Intl.DateTimeFormat: {e}")))
}

/// The field bag of ECMA-402's component options.
fn components(spec: &Spec) -> Result<DateTimeFieldBag, Reply> {
    let mut bag = DateTimeFieldBag::default();
    let text = |v: &str| match v {
        "long" => Some(2),
        "short" => Some(1),
        "narrow" => Some(0),
        _ => None,
    };
    let numeric = |v: &str| match v {
        "numeric" => Some(true),
        "2-digit" => Some(false),
        _ => None,
    };
    let pick = |key: &str, choose: &dyn Fn(&str) -> Option<u8>| -> Result<Option<u8>, Reply> {
        match spec.get(key) {
            None => Ok(None),
            Some(value) => {
                choose(value).map(Some).ok_or_else(|| range_error(format!("Value {value} out of range for {key}")))
            }
        }
    };
    let widths = [field::Weekday::Narrow, field::Weekday::Short, field::Weekday::Long];
    bag.weekday = pick("weekday", &|v| text(v))?.map(|w| widths[usize::from(w)]);
    let eras = [field::Era::Narrow, field::Era::Short, field::Era::Long];
    bag.era = pick("era", &|v| text(v))?.map(|w| eras[usize::from(w)]);
    let two_or_numeric = |v: &str| numeric(v).map(u8::from);
    bag.year =
        pick("year", &two_or_numeric)?.map(|n| if n == 1 { field::Year::Numeric } else { field::Year::TwoDigit });
    bag.month = pick("month", &|v| match v {
        "numeric" => Some(3),
        "2-digit" => Some(4),
        other => text(other),
    })?
    .map(|m| {
        [field::Month::Narrow, field::Month::Short, field::Month::Long, field::Month::Numeric, field::Month::TwoDigit]
            [usize::from(m)]
    });
    bag.day = pick("day", &two_or_numeric)?.map(|n| if n == 1 { field::Day::Numeric } else { field::Day::TwoDigit });
    bag.hour =
        pick("hour", &two_or_numeric)?.map(|n| if n == 1 { field::Hour::Numeric } else { field::Hour::TwoDigit });
    bag.minute =
        pick("minute", &two_or_numeric)?.map(|n| if n == 1 { field::Minute::Numeric } else { field::Minute::TwoDigit });
    bag.second =
        pick("second", &two_or_numeric)?.map(|n| if n == 1 { field::Second::Numeric } else { field::Second::TwoDigit });
    let periods = [field::DayPeriod::FlexibleNarrow, field::DayPeriod::FlexibleShort, field::DayPeriod::FlexibleLong];
    bag.day_period = pick("dayPeriod", &|v| text(v))?.map(|w| periods[usize::from(w)]);
    bag.fractional_second_digits = pick("fsd", &|v| match v {
        "1" => Some(1),
        "2" => Some(2),
        "3" => Some(3),
        _ => None,
    })?
    .map(|d| {
        [field::FractionalSecondDigits::F1, field::FractionalSecondDigits::F2, field::FractionalSecondDigits::F3]
            [usize::from(d - 1)]
    });
    bag.time_zone_name = pick("tzn", &|v| match v {
        "short" => Some(0),
        "long" => Some(1),
        "shortOffset" => Some(2),
        "longOffset" => Some(3),
        "shortGeneric" => Some(4),
        "longGeneric" => Some(5),
        _ => None,
    })?
    .map(|z| {
        use field::TimeZoneName as N;
        [N::ShortSpecific, N::LongSpecific, N::ShortOffset, N::LongOffset, N::ShortGeneric, N::LongGeneric]
            [usize::from(z)]
    });
    bag.hour_kind = match spec.get("hour12") {
        Some("true") => Some(field::HourKind::Clock12),
        Some("false") => Some(field::HourKind::Clock24),
        _ => match spec.get("hc") {
            Some("h11" | "h12") => Some(field::HourKind::Clock12),
            Some("h23" | "h24") => Some(field::HourKind::Clock24),
            _ => None,
        },
    };
    Ok(bag)
}
