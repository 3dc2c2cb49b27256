//! Builds the JavaScript guest (QuickJS-ng + our shim, compiled to wasm with zig from PyPI) into
//! OUT_DIR, where `rust/js.rs` embeds it. `guest/js/build.py` caches the result under `target/`,
//! so an unchanged guest is never recompiled.

use std::path::PathBuf;
use std::process::Command;

fn main() {
    let manifest = PathBuf::from(std::env::var("CARGO_MANIFEST_DIR").unwrap());
    let out = PathBuf::from(std::env::var("OUT_DIR").unwrap()).join("js-guest.wasm");
    for input in [
        "guest/js/build.py",
        "guest/js/shim.c",
        "guest/js/wire.c",
        "guest/js/clone.c",
        "guest/js/env.c",
        "guest/js/node.c",
        "guest/js/subtle.c",
        "guest/js/intl.c",
        "guest/js/web.c",
        "guest/js/compression.c",
        "guest/js/urlpattern.c",
        "guest/js/url.c",
        "guest/js/primordials.js",
        "guest/js/events.js",
        "guest/js/streams.js",
        "guest/js/glue.js",
        "guest/js/web.js",
        "guest/js/forms.js",
        "guest/js/subtle.js",
        "guest/js/compression.js",
        "guest/js/intl.js",
        "guest/js/urlpattern.js",
        "guest/js/inspect.js",
    ] {
        println!("cargo:rerun-if-changed={input}");
    }
    println!("cargo:rerun-if-env-changed=DYNISOLATE_PYTHON");
    let python = std::env::var("DYNISOLATE_PYTHON").unwrap_or_else(|_| "python3".into());
    let cache = std::env::var("CARGO_TARGET_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(|_| manifest.join("target"))
        .join("js-guest");
    let status = Command::new(&python)
        .arg(manifest.join("guest/js/build.py"))
        .arg(&out)
        .arg("--cache")
        .arg(&cache)
        .status()
        .unwrap_or_else(|e| panic!("cannot run {python} to build the JavaScript guest: {e}"));
    assert!(status.success(), "building the JavaScript guest failed ({status})");
}
