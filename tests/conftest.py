"""Shared fixtures: WAT guests from tests/fixtures, small private loaders, and the workflow
stores (SQLite, and PostgreSQL on a throwaway cluster this test run starts)."""

from __future__ import annotations

import struct
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest

import dynisolate
import postgres_cluster

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


# ---- a small WebAssembly binary, encoded here (no toolchain needed) ----


def _leb(n: int) -> bytes:
    out = bytearray()
    while True:
        byte, n = n & 0x7F, n >> 7
        if n:
            out.append(byte | 0x80)
        else:
            out.append(byte)
            return bytes(out)


def wasm_section(kind: int, items: list[bytes]) -> bytes:
    body = _leb(len(items)) + b"".join(items)
    return bytes([kind]) + _leb(len(body)) + body


def wasm_name(text: str) -> bytes:
    return _leb(len(text)) + text.encode()


I32, F64 = 0x7F, 0x7C


def numeric_wasm() -> bytes:
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
    exports = [wasm_name(n) + bytes([0, i]) for i, n in enumerate(["add", "boom", "spin", "half", "count"])]
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
        + wasm_section(1, types)
        + wasm_section(3, functions)
        + wasm_section(6, globals_)
        + wasm_section(7, exports)
        + wasm_section(10, code)
    )


# ---- workflow stores ----


@pytest.fixture(scope="session")
def postgres() -> Iterator[postgres_cluster.Cluster]:
    """A PostgreSQL cluster for this test run (fast settings; see postgres_cluster.py). No server
    binaries is an error with a message saying how to get them, never a skipped suite."""
    try:
        cluster = postgres_cluster.start()
    except postgres_cluster.ClusterUnavailable as error:
        pytest.fail(str(error), pytrace=False)
    try:
        yield cluster
    finally:
        cluster.remove()


@pytest.fixture
def postgres_url(postgres: postgres_cluster.Cluster) -> Iterator[str]:
    """A URL of an empty database of its own."""
    import psycopg

    name = f"t_{uuid.uuid4().hex[:12]}"
    with psycopg.connect(postgres.url, autocommit=True) as admin:
        admin.execute(f"CREATE DATABASE {name}")
    yield postgres.url_for(name)
    with psycopg.connect(postgres.url, autocommit=True) as admin:
        admin.execute(f"DROP DATABASE {name} WITH (FORCE)")


@pytest.fixture(params=["sqlite", "postgres"])
def db(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    """Where a workflow engine keeps its instances: each test that takes it runs on both stores."""
    if request.param == "sqlite":
        return str(tmp_path / "workflows.db")
    return str(request.getfixturevalue("postgres_url"))
