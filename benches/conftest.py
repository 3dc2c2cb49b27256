"""Collects the figures of every benchmark and prints them side by side at the end."""

from __future__ import annotations

import datetime
import os
import platform
from collections import defaultdict

import pytest

FIGURES: dict[str, dict[str, float]] = defaultdict(dict)

# (key, label, unit, target text, lower is better)
ROWS = [
    ("fresh_median_us", "(a) fresh isolate + call, median", "µs", "≤ 10 µs, ≥ 5x wasmtime-py", True),
    ("fresh_p99_us", "(a) fresh isolate + call, p99", "µs", "", True),
    ("warm_median_us", "(b) warm call, median", "µs", "", True),
    ("rss_per_isolate_kib", "(c) RSS growth per live isolate (1,000 held)", "KiB", "≤ 16 KiB", True),
    ("private_per_isolate_kib", "(c) of which private dirty", "KiB", "", True),
    ("boots_per_s", "(d) boots/s, one thread", "/s", "≥ 50,000/s", False),
]


@pytest.fixture(scope="session")
def figures() -> dict[str, dict[str, float]]:
    return FIGURES


def _cpu() -> str:
    try:
        with open("/proc/cpuinfo") as f:
            for line in f:
                if line.startswith("model name"):
                    return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or "unknown CPU"


def _format(value: float, unit: str) -> str:
    return f"{value:,.0f} {unit}" if unit == "/s" else f"{value:,.2f} {unit}"


def pytest_terminal_summary(terminalreporter: pytest.TerminalReporter) -> None:
    if not FIGURES:
        return
    write = terminalreporter.write_line
    write("")
    write(
        f"dynisolate vs wasmtime-py, {datetime.date.today()} on {_cpu()}, {os.cpu_count()} CPUs, "
        f"Python {platform.python_version()}"
    )
    write("| measure | dynisolate | wasmtime-py | ratio | target |")
    write("|---|---|---|---|---|")
    for key, label, unit, target, lower_better in ROWS:
        ours = FIGURES["dynisolate"].get(key)
        peer = FIGURES["wasmtime-py"].get(key)
        if ours is None:
            continue
        ratio = ""
        if peer:
            ratio = f"{peer / ours:.1f}x" if lower_better else f"{ours / peer:.1f}x"
        shown = [_format(v, unit) if v else "–" for v in (ours, peer)]
        write(f"| {label} | {shown[0]} | {shown[1]} | {ratio} | {target} |")
