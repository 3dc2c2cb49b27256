"""The main job: load tenant code, call it, and show how long an isolate takes to boot."""

from __future__ import annotations

import statistics
import time

import dynisolate

# Tenant code, as a platform would receive it: a module in WebAssembly text.
TENANT = """
(module
  (memory (export "memory") 1)
  (func (export "add") (param i32 i32) (result i32)
    (i32.add (local.get 0) (local.get 1)))
  (func (export "fib") (param i32) (result i64)
    (local i64 i64 i64) (local.set 2 (i64.const 1))
    (block $done (loop $next
      (br_if $done (i32.eqz (local.get 0)))
      (local.set 3 (i64.add (local.get 1) (local.get 2)))
      (local.set 1 (local.get 2)) (local.set 2 (local.get 3))
      (local.set 0 (i32.sub (local.get 0) (i32.const 1)))
      (br $next)))
    (local.get 1)))
"""


def main() -> None:
    started = time.perf_counter()
    worker = dynisolate.load({"tenant.wat": TENANT}, limits=dynisolate.Limits(cpu_ms=50))
    load_ms = (time.perf_counter() - started) * 1000
    entry = worker.get_entrypoint()
    print(f"loaded tenant.wat in {load_ms:.1f} ms (module {worker.cache_outcome})")
    print(f"add(2, 3) = {entry.add(2, 3)}")
    print(f"fib(90)   = {entry.fib(90)}")

    samples = []
    for _ in range(2_000):
        t = time.perf_counter_ns()
        entry.add(2, 3)
        samples.append(time.perf_counter_ns() - t)
    samples.sort()
    median_us = statistics.median(samples) / 1000
    p99_us = samples[int(len(samples) * 0.99)] / 1000
    print(f"fresh isolate + call: median {median_us:.1f} us, p99 {p99_us:.1f} us over {len(samples)} calls")


if __name__ == "__main__":
    main()
