//! The host half of WebCrypto (`crypto.subtle`). The guest's JavaScript normalises algorithms,
//! keeps `CryptoKey`s and throws DOMExceptions; the host does the cryptography, with RustCrypto's
//! primitives, reached through the interpreter's `subtle` import (`js/imports.rs`). The host keeps
//! no state: every request carries the key material it needs.
//!
//! # Protocol
//!
//! A request is a list of fields (byte strings). Field 0 names the operation (ASCII); numbers are
//! decimal ASCII text (`"256"`), strings UTF-8, and an empty field is empty bytes. In guest memory
//! the request is a descriptor: `count: u32 LE`, then `count` pairs `(ptr: u32 LE, len: u32 LE)`.
//!
//! A reply is byte 0 = 0 (success) or 1 (failure), then fields, each `len: u32 LE` and its bytes.
//! A failure has two fields: a DOMException name (`OperationError`, `DataError`,
//! `NotSupportedError` or `InvalidAccessError`) and an English sentence. Booleans are one byte, 1
//! or 0.
//!
//! Hashes are `SHA-1`, `SHA-256`, `SHA-384` and `SHA-512`; curves `P-256`, `P-384`, `P-521`
//! (`ec.*`) and `Ed25519`, `X25519` (`okp.*`). Key material as the guest stores it: secret keys
//! raw; EC private keys the scalar d, big-endian, exactly the field's size, and public keys the
//! uncompressed SEC1 point; OKP keys 32 bytes each; RSA keys PKCS#1 DER (`RSAPrivateKey`,
//! `RSAPublicKey`).
//!
//! Operations, `[request fields after the name] -> [reply fields]`:
//! - `digest` [hash, data] -> [digest]
//! - `hmac.sign` [hash, key, data] -> [mac]; `hmac.verify` [hash, key, data, signature] -> [bool]
//! - `hkdf` [hash, ikm, salt, info, length_bytes] -> [okm]
//! - `pbkdf2` [hash, password, salt, iterations, length_bytes] -> [bytes] (at most 100000
//!   iterations, and at most 1,000,000 iterations times output blocks)
//! - `aes.encrypt` / `aes.decrypt` [mode, key, data, p1, p2, p3] -> [bytes]: `AES-CBC` (p1 iv),
//!   `AES-CTR` (p1 counter block, p2 counter bits), `AES-GCM` (p1 iv, p2 additional data, p3 tag
//!   bits; the ciphertext ends with the tag), `AES-KW` (wrap / unwrap)
//! - `rsa.generate` [modulus_bits, public_exponent] -> [private, public]
//! - `rsa.import` [format, ...]: `spki` [der], `pkcs8` [der], `jwk-public` [n, e], `jwk-private`
//!   [n, e, d, p, q, dp, dq, qi] -> [type, pkcs1 der, modulus_bits, public_exponent]
//! - `rsa.export` [format (`spki`, `pkcs8`, `jwk`), type, pkcs1 der] -> [der] or the JWK's numbers
//! - `rsa.sign` [scheme, hash, private, data, salt_length] -> [signature];
//!   `rsa.verify` [scheme, hash, public, data, signature, salt_length] -> [bool]
//! - `rsa.oaep.encrypt` [hash, public, data, label], `rsa.oaep.decrypt` [hash, private, data,
//!   label] -> [bytes]
//! - `ec.generate` [curve] -> [d, point]
//! - `ec.import` [curve, format, ...]: `raw` [point], `spki` [der], `pkcs8` [der], `jwk-public`
//!   [x, y], `jwk-private` [x, y, d] -> [type, d (empty for a public key), point]
//! - `ec.export` [curve, format, type, d, point] -> `raw` [point], `spki` / `pkcs8` [der], `jwk`
//!   [x, y] or [x, y, d]
//! - `ecdsa.sign` [curve, hash, d, data] -> [r || s]; `ecdsa.verify` [curve, hash, point, data,
//!   signature] -> [bool]
//! - `ecdh.derive` [curve, d, point] -> [x coordinate of the shared point]
//! - `okp.generate` [curve] -> [private, public]
//! - `okp.import` [curve, format, ...]: `raw` [public], `spki` [der], `pkcs8` [der], `jwk-public`
//!   [x], `jwk-private` [x, d] -> [type, private (empty for a public key), public]
//! - `okp.export` [curve, format, type, private, public] -> `raw` [public], `spki` / `pkcs8` [der],
//!   `jwk` [x] or [x, d]
//! - `ed25519.sign` [private, data] -> [signature]; `ed25519.verify` [public, data, signature] ->
//!   [bool]
//! - `x25519.derive` [private, public] -> [shared secret]
//!
//! A malformed request (wrong field count, a number that is not one) is a guest bug, answered with
//! an `OperationError` naming the operation. Nothing here panics on any input.

mod aes;
mod args;
mod chunks;
mod ec;
mod ec_keys;
mod gcm;
mod hash;
mod okp;
mod rsa;
mod rsa_keys;

use crate::error::{Error, Result};
use args::Args;

/// The call's deadline check, run before every operation and between chunks of long work.
pub type Check<'c> = dyn FnMut() -> Result<()> + 'c;

/// The answer to one request.
#[derive(Debug, PartialEq, Eq)]
pub enum Reply {
    /// The operation's result fields.
    Ok(Vec<Vec<u8>>),
    /// A DOMException for the guest to throw.
    Failed { name: &'static str, message: String },
}

impl Reply {
    /// The reply as the guest reads it (see the module's protocol).
    pub fn encode(&self) -> Vec<u8> {
        let (status, fields): (u8, Vec<&[u8]>) = match self {
            Reply::Ok(fields) => (0, fields.iter().map(Vec::as_slice).collect()),
            Reply::Failed { name, message } => (1, vec![name.as_bytes(), message.as_bytes()]),
        };
        let mut out = Vec::with_capacity(1 + fields.iter().map(|field| 4 + field.len()).sum::<usize>());
        out.push(status);
        for field in fields {
            // A field comes from (or is sized by) 32-bit guest memory, so its length fits.
            out.extend_from_slice(&(field.len() as u32).to_le_bytes());
            out.extend_from_slice(field);
        }
        out
    }
}

/// Why an operation stopped before its result.
#[derive(Debug)]
pub(crate) enum Stop {
    /// A DOMException for the guest.
    Dom { name: &'static str, message: String },
    /// The call's deadline passed (or the call was cancelled): the whole call ends.
    Ended(Error),
}

impl From<Error> for Stop {
    fn from(e: Error) -> Self {
        Stop::Ended(e)
    }
}

/// An operation's result fields, or why there are none.
pub(crate) type Outcome = std::result::Result<Vec<Vec<u8>>, Stop>;

pub(crate) fn operation_error(message: impl Into<String>) -> Stop {
    Stop::Dom { name: "OperationError", message: message.into() }
}

pub(crate) fn data_error(message: impl Into<String>) -> Stop {
    Stop::Dom { name: "DataError", message: message.into() }
}

pub(crate) fn not_supported(message: impl Into<String>) -> Stop {
    Stop::Dom { name: "NotSupportedError", message: message.into() }
}

pub(crate) fn invalid_access(message: impl Into<String>) -> Stop {
    Stop::Dom { name: "InvalidAccessError", message: message.into() }
}

/// A boolean reply field.
pub(crate) fn boolean(value: bool) -> Vec<u8> {
    vec![u8::from(value)]
}

/// Runs one request (`fields[0]` names the operation). `Err` only when `check` fails: the call's
/// deadline ends the call; everything else is a [`Reply`].
pub fn run(fields: &[&[u8]], check: &mut Check<'_>) -> Result<Reply> {
    match dispatch(fields, check) {
        Ok(fields) => Ok(Reply::Ok(fields)),
        Err(Stop::Dom { name, message }) => Ok(Reply::Failed { name, message }),
        Err(Stop::Ended(e)) => Err(e),
    }
}

fn dispatch(fields: &[&[u8]], check: &mut Check<'_>) -> Outcome {
    check()?;
    let Some((&op, rest)) = fields.split_first() else {
        return Err(operation_error("The crypto.subtle request names no operation."));
    };
    let args = Args::new(op, rest);
    match op {
        b"digest" => hash::digest(&args, check),
        b"hmac.sign" => hash::hmac_sign(&args, check),
        b"hmac.verify" => hash::hmac_verify(&args, check),
        b"hkdf" => hash::hkdf(&args),
        b"pbkdf2" => hash::pbkdf2(&args),
        b"aes.encrypt" => aes::run(&args, aes::Direction::Encrypt, check),
        b"aes.decrypt" => aes::run(&args, aes::Direction::Decrypt, check),
        b"rsa.generate" => rsa_keys::generate(&args),
        b"rsa.import" => rsa_keys::import(&args),
        b"rsa.export" => rsa_keys::export(&args),
        b"rsa.sign" => rsa::sign(&args, check),
        b"rsa.verify" => rsa::verify(&args, check),
        b"rsa.oaep.encrypt" => rsa::oaep_encrypt(&args),
        b"rsa.oaep.decrypt" => rsa::oaep_decrypt(&args),
        b"ec.generate" => ec_keys::generate(&args),
        b"ec.import" => ec_keys::import(&args),
        b"ec.export" => ec_keys::export(&args),
        b"ecdsa.sign" => ec::ecdsa_sign(&args, check),
        b"ecdsa.verify" => ec::ecdsa_verify(&args, check),
        b"ecdh.derive" => ec::ecdh_derive(&args),
        b"okp.generate" => okp::generate(&args),
        b"okp.import" => okp::import(&args),
        b"okp.export" => okp::export(&args),
        b"ed25519.sign" => okp::ed25519_sign(&args),
        b"ed25519.verify" => okp::ed25519_verify(&args),
        b"x25519.derive" => okp::x25519_derive(&args),
        _ => Err(not_supported(format!("The crypto.subtle operation {} is not supported.", args.name()))),
    }
}
