"""TypeScript modules: types stripped natively, positions kept; syntax that needs code generation
rewritten by oxc's transformer, positions mapped back."""

from __future__ import annotations

import pytest

import dynisolate

AGENT = """import type { Question } from "./types.ts";
import { WorkerEntrypoint } from "cloudflare:workers";
import { double } from "./math.ts";

interface Env { GREETING: string }

export class Billing extends WorkerEntrypoint {
  private readonly rate: number = 2;
  charge(cents: number): { cents: number } {
    return { cents: double(cents) * this.rate };
  }
}

export default {
  async answer<T extends Question>(q: T, env: Env): Promise<string> {
    const n = q.n as number;
    return `${env.GREETING} ${double(n)!}`;
  },
  fail(): never {
    throw new Error("typed failure");
  },
};
"""
TYPES = "export interface Question { n: number }\nexport type Id = string;\n"
MATH = "export const double = (x: number): number => x * 2;\n"


@pytest.fixture
def agent(loader: dynisolate.Loader) -> dynisolate.Worker:
    return loader.load({"agent.ts": AGENT, "types.ts": TYPES, "math.ts": MATH}, env={"GREETING": "hi"})


def test_typescript_modules_run(agent: dynisolate.Worker) -> None:
    assert agent.get_entrypoint().answer({"n": 21}) == "hi 42"
    assert agent.get_entrypoint("Billing").charge(5) == {"cents": 20}


def test_stack_lines_match_the_typescript_source(agent: dynisolate.Worker) -> None:
    with pytest.raises(dynisolate.GuestError) as info:
        agent.get_entrypoint().fail()
    assert "agent.ts:20" in info.value.stack  # the line of the `throw` in AGENT


def test_syntax_errors_are_refused_with_a_position(loader: dynisolate.Loader) -> None:
    with pytest.raises(dynisolate.LoadError, match=r"agent\.ts:1:\d+"):
        loader.load({"agent.ts": "export default { f(: number) {} };"})


SHAPES = """import { Level, describe } from "./levels";

export enum Color { Red, Green = 5, Blue }
const enum Flag { On = 1, Off = 0 }
export namespace Geometry {
  export const origin = { x: 0, y: 0 };
  export function distance(p: { x: number; y: number }): number { return Math.hypot(p.x, p.y); }
  export namespace Units { export const metre = "m"; }
}
import metre = Geometry.Units.metre;

class Base { constructor(public readonly id: string) {} }
export class Point extends Base {
  constructor(id: string, private x: number, protected y = 4, public label?: string) {
    super(id);
  }
  length(): number { return Geometry.distance({ x: this.x, y: this.y }); }
}

export default {
  shapes() {
    const p = new Point("p", 3, undefined, "pt");
    return [Color.Red, Color.Green, Color.Blue, Color[5], Flag.On, Geometry.origin, Geometry.Units.metre,
            metre, p.id, p.length(), p.label, Object.keys(p), Level.High, describe(Level.Low)];
  },
  fail(): never {
    const unused: Flag = Flag.Off;
    throw new RangeError(`no shape ${unused}`);
  },
};
"""
LEVELS = """export enum Level { Low = "low", High = "high" }
export function describe(level: Level): string { return `level ${level}`; }
"""


def test_enums_namespaces_and_parameter_properties_run(loader: dynisolate.Loader) -> None:
    worker = loader.load({"shapes.ts": SHAPES, "levels.ts": LEVELS})
    assert worker.get_entrypoint().shapes() == [
        0,
        5,
        6,
        "Green",
        1,
        {"x": 0, "y": 0},
        "m",
        "m",
        "p",
        5,
        "pt",
        ["id", "x", "y", "label"],
        "high",
        "level low",
    ]


# The same program twice, line for line: once with an `enum` (so it is rewritten by the
# transformer, which moves every line below it), once with an object (so its types are stripped in
# place). Their errors must report the same positions.
POSITIONED = """{first}
class Box {{
  constructor(private readonly size: number, public label = "box") {{}}
  check(): void {{
    if (this.size > E.A) throw new RangeError(`too big: ${{this.size}}`);
  }}
}}
export default {{
  fail(size: number): void {{
    new Box(size).check();
  }},
}};
if (E.A !== 0) throw new Error(`bad start ${{E.A}}`);
"""
GENERATED = POSITIONED.format(first="enum E { A }")
STRIPPED = POSITIONED.format(first="const E = { A: 0 };")


def frames(stack: str) -> list[str]:
    return [line.strip() for line in stack.splitlines() if ".ts:" in line]


def test_errors_in_generated_modules_point_at_the_typescript_source(loader: dynisolate.Loader) -> None:
    stacks = []
    for source in (GENERATED, STRIPPED):
        worker = loader.load({"box.ts": source})
        with pytest.raises(dynisolate.GuestError, match="too big: 3") as info:
            worker.get_entrypoint().fail(3)
        with worker.session() as session, pytest.raises(dynisolate.GuestError) as in_session:
            session.get_entrypoint().fail(3)
        assert frames(in_session.value.stack) == frames(info.value.stack)
        stacks.append(frames(info.value.stack))
    assert stacks[0] == stacks[1]
    assert [frame.split(":")[1] for frame in stacks[0]] == ["5", "10"]  # the lines of the throw and the call


def test_a_throwing_module_body_is_a_load_error_at_its_typescript_position(loader: dynisolate.Loader) -> None:
    errors = []
    for source in (GENERATED, STRIPPED):
        with pytest.raises(dynisolate.LoadError, match="bad start 0") as info:
            loader.load({"box.ts": source.replace("E.A !== 0", "E.A === 0")})
        errors.append(str(info.value))
    assert errors[0] == errors[1]
    assert "box.ts:13:" in errors[0]


@pytest.mark.parametrize(
    ("source", "message"),
    [
        (
            "import fs = require('fs');\nexport default {};",
            r"main\.ts:1:1: `import x = require\(\.\.\.\)` is not supported",
        ),
        ("const x = 1;\nexport = x;", r"main\.ts:2:1: `export =` is not supported"),
        (
            "function d(t: any) {}\n@d class K {}\nexport default {};",
            r"main\.ts:2:\d+: decorators are not supported",
        ),
    ],
)
def test_what_a_worker_cannot_run_stays_refused_with_a_position(
    loader: dynisolate.Loader, source: str, message: str
) -> None:
    with pytest.raises(dynisolate.LoadError, match=message):
        loader.load({"main.ts": source})
