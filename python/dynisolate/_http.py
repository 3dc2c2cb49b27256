"""`Request` and `Response`: what an outbound handler receives and returns, and what
`Worker.fetch` sends and gets back. Bodies are whole bytes; header names are lower-cased."""

from __future__ import annotations

import base64
import binascii
import json
from collections.abc import Iterable, Mapping
from typing import Any, Self

__all__ = ["Request", "Response"]

_Headers = Mapping[str, str] | Iterable[tuple[str, str]] | None


def _headers(headers: _Headers) -> dict[str, str]:
    """Lower-cased names; repeated names are combined with ", ", as the Fetch standard does."""
    out: dict[str, str] = {}
    if headers is None:
        return out
    pairs = headers.items() if isinstance(headers, Mapping) else headers
    for name, value in pairs:
        if not isinstance(name, str) or not isinstance(value, str):
            raise TypeError(f"header names and values must be str, got {name!r}: {value!r}")
        if any(c in value for c in "\r\n\0") or not name or any(c in name for c in " \t\r\n\0:"):
            raise ValueError(f"invalid header {name!r}: {value!r}")
        key = name.lower()
        out[key] = f"{out[key]}, {value}" if key in out else value
    return out


def _body(body: bytes | bytearray | memoryview | str | None) -> bytes:
    if body is None:
        return b""
    if isinstance(body, str):
        return body.encode()
    if isinstance(body, (bytes, bytearray, memoryview)):
        return bytes(body)
    raise TypeError(f"a body must be bytes, str or None, not {type(body).__name__}")


class _Message:
    __slots__ = ("body", "headers")

    body: bytes
    headers: dict[str, str]

    def text(self) -> str:
        """The body decoded as UTF-8 (invalid bytes replaced)."""
        return self.body.decode(errors="replace")

    def json(self) -> Any:
        """The body parsed as JSON."""
        return json.loads(self.body)

    def _wire_headers(self) -> list[list[str]]:
        return [[name, value] for name, value in self.headers.items()]

    def _wire_body(self) -> str | None:
        return base64.b64encode(self.body).decode() if self.body else None

    def _clone_record(self) -> dict[str, Any]:
        """The message as an RPC value carries it (rust/js/protocol.rs, CLONE_REQUEST and
        CLONE_RESPONSE): the wire form with the body as bytes."""
        record = self._to_wire()
        record["body"] = self.body if self.body else None
        return record

    def _to_wire(self) -> dict[str, Any]:
        raise NotImplementedError

    @classmethod
    def _from_wire(cls, wire: Mapping[str, Any]) -> Self:
        return cls._from_record(wire, _decode_body(wire.get("body")))

    @classmethod
    def _from_clone(cls, record: Mapping[str, Any]) -> Self:
        return cls._from_record(record, record["body"])

    @classmethod
    def _from_record(cls, record: Mapping[str, Any], body: bytes | None) -> Self:
        """A message from its wire form or its clone record, and its body, already decoded."""
        raise NotImplementedError


class Request(_Message):
    """An HTTP request: from a guest's `fetch()` to the outbound handler, or from the host to a
    guest's `fetch` handler through `Worker.fetch`. `cf` is Cloudflare's `request.cf`: what the
    platform knows about the request (plain data the caller chooses, such as `{"country": "DE"}`),
    or the `cf` options a guest's outbound request carried; `None` when there is none."""

    __slots__ = ("cf", "method", "url")

    def __init__(
        self,
        url: str,
        *,
        method: str = "GET",
        headers: _Headers = None,
        body: bytes | str | None = None,
        cf: Mapping[str, Any] | None = None,
    ) -> None:
        if not isinstance(url, str):
            raise TypeError(f"url must be str, not {type(url).__name__}")
        if not isinstance(method, str) or not method.isascii() or not method.isalpha():
            raise ValueError(f"invalid HTTP method {method!r}")
        self.url = url
        self.method = method.upper()
        self.headers = _headers(headers)
        self.body = _body(body)
        if cf is not None and not isinstance(cf, Mapping):
            raise TypeError(f"cf must be a mapping or None, not {type(cf).__name__}")
        self.cf = dict(cf) if cf is not None else None

    def __repr__(self) -> str:
        return f"<dynisolate.Request {self.method} {self.url!r}>"

    def _to_wire(self) -> dict[str, Any]:
        wire: dict[str, Any] = {
            "method": self.method,
            "url": self.url,
            "headers": self._wire_headers(),
            "body": self._wire_body(),
        }
        if self.cf is not None:
            wire["cf"] = self.cf
        return wire

    @classmethod
    def _from_record(cls, record: Mapping[str, Any], body: bytes | None) -> Request:
        """A request from its wire form or its clone record, and its body, already decoded."""
        return cls(
            record["url"],
            method=record["method"],
            headers=[(n, v) for n, v in record["headers"]],
            body=body,
            cf=record.get("cf"),
        )


class Response(_Message):
    """An HTTP response: from the outbound handler back to the guest's `fetch()`, or from a
    guest's `fetch` handler back to `Worker.fetch`."""

    __slots__ = ("status", "status_text")

    def __init__(
        self,
        body: bytes | str | None = None,
        status: int = 200,
        headers: _Headers = None,
        *,
        status_text: str = "",
    ) -> None:
        if isinstance(status, bool) or not isinstance(status, int) or not 200 <= status <= 599:
            raise ValueError(f"status must be an int in 200..599, got {status!r}")
        self.status = status
        self.status_text = status_text
        self.headers = _headers(headers)
        if isinstance(body, str) and "content-type" not in self.headers:
            self.headers["content-type"] = "text/plain;charset=UTF-8"
        self.body = _body(body)

    @classmethod
    def from_json(cls, data: Any, status: int = 200, headers: _Headers = None) -> Response:
        """A response whose body is `data` as JSON (like JavaScript's `Response.json`)."""
        response = cls(json.dumps(data, separators=(",", ":")), status, headers)
        response.headers["content-type"] = "application/json"
        return response

    @property
    def ok(self) -> bool:
        return 200 <= self.status <= 299

    def __repr__(self) -> str:
        return f"<dynisolate.Response {self.status}>"

    def _to_wire(self) -> dict[str, Any]:
        return {
            "status": self.status,
            "statusText": self.status_text,
            "headers": self._wire_headers(),
            "body": self._wire_body(),
        }

    @classmethod
    def _from_record(cls, record: Mapping[str, Any], body: bytes | None) -> Response:
        """A response from its wire form or its clone record, and its body, already decoded."""
        return cls(
            body,
            record["status"],
            [(n, v) for n, v in record["headers"]],
            status_text=record.get("statusText") or "",
        )


def _decode_body(body: str | None) -> bytes:
    if body is None:
        return b""
    try:
        return base64.b64decode(body, validate=True)
    except (binascii.Error, ValueError) as e:
        raise ValueError(f"the body is not valid base64: {e}") from None
