//! Ed25519 and X25519 (RFC 8032, RFC 7748; key formats of RFC 8410): generation, import,
//! export, signatures and key agreement. The guest keeps each key as its 32 bytes.

use der::asn1::{ObjectIdentifier, OctetStringRef};
use der::{Decode, Encode};
use ed25519_dalek::Signer;
use rand_core::{OsRng, RngCore};

use super::args::Args;
use super::{Outcome, Stop, boolean, data_error, invalid_access, not_supported, operation_error};

/// Bytes of every key, public or private, and of X25519's shared secret.
const KEY_LEN: usize = 32;

const SIGNATURE_LEN: usize = 64;

#[derive(Clone, Copy)]
enum Okp {
    Ed25519,
    X25519,
}

impl Okp {
    fn parse(name: &[u8]) -> Result<Okp, Stop> {
        match name {
            b"Ed25519" => Ok(Okp::Ed25519),
            b"X25519" => Ok(Okp::X25519),
            _ => Err(not_supported(format!(
                "The curve {:?} is not supported; use Ed25519 or X25519.",
                String::from_utf8_lossy(name)
            ))),
        }
    }

    fn name(self) -> &'static str {
        match self {
            Okp::Ed25519 => "Ed25519",
            Okp::X25519 => "X25519",
        }
    }

    /// id-Ed25519 and id-X25519 (RFC 8410).
    fn oid(self) -> ObjectIdentifier {
        match self {
            Okp::Ed25519 => ObjectIdentifier::new_unwrap("1.3.101.112"),
            Okp::X25519 => ObjectIdentifier::new_unwrap("1.3.101.110"),
        }
    }

    fn public_of(self, private: &[u8; KEY_LEN]) -> [u8; KEY_LEN] {
        match self {
            Okp::Ed25519 => ed25519_dalek::SigningKey::from_bytes(private).verifying_key().to_bytes(),
            Okp::X25519 => x25519_dalek::PublicKey::from(&x25519_dalek::StaticSecret::from(*private)).to_bytes(),
        }
    }

    /// `bytes` as a key of this curve, or a DataError naming `what` it is.
    fn key(self, bytes: &[u8], what: &str) -> Result<[u8; KEY_LEN], Stop> {
        <[u8; KEY_LEN]>::try_from(bytes).map_err(|_| {
            data_error(format!("The {} {what} is {} bytes long, not {KEY_LEN}.", self.name(), bytes.len()))
        })
    }
}

pub(crate) fn generate(args: &Args<'_>) -> Outcome {
    let [curve] = args.exact()?;
    let curve = Okp::parse(curve)?;
    let mut private = [0; KEY_LEN];
    OsRng.fill_bytes(&mut private);
    Ok(vec![private.to_vec(), curve.public_of(&private).to_vec()])
}

pub(crate) fn import(args: &Args<'_>) -> Outcome {
    let ([curve, format], rest) = args.split()?;
    let curve = Okp::parse(curve)?;
    let (private, public) = match format {
        b"raw" => {
            let [public] = rest.exact()?;
            (None, curve.key(public, "public key")?)
        }
        b"spki" => {
            let [der] = rest.exact()?;
            (None, public_from_spki(curve, der)?)
        }
        b"pkcs8" => {
            let [der] = rest.exact()?;
            let private = private_from_pkcs8(curve, der)?;
            (Some(private), curve.public_of(&private))
        }
        b"jwk-public" => {
            let [x] = rest.exact()?;
            (None, curve.key(x, "JWK's \"x\"")?)
        }
        b"jwk-private" => {
            let [x, d] = rest.exact()?;
            let public = curve.key(x, "JWK's \"x\"")?;
            let private = curve.key(d, "JWK's \"d\"")?;
            if curve.public_of(&private) != public {
                return Err(data_error("The JWK's \"d\" does not match its \"x\"."));
            }
            (Some(private), public)
        }
        _ => return Err(args.unknown_format(format, curve.name())),
    };
    let (kind, private) = match private {
        Some(private) => ("private", private.to_vec()),
        None => ("public", Vec::new()),
    };
    Ok(vec![kind.into(), private, public.to_vec()])
}

pub(crate) fn export(args: &Args<'_>) -> Outcome {
    let [curve, format, kind, private, public] = args.exact()?;
    let curve = Okp::parse(curve)?;
    let is_private = args.is_private(kind)?;
    let public = curve.key(public, "public key")?;
    let unencodable = |e: der::Error| operation_error(format!("The {} key could not be encoded: {e}.", curve.name()));
    match (format, is_private) {
        (b"raw", false) => Ok(vec![public.to_vec()]),
        (b"spki", false) => {
            let info = spki::SubjectPublicKeyInfoRef {
                algorithm: spki::AlgorithmIdentifierRef { oid: curve.oid(), parameters: None },
                subject_public_key: der::asn1::BitStringRef::from_bytes(&public).map_err(unencodable)?,
            };
            Ok(vec![info.to_der().map_err(unencodable)?])
        }
        (b"pkcs8", true) => {
            let private = curve.key(private, "private key")?;
            // RFC 8410's CurvePrivateKey: the key as an OCTET STRING, inside PKCS#8's OCTET STRING.
            let inner = OctetStringRef::new(&private).and_then(|key| key.to_der()).map_err(unencodable)?;
            let algorithm = spki::AlgorithmIdentifierRef { oid: curve.oid(), parameters: None };
            Ok(vec![pkcs8::PrivateKeyInfo::new(algorithm, &inner).to_der().map_err(unencodable)?])
        }
        (b"raw" | b"spki", true) => Err(invalid_access(format!(
            "Only a public {} key exports as {}.",
            curve.name(),
            String::from_utf8_lossy(format)
        ))),
        (b"pkcs8", false) => Err(invalid_access(format!("Only a private {} key exports as pkcs8.", curve.name()))),
        (b"jwk", false) => Ok(vec![public.to_vec()]),
        (b"jwk", true) => Ok(vec![public.to_vec(), curve.key(private, "private key")?.to_vec()]),
        _ => Err(args.unknown_format(format, curve.name())),
    }
}

/// The algorithm of an RFC 8410 key: this curve's OID, and no parameters.
fn check_algorithm(curve: Okp, algorithm: &spki::AlgorithmIdentifierRef<'_>) -> Result<(), Stop> {
    if algorithm.oid != curve.oid() {
        return Err(data_error(format!(
            "The key's algorithm is {}, not {} ({}).",
            algorithm.oid,
            curve.name(),
            curve.oid()
        )));
    }
    if algorithm.parameters.is_some() {
        return Err(data_error(format!("A {} key's algorithm has no parameters.", curve.name())));
    }
    Ok(())
}

fn public_from_spki(curve: Okp, der: &[u8]) -> Result<[u8; KEY_LEN], Stop> {
    let info = spki::SubjectPublicKeyInfoRef::from_der(der)
        .map_err(|e| data_error(format!("The spki data is not a DER SubjectPublicKeyInfo: {e}.")))?;
    check_algorithm(curve, &info.algorithm)?;
    let Some(public) = info.subject_public_key.as_bytes() else {
        return Err(data_error("The spki data's public key is not a whole number of bytes."));
    };
    curve.key(public, "public key")
}

/// A PKCS#8 v1 or v2 key; v2's public key must be the private key's.
fn private_from_pkcs8(curve: Okp, der: &[u8]) -> Result<[u8; KEY_LEN], Stop> {
    let info = pkcs8::PrivateKeyInfo::from_der(der)
        .map_err(|e| data_error(format!("The pkcs8 data is not a DER PrivateKeyInfo: {e}.")))?;
    check_algorithm(curve, &info.algorithm)?;
    let inner = OctetStringRef::from_der(info.private_key)
        .map_err(|e| data_error(format!("The pkcs8 data's private key is not an OCTET STRING: {e}.")))?;
    let private = curve.key(inner.as_bytes(), "private key")?;
    if info.public_key.is_some_and(|public| public != curve.public_of(&private)) {
        return Err(data_error("The pkcs8 data's public key does not match its private key."));
    }
    Ok(private)
}

pub(crate) fn ed25519_sign(args: &Args<'_>) -> Outcome {
    let [private, data] = args.exact()?;
    let private = Okp::Ed25519.key(private, "private key")?;
    let signature = ed25519_dalek::SigningKey::from_bytes(&private).sign(data);
    Ok(vec![signature.to_bytes().to_vec()])
}

/// Strict verification, as browsers do (WPT's eddsa_small_order_points): a public key or R of
/// small order, a non-canonical R or an S not below the group order fails, and so does a public
/// key that is not a point at all.
pub(crate) fn ed25519_verify(args: &Args<'_>) -> Outcome {
    let [public, data, signature] = args.exact()?;
    let public = Okp::Ed25519.key(public, "public key")?;
    let Ok(signature) = <[u8; SIGNATURE_LEN]>::try_from(signature) else {
        return Ok(vec![boolean(false)]);
    };
    let valid = match ed25519_dalek::VerifyingKey::from_bytes(&public) {
        Ok(key) => key.verify_strict(data, &ed25519_dalek::Signature::from_bytes(&signature)).is_ok(),
        Err(_) => false,
    };
    Ok(vec![boolean(valid)])
}

pub(crate) fn x25519_derive(args: &Args<'_>) -> Outcome {
    let [private, public] = args.exact()?;
    let private = x25519_dalek::StaticSecret::from(Okp::X25519.key(private, "private key")?);
    let public = x25519_dalek::PublicKey::from(Okp::X25519.key(public, "public key")?);
    let shared = private.diffie_hellman(&public);
    if !shared.was_contributory() {
        return Err(operation_error("The X25519 shared secret is all zeros: the public key has small order."));
    }
    Ok(vec![shared.to_bytes().to_vec()])
}
