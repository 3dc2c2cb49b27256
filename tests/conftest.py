"""Shared fixtures: WAT guests from tests/fixtures and small private loaders."""

from __future__ import annotations

from pathlib import Path

import pytest

import dynisolate

FIXTURES = Path(__file__).parent / "fixtures"


def wat(name: str) -> str:
    """The text of fixture `name` (e.g. "numeric.wat")."""
    return (FIXTURES / name).read_text()


@pytest.fixture
def loader() -> dynisolate.Loader:
    """A small loader with no disk cache, so tests neither share slots with the default loader
    nor write to the user's cache directory."""
    with dynisolate.Loader(max_isolates=16, max_memory_bytes=16 << 20, cache_dir=None) as loader:
        yield loader


@pytest.fixture
def numeric(loader: dynisolate.Loader) -> dynisolate.Worker:
    return loader.load({"numeric.wat": wat("numeric.wat")})


@pytest.fixture
def json_guest(loader: dynisolate.Loader) -> dynisolate.Worker:
    return loader.load({"json.wat": wat("json.wat")})


def assert_healthy(worker: dynisolate.Worker) -> None:
    """The call that must succeed after every fault."""
    if "add" in worker.exports:
        assert worker.get_entrypoint().add(40, 2) == 42
    else:
        assert worker.get_entrypoint().echo("still", "fine") == ["still", "fine"]
