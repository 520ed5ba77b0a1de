"""The published transparency-log test vectors in ``tests/vectors/tlog/``
(RFC 6962/9162 hashes and proofs, C2SP signed notes and checkpoints; their
sources are in that directory's README)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

#: The directory of the tlog vector files.
TLOG_VECTORS = Path(__file__).resolve().parents[2] / "vectors" / "tlog"


def load(name: str) -> Any:
    """Return the parsed JSON of vector file ``name`` (UTF-8)."""
    return json.loads((TLOG_VECTORS / name).read_text(encoding="utf-8"))
