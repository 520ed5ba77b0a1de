"""Opaque cursors of the tenant's bundle list (``GET /api/vdi/billing/bundles``).

A cursor names the last bundle of a page by its position in the list order,
``(issued_at, id)`` newest first: base64url without padding of the compact
JSON ``{"i": id, "t": issued_at}`` (``issued_at`` RFC 3339 UTC with its
microseconds, the one spelling of :func:`kernel.protocol.timefmt.format_rfc3339_utc`).
Clients treat it as opaque; the server accepts only the exact spelling it
issues, so a cursor is never silently read as another position.
"""

from __future__ import annotations

import binascii
import json
from dataclasses import dataclass
from datetime import datetime

from billing.errors import InvalidCursor
from kernel.protocol.ed25519 import b64url_decode, b64url_encode
from kernel.protocol.errors import MeterproofError
from kernel.protocol.timefmt import format_rfc3339_utc, parse_rfc3339_utc

#: The longest cursor accepted (characters); real ones are about 60.
MAX_CURSOR_CHARS = 200


@dataclass(frozen=True)
class BundleCursor:
    """A position in the bundle list: the page continues with the bundles
    strictly before ``(issued_at, id)`` in newest-first order.

    Attributes:
        issued_at: aware UTC datetime, the last row's ``Bundle.issued_at``.
        id: the last row's primary key (breaks ties of ``issued_at``).
    """

    issued_at: datetime
    id: int

    def encode(self) -> str:
        """Return the opaque cursor text (base64url, no padding)."""
        payload = {"i": self.id, "t": format_rfc3339_utc(self.issued_at)}
        text = json.dumps(payload, separators=(",", ":"), sort_keys=True)
        return b64url_encode(text.encode("ascii"))

    @classmethod
    def decode(cls, text: str) -> BundleCursor:
        """Return the position a cursor from :meth:`encode` names.

        Raises:
            InvalidCursor: (``invalid_cursor``, field ``cursor``) if ``text``
                is not exactly a cursor :meth:`encode` writes.
        """
        try:
            if len(text) > MAX_CURSOR_CHARS:
                raise ValueError("too long")
            payload = json.loads(b64url_decode(text).decode("ascii"))
            if not isinstance(payload, dict) or set(payload) != {"i", "t"}:
                raise ValueError("not a cursor object")
            pk = payload["i"]
            if type(pk) is not int or pk < 1:
                raise ValueError("bad id")
            cursor = cls(issued_at=parse_rfc3339_utc(payload["t"]), id=pk)
            if cursor.encode() != text:
                raise ValueError("not the canonical spelling")
        except (ValueError, UnicodeError, binascii.Error, MeterproofError):
            raise InvalidCursor(
                "cursor is not one this server issued; pass next_cursor of "
                "the previous page unchanged",
                field="cursor",
            ) from None
        return cursor
