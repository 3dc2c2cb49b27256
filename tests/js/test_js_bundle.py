"""JavaScript bundles: module kinds, the main module, and the bytecode cache."""

from __future__ import annotations

import gc
import subprocess
import sys
from pathlib import Path

import pytest

import dynisolate

AGENT = """
import config from "./config.json";
import banner from "./banner.txt";
import { scale } from "./lib/scale.mjs";

export default {
  describe() { return { config, banner, scaled: scale(config.factor) }; },
};
"""


def test_json_and_text_modules_are_default_exports(loader: dynisolate.Loader) -> None:
    worker = loader.load(
        {
            "agent.js": AGENT,
            "config.json": '{"factor": 3, "__proto__": {"polluted": true}}',
            "banner.txt": 'Hello "tenant"\\n\u2028',
            "lib/scale.mjs": "export const scale = (x) => x * 10;",
        }
    )
    result = worker.get_entrypoint().describe()
    assert result == {
        "config": {"factor": 3, "__proto__": {"polluted": True}},
        "banner": 'Hello "tenant"\\n\u2028',
        "scaled": 30,
    }


def test_a_bundle_seen_before_comes_from_the_cache(loader: dynisolate.Loader) -> None:
    modules = {"agent.js": "export default { one() { return 1; } };"}
    first = loader.load(modules)
    second = loader.load(modules)
    changed = loader.load({"agent.js": "export default { one() { return 2; } };"})
    assert (first.cache_outcome, second.cache_outcome, changed.cache_outcome) == (
        "compiled",
        "memory",
        "compiled",
    )
    assert (second.get_entrypoint().one(), changed.get_entrypoint().one()) == (1, 2)


def test_the_interpreter_outlives_the_loaders_workers(loader: dynisolate.Loader) -> None:
    # Building the interpreter looks up its code and base heap in the module cache: with no
    # worker left alive, the next load must still find the interpreter built, not rebuild it.
    worker = loader.load({"a.js": "export default { f() { return 1; } };"})
    assert worker.get_entrypoint().f() == 1
    del worker
    gc.collect()
    before = loader.stats()
    assert loader.load({"b.js": "export default { f() { return 2; } };"}).get_entrypoint().f() == 2
    after = loader.stats()
    assert (after["compiles"] - before["compiles"], after["memory_hits"] - before["memory_hits"]) == (1, 0)


def test_the_bytecode_cache_is_shared_through_the_cache_dir(tmp_path: Path) -> None:
    script = f"""
import dynisolate
loader = dynisolate.Loader(cache_dir={str(tmp_path)!r})
worker = loader.load({{"agent.js": "export default {{ one() {{ return 1; }} }};"}})
assert worker.get_entrypoint().one() == 1
print(worker.cache_outcome)
"""
    outcomes = [
        subprocess.run(
            [sys.executable, "-c", script], check=True, capture_output=True, text=True
        ).stdout.strip()
        for _ in range(2)
    ]
    assert outcomes == ["compiled", "disk"]
    assert len(list(tmp_path.glob("*.qjsbc"))) == 1


def test_a_bundle_holds_at_most_4078_modules(loader: dynisolate.Loader) -> None:
    # 4,096 less the built-in modules (rust/js/builtins.rs), which keep their room.
    modules = {"main.js": "export default { f() { return 1; } };"} | {f"m{i}.js": "" for i in range(4_078)}
    with pytest.raises(dynisolate.LoadError, match="a bundle holds at most 4078 modules; this one has 4079"):
        loader.load(modules)
    del modules["m0.js"]
    assert loader.load(modules).get_entrypoint().f() == 1
