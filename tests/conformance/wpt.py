"""A runner for web-platform-tests files, as a Worker meets them: each `.any.js` file runs in a
fresh worker whose global scope evaluates, as classic scripts, `resources/testharness.js`, the
file's META scripts and the file itself; results stream to the host through an env function, so
a file stopped by a limit still reports what ran. The global is a Worker's: `self`, no `document`,
no `location`, no base URL.

`python tests/conformance/wpt.py` prints the pass rate per area; `test_wpt.py` compares every
subtest with `wpt_expectations.json`, where each known failure is listed with its reason.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import sys
from dataclasses import dataclass, field
from pathlib import Path

import dynisolate

HERE = Path(__file__).parent
EXPECTATIONS = HERE / "wpt_expectations.json"

# The areas the runner covers so far, each a folder of the WPT subset.
AREAS = {
    "abort": "dom/abort",
    "events": "dom/events",
    "url": "url",
    "crypto": "WebCryptoAPI",
    "streams": "streams",
    "fetch": "fetch",
    "html": "html",
    "hr-time": "hr-time",
    "encoding": "encoding",
    "FileAPI": "FileAPI",
    "xhr": "xhr",
    "compression": "compression",
    "urlpattern": "urlpattern",
}

# Where the runner serves the subset's files: a test's `fetch()` of a relative URL resolves against
# the test's own path here, as upstream's server answers it, through the worker's outbound handler.
ORIGIN = "http://wpt.test/"
CONTENT_TYPES = {".json": "application/json", ".js": "text/javascript", ".txt": "text/plain"}

# META scripts that pick a subset of subtests from `location.search` (upstream runs a file once
# per variant): given an empty one, they run every subtest at once.
SUBSET_SCRIPTS = ("common/subset-tests.js", "common/subset-tests-by-key.js")

# testharness.js's codes.
SUBTEST_STATUS = {0: "PASS", 1: "FAIL", 2: "TIMEOUT", 3: "NOTRUN", 4: "PRECONDITION_FAILED"}
HARNESS_STATUS = {0: "OK", 1: "ERROR", 2: "TIMEOUT", 3: "PRECONDITION_FAILED"}

# What upstream's wrapper defines before the harness: this global is none of a window, a worker or
# a shadow realm, so testharness.js takes its shell environment.
PRELUDE = (
    "self.GLOBAL = { isWindow() { return false; }, isWorker() { return false; },"
    " isShadowRealm() { return false; } };"
    # A relative fetch() resolves against the test's URL on ORIGIN (Workers have no base URL).
    "{ const base = BASE, fetchAbsolute = fetch; self.fetch = (input, init) =>"
    " fetchAbsolute(typeof input === 'string' ? new URL(input, base).href : input, init); }"
)
SUBSET_PRELUDE = "self.location = { search: '' };"

RUNNER = """
{imports}
const SCRIPTS = [{names}];
export default {{
  async run(env) {{
    // Indirect eval: each script runs in the global scope, as a classic script would.
    const evaluate = eval;
    evaluate(prelude);
    evaluate(harness);
    let finish;
    const finished = new Promise((resolve) => {{ finish = resolve; }});
    add_result_callback((test) => env.report(test.name, test.status, String(test.message ?? "")));
    add_completion_callback((tests, status) => finish([status.status, String(status.message ?? "")]));
    // The META scripts and the test as one script: top-level `let` and `const` of a classic
    // script are visible to the scripts after it, which separate indirect evals would not share.
    try {{ evaluate(SCRIPTS.join("\\n;\\n")); }} catch (error) {{ return [1, `uncaught: ${{error}}`]; }}
    done();
    return await finished;
  }},
}};
"""

META = re.compile(r"^//\s*META:\s*script=(\S+)\s*$", re.M)
LONG_TIMEOUT = re.compile(r"^//\s*META:\s*timeout=long\s*$", re.M)

# The CPU time a file may use: upstream's harness gives a file marked `timeout=long` several times
# the usual time, and so do we (PBKDF2's 8,632 subtests, RSA key generation).
CPU_MS = 20_000
LONG_CPU_MS = 600_000


def wpt_root() -> Path:
    """The WPT subset: `../shared/conformance/wpt/` beside the repository, or `$DYNISOLATE_WPT`."""
    candidates = [
        os.environ.get("DYNISOLATE_WPT"),
        HERE.parents[2] / "shared/conformance/wpt",
        "/work/shared/conformance/wpt",
    ]
    for candidate in candidates:
        if candidate and (Path(candidate) / "resources/testharness.js").is_file():
            return Path(candidate)
    raise FileNotFoundError("the web-platform-tests subset is missing: set DYNISOLATE_WPT to its folder")


def test_files(root: Path, area: str) -> list[str]:
    """The `.any.js` files of `area` and its subfolders, as paths relative to the WPT root."""
    return sorted(str(p.relative_to(root)) for p in (root / AREAS[area]).rglob("*.any.js"))


def meta_scripts(root: Path, test: str) -> list[str]:
    """The META scripts of `test`, in order, as paths relative to the WPT root."""
    text = (root / test).read_text()
    out = []
    for path in META.findall(text):
        resolved = (root / path.lstrip("/")) if path.startswith("/") else (root / test).parent / path
        out.append(str(resolved.resolve().relative_to(root.resolve())))
    return out


def is_long(root: Path, test: str) -> bool:
    """Whether `test` is marked `timeout=long`."""
    return LONG_TIMEOUT.search((root / test).read_text()) is not None


@dataclass
class FileResult:
    harness: str  # OK, ERROR, TIMEOUT, PRECONDITION_FAILED, or LIMIT (the call was stopped)
    message: str = ""
    subtests: dict[str, tuple[str, str]] = field(default_factory=dict)  # name -> (status, message)


def run_file(loader: dynisolate.Loader, root: Path, test: str, cpu_ms: int | None = None) -> FileResult:
    """Runs one test file in a fresh worker and returns what the harness reported."""
    scripts = [*meta_scripts(root, test), test]
    if cpu_ms is None:
        cpu_ms = LONG_CPU_MS if is_long(root, test) else CPU_MS
    prelude = PRELUDE.replace("BASE", json.dumps(ORIGIN + test))
    if any(script in SUBSET_SCRIPTS for script in scripts):
        prelude += SUBSET_PRELUDE
    modules = {
        "prelude.txt": prelude,
        "harness.txt": (root / "resources/testharness.js").read_text(),
        **{f"script{i}.txt": (root / path).read_text() for i, path in enumerate(scripts)},
    }
    imports = ['import prelude from "./prelude.txt";', 'import harness from "./harness.txt";']
    imports += [f'import script{i} from "./script{i}.txt";' for i in range(len(scripts))]
    names = ", ".join(f"script{i}" for i in range(len(scripts)))
    modules["runner.js"] = RUNNER.format(imports="\n".join(imports), names=names)
    result = FileResult(harness="OK")

    def report(name: str, status: int, message: str) -> None:
        result.subtests[name] = (SUBTEST_STATUS.get(status, str(status)), message)

    def serve(request: dynisolate.Request) -> dynisolate.Response:
        """The subset's files, read-only, under ORIGIN."""
        file = (root / request.url.removeprefix(ORIGIN).split("?")[0]).resolve()
        if not request.url.startswith(ORIGIN) or root.resolve() not in file.parents or not file.is_file():
            return dynisolate.Response(b"not found", 404)
        content_type = CONTENT_TYPES.get(file.suffix, "application/octet-stream")
        return dynisolate.Response(file.read_bytes(), 200, headers={"content-type": content_type})

    limits = dynisolate.Limits(
        cpu_ms=cpu_ms,
        wall_ms=cpu_ms,  # a long file's timers and fetches need the same room as its work
        max_host_calls=100_000,
        max_log_bytes=1 << 20,
        sub_requests=1_000,
        max_payload_bytes=16 << 20,
    )
    env = {"report": report}
    worker = loader.load(modules, main_module="runner.js", env=env, global_outbound=serve, limits=limits)
    try:
        status, message = worker.get_entrypoint().run()
        result.harness, result.message = HARNESS_STATUS.get(status, str(status)), message
    except dynisolate.DynisolateError as e:
        result.harness, result.message = "LIMIT", f"{type(e).__name__}: {e}"
    return result


def load_expectations() -> dict[str, dict[str, str]]:
    """Known failures: test file -> subtest name (or "*" for the harness) -> reason."""
    return json.loads(EXPECTATIONS.read_text())


def main(argv: list[str]) -> int:
    """Prints the pass rate per area (subtests passed, of those run); `--failures` also prints each
    subtest that did not pass, and a harness that did not finish."""
    parser = argparse.ArgumentParser(description="Runs the WPT subset's areas and prints their pass rates.")
    parser.add_argument("areas", nargs="*", help=f"areas to run, of {', '.join(AREAS)} (default: all)")
    parser.add_argument("--failures", action="store_true", help="print every subtest that did not pass")
    args = parser.parse_args(argv)
    unknown = set(args.areas) - set(AREAS)
    if unknown:
        parser.error(f"unknown areas: {', '.join(sorted(unknown))}")
    root = wpt_root()
    rows = []
    with dynisolate.Loader(cache_dir=None) as loader:
        for area in args.areas or AREAS:
            passed = total = 0
            for test in test_files(root, area):
                result = run_file(loader, root, test)
                total += len(result.subtests)
                passed += sum(1 for status, _ in result.subtests.values() if status == "PASS")
                if args.failures and result.harness != "OK":
                    print(f"{test}: harness {result.harness}: {result.message}")
                for name, (status, message) in result.subtests.items() if args.failures else ():
                    if status != "PASS":
                        print(f"{test}: {status}: {name}: {message}")
            rows.append((area, passed, total))
    print("| area | subtests passed | of | rate |")
    print("|---|---:|---:|---:|")
    for area, passed, total in rows:
        print(f"| {area} | {passed} | {total} | {100 * passed / total if total else 0:.1f} % |")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
