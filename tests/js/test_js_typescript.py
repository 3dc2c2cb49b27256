"""TypeScript modules: types stripped natively, positions kept."""

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


def test_syntax_that_needs_code_generation_is_refused_with_a_position(loader: dynisolate.Loader) -> None:
    with pytest.raises(dynisolate.LoadError, match=r"agent\.ts:2:1: .*enum"):
        loader.load({"agent.ts": "export default {};\nenum Color { Red }\n"})
    with pytest.raises(dynisolate.LoadError, match=r"agent\.ts:1:\d+"):
        loader.load({"agent.ts": "export default { f(: number) {} };"})
