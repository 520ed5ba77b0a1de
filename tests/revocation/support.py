"""Revocation test helpers: the fixed clock the service tests run at and
inline snapshots signed by a given key."""

from __future__ import annotations

import json
import time
from datetime import UTC, datetime
from typing import Any

from revocation.protocol.snapshot import snapshot_sign

#: A fixed instant the service tests run at (unix 1795000000).
NOW = datetime.fromtimestamp(1_795_000_000, UTC)

#: A revoked kid (43 base64url characters, the length of an RFC 7638 kid).
KID = "z" * 43


def inline(
    key: Any, *, time_s: int | None = None, kids: list[str] | None = None
) -> str:
    """An inline snapshot signed by ``key`` (a PyNaCl signing key), as the
    ``VDI_BILLING_REVOCATION_JSON`` setting holds it; sequence 3, revoking
    ``kids`` (default ``[KID]``) at ``time_s`` (unix seconds, default now)."""
    return json.dumps(
        snapshot_sign(
            revoked_kids=kids or [KID],
            revoked_attestations=[],
            snapshot_time=int(time.time()) if time_s is None else time_s,
            sequence=3,
            signing_key=key,
        )
    )
