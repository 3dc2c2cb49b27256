//! Locales: BCP 47 tags canonicalised as `Intl.getCanonicalLocales` does (case, aliases, the
//! order of extensions), and the lookup ECMA-402's ResolveLocale makes among the locales whose
//! data ICU4X's compiled CLDR holds.

use icu_datetime::provider::Baked;
use icu_datetime::provider::names::DatetimeNamesWeekdayV1;
use icu_locale::LocaleCanonicalizer;
use icu_locale_core::Locale;
use icu_provider::prelude::*;

/// What an isolate's `Intl` uses when the tenant names no locale it has: workerd's.
pub const DEFAULT_LOCALE: &str = "en-US";

/// `tag` as a canonical Unicode locale identifier, or `None` when it is not a well-formed one.
pub fn canonicalize(tag: &str) -> Option<String> {
    // ECMA-402 wants a structurally valid tag; ICU4X also takes "_" and a bare "root".
    if tag.contains('_') || tag.is_empty() || tag.eq_ignore_ascii_case("root") {
        return None;
    }
    let mut locale = Locale::try_from_str(tag).ok()?;
    if locale.id.language.is_unknown() && !tag.to_ascii_lowercase().starts_with("und") {
        return None;
    }
    LocaleCanonicalizer::new_extended().canonicalize(&mut locale);
    Some(locale.to_string())
}

/// Whether CLDR data for `locale`'s language (and script, when it names one) is compiled in,
/// rather than the root locale's. Weekday names stand for every service: every language CLDR
/// covers names them its own way (a number's symbols are often the root's, so they would not do),
/// but for English, whose names the root locale has.
pub fn is_supported(locale: &Locale) -> bool {
    let mut probe = Locale::UNKNOWN;
    probe.id.language = locale.id.language;
    probe.id.script = locale.id.script;
    let data_locale = DataLocale::from(&probe);
    let wide = DataMarkerAttributes::from_str_or_panic("4"); // the names' widest form
    let id = DataIdentifierBorrowed::for_marker_attributes_and_locale(wide, &data_locale);
    let request = DataRequest { id, ..Default::default() };
    match DataProvider::<DatetimeNamesWeekdayV1>::load(&Baked, request) {
        Ok(response) => match response.metadata.locale {
            // The root locale's names are English's, so English falls back to them.
            Some(found) => !found.language.is_unknown() || probe.id.language.as_str() == "en",
            None => true,
        },
        Err(_) => false,
    }
}

/// The first of the comma-separated canonical `requested` tags ICU4X has data for, or
/// [`DEFAULT_LOCALE`]; a tag's Unicode extensions stay on it (each service reads its own).
pub fn resolve(requested: &str) -> Locale {
    for tag in requested.split(',').filter(|tag| !tag.is_empty()) {
        if let Ok(locale) = Locale::try_from_str(tag)
            && is_supported(&locale)
        {
            return locale;
        }
    }
    Locale::try_from_str(DEFAULT_LOCALE).expect("the default locale is well-formed")
}
