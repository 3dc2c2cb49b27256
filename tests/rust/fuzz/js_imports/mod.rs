//! Random requests to the pure halves of the interpreter's imports (`js/imports.rs`), called as
//! the imports call them but with what a guest taken over could send: `subtle` and `intl` field
//! lists (operation names and words they know, numbers at the edges, random bytes), TextDecoder,
//! compression and DigestStream streams driven with random flags, ids and data (compressed data
//! damaged), domain to ASCII, URLPattern's JSON requests, and the host's parsers of interpreter
//! replies (envelopes, clones, compiled modules). Each must answer (a reply, or the error the
//! guest throws) and never panic; none has a deadline to miss, so none may fail otherwise.

mod parsers;
mod requests;
mod streams;

use _core::Result;

/// Default number of requests per import.
const REQUESTS: u64 = 300;

fn no_deadline() -> Result<()> {
    Ok(())
}
