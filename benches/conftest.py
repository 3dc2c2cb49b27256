"""Collects the figures of every benchmark and prints them side by side at the end: the core
table (test_isolate.py), the JavaScript table (test_js.py) and the durable-workflow table
(test_workflows.py)."""

from __future__ import annotations

import datetime
import os
import platform
from collections import defaultdict

import pytest

FIGURES: dict[str, dict[str, float]] = defaultdict(dict)

# (key, label, unit, target text, lower is better)
ROWS = [
    ("fresh_median_us", "(a) fresh isolate + call, median", "µs", "≤ 2.1 µs, ≥ 5x wasmtime-py", True),
    ("fresh_p99_us", "(a) fresh isolate + call, p99", "µs", "", True),
    ("warm_median_us", "(b) warm call, median", "µs", "", True),
    ("rss_per_isolate_kib", "(c) RSS growth per live isolate (1,000 held)", "KiB", "≤ 16 KiB", True),
    ("private_per_isolate_kib", "(c) of which private dirty", "KiB", "", True),
    ("boots_per_s", "(d) boots/s, one thread", "/s", "≥ 50,000/s", False),
]


# The JavaScript table: figures per runtime, notes printed under the table (skipped rows, peer
# limitations) and the peers' versions for the header.
JS_FIGURES: dict[str, dict[str, float]] = defaultdict(dict)
JS_NOTES: list[str] = []
JS_VERSIONS: dict[str, str] = {}
JS_PEERS = ("quickjs", "mini-racer")  # the columns ratios are taken against
JS_COLUMNS = ("dynisolate", "quickjs", "mini-racer", "wasmtime-py")

# (key, label, unit, target text, lower is better)
JS_ROWS = [
    (
        "fresh_median_us",
        "(a) fresh isolate + first call, median",
        "µs",
        "≤ 25 µs, ≥ 4x quickjs, ≥ 100x mini-racer",
        True,
    ),
    ("fresh_p99_us", "(a) fresh isolate + first call, p99", "µs", "", True),
    ("cold_median_ms", "(b) never-seen 5 KB module to first result, median", "ms", "≤ 2 ms", True),
    ("cold_p99_ms", "(b) never-seen 5 KB module to first result, p99", "ms", "", True),
    ("warm_median_us", "(c) warm call, median", "µs", "≤ 5 µs", True),
    ("rss_per_isolate_kib", "(d) RSS growth per live isolate (1,000 held)", "KiB", "", True),
    ("private_per_isolate_kib", "(d) of which private dirty", "KiB", "≤ 64 KiB", True),
    ("boots_per_s", "(e) boots/s, one thread", "/s", "≥ 30,000/s", False),
    ("env_rpc_us", "(f) one env RPC round trip", "µs", "≤ 3 µs", True),
    ("env_rpc_mib_ms", "(f) one env RPC returning 1 MiB of bytes", "ms", "< 1 ms", True),
    ("fresh_1_session_median_us", "(g) fresh call, 1 live session, median", "µs", "", True),
    (
        "fresh_10000_sessions_median_us",
        "(g) fresh call, 10,000 live sessions, median",
        "µs",
        "within 20% of 1 session",
        True,
    ),
]


# The durable-workflow table: dynisolate against DBOS.
WF_FIGURES: dict[str, dict[str, float]] = defaultdict(dict)
WF_NOTES: list[str] = []
WF_ROWS = [
    ("throughput_per_s", "throughput, 2,000 workflows of 3 steps", "/s", "≥ 10x DBOS and ≥ 2,000/s", False),
    ("latency_median_ms", "one workflow, median", "ms", "≤ 1 ms", True),
    ("latency_p99_ms", "one workflow, p99", "ms", "", True),
    ("create_single_per_s", "creation, one at a time", "/s", "≥ 5,000/s", False),
    ("create_batch_per_s", "creation, batches of 100", "/s", "≥ 20,000/s", False),
    ("waiting", "instances waiting for an event at once", "", "50,000", False),
    ("rss_growth_mib", "memory growth with all of them waiting", "MiB", "< 1 GiB", True),
    ("rss_per_waiting_bytes", "memory per waiting instance", "B", "", True),
    ("park_per_s", "instances brought to their wait", "/s", "", False),
    ("send_s", "sending the events to all", "s", "", True),
    ("complete_after_events_s", "events sent to all complete", "s", "", True),
    ("resume_per_s", "instances resumed and completed", "/s", "", False),
]


# The PostgreSQL workflow table: dynisolate against DBOS on one cluster, and how cost grows.
PG_FIGURES: dict[str, dict[str, float]] = defaultdict(dict)
PG_NOTES: list[str] = []
# (key, label, unit, lower is better)
PG_ROWS = [
    ("throughput_per_s", "throughput, 2,000 workflows of 3 steps, one process", "/s", False),
    ("latency_median_ms", "one workflow, median", "ms", True),
    ("latency_p99_ms", "one workflow, p99", "ms", True),
    ("create_single_per_s", "creation, one at a time", "/s", False),
    ("create_batch_per_s", "creation, batches of 100", "/s", False),
    ("processes_1_per_s", "a backlog of 6,000 worked by 1 worker process", "/s", False),
    ("processes_2_per_s", "... by 2 worker processes", "/s", False),
    ("processes_4_per_s", "... by 4 worker processes", "/s", False),
    ("claim_10000_ms", "a claim, 10,000 finished instances in the tables, median", "ms", True),
    ("claim_1000000_ms", "a claim, 1,000,000 finished instances in the tables, median", "ms", True),
    ("churn_per_s", "100,000 instances created, run and deleted (retention 0), 2 processes", "/s", False),
    ("churn_halfway_kib", "... the store's tables and indexes after 50,000", "KiB", True),
    ("churn_end_kib", "... after 100,000", "KiB", True),
    *(
        (f"churn_{table}_{kind}", f"... then {table}: {label}", unit, True)
        for table in ("instances", "steps", "events", "ready", "tenants")
        for kind, label, unit in (
            ("live", "live rows", ""),
            ("dead", "dead rows", ""),
            ("kib", "size", "KiB"),
        )
    ),
]

# The web platform table: (ours, a peer's figure or None) per measure.
WEB_FIGURES: dict[str, tuple[float, float | None]] = {}
# (key, label, unit, peer, target text, lower is better)
WEB_ROWS = [
    ("digest_sha256_1mib_ms", "digest SHA-256 of 1 MiB", "ms", "hashlib", "within 2x of hashlib", True),
    ("hmac_sign_100b_us", "HMAC-SHA256 sign of 100 bytes, in the guest", "µs", "hmac", "< 10 µs", True),
    ("decode_utf8_1mib_ms", "TextDecoder UTF-8 of 1 MiB (CJK, emoji)", "ms", "bytes.decode", "", True),
    ("decode_shift_jis_1mib_ms", "TextDecoder Shift_JIS of 1 MiB", "ms", "bytes.decode", "", True),
    ("url_parse_us", "URL parse, median over WPT's URL inputs", "µs", "", "< 2 µs", True),
    ("url_inputs", "of which inputs", "", "", "", True),
    ("urlpattern_exec_us", "URLPattern exec of a URL, two pathname groups", "µs", "", "", True),
    ("transform_mib_per_s", "10 MiB piped through a TransformStream", "MiB/s", "", "≥ 100 MiB/s", False),
    ("gzip_mib_per_s", "10 MiB gzipped through a CompressionStream", "MiB/s", "gzip (zlib)", "", False),
    ("fresh_median_us", "fresh isolate + first call, median (same run)", "µs", "", "no slower", True),
]

# The process-isolation table: figures per mode ("in_process", "sandbox").
PROCESS_FIGURES: dict[str, dict[str, float]] = defaultdict(dict)
# (key, label, unit)
PROCESS_ROWS = [
    ("fresh_js_call_us", "fresh JavaScript call, median", "µs"),
    ("fresh_wasm_call_us", "fresh WebAssembly call, median", "µs"),
    ("env_rpc_us", "one env RPC inside a call", "µs"),
    ("calls_per_s_1", "calls/s, one sandbox process, 1 calling thread", "/s"),
    ("calls_per_s_8", "calls/s, one sandbox process, 8 calling threads", "/s"),
    ("process_start_ms", "a new cordon's first load (process started and confined), median", "ms"),
]

WF_TOTALS = frozenset({"waiting", "rss_growth_mib", "send_s", "complete_after_events_s"})


def memory_kib() -> tuple[int, int]:
    """(Rss, Private_Dirty) of this process, in KiB."""
    fields = {}
    with open("/proc/self/smaps_rollup") as f:
        for line in f:
            key, _, rest = line.partition(":")
            if key in ("Rss", "Private_Dirty"):
                fields[key] = int(rest.split()[0])
    return fields["Rss"], fields["Private_Dirty"]


@pytest.fixture(scope="session")
def figures() -> dict[str, dict[str, float]]:
    return FIGURES


@pytest.fixture(scope="session")
def wf_figures() -> dict[str, dict[str, float]]:
    return WF_FIGURES


@pytest.fixture(scope="session")
def wf_notes() -> list[str]:
    return WF_NOTES


@pytest.fixture(scope="session")
def pg_figures() -> dict[str, dict[str, float]]:
    return PG_FIGURES


@pytest.fixture(scope="session")
def pg_notes() -> list[str]:
    return PG_NOTES


@pytest.fixture(scope="session")
def web_figures() -> dict[str, tuple[float, float | None]]:
    return WEB_FIGURES


@pytest.fixture(scope="session")
def process_figures() -> dict[str, dict[str, float]]:
    return PROCESS_FIGURES


@pytest.fixture(scope="session")
def js_figures() -> dict[str, dict[str, float]]:
    return JS_FIGURES


@pytest.fixture(scope="session")
def js_notes() -> list[str]:
    return JS_NOTES


@pytest.fixture(scope="session")
def js_versions() -> dict[str, str]:
    return JS_VERSIONS


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


def _ratio(ours: float | None, peer: float | None, lower_better: bool) -> str:
    if not ours or not peer:
        return ""
    return f"{peer / ours:.1f}x" if lower_better else f"{ours / peer:.1f}x"


def _js_ratio(ours: float | None, peer: float | None, lower_better: bool) -> str:
    """How many times better we are than `peer`; below 1 (we are behind) with two decimals."""
    if not ours or not peer:
        return ""
    ratio = peer / ours if lower_better else ours / peer
    return f"{ratio:.1f}x" if ratio >= 0.95 else f"{ratio:.2f}x"


def _machine() -> str:
    return f"{datetime.date.today()} on {_cpu()}, {os.cpu_count()} CPUs, Python {platform.python_version()}"


def _core_table(write) -> None:  # type: ignore[no-untyped-def]
    write("")
    write(f"dynisolate vs wasmtime-py, {_machine()}")
    write("| measure | dynisolate | wasmtime-py | ratio | target |")
    write("|---|---|---|---|---|")
    for key, label, unit, target, lower_better in ROWS:
        ours = FIGURES["dynisolate"].get(key)
        peer = FIGURES["wasmtime-py"].get(key)
        if ours is None:
            continue
        ratio = _ratio(ours, peer, lower_better)
        shown = [_format(v, unit) if v else "–" for v in (ours, peer)]
        write(f"| {label} | {shown[0]} | {shown[1]} | {ratio} | {target} |")


def _js_table(write) -> None:  # type: ignore[no-untyped-def]
    write("")
    write(f"JavaScript: dynisolate vs quickjs, mini-racer and wasmtime-py, {_machine()}")
    if JS_VERSIONS:
        write("Peers: " + ", ".join(f"{name} {version}" for name, version in sorted(JS_VERSIONS.items())))
    write(
        "| measure | dynisolate | quickjs | mini-racer | wasmtime-py "
        "| ratio vs quickjs | ratio vs mini-racer | target |"
    )
    write("|---|---|---|---|---|---|---|---|")
    for key, label, unit, target, lower_better in JS_ROWS:
        values = [JS_FIGURES[column].get(key) for column in JS_COLUMNS]
        if all(v is None for v in values):
            continue
        shown = ["n/a" if v is None else _format(v, unit) for v in values]
        ratios = [_js_ratio(values[0], JS_FIGURES[peer].get(key), lower_better) for peer in JS_PEERS]
        write(f"| {label} | {' | '.join(shown)} | {' | '.join(ratios)} | {target} |")
    for note in dict.fromkeys(JS_NOTES):  # in order, once each
        write(f"- {note}")


def _wf_table(write) -> None:  # type: ignore[no-untyped-def]
    write("")
    write(f"Durable workflows: dynisolate vs DBOS, SQLite synchronous=FULL on both, {_machine()}")
    write("| measure | dynisolate | DBOS | ratio | target |")
    write("|---|---|---|---|---|")
    ours, peer = WF_FIGURES["dynisolate"], WF_FIGURES["DBOS"]
    for key, label, unit, target, lower_better in WF_ROWS:
        values = [ours.get(key), peer.get(key)]
        if all(v is None for v in values):
            continue
        shown = [
            "n/a" if v is None else f"{v:,.0f}" if unit in ("", "/s", "B") else f"{v:,.2f}" for v in values
        ]
        shown = [f"{v} {unit}".strip() if v != "n/a" else v for v in shown]
        # Totals over different instance counts (50,000 against DBOS's 5,000) are not comparable.
        ratio = "" if key in WF_TOTALS else _js_ratio(values[0], values[1], lower_better)
        write(f"| {label} | {shown[0]} | {shown[1]} | {ratio} | {target} |")
    for note in dict.fromkeys(WF_NOTES):
        write(f"- {note}")


def _pg_table(write) -> None:  # type: ignore[no-untyped-def]
    write("")
    write(f"Durable workflows on PostgreSQL: dynisolate vs DBOS on one cluster, {_machine()}")
    write("| measure | dynisolate | DBOS | ratio |")
    write("|---|---|---|---|")
    ours, peer = PG_FIGURES["dynisolate"], PG_FIGURES["DBOS"]
    for key, label, unit, lower_better in PG_ROWS:
        values = [ours.get(key), peer.get(key)]
        if all(v is None for v in values):
            continue
        shown = ["" if v is None else _format(v, unit) if unit else f"{v:,.0f}" for v in values]
        ratio = _js_ratio(values[0], values[1], lower_better) if None not in values else ""
        write(f"| {label} | {shown[0]} | {shown[1]} | {ratio} |")
    for note in dict.fromkeys(PG_NOTES):
        write(f"- {note}")


def _web_table(write) -> None:  # type: ignore[no-untyped-def]
    write("")
    write(f"Web platform in a JavaScript isolate, {_machine()}")
    write("| measure | dynisolate | peer | peer's figure | ratio | target |")
    write("|---|---|---|---|---|---|")
    for key, label, unit, peer, target, lower_better in WEB_ROWS:
        if key not in WEB_FIGURES:
            continue
        ours, theirs = WEB_FIGURES[key]
        shown = f"{ours:,.0f}" if not unit else _format(ours, unit)
        peer_shown = "" if theirs is None else _format(theirs, unit)
        ratio = "" if theirs is None else _js_ratio(ours, theirs, lower_better)
        write(f"| {label} | {shown} | {peer} | {peer_shown} | {ratio} | {target} |")


def _process_table(write) -> None:  # type: ignore[no-untyped-def]
    write("")
    write(f"Process isolation, {_machine()}")
    write("| measure | in process | sandbox process | cost |")
    write("|---|---|---|---|")
    for key, label, unit in PROCESS_ROWS:
        if key not in PROCESS_FIGURES:
            continue
        mine = PROCESS_FIGURES[key].get("in_process")
        sandboxed = PROCESS_FIGURES[key].get("sandbox")
        shown = ["" if v is None else _format(v, unit) for v in (mine, sandboxed)]
        cost = f"{sandboxed / mine:.1f}x" if mine and sandboxed else ""
        write(f"| {label} | {shown[0]} | {shown[1]} | {cost} |")


def pytest_terminal_summary(terminalreporter: pytest.TerminalReporter) -> None:
    write = terminalreporter.write_line
    if FIGURES:
        _core_table(write)
    if JS_FIGURES or JS_NOTES:
        _js_table(write)
    if WF_FIGURES:
        _wf_table(write)
    if PG_FIGURES:
        _pg_table(write)
    if WEB_FIGURES:
        _web_table(write)
    if PROCESS_FIGURES:
        _process_table(write)
