//! The host half of `Intl`: ECMA-402's formatters over ICU4X and its compiled CLDR data, reached
//! through the interpreter's `intl` import (`js/imports.rs`). The guest's `guest/js/intl.js`
//! reads and checks the options (their order, defaults and errors are ECMA-402's) and resolves
//! them into a *spec*; the host builds the ICU4X formatter a spec describes and formats with it.
//! All locale data stays here: the guest carries only the JavaScript.
//!
//! # Protocol
//!
//! A request is a list of fields (byte strings, UTF-8), laid out in guest memory as for `subtle`
//! (`js/subtle/`): a descriptor of `count: u32 LE`, then `count` pairs `(ptr: u32 LE, len: u32
//! LE)`. Field 0 names the operation. A reply is a status byte, then UTF-8 text: 0, the result;
//! 1, the message of a RangeError for the guest to throw; 2, a TypeError's.
//!
//! A spec is `service;key=value;key=value...` with the resolved locale under `locale`; values
//! never hold `;` or `=` (the guest checks what the tenant gave). Services and their keys are in
//! `number.rs`, `datetime.rs`, `collator.rs`, `plural.rs` and `relative.rs`.
//!
//! Operations, `[fields after the name] -> result`:
//! - `locale.canonical` [tag] -> the canonical tag (a RangeError when it is not well-formed)
//! - `locale.resolve` [comma-separated canonical tags] -> the first one with data, or `en-US`
//! - `locale.supported` [tag] -> `1` or `0`
//! - `tz.canonical` [time zone] -> its canonical IANA name, or an offset `+hh:mm` (a RangeError
//!   when it names none)
//! - `nf.format` / `nf.parts` [spec, number] -> the text / its parts; the number is a decimal
//!   string (`-0`, `1e+21`, `NaN`, `Infinity` and `-Infinity` included)
//! - `dtf.format` / `dtf.parts` [spec, epoch milliseconds]; `dtf.hourcycle` [spec] -> the locale's
//!   hour cycle (`h12`, `h23`, ...)
//! - `pr.select` [spec, number] -> a plural category; `pr.categories` [spec] -> them, comma-separated
//! - `coll.compare` [spec, a, b] -> `-1`, `0` or `1`
//! - `rtf.format` / `rtf.parts` [spec, number, unit]
//!
//! Parts are JSON: `[[type, text], ...]`, types as `formatToParts` names them.
//!
//! # Formatters
//!
//! Building an ICU4X formatter costs microseconds (the data is compiled in, nothing is parsed),
//! formatting with one less; [`Formatters`] keeps the ones an isolate built, by spec, so a
//! formatter used in a loop is built once. The guest names a formatter only by its spec, so an
//! isolate restored from a snapshot (whose JavaScript holds `Intl` objects made while its modules
//! were evaluated) rebuilds what it lacks, and nothing here must survive a snapshot.

mod collator;
mod datetime;
mod locale;
mod number;
mod parts;
mod plural;
mod relative;
mod spec;

use std::collections::HashMap;

use crate::error::Result;
pub use spec::Spec;

/// Formatters one isolate keeps at once; past this the cache starts again, so a tenant that
/// makes formatters without end holds a bounded number of them.
pub const MAX_FORMATTERS: usize = 256;

/// Longest spec or value the host formats (a BigInt of a hundred thousand digits is shorter).
pub const MAX_FIELD_BYTES: usize = 1 << 20;

/// The answer to one request.
#[derive(Debug, PartialEq, Eq)]
pub enum Reply {
    Ok(String),
    RangeError(String),
    TypeError(String),
}

impl Reply {
    /// The reply as the guest reads it (see the module's protocol).
    pub fn encode(&self) -> Vec<u8> {
        let (status, text) = match self {
            Reply::Ok(text) => (0, text),
            Reply::RangeError(message) => (1, message),
            Reply::TypeError(message) => (2, message),
        };
        let mut out = Vec::with_capacity(1 + text.len());
        out.push(status);
        out.extend_from_slice(text.as_bytes());
        out
    }
}

/// What a failed operation tells the guest to throw.
pub type Outcome = std::result::Result<String, Reply>;

fn range_error(message: impl Into<String>) -> Reply {
    Reply::RangeError(message.into())
}

/// A formatter built from one spec.
enum Formatter {
    Number(Box<number::NumberFormat>),
    DateTime(Box<datetime::DateTimeFormat>),
    Plural(Box<plural::PluralFormat>),
    Collator(Box<collator::Collator>),
    Relative(Box<relative::RelativeFormat>),
}

/// The formatters one isolate built, by spec (see the module docs).
#[derive(Default)]
pub struct Formatters {
    by_spec: HashMap<String, Formatter>,
}

impl Formatters {
    pub fn len(&self) -> usize {
        self.by_spec.len()
    }

    pub fn is_empty(&self) -> bool {
        self.by_spec.is_empty()
    }

    /// The formatter for `spec`, built now if this isolate has none.
    fn get(&mut self, spec: &str) -> std::result::Result<&Formatter, Reply> {
        if !self.by_spec.contains_key(spec) {
            let built = build(&Spec::parse(spec)?)?;
            if self.by_spec.len() >= MAX_FORMATTERS {
                self.by_spec.clear();
            }
            self.by_spec.insert(spec.to_owned(), built);
        }
        Ok(&self.by_spec[spec])
    }

    /// Runs one request. `check` is the call's deadline; its error ends the call.
    pub fn run(&mut self, fields: &[&[u8]], check: &mut dyn FnMut() -> Result<()>) -> Result<Reply> {
        check()?;
        let mut text = Vec::with_capacity(fields.len());
        for field in fields {
            if field.len() > MAX_FIELD_BYTES {
                return Ok(range_error(format!("Intl: an argument is longer than {MAX_FIELD_BYTES} bytes")));
            }
            // A lone surrogate in a tenant string (QuickJS writes it as WTF-8) becomes U+FFFD.
            text.push(String::from_utf8_lossy(field));
        }
        let fields: Vec<&str> = text.iter().map(|field| field.as_ref()).collect();
        Ok(match self.answer(&fields) {
            Ok(text) => Reply::Ok(text),
            Err(reply) => reply,
        })
    }

    fn answer(&mut self, fields: &[&str]) -> Outcome {
        let malformed = || Reply::TypeError(format!("Intl: malformed request {:?}", fields.first()));
        match fields {
            ["locale.canonical", tag] => locale::canonicalize(tag)
                .ok_or_else(|| range_error(format!("Incorrect locale information provided: {tag}"))),
            ["locale.resolve", tags] => Ok(locale::resolve(tags).to_string()),
            ["locale.supported", tag] => Ok(match icu_locale_core::Locale::try_from_str(tag) {
                Ok(locale) if locale::is_supported(&locale) => "1".into(),
                _ => "0".into(),
            }),
            ["tz.canonical", name] => datetime::canonical_time_zone(name)
                .ok_or_else(|| range_error(format!("Invalid time zone specified: {name}"))),
            [op, spec, rest @ ..] => match (self.get(spec)?, *op, rest) {
                (Formatter::Number(format), "nf.format", [value]) => format.format(value).map(|parts| parts.text),
                (Formatter::Number(format), "nf.parts", [value]) => format.format(value).map(|parts| parts.to_json()),
                (Formatter::DateTime(format), "dtf.format", [ms]) => format.format(ms).map(|parts| parts.text),
                (Formatter::DateTime(format), "dtf.parts", [ms]) => format.format(ms).map(|parts| parts.to_json()),
                (Formatter::DateTime(format), "dtf.hourcycle", []) => Ok(format.hour_cycle().into()),
                (Formatter::Plural(rules), "pr.select", [value]) => rules.select(value),
                (Formatter::Plural(rules), "pr.categories", []) => Ok(rules.categories()),
                (Formatter::Collator(collator), "coll.compare", [a, b]) => Ok(collator.compare(a, b).into()),
                (Formatter::Relative(format), "rtf.format", [value, unit]) => {
                    format.format(value, unit).map(|parts| parts.text)
                }
                (Formatter::Relative(format), "rtf.parts", [value, unit]) => {
                    format.format(value, unit).map(|parts| parts.to_json())
                }
                _ => Err(malformed()),
            },
            _ => Err(malformed()),
        }
    }
}

/// The formatter a spec describes.
fn build(spec: &Spec) -> std::result::Result<Formatter, Reply> {
    Ok(match spec.service {
        "nf" => Formatter::Number(Box::new(number::NumberFormat::new(spec)?)),
        "dtf" => Formatter::DateTime(Box::new(datetime::DateTimeFormat::new(spec)?)),
        "pr" => Formatter::Plural(Box::new(plural::PluralFormat::new(spec)?)),
        "coll" => Formatter::Collator(Box::new(collator::Collator::new(spec)?)),
        "rtf" => Formatter::Relative(Box::new(relative::RelativeFormat::new(spec)?)),
        other => return Err(Reply::TypeError(format!("Intl: no service {other:?}"))),
    })
}
