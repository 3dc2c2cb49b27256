//! `digest`, HMAC, HKDF and PBKDF2. Long inputs are hashed in chunks with the call's deadline
//! checked between them.

use hmac::{Hmac, Mac};
use sha2::Digest;

use super::args::{Args, Hash, with_hash};
use super::chunks::in_chunks;
use super::{Check, Outcome, Stop, boolean, not_supported, operation_error};

/// Cloudflare Workers' limit; more iterations would hold the host for seconds.
const MAX_PBKDF2_ITERATIONS: u32 = 100_000;

/// Most iterations times output blocks (of the hash's size) one PBKDF2 call may ask for: the
/// crate derives every block in one uninterruptible call, so this bounds how long a call can hold
/// its thread past the deadline (ten blocks at the iteration cap).
const MAX_PBKDF2_BLOCK_ITERATIONS: u64 = 1_000_000;

/// The `hash` digest of `data`.
pub(crate) fn hash(hash: Hash, data: &[u8], check: &mut Check<'_>) -> Result<Vec<u8>, Stop> {
    with_hash!(hash, H => {
        let mut hasher = H::new();
        in_chunks(data, check, |chunk| hasher.update(chunk))?;
        Ok(hasher.finalize().to_vec())
    })
}

pub(crate) fn digest(args: &Args<'_>, check: &mut Check<'_>) -> Outcome {
    let [name, data] = args.exact()?;
    Ok(vec![hash(Hash::parse(name)?, data, check)?])
}

pub(crate) fn hmac_sign(args: &Args<'_>, check: &mut Check<'_>) -> Outcome {
    let [name, key, data] = args.exact()?;
    let mac = with_hash!(Hash::parse(name)?, H => {
        let mut mac = <Hmac<H>>::new_from_slice(key).expect("HMAC takes keys of any length");
        in_chunks(data, check, |chunk| mac.update(chunk))?;
        mac.finalize().into_bytes().to_vec()
    });
    Ok(vec![mac])
}

pub(crate) fn hmac_verify(args: &Args<'_>, check: &mut Check<'_>) -> Outcome {
    let [name, key, data, signature] = args.exact()?;
    let valid = with_hash!(Hash::parse(name)?, H => {
        let mut mac = <Hmac<H>>::new_from_slice(key).expect("HMAC takes keys of any length");
        in_chunks(data, check, |chunk| mac.update(chunk))?;
        // Constant time, and a signature of the wrong length is simply not the MAC.
        mac.verify_slice(signature).is_ok()
    });
    Ok(vec![boolean(valid)])
}

pub(crate) fn hkdf(args: &Args<'_>) -> Outcome {
    let [name, ikm, salt, info, length] = args.exact()?;
    let hash = Hash::parse(name)?;
    let length = args.number(length, "length")? as usize;
    if length > 255 * hash.output_len() {
        return Err(operation_error(format!(
            "HKDF with {name} derives at most {} bytes; {length} were asked for.",
            255 * hash.output_len(),
            name = String::from_utf8_lossy(name)
        )));
    }
    let mut okm = vec![0; length];
    with_hash!(hash, H => {
        // An empty salt keys HMAC exactly as RFC 5869's default of zeros would.
        hkdf::Hkdf::<H>::new(Some(salt), ikm).expand(info, &mut okm).expect("the length was checked above");
    });
    Ok(vec![okm])
}

pub(crate) fn pbkdf2(args: &Args<'_>) -> Outcome {
    let [name, password, salt, iterations, length] = args.exact()?;
    let hash = Hash::parse(name)?;
    let iterations = args.number(iterations, "iteration count")?;
    let length = args.number(length, "length")? as usize;
    if iterations == 0 {
        return Err(operation_error("PBKDF2 needs at least one iteration."));
    }
    if iterations > MAX_PBKDF2_ITERATIONS {
        return Err(not_supported(format!("PBKDF2 iteration counts above {MAX_PBKDF2_ITERATIONS} are not supported.")));
    }
    let blocks = length.div_ceil(hash.output_len()) as u64;
    if blocks * u64::from(iterations) > MAX_PBKDF2_BLOCK_ITERATIONS {
        return Err(not_supported(format!(
            "PBKDF2 of {length} bytes at {iterations} iterations is more work than one call may ask for \
             (output blocks times iterations at most {MAX_PBKDF2_BLOCK_ITERATIONS})."
        )));
    }
    let mut out = vec![0; length];
    with_hash!(hash, H => pbkdf2::pbkdf2_hmac::<H>(password, salt, iterations, &mut out));
    Ok(vec![out])
}
