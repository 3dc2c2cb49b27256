"""The hand-written `_core.pyi` matches the compiled module."""

from __future__ import annotations

import subprocess
import sys


def test_core_stub_matches_the_native_module() -> None:
    result = subprocess.run(
        [sys.executable, "-m", "mypy.stubtest", "dynisolate._core"], capture_output=True, text=True
    )
    assert result.returncode == 0, result.stdout + result.stderr


def test_the_package_type_checks_strictly() -> None:
    result = subprocess.run(
        [sys.executable, "-m", "mypy", "--strict", "-p", "dynisolate"], capture_output=True, text=True
    )
    assert result.returncode == 0, result.stdout + result.stderr
