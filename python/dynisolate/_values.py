"""`undefined`: JavaScript's `undefined` on the Python side, distinct from `None` (`null`)."""

from __future__ import annotations

__all__ = ["Undefined", "undefined"]


class Undefined:
    """The type of `dynisolate.undefined`, which stands for JavaScript's `undefined` wherever a
    value crosses (an argument, an array element, an object's property). It is falsy, and there
    is exactly one: test with `value is dynisolate.undefined`."""

    __slots__ = ()
    _instance: Undefined | None = None

    def __new__(cls) -> Undefined:
        if cls._instance is None:
            cls._instance = super().__new__(cls)
        return cls._instance

    def __bool__(self) -> bool:
        return False

    def __repr__(self) -> str:
        return "undefined"

    def __reduce__(self) -> str:
        return "undefined"  # pickles as the module-level singleton


undefined = Undefined()
