"""The exception hierarchy: one root, causes as classes, fields that survive pickling."""

from __future__ import annotations

import pickle

import pytest

import dynisolate
from dynisolate import exceptions


def test_every_exception_derives_from_the_root() -> None:
    for name in exceptions.__all__:
        assert issubclass(getattr(exceptions, name), dynisolate.DynisolateError)


def test_builtin_bases_for_natural_except_clauses() -> None:
    assert issubclass(dynisolate.ArgumentError, TypeError)
    assert issubclass(dynisolate.ConfigError, ValueError)
    assert issubclass(dynisolate.ExportNotFoundError, AttributeError)
    assert issubclass(dynisolate.CpuLimitError, TimeoutError)
    assert issubclass(dynisolate.PoolExhaustedError, TimeoutError)
    assert issubclass(dynisolate.TrapError, dynisolate.GuestError)


def test_errors_raised_by_the_core_pickle_with_their_fields(numeric: dynisolate.Worker) -> None:
    with pytest.raises(dynisolate.TrapError) as info:
        numeric.get_entrypoint().trap()
    error = info.value
    assert error.trap_code == "unreachable"
    assert "unreachable" in error.guest_message
    copy = pickle.loads(pickle.dumps(error))
    assert type(copy) is dynisolate.TrapError
    assert (copy.message, copy.trap_code, copy.stack) == (error.message, error.trap_code, error.stack)


def test_trap_backtraces_name_the_guest_function(loader: dynisolate.Loader) -> None:
    worker = loader.load({"m.wat": '(module (func $deep unreachable) (func (export "f") (call $deep)))'})
    with pytest.raises(dynisolate.TrapError) as info:
        worker.get_entrypoint().f()
    assert "deep" in info.value.stack
