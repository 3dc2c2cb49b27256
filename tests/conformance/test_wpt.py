"""Web-platform-tests, run as a Worker meets them (`wpt.py`): every subtest of the covered areas
passes, or fails as `wpt_expectations.json` says and for the reason it gives. A subtest that
passes although listed there fails this test too, so the list never hides progress."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
import wpt

import dynisolate

ROOT = wpt.wpt_root()
FILES = [test for area in wpt.AREAS for test in wpt.test_files(ROOT, area)]
EXPECTED = wpt.load_expectations()


@pytest.fixture(scope="module")
def loader() -> Iterator[dynisolate.Loader]:
    with dynisolate.Loader(max_isolates=4, cache_dir=None) as loader:
        yield loader


def test_every_expectation_names_a_file_that_runs() -> None:
    assert set(EXPECTED) <= set(FILES)
    assert all(reason for failures in EXPECTED.values() for reason in failures.values())


def test_every_area_has_files() -> None:
    for area in wpt.AREAS:
        assert wpt.test_files(ROOT, area), area


# A file marked `timeout=long` may run past the suite's per-test timeout (PBKDF2's file takes about
# four minutes in a dev build); its own CPU limit (wpt.LONG_CPU_MS) still bounds it.
PARAMS = [
    pytest.param(test, marks=pytest.mark.timeout(wpt.LONG_CPU_MS / 1000 * 2))
    if wpt.is_long(ROOT, test)
    else test
    for test in FILES
]


@pytest.mark.parametrize("test", PARAMS)
def test_wpt_file(loader: dynisolate.Loader, test: str) -> None:
    result = wpt.run_file(loader, ROOT, test)
    expected = EXPECTED.get(test, {})
    problems = []
    if result.harness != "OK" and "*" not in expected:
        problems.append(f"harness {result.harness}: {result.message}")
    if result.harness == "OK" and "*" in expected:
        problems.append("harness OK, but expected to fail: " + expected["*"])
    if not result.subtests and result.harness == "OK":
        problems.append("no subtest ran")
    for name, (status, message) in result.subtests.items():
        if status != "PASS" and name not in expected:
            problems.append(f"unexpected {status}: {name}: {message}")
        if status == "PASS" and name in expected:
            problems.append(f"unexpected PASS (remove it from wpt_expectations.json): {name}")
    assert not problems, "\n".join(problems)
