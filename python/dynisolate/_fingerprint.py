"""What `Loader.get` remembers of the code it loaded under an id, so that the same id given other
code or env later is an error rather than a silent serving of the first (security rule R13: an id
must always name one version).

The fingerprint is a SHA-256 over the module names and bytes in order, the main module, every data
binding's JSON, the kind and qualified name of every other binding (a function, an `RpcTarget`
subclass, a bound service), the limits and whether there is an outbound handler. Functions and
objects compare by what they are, not by identity: a factory may build a fresh closure each time.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Mapping
from typing import Any

from ._limits import Limits


def _describe_binding(value: Any) -> str:
    """A binding that is not data, as the kind and name of what it is."""
    kind = getattr(value, "__qualname__", None) or type(value).__qualname__
    module = getattr(value, "__module__", None) or type(value).__module__
    return f"{type(value).__name__}:{module}.{kind}"


def _data_text(value: Any) -> str | None:
    """A data binding as text (its JSON, or its repr when keys of several types rule JSON out), or
    None when it is not plain data."""
    try:
        return json.dumps(value, sort_keys=True, allow_nan=True)
    except (TypeError, ValueError):
        return repr(value) if isinstance(value, (list, tuple, dict)) else None


def fingerprint(code: Mapping[str, Any]) -> str:
    """The fingerprint of a factory's result (the keyword arguments of `Loader.load`)."""
    digest = hashlib.sha256()

    def field(*parts: str | bytes | bytearray | memoryview) -> None:
        for part in parts:
            data = part.encode() if isinstance(part, str) else bytes(part)
            digest.update(len(data).to_bytes(8, "little"))  # length-prefixed: no two fields run together
            digest.update(data)

    modules = code["modules"]
    field("modules", str(len(modules)))
    for name, source in modules.items():
        field(str(name), source if isinstance(source, (str, bytes, bytearray, memoryview)) else repr(source))
    field("main", str(code.get("main_module")))
    env = code.get("env") or {}
    field("env", str(len(env)))
    for name, value in env.items():
        text = _data_text(value)
        field(str(name), "data" if text is not None else "binding", text or _describe_binding(value))
    limits = code.get("limits")
    field("limits", repr(limits if limits is not None else Limits()))
    outbound = code.get("global_outbound")
    field("outbound", "none" if outbound is None else _describe_binding(outbound))
    return digest.hexdigest()
