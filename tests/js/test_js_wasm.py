"""`.wasm` modules in a JavaScript bundle: `import mod from "./x.wasm"` gives a
`WebAssembly.Module`; its instances run on the host as isolates of their own, numbers in and out."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

import dynisolate
from conftest import numeric_wasm, wasm_name, wasm_section

MAIN = """
import lib from "./lib.wasm";
const shared = new WebAssembly.Instance(lib);
export default {
  exports() { return WebAssembly.Module.exports(lib); },
  add(a, b) { return shared.exports.add(a, b); },
  half(x) { return new WebAssembly.Instance(lib).exports.half(x); },
  count() { const i = new WebAssembly.Instance(lib); i.exports.count(); return i.exports.count(); },
  async viaPromise() { const i = await WebAssembly.instantiate(lib); return i.exports.add(2, 2); },
  boom() {
    try { shared.exports.boom(); } catch (e) { return [e instanceof WebAssembly.RuntimeError, e.name]; }
  },
  afterTrap() {
    const i = new WebAssembly.Instance(lib);
    try { i.exports.boom(); } catch {}
    try { return i.exports.add(1, 1); } catch (e) { return e.name; }
  },
  spin() { new WebAssembly.Instance(lib).exports.spin(); },
  compileAtRunTime() {
    try { new WebAssembly.Module(new Uint8Array([0, 97, 115, 109])); } catch (e) { return e.name; }
  },
  many() { for (let i = 0; i < 100; i++) new WebAssembly.Instance(lib); },
  forged() {
    const fake = Object.create(WebAssembly.Module.prototype);
    try { new WebAssembly.Instance(fake); } catch (e) { return e.name; }
  },
};
"""


@pytest.fixture(scope="module")
def worker() -> Iterator[dynisolate.Worker]:
    # Each instance takes a slot: room for one isolate's 16 instances and then some.
    with dynisolate.Loader(max_isolates=64, max_memory_bytes=16 << 20, cache_dir=None) as loader:
        yield loader.load({"main.js": MAIN, "lib.wasm": numeric_wasm()}, limits=dynisolate.Limits(cpu_ms=100))


def test_exports_and_calls(worker: dynisolate.Worker) -> None:
    entry = worker.get_entrypoint()
    assert [e["name"] for e in entry.exports()] == ["add", "boom", "count", "half", "spin"]
    assert entry.add(40, 2) == 42
    assert entry.add(2**31 - 1, 1) == -(2**31)  # i32 wraps, as in a browser
    assert entry.half(3.0) == 1.5
    assert entry.count() == 2  # per-instance state
    assert entry.count() == 2  # and a fresh isolate (and instance) per call
    assert entry.viaPromise() == 4


def test_traps_are_catchable_runtime_errors(worker: dynisolate.Worker) -> None:
    entry = worker.get_entrypoint()
    assert entry.boom() == [True, "RuntimeError"]
    assert entry.afterTrap() == "RuntimeError"  # a trapped instance takes no more calls
    assert entry.add(1, 2) == 3


def test_limits_reach_into_instances(worker: dynisolate.Worker) -> None:
    entry = worker.get_entrypoint()
    with pytest.raises(dynisolate.CpuLimitError):
        entry.spin()
    assert entry.add(1, 2) == 3  # the pool serves the next call


def test_instances_per_isolate_are_capped(worker: dynisolate.Worker) -> None:
    with pytest.raises(dynisolate.GuestError, match="RangeError.*at most 16"):
        worker.get_entrypoint().many()
    assert worker.get_entrypoint().add(1, 2) == 3


def test_no_compiling_at_run_time_and_no_forged_modules(worker: dynisolate.Worker) -> None:
    entry = worker.get_entrypoint()
    assert entry.compileAtRunTime() == "CompileError"
    assert entry.forged() == "TypeError"


def test_bad_wasm_is_a_load_error(loader: dynisolate.Loader) -> None:
    with pytest.raises(dynisolate.LoadError, match="lib.wasm"):
        loader.load({"main.js": MAIN, "lib.wasm": b"\0asm\x01\0\0\0\x01"})
    with pytest.raises(dynisolate.LoadError, match="bytes"):
        loader.load({"main.js": MAIN, "lib.wasm": "(module)"})
    wasi = (
        b"\0asm\x01\0\0\0"
        + wasm_section(1, [bytes([0x60, 0, 0])])
        + wasm_section(2, [wasm_name("wasi_snapshot_preview1") + wasm_name("proc_exit") + b"\x00\x00"])
    )
    with pytest.raises(dynisolate.LoadError):
        loader.load({"main.js": MAIN, "lib.wasm": wasi})
