"""`dynisolate.Request` and `dynisolate.Response` on the host side."""

from __future__ import annotations

import pytest

import dynisolate


def test_request_normalises_method_headers_and_body() -> None:
    request = dynisolate.Request(
        "https://a.example/x", method="post", headers=[("X-A", "1"), ("x-a", "2")], body="é"
    )
    assert request.method == "POST"
    assert request.headers == {"x-a": "1, 2"}
    assert request.body == "é".encode()
    assert request.text() == "é"


def test_response_defaults_and_json() -> None:
    response = dynisolate.Response()
    assert (response.status, response.ok, response.body, response.headers) == (200, True, b"", {})
    response = dynisolate.Response.from_json({"a": [1, 2]}, status=404)
    assert (response.status, response.ok) == (404, False)
    assert response.headers == {"content-type": "application/json"}
    assert response.json() == {"a": [1, 2]}
    assert dynisolate.Response("text").headers == {"content-type": "text/plain;charset=UTF-8"}


@pytest.mark.parametrize(
    "make",
    [
        lambda: dynisolate.Response(status=99),
        lambda: dynisolate.Response(status=600),
        lambda: dynisolate.Response(status=True),  # type: ignore[arg-type]
        lambda: dynisolate.Request("https://a/", method="GET\r\nX: y"),
        lambda: dynisolate.Request("https://a/", headers={"x": "a\r\nb"}),
        lambda: dynisolate.Request("https://a/", headers={"bad name": "v"}),
    ],
)
def test_bad_values_are_value_errors(make) -> None:  # type: ignore[no-untyped-def]
    with pytest.raises(ValueError):
        make()


@pytest.mark.parametrize(
    "make",
    [
        lambda: dynisolate.Request(b"https://a/"),  # type: ignore[arg-type]
        lambda: dynisolate.Request("https://a/", body=123),  # type: ignore[arg-type]
        lambda: dynisolate.Response(headers={"x": 1}),  # type: ignore[dict-item]
    ],
)
def test_bad_types_are_type_errors(make) -> None:  # type: ignore[no-untyped-def]
    with pytest.raises(TypeError):
        make()


def test_wire_round_trip() -> None:
    request = dynisolate.Request("https://a/", method="PUT", headers={"h": "v"}, body=bytes(range(256)))
    again = dynisolate.Request._from_wire(request._to_wire())
    assert (again.method, again.url, again.headers, again.body) == (
        "PUT",
        "https://a/",
        {"h": "v"},
        bytes(range(256)),
    )
    with pytest.raises(ValueError, match="base64"):
        dynisolate.Response._from_wire({"status": 200, "headers": [], "body": "not base64!"})
