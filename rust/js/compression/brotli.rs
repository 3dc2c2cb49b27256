//! The "brotli" format as [`Codec`]s: Dropbox's `brotli` crate (a port of Google's). The decoder
//! takes standard streams only (a window of at most 16 MiB, not "large window" brotli). The encoder
//! works at quality 5 with a 4 MiB window: workerd (node:zlib's defaults) uses quality 11, whose
//! state is some 40 MiB and whose speed is about 1 MB/s; any brotli decoder reads either.

use ::brotli::enc::StandardAlloc;
use ::brotli::enc::encode::{BrotliEncoderOperation, BrotliEncoderParameter, BrotliEncoderStateStruct};
use ::brotli::{BrotliDecompressStream, BrotliResult, BrotliState};

use super::{Codec, Pass};

/// The encoder's quality (0 to 11) and window (log2 of its bytes).
const QUALITY: u32 = 5;
const WINDOW_BITS: u32 = 22;

struct Encoder(BrotliEncoderStateStruct<StandardAlloc>);

struct Decoder(BrotliState<StandardAlloc, StandardAlloc, StandardAlloc>);

pub(super) fn encoder() -> Box<dyn Codec> {
    let mut state = BrotliEncoderStateStruct::new(StandardAlloc::default());
    state.set_parameter(BrotliEncoderParameter::BROTLI_PARAM_QUALITY, QUALITY);
    state.set_parameter(BrotliEncoderParameter::BROTLI_PARAM_LGWIN, WINDOW_BITS);
    Box::new(Encoder(state))
}

pub(super) fn decoder() -> Box<dyn Codec> {
    let alloc = StandardAlloc::default;
    Box::new(Decoder(BrotliState::new_strict(alloc(), alloc(), alloc())))
}

impl Codec for Encoder {
    fn pass(&mut self, input: &[u8], output: &mut [u8], finish: bool) -> Option<Pass> {
        let op = if finish {
            BrotliEncoderOperation::BROTLI_OPERATION_FINISH
        } else {
            BrotliEncoderOperation::BROTLI_OPERATION_PROCESS
        };
        let (mut available_in, mut took) = (input.len(), 0);
        let (mut available_out, mut gave) = (output.len(), 0);
        let ok = self.0.compress_stream(
            op,
            &mut available_in,
            input,
            &mut took,
            &mut available_out,
            output,
            &mut gave,
            &mut None,
            &mut |_, _, _, _| (),
        );
        ok.then(|| Pass { took, gave, ended: self.0.is_finished() })
    }
}

impl Codec for Decoder {
    fn pass(&mut self, input: &[u8], output: &mut [u8], _finish: bool) -> Option<Pass> {
        let (mut available_in, mut took) = (input.len(), 0);
        let (mut available_out, mut gave, mut total) = (output.len(), 0, 0);
        let result = BrotliDecompressStream(
            &mut available_in,
            &mut took,
            input,
            &mut available_out,
            &mut gave,
            output,
            &mut total,
            &mut self.0,
        );
        match result {
            BrotliResult::ResultFailure => None,
            result => Some(Pass { took, gave, ended: matches!(result, BrotliResult::ResultSuccess) }),
        }
    }
}
