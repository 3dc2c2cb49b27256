"""`.wasm` modules in a JavaScript bundle: `import mod from "./x.wasm"` gives a
`WebAssembly.Module`; its instances run on the host as isolates of their own, numbers in and out."""

from __future__ import annotations

import struct
from collections.abc import Iterator

import pytest

import dynisolate


def _leb(n: int) -> bytes:
    out = bytearray()
    while True:
        byte, n = n & 0x7F, n >> 7
        if n:
            out.append(byte | 0x80)
        else:
            out.append(byte)
            return bytes(out)


def _section(kind: int, items: list[bytes]) -> bytes:
    body = _leb(len(items)) + b"".join(items)
    return bytes([kind]) + _leb(len(body)) + body


def _name(text: str) -> bytes:
    return _leb(len(text)) + text.encode()


I32, F64 = 0x7F, 0x7C


def _module() -> bytes:
    """add(i32, i32) -> i32, boom() traps, spin() loops forever, half(f64) -> f64, count() -> i32
    (a global counter, to show instance state)."""
    types = [
        bytes([0x60, 2, I32, I32, 1, I32]),  # 0: (i32, i32) -> i32
        bytes([0x60, 0, 0]),  # 1: () -> ()
        bytes([0x60, 1, F64, 1, F64]),  # 2: (f64) -> f64
        bytes([0x60, 0, 1, I32]),  # 3: () -> i32
    ]
    functions = [b"\x00", b"\x01", b"\x01", b"\x02", b"\x03"]
    globals_ = [bytes([I32, 1, 0x41, 0, 0x0B])]  # mut i32 = 0
    exports = [_name(n) + bytes([0, i]) for i, n in enumerate(["add", "boom", "spin", "half", "count"])]
    bodies = [
        bytes([0, 0x20, 0, 0x20, 1, 0x6A, 0x0B]),  # local.get 0, local.get 1, i32.add
        bytes([0, 0x00, 0x0B]),  # unreachable
        bytes([0, 0x03, 0x40, 0x0C, 0, 0x0B, 0x0B]),  # loop br 0 end
        bytes([0, 0x20, 0, 0x44]) + struct.pack("<d", 0.5) + bytes([0xA2, 0x0B]),  # x * 0.5
        bytes([0, 0x23, 0, 0x41, 1, 0x6A, 0x24, 0, 0x23, 0, 0x0B]),  # global += 1; return global
    ]
    code = [_leb(len(b)) + b for b in bodies]
    return (
        b"\0asm\x01\0\0\0"
        + _section(1, types)
        + _section(3, functions)
        + _section(6, globals_)
        + _section(7, exports)
        + _section(10, code)
    )


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
        yield loader.load({"main.js": MAIN, "lib.wasm": _module()}, limits=dynisolate.Limits(cpu_ms=100))


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
        + _section(1, [bytes([0x60, 0, 0])])
        + _section(2, [_name("wasi_snapshot_preview1") + _name("proc_exit") + b"\x00\x00"])
    )
    with pytest.raises(dynisolate.LoadError):
        loader.load({"main.js": MAIN, "lib.wasm": wasi})
