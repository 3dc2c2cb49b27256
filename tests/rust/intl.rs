//! `Intl`'s host half (`rust/js/intl/`) called directly, as the `intl` import would: CLDR's
//! outputs for a few locales, and the errors a bad spec or value gets.

use _core::js::intl::{Formatters, MAX_FORMATTERS, Reply};

fn run(formatters: &mut Formatters, fields: &[&str]) -> Reply {
    let fields: Vec<&[u8]> = fields.iter().map(|f| f.as_bytes()).collect();
    formatters.run(&fields, &mut || Ok(())).expect("no deadline")
}

fn ok(fields: &[&str]) -> String {
    match run(&mut Formatters::default(), fields) {
        Reply::Ok(text) => text,
        other => panic!("{fields:?}: {other:?}"),
    }
}

#[test]
fn numbers_follow_each_locales_cldr_symbols() {
    assert_eq!(ok(&["nf.format", "nf;locale=de-DE", "1234567.891"]), "1.234.567,891");
    assert_eq!(ok(&["nf.format", "nf;locale=fr-FR", "1234567.891"]), "1\u{202f}234\u{202f}567,891");
    assert_eq!(ok(&["nf.format", "nf;locale=en-IN", "1234567"]), "12,34,567");
    assert_eq!(ok(&["nf.format", "nf;locale=ar-EG", "123"]), "١٢٣");
    assert_eq!(ok(&["nf.format", "nf;locale=en-US", "-0"]), "-0");
    assert_eq!(ok(&["nf.format", "nf;locale=en-US", "1e+21"]), "1,000,000,000,000,000,000,000");
    assert_eq!(ok(&["nf.format", "nf;locale=en-US;maxFD=2;minFD=2", "1.005"]), "1.01");
    assert_eq!(ok(&["nf.format", "nf;locale=en-US;roundingType=sd;maxSD=3", "123456"]), "123,000");
}

#[test]
fn currency_percent_compact_and_scientific() {
    let jpy = "nf;locale=ja-JP;style=currency;currency=JPY;minFD=0;maxFD=0";
    assert_eq!(ok(&["nf.format", jpy, "1234.5"]), "￥1,235");
    let usd = "nf;locale=en-US;style=currency;currency=USD;minFD=2;maxFD=2";
    assert_eq!(ok(&["nf.format", usd, "-1234.5"]), "-$1,234.50");
    let eur = "nf;locale=de-DE;style=currency;currency=EUR;minFD=2;maxFD=2";
    assert_eq!(ok(&["nf.format", eur, "1234.5"]), "1.234,50\u{a0}€");
    let whole = "nf;locale=en-US;style=currency;currency=USD;minFD=0;maxFD=0";
    assert_eq!(ok(&["nf.format", whole, "1234.5"]), "$1,235");
    assert_eq!(ok(&["nf.format", "nf;locale=en-US;style=percent;maxFD=0", "0.256"]), "26%");
    assert_eq!(ok(&["nf.format", "nf;locale=de-DE;style=percent;maxFD=0", "0.256"]), "26\u{a0}%");
    let compact = "nf;locale=en-US;notation=compact;roundingType=more;minFD=0;maxFD=0;maxSD=2";
    assert_eq!(ok(&["nf.format", compact, "1234"]), "1.2K");
    assert_eq!(ok(&["nf.format", compact, "999999"]), "1M");
    assert_eq!(ok(&["nf.format", "nf;locale=en-US;notation=scientific", "123456"]), "1.235E5");
    assert_eq!(ok(&["nf.format", "nf;locale=en-US;notation=engineering", "0.00123"]), "1.23E-3");
    let parts = ok(&["nf.parts", usd, "-1234.5"]);
    assert_eq!(
        parts,
        r#"[["minusSign","-"],["currency","$"],["integer","1"],["group",","],["integer","234"],["decimal","."],["fraction","50"]]"#
    );
}

#[test]
fn plural_rules_collation_and_relative_time() {
    assert_eq!(ok(&["pr.categories", "pr;locale=ru"]), "one,few,many,other");
    assert_eq!(ok(&["pr.categories", "pr;locale=ar"]), "zero,one,two,few,many,other");
    assert_eq!(ok(&["pr.select", "pr;locale=ru", "3"]), "few");
    assert_eq!(ok(&["pr.select", "pr;locale=en;minFD=1", "1"]), "other");
    assert_eq!(ok(&["pr.select", "pr;locale=en;type=ordinal", "22"]), "two");
    assert_eq!(ok(&["coll.compare", "coll;locale=de", "ä", "b"]), "-1");
    assert_eq!(ok(&["coll.compare", "coll;locale=sv", "ä", "z"]), "1");
    assert_eq!(ok(&["coll.compare", "coll;locale=en;sensitivity=base", "a", "Á"]), "0");
    assert_eq!(ok(&["rtf.format", "rtf;locale=en", "3", "day"]), "in 3 days");
    assert_eq!(ok(&["rtf.format", "rtf;locale=de", "-3", "day"]), "vor 3 Tagen");
    assert_eq!(ok(&["rtf.format", "rtf;locale=en;numeric=auto", "-1", "day"]), "yesterday");
}

#[test]
fn dates_in_a_time_zone_across_a_dst_change() {
    // 2024-03-10T06:30Z is 01:30 EST; an hour later it is 03:30 EDT.
    let spec = "dtf;locale=en-US;tz=America/New_York;year=numeric;month=numeric;day=numeric;hour=numeric;minute=2-digit;tzn=short";
    assert_eq!(ok(&["dtf.format", spec, "1710052200000"]), "3/10/2024, 1:30\u{202f}AM EST");
    assert_eq!(ok(&["dtf.format", spec, "1710055800000"]), "3/10/2024, 3:30\u{202f}AM EDT");
    // V8 writes "Thursday 1 January 1970": ICU4X builds dateStyle "full" from the weekday-day-
    // month-year skeleton, whose British pattern has the comma.
    let utc = "dtf;locale=en-GB;tz=UTC;dateStyle=full;timeStyle=long";
    assert_eq!(ok(&["dtf.format", utc, "0"]), "Thursday, 1 January 1970 at 00:00:00 UTC");
    let de = "dtf;locale=de-DE;tz=UTC;year=numeric;month=long;day=numeric";
    assert_eq!(ok(&["dtf.format", de, "0"]), "1. Januar 1970");
    assert_eq!(ok(&["dtf.hourcycle", "dtf;locale=en-US;tz=UTC;hour=numeric"]), "h12");
    assert_eq!(ok(&["dtf.hourcycle", "dtf;locale=de;tz=UTC;hour=numeric"]), "h23");
    assert_eq!(ok(&["tz.canonical", "america/new_york"]), "America/New_York");
    assert_eq!(ok(&["tz.canonical", "Etc/GMT"]), "UTC");
    assert_eq!(ok(&["tz.canonical", "+0530"]), "+05:30");
}

#[test]
fn locales_are_canonicalised_and_resolved() {
    assert_eq!(ok(&["locale.canonical", "EN-us"]), "en-US");
    assert_eq!(ok(&["locale.canonical", "iw"]), "he");
    assert_eq!(ok(&["locale.resolve", "xx-XX,de-AT"]), "de-AT");
    assert_eq!(ok(&["locale.resolve", "xx"]), "en-US");
    assert_eq!(ok(&["locale.supported", "zh-Hant"]), "1");
}

#[test]
fn bad_specs_and_values_get_typed_errors() {
    let mut formatters = Formatters::default();
    assert!(matches!(run(&mut formatters, &["locale.canonical", "en_US"]), Reply::RangeError(_)));
    assert!(matches!(run(&mut formatters, &["tz.canonical", "Mars/Base"]), Reply::RangeError(_)));
    assert!(matches!(run(&mut formatters, &["nf.format", "nf;locale=en;style=weird", "1"]), Reply::RangeError(_)));
    assert!(matches!(run(&mut formatters, &["nf.format", "nf;locale=en", "1e99999"]), Reply::RangeError(_)));
    assert!(matches!(run(&mut formatters, &["dtf.format", "dtf;locale=en;tz=UTC", "8.64e15"]), Reply::RangeError(_)));
    assert!(matches!(run(&mut formatters, &["nf.nope", "nf;locale=en", "1"]), Reply::TypeError(_)));
    assert!(matches!(run(&mut formatters, &["nf.format", "no locale", "1"]), Reply::TypeError(_)));
    let huge = "1".repeat(2 << 20);
    assert!(matches!(run(&mut formatters, &["nf.format", "nf;locale=en", &huge]), Reply::RangeError(_)));
    assert_eq!(run(&mut formatters, &["nf.format", "nf;locale=en", "1"]), Reply::Ok("1".into()));
}

#[test]
fn an_isolate_keeps_a_bounded_number_of_formatters() {
    let mut formatters = Formatters::default();
    for digits in 0..MAX_FORMATTERS + 10 {
        let spec = format!("nf;locale=en;minInt={}", digits % 21 + 1);
        let spec = format!("{spec};maxFD={}", digits / 21 % 20);
        assert!(matches!(run(&mut formatters, &["nf.format", &spec, "1"]), Reply::Ok(_)));
        assert!(formatters.len() <= MAX_FORMATTERS);
    }
}
