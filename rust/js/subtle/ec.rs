//! ECDSA and ECDH over P-256, P-384 and P-521. ECDSA takes any hash with any curve: the data is
//! hashed here and signed as a prehash.

use ::p256::ecdsa::signature::hazmat::{PrehashSigner, PrehashVerifier};
use ::p256::elliptic_curve::ecdh::diffie_hellman;

use super::args::{Args, Hash};
use super::ec_keys::{Curve, Nist, check_scalar_len, public_key, scalar_out_of_range, secret_key, with_curve};
use super::{Check, Outcome, Stop, boolean, data_error, operation_error};

pub(crate) fn ecdsa_sign(args: &Args<'_>, check: &mut Check<'_>) -> Outcome {
    let [curve, hash, d, data] = args.exact()?;
    let (curve, hash) = (Curve::parse(curve)?, Hash::parse(hash)?);
    let prehash = prehash(curve, hash, data, check)?;
    check_scalar_len(curve, d)?;
    let signature = with_curve!(curve, mod m => {
        let key = m::ecdsa::SigningKey::from_slice(d).map_err(|_| scalar_out_of_range(curve))?;
        let signature: m::ecdsa::Signature = key
            .sign_prehash(&prehash)
            .map_err(|e| operation_error(format!("ECDSA signing failed: {e}.")))?;
        signature.to_bytes().to_vec()
    });
    Ok(vec![signature])
}

pub(crate) fn ecdsa_verify(args: &Args<'_>, check: &mut Check<'_>) -> Outcome {
    let [curve, hash, point, data, signature] = args.exact()?;
    let (curve, hash) = (Curve::parse(curve)?, Hash::parse(hash)?);
    let prehash = prehash(curve, hash, data, check)?;
    let valid = with_curve!(curve, mod m => {
        let key = m::ecdsa::VerifyingKey::from_sec1_bytes(point).map_err(|_| {
            data_error(format!("The {} public key is not an encoded point on the curve.", curve.name()))
        })?;
        // A signature of the wrong length, or with r or s out of range, is simply not valid.
        match m::ecdsa::Signature::from_slice(signature) {
            Ok(signature) => key.verify_prehash(&prehash, &signature).is_ok(),
            Err(_) => false,
        }
    });
    Ok(vec![boolean(valid)])
}

pub(crate) fn ecdh_derive(args: &Args<'_>) -> Outcome {
    let [curve, d, point] = args.exact()?;
    let curve = Curve::parse(curve)?;
    with_curve!(curve, type C => derive::<C>(curve, d, point))
}

fn derive<C: Nist>(curve: Curve, d: &[u8], point: &[u8]) -> Outcome {
    let secret = secret_key::<C>(curve, d)?;
    let public = public_key::<C>(curve, point)?;
    let shared = diffie_hellman(secret.to_nonzero_scalar(), public.as_affine());
    Ok(vec![shared.raw_secret_bytes().to_vec()])
}

/// The digest ECDSA signs: `hash` of `data`, left-padded with zeros to the field's size when
/// shorter. That is the same integer (bits2int takes a short hash whole), and it keeps the
/// library from refusing hashes under half the field's size (SHA-1 with P-521). A longer hash is
/// cut to its leftmost bits by the library, as bits2int says.
fn prehash(curve: Curve, hash: Hash, data: &[u8], check: &mut Check<'_>) -> Result<Vec<u8>, Stop> {
    let digest = super::hash::hash(hash, data, check)?;
    let field_len = curve.field_len();
    if digest.len() >= field_len {
        return Ok(digest);
    }
    let mut padded = vec![0; field_len - digest.len()];
    padded.extend_from_slice(&digest);
    Ok(padded)
}
