//! AES-GCM as NIST SP 800-38D defines it, put together from the AES block cipher, its 32-bit
//! counter mode and GHASH: WebCrypto allows IVs of any length and tags as short as 32 bits, which
//! the aes-gcm crate fixes at compile time.

use ::aes::cipher::consts::U16;
use ::aes::cipher::generic_array::GenericArray;
use ::aes::cipher::{BlockCipher, BlockEncrypt, BlockSizeUser, KeyInit};
use ::subtle::ConstantTimeEq;
use ghash::GHash;
use ghash::universal_hash::UniversalHash;

use super::aes::{apply_keystream, with_aes};
use super::chunks::in_chunks;
use super::{Check, Stop, operation_error};

type Block = GenericArray<u8, U16>;

/// Encrypts `plaintext`; the result is the ciphertext followed by the tag.
pub(crate) fn seal(
    key: &[u8],
    iv: &[u8],
    aad: &[u8],
    plaintext: &[u8],
    tag_bits: u32,
    check: &mut Check<'_>,
) -> Result<Vec<u8>, Stop> {
    let tag_len = tag_bytes(tag_bits)?;
    check_iv(iv)?;
    with_aes!(key, C => {
        let gcm = Gcm::<C>::new(key, iv, check)?;
        let mut out = Vec::with_capacity(plaintext.len() + tag_len);
        out.extend_from_slice(plaintext);
        apply_keystream::<ctr::Ctr32BE<C>>(key, &gcm.first_counter(), &mut out, check)?;
        let tag = gcm.tag(aad, &out, check)?;
        out.extend_from_slice(&tag[..tag_len]);
        Ok(out)
    })
}

/// Checks the tag at the end of `data`, then decrypts the rest.
pub(crate) fn open(
    key: &[u8],
    iv: &[u8],
    aad: &[u8],
    data: &[u8],
    tag_bits: u32,
    check: &mut Check<'_>,
) -> Result<Vec<u8>, Stop> {
    let tag_len = tag_bytes(tag_bits)?;
    check_iv(iv)?;
    let Some(split) = data.len().checked_sub(tag_len) else {
        return Err(operation_error(format!(
            "The AES-GCM ciphertext is {} bytes, shorter than its {tag_bits}-bit tag.",
            data.len()
        )));
    };
    let (ciphertext, tag) = data.split_at(split);
    with_aes!(key, C => {
        let gcm = Gcm::<C>::new(key, iv, check)?;
        let expected = gcm.tag(aad, ciphertext, check)?;
        if !bool::from(expected[..tag_len].ct_eq(tag)) {
            return Err(operation_error("The AES-GCM authentication tag does not match."));
        }
        let mut out = ciphertext.to_vec();
        apply_keystream::<ctr::Ctr32BE<C>>(key, &gcm.first_counter(), &mut out, check)?;
        Ok(out)
    })
}

fn tag_bytes(bits: u32) -> Result<usize, Stop> {
    match bits {
        32 | 64 | 96 | 104 | 112 | 120 | 128 => Ok(bits as usize / 8),
        _ => Err(operation_error(format!(
            "The AES-GCM tag length must be 32, 64, 96, 104, 112, 120 or 128 bits, not {bits}."
        ))),
    }
}

fn check_iv(iv: &[u8]) -> Result<(), Stop> {
    if iv.is_empty() {
        return Err(operation_error("The AES-GCM iv must not be empty."));
    }
    Ok(())
}

/// One message's GCM state: the block cipher, the GHASH key H and the pre-counter block J0.
struct Gcm<C> {
    cipher: C,
    hash_key: Block,
    pre_counter: [u8; 16],
}

impl<C: BlockCipher + BlockEncrypt + BlockSizeUser<BlockSize = U16> + KeyInit> Gcm<C> {
    fn new(key: &[u8], iv: &[u8], check: &mut Check<'_>) -> Result<Self, Stop> {
        let cipher = C::new_from_slice(key).expect("the key length was matched");
        let mut hash_key = Block::default();
        cipher.encrypt_block(&mut hash_key);
        let mut pre_counter = [0; 16];
        if iv.len() == 12 {
            // J0 = IV || 0^31 || 1
            pre_counter[..12].copy_from_slice(iv);
            pre_counter[15] = 1;
        } else {
            // J0 = GHASH(IV padded to a block || 0^64 || the IV's length in bits, 64-bit)
            let mut ghash = GHash::new(&hash_key);
            in_chunks(iv, check, |chunk| ghash.update_padded(chunk))?;
            ghash.update(&[lengths_block(0, iv.len())]);
            pre_counter.copy_from_slice(&ghash.finalize());
        }
        Ok(Gcm { cipher, hash_key, pre_counter })
    }

    /// inc32(J0): the counter block of the first byte of data.
    fn first_counter(&self) -> [u8; 16] {
        let mut counter = self.pre_counter;
        let low = u32::from_be_bytes([counter[12], counter[13], counter[14], counter[15]]).wrapping_add(1);
        counter[12..].copy_from_slice(&low.to_be_bytes());
        counter
    }

    /// The full 16-byte tag: E(K, J0) xor GHASH(A padded || C padded || len(A) || len(C)).
    fn tag(&self, aad: &[u8], ciphertext: &[u8], check: &mut Check<'_>) -> Result<Block, Stop> {
        let mut ghash = GHash::new(&self.hash_key);
        // Chunks are whole blocks (but the last), so padding each pads only the end.
        in_chunks(aad, check, |chunk| ghash.update_padded(chunk))?;
        in_chunks(ciphertext, check, |chunk| ghash.update_padded(chunk))?;
        ghash.update(&[lengths_block(aad.len(), ciphertext.len())]);
        let mut tag = Block::from(self.pre_counter);
        self.cipher.encrypt_block(&mut tag);
        for (byte, mask) in tag.iter_mut().zip(ghash.finalize()) {
            *byte ^= mask;
        }
        Ok(tag)
    }
}

/// Two lengths in bits, each a 64-bit big-endian number: GHASH's closing block.
fn lengths_block(first: usize, second: usize) -> Block {
    let mut block = Block::default();
    block[..8].copy_from_slice(&(first as u64 * 8).to_be_bytes());
    block[8..].copy_from_slice(&(second as u64 * 8).to_be_bytes());
    block
}
