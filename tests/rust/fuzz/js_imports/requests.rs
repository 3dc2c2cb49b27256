//! `subtle` and `intl` requests: an operation and fields of the kinds it reads, or any fields.

use _core::js::{intl, subtle};

use super::{REQUESTS, no_deadline};
use crate::fuzz::random::{Rng, seeds};

/// Words the `subtle` operations read, by the kind of field.
const HASHES: &[&str] = &["SHA-1", "SHA-256", "SHA-384", "SHA-512", "MD5", ""];
const CURVES: &[&str] = &["P-256", "P-384", "P-521", "Ed25519", "X25519", "P-192"];
const MODES: &[&str] = &["AES-CBC", "AES-CTR", "AES-GCM", "AES-KW", "AES-XTS"];
const FORMATS: &[&str] = &["raw", "spki", "pkcs8", "jwk", "jwk-public", "jwk-private", "pem"];
const KEY_TYPES: &[&str] = &["private", "public", "secret"];
const SCHEMES: &[&str] = &["PKCS1-v1_5", "PSS", "OAEP"];

/// Each operation with the kinds of its fields (see `js/subtle/mod.rs`): `h` hash, `c` curve,
/// `m` AES mode, `f` key format, `t` key type, `s` RSA scheme, `n` number, `k` key-sized bytes,
/// `p` an EC point's shape, `b` any bytes.
const OPS: &[(&str, &str)] = &[
    ("digest", "hb"),
    ("hmac.sign", "hkb"),
    ("hmac.verify", "hkbb"),
    ("hkdf", "hbbbn"),
    ("pbkdf2", "hbbnn"),
    ("aes.encrypt", "mkbbnn"),
    ("aes.decrypt", "mkbbnn"),
    ("rsa.generate", "nb"),
    ("rsa.import", "fb"),
    ("rsa.export", "ftb"),
    ("rsa.sign", "shbbn"),
    ("rsa.verify", "shbbbn"),
    ("rsa.oaep.encrypt", "hbbb"),
    ("rsa.oaep.decrypt", "hbbb"),
    ("ec.generate", "c"),
    ("ec.import", "cfp"),
    ("ec.export", "cftkp"),
    ("ecdsa.sign", "chkb"),
    ("ecdsa.verify", "chpbb"),
    ("ecdh.derive", "ckp"),
    ("okp.generate", "c"),
    ("okp.import", "cfk"),
    ("okp.export", "cftkk"),
    ("ed25519.sign", "kb"),
    ("ed25519.verify", "kbb"),
    ("x25519.derive", "kk"),
    ("nonsense", ""),
];

/// A `subtle` field of `kind` (see [`OPS`]), or of any kind.
fn subtle_field(rng: &mut Rng, kind: u8) -> Vec<u8> {
    let random_of = |rng: &mut Rng, len: usize| -> Vec<u8> { (0..len).map(|_| rng.next_u64() as u8).collect() };
    match kind {
        b'h' => rng.pick(HASHES).as_bytes().to_vec(),
        b'c' => rng.pick(CURVES).as_bytes().to_vec(),
        b'm' => rng.pick(MODES).as_bytes().to_vec(),
        b'f' => rng.pick(FORMATS).as_bytes().to_vec(),
        b't' => rng.pick(KEY_TYPES).as_bytes().to_vec(),
        b's' => rng.pick(SCHEMES).as_bytes().to_vec(),
        b'n' => rng
            .pick(&["0", "1", "8", "12", "16", "32", "64", "96", "128", "256", "1000", "-1", "99999999999"])
            .as_bytes()
            .to_vec(),
        b'k' => {
            let len = *rng.pick(&[0, 12, 16, 24, 32, 48, 57, 64, 66]);
            random_of(rng, len)
        }
        b'p' => {
            let len = *rng.pick(&[33, 65, 97, 133]);
            let mut point = random_of(rng, len);
            point[0] = *rng.pick(&[2, 3, 4]);
            point
        }
        b'b' => rng.bytes(300),
        _ => {
            let any = *rng.pick(b"hcmftsnkpb");
            subtle_field(rng, any)
        }
    }
}

#[test]
fn subtle_answers_any_request() {
    let mut succeeded = 0;
    for seed in seeds(REQUESTS * 2) {
        let mut rng = Rng::new("subtle", seed);
        let (op, kinds) = *rng.pick(OPS);
        let mut fields = vec![op.as_bytes().to_vec()];
        if rng.chance(80) {
            fields.extend(kinds.bytes().map(|kind| subtle_field(&mut rng, kind)));
        } else {
            fields.extend((0..rng.below(9)).map(|_| subtle_field(&mut rng, b'?')));
        }
        let fields: Vec<&[u8]> = fields.iter().map(Vec::as_slice).collect();
        let reply = subtle::run(&fields, &mut no_deadline);
        let reply = reply.unwrap_or_else(|e| panic!("seed {seed}: subtle failed without a deadline: {e:?}"));
        assert!(!reply.encode().is_empty());
        succeeded += matches!(reply, subtle::Reply::Ok(_)) as u32;
    }
    // Requests get past the checks to the cryptography.
    assert!(succeeded > 0, "no subtle request succeeded");
}

/// An `intl` spec: a service, then keys with values the services read, a few of them wrong.
fn intl_spec(rng: &mut Rng) -> String {
    const KEYS: &[&str] = &[
        "locale",
        "minID",
        "minFD",
        "maxFD",
        "minSD",
        "maxSD",
        "roundingType",
        "roundingMode",
        "roundingIncrement",
        "style",
        "currency",
        "currencyDisplay",
        "currencySign",
        "notation",
        "compactDisplay",
        "signDisplay",
        "useGrouping",
        "trailingZeroDisplay",
        "dateStyle",
        "timeStyle",
        "tz",
        "hc",
        "usage",
        "sensitivity",
        "ignorePunctuation",
        "numeric",
        "type",
        "year",
        "month",
        "day",
        "hour",
        "minute",
        "second",
        "weekday",
        "era",
        "timeZoneName",
        "fractionalSecondDigits",
        "calendar",
        "numberingSystem",
        "unit",
    ];
    const VALUES: &[&str] = &[
        "en-US",
        "de-DE",
        "ar-EG",
        "ja-JP-u-ca-japanese",
        "th-TH-u-nu-thai",
        "und",
        "x",
        "fd",
        "sd",
        "more",
        "less",
        "ceil",
        "floor",
        "expand",
        "trunc",
        "halfEven",
        "decimal",
        "percent",
        "currency",
        "unit",
        "USD",
        "EUR",
        "XXX",
        "symbol",
        "code",
        "name",
        "accounting",
        "compact",
        "scientific",
        "engineering",
        "short",
        "long",
        "narrow",
        "always",
        "auto",
        "never",
        "exceptZero",
        "negative",
        "false",
        "min2",
        "full",
        "medium",
        "UTC",
        "America/New_York",
        "+05:30",
        "Mars/Olympus",
        "h11",
        "h12",
        "h23",
        "h24",
        "sort",
        "search",
        "base",
        "accent",
        "case",
        "variant",
        "true",
        "numeric",
        "2-digit",
        "cardinal",
        "ordinal",
        "",
    ];
    let service = *rng.pick(&["nf", "dtf", "pr", "coll", "rtf", "zz", ""]);
    let mut spec = service.to_owned();
    for _ in 0..rng.below(8) {
        let value = match rng.below(4) {
            0 => rng.number_text(),
            1 => rng.nasty_text(6),
            _ => rng.pick(VALUES).to_string(),
        };
        spec.push_str(&format!(";{}={value}", rng.pick(KEYS)));
    }
    if rng.chance(10) {
        spec = String::from_utf8_lossy(&rng.mutate(spec.into_bytes())).into_owned();
    }
    spec
}

#[test]
fn intl_answers_any_request() {
    const OPS: &[&str] = &[
        "locale.canonical",
        "locale.resolve",
        "locale.supported",
        "tz.canonical",
        "nf.format",
        "nf.parts",
        "dtf.format",
        "dtf.parts",
        "dtf.hourcycle",
        "pr.select",
        "pr.categories",
        "coll.compare",
        "rtf.format",
        "rtf.parts",
        "nope",
    ];
    // One isolate's formatters across requests, as the cache of a long-lived isolate is.
    let mut formatters = intl::Formatters::default();
    let mut succeeded = 0;
    for seed in seeds(REQUESTS) {
        let mut rng = Rng::new("intl", seed);
        let mut fields = vec![rng.pick(OPS).to_string(), intl_spec(&mut rng)];
        for _ in 0..rng.below(4) {
            let field = match rng.below(4) {
                0 => rng.number_text(),
                1 => rng
                    .pick(&["second", "minutes", "day", "quarter", "year", "fortnight", "en-US,de", "Europe/Paris"])
                    .to_string(),
                2 => rng.nasty_text(20),
                _ => String::from_utf8_lossy(&rng.bytes(40)).into_owned(),
            };
            fields.push(field);
        }
        let mut fields: Vec<Vec<u8>> = fields.into_iter().map(String::into_bytes).collect();
        if rng.chance(5) {
            fields.push(rng.bytes(50)); // not UTF-8, most likely
        }
        let fields: Vec<&[u8]> = fields.iter().map(Vec::as_slice).collect();
        let reply = formatters.run(&fields, &mut no_deadline);
        let reply = reply.unwrap_or_else(|e| panic!("seed {seed}: intl failed without a deadline: {e:?}"));
        assert!(!reply.encode().is_empty());
        assert!(formatters.len() <= intl::MAX_FORMATTERS);
        succeeded += matches!(reply, intl::Reply::Ok(_)) as u32;
    }
    assert!(succeeded > 0, "no intl request succeeded");
}
