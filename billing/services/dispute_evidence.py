"""Dispute evidence: the files a tenant sends, pinned by SHA-256, and the
limits of what one dispute holds (used by :mod:`billing.services.disputes`).
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Final

from billing.errors import (
    DisputeEvidenceHashMismatch,
    DisputeEvidenceInvalid,
    DisputeEvidenceLimit,
)
from billing.models import Dispute, DisputeEvidence

__all__ = [
    "EVIDENCE_TEXT_SEPARATOR",
    "MAX_EVIDENCE_FILES",
    "MAX_EVIDENCE_NAME_CHARS",
    "MAX_EVIDENCE_TEXT_CHARS",
    "EvidenceFile",
    "evidence_files_check",
    "evidence_files_store",
    "evidence_limits_check",
]

#: Evidence files a dispute may hold in all.
MAX_EVIDENCE_FILES: Final = 20
#: Characters of evidence text a dispute may hold in all.
MAX_EVIDENCE_TEXT_CHARS: Final = 20_000
#: Characters of an evidence file's name.
MAX_EVIDENCE_NAME_CHARS: Final = 200
#: Between two evidence texts of one dispute, in ``Dispute.evidence_text``.
EVIDENCE_TEXT_SEPARATOR: Final = "\n\n"

_SHA256_RE: Final = re.compile(r"[0-9a-f]{64}", re.ASCII)


@dataclass(frozen=True)
class EvidenceFile:
    """One evidence file as the tenant sent it.

    Attributes:
        name: the file's name (1 to 200 characters, no ``/`` or ``\\``,
            no control characters).
        sha256: the tenant's stated SHA-256 of ``content``, 64 lowercase hex.
        content: the file's bytes (decoded from base64 by the API).
    """

    name: str
    sha256: str
    content: bytes


def evidence_files_check(files: Sequence[EvidenceFile]) -> None:
    """Refuse a malformed file or one whose content does not hash to its
    stated ``sha256``; ``field`` is ``evidence_files[i].<member>``.

    Raises:
        DisputeEvidenceInvalid: (``dispute_evidence_invalid``) a name that
            is empty, over 200 characters, or has ``/``, ``\\`` or a
            control character; a ``sha256`` not 64 lowercase hex.
        DisputeEvidenceHashMismatch:
            (``dispute_evidence_sha256_mismatch``) content whose SHA-256 is
            not the stated one.
    """
    for index, item in enumerate(files):
        where = f"evidence_files[{index}]"
        name = item.name
        if (
            not name
            or len(name) > MAX_EVIDENCE_NAME_CHARS
            or any(ch in "/\\" or not ch.isprintable() for ch in name)
        ):
            raise DisputeEvidenceInvalid(
                f"name must be 1 to {MAX_EVIDENCE_NAME_CHARS} printable "
                f"characters without / or \\, found {name!r}",
                field=f"{where}.name",
            )
        if not _SHA256_RE.fullmatch(item.sha256):
            raise DisputeEvidenceInvalid(
                "sha256 must be 64 lowercase hex characters, found "
                f"{item.sha256[:80]!r}",
                field=f"{where}.sha256",
            )
        actual = hashlib.sha256(item.content).hexdigest()
        if actual != item.sha256:
            raise DisputeEvidenceHashMismatch(
                f"{name}: content ({len(item.content)} bytes) hashes to "
                f"{actual}, not the stated sha256 {item.sha256}",
                field=f"{where}.sha256",
            )


def evidence_limits_check(
    *, stored_files: int, stored_text: str, files: int, text: str
) -> None:
    """Refuse evidence that would make a dispute hold more than
    :data:`MAX_EVIDENCE_FILES` files or :data:`MAX_EVIDENCE_TEXT_CHARS`
    characters of text (``stored_*``: what it holds; ``files``/``text``: what
    is added).

    Raises:
        DisputeEvidenceLimit: (``dispute_evidence_limit``) over a limit.
    """
    if stored_files + files > MAX_EVIDENCE_FILES:
        raise DisputeEvidenceLimit(
            f"a dispute holds at most {MAX_EVIDENCE_FILES} evidence files; it "
            f"has {stored_files} and {files} were sent",
            field="evidence_files",
        )
    joined = len(stored_text) + (
        len(EVIDENCE_TEXT_SEPARATOR) if stored_text and text else 0
    )
    if joined + len(text) > MAX_EVIDENCE_TEXT_CHARS:
        raise DisputeEvidenceLimit(
            f"a dispute holds at most {MAX_EVIDENCE_TEXT_CHARS} characters of "
            f"evidence text; it has {len(stored_text)} and {len(text)} were sent",
            field="evidence_text",
        )


def evidence_files_store(
    dispute: Dispute, files: Sequence[EvidenceFile], now: datetime
) -> None:
    """Store ``files`` (checked by :func:`evidence_files_check`) as
    ``DisputeEvidence`` rows of ``dispute`` added at ``now``."""
    DisputeEvidence.objects.bulk_create(
        DisputeEvidence(
            dispute=dispute,
            name=item.name,
            sha256=item.sha256,
            size_bytes=len(item.content),
            content=item.content,
            added_at=now,
        )
        for item in files
    )
