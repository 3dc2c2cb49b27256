//! RSASSA-PKCS1-v1_5 and RSA-PSS signatures, RSA-OAEP encryption. Private-key operations are
//! blinded. RSA arithmetic cannot be interrupted: the deadline is checked just before it.

use ::rsa::traits::PublicKeyParts;
use ::rsa::{Oaep, Pkcs1v15Sign, Pss};
use rand_core::OsRng;

use super::args::{Args, Hash, with_hash};
use super::rsa_keys::{private_from_pkcs1, public_from_pkcs1};
use super::{Check, Outcome, Stop, boolean, not_supported, operation_error};

enum Scheme {
    Pkcs1,
    /// RSA-PSS with this many bytes of salt.
    Pss(usize),
}

impl Scheme {
    fn parse(args: &Args<'_>, name: &[u8], salt_length: &[u8]) -> Result<Scheme, Stop> {
        match name {
            b"RSASSA-PKCS1-v1_5" => Ok(Scheme::Pkcs1),
            b"RSA-PSS" => Ok(Scheme::Pss(args.number(salt_length, "salt length")? as usize)),
            _ => Err(not_supported(format!(
                "The RSA signature scheme {:?} is not supported; use RSASSA-PKCS1-v1_5 or RSA-PSS.",
                String::from_utf8_lossy(name)
            ))),
        }
    }
}

/// The longest PSS salt a key of `modulus_bits` holds with `hash` (RFC 8017 9.1.1: emLen >= hLen
/// + sLen + 2, where emLen is the bytes of modBits - 1 bits).
fn max_salt_len(modulus_bits: usize, hash: Hash) -> usize {
    (modulus_bits.saturating_sub(1)).div_ceil(8).saturating_sub(hash.output_len() + 2)
}

pub(crate) fn sign(args: &Args<'_>, check: &mut Check<'_>) -> Outcome {
    let [scheme, hash, key, data, salt_length] = args.exact()?;
    let scheme = Scheme::parse(args, scheme, salt_length)?;
    let hash = Hash::parse(hash)?;
    let key = private_from_pkcs1(key)?;
    if let Scheme::Pss(salt) = scheme {
        let max = max_salt_len(key.n().bits(), hash);
        if salt > max {
            return Err(operation_error(format!(
                "A {}-bit RSA key holds a PSS salt of at most {max} bytes with this hash, not {salt}.",
                key.n().bits()
            )));
        }
    }
    let digest = super::hash::hash(hash, data, check)?;
    check()?;
    let signature = with_hash!(hash, H => match scheme {
        Scheme::Pkcs1 => key.sign_with_rng(&mut OsRng, Pkcs1v15Sign::new::<H>(), &digest),
        Scheme::Pss(salt) => key.sign_with_rng(&mut OsRng, Pss::new_blinded_with_salt::<H>(salt), &digest),
    });
    let signature = signature.map_err(|e| operation_error(format!("RSA signing failed: {e}.")))?;
    Ok(vec![signature])
}

pub(crate) fn verify(args: &Args<'_>, check: &mut Check<'_>) -> Outcome {
    let [scheme, hash, key, data, signature, salt_length] = args.exact()?;
    let scheme = Scheme::parse(args, scheme, salt_length)?;
    let hash = Hash::parse(hash)?;
    let key = public_from_pkcs1(key)?;
    if let Scheme::Pss(salt) = scheme
        && salt > max_salt_len(key.n().bits(), hash)
    {
        return Ok(vec![boolean(false)]); // no signature by this key has such a salt
    }
    let digest = super::hash::hash(hash, data, check)?;
    check()?;
    let valid = with_hash!(hash, H => match scheme {
        Scheme::Pkcs1 => key.verify(Pkcs1v15Sign::new::<H>(), &digest, signature),
        Scheme::Pss(salt) => key.verify(Pss::new_with_salt::<H>(salt), &digest, signature),
    });
    Ok(vec![boolean(valid.is_ok())])
}

pub(crate) fn oaep_encrypt(args: &Args<'_>) -> Outcome {
    let [hash, key, data, label] = args.exact()?;
    let hash = Hash::parse(hash)?;
    let key = public_from_pkcs1(key)?;
    let label = oaep_label(label)?;
    let ciphertext = with_hash!(hash, H => key.encrypt(&mut OsRng, oaep::<H>(label), data));
    let ciphertext = ciphertext.map_err(|e| operation_error(format!("RSA-OAEP cannot encrypt this data: {e}.")))?;
    Ok(vec![ciphertext])
}

pub(crate) fn oaep_decrypt(args: &Args<'_>) -> Outcome {
    let [hash, key, data, label] = args.exact()?;
    let hash = Hash::parse(hash)?;
    let key = private_from_pkcs1(key)?;
    let label = oaep_label(label)?;
    let plaintext = with_hash!(hash, H => key.decrypt_blinded(&mut OsRng, oaep::<H>(label), data));
    // One message for every cause, so failures teach an attacker nothing about the padding.
    let plaintext = plaintext.map_err(|_| operation_error("RSA-OAEP decryption failed."))?;
    Ok(vec![plaintext])
}

/// The rsa crate takes OAEP labels as text; WebCrypto's are bytes, and in practice text.
fn oaep_label(label: &[u8]) -> Result<Option<String>, Stop> {
    if label.is_empty() {
        return Ok(None); // hashed exactly as an empty label
    }
    match std::str::from_utf8(label) {
        Ok(text) => Ok(Some(text.to_owned())),
        Err(_) => Err(not_supported("RSA-OAEP labels that are not valid UTF-8 are not supported.")),
    }
}

fn oaep<H>(label: Option<String>) -> Oaep
where
    H: 'static + sha2::Digest + sha2::digest::DynDigest + Send + Sync,
{
    match label {
        Some(label) => Oaep::new_with_label::<H, _>(label),
        None => Oaep::new::<H>(),
    }
}
