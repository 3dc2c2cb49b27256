//! What the host keeps for one JavaScript isolate, in its store's extension slot: whatever serves
//! the bundle's WebAssembly (`nested.rs`, or the refusal while a snapshot is taken), the
//! streams in progress whose state lives on the host: TextDecoder's (`encoding.rs`), compression's
//! (`compression/`) and DigestStream's (`digest_stream.rs`), and the `Intl` formatters it built
//! (`intl/`). Every JavaScript isolate gets one: those
//! booted with WebAssembly at hand from the start, the others when an import first needs it.

use std::any::Any;
use std::sync::Arc;
use std::time::Duration;

use crate::error::Result;
use crate::js::compression;
use crate::js::digest_stream::Digests;
use crate::js::encoding::Streams;
use crate::js::intl::Formatters;
use crate::sandbox::host::Host;
use crate::sandbox::state::{Extension, StoreData};

/// See the module docs.
#[derive(Default)]
pub struct JsExtension {
    /// Claims the `wasm:*` env calls when set; without it they reach the embedder.
    wasm: Option<Box<dyn Extension>>,
    pub streams: Streams,
    pub compression: compression::Streams,
    pub digests: Digests,
    pub formatters: Formatters,
}

impl JsExtension {
    pub fn with_wasm(wasm: Box<dyn Extension>) -> Box<JsExtension> {
        Box::new(JsExtension { wasm: Some(wasm), ..JsExtension::default() })
    }

    /// The JavaScript state of `extension`, when it is one.
    pub fn of(extension: &mut dyn Extension) -> Option<&mut JsExtension> {
        (extension as &mut dyn Any).downcast_mut()
    }

    /// Whether a stream's state is on the host (a heap taken now would name what it lacks).
    pub fn has_open_streams(&self) -> bool {
        !self.streams.is_empty() || !self.compression.is_empty() || !self.digests.is_empty()
    }

    /// The JavaScript state of an interpreter's store, attached now if it had none.
    pub fn of_store(data: &mut StoreData) -> &mut JsExtension {
        let extension = data.extension.get_or_insert_with(|| Box::new(JsExtension::default()));
        if JsExtension::of(extension.as_mut()).is_none() {
            // Interpreter isolates carry no other extension; should one appear, the JavaScript
            // state wraps it rather than losing it.
            let other = data.extension.take().expect("inserted above");
            data.extension = Some(JsExtension::with_wasm(other));
        }
        JsExtension::of(data.extension.as_deref_mut().expect("inserted above")).expect("a JsExtension")
    }
}

impl Extension for JsExtension {
    fn env_call(&mut self, name: &str, args: &[u8], host: Option<Arc<dyn Host>>) -> Option<Result<Vec<u8>>> {
        self.wasm.as_mut()?.env_call(name, args, host)
    }

    // What the bundle's WebAssembly waited on the host is not the JavaScript call's CPU time.
    fn take_waited(&mut self) -> Duration {
        self.wasm.as_mut().map_or(Duration::ZERO, |wasm| wasm.take_waited())
    }
}
