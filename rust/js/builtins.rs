//! The modules every bundle can import without holding them: `cloudflare:workers`,
//! `cloudflare:workflows`, and the Node.js modules Cloudflare's `nodejs_compat` offers
//! (`guest/js/node/`). A bundle holds only the built-ins its modules reach (`bundle.rs` adds them
//! as imports resolve), so a worker that imports none pays nothing for them.
//!
//! Node's names resolve with and without the `node:` prefix (`buffer` and `node:buffer` are one
//! module), as Cloudflare and Node.js accept both; a `node_modules` package never shadows them.

/// The module that defines the `Buffer` and `process` globals; the interpreter evaluates it before
/// the main module when a bundle holds it (`guest/js/shim.c` names it too).
pub const NODE_GLOBALS: &str = "dynisolate:node-globals";

/// The globals [`NODE_GLOBALS`] defines.
const NODE_GLOBAL_NAMES: &[&str] = &["Buffer", "process"];

/// Whether `source` may use a global [`NODE_GLOBALS`] defines: it names one other than as a
/// property (`x.process`). Comments and strings count too; a false positive only costs the
/// bundle the two modules.
pub fn uses_node_globals(source: &str) -> bool {
    let is_ident = |c: u8| c.is_ascii_alphanumeric() || c == b'_' || c == b'$';
    let bytes = source.as_bytes();
    NODE_GLOBAL_NAMES.iter().any(|name| {
        source.match_indices(name).any(|(at, _)| {
            let before = at.checked_sub(1).map(|i| bytes[i]);
            let after = bytes.get(at + name.len()).copied();
            !before.is_some_and(|c| is_ident(c) || c == b'.') && !after.is_some_and(is_ident)
        })
    })
}

/// Every built-in module: its name and its JavaScript.
pub const BUILTINS: &[(&str, &str)] = &[
    (
        "cloudflare:workers",
        "const hook = globalThis[Symbol.for(\"dynisolate.workers\")];\n\
         export class WorkerEntrypoint { constructor(ctx, env) { this.ctx = ctx; this.env = env; } }\n\
         export class WorkflowEntrypoint { constructor(ctx, env) { this.ctx = ctx; this.env = env; } }\n\
         export class DurableObject { constructor(ctx, env) { this.ctx = ctx; this.env = env; } }\n\
         export const { env, waitUntil, RpcTarget } = hook;\n",
    ),
    (
        "cloudflare:workflows",
        "export class NonRetryableError extends Error {\n\
           constructor(message, name = \"NonRetryableError\") { super(message); this.name = name; }\n\
         }\n",
    ),
    ("dynisolate:node-errors", include_str!("../../guest/js/node/errors.js")),
    ("dynisolate:node-compare", include_str!("../../guest/js/node/compare.js")),
    (NODE_GLOBALS, include_str!("../../guest/js/node/globals.js")),
    ("node:assert", include_str!("../../guest/js/node/assert.js")),
    ("node:assert/strict", "import assert from \"node:assert\";\nexport default assert.strict;\n"),
    ("node:async_hooks", include_str!("../../guest/js/node/async_hooks.js")),
    ("node:buffer", include_str!("../../guest/js/node/buffer.js")),
    ("node:crypto", include_str!("../../guest/js/node/crypto.js")),
    ("node:events", include_str!("../../guest/js/node/events.js")),
    ("node:path", include_str!("../../guest/js/node/path.js")),
    ("node:path/posix", "import path from \"node:path\";\nexport default path;\n"),
    ("node:process", include_str!("../../guest/js/node/process.js")),
    ("node:string_decoder", include_str!("../../guest/js/node/string_decoder.js")),
    ("node:url", include_str!("../../guest/js/node/url.js")),
    ("node:util", include_str!("../../guest/js/node/util.js")),
    ("node:util/types", "import util from \"node:util\";\nexport default util.types;\n"),
];

/// Whether `name` is a built-in module.
pub fn is_builtin(name: &str) -> bool {
    BUILTINS.iter().any(|(builtin, _)| *builtin == name)
}

/// The built-in module a specifier names (`buffer` or `node:buffer` is `node:buffer`), if any.
pub fn builtin_for(specifier: &str) -> Option<&'static str> {
    let node =
        |name: &str| BUILTINS.iter().map(|(builtin, _)| *builtin).find(|b| b.strip_prefix("node:") == Some(name));
    match specifier.strip_prefix("node:") {
        Some(name) => node(name),
        None => BUILTINS.iter().map(|(b, _)| *b).find(|b| *b == specifier).or_else(|| node(specifier)),
    }
}

/// The built-ins' text, for the bundle cache key.
pub fn texts() -> impl Iterator<Item = &'static str> {
    BUILTINS.iter().flat_map(|(name, text)| [*name, *text])
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn node_names_resolve_with_and_without_the_prefix() {
        assert_eq!(builtin_for("buffer"), Some("node:buffer"));
        assert_eq!(builtin_for("node:buffer"), Some("node:buffer"));
        assert_eq!(builtin_for("node:path/posix"), Some("node:path/posix"));
        assert_eq!(builtin_for("util/types"), Some("node:util/types"));
        assert_eq!(builtin_for("cloudflare:workers"), Some("cloudflare:workers"));
        assert_eq!(builtin_for("node:fs"), None);
        assert_eq!(builtin_for("left-pad"), None);
        assert_eq!(builtin_for("node:cloudflare:workers"), None);
    }

    #[test]
    fn node_globals_are_found_where_named_as_globals() {
        assert!(uses_node_globals("const b = Buffer.from(x);"));
        assert!(uses_node_globals("if (process.env.DEBUG) {}"));
        assert!(uses_node_globals("Buffer"));
        assert!(!uses_node_globals("job.process(); const processed = 1; MyBuffer; Buffers; $process"));
        assert!(!uses_node_globals(""));
    }
}
