"""env bindings: data copied in, functions and RpcTarget methods callable, nothing else reachable.

The guest here is `json.wat`: `env(["NAME", args...])` calls binding NAME and returns the host's
envelope (`{"ok": value}` or `{"error": {...}}`); `env_or_throw` re-throws an error envelope."""

from __future__ import annotations

import asyncio
import logging

import pytest

import dynisolate
from conftest import assert_healthy, wat


class Room(dynisolate.RpcTarget):
    def __init__(self) -> None:
        self.posts: list[str] = []
        self._secret = "s3cret"

    def post(self, text: str) -> int:
        self.posts.append(text)
        return len(self.posts)

    async def post_later(self, text: str) -> str:
        await asyncio.sleep(0)
        return f"later: {text}"

    def fail(self) -> None:
        raise ValueError("no such room")

    def leak(self) -> object:
        return object()

    def _private(self) -> str:
        return self._secret

    @property
    def prop(self) -> str:
        return "property"


class LoggingRoom(Room, logging.Logger):
    """An RpcTarget that also inherits a library class: only Room's methods are exposed."""

    def __init__(self) -> None:
        Room.__init__(self)
        logging.Logger.__init__(self, "room")


@pytest.fixture
def room() -> Room:
    return Room()


@pytest.fixture
def worker(loader: dynisolate.Loader, room: Room) -> dynisolate.Worker:
    return loader.load(
        {"json.wat": wat("json.wat")},
        env={
            "ROOM": room,
            "GREETING": {"text": "hi", "n": [1, 2]},
            "shout": lambda s: s.upper(),
            "LOGGER": LoggingRoom(),
        },
    )


def env(worker: dynisolate.Worker, name: str, *args: object) -> object:
    return worker.get_entrypoint().env(name, *args)


def test_data_bindings_are_copied_in(worker: dynisolate.Worker) -> None:
    assert worker.get_entrypoint().env_get("GREETING") == {"ok": {"text": "hi", "n": [1, 2]}}
    missing = worker.get_entrypoint().env_get("NOPE")
    assert missing["error"]["name"] == "ReferenceError"


def test_functions_and_public_methods_are_callable(worker: dynisolate.Worker, room: Room) -> None:
    assert env(worker, "shout", "hey") == {"ok": "HEY"}
    assert env(worker, "ROOM.post", "hello") == {"ok": 1}
    assert env(worker, "ROOM.post", "again") == {"ok": 2}
    assert room.posts == ["hello", "again"]


def test_async_methods_are_awaited(worker: dynisolate.Worker) -> None:
    assert env(worker, "ROOM.post_later", "x") == {"ok": "later: x"}


@pytest.mark.parametrize(
    "name",
    [
        "ROOM.__class__",
        "ROOM.__dict__",
        "ROOM.__init__",
        "ROOM.__getattribute__",
        "ROOM.__reduce_ex__",
        "ROOM._private",
        "ROOM._secret",
        "ROOM.posts",
        "ROOM.prop",
        "ROOM.post.__globals__",
        "ROOM.post.__func__",
        "shout.__globals__",
        "shout.__code__",
        "ROOM",
        "LOGGER.warning",
        "LOGGER.manager",
        "LOGGER.handlers",
        "nothing",
        "nothing.at_all",
        "GREETING",
        "GREETING.keys",
        "",
        ".",
        "ROOM..post",
    ],
)
def test_nothing_else_is_reachable(worker: dynisolate.Worker, name: str) -> None:
    result = env(worker, name)
    assert result == {"error": {"name": "TypeError", "message": f"env.{name} is not a function"}}


def test_an_inherited_rpc_target_exposes_only_its_own_methods(worker: dynisolate.Worker) -> None:
    assert env(worker, "LOGGER.post", "ok") == {"ok": 1}


def test_a_raising_method_becomes_a_sanitised_guest_error(worker: dynisolate.Worker) -> None:
    assert env(worker, "ROOM.fail") == {"error": {"name": "ValueError", "message": "no such room"}}
    with pytest.raises(dynisolate.GuestError) as info:
        worker.get_entrypoint().env_or_throw("ROOM.fail")
    assert info.value.name == "ValueError"
    assert info.value.guest_message == "no such room"
    assert "Traceback" not in str(info.value)
    assert_healthy(worker)


def test_host_exception_names_outside_the_allow_list_become_error(loader: dynisolate.Loader) -> None:
    class Secret(Exception):
        pass

    def boom() -> None:
        raise Secret("x" * 10_000)

    worker = loader.load({"json.wat": wat("json.wat")}, env={"boom": boom})
    error = env(worker, "boom")["error"]
    assert error["name"] == "Error"
    assert len(error["message"]) == 4096


def test_an_unserialisable_result_is_a_type_error_for_the_guest(worker: dynisolate.Worker) -> None:
    error = env(worker, "ROOM.leak")["error"]
    assert error["name"] == "TypeError"
    assert "object" in error["message"]
    assert_healthy(worker)


def test_wrong_argument_count_reaches_the_guest_as_type_error(worker: dynisolate.Worker) -> None:
    assert env(worker, "ROOM.post")["error"]["name"] == "TypeError"


def test_keyboard_interrupt_in_an_env_call_ends_the_call(loader: dynisolate.Loader) -> None:
    def interrupt() -> None:
        raise KeyboardInterrupt

    worker = loader.load({"json.wat": wat("json.wat")}, env={"stop": interrupt})
    with pytest.raises(KeyboardInterrupt):
        env(worker, "stop")
    assert loader.stats()["live_isolates"] == 0
    assert_healthy(worker)


@pytest.mark.parametrize(
    "env_value",
    [object(), type, Room, {"a": object()}, logging, logging.getLogger("x"), Exception("x")],
)
def test_objects_that_are_not_data_functions_or_rpc_targets_are_refused(
    loader: dynisolate.Loader, env_value: object
) -> None:
    with pytest.raises(dynisolate.LoadError, match="RpcTarget"):
        loader.load({"json.wat": wat("json.wat")}, env={"X": env_value})


@pytest.mark.parametrize("name", ["a.b", "", "1abc", "x" * 200, "with space", 5])
def test_bad_binding_names_are_refused(loader: dynisolate.Loader, name: object) -> None:
    with pytest.raises(dynisolate.LoadError, match="binding name"):
        loader.load({"json.wat": wat("json.wat")}, env={name: 1})


def test_env_data_must_serialise(loader: dynisolate.Loader) -> None:
    with pytest.raises(dynisolate.SerializationError):
        loader.load({"json.wat": wat("json.wat")}, env={"BAD": float("nan")})
