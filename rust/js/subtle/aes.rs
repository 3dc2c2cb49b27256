//! AES-CBC, AES-CTR and AES-KW (`aes.encrypt` / `aes.decrypt`); AES-GCM is in `gcm.rs`.

use ::aes::cipher::block_padding::Pkcs7;
use ::aes::cipher::{BlockDecryptMut, BlockEncryptMut, KeyIvInit, StreamCipher};

use super::args::Args;
use super::chunks::in_chunks_mut;
use super::{Check, Outcome, Stop, data_error, gcm, not_supported, operation_error};

pub(crate) enum Direction {
    Encrypt,
    Decrypt,
}

/// Runs `$body` with `$C` naming the AES variant for `$key`'s length; any other length returns
/// the DataError from the enclosing function.
macro_rules! with_aes {
    ($key:expr, $C:ident => $body:expr) => {
        match $key.len() {
            16 => {
                type $C = ::aes::Aes128;
                $body
            }
            24 => {
                type $C = ::aes::Aes192;
                $body
            }
            32 => {
                type $C = ::aes::Aes256;
                $body
            }
            n => return Err($crate::js::subtle::aes::wrong_key_length(n)),
        }
    };
}
pub(crate) use with_aes;

pub(crate) fn wrong_key_length(len: usize) -> Stop {
    data_error(format!("An AES key must be 16, 24 or 32 bytes long, not {len}."))
}

pub(crate) fn run(args: &Args<'_>, direction: Direction, check: &mut Check<'_>) -> Outcome {
    let [mode, key, data, p1, p2, p3] = args.exact()?;
    if !matches!(key.len(), 16 | 24 | 32) {
        return Err(wrong_key_length(key.len()));
    }
    let out = match mode {
        b"AES-CBC" => cbc(key, data, p1, direction)?,
        b"AES-CTR" => ctr(args, key, data, p1, p2, check)?,
        b"AES-GCM" => {
            let tag_bits = args.number(p3, "tag length")?;
            match direction {
                Direction::Encrypt => gcm::seal(key, p1, p2, data, tag_bits, check)?,
                Direction::Decrypt => gcm::open(key, p1, p2, data, tag_bits, check)?,
            }
        }
        b"AES-KW" => key_wrap(key, data, direction)?,
        _ => {
            return Err(not_supported(format!(
                "The AES mode {:?} is not supported; use AES-CBC, AES-CTR, AES-GCM or AES-KW.",
                String::from_utf8_lossy(mode)
            )));
        }
    };
    Ok(vec![out])
}

/// XORs `data` with the keystream of `S` (a counter mode) from counter block `counter`.
pub(crate) fn apply_keystream<S: KeyIvInit + StreamCipher>(
    key: &[u8],
    counter: &[u8; 16],
    data: &mut [u8],
    check: &mut Check<'_>,
) -> Result<(), Stop> {
    let mut cipher = S::new_from_slices(key, counter).expect("callers pass an AES key and a 16-byte counter");
    in_chunks_mut(data, check, |chunk| cipher.apply_keystream(chunk))
}

fn cbc(key: &[u8], data: &[u8], iv: &[u8], direction: Direction) -> Result<Vec<u8>, Stop> {
    if iv.len() != 16 {
        return Err(operation_error(format!("The AES-CBC iv must be 16 bytes long, not {}.", iv.len())));
    }
    with_aes!(key, C => match direction {
        Direction::Encrypt => {
            let cipher = cbc::Encryptor::<C>::new_from_slices(key, iv).expect("key and iv lengths were checked");
            Ok(cipher.encrypt_padded_vec_mut::<Pkcs7>(data))
        }
        Direction::Decrypt => {
            if data.is_empty() || !data.len().is_multiple_of(16) {
                return Err(operation_error(format!(
                    "AES-CBC ciphertext is a whole number of 16-byte blocks; this one is {} bytes.",
                    data.len()
                )));
            }
            let cipher = cbc::Decryptor::<C>::new_from_slices(key, iv).expect("key and iv lengths were checked");
            cipher
                .decrypt_padded_vec_mut::<Pkcs7>(data)
                .map_err(|_| operation_error("The AES-CBC ciphertext does not end in valid PKCS#7 padding."))
        }
    })
}

/// WebCrypto's AES-CTR: only the rightmost `length` bits of the counter block count, wrapping
/// to zero without carrying into the rest, and they must not repeat within one message.
fn ctr(
    args: &Args<'_>,
    key: &[u8],
    data: &[u8],
    counter: &[u8],
    length: &[u8],
    check: &mut Check<'_>,
) -> Result<Vec<u8>, Stop> {
    let Ok(counter) = <[u8; 16]>::try_from(counter) else {
        return Err(operation_error(format!("The AES-CTR counter must be 16 bytes long, not {}.", counter.len())));
    };
    let bits = args.number(length, "counter length")?;
    if !(1..=128).contains(&bits) {
        return Err(operation_error(format!("The AES-CTR counter length must be 1 to 128 bits, not {bits}.")));
    }
    let block = u128::from_be_bytes(counter);
    let mask = u128::MAX >> (128 - bits);
    let blocks = data.len().div_ceil(16) as u128;
    if bits < 128 && blocks > 1u128 << bits {
        return Err(operation_error(format!(
            "AES-CTR with a {bits}-bit counter encrypts at most 2^{bits} blocks; this data is {blocks} blocks, \
             so the counter would repeat."
        )));
    }
    // The 128-bit counter mode increments the whole block; up to the wrap of the low bits that is
    // the same, and after it the low bits restart at zero under the same fixed bits. (`None`: no
    // wrap within 2^128 blocks.)
    let blocks_before_wrap = (mask - (block & mask)).checked_add(1);
    let split = blocks_before_wrap.map_or(data.len(), |n| n.saturating_mul(16).min(data.len() as u128) as usize);
    let mut out = data.to_vec();
    let (before, after) = out.split_at_mut(split);
    with_aes!(key, C => {
        apply_keystream::<ctr::Ctr128BE<C>>(key, &counter, before, check)?;
        apply_keystream::<ctr::Ctr128BE<C>>(key, &(block & !mask).to_be_bytes(), after, check)?;
    });
    Ok(out)
}

/// RFC 3394 key wrap: encrypting wraps, decrypting unwraps.
fn key_wrap(key: &[u8], data: &[u8], direction: Direction) -> Result<Vec<u8>, Stop> {
    let (least, verb) = match direction {
        Direction::Encrypt => (16, "wraps"),
        Direction::Decrypt => (24, "unwraps"),
    };
    if !data.len().is_multiple_of(8) || data.len() < least {
        return Err(operation_error(format!(
            "AES-KW {verb} a multiple of 8 bytes, at least {least}; this data is {} bytes.",
            data.len()
        )));
    }
    with_aes!(key, C => {
        let kek = aes_kw::Kek::<C>::try_from(key).expect("the key length was matched");
        match direction {
            Direction::Encrypt => kek.wrap_vec(data).map_err(|e| operation_error(format!("AES-KW could not wrap: {e}."))),
            Direction::Decrypt => kek
                .unwrap_vec(data)
                .map_err(|_| operation_error("The AES-KW wrapped key fails its integrity check.")),
        }
    })
}
