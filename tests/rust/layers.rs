//! The core's layers (rust/lib.rs) as a test: every `crate::` path in a file must name its own
//! layer or a lower one, and inside `sandbox/` a file may name only the files listed before it.
//! A change that makes the sandbox know JavaScript, or the pool know Python, fails here.

use std::path::{Path, PathBuf};

/// Bottom to top. A file's layer is the first entry its path (relative to `rust/`) starts with.
const LAYERS: &[(&str, &[&str])] = &[
    ("0 error and settings", &["error.rs", "config.rs"]),
    ("1 process confinement", &["confine/"]),
    ("1 runtime", &["runtime/"]),
    ("2 sandbox", &["sandbox/"]),
    ("3 pool", &["pool.rs"]),
    ("4 javascript", &["js/"]),
    ("5 worker", &["worker.rs"]),
    ("6 python binding", &["python/"]),
];

/// The order of the files inside the sandbox layer (`mod.rs` declares them, so it may name all).
const SANDBOX_ORDER: &[&str] = &["host", "abi", "state", "imports", "guest", "isolate"];

fn layer_of_file(relative: &str) -> Option<usize> {
    LAYERS.iter().position(|(_, prefixes)| prefixes.iter().any(|p| relative.starts_with(p)))
}

/// The layer a `crate::NAME` path reaches.
fn layer_of_module(name: &str) -> Option<usize> {
    layer_of_file(&format!("{name}.rs")).or_else(|| layer_of_file(&format!("{name}/")))
}

/// Every `crate::a::b` path in `source` as (line, "a", "b" or "").
fn crate_paths(source: &str) -> Vec<(usize, String, String)> {
    let mut found = Vec::new();
    for (number, line) in source.lines().enumerate() {
        let code = line.split("//").next().unwrap_or_default();
        for (at, _) in code.match_indices("crate::") {
            let rest = &code[at + "crate::".len()..];
            let mut parts = rest
                .split("::")
                .map(|part| part.chars().take_while(|c| c.is_ascii_alphanumeric() || *c == '_').collect::<String>());
            let first = parts.next().unwrap_or_default();
            let second = parts.next().unwrap_or_default();
            found.push((number + 1, first, second));
        }
    }
    found
}

/// The violations in one file, given its path relative to `rust/` and its text.
fn violations(relative: &str, source: &str) -> Vec<String> {
    let Some(own) = layer_of_file(relative) else {
        return if relative == "lib.rs" { Vec::new() } else { vec![format!("{relative}: in no layer")] };
    };
    let mut found = Vec::new();
    for (line, first, second) in crate_paths(source) {
        let Some(target) = layer_of_module(&first) else {
            found.push(format!("{relative}:{line}: crate::{first} is in no layer"));
            continue;
        };
        if target > own {
            found.push(format!(
                "{relative}:{line}: layer {} names crate::{first} (layer {})",
                LAYERS[own].0, LAYERS[target].0
            ));
        }
        if let Some(file) = relative.strip_prefix("sandbox/").and_then(|f| f.strip_suffix(".rs"))
            && first == "sandbox"
            && file != "mod"
        {
            let position = |name: &str| SANDBOX_ORDER.iter().position(|n| *n == name);
            match (position(file), position(&second)) {
                (Some(me), Some(it)) if it < me => {}
                _ => found
                    .push(format!("{relative}:{line}: sandbox/{file} names sandbox::{second}, not listed before it")),
            }
        }
    }
    found
}

fn rust_files(dir: &Path, out: &mut Vec<PathBuf>) {
    for entry in std::fs::read_dir(dir).unwrap() {
        let path = entry.unwrap().path();
        if path.is_dir() {
            rust_files(&path, out);
        } else if path.extension().is_some_and(|e| e == "rs") {
            out.push(path);
        }
    }
}

#[test]
fn every_layer_names_only_layers_below_it() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("rust");
    let mut files = Vec::new();
    rust_files(&root, &mut files);
    assert!(files.len() > 20, "found only {} files under {}", files.len(), root.display());
    let mut problems = Vec::new();
    for path in files {
        let relative = path.strip_prefix(&root).unwrap().to_string_lossy().replace('\\', "/");
        problems.extend(violations(&relative, &std::fs::read_to_string(&path).unwrap()));
    }
    assert!(problems.is_empty(), "layering broken:\n{}", problems.join("\n"));
}

#[test]
fn the_check_catches_an_upward_import_and_a_sandbox_file_out_of_order() {
    assert!(violations("pool.rs", "use crate::sandbox::guest::Guest;").is_empty());
    assert_eq!(violations("sandbox/state.rs", "use crate::js::JsWorker;").len(), 1);
    assert_eq!(violations("runtime/cache.rs", "let x = crate::pool::MAX_MODULE_BYTES;").len(), 1);
    assert_eq!(violations("sandbox/abi.rs", "use crate::sandbox::state::StoreData;").len(), 1);
    assert!(violations("sandbox/isolate.rs", "use crate::sandbox::state::StoreData;").is_empty());
    assert!(violations("js/worker.rs", "// crate::python::x is only a comment").is_empty());
    assert_eq!(violations("extra.rs", "").len(), 1, "a file in no layer is reported");
}
