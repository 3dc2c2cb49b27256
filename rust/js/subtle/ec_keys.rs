//! EC keys over P-256, P-384 and P-521: generation, import (raw, SPKI, PKCS#8, JWK numbers) and
//! export. The guest keeps a private key as its scalar d and a public key as its uncompressed
//! point; both are checked here whenever they come back.

use ::p256::elliptic_curve::pkcs8::{AssociatedOid, EncodePrivateKey, EncodePublicKey};
use ::p256::elliptic_curve::sec1::{FromEncodedPoint, ModulusSize, ToEncodedPoint, ValidatePublicKey};
use ::p256::elliptic_curve::{ALGORITHM_OID, Curve as CurveParams, CurveArithmetic, PublicKey, SecretKey};
use der::Decode;
use der::asn1::ObjectIdentifier;
use rand_core::OsRng;

use super::args::Args;
use super::{Outcome, Stop, data_error, invalid_access, not_supported};

/// A curve WebCrypto's ECDSA and ECDH name.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Curve {
    P256,
    P384,
    P521,
}

impl Curve {
    pub fn parse(name: &[u8]) -> Result<Curve, Stop> {
        match name {
            b"P-256" => Ok(Curve::P256),
            b"P-384" => Ok(Curve::P384),
            b"P-521" => Ok(Curve::P521),
            _ => Err(not_supported(format!(
                "The curve {:?} is not supported; use P-256, P-384 or P-521.",
                String::from_utf8_lossy(name)
            ))),
        }
    }

    pub fn name(self) -> &'static str {
        match self {
            Curve::P256 => "P-256",
            Curve::P384 => "P-384",
            Curve::P521 => "P-521",
        }
    }

    /// Bytes of a coordinate or a scalar.
    pub fn field_len(self) -> usize {
        match self {
            Curve::P256 => 32,
            Curve::P384 => 48,
            Curve::P521 => 66,
        }
    }
}

/// Runs `$body` for `$curve` with either `type $C` naming its RustCrypto curve type (for code
/// generic over [`Nist`]) or `mod $m` naming its crate (for ECDSA, whose P-521 types are the
/// crate's own).
macro_rules! with_curve {
    ($curve:expr, type $C:ident => $body:expr) => {
        match $curve {
            $crate::js::subtle::ec_keys::Curve::P256 => {
                type $C = ::p256::NistP256;
                $body
            }
            $crate::js::subtle::ec_keys::Curve::P384 => {
                type $C = ::p384::NistP384;
                $body
            }
            $crate::js::subtle::ec_keys::Curve::P521 => {
                type $C = ::p521::NistP521;
                $body
            }
        }
    };
    ($curve:expr, mod $m:ident => $body:expr) => {
        match $curve {
            $crate::js::subtle::ec_keys::Curve::P256 => {
                use ::p256 as $m;
                $body
            }
            $crate::js::subtle::ec_keys::Curve::P384 => {
                use ::p384 as $m;
                $body
            }
            $crate::js::subtle::ec_keys::Curve::P521 => {
                use ::p521 as $m;
                $body
            }
        }
    };
}
pub(crate) use with_curve;

/// What generic code needs of a curve: arithmetic, SEC1 points, an OID and key checks.
pub(crate) trait Nist:
    CurveArithmetic<AffinePoint: FromEncodedPoint<Self> + ToEncodedPoint<Self>>
    + CurveParams<FieldBytesSize: ModulusSize>
    + AssociatedOid
    + ValidatePublicKey
{
}

impl<C> Nist for C where
    C: CurveArithmetic<AffinePoint: FromEncodedPoint<C> + ToEncodedPoint<C>>
        + CurveParams<FieldBytesSize: ModulusSize>
        + AssociatedOid
        + ValidatePublicKey
{
}

pub(crate) fn generate(args: &Args<'_>) -> Outcome {
    let [curve] = args.exact()?;
    with_curve!(Curve::parse(curve)?, type C => {
        let key = SecretKey::<C>::random(&mut OsRng);
        Ok(vec![key.to_bytes().to_vec(), uncompressed(&key.public_key())])
    })
}

pub(crate) fn import(args: &Args<'_>) -> Outcome {
    let ([curve, format], rest) = args.split()?;
    let curve = Curve::parse(curve)?;
    with_curve!(curve, type C => import_on::<C>(args, curve, format, &rest))
}

fn import_on<C: Nist>(args: &Args<'_>, curve: Curve, format: &[u8], rest: &Args<'_>) -> Outcome {
    let (secret, public) = match format {
        b"raw" => {
            let [point] = rest.exact()?;
            (None, public_key::<C>(curve, point)?)
        }
        b"spki" => {
            let [der] = rest.exact()?;
            (None, public_from_spki::<C>(curve, der)?)
        }
        b"pkcs8" => {
            let [der] = rest.exact()?;
            let secret = secret_from_pkcs8::<C>(curve, der)?;
            let public = secret.public_key();
            (Some(secret), public)
        }
        b"jwk-public" => {
            let [x, y] = rest.exact()?;
            (None, public_from_coordinates::<C>(curve, x, y)?)
        }
        b"jwk-private" => {
            let [x, y, d] = rest.exact()?;
            let public = public_from_coordinates::<C>(curve, x, y)?;
            let secret = secret_key::<C>(curve, d)?;
            if secret.public_key() != public {
                return Err(data_error("The JWK's \"d\" does not match its \"x\" and \"y\"."));
            }
            (Some(secret), public)
        }
        _ => return Err(args.unknown_format(format, curve.name())),
    };
    let (kind, d) = match secret {
        Some(secret) => ("private", secret.to_bytes().to_vec()),
        None => ("public", Vec::new()),
    };
    Ok(vec![kind.into(), d, uncompressed(&public)])
}

pub(crate) fn export(args: &Args<'_>) -> Outcome {
    let [curve, format, kind, d, point] = args.exact()?;
    let curve = Curve::parse(curve)?;
    let private = args.is_private(kind)?;
    with_curve!(curve, type C => match (format, private) {
        (b"raw", false) => Ok(vec![uncompressed(&public_key::<C>(curve, point)?)]),
        (b"spki", false) => {
            let der = public_key::<C>(curve, point)?.to_public_key_der().map_err(|e| unencodable(curve, e))?;
            Ok(vec![der.into_vec()])
        }
        (b"pkcs8", true) => {
            let der = secret_key::<C>(curve, d)?.to_pkcs8_der().map_err(|e| unencodable(curve, e))?;
            Ok(vec![der.as_bytes().to_vec()])
        }
        (b"raw" | b"spki", true) => Err(invalid_access(format!(
            "Only a public {} key exports as {}.",
            curve.name(),
            String::from_utf8_lossy(format)
        ))),
        (b"pkcs8", false) => Err(invalid_access(format!("Only a private {} key exports as pkcs8.", curve.name()))),
        (b"jwk", _) => {
            let point = uncompressed(&public_key::<C>(curve, point)?);
            let (x, y) = point[1..].split_at(curve.field_len());
            let mut fields = vec![x.to_vec(), y.to_vec()];
            if private {
                fields.push(secret_key::<C>(curve, d)?.to_bytes().to_vec());
            }
            Ok(fields)
        }
        _ => Err(args.unknown_format(format, curve.name())),
    })
}

fn unencodable(curve: Curve, e: impl std::fmt::Display) -> Stop {
    super::operation_error(format!("The {} key could not be encoded: {e}.", curve.name()))
}

/// The uncompressed SEC1 point (0x04 || x || y), as the guest keeps public keys.
pub(crate) fn uncompressed<C: Nist>(key: &PublicKey<C>) -> Vec<u8> {
    key.to_encoded_point(false).as_bytes().to_vec()
}

/// A private scalar d: exactly the field's size, nonzero and below the group order.
pub(crate) fn secret_key<C: Nist>(curve: Curve, d: &[u8]) -> Result<SecretKey<C>, Stop> {
    check_scalar_len(curve, d)?;
    SecretKey::<C>::from_slice(d).map_err(|_| scalar_out_of_range(curve))
}

/// The libraries also take shorter scalars; WebCrypto's are exactly the field's size.
pub(crate) fn check_scalar_len(curve: Curve, d: &[u8]) -> Result<(), Stop> {
    if d.len() != curve.field_len() {
        return Err(data_error(format!(
            "A {} private key is {} bytes long, not {}.",
            curve.name(),
            curve.field_len(),
            d.len()
        )));
    }
    Ok(())
}

pub(crate) fn scalar_out_of_range(curve: Curve) -> Stop {
    data_error(format!("The {} private key is zero or not below the group order.", curve.name()))
}

/// A SEC1 point (uncompressed or compressed) on the curve, not the identity.
pub(crate) fn public_key<C: Nist>(curve: Curve, point: &[u8]) -> Result<PublicKey<C>, Stop> {
    PublicKey::<C>::from_sec1_bytes(point)
        .map_err(|_| data_error(format!("The {} public key is not an encoded point on the curve.", curve.name())))
}

fn public_from_coordinates<C: Nist>(curve: Curve, x: &[u8], y: &[u8]) -> Result<PublicKey<C>, Stop> {
    for (name, coordinate) in [("x", x), ("y", y)] {
        if coordinate.len() != curve.field_len() {
            return Err(data_error(format!(
                "The JWK's \"{name}\" is {} bytes long; a {} coordinate is {}.",
                coordinate.len(),
                curve.name(),
                curve.field_len()
            )));
        }
    }
    let mut point = Vec::with_capacity(1 + 2 * curve.field_len());
    point.push(0x04);
    point.extend_from_slice(x);
    point.extend_from_slice(y);
    PublicKey::<C>::from_sec1_bytes(&point)
        .map_err(|_| data_error(format!("The JWK's \"x\" and \"y\" are not a point on {}.", curve.name())))
}

/// id-ecPublicKey with the namedCurve `curve`.
fn check_algorithm<C: Nist>(curve: Curve, algorithm: &spki::AlgorithmIdentifierRef<'_>) -> Result<(), Stop> {
    if algorithm.oid != ALGORITHM_OID {
        return Err(data_error(format!(
            "The key's algorithm is {}, not id-ecPublicKey ({ALGORITHM_OID}).",
            algorithm.oid
        )));
    }
    let named = algorithm.parameters.and_then(|p| p.decode_as::<ObjectIdentifier>().ok());
    if named != Some(C::OID) {
        return Err(data_error(format!("The key's parameters do not name the curve {}.", curve.name())));
    }
    Ok(())
}

fn public_from_spki<C: Nist>(curve: Curve, der: &[u8]) -> Result<PublicKey<C>, Stop> {
    let info = spki::SubjectPublicKeyInfoRef::from_der(der)
        .map_err(|e| data_error(format!("The spki data is not a DER SubjectPublicKeyInfo: {e}.")))?;
    check_algorithm::<C>(curve, &info.algorithm)?;
    let Some(point) = info.subject_public_key.as_bytes() else {
        return Err(data_error("The spki data's public key is not a whole number of bytes."));
    };
    public_key::<C>(curve, point)
}

/// A PKCS#8 EC key; a public key inside it must match the private one, and when it is missing
/// the public key is computed.
fn secret_from_pkcs8<C: Nist>(curve: Curve, der: &[u8]) -> Result<SecretKey<C>, Stop> {
    let info = pkcs8::PrivateKeyInfo::from_der(der)
        .map_err(|e| data_error(format!("The pkcs8 data is not a DER PrivateKeyInfo: {e}.")))?;
    check_algorithm::<C>(curve, &info.algorithm)?;
    SecretKey::<C>::from_sec1_der(info.private_key).map_err(|_| {
        data_error(format!(
            "The pkcs8 data does not hold a valid {} ECPrivateKey, or its public key does not match.",
            curve.name()
        ))
    })
}
