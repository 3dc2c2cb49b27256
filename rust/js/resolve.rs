//! Resolving a bundle's import specifiers to its module names, once, when the bundle is first
//! loaded: what a bundler would have done, so a project's files load as written.
//!
//! - Relative (`./x`, `../x`, `.`, `..`) and bundle-absolute (`/x`) specifiers name a module
//!   exactly, or without its extension (`.ts`, `.js`, `.mjs`, `.json`, tried in that order), or a
//!   folder holding an `index` module; a `.js` specifier also finds the `.ts` module beside it
//!   (TypeScript projects import their own files by the name they compile to).
//! - Bare specifiers (`pkg`, `pkg/sub`, `@scope/pkg/sub`) are packages in a `node_modules` folder
//!   of the importer or of one of its parents, the nearest first. A package with `exports` in its
//!   `package.json` is entered only through them (subpaths, `*` patterns, and the conditions
//!   `workerd`, `worker`, `import` and `default`, taken in the order the package lists them); its
//!   targets must be files inside the package. Without `exports`, `module`, then `main`, then
//!   `index` is the entry, and a subpath is a file of the package as for relative specifiers.
//! - Names the bundle holds as they are (`cloudflare:workers`) resolve to themselves.
//!
//! The result is a list of [`Link`]s, one per import whose module differs from what the
//! interpreter's own rule (QuickJS joins a leading `./`/`../` to the importer's folder and takes
//! every other name as it is) would find; the interpreter looks them up when it links modules.

use std::collections::{BTreeSet, HashMap};
use std::ops::Bound;

use serde_json::Value;

use crate::error::{Error, Result};
use crate::js::builtins::{self, BUILTINS};

/// Endings tried, in order, for a specifier that names a module without one.
const EXTENSIONS: &[&str] = &[".ts", ".js", ".mjs", ".json"];

/// The `exports` conditions a bundle matches, as Cloudflare's bundler does for Workers.
const CONDITIONS: &[&str] = &["workerd", "worker", "import", "default"];

const NODE_MODULES: &str = "node_modules";

/// An import the interpreter must be told about: `specifier`, imported by `importer`, is module
/// `target`.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub struct Link {
    pub importer: String,
    pub specifier: String,
    pub target: String,
}

/// The bundle's module names and the text of its `package.json` files.
pub struct Resolver<'a> {
    names: BTreeSet<&'a str>,
    texts: HashMap<&'a str, &'a str>,
}

impl<'a> Resolver<'a> {
    /// A resolver over `modules` (name and text; only `package.json` texts are read).
    pub fn new(modules: impl IntoIterator<Item = (&'a str, &'a str)>) -> Self {
        let mut names = BTreeSet::new();
        let mut texts = HashMap::new();
        for (name, text) in modules {
            names.insert(name);
            if name == "package.json" || name.ends_with("/package.json") {
                texts.insert(name, text);
            }
        }
        Self { names, texts }
    }

    /// The links for every `(importer, specifiers)`, sorted by importer, then specifier (the
    /// order the interpreter searches them in). An import that does not resolve is a load error
    /// naming the importer and the specifier.
    pub fn links<'s>(&self, imports: impl IntoIterator<Item = (&'s str, &'s [String])>) -> Result<Vec<Link>> {
        let mut links = BTreeSet::new();
        for (importer, specifiers) in imports {
            for specifier in specifiers {
                let target = self.resolve(importer, specifier)?;
                if target != quickjs_name(importer, specifier) {
                    links.insert(Link { importer: importer.into(), specifier: specifier.clone(), target });
                }
            }
        }
        Ok(links.into_iter().collect())
    }

    /// The module `specifier` names when `importer` imports it.
    pub fn resolve(&self, importer: &str, specifier: &str) -> Result<String> {
        let fail = |why: String| Error::Load(format!("{importer}: could not resolve import {specifier:?}: {why}"));
        if specifier.contains('\0') {
            return Err(fail("a module name cannot contain NUL".into()));
        }
        // Built-ins come first, as in Node.js: a package cannot shadow `buffer`.
        if let Some(builtin) = builtins::builtin_for(specifier) {
            return Ok(builtin.into());
        }
        if self.names.contains(specifier) && !specifier.starts_with(['.', '/']) {
            return Ok(specifier.into());
        }
        if is_relative(specifier) || specifier.starts_with('/') {
            let base = if specifier.starts_with('/') { "" } else { parent(importer) };
            let path = join(base, specifier).ok_or_else(|| fail("it leads outside the bundle".into()))?;
            return self
                .file(&path)
                .ok_or_else(|| fail(format!("no module {path:?} (nor with {}) in the bundle", tried())));
        }
        if specifier.starts_with("node:") {
            let offered: Vec<&str> = BUILTINS.iter().filter_map(|(name, _)| name.strip_prefix("node:")).collect();
            return Err(fail(format!(
                "this Node.js module is not available; the ones offered are {}",
                offered.join(", ")
            )));
        }
        let (package, subpath) = split_package(specifier).ok_or_else(|| fail("not a valid package name".into()))?;
        let root = self
            .package_root(importer, package)
            .ok_or_else(|| fail(format!("no package {package:?} in a node_modules folder of the bundle")))?;
        self.in_package(&root, package, &subpath).map_err(fail)
    }

    /// `path` as a module, or without its ending, or as a folder with an `index`.
    fn file(&self, path: &str) -> Option<String> {
        if self.names.contains(path) {
            return Some(path.into());
        }
        if let Some(stem) = path.strip_suffix(".js") {
            let ts = format!("{stem}.ts");
            if self.names.contains(ts.as_str()) {
                return Some(ts);
            }
        }
        let index = if path.is_empty() { "index".to_owned() } else { format!("{path}/index") };
        [path, index.as_str()].into_iter().find_map(|stem| {
            EXTENSIONS.iter().map(|ending| format!("{stem}{ending}")).find(|name| self.names.contains(name.as_str()))
        })
    }

    /// The folder of the nearest package called `package` above `importer`.
    fn package_root(&self, importer: &str, package: &str) -> Option<String> {
        let mut folder = parent(importer);
        loop {
            if folder.rsplit('/').next() != Some(NODE_MODULES) {
                let root = prefixed(folder, &format!("{NODE_MODULES}/{package}"));
                let inside = format!("{root}/");
                if self
                    .names
                    .range::<str, _>((Bound::Included(inside.as_str()), Bound::Unbounded))
                    .next()
                    .is_some_and(|name| name.starts_with(&inside))
                {
                    return Some(root);
                }
            }
            if folder.is_empty() {
                return None;
            }
            folder = parent(folder);
        }
    }

    /// `subpath` (`.` or `./…`) of the package at `root`.
    fn in_package(&self, root: &str, package: &str, subpath: &str) -> std::result::Result<String, String> {
        let manifest_name = format!("{root}/package.json");
        let manifest: Option<Value> = match self.texts.get(manifest_name.as_str()) {
            Some(text) => {
                Some(serde_json::from_str(text).map_err(|e| format!("{manifest_name} is not valid JSON: {e}"))?)
            }
            None => None,
        };
        let exports = manifest.as_ref().and_then(|m| m.get("exports")).filter(|e| !e.is_null());
        if let Some(exports) = exports {
            let target = exports_target(exports, subpath)
                .map_err(|why| format!("{manifest_name}: {why}"))?
                .ok_or_else(|| format!("package {package:?} does not export {subpath:?}"))?;
            let path = inside_package(root, &target)
                .ok_or_else(|| format!("{manifest_name} maps {subpath:?} to {target:?}, outside the package"))?;
            return match self.names.contains(path.as_str()) {
                true => Ok(path),
                false => Err(format!("{manifest_name} maps {subpath:?} to {target:?}, which is not in the bundle")),
            };
        }
        if subpath != "." {
            let path = join(root, subpath)
                .filter(|path| path.starts_with(&format!("{root}/")))
                .ok_or("it leads outside the package")?;
            return self.file(&path).ok_or_else(|| format!("no module {path:?} (nor with {}) in the bundle", tried()));
        }
        for field in ["module", "main"] {
            if let Some(entry) = manifest.as_ref().and_then(|m| m.get(field)).and_then(Value::as_str) {
                let path = inside_package(root, &format!("./{}", entry.trim_start_matches("./")))
                    .ok_or_else(|| format!("{manifest_name}'s {field:?} {entry:?} is outside the package"))?;
                return self.file(&path).ok_or_else(|| {
                    format!(
                        "{manifest_name}'s {field:?} is {entry:?}, which is not in the bundle (nor with {})",
                        tried()
                    )
                });
            }
        }
        self.file(&format!("{root}/index"))
            .ok_or_else(|| format!("package {package:?} has no entry (no exports, module, main or index module)"))
    }
}

/// What an `exports` field maps `subpath` to (`None`: not exported).
fn exports_target(exports: &Value, subpath: &str) -> std::result::Result<Option<String>, String> {
    let is_subpath_map =
        |map: &serde_json::Map<String, Value>| map.keys().next().is_some_and(|key| key.starts_with('.'));
    let map = match exports {
        Value::Object(map) if is_subpath_map(map) => map,
        // A string, an array or conditions: what the package's root exports.
        other => return if subpath == "." { conditional_target(other, None) } else { Ok(None) },
    };
    if map.keys().any(|key| !key.starts_with('.')) {
        return Err("\"exports\" mixes subpaths and conditions".into());
    }
    if let Some(target) = map.get(subpath) {
        return conditional_target(target, None);
    }
    // The most specific `*` pattern wins: the longest text before the `*`, then the longest key.
    let mut best: Option<(&str, &str)> = None;
    for key in map.keys() {
        let Some((prefix, suffix)) = key.split_once('*') else { continue };
        let matches =
            subpath.len() >= prefix.len() + suffix.len() && subpath.starts_with(prefix) && subpath.ends_with(suffix);
        let better = best.is_none_or(|(best_key, _)| {
            let best_prefix = best_key.split_once('*').map_or(0, |(p, _)| p.len());
            (prefix.len(), key.len()) > (best_prefix, best_key.len())
        });
        if matches && better {
            best = Some((key.as_str(), &subpath[prefix.len()..subpath.len() - suffix.len()]));
        }
    }
    match best {
        Some((key, star)) => conditional_target(&map[key], Some(star)),
        None => Ok(None),
    }
}

/// A target of `exports`: a path, conditions (the first one we match, in the package's order),
/// or alternatives (the first that resolves).
fn conditional_target(target: &Value, star: Option<&str>) -> std::result::Result<Option<String>, String> {
    match target {
        Value::Null => Ok(None),
        Value::String(path) => {
            if !path.starts_with("./") {
                return Err(format!("export target {path:?} does not start with \"./\""));
            }
            Ok(Some(match star {
                Some(star) => path.replace('*', star),
                None => path.clone(),
            }))
        }
        Value::Object(conditions) => {
            for (condition, value) in conditions {
                if CONDITIONS.contains(&condition.as_str())
                    && let Some(path) = conditional_target(value, star)?
                {
                    return Ok(Some(path));
                }
            }
            Ok(None)
        }
        Value::Array(alternatives) => {
            let mut last_error = None;
            for alternative in alternatives {
                match conditional_target(alternative, star) {
                    Ok(Some(path)) => return Ok(Some(path)),
                    Ok(None) => {}
                    Err(e) => last_error = Some(e),
                }
            }
            last_error.map_or(Ok(None), Err)
        }
        other => Err(format!("export target {other} is not a path, conditions or a list")),
    }
}

/// `target` (`./…`) of the package at `root`, if it stays inside it and out of `node_modules`.
fn inside_package(root: &str, target: &str) -> Option<String> {
    let relative = target.strip_prefix("./")?;
    if relative.split('/').any(|segment| matches!(segment, "" | "." | ".." | NODE_MODULES)) {
        return None;
    }
    Some(format!("{root}/{relative}"))
}

fn is_relative(specifier: &str) -> bool {
    matches!(specifier, "." | "..") || specifier.starts_with("./") || specifier.starts_with("../")
}

/// The folder of module `name` (`""` at the top).
fn parent(name: &str) -> &str {
    name.rfind('/').map_or("", |slash| &name[..slash])
}

fn prefixed(folder: &str, rest: &str) -> String {
    if folder.is_empty() { rest.to_owned() } else { format!("{folder}/{rest}") }
}

/// `specifier` joined to `folder`, its `.` and `..` segments applied; `None` above the top.
fn join(folder: &str, specifier: &str) -> Option<String> {
    let mut segments: Vec<&str> = folder.split('/').filter(|s| !s.is_empty()).collect();
    for segment in specifier.split('/') {
        match segment {
            "" | "." => {}
            ".." => {
                segments.pop()?;
            }
            other => segments.push(other),
        }
    }
    Some(segments.join("/"))
}

/// `pkg` or `@scope/pkg`, and the rest as `.` or `./…`.
fn split_package(specifier: &str) -> Option<(&str, String)> {
    let mut end = specifier.find('/').unwrap_or(specifier.len());
    if specifier.starts_with('@') {
        let rest = specifier.get(end + 1..)?;
        end += 1 + rest.find('/').unwrap_or(rest.len());
    }
    let package = &specifier[..end];
    if package.is_empty() || package.ends_with('/') || package.starts_with('.') || package.contains('\\') {
        return None;
    }
    let subpath = match &specifier[end..] {
        "" => ".".to_owned(),
        rest => format!(".{rest}"),
    };
    Some((package, subpath))
}

fn tried() -> String {
    let mut endings = EXTENSIONS.join(", ");
    endings.push_str(", or as a folder's index");
    endings
}

/// The module QuickJS's own rule gives `specifier` imported by `importer`: a leading run of
/// `./` and `../` is applied to the importer's folder, anything else is taken as it is.
pub fn quickjs_name(importer: &str, specifier: &str) -> String {
    if !specifier.starts_with('.') {
        return specifier.to_owned();
    }
    let mut folder = parent(importer).to_owned();
    let mut rest = specifier;
    loop {
        if let Some(after) = rest.strip_prefix("./") {
            rest = after;
        } else if let Some(after) = rest.strip_prefix("../") {
            if folder.is_empty() {
                break;
            }
            let last = folder.rfind('/').map_or(0, |slash| slash + 1);
            if matches!(&folder[last..], "." | "..") {
                break;
            }
            folder.truncate(last.saturating_sub(1));
            rest = after;
        } else {
            break;
        }
    }
    if !folder.is_empty() {
        folder.push('/');
    }
    folder + rest
}

#[cfg(test)]
mod tests {
    use super::*;

    fn resolver(names: &[(&'static str, &'static str)]) -> Resolver<'static> {
        Resolver::new(names.iter().copied())
    }

    fn message(result: Result<String>) -> String {
        match result {
            Err(Error::Load(message)) => message,
            other => panic!("expected a load error, got {other:?}"),
        }
    }

    #[test]
    fn relative_specifiers_find_modules_with_or_without_their_ending() {
        let r = resolver(&[
            ("src/main.ts", ""),
            ("src/util.ts", ""),
            ("src/lib/index.js", ""),
            ("src/data.json", ""),
            ("src/index.ts", ""),
            ("top.mjs", ""),
        ]);
        assert_eq!(r.resolve("src/main.ts", "./util").unwrap(), "src/util.ts");
        assert_eq!(r.resolve("src/main.ts", "./util.js").unwrap(), "src/util.ts");
        assert_eq!(r.resolve("src/main.ts", "./util.ts").unwrap(), "src/util.ts");
        assert_eq!(r.resolve("src/main.ts", "./lib").unwrap(), "src/lib/index.js");
        assert_eq!(r.resolve("src/main.ts", "./lib/").unwrap(), "src/lib/index.js");
        assert_eq!(r.resolve("src/main.ts", "./data").unwrap(), "src/data.json");
        assert_eq!(r.resolve("src/main.ts", "../top").unwrap(), "top.mjs");
        assert_eq!(r.resolve("src/lib/index.js", "..").unwrap(), "src/index.ts");
        assert_eq!(r.resolve("src/lib/index.js", "/top.mjs").unwrap(), "top.mjs");
    }

    #[test]
    fn a_folder_is_its_index_only_when_no_module_has_its_name() {
        let r = resolver(&[("a.js", ""), ("a/index.js", ""), ("main.js", "")]);
        assert_eq!(r.resolve("main.js", "./a").unwrap(), "a.js");
    }

    #[test]
    fn unresolvable_relative_imports_name_the_importer_and_the_specifier() {
        let r = resolver(&[("src/main.js", "")]);
        let text = message(r.resolve("src/main.js", "./missing"));
        assert!(text.starts_with("src/main.js: could not resolve import \"./missing\""), "{text}");
        assert!(text.contains("\"src/missing\""), "{text}");
        let text = message(r.resolve("src/main.js", "../../x"));
        assert!(text.contains("outside the bundle"), "{text}");
    }

    #[test]
    fn built_ins_resolve_before_packages_and_unknown_node_modules_are_named() {
        let r = resolver(&[("main.js", ""), ("node_modules/buffer/index.js", "")]);
        assert_eq!(r.resolve("main.js", "cloudflare:workers").unwrap(), "cloudflare:workers");
        assert_eq!(r.resolve("main.js", "buffer").unwrap(), "node:buffer");
        assert_eq!(r.resolve("main.js", "node:util/types").unwrap(), "node:util/types");
        let text = message(r.resolve("main.js", "node:fs"));
        assert!(text.contains("not available; the ones offered are assert, assert/strict, async_hooks"), "{text}");
    }

    #[test]
    fn packages_come_from_the_nearest_node_modules_folder() {
        let r = resolver(&[
            ("src/main.js", ""),
            ("node_modules/a/index.js", ""),
            ("node_modules/b/package.json", r#"{"main": "lib/b.js"}"#),
            ("node_modules/b/lib/b.js", ""),
            ("node_modules/b/node_modules/a/index.js", ""),
            ("node_modules/@s/c/package.json", r#"{"module": "./esm.js", "main": "cjs.js"}"#),
            ("node_modules/@s/c/esm.js", ""),
            ("node_modules/@s/c/extra/thing.js", ""),
        ]);
        assert_eq!(r.resolve("src/main.js", "a").unwrap(), "node_modules/a/index.js");
        assert_eq!(r.resolve("src/main.js", "b").unwrap(), "node_modules/b/lib/b.js");
        assert_eq!(r.resolve("node_modules/b/lib/b.js", "a").unwrap(), "node_modules/b/node_modules/a/index.js");
        assert_eq!(r.resolve("src/main.js", "@s/c").unwrap(), "node_modules/@s/c/esm.js");
        assert_eq!(r.resolve("src/main.js", "@s/c/extra/thing").unwrap(), "node_modules/@s/c/extra/thing.js");
        assert!(message(r.resolve("src/main.js", "d")).contains("no package \"d\""));
        assert!(message(r.resolve("src/main.js", "@s")).contains("not a valid package name"));
    }

    #[test]
    fn exports_take_our_conditions_in_the_packages_order() {
        let manifest = r#"{"exports": {
            ".": {"node": "./node.js", "worker": "./worker.js", "workerd": "./workerd.js", "default": "./default.js"},
            "./feature": [{"require": "./f.cjs"}, "./f.js"],
            "./utils/*": {"import": "./dist/utils/*.js"},
            "./utils/private/*": null,
            "./package.json": "./package.json"
        }}"#;
        let r = Resolver::new([
            ("main.js", ""),
            ("node_modules/p/package.json", manifest),
            ("node_modules/p/worker.js", ""),
            ("node_modules/p/workerd.js", ""),
            ("node_modules/p/f.js", ""),
            ("node_modules/p/dist/utils/x/y.js", ""),
        ]);
        assert_eq!(r.resolve("main.js", "p").unwrap(), "node_modules/p/worker.js");
        assert_eq!(r.resolve("main.js", "p/feature").unwrap(), "node_modules/p/f.js");
        assert_eq!(r.resolve("main.js", "p/utils/x/y").unwrap(), "node_modules/p/dist/utils/x/y.js");
        assert!(message(r.resolve("main.js", "p/utils/private/z")).contains("does not export \"./utils/private/z\""));
        assert!(message(r.resolve("main.js", "p/worker.js")).contains("does not export"));
    }

    #[test]
    fn export_targets_must_be_files_inside_the_package() {
        let r = Resolver::new([
            ("main.js", ""),
            ("secret.js", ""),
            (
                "node_modules/p/package.json",
                r#"{"exports": {".": "./../../secret.js", "./x": "./missing.js", "./y": "y.js"}}"#,
            ),
            ("node_modules/q/package.json", r#"{"exports": "./dist/q.js"}"#),
            ("node_modules/r/package.json", "{not json"),
            ("node_modules/s/package.json", r#"{"main": "../../secret.js"}"#),
        ]);
        assert!(message(r.resolve("main.js", "p")).contains("outside the package"));
        assert!(message(r.resolve("main.js", "p/x")).contains("\"./missing.js\", which is not in the bundle"));
        assert!(message(r.resolve("main.js", "p/y")).contains("does not start with \"./\""));
        assert!(message(r.resolve("main.js", "q")).contains("which is not in the bundle"));
        assert!(message(r.resolve("main.js", "r")).contains("is not valid JSON"));
        assert!(message(r.resolve("main.js", "s")).contains("outside the package"));
    }

    #[test]
    fn links_are_only_the_imports_quickjs_would_not_find_sorted() {
        let r = resolver(&[("b.js", ""), ("a.js", ""), ("lib/index.js", ""), ("cloudflare:workers", "")]);
        let imports = [
            ("b.js", vec!["./a.js".to_owned(), "./lib".to_owned(), "cloudflare:workers".to_owned()]),
            ("a.js", vec!["./b".to_owned()]),
        ];
        let links = r.links(imports.iter().map(|(i, s)| (*i, s.as_slice()))).unwrap();
        let got: Vec<_> =
            links.iter().map(|l| (l.importer.as_str(), l.specifier.as_str(), l.target.as_str())).collect();
        assert_eq!(got, [("a.js", "./b", "b.js"), ("b.js", "./lib", "lib/index.js")]);
    }

    #[test]
    fn quickjs_names_follow_its_rule() {
        assert_eq!(quickjs_name("a/b/c.js", "./d.js"), "a/b/d.js");
        assert_eq!(quickjs_name("a/b/c.js", "../d.js"), "a/d.js");
        assert_eq!(quickjs_name("a/b/c.js", "../../../d.js"), "../d.js");
        assert_eq!(quickjs_name("c.js", "./x/../d.js"), "x/../d.js");
        assert_eq!(quickjs_name("a/c.js", "pkg"), "pkg");
        assert_eq!(quickjs_name("<dynisolate>", "main.js"), "main.js");
    }
}
