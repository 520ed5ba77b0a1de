"""Assertions on the API's JSON answers (CONVENTIONS §4 error body)."""

from __future__ import annotations

from typing import Any


def assert_error(
    response: Any, status: int, code: str, field: str | None = "__any__"
) -> None:
    """The response is a JSON error with ``status``, ``code`` (and ``field``).

    The body is exactly ``{"error": {"code", "message", "field"}}`` with a
    non-empty message; ``field`` is checked unless left at ``"__any__"``.
    """
    assert response.status_code == status, response.content
    body = response.json()
    assert set(body) == {"error"}
    assert set(body["error"]) == {"code", "message", "field"}
    assert body["error"]["code"] == code
    assert body["error"]["message"]
    if field != "__any__":
        assert body["error"]["field"] == field
