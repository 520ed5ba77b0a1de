"""What every billing API view shares: the JSON-object body and the body-size
bound (CONVENTIONS.md §1: views only parse, call, serialize)."""

from __future__ import annotations

from typing import Any

from rest_framework.request import Request

from billing.errors import PayloadTooLarge
from billing.protocol.errors import BundleFormatError


def json_object(request: Request, name: str) -> dict[str, Any]:
    """Return the parsed request body, which must be a JSON object.

    ``name`` says what the object should be, for the message (e.g. ``"a
    JWK"``).

    Raises:
        BundleFormatError: (``bundle_format_invalid``, HTTP 400) the body is
            a JSON array, string, number or null.
    """
    data = request.data
    if not isinstance(data, dict):
        raise BundleFormatError(
            f"request body must be a JSON object ({name})", field=None
        )
    return data


def check_body_size(request: Request, limit: int) -> None:
    """Refuse a body whose ``Content-Length`` is over ``limit`` bytes, before
    anything parses it.

    Raises:
        PayloadTooLarge: (``payload_too_large``, HTTP 413) the declared body
            is larger than ``limit`` bytes.
    """
    length = request.META.get("CONTENT_LENGTH") or "0"
    size = int(length) if length.isdigit() else 0
    if size > limit:
        raise PayloadTooLarge(f"request body is {size} bytes, the limit is {limit}")
