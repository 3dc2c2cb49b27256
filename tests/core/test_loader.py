"""load() end to end: code in, callable worker out; every bad input a LoadError."""

from __future__ import annotations

import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

import dynisolate
from conftest import FIXTURES, assert_healthy, wat


def test_load_wat_and_call_numeric_exports(numeric: dynisolate.Worker) -> None:
    entry = numeric.get_entrypoint()
    assert entry.add(2, 3) == 5
    assert entry.add64(1 << 40, 1) == (1 << 40) + 1
    assert entry.scale(1.5, 2) == 3.0
    assert entry.divmod(17, 5) == (3, 2)
    assert entry.noop() is None


def test_load_binary_wasm(loader: dynisolate.Loader) -> None:
    # The smallest module with an `answer` export returning 42, written out by hand.
    module = bytes.fromhex(
        "0061736d01000000"  # magic + version
        "010501600001 7f".replace(" ", "")  # type: () -> i32
        + "03020100"  # func section: one function of type 0
        + "070a0106616e737765720000"  # export "answer" = func 0
        + "0a06010400412a0b"  # code: i32.const 42
    )
    worker = loader.load({"answer.wasm": module})
    assert worker.get_entrypoint().answer() == 42


def test_main_module_picks_the_entry(loader: dynisolate.Loader) -> None:
    with pytest.raises(dynisolate.LoadError, match="one module"):
        loader.load({"a.wat": "(module)", "b.wat": wat("numeric.wat")}, main_module="b.wat")
    with pytest.raises(dynisolate.LoadError, match="not one of the modules"):
        loader.load({"a.wat": "(module)"}, main_module="b.wat")


@pytest.mark.parametrize(
    ("modules", "match"),
    [
        ({}, "non-empty mapping"),
        ({"x.wasm": b"not wasm"}, "does not start"),
        ({"x.wasm": b"\0asm\x01\0\0\0\xff\xff"}, "invalid WebAssembly"),
        ({"x.wasm": "(module)"}, "must be bytes"),
        ({"x.wat": "(module (func"}, "invalid WebAssembly text"),
        ({"x.wat": '(module (func (export "f") (result i32)))'}, "invalid WebAssembly"),
        ({"x.wat": b"\xff\xfe"}, "UTF-8"),
        ({"x.py": "print(1)"}, "must end in"),
        ({"x.tsx": "export default {}"}, "not supported"),
        ({"x.js": "export default {}", "y.wasm": b"\0asm"}, r"y\.wasm: .*WebAssembly"),
        ({"x.js": "export default {}", "y.py": "print(1)"}, "takes .js, .mjs and .ts"),
        ({"x.js": "export default {}", "y.json": "{"}, r"y\.json:1:1: invalid JSON"),
        ({"x.json": "{}"}, "must end in .js"),
        ({"x.js": b"export default {}"}, "must be str"),
        ({"x.js": "export default {"}, "SyntaxError"),
        ({"x.wat": 42}, "str or bytes"),
        ({"x.wat": "(module (memory 2) (memory 2))"}, "memories"),
    ],
)
def test_bad_code_is_a_load_error(loader: dynisolate.Loader, modules: dict, match: str) -> None:
    with pytest.raises(dynisolate.LoadError, match=match):
        loader.load(modules)
    assert_healthy(loader.load({"numeric.wat": wat("numeric.wat")}))


def test_modules_over_64_mib_are_refused(loader: dynisolate.Loader) -> None:
    with pytest.raises(dynisolate.LoadError, match="limit"):
        loader.load({"big.wasm": b"\0asm\x01\0\0\0" + bytes(64 << 20)})


def test_a_module_larger_than_its_memory_cap_is_a_memory_limit_error(loader: dynisolate.Loader) -> None:
    with pytest.raises(dynisolate.MemoryLimitError):
        loader.load({"m.wat": "(module (memory 64))"}, limits=dynisolate.Limits(memory_bytes=1 << 20))


def test_bad_limits_and_settings_are_config_errors(loader: dynisolate.Loader) -> None:
    with pytest.raises(dynisolate.ConfigError):
        dynisolate.Limits(cpu_ms=0)
    with pytest.raises(dynisolate.ConfigError):
        dynisolate.Limits(memory_bytes=-1)
    with pytest.raises(dynisolate.ConfigError):
        loader.load({"m.wat": "(module)"}, limits={"cpu_ms": 5})  # type: ignore[arg-type]
    with pytest.raises(dynisolate.ConfigError, match="max_memory_bytes"):
        loader.load({"m.wat": "(module)"}, limits=dynisolate.Limits(memory_bytes=1 << 30))
    with pytest.raises(dynisolate.ConfigError, match="consume_fuel"):
        loader.load({"m.wat": "(module)"}, limits=dynisolate.Limits(fuel=100))
    with pytest.raises(dynisolate.ConfigError):
        dynisolate.Loader(max_isolates=0, cache_dir=None)
    with pytest.raises(dynisolate.ConfigError):
        dynisolate.Loader(max_memory_bytes=1000, cache_dir=None)


def test_get_caches_by_id_and_calls_the_factory_once(loader: dynisolate.Loader) -> None:
    calls = []

    def factory() -> dict:
        calls.append(1)
        return {"modules": {"numeric.wat": wat("numeric.wat")}}

    first = loader.get("tenant-1:v1", factory)
    second = loader.get("tenant-1:v1", factory)
    assert first is second
    assert len(calls) == 1
    assert first.get_entrypoint().add(1, 1) == 2
    assert loader.stats()["cached_workers"] == 1


def test_get_rejects_a_bad_factory_result(loader: dynisolate.Loader) -> None:
    with pytest.raises(dynisolate.LoadError, match="mapping"):
        loader.get("t", lambda: "code")  # type: ignore[arg-type, return-value]
    with pytest.raises(dynisolate.LoadError, match="keys"):
        loader.get("t", lambda: {"code": "x"})
    with pytest.raises(dynisolate.LoadError):
        loader.get("", lambda: {"modules": {"a.wat": "(module)"}})


def test_get_evicts_the_least_recently_used_worker() -> None:
    loader = dynisolate.Loader(max_isolates=4, max_memory_bytes=1 << 20, cache_dir=None, max_cached_workers=2)
    code = {"modules": {"numeric.wat": wat("numeric.wat")}}
    a = loader.get("a", lambda: code)
    loader.get("b", lambda: code)
    loader.get("a", lambda: code)
    loader.get("c", lambda: code)
    assert loader.stats()["cached_workers"] == 2
    assert loader.get("a", lambda: code) is a


FIXTURE = FIXTURES / "numeric.wat"


def test_a_second_process_loads_the_compiled_module_from_disk(tmp_path: Path) -> None:
    script = textwrap.dedent(
        f"""
        import dynisolate
        loader = dynisolate.Loader(max_isolates=2, max_memory_bytes=1 << 20, cache_dir={str(tmp_path)!r})
        worker = loader.load({{"numeric.wat": open({str(FIXTURE)!r}).read()}})
        assert worker.get_entrypoint().add(1, 2) == 3
        print(worker.cache_outcome, loader.stats()["compiles"])
        """
    )
    runs = [
        subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, check=True)
        for _ in range(2)
    ]
    assert runs[0].stdout.split() == ["compiled", "1"]
    assert runs[1].stdout.split() == ["disk", "0"]


def test_the_same_module_is_compiled_once_per_process(loader: dynisolate.Loader) -> None:
    before = loader.stats()["compiles"]
    first = loader.load({"a.wat": wat("numeric.wat")})
    second = loader.load({"b.wat": wat("numeric.wat")}, limits=dynisolate.Limits(cpu_ms=5))
    assert loader.stats()["compiles"] - before <= 1
    assert second.cache_outcome == "memory"
    assert first.get_entrypoint().add(1, 2) == second.get_entrypoint().add(1, 2) == 3


def test_module_level_load_uses_the_default_loader() -> None:
    worker = dynisolate.load({"numeric.wat": wat("numeric.wat")})
    assert worker.get_entrypoint().add(20, 22) == 42
    assert dynisolate.default_loader().stats()["max_isolates"] == 10_000


def test_get_refuses_other_code_or_env_under_an_id_it_loaded() -> None:
    # One cached worker, so each get below evicts the other id and calls the factory again.
    loader = dynisolate.Loader(max_isolates=4, max_memory_bytes=1 << 20, cache_dir=None, max_cached_workers=1)
    numeric = wat("numeric.wat")

    def code(env: dict | None = None, module: str = numeric) -> dict:
        return {"modules": {"numeric.wat": module}, "env": env or {"REGION": "eu"}}

    loader.get("t:v1", lambda: code())
    loader.get("other", lambda: code())  # evicts t:v1
    assert loader.get("t:v1", lambda: code()).get_entrypoint().add(2, 3) == 5  # same code: loads again
    loader.get("other", lambda: code())
    with pytest.raises(dynisolate.LoadError, match="'t:v1' was loaded with other code or env"):
        loader.get("t:v1", lambda: code({"REGION": "us"}))  # changed data binding
    with pytest.raises(dynisolate.LoadError, match="other code or env"):
        loader.get("t:v1", lambda: code(module=numeric.replace("(module", "(module $changed", 1)))
    with pytest.raises(dynisolate.LoadError, match="other code or env"):
        loader.get("t:v1", lambda: {**code(), "limits": dynisolate.Limits(cpu_ms=7)})
    # A binding compares by what it is, not by identity: a fresh closure per factory call is fine.
    loader.get("fn", lambda: code({"LOOKUP": lambda key: key}))
    loader.get("other", lambda: code())
    loader.get("fn", lambda: code({"LOOKUP": lambda key: key}))
    assert loader.stats()["cached_workers"] == 1


def test_get_keeps_ids_of_different_tenants_apart() -> None:
    loader = dynisolate.Loader(
        max_isolates=4, max_memory_bytes=16 << 20, cache_dir=None, max_cached_workers=2
    )
    numeric = {"modules": {"numeric.wat": wat("numeric.wat")}}
    agent = {"modules": {"agent.js": "export default { who() { return 'b'; } };"}}
    first = loader.get("main", lambda: numeric, tenant="a")
    second = loader.get("main", lambda: agent, tenant="b")
    assert first is not second
    assert (first.get_entrypoint().add(1, 2), second.get_entrypoint().who()) == (3, "b")
    assert loader.get("main", lambda: {}, tenant="a") is first  # a hit never calls the factory
    loader.get("x", lambda: numeric)
    loader.get("y", lambda: numeric)  # both tenants' "main" evicted
    with pytest.raises(dynisolate.LoadError, match=r"'main' \(tenant 'b'\) was loaded with other code"):
        loader.get("main", lambda: numeric, tenant="b")


def test_get_remembers_fingerprints_for_a_bounded_number_of_ids() -> None:
    loader = dynisolate.Loader(max_isolates=4, max_memory_bytes=1 << 20, cache_dir=None, max_cached_workers=1)
    code = {"modules": {"numeric.wat": wat("numeric.wat")}}
    for i in range(40):
        loader.get(f"id-{i}", lambda: code)
    changed = {**code, "limits": dynisolate.Limits(cpu_ms=9)}
    with pytest.raises(dynisolate.LoadError):
        loader.get("id-24", lambda: changed)  # among the last 16 ids (16 per cached worker)
    loader.get("id-23", lambda: changed)  # forgotten: loads as a new id
