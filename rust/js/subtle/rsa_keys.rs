//! RSA keys: generation, import (SPKI, PKCS#8, JWK numbers) and export. The guest keeps every
//! key as PKCS#1 DER, which is checked here whenever it comes back.

use std::ops::RangeInclusive;

use ::rsa::pkcs1::{self, EncodeRsaPrivateKey, EncodeRsaPublicKey};
use ::rsa::pkcs8::{EncodePrivateKey, EncodePublicKey};
use ::rsa::traits::{PrivateKeyParts, PublicKeyParts};
use ::rsa::{BigUint, RsaPrivateKey, RsaPublicKey};
use der::Decode;
use der::asn1::ObjectIdentifier;
use rand_core::OsRng;

use super::args::Args;
use super::{Outcome, Stop, data_error, invalid_access, operation_error};

/// rsaEncryption, the algorithm of every RSA key in SPKI and PKCS#8, whatever it is used for.
const RSA_ENCRYPTION: ObjectIdentifier = ObjectIdentifier::new_unwrap("1.2.840.113549.1.1.1");

/// Largest modulus accepted on import (Chromium's limit); larger keys only cost time.
const MAX_MODULUS_BITS: usize = 16384;

/// Modulus lengths `rsa.generate` offers (in steps of 8): smaller keys are broken, larger ones
/// take minutes to find, during which the call cannot be interrupted.
const GENERATED_MODULUS_BITS: RangeInclusive<u32> = 512..=4096;

pub(crate) fn generate(args: &Args<'_>) -> Outcome {
    let [bits, exponent] = args.exact()?;
    let bits = args.number(bits, "modulus length")?;
    if !GENERATED_MODULUS_BITS.contains(&bits) || !bits.is_multiple_of(8) {
        return Err(operation_error(format!(
            "RSA keys are generated {} to {} bits long, in steps of 8; {bits} bits is not offered.",
            GENERATED_MODULUS_BITS.start(),
            GENERATED_MODULUS_BITS.end()
        )));
    }
    let exponent = BigUint::from_bytes_be(exponent);
    if exponent != BigUint::from(3u32) && exponent != BigUint::from(65537u32) {
        return Err(operation_error(format!("The RSA public exponent must be 3 or 65537, not {exponent}.")));
    }
    let key = RsaPrivateKey::new_with_exp(&mut OsRng, bits as usize, &exponent)
        .map_err(|e| operation_error(format!("RSA key generation failed: {e}.")))?;
    Ok(vec![private_der(&key)?, public_der(&key.to_public_key())?])
}

pub(crate) fn import(args: &Args<'_>) -> Outcome {
    let ([format], rest) = args.split()?;
    let (private, public) = match format {
        b"spki" => {
            let [der] = rest.exact()?;
            (None, public_from_spki(der)?)
        }
        b"pkcs8" => {
            let [der] = rest.exact()?;
            let key = private_from_pkcs8(der)?;
            let public = key.to_public_key();
            (Some(key), public)
        }
        b"jwk-public" => {
            let [n, e] = rest.exact()?;
            (None, public_from_numbers(n, e)?)
        }
        b"jwk-private" => {
            let key = private_from_numbers(rest.exact()?)?;
            let public = key.to_public_key();
            (Some(key), public)
        }
        _ => return Err(args.unknown_format(format, "RSA")),
    };
    let (kind, der) = match &private {
        Some(key) => ("private", private_der(key)?),
        None => ("public", public_der(&public)?),
    };
    Ok(vec![kind.into(), der, public.n().bits().to_string().into_bytes(), public.e().to_bytes_be()])
}

pub(crate) fn export(args: &Args<'_>) -> Outcome {
    let [format, kind, der] = args.exact()?;
    let private = args.is_private(kind)?;
    let unencodable = |e: &dyn std::fmt::Display| operation_error(format!("The RSA key could not be encoded: {e}."));
    match (format, private) {
        (b"spki", false) => {
            let key = public_from_pkcs1(der)?;
            let der = key.to_public_key_der().map_err(|e| unencodable(&e))?;
            Ok(vec![der.into_vec()])
        }
        (b"pkcs8", true) => {
            let key = private_from_pkcs1(der)?;
            let der = key.to_pkcs8_der().map_err(|e| unencodable(&e))?;
            Ok(vec![der.as_bytes().to_vec()])
        }
        (b"spki", true) => Err(invalid_access("Only a public RSA key exports as spki.")),
        (b"pkcs8", false) => Err(invalid_access("Only a private RSA key exports as pkcs8.")),
        (b"jwk", false) => {
            let key = public_from_pkcs1(der)?;
            Ok(vec![key.n().to_bytes_be(), key.e().to_bytes_be()])
        }
        (b"jwk", true) => {
            let key = private_from_pkcs1(der)?;
            let [p, q] = [&key.primes()[0], &key.primes()[1]];
            let (Some(dp), Some(dq), Some(qi)) = (key.dp(), key.dq(), key.crt_coefficient()) else {
                return Err(operation_error("The RSA private key has no CRT parameters."));
            };
            Ok([key.n(), key.e(), key.d(), p, q, dp, dq, &qi].iter().map(|n| n.to_bytes_be()).collect())
        }
        _ => Err(args.unknown_format(format, "RSA")),
    }
}

/// A public key the guest stored (PKCS#1 `RSAPublicKey`).
pub(crate) fn public_from_pkcs1(der: &[u8]) -> Result<RsaPublicKey, Stop> {
    let key = pkcs1::RsaPublicKey::from_der(der)
        .map_err(|e| data_error(format!("The RSA public key is not PKCS#1 DER: {e}.")))?;
    public_from_numbers(key.modulus.as_bytes(), key.public_exponent.as_bytes())
}

/// A private key the guest stored (PKCS#1 `RSAPrivateKey`), checked whole.
pub(crate) fn private_from_pkcs1(der: &[u8]) -> Result<RsaPrivateKey, Stop> {
    let key = pkcs1::RsaPrivateKey::from_der(der)
        .map_err(|e| data_error(format!("The RSA private key is not PKCS#1 DER: {e}.")))?;
    if key.other_prime_infos.is_some() {
        return Err(data_error("RSA private keys with more than two primes are not supported."));
    }
    private_from_numbers(
        [
            key.modulus,
            key.public_exponent,
            key.private_exponent,
            key.prime1,
            key.prime2,
            key.exponent1,
            key.exponent2,
            key.coefficient,
        ]
        .map(|n| n.as_bytes()),
    )
}

fn public_from_spki(der: &[u8]) -> Result<RsaPublicKey, Stop> {
    let info = spki::SubjectPublicKeyInfoRef::from_der(der)
        .map_err(|e| data_error(format!("The spki data is not a DER SubjectPublicKeyInfo: {e}.")))?;
    check_algorithm(&info.algorithm)?;
    let Some(key) = info.subject_public_key.as_bytes() else {
        return Err(data_error("The spki data's public key is not a whole number of bytes."));
    };
    public_from_pkcs1(key)
}

fn private_from_pkcs8(der: &[u8]) -> Result<RsaPrivateKey, Stop> {
    let info = pkcs8::PrivateKeyInfo::from_der(der)
        .map_err(|e| data_error(format!("The pkcs8 data is not a DER PrivateKeyInfo: {e}.")))?;
    check_algorithm(&info.algorithm)?;
    private_from_pkcs1(info.private_key)
}

/// rsaEncryption, with the NULL parameters it always has (or, leniently, none).
fn check_algorithm(algorithm: &spki::AlgorithmIdentifierRef<'_>) -> Result<(), Stop> {
    if algorithm.oid != RSA_ENCRYPTION {
        return Err(data_error(format!(
            "The key's algorithm is {}, not rsaEncryption ({RSA_ENCRYPTION}).",
            algorithm.oid
        )));
    }
    if algorithm.parameters.is_some_and(|p| !p.is_null()) {
        return Err(data_error("The rsaEncryption algorithm's parameters must be NULL."));
    }
    Ok(())
}

fn public_from_numbers(n: &[u8], e: &[u8]) -> Result<RsaPublicKey, Stop> {
    RsaPublicKey::new_with_max_size(BigUint::from_bytes_be(n), BigUint::from_bytes_be(e), MAX_MODULUS_BITS)
        .map_err(|e| data_error(format!("The RSA public key is invalid: {e}.")))
}

/// A private key from its JWK numbers (n, e, d, p, q, dp, dq, qi, big-endian), all of which must
/// agree.
fn private_from_numbers(numbers: [&[u8]; 8]) -> Result<RsaPrivateKey, Stop> {
    let [n, e, d, p, q, dp, dq, qi] = numbers.map(BigUint::from_bytes_be);
    if n.bits() > MAX_MODULUS_BITS {
        return Err(data_error(format!("RSA keys longer than {MAX_MODULUS_BITS} bits are not supported.")));
    }
    let mut key = RsaPrivateKey::from_components(n, e, d, vec![p, q])
        .map_err(|e| data_error(format!("The RSA private key is invalid: {e}.")))?;
    key.precompute().map_err(|e| data_error(format!("The RSA private key is invalid: {e}.")))?;
    let consistent = key.dp() == Some(&dp) && key.dq() == Some(&dq) && key.crt_coefficient() == Some(qi);
    if !consistent {
        return Err(data_error("The RSA private key's dp, dq or qi does not match its primes."));
    }
    Ok(key)
}

fn private_der(key: &RsaPrivateKey) -> Result<Vec<u8>, Stop> {
    key.to_pkcs1_der()
        .map(|doc| doc.as_bytes().to_vec())
        .map_err(|e| operation_error(format!("The RSA private key could not be encoded: {e}.")))
}

fn public_der(key: &RsaPublicKey) -> Result<Vec<u8>, Stop> {
    key.to_pkcs1_der()
        .map(|doc| doc.into_vec())
        .map_err(|e| operation_error(format!("The RSA public key could not be encoded: {e}.")))
}
