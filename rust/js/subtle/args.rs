//! Reading a request's fields: counts, decimal numbers, key formats and hash names, each mistake
//! answered with a DOMException that names the operation.

use super::{Stop, not_supported, operation_error};

/// A request's fields after the operation's name.
pub(crate) struct Args<'a> {
    op: &'a [u8],
    fields: &'a [&'a [u8]],
}

impl<'a> Args<'a> {
    pub fn new(op: &'a [u8], fields: &'a [&'a [u8]]) -> Self {
        Args { op, fields }
    }

    /// The operation's name, quoted, for messages.
    pub fn name(&self) -> String {
        format!("{:?}", String::from_utf8_lossy(self.op))
    }

    /// Exactly `N` fields.
    pub fn exact<const N: usize>(&self) -> Result<[&'a [u8]; N], Stop> {
        <[&[u8]; N]>::try_from(self.fields).map_err(|_| self.wrong_count(N))
    }

    /// The first `N` fields, and the rest (their count depends on the first ones).
    pub fn split<const N: usize>(&self) -> Result<([&'a [u8]; N], Args<'a>), Stop> {
        if self.fields.len() < N {
            return Err(self.wrong_count(N));
        }
        let (head, rest) = self.fields.split_at(N);
        let head = <[&[u8]; N]>::try_from(head).map_err(|_| self.wrong_count(N))?;
        Ok((head, Args { op: self.op, fields: rest }))
    }

    fn wrong_count(&self, expected: usize) -> Stop {
        operation_error(format!(
            "The crypto.subtle operation {} was given {} fields where it takes {expected}.",
            self.name(),
            self.fields.len()
        ))
    }

    /// A decimal number no larger than `u32::MAX` (every count in WebCrypto is an unsigned long).
    pub fn number(&self, field: &[u8], what: &str) -> Result<u32, Stop> {
        let text = std::str::from_utf8(field).ok().filter(|t| !t.is_empty() && t.bytes().all(|b| b.is_ascii_digit()));
        text.and_then(|t| t.parse::<u32>().ok()).ok_or_else(|| {
            operation_error(format!(
                "The crypto.subtle operation {} was given {:?} as its {what}, which is not a decimal number \
                 below 2^32.",
                self.name(),
                String::from_utf8_lossy(field)
            ))
        })
    }

    /// A field that is "public" or "private": whether it says private.
    pub fn is_private(&self, field: &[u8]) -> Result<bool, Stop> {
        match field {
            b"private" => Ok(true),
            b"public" => Ok(false),
            _ => Err(operation_error(format!(
                "The crypto.subtle operation {} was given the key type {:?}; it must be \"public\" or \"private\".",
                self.name(),
                String::from_utf8_lossy(field)
            ))),
        }
    }

    /// The NotSupportedError for a key format this family has no use for.
    pub fn unknown_format(&self, format: &[u8], family: &str) -> Stop {
        not_supported(format!(
            "The key format {:?} is not supported for {family} keys.",
            String::from_utf8_lossy(format)
        ))
    }
}

/// A hash WebCrypto names.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Hash {
    Sha1,
    Sha256,
    Sha384,
    Sha512,
}

impl Hash {
    pub fn parse(name: &[u8]) -> Result<Hash, Stop> {
        match name {
            b"SHA-1" => Ok(Hash::Sha1),
            b"SHA-256" => Ok(Hash::Sha256),
            b"SHA-384" => Ok(Hash::Sha384),
            b"SHA-512" => Ok(Hash::Sha512),
            _ => Err(not_supported(format!(
                "The hash {:?} is not supported; use SHA-1, SHA-256, SHA-384 or SHA-512.",
                String::from_utf8_lossy(name)
            ))),
        }
    }

    /// The digest's length in bytes.
    pub fn output_len(self) -> usize {
        match self {
            Hash::Sha1 => 20,
            Hash::Sha256 => 32,
            Hash::Sha384 => 48,
            Hash::Sha512 => 64,
        }
    }
}

/// Runs `$body` with `$H` naming the RustCrypto type of `$hash`, so generic code needs no trait
/// bounds spelt out (HMAC's are long).
macro_rules! with_hash {
    ($hash:expr, $H:ident => $body:expr) => {
        match $hash {
            $crate::js::subtle::args::Hash::Sha1 => {
                type $H = ::sha1::Sha1;
                $body
            }
            $crate::js::subtle::args::Hash::Sha256 => {
                type $H = ::sha2::Sha256;
                $body
            }
            $crate::js::subtle::args::Hash::Sha384 => {
                type $H = ::sha2::Sha384;
                $body
            }
            $crate::js::subtle::args::Hash::Sha512 => {
                type $H = ::sha2::Sha512;
                $body
            }
        }
    };
}
pub(crate) use with_hash;
