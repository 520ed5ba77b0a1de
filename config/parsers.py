"""The DRF JSON parser of the API: the protocol's strict I-JSON reader.

Every JSON request body goes through
:func:`kernel.protocol.strictjson.loads`, so duplicate member names,
nesting deeper than 64 levels, invalid UTF-8, lone surrogates and
``NaN``/``Infinity`` are a 400 with the standard error body (codes
``duplicate_member``, ``json_too_deep``, ``invalid_unicode``,
``malformed_json``) instead of a silently chosen value or a 500.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import IO, Any

from rest_framework.parsers import JSONParser

from kernel.protocol.strictjson import loads


class StrictJSONParser(JSONParser):
    """``application/json`` bodies parsed by the strict I-JSON reader.

    Raises:
        kernel.protocol.errors.JsonInputError: (and its subclasses) for
            any body the reader refuses; the exception handler answers 400.
    """

    def parse(
        self,
        stream: IO[bytes] | None,
        media_type: str | None = None,
        parser_context: Mapping[str, Any] | None = None,
    ) -> Any:
        """Return the parsed body (UTF-8 only, as RFC 8259 §8.1 requires)."""
        data = stream.read() if stream is not None else b""
        return loads(data)
