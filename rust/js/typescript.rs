//! TypeScript to JavaScript by type stripping: every TypeScript-only piece of syntax is overwritten
//! with whitespace, in place.
//!
//! Tenant modules may be written in TypeScript, and their errors must point at the `.ts` source the
//! tenant wrote. Rather than generating code and a source map, we parse with oxc, collect the byte
//! ranges of type-only syntax (annotations, `<T>` parameters and arguments, `interface`, `type`,
//! `declare`, overloads, `as`/`satisfies`/`!`, `implements`, member modifiers such as `private`,
//! type-only imports and exports, `this` parameters, …) and blank them. Line terminators inside a blanked
//! range are kept and every other character becomes whitespace of the same UTF-8 length (a space;
//! U+00A0, U+2002 or space + U+FEFF for 2-, 3- and 4-byte characters), so the output is exactly as long
//! as the input and every remaining token keeps its line and byte column (and its UTF-16 column).
//!
//! Blanking alone can change how JavaScript's automatic semicolon insertion reads the result, so a few
//! blanked bytes are overwritten with a character instead, never shifting anything:
//! - a removed statement followed by a line starting with `(`, `[`, `` ` ``, `+`, `-`, `/` or `<` gets
//!   a `;`, as does an `x as T` / `x satisfies T` statement followed by `(`, `[` or `` ` ``, so the lines
//!   do not join; a removed statement that is the whole body of an `if` or loop becomes `;`;
//! - a removed class member, or a member whose first token was a blanked modifier, after a field with
//!   no `;` gets a `;`, as does a field named `get`/`set`/`static`/`async`/`accessor` whose type is
//!   blanked (else `get: number` followed by `m() {}` would read as a getter);
//! - an arrow function whose return type spans lines (`(a)\n: T =>`) has its `)` moved onto the `=>`
//!   line, since JavaScript forbids a line break before `=>`; a generic arrow whose `<T>` spans lines
//!   has its `(` moved to where `<` was, as `async` and `return` must share a line with what follows.
//!
//! Imports follow `tsc`'s (and esbuild's) default elision, decided within the file: an import binding
//! that no JavaScript in the module refers to can only be a type, so it is blanked, and an import left
//! with no binding goes entirely (`import "m"` and `import {} from "m"` stay, for their side effects).
//! `export { T }` and `export default T` of a name declared here only as a type go too. A field `x: T;`
//! stays as the JavaScript field `x;` (initialised to `undefined`, as with `useDefineForClassFields`);
//! `declare x: T;` vanishes.
//!
//! Syntax with runtime semantics cannot be erased. [`strip_types`] rejects it with a [`TypeScriptError`]
//! naming the construct: `enum` and `const enum` (unless `declare`), namespaces and `module` blocks
//! holding values (type-only or `declare` ones are erased), constructor parameter properties
//! (`constructor(private x: T)`), `import x = require(…)` and `import x = A.B`, `export =`, decorators
//! (QuickJS has none), and angle-bracket assertions `<T>x` in the two places where erasing them would
//! change the program (before `{`/`function`/`class`/`let`/`async` at the start of a statement or an
//! arrow body, and split from the operand by a line break after `return`/`throw`/`yield`).
//! [`to_javascript`], what bundles use, hands the module to oxc's transformer instead when the
//! construct has a JavaScript equivalent (`transform.rs`; all of the above but `require`, `export =`
//! and decorators). JSX is not
//! parsed (`.tsx` is out of scope). Positions are 1-based lines (counted by `\n`) and 1-based UTF-8
//! byte columns, the convention QuickJS-ng uses for its own errors.
//!
//! The source is untrusted: the parser recurses once per nesting level without a limit, so stripping
//! runs on a stack sized for the worst case of the source's length (see [`MAX_SOURCE_BYTES`]), and a
//! panic becomes an error instead of unwinding into the caller.

use std::fmt;

use oxc_allocator::{Allocator, ArenaVec};
use oxc_ast::ast::*;
use oxc_ast_visit::{VisitJs, walk_js};
use oxc_parser::Parser;
use oxc_span::{GetSpan, SourceType, Span};
use oxc_str::{IdentHashMap, IdentHashSet};
use oxc_syntax::scope::ScopeFlags;

use crate::js::transform::{self, PositionMap};

/// Why a TypeScript module could not be turned into JavaScript: a syntax error, or syntax that needs
/// code generation. Displays as `{filename}:{line}:{column}: {message}`; `message` has no position.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TypeScriptError {
    /// The `filename` given to [`strip_types`].
    pub filename: String,
    /// What is wrong, without the position.
    pub message: String,
    /// 1-based line.
    pub line: u32,
    /// 1-based column, in UTF-8 bytes from the start of the line.
    pub column: u32,
}

impl TypeScriptError {
    pub(crate) fn at(source: &str, filename: &str, offset: u32, message: String) -> Self {
        let offset = (offset as usize).min(source.len());
        let before = &source.as_bytes()[..offset];
        let line_start = before.iter().rposition(|&b| b == b'\n').map_or(0, |i| i + 1);
        let line = before.iter().filter(|&&b| b == b'\n').count() + 1;
        TypeScriptError {
            filename: filename.to_owned(),
            message,
            line: u32::try_from(line).unwrap_or(u32::MAX),
            column: u32::try_from(offset - line_start + 1).unwrap_or(u32::MAX),
        }
    }
}

impl fmt::Display for TypeScriptError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}:{}:{}: {}", self.filename, self.line, self.column, self.message)
    }
}

impl std::error::Error for TypeScriptError {}

/// Sources above this are refused: the stack reserved for the parser grows with the source (below).
pub const MAX_SOURCE_BYTES: usize = 512 << 10;

/// oxc's parser (and our visitor) recurse once per nesting level with no depth limit, so a tenant's
/// `((((…` could overflow the stack and abort the process. Every level consumes at least one source
/// byte and, measured with optimised oxc, at most about 1.9 KB of stack (`[[[…` in a type), so this
/// much stack per source byte can never overflow, whatever the nesting.
const STACK_PER_SOURCE_BYTE: usize = 3 << 10;
const STACK_BASE: usize = 256 << 10;

/// Strips TypeScript types from the ES module `source`, returning JavaScript of exactly the same byte
/// length with every remaining token at its original line and column; `filename` is used in errors.
///
/// Runs on the caller's stack when it has room for the worst case, else on a freshly mapped stack of
/// that size (virtual memory: only the pages actually used are touched).
pub fn strip_types(source: &str, filename: &str) -> Result<String, TypeScriptError> {
    on_parser_stack(source, filename, || strip_on_this_stack(source, filename))
}

/// JavaScript for the TypeScript module `source`: its types stripped, or, for syntax that needs
/// code generation (`enum`, namespaces with values, parameter properties, ...), rewritten by oxc's
/// transformer (`transform.rs`), with the map from generated positions back to the source.
pub(crate) fn to_javascript(source: &str, filename: &str) -> Result<(String, Option<PositionMap>), TypeScriptError> {
    on_parser_stack(source, filename, || match strip_on_this_stack(source, filename) {
        Ok(code) => Ok((code, None)),
        Err(e) if NEEDS_CODE_GENERATION.contains(&e.message.as_str()) => {
            transform::generate(source, filename).map(|generated| (generated.code, Some(generated.positions)))
        }
        Err(e) => Err(e),
    })
}

/// Runs `parse` (oxc's parser and what walks its tree) on a stack with room for any nesting of
/// `source`, turning a panic into an error against the module.
fn on_parser_stack<R>(
    source: &str,
    filename: &str,
    parse: impl FnOnce() -> Result<R, TypeScriptError>,
) -> Result<R, TypeScriptError> {
    let fail = |message: String| Err(TypeScriptError::at(source, filename, 0, message));
    if source.len() > MAX_SOURCE_BYTES {
        let len = source.len();
        return fail(format!("a TypeScript module can be at most {MAX_SOURCE_BYTES} bytes; this one is {len}"));
    }
    let stack = STACK_BASE + source.len() * STACK_PER_SOURCE_BYTE;
    let on_stack = || stacker::maybe_grow(stack, stack, parse);
    // A panic here (an oxc bug, or no memory for the stack) is reported against this module rather
    // than unwinding into the caller.
    std::panic::catch_unwind(std::panic::AssertUnwindSafe(on_stack))
        .unwrap_or_else(|_| fail("internal error while compiling TypeScript".to_owned()))
}

fn strip_on_this_stack(source: &str, filename: &str) -> Result<String, TypeScriptError> {
    let allocator = Allocator::default();
    let parsed = Parser::new(&allocator, source, SourceType::ts().with_module(true)).parse();
    if let Some(diagnostic) = parsed.diagnostics.errors().next() {
        let offset = diagnostic.labels.first().map_or(0, |label| label.offset());
        let mut message = diagnostic.message.to_string();
        if let Some(help) = &diagnostic.help {
            message = format!("{message} ({help})");
        }
        return Err(TypeScriptError::at(source, filename, offset, message));
    }
    if parsed.panicked {
        return Err(TypeScriptError::at(source, filename, 0, "could not parse the module".to_owned()));
    }
    let mut stripper = Stripper::new(source);
    stripper.collect_module_names(&parsed.program);
    stripper.visit_program(&parsed.program);
    stripper.elide_type_only_bindings(&parsed.program);
    if let Some((offset, message)) = stripper.error {
        return Err(TypeScriptError::at(source, filename, offset, message.to_owned()));
    }
    Ok(stripper.finish())
}

const ENUM: &str = "`enum` is not supported: it needs code generation, not type stripping \
    (use an object literal with `as const`)";
const NAMESPACE: &str = "a `namespace` or `module` holding values is not supported: it needs code generation \
    (only type-only or `declare` ones can be stripped)";
const PARAMETER_PROPERTY: &str = "constructor parameter properties (`private`/`public`/`protected`/`readonly`/\
    `override` on a parameter) are not supported: declare the field and assign it in the constructor";
const IMPORT_REQUIRE: &str = "`import x = require(...)` is not supported: use `import x from \"...\"`";
const IMPORT_ALIAS: &str = "`import x = A.B` aliases are not supported: use `const x = A.B`";
const EXPORT_ASSIGNMENT: &str = "`export =` is not supported: use `export default`";
const DECORATOR: &str = "decorators are not supported";
const NESTED_MODULE_DECLARATION: &str =
    "`import` and `export` declarations can only be used at the top level of a module";
const ASSERTION_AT_START: &str = "an angle-bracket type assertion `<T>` cannot start a statement or arrow body before \
    `{`, `function`, `class`, `let` or `async`: stripping it would change the meaning (use `(x as T)`)";
const ASSERTION_LINE_BREAK: &str = "an angle-bracket type assertion `<T>` followed by a line break after \
    `return`/`throw`/`yield` cannot be stripped: the value would move to the next line (use `x as T`)";
const ARROW_RETURN_TYPE: &str = "cannot strip this arrow function's return type: it spans lines and leaves no room \
    to move `)` next to `=>`";

/// What stripping refuses but oxc's transformer turns into JavaScript that means the same.
/// (`import x = require()` and `export =` would become CommonJS, which a Worker cannot run, and
/// decorators are refused until QuickJS-ng runs them, so those stay errors.)
const NEEDS_CODE_GENERATION: &[&str] =
    &[ENUM, NAMESPACE, PARAMETER_PROPERTY, IMPORT_ALIAS, ASSERTION_AT_START, ASSERTION_LINE_BREAK, ARROW_RETURN_TYPE];

/// What becomes of a statement.
enum Fate {
    Keep,
    /// Type-only: blank it entirely.
    Erase,
    /// Needs code generation.
    Reject(u32, &'static str),
}

fn statement_fate(statement: &Statement<'_>) -> Fate {
    let erase_if = |type_only: bool| if type_only { Fate::Erase } else { Fate::Keep };
    match statement {
        Statement::ImportDeclaration(d) => erase_if(d.import_kind.is_type()),
        Statement::ExportAllDeclaration(d) => erase_if(d.export_kind.is_type()),
        Statement::ExportNamedDeclaration(d) => erase_if(d.export_kind.is_type()),
        Statement::ExportFromDeclaration(d) => erase_if(d.export_kind.is_type()),
        Statement::ExportDeclaration(d) => declaration_fate(&d.declaration),
        Statement::ExportDefaultDeclaration(d) => match &d.declaration {
            ExportDefaultDeclarationKind::TSInterfaceDeclaration(_) => Fate::Erase,
            ExportDefaultDeclarationKind::FunctionDeclaration(f) => erase_if(f.body.is_none()),
            _ => Fate::Keep,
        },
        Statement::TSExportAssignment(a) => Fate::Reject(a.span.start, EXPORT_ASSIGNMENT),
        Statement::TSNamespaceExportDeclaration(_) => Fate::Erase,
        _ => statement.as_declaration().map_or(Fate::Keep, declaration_fate),
    }
}

fn declaration_fate(declaration: &Declaration<'_>) -> Fate {
    match declaration {
        Declaration::VariableDeclaration(d) if d.declare => Fate::Erase,
        Declaration::VariableDeclaration(_) => Fate::Keep,
        // No body: an overload signature or `declare function`.
        Declaration::FunctionDeclaration(f) if f.declare || f.body.is_none() => Fate::Erase,
        Declaration::FunctionDeclaration(_) => Fate::Keep,
        Declaration::ClassDeclaration(c) if c.declare => Fate::Erase,
        Declaration::ClassDeclaration(_) => Fate::Keep,
        Declaration::TSTypeAliasDeclaration(_)
        | Declaration::TSInterfaceDeclaration(_)
        | Declaration::TSGlobalDeclaration(_)
        | Declaration::TSExternalModuleDeclaration(_) => Fate::Erase,
        Declaration::TSEnumDeclaration(e) if e.declare => Fate::Erase,
        Declaration::TSEnumDeclaration(e) => Fate::Reject(e.span.start, ENUM),
        Declaration::TSNamespaceDeclaration(n) if n.declare || namespace_is_type_only(n) => Fate::Erase,
        Declaration::TSNamespaceDeclaration(n) => Fate::Reject(n.span.start, NAMESPACE),
        Declaration::TSImportEqualsDeclaration(d) if d.import_kind.is_type() => Fate::Erase,
        Declaration::TSImportEqualsDeclaration(d) => match d.module_reference {
            TSModuleReference::ExternalModuleReference(_) => Fate::Reject(d.span.start, IMPORT_REQUIRE),
            _ => Fate::Reject(d.span.start, IMPORT_ALIAS),
        },
    }
}

/// Whether TypeScript emits nothing for this namespace (it is "uninstantiated").
fn namespace_is_type_only(namespace: &TSNamespaceDeclaration<'_>) -> bool {
    match &namespace.body {
        TSNamespaceDeclarationBody::TSNamespaceDeclaration(inner) => inner.declare || namespace_is_type_only(inner),
        TSNamespaceDeclarationBody::TSModuleBlock(block) => {
            block.directives.is_empty()
                && block.body.iter().all(|statement| {
                    matches!(statement, Statement::EmptyStatement(_))
                        || matches!(statement_fate(statement), Fate::Erase)
                })
        }
    }
}

fn is_type_specifier(specifier: &ImportDeclarationSpecifier<'_>) -> bool {
    matches!(specifier, ImportDeclarationSpecifier::ImportSpecifier(s) if s.import_kind.is_type())
}

/// Sorts the names a top-level declaration binds into types and values; `declare`d names are neither,
/// since their value lives elsewhere.
fn declared_names<'a>(declaration: &Declaration<'a>, types: &mut IdentHashSet<'a>, values: &mut IdentHashSet<'a>) {
    match declaration {
        Declaration::VariableDeclaration(d) if !d.declare => {
            for declarator in &d.declarations {
                values.extend(declarator.id.get_binding_identifiers().iter().map(|id| id.name));
            }
        }
        Declaration::FunctionDeclaration(f) if !f.declare => values.extend(f.id.as_ref().map(|id| id.name)),
        Declaration::ClassDeclaration(c) if !c.declare => values.extend(c.id.as_ref().map(|id| id.name)),
        Declaration::TSEnumDeclaration(e) if !e.declare => {
            values.insert(e.id.name);
        }
        Declaration::TSTypeAliasDeclaration(t) => {
            types.insert(t.id.name);
        }
        Declaration::TSInterfaceDeclaration(i) => {
            types.insert(i.id.name);
        }
        Declaration::TSNamespaceDeclaration(n) if !n.declare => {
            if namespace_is_type_only(n) { types } else { values }.insert(n.id.name);
        }
        Declaration::TSImportEqualsDeclaration(d) => {
            if d.import_kind.is_type() { types } else { values }.insert(d.id.name);
        }
        _ => {}
    }
}

/// Class members that exist only for the type checker.
fn member_is_type_only(element: &ClassElement<'_>) -> bool {
    match element {
        ClassElement::TSIndexSignature(_) => true,
        ClassElement::MethodDefinition(m) => {
            m.value.body.is_none() || m.r#type == MethodDefinitionType::TSAbstractMethodDefinition
        }
        ClassElement::PropertyDefinition(p) => {
            p.declare || p.r#type == PropertyDefinitionType::TSAbstractPropertyDefinition
        }
        ClassElement::AccessorProperty(a) => a.r#type == AccessorPropertyType::TSAbstractAccessorProperty,
        ClassElement::StaticBlock(_) => false,
    }
}

/// Member modifiers that only TypeScript knows; `static`, `async`, `get`, `set` and `accessor` stay.
const TS_MODIFIERS: [&str; 7] = ["public", "private", "protected", "readonly", "override", "declare", "abstract"];

/// Field names that JavaScript reads as a modifier of the next member when no `;` follows them.
const MODIFIER_LIKE_NAMES: [&str; 5] = ["get", "set", "static", "async", "accessor"];

fn is_line_terminator(c: char) -> bool {
    matches!(c, '\n' | '\r' | '\u{2028}' | '\u{2029}')
}

/// JavaScript's WhiteSpace outside ASCII: U+FEFF and the Space_Separator category.
fn is_unicode_space(c: char) -> bool {
    matches!(c, '\u{a0}' | '\u{1680}' | '\u{2000}'..='\u{200a}' | '\u{202f}' | '\u{205f}' | '\u{3000}' | '\u{feff}')
}

/// Collects the ranges to blank while walking the JavaScript parts of the AST.
struct Stripper<'a> {
    source: &'a str,
    blanks: Vec<(u32, u32)>,
    /// Single ASCII bytes written over blanked positions (`;`, `(`, `)`), applied after `blanks`.
    overwrites: Vec<(u32, u8)>,
    /// The earliest unsupported construct found.
    error: Option<(u32, &'static str)>,
    /// Set by `visit_statements` for the statement it is about to visit: a removed statement in a list
    /// can simply vanish, one that is the body of an `if` or loop must leave a `;`.
    statement_in_list: bool,
    /// How many statements enclose the one being visited: `import`/`export` belong at 0.
    statement_depth: u32,
    /// The field before the class member being visited has no `;`.
    after_open_field: bool,
    /// Starts of statements and arrow bodies that begin with `<`: an assertion there must not expose `{`.
    statement_starts: Vec<u32>,
    /// Starts of `return`/`throw`/`yield` operands that begin with `<`: no line break may be exposed.
    restricted_starts: Vec<u32>,
    /// Local names of value imports, and whether JavaScript code refers to them.
    import_uses: IdentHashMap<'a, bool>,
    /// Top-level names declared only as types (interfaces, type aliases, type-only imports, …).
    type_only_names: IdentHashSet<'a>,
}

impl<'a> Stripper<'a> {
    fn new(source: &'a str) -> Self {
        Stripper {
            source,
            blanks: Vec::new(),
            overwrites: Vec::new(),
            error: None,
            statement_in_list: false,
            statement_depth: 0,
            after_open_field: false,
            statement_starts: Vec::new(),
            restricted_starts: Vec::new(),
            import_uses: IdentHashMap::default(),
            type_only_names: IdentHashSet::default(),
        }
    }

    fn fail(&mut self, offset: u32, message: &'static str) {
        if self.error.is_none_or(|(earlier, _)| offset < earlier) {
            self.error = Some((offset, message));
        }
    }

    fn blank(&mut self, start: u32, end: u32) {
        if start < end {
            self.blanks.push((start, end));
        }
    }

    fn blank_span(&mut self, span: Span) {
        self.blank(span.start, span.end);
    }

    fn put(&mut self, offset: u32, byte: u8) {
        self.overwrites.push((offset, byte));
    }

    fn byte(&self, offset: u32) -> u8 {
        self.source.as_bytes().get(offset as usize).copied().unwrap_or(0)
    }

    /// Skips whitespace and comments from `offset`: the next token's offset, and whether a line
    /// terminator was crossed. Only used between tokens the AST has already located.
    fn skip_trivia(&self, offset: u32) -> (u32, bool) {
        let bytes = self.source.as_bytes();
        let mut at = offset as usize;
        let mut line_break = false;
        while at < bytes.len() {
            match bytes[at] {
                b' ' | b'\t' | 0x0b | 0x0c => at += 1,
                b'\n' | b'\r' => {
                    line_break = true;
                    at += 1;
                }
                b'/' if bytes.get(at + 1) == Some(&b'/') => {
                    let rest = &self.source[at..];
                    at += rest.find(is_line_terminator).unwrap_or(rest.len());
                }
                b'/' if bytes.get(at + 1) == Some(&b'*') => {
                    let rest = &self.source[at + 2..];
                    let len = rest.find("*/").map_or(rest.len(), |end| end + 2);
                    line_break |= rest[..len].contains(is_line_terminator);
                    at += 2 + len;
                }
                b if b < 0x80 => break,
                _ => match self.source.get(at..).and_then(|rest| rest.chars().next()) {
                    Some(c) if is_unicode_space(c) => at += c.len_utf8(),
                    Some(c) if is_line_terminator(c) => {
                        line_break = true;
                        at += c.len_utf8();
                    }
                    _ => break,
                },
            }
        }
        (at as u32, line_break)
    }

    /// The ASCII identifier-like word at `offset` (empty if none); enough for keywords and modifiers.
    fn word(&self, offset: u32) -> &'a str {
        let rest = self.source.get(offset as usize..).unwrap_or("");
        let len = rest.bytes().take_while(|b| b.is_ascii_alphanumeric() || matches!(b, b'_' | b'$')).count();
        &rest[..len]
    }

    fn has_line_terminator(&self, start: u32, end: u32) -> bool {
        self.source.get(start as usize..end as usize).is_some_and(|s| s.contains(is_line_terminator))
    }

    /// Blanks the one-byte `marker` (`?` or `!`) that follows `offset`; returns where it was.
    fn blank_marker(&mut self, offset: u32, marker: u8) -> Option<u32> {
        let (at, _) = self.skip_trivia(offset);
        (self.byte(at) == marker).then(|| {
            self.blank(at, at + 1);
            at
        })
    }

    /// Blanks `span` and the `,` right after it, for list items that vanish (`this: T,`, `type X,`).
    fn blank_with_comma(&mut self, span: Span) {
        let (at, _) = self.skip_trivia(span.end);
        let end = if self.byte(at) == b',' { at + 1 } else { span.end };
        self.blank(span.start, end);
    }

    /// The end of a member key, past the `]` of a computed key.
    fn key_end(&self, key: &PropertyKey<'_>, computed: bool) -> u32 {
        let end = key.span().end;
        if !computed {
            return end;
        }
        let (at, _) = self.skip_trivia(end);
        if self.byte(at) == b']' { at + 1 } else { end }
    }

    /// Blanks TypeScript-only modifiers between a member's start and its key; returns whether the
    /// member's first token was one of them.
    fn blank_modifiers(&mut self, start: u32, key_start: u32) -> bool {
        let mut at = start;
        let mut first_blanked = false;
        let mut first = true;
        loop {
            let (word_start, _) = self.skip_trivia(at);
            let word = self.word(word_start);
            let word_end = word_start + word.len() as u32;
            if word.is_empty() || word_end > key_start || word_start >= key_start {
                return first_blanked;
            }
            if TS_MODIFIERS.contains(&word) {
                self.blank(word_start, word_end);
                first_blanked |= first;
            }
            first = false;
            at = word_end;
        }
    }

    /// After a removed class member or a member that lost its leading modifier, a preceding field
    /// without `;` could otherwise swallow what follows (`a = 1 [k]() {}`).
    fn guard_member_start(&mut self, start: u32) {
        if self.after_open_field {
            self.put(start, b';');
        }
    }

    fn remove_statement(&mut self, span: Span, in_list: bool) {
        self.blank_span(span);
        let (next, _) = self.skip_trivia(span.end);
        // These could continue the statement before the removed one; a lone body needs a statement.
        if !in_list || matches!(self.byte(next), b'(' | b'[' | b'`' | b'+' | b'-' | b'/' | b'<') {
            self.put(span.start, b';');
        }
    }

    /// A blanked tail (`x as T`, `f<T>`) ends its statement; if the next line starts with `(`, `[` or
    /// `` ` `` JavaScript would continue the expression instead, so a `;` goes at `at`.
    fn guard_expression_end(&mut self, end: u32, at: u32) {
        let (next, line_break) = self.skip_trivia(end);
        if line_break && matches!(self.byte(next), b'(' | b'[' | b'`') {
            self.put(at, b';');
        }
    }

    fn finish(self) -> String {
        let mut out = self.source.as_bytes().to_vec();
        for &(start, end) in &self.blanks {
            let start = start as usize;
            for (i, c) in self.source[start..end as usize].char_indices() {
                let at = start + i;
                match c {
                    '\t' => {}
                    c if is_line_terminator(c) => {}
                    c if c.is_ascii() => out[at] = b' ',
                    c => {
                        let fill: &[u8] = match c.len_utf8() {
                            2 => "\u{a0}".as_bytes(),
                            3 => "\u{2002}".as_bytes(),
                            _ => " \u{feff}".as_bytes(),
                        };
                        out[at..at + fill.len()].copy_from_slice(fill);
                    }
                }
            }
        }
        for &(offset, byte) in &self.overwrites {
            let at = offset as usize;
            // Overwrites land on blanked ASCII; should one land on a wider character, pad with spaces.
            if let Some(c) = self.source.get(at..).and_then(|rest| rest.chars().next()) {
                out[at] = byte;
                out[at + 1..at + c.len_utf8()].fill(b' ');
            }
        }
        // Every write above replaces whole characters with whole characters.
        String::from_utf8(out).expect("blanking keeps UTF-8 valid")
    }
}

impl<'a> VisitJs<'a> for Stripper<'a> {
    fn visit_statements(&mut self, statements: &ArenaVec<'a, Statement<'a>>) {
        for statement in statements {
            self.statement_in_list = true;
            self.visit_statement(statement);
        }
    }

    fn visit_statement(&mut self, statement: &Statement<'a>) {
        let in_list = std::mem::take(&mut self.statement_in_list);
        // The parser leaves this check to semantic analysis, which we do not run.
        if self.statement_depth > 0 && statement.is_module_declaration() {
            return self.fail(statement.span().start, NESTED_MODULE_DECLARATION);
        }
        match statement_fate(statement) {
            Fate::Erase => return self.remove_statement(statement.span(), in_list),
            Fate::Reject(offset, message) => return self.fail(offset, message),
            Fate::Keep => {}
        }
        if let Statement::ExpressionStatement(s) = statement {
            let start = s.expression.span().start;
            if self.byte(start) == b'<' {
                self.statement_starts.push(start);
            }
        }
        self.statement_depth += 1;
        walk_js::walk_statement(self, statement);
        self.statement_depth -= 1;
    }

    fn visit_return_statement(&mut self, statement: &ReturnStatement<'a>) {
        if let Some(argument) = &statement.argument {
            self.note_restricted(argument.span().start);
        }
        walk_js::walk_return_statement(self, statement);
    }

    fn visit_throw_statement(&mut self, statement: &ThrowStatement<'a>) {
        self.note_restricted(statement.argument.span().start);
        walk_js::walk_throw_statement(self, statement);
    }

    fn visit_yield_expression(&mut self, expression: &YieldExpression<'a>) {
        if let Some(argument) = &expression.argument {
            self.note_restricted(argument.span().start);
        }
        walk_js::walk_yield_expression(self, expression);
    }

    fn visit_identifier_reference(&mut self, reference: &IdentifierReference<'a>) {
        if let Some(used) = self.import_uses.get_mut(&reference.name) {
            *used = true;
        }
    }

    fn visit_export_named_declaration(&mut self, declaration: &ExportNamedDeclaration<'a>) {
        for specifier in &declaration.specifiers {
            // Re-exporting an import uses it; type-only exports are blanked after the walk.
            if let ModuleExportName::IdentifierReference(local) = &specifier.local
                && !specifier.export_kind.is_type()
            {
                self.visit_identifier_reference(local);
            }
        }
    }

    fn visit_export_from_declaration(&mut self, declaration: &ExportFromDeclaration<'a>) {
        self.blank_type_exports(&declaration.specifiers);
    }

    fn visit_variable_declarator(&mut self, declarator: &VariableDeclarator<'a>) {
        if declarator.definite {
            self.blank_marker(declarator.id.span().end, b'!');
        }
        if let Some(annotation) = &declarator.type_annotation {
            self.blank_span(annotation.span);
        }
        walk_js::walk_variable_declarator(self, declarator);
    }

    fn visit_catch_parameter(&mut self, parameter: &CatchParameter<'a>) {
        if let Some(annotation) = &parameter.type_annotation {
            self.blank_span(annotation.span);
        }
        walk_js::walk_catch_parameter(self, parameter);
    }

    fn visit_function(&mut self, function: &Function<'a>, flags: ScopeFlags) {
        if let Some(parameters) = &function.type_parameters {
            self.blank_span(parameters.span);
        }
        if let Some(this) = &function.this_param {
            self.blank_with_comma(this.span);
        }
        if let Some(annotation) = &function.return_type {
            self.blank_span(annotation.span);
        }
        walk_js::walk_function(self, function, flags);
    }

    fn visit_formal_parameter(&mut self, parameter: &FormalParameter<'a>) {
        if parameter.accessibility.is_some() || parameter.readonly || parameter.r#override {
            self.fail(parameter.span.start, PARAMETER_PROPERTY);
        }
        if parameter.optional {
            self.blank_marker(parameter.pattern.span().end, b'?');
        }
        if let Some(annotation) = &parameter.type_annotation {
            self.blank_span(annotation.span);
        }
        walk_js::walk_formal_parameter(self, parameter);
    }

    fn visit_formal_parameter_rest(&mut self, parameter: &FormalParameterRest<'a>) {
        if let Some(annotation) = &parameter.type_annotation {
            self.blank_span(annotation.span);
        }
        walk_js::walk_formal_parameter_rest(self, parameter);
    }

    fn visit_arrow_function_expression(&mut self, arrow: &ArrowFunctionExpression<'a>) {
        if let Some(parameters) = &arrow.type_parameters {
            self.blank_span(parameters.span);
            // `async <T>\n(x) => x` would leave `async` alone on its line (and `return` likewise):
            // open the parameter list where `<` was instead.
            let (paren, _) = self.skip_trivia(parameters.span.end);
            if self.byte(paren) == b'(' && self.has_line_terminator(parameters.span.start, paren) {
                self.put(parameters.span.start, b'(');
                self.blank(paren, paren + 1);
            }
        }
        if let Some(annotation) = &arrow.return_type {
            self.blank_span(annotation.span);
            self.keep_arrow_on_paren_line(arrow.params.span.end - 1, annotation.span);
        }
        if !matches!(arrow.body, ArrowFunctionBody::FunctionBody(_)) {
            let start = arrow.body.span().start;
            if self.byte(start) == b'<' {
                self.statement_starts.push(start);
            }
        }
        walk_js::walk_arrow_function_expression(self, arrow);
    }

    fn visit_class(&mut self, class: &Class<'a>) {
        if class.r#abstract {
            let mut at = class.span.start;
            loop {
                let (start, _) = self.skip_trivia(at);
                let word = self.word(start);
                if word.is_empty() || word == "class" {
                    break;
                }
                if word == "abstract" {
                    self.blank(start, start + word.len() as u32);
                }
                at = start + word.len() as u32;
            }
        }
        if let Some(parameters) = &class.type_parameters {
            self.blank_span(parameters.span);
        }
        if let Some(arguments) = class.heritage.as_ref().and_then(|h| h.type_arguments.as_ref()) {
            self.blank_span(arguments.span);
        }
        if let (Some(first), Some(last)) = (class.implements.first(), class.implements.last()) {
            // `implements` follows the name, type parameters or `extends` clause, whichever is last.
            let mut at = class.span.start;
            if let Some(id) = &class.id {
                at = id.span.end;
            }
            if let Some(parameters) = &class.type_parameters {
                at = parameters.span.end;
            }
            if let Some(heritage) = &class.heritage {
                at = heritage.type_arguments.as_ref().map_or(heritage.expression.span().end, |a| a.span.end);
            }
            loop {
                let (start, _) = self.skip_trivia(at);
                let word = self.word(start);
                if word == "implements" {
                    self.blank(start, last.span.end);
                    break;
                }
                if word.is_empty() || start >= first.span.start {
                    // Not found where it must be: blank the clause's types at least.
                    self.blank(first.span.start, last.span.end);
                    break;
                }
                at = start + word.len() as u32;
            }
        }
        walk_js::walk_class(self, class);
    }

    fn visit_class_elements(&mut self, elements: &ArenaVec<'a, ClassElement<'a>>) {
        let mut open_field = false;
        for element in elements {
            self.after_open_field = open_field;
            let span = element.span();
            if member_is_type_only(element) {
                self.blank_span(span);
                self.guard_member_start(span.start);
            } else {
                self.visit_class_element(element);
            }
            open_field = matches!(element, ClassElement::PropertyDefinition(_) | ClassElement::AccessorProperty(_))
                && self.byte(span.end.saturating_sub(1)) != b';';
        }
        self.after_open_field = false;
    }

    fn visit_method_definition(&mut self, method: &MethodDefinition<'a>) {
        if self.blank_modifiers(method.span.start, method.key.span().start) {
            self.guard_member_start(method.span.start);
        }
        if method.optional {
            let end = self.key_end(&method.key, method.computed);
            self.blank_marker(end, b'?');
        }
        walk_js::walk_method_definition(self, method);
    }

    fn visit_property_definition(&mut self, property: &PropertyDefinition<'a>) {
        if self.blank_modifiers(property.span.start, property.key.span().start) {
            self.guard_member_start(property.span.start);
        }
        let key_end = self.key_end(&property.key, property.computed);
        let mut first_blanked = None;
        if property.optional {
            first_blanked = first_blanked.or(self.blank_marker(key_end, b'?'));
        }
        if property.definite {
            first_blanked = first_blanked.or(self.blank_marker(key_end, b'!'));
        }
        if let Some(annotation) = &property.type_annotation {
            self.blank_span(annotation.span);
            first_blanked = first_blanked.or(Some(annotation.span.start));
        }
        // `get: number` followed by `foo() {}` would become the getter `get foo() {}`.
        if let Some(at) = first_blanked
            && property.value.is_none()
            && !property.computed
            && property.key.static_name().is_some_and(|name| MODIFIER_LIKE_NAMES.contains(&name.as_ref()))
            && self.byte(property.span.end.saturating_sub(1)) != b';'
        {
            self.put(at, b';');
        }
        walk_js::walk_property_definition(self, property);
    }

    fn visit_accessor_property(&mut self, property: &AccessorProperty<'a>) {
        if self.blank_modifiers(property.span.start, property.key.span().start) {
            self.guard_member_start(property.span.start);
        }
        if property.definite {
            let end = self.key_end(&property.key, property.computed);
            self.blank_marker(end, b'!');
        }
        if let Some(annotation) = &property.type_annotation {
            self.blank_span(annotation.span);
        }
        walk_js::walk_accessor_property(self, property);
    }

    fn visit_call_expression(&mut self, call: &CallExpression<'a>) {
        if let Some(arguments) = &call.type_arguments {
            self.blank_span(arguments.span);
        }
        walk_js::walk_call_expression(self, call);
    }

    fn visit_new_expression(&mut self, new: &NewExpression<'a>) {
        if let Some(arguments) = &new.type_arguments {
            self.blank_span(arguments.span);
        }
        walk_js::walk_new_expression(self, new);
    }

    fn visit_tagged_template_expression(&mut self, tagged: &TaggedTemplateExpression<'a>) {
        if let Some(arguments) = &tagged.type_arguments {
            self.blank_span(arguments.span);
        }
        walk_js::walk_tagged_template_expression(self, tagged);
    }

    fn visit_ts_instantiation_expression(&mut self, expression: &TSInstantiationExpression<'a>) {
        let arguments = expression.type_arguments.span;
        self.blank_span(arguments);
        self.guard_expression_end(expression.span.end, arguments.start);
        walk_js::walk_ts_instantiation_expression(self, expression);
    }

    fn visit_ts_as_expression(&mut self, expression: &TSAsExpression<'a>) {
        self.blank_type_tail(expression.expression.span().end, expression.span.end);
        walk_js::walk_ts_as_expression(self, expression);
    }

    fn visit_ts_satisfies_expression(&mut self, expression: &TSSatisfiesExpression<'a>) {
        self.blank_type_tail(expression.expression.span().end, expression.span.end);
        walk_js::walk_ts_satisfies_expression(self, expression);
    }

    fn visit_ts_non_null_expression(&mut self, expression: &TSNonNullExpression<'a>) {
        let bang = expression.span.end - 1;
        if self.byte(bang) == b'!' {
            self.blank(bang, bang + 1);
        }
        walk_js::walk_ts_non_null_expression(self, expression);
    }

    fn visit_ts_type_assertion(&mut self, assertion: &TSTypeAssertion<'a>) {
        let start = assertion.span.start;
        let operand = assertion.expression.span().start;
        if self.statement_starts.contains(&start) {
            if self.byte(operand) == b'<' {
                self.statement_starts.push(operand);
            } else if self.byte(operand) == b'{' || matches!(self.word(operand), "function" | "class" | "let" | "async")
            {
                self.fail(start, ASSERTION_AT_START);
            }
        }
        if self.restricted_starts.contains(&start) {
            if self.has_line_terminator(start, operand) {
                self.fail(start, ASSERTION_LINE_BREAK);
            } else if self.byte(operand) == b'<' {
                self.restricted_starts.push(operand);
            }
        }
        self.blank(start, operand);
        walk_js::walk_ts_type_assertion(self, assertion);
    }

    fn visit_decorator(&mut self, decorator: &Decorator<'a>) {
        self.fail(decorator.span.start, DECORATOR);
    }

    // Statement-level handling erases or rejects these first; reaching them otherwise is a gap.
    fn visit_ts_enum_declaration(&mut self, declaration: &TSEnumDeclaration<'a>) {
        self.fail(declaration.span.start, ENUM);
    }

    fn visit_ts_namespace_declaration(&mut self, declaration: &TSNamespaceDeclaration<'a>) {
        self.fail(declaration.span.start, NAMESPACE);
    }

    fn visit_ts_export_assignment(&mut self, assignment: &TSExportAssignment<'a>) {
        self.fail(assignment.span.start, EXPORT_ASSIGNMENT);
    }

    fn visit_ts_import_equals_declaration(&mut self, declaration: &TSImportEqualsDeclaration<'a>) {
        self.fail(declaration.span.start, IMPORT_REQUIRE);
    }
}

impl<'a> Stripper<'a> {
    /// Before the walk: the value imports that may turn out to be used only as types, and the
    /// top-level names declared only as types.
    fn collect_module_names(&mut self, program: &Program<'a>) {
        let mut types = IdentHashSet::default();
        let mut values = IdentHashSet::default();
        for statement in &program.body {
            match statement {
                Statement::ImportDeclaration(import) => {
                    for specifier in import.specifiers.iter().flatten() {
                        let local = specifier.local().name;
                        if import.import_kind.is_type() || is_type_specifier(specifier) {
                            types.insert(local);
                        } else {
                            values.insert(local);
                            self.import_uses.insert(local, false);
                        }
                    }
                }
                Statement::ExportDeclaration(export) => declared_names(&export.declaration, &mut types, &mut values),
                Statement::ExportDefaultDeclaration(export) => match &export.declaration {
                    ExportDefaultDeclarationKind::TSInterfaceDeclaration(i) => {
                        types.insert(i.id.name);
                    }
                    ExportDefaultDeclarationKind::FunctionDeclaration(f) => {
                        values.extend(f.id.as_ref().map(|id| id.name))
                    }
                    ExportDefaultDeclarationKind::ClassDeclaration(c) => values.extend(c.id.as_ref().map(|id| id.name)),
                    _ => {}
                },
                _ => {
                    if let Some(declaration) = statement.as_declaration() {
                        declared_names(declaration, &mut types, &mut values);
                    }
                }
            }
        }
        types.retain(|name| !values.contains(name));
        self.type_only_names = types;
    }

    /// After the walk, TypeScript's import elision: an import binding that no JavaScript refers to can
    /// only have been used as a type, so it goes (the whole import if none is left, as `tsc` and
    /// esbuild do); likewise `export { T }` and `export default T` of a name that is only a type.
    fn elide_type_only_bindings(&mut self, program: &Program<'a>) {
        for statement in &program.body {
            match statement {
                Statement::ImportDeclaration(import) if !import.import_kind.is_type() => self.elide_import(import),
                Statement::ExportNamedDeclaration(export) if !export.export_kind.is_type() => {
                    for specifier in &export.specifiers {
                        let type_only = specifier.export_kind.is_type()
                            || matches!(&specifier.local, ModuleExportName::IdentifierReference(local)
                                if self.type_only_names.contains(&local.name));
                        if type_only {
                            self.blank_with_comma(specifier.span);
                        }
                    }
                }
                Statement::ExportDefaultDeclaration(export) => {
                    if let ExportDefaultDeclarationKind::Identifier(name) = &export.declaration
                        && self.type_only_names.contains(&name.name)
                    {
                        self.remove_statement(export.span, true);
                    }
                }
                _ => {}
            }
        }
    }

    fn elide_import(&mut self, import: &ImportDeclaration<'a>) {
        // `import "m"` and `import {} from "m"` are kept for their side effects.
        let Some(specifiers) = import.specifiers.as_ref().filter(|s| !s.is_empty()) else {
            return;
        };
        let used = |specifier: &ImportDeclarationSpecifier<'a>| {
            !is_type_specifier(specifier) && self.import_uses.get(&specifier.local().name).copied().unwrap_or(true)
        };
        if !specifiers.iter().any(used) {
            return self.remove_statement(import.span, true);
        }
        let unused: Vec<(usize, Span)> =
            specifiers.iter().enumerate().filter(|(_, s)| !used(s)).map(|(i, s)| (i, s.span())).collect();
        for (i, span) in unused {
            if let (ImportDeclarationSpecifier::ImportNamespaceSpecifier(_), Some(previous)) =
                (&specifiers[i], i.checked_sub(1).map(|p| specifiers[p].span()))
            {
                // Only `import D, * as ns` gets here, with `D` used: blank from the comma.
                let (comma, _) = self.skip_trivia(previous.end);
                self.blank(comma, span.end);
            } else {
                self.blank_with_comma(span);
            }
        }
    }

    fn note_restricted(&mut self, start: u32) {
        if self.byte(start) == b'<' {
            self.restricted_starts.push(start);
        }
    }

    fn blank_type_exports(&mut self, specifiers: &[ExportSpecifier<'_>]) {
        for specifier in specifiers {
            if specifier.export_kind.is_type() {
                self.blank_with_comma(specifier.span);
            }
        }
    }

    /// Blanks ` as T` / ` satisfies T` from the end of the operand to the end of the type.
    fn blank_type_tail(&mut self, operand_end: u32, end: u32) {
        self.blank(operand_end, end);
        let (keyword, _) = self.skip_trivia(operand_end);
        self.guard_expression_end(end, keyword);
    }

    /// JavaScript forbids a line break between an arrow's `)` and `=>`; if blanking the return type
    /// leaves one, move the `)` onto the `=>` line, into the blanked type.
    fn keep_arrow_on_paren_line(&mut self, paren: u32, annotation: Span) {
        let (arrow, _) = self.skip_trivia(annotation.end);
        if self.byte(paren) != b')' || !self.has_line_terminator(paren, arrow) {
            return;
        }
        let between = &self.source[paren as usize..arrow as usize];
        let line_start = between
            .rfind(is_line_terminator)
            .map_or(paren, |i| paren + (i + between[i..].chars().next().map_or(1, char::len_utf8)) as u32);
        // The type's last ASCII byte on the `=>` line, else a space between the type and `=>`.
        let bytes = self.source.as_bytes();
        let in_type = (line_start.max(annotation.start)..annotation.end).rev().find(|&i| bytes[i as usize].is_ascii());
        let spaces = &bytes[annotation.end as usize..arrow as usize];
        let before_arrow = (spaces.iter().all(|&b| b == b' ' || b == b'\t') && arrow > annotation.end.max(line_start))
            .then_some(arrow - 1);
        let target = in_type.or(before_arrow);
        match target {
            Some(at) => {
                self.blank(paren, paren + 1);
                self.put(at, b')');
            }
            None => self.fail(annotation.start, ARROW_RETURN_TYPE),
        }
    }
}
