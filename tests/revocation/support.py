"""Revocation test helpers: the fixed clock the service tests run at."""

from __future__ import annotations

from datetime import UTC, datetime

#: A fixed instant the service tests run at (unix 1795000000).
NOW = datetime.fromtimestamp(1_795_000_000, UTC)
