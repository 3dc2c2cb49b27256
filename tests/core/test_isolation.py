"""What one isolate can and cannot see: no earlier isolate's memory, no host facilities."""

from __future__ import annotations

import pytest

import dynisolate
from conftest import wat


def test_a_reused_slot_never_shows_an_earlier_isolates_memory() -> None:
    loader = dynisolate.Loader(max_isolates=1, max_memory_bytes=1 << 20, cache_dir=None)
    tenant_a = loader.load({"a.wat": wat("numeric.wat")})
    tenant_b = loader.load({"b.wat": wat("numeric.wat")}, limits=dynisolate.Limits(cpu_ms=999))
    for _ in range(3):
        with tenant_a.session() as session:
            entry = session.get_entrypoint()
            assert entry.read_secret() == 0
            entry.write_secret(0x5EC2E7)
            assert entry.read_secret() == 0x5EC2E7
        assert tenant_b.get_entrypoint().load_at(2048) == 0
        assert tenant_a.get_entrypoint().read_secret() == 0


def test_grown_memory_is_wiped_too() -> None:
    loader = dynisolate.Loader(max_isolates=1, max_memory_bytes=1 << 20, cache_dir=None)
    worker = loader.load({"n.wat": wat("numeric.wat")})
    with worker.session() as session:
        entry = session.get_entrypoint()
        entry.grow(3)
        entry.write_secret(7)
    with worker.session() as session:
        entry = session.get_entrypoint()
        assert entry.pages() == 1
        with pytest.raises(dynisolate.TrapError) as info:
            entry.load_at(3 * 65536)
        assert info.value.trap_code == "memory_out_of_bounds"


@pytest.mark.parametrize(
    "imported",
    [
        '(import "wasi_snapshot_preview1" "path_open" (func (param i32 i32 i32 i32 i32 i64 i64 i32 i32)'
        " (result i32)))",
        '(import "wasi_snapshot_preview1" "fd_write" (func (param i32 i32 i32 i32) (result i32)))',
        '(import "wasi_snapshot_preview1" "environ_get" (func (param i32 i32) (result i32)))',
        '(import "wasi_snapshot_preview1" "sock_open" (func (param i32 i32 i32) (result i32)))',
        '(import "wasi_snapshot_preview1" "clock_time_get" (func (param i32 i64 i32) (result i32)))',
        '(import "wasi" "proc_exit" (func (param i32)))',
        '(import "env" "memory" (memory 1))',
        '(import "dynisolate" "env_call" (func (param i32) (result i32)))',
        '(import "dynisolate" "secret_host_thing" (func))',
    ],
)
def test_guests_have_no_filesystem_sockets_environment_or_unknown_imports(
    loader: dynisolate.Loader, imported: str
) -> None:
    with pytest.raises(dynisolate.LoadError, match="import"):
        loader.load({"m.wat": f"(module {imported})"})


def test_shared_memory_and_threads_are_not_available(loader: dynisolate.Loader) -> None:
    with pytest.raises(dynisolate.LoadError):
        loader.load({"m.wat": "(module (memory 1 1 shared))"})


def test_a_guest_cannot_read_outside_its_memory(numeric: dynisolate.Worker) -> None:
    with pytest.raises(dynisolate.TrapError) as info:
        numeric.get_entrypoint().load_at(-4)
    assert info.value.trap_code == "memory_out_of_bounds"
