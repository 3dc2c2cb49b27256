//! TypeScript that type stripping cannot turn into JavaScript: `enum`, `const enum`, namespaces
//! holding values, constructor parameter properties, `import x = A.B`, and the angle-bracket
//! assertions and arrow return types whose removal would change the program. oxc's transformer
//! (the TypeScript preset, nothing lowered beyond it) rewrites the module and oxc's code generator
//! prints it with a source map, which becomes a [`PositionMap`]: the interpreter reports positions
//! in the generated code, and a worker maps them back (`SourcePositions`) so errors still point at
//! the line and column the tenant wrote.
//!
//! Stripping stays the first choice (`typescript.rs`): its output keeps every position, costs one
//! parse, and most modules need nothing more.

use std::collections::HashMap;
use std::path::PathBuf;

use oxc_allocator::Allocator;
use oxc_codegen::{Codegen, CodegenOptions};
use oxc_parser::Parser;
use oxc_semantic::SemanticBuilder;
use oxc_span::SourceType;
use oxc_transformer::{TransformOptions, Transformer};
use serde_json::Value;

use crate::error::Error;
use crate::js::typescript::TypeScriptError;

/// Generated positions and the source positions they came from: `[generated line, generated
/// column, source line, source column]`, 1-based, columns in UTF-8 bytes (the interpreter's
/// convention), sorted by generated position.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct PositionMap(Vec<[u32; 4]>);

impl PositionMap {
    /// Where the tenant wrote what the generated code has at `line`:`column`: the nearest mapped
    /// position at or before it on the same line (else the first one after it on that line).
    pub fn original(&self, line: u32, column: u32) -> Option<(u32, u32)> {
        let after = self.0.partition_point(|&[l, c, _, _]| (l, c) <= (line, column));
        let before = after.checked_sub(1).map(|i| self.0[i]).filter(|entry| entry[0] == line);
        let entry = before.or_else(|| self.0.get(after).copied().filter(|entry| entry[0] == line))?;
        Some((entry[2], entry[3]))
    }

    fn to_json(&self) -> Value {
        Value::Array(self.0.iter().flatten().map(|&n| Value::from(n)).collect())
    }

    fn from_json(value: &Value) -> Option<Self> {
        let numbers: Vec<u32> =
            value.as_array()?.iter().map(|n| n.as_u64().and_then(|n| u32::try_from(n).ok())).collect::<Option<_>>()?;
        let entries = numbers.chunks_exact(4).map(|c| [c[0], c[1], c[2], c[3]]).collect();
        Some(Self(entries))
    }
}

/// The generated JavaScript of a module and where its positions came from.
pub struct Generated {
    pub code: String,
    pub positions: PositionMap,
}

/// Rewrites the TypeScript module `source` into JavaScript with oxc's transformer. Call it on a
/// stack with room for the parser (`typescript::on_parser_stack`).
pub fn generate(source: &str, filename: &str) -> Result<Generated, TypeScriptError> {
    let allocator = Allocator::default();
    let parsed = Parser::new(&allocator, source, SourceType::ts().with_module(true)).parse();
    if let Some(diagnostic) = parsed.diagnostics.errors().next() {
        let offset = diagnostic.labels.first().map_or(0, |label| label.offset());
        return Err(TypeScriptError::at(source, filename, offset, diagnostic.message.to_string()));
    }
    let mut program = parsed.program;
    let semantic = SemanticBuilder::new().with_excess_capacity(2.0).with_enum_eval(true).build(&program);
    let path = PathBuf::from(filename);
    // The default options are the TypeScript preset alone: no JSX, no lowering of newer syntax
    // (QuickJS-ng runs it), type-only imports elided as tsc does.
    let options = TransformOptions::default();
    let transformed = Transformer::new(&allocator, &path, &options)
        .build_with_scoping(semantic.semantic.into_scoping(), &mut program);
    if let Some(diagnostic) = transformed.diagnostics.errors().next() {
        let offset = diagnostic.labels.first().map_or(0, |label| label.offset());
        return Err(TypeScriptError::at(source, filename, offset, diagnostic.message.to_string()));
    }
    let printed = Codegen::new()
        .with_options(CodegenOptions { source_map_path: Some(path), ..CodegenOptions::default() })
        .build(&program);
    let map = printed.map.expect("a source map was asked for");
    let generated_lines = Lines::new(&printed.code);
    let source_lines = Lines::new(source);
    let mut entries: Vec<[u32; 4]> = map
        .get_tokens()
        .filter_map(|token| {
            let (line, column) = generated_lines.byte_position(token.get_dst_line(), token.get_dst_col())?;
            let (source_line, source_column) = source_lines.byte_position(token.get_src_line(), token.get_src_col())?;
            Some([line, column, source_line, source_column])
        })
        .collect();
    entries.sort_unstable();
    entries.dedup_by_key(|entry| (entry[0], entry[1]));
    Ok(Generated { code: printed.code, positions: PositionMap(entries) })
}

/// A text's lines, to turn a source map's 0-based line and UTF-16 column into the interpreter's
/// 1-based line and 1-based UTF-8 byte column.
struct Lines<'a> {
    lines: Vec<&'a str>,
}

impl<'a> Lines<'a> {
    fn new(text: &'a str) -> Self {
        Self { lines: text.split('\n').collect() }
    }

    fn byte_position(&self, line: u32, utf16_column: u32) -> Option<(u32, u32)> {
        let text = self.lines.get(line as usize)?;
        let bytes = if text.is_ascii() {
            (utf16_column as usize).min(text.len())
        } else {
            let mut units = 0;
            text.char_indices()
                .find(|(_, c)| {
                    let reached = units >= utf16_column as usize;
                    units += c.len_utf16();
                    reached
                })
                .map_or(text.len(), |(at, _)| at)
        };
        Some((line + 1, u32::try_from(bytes + 1).ok()?))
    }
}

/// The position maps of a bundle's generated modules, by module name.
#[derive(Clone, Debug, Default)]
pub struct SourcePositions(HashMap<String, PositionMap>);

impl SourcePositions {
    pub fn insert(&mut self, module: &str, map: PositionMap) {
        self.0.insert(module.to_owned(), map);
    }

    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    /// The maps as kept in a cached bundle's description.
    pub fn to_json(&self) -> Value {
        Value::Object(self.0.iter().map(|(name, map)| (name.clone(), map.to_json())).collect())
    }

    pub fn from_json(value: &Value) -> Self {
        let maps = value.as_object().into_iter().flatten();
        Self(maps.filter_map(|(name, map)| Some((name.clone(), PositionMap::from_json(map)?))).collect())
    }

    /// `error` with the positions in a guest error's stack mapped back to the tenant's source.
    pub fn remap(&self, error: Error) -> Error {
        match error {
            Error::Guest { name, message, stack } if !self.is_empty() => {
                Error::Guest { name, message, stack: self.remap_text(&stack) }
            }
            other => other,
        }
    }

    /// `text` with every `module:line:column` of a generated module mapped back.
    pub fn remap_text(&self, text: &str) -> String {
        let mut out = text.to_owned();
        for (module, map) in &self.0 {
            out = remap_module(&out, module, map);
        }
        out
    }
}

fn remap_module(text: &str, module: &str, map: &PositionMap) -> String {
    let pattern = format!("{module}:");
    let mut out = String::with_capacity(text.len());
    let mut rest = text;
    while let Some(at) = rest.find(&pattern) {
        let starts_name = at == 0 || rest[..at].ends_with(['(', ' ', '\n', '@']);
        let (head, tail) = rest.split_at(at + pattern.len());
        out.push_str(head);
        rest = tail;
        if !starts_name {
            continue;
        }
        let digits = |s: &str| s.bytes().take_while(u8::is_ascii_digit).count();
        let line_len = digits(rest);
        let Some(after_line) = rest.get(line_len..).and_then(|s| s.strip_prefix(':')) else { continue };
        let column_len = digits(after_line);
        let (Ok(line), Ok(column)) = (rest[..line_len].parse::<u32>(), after_line[..column_len].parse::<u32>()) else {
            continue;
        };
        if let Some((line, column)) = map.original(line, column) {
            out.push_str(&format!("{line}:{column}"));
            rest = &after_line[column_len..];
        }
    }
    out.push_str(rest);
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_enum_and_parameter_properties_run_as_javascript() {
        let out = generate("enum E { A, B = 5 }\nclass P { constructor(private x: number) {} }\n", "m.ts").unwrap();
        assert!(out.code.contains("E[E[\"A\"] = 0] = \"A\""), "{}", out.code);
        assert!(out.code.contains("this.x = x"), "{}", out.code);
    }

    #[test]
    fn generated_positions_map_back_to_the_source() {
        let source = "enum E { A }\n\nfunction f(): void {\n  throw new Error(\"x\");\n}\n";
        let out = generate(source, "m.ts").unwrap();
        let line = out.code.lines().position(|l| l.contains("throw")).unwrap() as u32 + 1;
        let column = out.code.lines().nth(line as usize - 1).unwrap().find("throw").unwrap() as u32 + 1;
        assert_eq!(out.positions.original(line, column), Some((4, 3)));
    }

    #[test]
    fn stacks_are_rewritten_only_for_generated_modules() {
        let mut positions = SourcePositions::default();
        positions.insert("m.ts", PositionMap(vec![[3, 1, 9, 5], [3, 10, 9, 20]]));
        let stack = "    at f (m.ts:3:12)\n    at g (am.ts:3:12)\n    at h (other.ts:3:12)\n    at m.ts:7:1\n";
        assert_eq!(
            positions.remap_text(stack),
            "    at f (m.ts:9:20)\n    at g (am.ts:3:12)\n    at h (other.ts:3:12)\n    at m.ts:7:1\n"
        );
    }

    #[test]
    fn a_source_with_non_ascii_text_maps_byte_columns() {
        let lines = Lines::new("é = 1;\n😀x");
        assert_eq!(lines.byte_position(0, 1), Some((1, 3)));
        assert_eq!(lines.byte_position(1, 2), Some((2, 5)));
    }
}
