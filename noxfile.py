"""Developer tasks. Run with `python3 noxfile.py -s SESSION`: the file bootstraps nox into
`.nox/_bootstrap` when it is not installed, so a fresh machine needs only Python and Rust.

Sessions: demo, test (test-rust + test-py), test-rust, test-py, bench, wpt, fuzz, lint.
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent


def _bootstrap() -> None:
    """Re-runs this file under a private virtualenv that has nox."""
    venv = ROOT / ".nox" / "_bootstrap"
    python = venv / "bin" / "python"
    if not python.exists():
        subprocess.run([sys.executable, "-m", "venv", str(venv)], check=True)
        subprocess.run([str(python), "-m", "pip", "install", "--quiet", "nox>=2024.4.15"], check=True)
    os.execv(str(python), [str(python), __file__, *sys.argv[1:]])


try:
    import nox
except ImportError:
    if __name__ == "__main__":
        _bootstrap()
    raise

nox.options.default_venv_backend = "venv"
nox.options.reuse_existing_virtualenvs = True
nox.options.sessions = ["test"]


def _develop(session: nox.Session, *extras: str, release: bool = False, features: str = "") -> None:
    """Builds the extension into the session's virtualenv (target/ is reused between runs)."""
    session.install("maturin>=1.9.4,<2", *extras)
    args = ["maturin", "develop", "--quiet"]
    if release:
        args.append("--release")
    if features:
        args += ["--features", features]
    session.run(*args, env={"CARGO_TERM_COLOR": "never"})


@nox.session
def demo(session: nox.Session) -> None:
    """Runs a tenant's Cloudflare-style project with Python bindings and a durable workflow, then
    times fresh isolates."""
    _develop(session)
    session.run("python", "examples/demo.py")


def _rust_tests(session: nox.Session) -> None:
    session.run("cargo", "test", external=True, env={"CARGO_TERM_COLOR": "never"})


POSTGRES_DRIVER = ("psycopg[binary]>=3.2",)


def _postgres_server(session: nox.Session) -> None:
    """Debian's PostgreSQL server, installed when missing: the workflow tests start a throwaway
    cluster of it (tests/postgres_cluster.py)."""
    session.run("python", "tests/postgres_cluster.py", "install")


def _python_tests(session: nox.Session) -> None:
    _develop(session, "pytest>=8", "pytest-timeout>=2", "mypy>=1.10", *POSTGRES_DRIVER)
    _postgres_server(session)
    session.run("python", "-m", "pytest", *session.posargs)


@nox.session(name="test-rust")
def test_rust(session: nox.Session) -> None:
    """The core's own tests, without Python."""
    _rust_tests(session)


@nox.session(name="test-py")
def test_py(session: nox.Session) -> None:
    """The Python test suite against a dev build of the extension."""
    _python_tests(session)


@nox.session
def test(session: nox.Session) -> None:
    """Everything: Rust tests, then Python tests."""
    _rust_tests(session)
    _python_tests(session)


@nox.session
def bench(session: nox.Session) -> None:
    """Benchmarks on a release build; prints the comparison tables: the core against wasmtime-py,
    JavaScript against native QuickJS (PyPI quickjs), V8 (PyPI mini-racer) and wasmtime-py."""
    _develop(
        session,
        "pytest>=8",
        "pytest-timeout>=2",
        "pytest-benchmark>=4",
        "wasmtime>=40",
        "quickjs>=1.19",
        "mini-racer>=0.14",
        "dbos>=3.4",
        *POSTGRES_DRIVER,
        release=True,
        features="python,bench",  # bench: the hooks (the interpreter as wasm, a worker's bytecode)
    )
    _postgres_server(session)
    session.run(
        "python",
        "-m",
        "pytest",
        "benches",
        "-p",
        "no:cacheprovider",
        "--benchmark-only",
        "--benchmark-columns=median,min,max,rounds",
        "-o",
        "addopts=",
        *session.posargs,
    )


@nox.session
def wpt(session: nox.Session) -> None:
    """Web-platform-tests as a Worker meets them: prints the pass rate per area (tests/conformance;
    the test suite checks every subtest against tests/conformance/wpt_expectations.json)."""
    _develop(session)
    session.run("python", "tests/conformance/wpt.py")


@nox.session
def fuzz(session: nox.Session) -> None:
    """The fuzz tests over many more seeds than the test suite's (not part of CI): random wasm
    modules and random requests at every host import (tests/rust/fuzz/), random hostile
    JavaScript (tests/js/test_js_fuzz.py). `nox -s fuzz -- SCALE [FIRST_SEED]`: SCALE times the
    default cases (default 50), from seed FIRST_SEED (default 1000, past the test suite's seeds;
    give others to cover fresh ones). A failure names its seed: `DYNISOLATE_FUZZ_FIRST_SEED=SEED`
    on the test that failed starts from it."""
    scale = session.posargs[0] if session.posargs else "50"
    first_seed = session.posargs[1] if len(session.posargs) > 1 else "1000"
    env = {"DYNISOLATE_FUZZ_SCALE": scale, "DYNISOLATE_FUZZ_FIRST_SEED": first_seed}
    cargo_env = {"CARGO_TERM_COLOR": "never", **env}
    cargo_args = ["test", "--test", "core", "fuzz::", "--", "--nocapture"]
    session.run("cargo", *cargo_args, external=True, env=cargo_env)
    _develop(session, "pytest>=8", "pytest-timeout>=2")
    pytest_args = ["tests/js/test_js_fuzz.py", "-p", "no:cacheprovider", "-s", "-o", "timeout=0"]
    session.run("python", "-m", "pytest", *pytest_args, env=env)


@nox.session
def lint(session: nox.Session) -> None:
    """ruff and clippy."""
    session.install("ruff")
    session.run("ruff", "check", "python", "tests", "benches", "noxfile.py", "examples", "guest")
    session.run("ruff", "format", "--check", "python", "tests", "benches", "noxfile.py", "examples", "guest")
    session.run("cargo", "fmt", "--check", external=True)
    session.run(
        "cargo", "clippy", "--all-targets", "--features", "python", "--", "-D", "warnings", external=True
    )


if __name__ == "__main__":
    os.chdir(ROOT)
    sys.exit(nox.main())
