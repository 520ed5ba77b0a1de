"""Entry and consistency verdicts of the auditor UI: a stored leaf against
the latest signed root, and a consistency proof between two signed roots.

Every verdict function takes the
:class:`~transparency.selectors_audit.checks.LogTrust` to check against as an
argument. Spec: RFC 9162 §2.1.1 (leaf hash), §2.1.3.2 (inclusion), §2.1.4.2
(consistency).
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from django.db.models import QuerySet

from kernel.protocol.errors import MeterproofError
from kernel.protocol.verdict import CheckResult, verdict_ok
from transparency.errors import (
    InvalidParameter,
    LeafHashMismatch,
    PrerequisiteCheckFailed,
)
from transparency.models import Checkpoint, LogEntry
from transparency.protocol.merkle import leaf_hash, verify_consistency, verify_inclusion
from transparency.selectors import (
    checkpoint_latest,
    checkpoint_note,
    consistency_proof_get,
    inclusion_proof_get,
    log_entry_get,
)
from transparency.selectors_audit.checkpoints import CheckpointAudit, checkpoint_audit
from transparency.selectors_audit.checks import (
    LogTrust,
    check_run,
    checkpoint_open_trusted,
)

_DECIMAL = re.compile(r"0|[1-9][0-9]{0,17}")


def signed_entries() -> QuerySet[LogEntry]:
    """Return the entries under the latest checkpoint, newest first (lazy;
    only ``leaf_index``, ``leaf_hash`` and ``created_at`` loaded)."""
    latest = checkpoint_latest()
    size = latest.tree_size if latest else 0
    return (
        LogEntry.objects.filter(leaf_index__lt=size)
        .only("leaf_index", "leaf_hash", "created_at")
        .order_by("-leaf_index")
    )


@dataclass
class EntryLogAudit:
    """A stored entry with its inclusion proof and its log verdicts.

    Attributes:
        entry: the stored leaf.
        data_pretty: the stored data as indented JSON (or raw if not JSON).
        recomputed_leaf_hash: SHA-256(0x00 || data), lowercase hex.
        proof: inclusion proof hashes (lowercase hex) against ``checkpoint``.
        checkpoint: the latest checkpoint's audit (``None`` if no proof).
        checks: ``leaf_hash_matches_data``, ``checkpoint_signature`` and
            ``inclusion_proof`` (RFC 9162 §2.1.3.2 against the signed root).
    """

    entry: LogEntry
    data_pretty: str
    recomputed_leaf_hash: str
    proof: list[str]
    checkpoint: CheckpointAudit | None
    checks: list[CheckResult]

    @property
    def ok(self) -> bool:
        """True iff the log checks passed."""
        return verdict_ok(self.checks)


def entry_log_audit_get(*, leaf_index: int, trust: LogTrust) -> EntryLogAudit:
    """Return entry ``leaf_index`` with its proof against the latest checkpoint
    and its log verdicts against ``trust``.

    The inclusion check hashes the *stored data* (not the stored
    ``leaf_hash``), reads the proof from the stored nodes and checks it
    against the root in the latest checkpoint's signed note, so a change to
    either the data or a node shows as a failed check: a changed data fails
    ``leaf_hash_matches_data`` with ``leaf_hash_mismatch`` and
    ``inclusion_proof`` with ``inclusion_proof_invalid``.

    Raises:
        LeafNotFound: no sequenced entry ``leaf_index``.
    """
    entry = log_entry_get(leaf_index=leaf_index)
    data = entry.data
    try:
        data_pretty = json.dumps(json.loads(data), indent=2, ensure_ascii=False)
    except ValueError:
        data_pretty = data
    recomputed = leaf_hash(data.encode("utf-8")).hex()

    def leaf_matches() -> str:
        if recomputed != entry.leaf_hash:
            raise LeafHashMismatch(
                f"SHA-256(0x00 || data) is {recomputed}, the stored leaf_hash is "
                f"{entry.leaf_hash}: the stored data was changed"
            )
        return "SHA-256(0x00 || data) equals the stored leaf_hash"

    checks = [check_run("leaf_hash_matches_data", leaf_matches)]
    proof: list[bytes] = []
    audit: CheckpointAudit | None = None
    try:
        proof, latest = inclusion_proof_get(leaf_index=leaf_index)
    except MeterproofError as exc:
        checks.append(CheckResult("inclusion_proof", "fail", exc.code, exc.message))
    else:
        audit = checkpoint_audit(latest, trust)
        signed: dict[str, Any] = {}

        def signature() -> str:
            signed["c"] = checkpoint_open_trusted(checkpoint_note(latest), trust)
            return (
                f"checkpoint of size {signed['c'].tree_size} signed by {trust.origin}"
            )

        def inclusion() -> str:
            if "c" not in signed:
                raise PrerequisiteCheckFailed("no signed root to check against")
            c = signed["c"]
            verify_inclusion(
                bytes.fromhex(recomputed), leaf_index, c.tree_size, proof, c.root_hash
            )
            return (
                f"{len(proof)} hashes lead from the leaf to the signed root of "
                f"tree size {c.tree_size} (RFC 9162 §2.1.3.2)"
            )

        checks += [
            check_run("checkpoint_signature", signature),
            check_run("inclusion_proof", inclusion),
        ]
    return EntryLogAudit(
        entry=entry,
        data_pretty=data_pretty,
        recomputed_leaf_hash=recomputed,
        proof=[p.hex() for p in proof],
        checkpoint=audit,
        checks=checks,
    )


def entry_neighbours(*, leaf_index: int) -> tuple[int | None, int | None]:
    """Return the (previous, next) signed leaf indices around ``leaf_index``."""
    latest = checkpoint_latest()
    size = latest.tree_size if latest else 0
    return (
        leaf_index - 1 if 0 < leaf_index <= size else None,
        leaf_index + 1 if leaf_index + 1 < size else None,
    )


@dataclass
class ConsistencyAudit:
    """A consistency proof between two signed checkpoints and its verdict.

    Attributes:
        old, new: the two checkpoints' audits.
        proof: RFC 9162 §2.1.4 proof hashes, lowercase hex.
        checks: ``first_checkpoint_signature``, ``second_checkpoint_signature``
            and ``consistency_proof`` (RFC 9162 §2.1.4.2 against both signed
            roots).
    """

    old: CheckpointAudit
    new: CheckpointAudit
    proof: list[str]
    checks: list[CheckResult]

    @property
    def ok(self) -> bool:
        """True iff every check passed."""
        return verdict_ok(self.checks)


def consistency_audit_get(
    *, first: int, second: int | None = None, trust: LogTrust
) -> ConsistencyAudit:
    """Return the consistency proof from tree size ``first`` to ``second``
    (default: the latest) and the verdict of checking it against both signed
    roots (each note opened with the log keys of ``trust``).

    Raises:
        TreeSizeOutOfRange, CheckpointNotFound: as
            :func:`transparency.selectors.consistency_proof_get`.
    """
    proof, old, new = consistency_proof_get(first=first, second=second)
    signed: dict[str, Any] = {}

    def opener(key: str, checkpoint: Checkpoint) -> Callable[[], str]:
        def run() -> str:
            signed[key] = checkpoint_open_trusted(checkpoint_note(checkpoint), trust)
            return f"size {signed[key].tree_size}, signed by {trust.origin}"

        return run

    def consistency() -> str:
        if "old" not in signed or "new" not in signed:
            raise PrerequisiteCheckFailed(
                "both checkpoints must open before the proof is checked"
            )
        a, b = signed["old"], signed["new"]
        verify_consistency(a.tree_size, b.tree_size, proof, a.root_hash, b.root_hash)
        return (
            f"{len(proof)} hashes show tree size {a.tree_size} is a prefix of tree "
            f"size {b.tree_size} (RFC 9162 §2.1.4.2)"
        )

    checks = [
        check_run("first_checkpoint_signature", opener("old", old)),
        check_run("second_checkpoint_signature", opener("new", new)),
        check_run("consistency_proof", consistency),
    ]
    return ConsistencyAudit(
        old=checkpoint_audit(old, trust),
        new=checkpoint_audit(new, trust),
        proof=[p.hex() for p in proof],
        checks=checks,
    )


def tree_size_param(raw: str | None, name: str) -> int | None:
    """Return the decimal ``raw`` as an int, ``None`` if empty.

    Raises:
        InvalidParameter: not a non-negative decimal integer.
    """
    if raw is None or raw.strip() == "":
        return None
    raw = raw.strip()
    if not _DECIMAL.fullmatch(raw):
        raise InvalidParameter(
            f"{name} must be a tree size (a non-negative decimal integer), "
            f"found {raw[:40]!r}",
            field=name,
        )
    return int(raw)


__all__ = [
    "ConsistencyAudit",
    "EntryLogAudit",
    "consistency_audit_get",
    "entry_log_audit_get",
    "entry_neighbours",
    "signed_entries",
    "tree_size_param",
]
