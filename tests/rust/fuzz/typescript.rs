//! Random TypeScript for the host's type stripper (`js/typescript.rs`, oxc's parser), which reads
//! tenant source in the host process: statements from a small grammar of TypeScript constructs,
//! often damaged, and nesting deep enough to overflow a parser that recursed on the caller's
//! stack. Each must be stripped (to JavaScript of the same length, as the layout promises) or
//! refused with a `TypeScriptError`; a panic or a stack overflow would take the host down.

use _core::js::typescript::{MAX_SOURCE_BYTES, strip_types};

use super::random::{Rng, seeds};

/// Default number of sources.
const SOURCES: u64 = 300;

const STATEMENTS: &[&str] = &[
    "let x: number = 1;",
    "const f = <T,>(a: T): T => a;",
    "function g(this: Window, a?: string, ...rest: number[]): void {}",
    "interface I<T extends object = {}> { a: T; b?(): void; [k: string]: unknown }",
    "type U = A | B & C extends infer D ? D[] : never;",
    "type M = { readonly [K in keyof T]-?: T[K] };",
    "class C<T> implements I<T> { private a!: number; declare b: string; constructor(public p: T) {} }",
    "abstract class A { abstract m(): void; protected static override n?: number }",
    "enum E { A = 1, B = A << 2, C = 'c' }",
    "const enum K { X }",
    "namespace N { export const v = 1; }",
    "declare module 'm' { export function f(): void; }",
    "declare global { interface Window { x: number } }",
    "import type { T } from './t.ts'; export type { T };",
    "export default <T>(x: T) => x as unknown as string satisfies string;",
    "let y = a! + (b as any)!.c?.[d]!;",
    "function h(x: unknown): asserts x is string {}",
    "for (const [k, v] of Object.entries(o) as [string, number][]) {}",
    "@decorator class D { @field x = 1; }",
    "let t: `a${string}b` = `a${1}b`;",
    "label: for (;;) { break label; }",
    "let z = <div>{x}</div>;",
    "accessor; using r = f(); await using s = g();",
    "let q = a < b > c;",
    "/* comment */ // line\n",
    "'\\u{110000}'; /[/; \"\\",
];

/// Ways to nest deep: a statement's start, an opener and its closer. `<` in an expression is kept
/// a few hundred deep: oxc tries each as type arguments, rewinds and tries the next, holding what
/// every attempt allocated, so thousands of them take gigabytes (an open problem, not fuzzed here).
const NESTINGS: &[(&str, &str, &str)] = &[
    ("let n = ", "(", ")"),
    ("let n = ", "[", "]"),
    ("", "{", "}"),
    ("let n = ", "a?b:", "c"),
    ("let n = ", "-", ""),
    ("type N = ", "Array<", ">"),
    ("type N = ", "{a:", "}"),
    ("let n = ", "Array<", ">"),
    ("let n = f", "<T>(", ")"),
];

/// A source: statements glued, sometimes damaged, sometimes nested deep.
fn source(rng: &mut Rng) -> String {
    let mut text: String = (0..rng.below(8)).map(|_| *rng.pick(STATEMENTS)).collect::<Vec<_>>().join("\n");
    if rng.chance(30) {
        text = String::from_utf8_lossy(&rng.mutate(text.into_bytes())).into_owned();
    }
    if rng.chance(15) {
        let (wrapper, open, close) = *rng.pick(NESTINGS);
        let depth = rng.below(if open.ends_with('<') && !wrapper.starts_with("type") { 300 } else { 60_000 }) as usize;
        let closed = if rng.chance(50) { close.repeat(depth) } else { String::new() };
        text.push_str(&format!("\n{wrapper}{}x{closed};", open.repeat(depth)));
    }
    text
}

#[test]
fn type_stripping_strips_or_refuses_any_source() {
    for seed in seeds(SOURCES) {
        let mut rng = Rng::new("typescript", seed);
        let source = source(&mut rng);
        match strip_types(&source, "fuzz.ts") {
            Ok(out) => assert_eq!(out.len(), source.len(), "seed {seed}: stripping changed the layout"),
            Err(e) => {
                assert_eq!(e.filename, "fuzz.ts");
                assert!(e.line >= 1 && e.column >= 1, "seed {seed}: {e}");
            }
        }
    }
    // Past the size limit is refused before parsing.
    assert!(strip_types(&"(".repeat(MAX_SOURCE_BYTES + 1), "big.ts").is_err());
}
