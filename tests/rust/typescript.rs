//! Type stripping: exact outputs per construct, the layout invariant (same length, every kept
//! character at its offset, line breaks untouched), that every output parses as a JavaScript module,
//! and the constructs that are rejected.

use _core::js::typescript::{MAX_SOURCE_BYTES, TypeScriptError, strip_types};
use oxc_allocator::Allocator;
use oxc_parser::Parser;
use oxc_span::SourceType;

/// Strips `source`, checks the invariants every output keeps, and returns the output.
#[track_caller]
fn strip(source: &str) -> String {
    let out = strip_types(source, "test.ts").unwrap_or_else(|e| panic!("{e}\n--- source:\n{source}"));
    assert_same_layout(source, &out);
    assert_parses_as_javascript(&out);
    // JavaScript is TypeScript with nothing to strip.
    assert_eq!(strip_types(&out, "test.ts").as_deref(), Ok(out.as_str()), "stripping twice changed the output");
    out
}

/// Joins source lines, so inputs and expected outputs can be laid out line under line.
fn lines(lines: &[&str]) -> String {
    lines.join("\n")
}

#[track_caller]
fn assert_strip(source: &str, expected: &str) {
    let out = strip(source);
    assert_eq!(out, expected, "\n--- source:\n{source}\n--- got:\n{out}\n--- expected:\n{expected}");
}

#[track_caller]
fn strip_err(source: &str) -> TypeScriptError {
    match strip_types(source, "test.ts") {
        Ok(out) => panic!("expected an error, got:\n{out}"),
        Err(e) => e,
    }
}

/// Every character is kept at its offset, or replaced by whitespace of the same UTF-8 length, or (for
/// the few ASI and arrow fixes) by `;`, `(` or `)` padded with spaces; line terminators never change.
#[track_caller]
fn assert_same_layout(source: &str, out: &str) {
    assert_eq!(out.len(), source.len());
    for (i, c) in source.char_indices() {
        let replaced = out.get(i..i + c.len_utf8()).unwrap_or_else(|| panic!("char boundary moved at {i}"));
        if replaced.starts_with(c) {
            continue;
        }
        assert!(!matches!(c, '\n' | '\r' | '\u{2028}' | '\u{2029}'), "line break at {i} replaced");
        let blank = matches!(replaced, " " | "\u{a0}" | "\u{2002}" | " \u{feff}");
        let inserted = matches!(replaced.as_bytes()[0], b';' | b'(' | b')') && replaced[1..].bytes().all(|b| b == b' ');
        assert!(blank || inserted, "{c:?} at {i} became {replaced:?}");
    }
}

#[track_caller]
fn assert_parses_as_javascript(out: &str) {
    let allocator = Allocator::default();
    let parsed = Parser::new(&allocator, out, SourceType::mjs()).parse();
    let errors: Vec<String> = parsed.diagnostics.errors().map(|e| e.to_string()).collect();
    assert!(errors.is_empty() && !parsed.panicked, "not JavaScript: {errors:?}\n{out}");
}

// ---- annotations -------------------------------------------------------------------------------

#[test]
fn variable_annotations_and_definite_assignment() {
    assert_strip("let x: number = 1, y: string;", "let x         = 1, y        ;");
    assert_strip("let z!: Map<string, number[]>;", "let z                        ;");
    assert_strip("const { a, b }: Pair = p, [c]: [T] = q;", "const { a, b }       = p, [c]      = q;");
    assert_strip("try {} catch (e: unknown) {}", "try {} catch (e         ) {}");
}

#[test]
fn parameters_optional_default_rest_and_return_types() {
    assert_strip(
        "function f(a?: number, b: string = \"x\", c?, ...rest: T[]): void {}",
        "function f(a         , b         = \"x\", c , ...rest     )       {}",
    );
    assert_strip("function g({ a }?: O, [b]?: A) {}", "function g({ a }    , [b]    ) {}");
    assert_strip(
        &lines(&["function isX(a: unknown): a is X { return true }", "function assertX(a): asserts a is X {}"]),
        &lines(&["function isX(a         )         { return true }", "function assertX(a)                 {}"]),
    );
    assert_strip("function* gen(): Generator<number> { yield 1 }", "function* gen()                    { yield 1 }");
}

#[test]
fn type_parameters_on_functions_classes_methods_and_arrows() {
    assert_strip(
        "function f<T extends object = {}, const U = T>(x: T, y: U): T { return x }",
        "function f                                    (x   , y   )    { return x }",
    );
    assert_strip(
        "class Box<T> { map<U>(fn: (t: T) => U): Box<U> { return this } }",
        "class Box    { map   (fn             )         { return this } }",
    );
    assert_strip("const id = <T,>(x: T): T => x;", "const id =     (x   )    => x;");
    assert_strip("const o = { m<T>(a: T) { return a } };", "const o = { m   (a   ) { return a } };");
    assert_strip("const h = async <T>(x: T) => x;", "const h = async    (x   ) => x;");
}

#[test]
fn type_arguments_on_calls_new_tagged_templates_and_instantiations() {
    assert_strip(
        "f<string>(x); new Map<string, number>(); new Set<T>;",
        "f        (x); new Map                (); new Set   ;",
    );
    assert_strip("a?.<T>(); a.b<T>(); tag<T>`x${y}`;", "a?.   (); a.b   (); tag   `x${y}`;");
    assert_strip("const g = f<number>;", "const g = f        ;");
    assert_strip("class A extends Base<T, U> {}", "class A extends Base       {}");
}

#[test]
fn object_literal_getters_setters_and_this_parameters() {
    assert_strip(
        "const o = { get x(): number { return 1 }, set x(this: O, v: number) {}, m(this: O) {} };",
        "const o = { get x()         { return 1 }, set x(         v        ) {}, m(       ) {} };",
    );
    assert_strip("function f(this: Window, a: number, b) {}", "function f(              a        , b) {}");
    assert_strip("function g(this: X,) {}", "function g(        ) {}");
}

// ---- classes -----------------------------------------------------------------------------------

#[test]
fn class_member_modifiers_optional_and_definite() {
    assert_strip(
        "class A { public a = 1; private b?: string; protected readonly c!: number; static override d = 2; #e?: T; }",
        "class A {        a = 1;         b         ;                    c         ; static          d = 2; #e    ; }",
    );
    assert_strip(
        "class B { public static async *gen(): AsyncGenerator<number> {} protected get x(): number { return 1 } }",
        "class B {        static async *gen()                         {}           get x()         { return 1 } }",
    );
    assert_strip("class M { m?(): void {} [k]?() {} }", "class M { m ()       {} [k] () {} }");
    assert_strip(
        "class C { public accessor v: number = 1; [key]?: number; }",
        "class C {        accessor v         = 1; [key]         ; }",
    );
    assert_strip("class D { public constructor() {} }", "class D {        constructor() {} }");
}

#[test]
fn type_only_class_members_are_removed() {
    assert_strip(
        &lines(&[
            "abstract class A {",
            "  abstract m(): void;",
            "  protected abstract p: number;",
            "  declare d: string;",
            "  [k: string]: unknown;",
            "  static [n: number]: string;",
            "  f(a: string): void;",
            "  f(a: any) {}",
            "  constructor(a: string);",
            "  constructor(a) {}",
            "}",
        ]),
        &lines(&[
            "         class A {",
            "                     ",
            "                               ",
            "                    ",
            "                       ",
            "                             ",
            "                     ",
            "  f(a     ) {}",
            "                         ",
            "  constructor(a) {}",
            "}",
        ]),
    );
}

#[test]
fn abstract_implements_and_heritage() {
    assert_strip("export abstract class A implements I, J<T> {}", "export          class A                    {}");
    assert_strip("export default abstract class {}", "export default          class {}");
    assert_strip("class B<T> extends C<T> implements /* c */ I {}", "class B    extends C                         {}");
    assert_strip("const c = class implements I {};", "const c = class              {};");
    assert_strip("class D extends mixin(A, B) implements I {}", "class D extends mixin(A, B)              {}");
}

// ---- declarations that vanish -------------------------------------------------------------------

#[test]
fn interfaces_type_aliases_and_declares_vanish() {
    assert_strip(
        &lines(&[
            "interface I { a: number }",
            "type T<X> = X[];",
            "declare const v: number;",
            "declare function d(): void;",
            "declare class K {}",
            "declare enum E { A }",
            "declare const enum F { B }",
            "let x = 1;",
        ]),
        &lines(&[
            "                         ",
            "                ",
            "                        ",
            "                           ",
            "                  ",
            "                    ",
            "                          ",
            "let x = 1;",
        ]),
    );
    assert_strip(
        &lines(&[
            "declare module \"m\" { export const y: number }",
            "declare global { interface W {} }",
            "declare namespace Q { const z: 1 }",
            "export as namespace Lib;",
        ]),
        &lines(&[
            "                                             ",
            "                                 ",
            "                                  ",
            "                        ",
        ]),
    );
}

#[test]
fn exported_type_declarations_and_overloads_vanish() {
    assert_strip(
        &lines(&[
            "export interface I {}",
            "export type T = 1;",
            "export declare const e: E;",
            "export function f(a: string): void;",
            "export function f(a) {}",
            "export default interface D {}",
        ]),
        &lines(&[
            "                     ",
            "                  ",
            "                          ",
            "                                   ",
            "export function f(a) {}",
            "                             ",
        ]),
    );
    assert_strip(
        &lines(&[
            "function over(a: string): string",
            "function over(a: number): number",
            "function over(a: any) { return a }",
        ]),
        &lines(&[
            "                                ",
            "                                ",
            "function over(a     ) { return a }",
        ]),
    );
    assert_strip(
        &lines(&["export default function f(a: string): void;", "export default function f(a) {}"]),
        &lines(&["                                           ", "export default function f(a) {}"]),
    );
}

#[test]
fn type_only_namespaces_vanish() {
    assert_strip(
        &lines(&[
            "namespace N { export type X = 1; export interface Y {} }",
            "module M.Inner { declare const z: number }",
            "namespace Empty {}",
        ]),
        &lines(&[
            "                                                        ",
            "                                          ",
            "                  ",
        ]),
    );
}

// ---- imports and exports -----------------------------------------------------------------------

#[test]
fn type_only_imports_and_exports() {
    assert_strip(
        &lines(&[
            "import type { A } from \"a\";",
            "import type B from \"b\";",
            "import type * as C from \"c\";",
            "import type D = require(\"d\");",
            "export type { A };",
            "export type { B } from \"b\";",
            "export type * from \"c\";",
            "export type * as ns from \"d\";",
        ]),
        &lines(&[
            "                           ",
            "                       ",
            "                            ",
            "                             ",
            "                  ",
            "                           ",
            "                       ",
            "                             ",
        ]),
    );
    assert_strip(
        "import { type A, b, type C as D } from \"m\"; b();",
        "import {         b,             } from \"m\"; b();",
    );
    assert_strip("import def, { type A } from \"m\"; def();", "import def, {        } from \"m\"; def();");
    assert_strip("import { b, type A, } from \"m\"; b();", "import { b,         } from \"m\"; b();");
    assert_strip(
        "const b = 1;\nexport { type A, b, type C as D };",
        "const b = 1;\nexport {         b,             };",
    );
    assert_strip("export { type A, b } from \"m\";", "export {         b } from \"m\";");
}

#[test]
fn imports_used_only_as_types_are_elided() {
    // As `tsc` and esbuild do: a binding no JavaScript refers to can only be a type.
    assert_strip(
        "import { Env, run } from \"./m.ts\";\nlet e: Env = run();",
        "import {      run } from \"./m.ts\";\nlet e      = run();",
    );
    assert_strip(
        "import { Env } from \"./types.ts\"\n(go)()\nlet e: Env;",
        ";                               \n(go)()\nlet e     ;",
    );
    assert_strip("import D, { a } from \"m\";\na();", "import    { a } from \"m\";\na();");
    assert_strip("import D, * as ns from \"m\";\nlet x: ns.T = D;", "import D          from \"m\";\nlet x       = D;");
    assert_strip("import * as ns from \"m\";\nlet x: typeof ns.v;", "                        \nlet x             ;");
    // Uses anywhere in JavaScript keep the binding, even a shadowed one or a re-export.
    let kept = "import { a, b, c } from \"m\";\nexport { a };\nfunction f(b) { return b }\nnew c();";
    assert_strip(kept, kept);
    // Imports without bindings are for side effects.
    assert_strip("import \"m\";\nimport {} from \"n\";", "import \"m\";\nimport {} from \"n\";");
}

#[test]
fn exports_of_local_types_are_elided() {
    assert_strip(
        "interface I {}\ntype T = 1;\nconst v = 1;\nexport { I, v, T as U };",
        "              \n           \nconst v = 1;\nexport {    v,        };",
    );
    assert_strip("interface I {}\nexport default I;", "              \n                 ");
    // A name that is also a value stays.
    assert_strip("interface C {}\nclass C {}\nexport { C };", "              \nclass C {}\nexport { C };");
}

#[test]
fn import_attributes_and_keywords_used_as_names_are_untouched() {
    let js = lines(&[
        "import data from \"./d.json\" with { type: \"json\" };",
        "let type = data; type = 2;",
        "let as = 1; let declare = 2, abstract = 3, satisfies = 4;",
        "export { type };",
    ]);
    assert_strip(&js, &js);
}

// ---- expressions -------------------------------------------------------------------------------

#[test]
fn as_satisfies_non_null_and_angle_assertions() {
    assert_strip(
        "let a = x as unknown as T, b = y!, c = z!.w!(), d = { k: 1 } satisfies R, e = (<T>f).g;",
        "let a = x                , b = y , c = z .w (), d = { k: 1 }            , e = (   f).g;",
    );
    assert_strip("const c = [1, 2] as const;", "const c = [1, 2]         ;");
    assert_strip("x! = 1; (y as any) = 2;", "x  = 1; (y       ) = 2;");
    assert_strip("let n = <number><unknown>s;", "let n =                  s;");
    assert_strip("async function f() { return <T>await g() }", "async function f() { return    await g() }");
}

// ---- ASI hazards -------------------------------------------------------------------------------

#[test]
fn removed_statements_keep_neighbours_apart() {
    assert_strip("foo\ntype X = 1\n(bar)", "foo\n;         \n(bar)");
    assert_strip("foo\ninterface I {}\n[1, 2].forEach(f)", "foo\n;             \n[1, 2].forEach(f)");
    assert_strip("foo\ndeclare let d: number\n`t`", "foo\n;                    \n`t`");
    assert_strip("foo\nimport type { X } from \"x\"\n-1", "foo\n;                         \n-1");
    assert_strip("foo\nexport type { X }\n/re/.test(s)", "foo\n;                \n/re/.test(s)");
    assert_strip("foo\ntype X = 1\n+1", "foo\n;         \n+1");
    assert_strip("foo\ntype X = 1\n<any>[1].map(f)", "foo\n;         \n     [1].map(f)");
    // Nothing that could join: no `;`.
    assert_strip("foo()\ntype X = 1\nbar()", "foo()\n          \nbar()");
}

#[test]
fn removed_statement_as_a_lone_body_becomes_empty() {
    // Without the `;`, `else` would have no `if`.
    assert_strip("if (a) function f(): void;\nelse g()", "if (a) ;                  \nelse g()");
}

#[test]
fn type_tails_at_statement_end_keep_the_next_line_apart() {
    assert_strip("x as any\n(y)", "x ;     \n(y)");
    assert_strip("let v = w satisfies T\n[0].x", "let v = w ;          \n[0].x");
    // A binary operator continues the expression in TypeScript too.
    assert_strip("x as any\n+y", "x       \n+y");
}

#[test]
fn class_members_keep_apart_from_an_open_field() {
    assert_strip(
        &lines(&[
            "class A {",
            "  a = 1",
            "  declare b: number",
            "  [k] = 2",
            "  c = 3",
            "  private *gen() {}",
            "  d = 4",
            "  public [m]() {}",
            "  static e",
            "  private f = 1",
            "}",
        ]),
        &lines(&[
            "class A {",
            "  a = 1",
            "  ;                ",
            "  [k] = 2",
            "  c = 3",
            "  ;       *gen() {}",
            "  d = 4",
            "  ;      [m]() {}",
            "  static e",
            "  ;       f = 1",
            "}",
        ]),
    );
    // No open field before: nothing to insert.
    assert_strip(
        &lines(&["class B {", "  a = 1;", "  private [k] = 2", "  m() {}", "  public [n] = 3", "}"]),
        &lines(&["class B {", "  a = 1;", "          [k] = 2", "  m() {}", "         [n] = 3", "}"]),
    );
}

#[test]
fn fields_named_like_modifiers_stay_fields() {
    assert_strip(
        &lines(&[
            "class A {",
            "  get: number",
            "  foo() {}",
            "  static?: string",
            "  bar() {}",
            "  set!: T",
            "  baz() {}",
            "  async: number;",
            "}",
        ]),
        &lines(&[
            "class A {",
            "  get;       ",
            "  foo() {}",
            "  static;        ",
            "  bar() {}",
            "  set;   ",
            "  baz() {}",
            "  async        ;",
            "}",
        ]),
    );
}

#[test]
fn arrow_return_type_spanning_lines_moves_the_paren() {
    assert_strip("let f = (a: number)\n  : string => a", "let f = (a         \n         ) => a");
    assert_strip("let g = (a):\n  string => a", "let g = (a  \n       ) => a");
    assert_strip("let h = ():\n  Promise<\n    void\n  > => {}", "let h = (  \n          \n        \n  ) => {}");
    // On one line nothing moves.
    assert_strip("let k = (a): string => a", "let k = (a)         => a");
}

#[test]
fn generic_arrow_spanning_lines_opens_its_parens_early() {
    assert_strip("let g = async <\n  T,\n>(a: T) => a", "let g = async (\n    \n  a   ) => a");
    assert_strip("function f() {\n  return <T>\n  (a: T) => a\n}", "function f() {\n  return (  \n   a   ) => a\n}");
}

// ---- layout ------------------------------------------------------------------------------------

#[test]
fn multi_byte_characters_blank_to_same_width_whitespace() {
    let source = "let s: \"é€🎉\" = \"é\"; let t\t: number = 1";
    let out = strip(source);
    assert_eq!(out, "let s   \u{a0}\u{2002} \u{feff}  = \"é\"; let t\t         = 1");
    // Byte offsets and UTF-16 offsets of kept tokens are unchanged.
    let utf16 = |s: &str, byte: usize| s[..byte].encode_utf16().count();
    let at = source.find("= \"é\"").unwrap();
    assert_eq!(out.find("= \"é\"").unwrap(), at);
    assert_eq!(utf16(&out, at), utf16(source, at));
}

#[test]
fn comments_line_breaks_and_crlf_survive() {
    assert_strip(
        &lines(&["let x /* keep */: {\r", "  a: number // gone\r", "} = y;\r", "let z: T = 1; // keep"]),
        &lines(&["let x /* keep */   \r", "                   \r", "  = y;\r", "let z    = 1; // keep"]),
    );
}

#[test]
fn plain_javascript_is_unchanged() {
    let js = r#"import x, { y as z } from "./m.js";
export * as ns from "./n.js";
const re = /a<b>c/g, t = `a${x < y}b`, cmp = a < b && c > d;
label: for (let i = 0; i < 3; i++) { if (i) continue label; }
class A extends B { static #p = 1; static { A.#p++; } get v() { return this.#p } async *[Symbol.asyncIterator]() {} }
export default async function main(a = z, { b, ...c } = {}, ...d) { return await a?.b?.(c) ?? d }
"#;
    assert_strip(js, js);
}

// ---- realistic modules -------------------------------------------------------------------------

const AGENT: &str = r#"// A support agent: classes, generics, async methods, imports and exports.
import type { Env, Message, ToolCall } from "./types.ts";
import { type Logger, createLogger } from "./log.ts";
import * as util from "./util.ts";

export type Role = "system" | "user" | "assistant";

export interface Turn {
    role: Role;
    content: string;
    tokens?: number;
}

interface Tool<Args, Result> {
    name: string;
    run(args: Args, env: Env): Promise<Result>;
}

declare const VERSION: string;
declare function trace(label: string, ...values: unknown[]): void;

type Handler<T = unknown> = (input: T) => Promise<void>;

const modes = { Fast: "fast", Careful: "careful" } as const;
type Mode = (typeof modes)[keyof typeof modes];

export abstract class BaseAgent<TState extends object = Record<string, unknown>> implements Tool<string, string> {
    abstract readonly name: string;
    protected readonly history: Turn[] = [];
    private static instances = 0;
    declare protected state: TState;
    #secret?: string;
    public mode: Mode = "careful";
    log!: Logger;

    constructor(env: Env, initial?: TState) {
        BaseAgent.instances++;
        this.log = createLogger(env as unknown as { level: number });
        this.state = (initial ?? ({} as TState));
    }

    abstract plan(goal: string): Promise<string[]>;

    protected remember(turn: Turn): void {
        this.history.push(turn);
        this.log.debug?.(`turn ${this.history.length}: ${turn.role}`);
    }

    public async run(args: string, env: Env): Promise<string> {
        const steps: string[] = await this.plan(args);
        let out = "";
        for (const step of steps) {
            const result = await this.step<string>(step, env);
            out += result!;
        }
        return out;
    }

    protected async step<R>(input: string, env: Env): Promise<R> {
        this.remember({ role: "user", content: input });
        const reply = (await util.complete(env, this.history)) as R;
        return reply;
    }

    get turns(): number {
        return this.history.length;
    }

    set secret(value: string | undefined) {
        this.#secret = value;
    }
}

function pick<T, K extends keyof T>(obj: T, ...keys: K[]): Pick<T, K> {
    const result = {} as Pick<T, K>;
    for (const key of keys) result[key] = obj[key];
    return result;
}

function overloaded(x: string): string;
function overloaded(x: number): number;
function overloaded(x: any): any {
    return x;
}

export class SupportAgent extends BaseAgent<{ ticket?: string }> {
    override readonly name = "support";
    private tools = new Map<string, Tool<unknown, unknown>>();

    async plan(goal: string): Promise<string[]> {
        const parts = goal.split(/[.!?]/).map((s: string): string => s.trim());
        return parts.filter((p): p is string => p.length > 0);
    }

    register<A, R>(tool: Tool<A, R>): this {
        this.tools.set(tool.name, tool as Tool<unknown, unknown>);
        return this;
    }

    async call(call: ToolCall, env: Env): Promise<unknown> {
        const tool = this.tools.get(call.name);
        if (!tool) throw new Error(`unknown tool ${call.name}`);
        try {
            return await tool.run(call.args satisfies unknown, env);
        } catch (e: unknown) {
            this.log.error(String(e));
            return null;
        }
    }
}

export const handlers: Record<string, Handler<Message>> = {
    async greet(this: void, input: Message): Promise<void> {
        console.log(`hello ${input.from}`);
    },
    ping: async (m: Message) => {
        void m;
    },
};

export function summarize<T extends { content: string }>(items: readonly T[], limit: number = 3): string {
    const take = <U,>(xs: readonly U[], n: number): U[] => xs.slice(0, n);
    return take(items, limit)
        .map((t) => t.content)
        .join("\n");
}

let counter: number = 0;
export const next = (): number => ++counter;

export default {
    async fetch(request: Request, env: Env): Promise<Response> {
        const agent = new SupportAgent(env);
        const body = (await request.json()) as { goal: string };
        const text = await agent.run(body.goal, env);
        return new Response(JSON.stringify({ text, turns: agent.turns, mode: pick(agent, "mode") }));
    },
};
"#;

const STATE_MACHINE: &str = r#"import { Base } from "./base.ts";
import type { Event } from "./events.ts";

type State = { kind: "idle" } | { kind: "busy"; job: string } | { kind: "failed"; error: Error };

const transitions = {
    idle: ["busy"],
    busy: ["idle", "failed"],
    failed: ["idle"],
} satisfies Record<State["kind"], State["kind"][]>;

export class Machine<E extends Event = Event> extends Base<E> {
    private state: State = { kind: "idle" };
    readonly #listeners = new Set<(s: State) => void>();
    static readonly VERSION = 2

    protected isBusy(s: State = this.state): s is Extract<State, { kind: "busy" }> {
        return s.kind === "busy";
    }

    public on(fn: (s: State) => void): () => void {
        this.#listeners.add(fn);
        return (): void => void this.#listeners.delete(fn);
    }

    async dispatch(event: E): Promise<State> {
        const next: State | undefined = this.reduce(this.state, event);
        if (next === undefined) return this.state;
        if (!(transitions[this.state.kind] as readonly string[]).includes(next.kind)) {
            throw new Error(`bad transition ${this.state.kind} -> ${next.kind}`);
        }
        this.state = next!;
        for (const fn of this.#listeners) fn(this.state);
        return this.state;
    }

    private reduce(state: State, event: E): State | undefined {
        switch (event.type) {
            case "start":
                return { kind: "busy", job: (event as unknown as { job: string }).job };
            case "done":
                return { kind: "idle" };
            default:
                return undefined;
        }
    }
}

export function createMachine<E extends Event>(): Machine<E> {
    return new Machine<E>();
}
"#;

const TOOLS: &str = r#"export interface ToolSpec<I, O> {
    name: string;
    description?: string;
    handler: (input: I, signal?: AbortSignal) => Promise<O>;
}

export type AnyTool = ToolSpec<any, any>;

const registry = new Map<string, AnyTool>()

export function defineTool<I, O>(spec: ToolSpec<I, O>): ToolSpec<I, O> {
    registry.set(spec.name, spec as AnyTool)
    return spec
}

export async function runTool<O = unknown>(name: string, input: unknown, timeoutMs = 1000): Promise<O> {
    const tool = registry.get(name)!
    const controller = new AbortController()
    const timer = setTimeout((): void => controller.abort(), timeoutMs)
    try {
        return (await tool.handler(input, controller.signal)) as O
    } finally {
        clearTimeout(timer)
    }
}

export const echo = defineTool<{ text: string }, string>({
    name: "echo",
    handler: async ({ text }) => text,
})

export const sum = defineTool({
    name: "sum",
    handler: async (input: { values: number[] }): Promise<number> =>
        input.values.reduce((a: number, b: number): number => a + b, 0),
})
"#;

#[test]
fn realistic_modules_strip_to_javascript() {
    for source in [AGENT, STATE_MACHINE, TOOLS] {
        let out = strip(source);
        for gone in [
            "interface",
            ": string",
            "<T",
            "abstract",
            "private",
            "readonly",
            "as unknown",
            "as const",
            "satisfies",
            "!;",
        ] {
            assert!(!out.contains(gone), "{gone:?} survived:\n{out}");
        }
    }
}

#[test]
fn realistic_module_spot_checks() {
    let out = strip(AGENT);
    let lines: Vec<&str> = out.lines().collect();
    let source_lines: Vec<&str> = AGENT.lines().collect();
    assert_eq!(lines.len(), source_lines.len());
    let line = |text: &str| lines[source_lines.iter().position(|l| l.contains(text)).unwrap()];
    assert_eq!(line("import { type Logger"), "import {              createLogger } from \"./log.ts\";");
    assert_eq!(line("export abstract class"), format!("export          class BaseAgent{}{{", " ".repeat(82)));
    assert_eq!(line("protected readonly history"), "                       history         = [];");
    assert_eq!(line("public async run("), "           async run(args        , env     )                  {");
    assert_eq!(line("const take ="), "    const take =     (xs              , n        )      => xs.slice(0, n);");
    assert_eq!(line("async greet("), "    async greet(            input         )                {");
}

// ---- errors ------------------------------------------------------------------------------------

#[track_caller]
fn assert_rejected(source: &str, mentions: &str, line: u32, column: u32) {
    let e = strip_err(source);
    assert!(e.message.contains(mentions), "{e}");
    assert_eq!((e.line, e.column), (line, column), "{e}");
    assert_eq!(e.filename, "test.ts");
}

#[test]
fn enums_are_rejected() {
    assert_rejected("let a = 1;\nenum Color { Red }", "`enum`", 2, 1);
    assert_rejected("const enum E { A }", "`enum`", 1, 1);
    assert_rejected("export enum E { A }", "`enum`", 1, 8);
    assert_rejected("function f() {\n  enum Inner { A }\n}", "`enum`", 2, 3);
}

#[test]
fn namespaces_with_values_are_rejected() {
    assert_rejected("namespace N { export const x = 1 }", "`namespace`", 1, 1);
    assert_rejected("export namespace A.B { export function f() {} }", "`namespace`", 1, 8);
    assert_rejected("module M { let y = 2 }", "`namespace`", 1, 1);
}

#[test]
fn parameter_properties_are_rejected() {
    assert_rejected("class A {\n  constructor(private x: number) {}\n}", "parameter properties", 2, 15);
    assert_rejected("class A { constructor(readonly y) {} }", "parameter properties", 1, 23);
    assert_rejected("class A { constructor(a, public override z = 1) {} }", "parameter properties", 1, 26);
}

#[test]
fn commonjs_interop_is_rejected() {
    assert_rejected("import fs = require(\"fs\");", "require", 1, 1);
    assert_rejected("import X = A.B.C;", "`import x = A.B`", 1, 1);
    assert_rejected("export import Y = A.B;", "`import x = A.B`", 1, 8);
    assert_rejected("const a = 1;\nexport = a;", "`export =`", 2, 1);
}

#[test]
fn decorators_are_rejected() {
    assert_rejected("@sealed\nclass A {}", "decorators", 1, 1);
    assert_rejected("class A {\n  @log m() {}\n}", "decorators", 2, 3);
    assert_rejected("class A { m(@inject x) {} }", "decorators", 1, 13);
    assert_rejected("export default @dec class {}", "decorators", 1, 16);
}

#[test]
fn angle_assertions_that_would_change_meaning_are_rejected() {
    assert_rejected("<any>{}.x;", "cannot start a statement", 1, 1);
    assert_rejected("foo;\n<T>function () {}.call(x);", "cannot start a statement", 2, 1);
    assert_rejected("const f = () => <R>{ a: 1 };", "arrow body", 1, 17);
    assert_rejected("function f() {\n  return <T>\n    x;\n}", "line break", 2, 10);
    assert_rejected("function* g() { yield <A><B>\n x }", "line break", 1, 26);
}

#[test]
fn an_unmovable_arrow_return_type_is_rejected() {
    assert_rejected("let f = (a):\nÉ=> a", "return type", 1, 12);
}

#[test]
fn syntax_errors_carry_the_parser_message_and_position() {
    let e = strip_err("let ok = 1;\nlet x: = 2;");
    assert_eq!((e.line, e.column), (2, 8), "{e}");
    assert!(!e.message.is_empty());
    let e = strip_err("function f(a: number {\n}");
    assert_eq!(e.line, 1, "{e}");
    // JSX is not TypeScript syntax here.
    strip_err("const el = <div>hi</div>;");
}

#[test]
fn imports_and_exports_below_the_top_level_are_rejected() {
    assert_rejected("function f() {\n  import { a } from \"m\";\n}", "top level", 2, 3);
    assert_rejected("class A { m() { export const x = 1; } }", "top level", 1, 17);
}

#[test]
fn the_earliest_problem_is_reported() {
    assert_rejected("enum A { X }\nenum B { Y }", "`enum`", 1, 1);
    assert_rejected("class A { m(@d x) {} }\nenum B { Y }", "decorators", 1, 13);
}

#[test]
fn error_display_and_columns_in_bytes() {
    let e = strip_err("/* é */ enum E {}");
    assert_eq!((e.line, e.column), (1, 10));
    assert_eq!(e.to_string(), format!("test.ts:1:10: {}", e.message));
    let e = strip_types("\n\nenum E {}", "agent.ts").unwrap_err();
    assert!(e.to_string().starts_with("agent.ts:3:1: `enum`"), "{e}");
}

// ---- untrusted input ---------------------------------------------------------------------------

/// Runs `strip_types` on a thread with a small stack, as a pool worker might.
fn strip_on_small_stack(source: String) -> Result<String, TypeScriptError> {
    let run = move || strip_types(&source, "deep.ts");
    std::thread::Builder::new().stack_size(256 << 10).spawn(run).unwrap().join().unwrap()
}

#[test]
fn deep_nesting_does_not_overflow_the_stack() {
    // The parser needs ~1.9 KB of stack per level: 200,000 levels is far past any default stack.
    let depth = 100_000;
    let source =
        format!("let x: {}1{} = {}1{};", "[".repeat(depth), "]".repeat(depth), "(".repeat(depth), ")".repeat(depth));
    let out = strip_on_small_stack(source.clone()).unwrap();
    assert_eq!(out.len(), source.len());
    let value = source.find(" = ").unwrap();
    assert!(out[5..value].bytes().all(|b| b == b' '));
    assert_eq!(out[value..], source[value..]);
    let e = strip_on_small_stack("(".repeat(200_000)).unwrap_err();
    assert_eq!(e.line, 1, "{e}");
}

#[test]
fn oversized_sources_are_refused() {
    let source = format!("let x = 1;{}", " ".repeat(MAX_SOURCE_BYTES));
    let e = strip_err(&source);
    assert!(e.message.contains("at most 524288 bytes"), "{e}");
    assert_eq!((e.line, e.column), (1, 1));
}
