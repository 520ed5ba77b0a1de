"""The standard profile's log checks: ``checkpoint_signature`` and
``log_inclusion`` (docs/PROTOCOL.md §4.10, §4.11, §5.2).

Both skip when the bundle has no ``log`` member (``log_evidence_missing``),
which the strict profile turns into a failure.
"""

from __future__ import annotations

from transparency.protocol.merkle import verify_inclusion

from ..bundle import LogEvidence, attestation_leaf_hash
from ..errors import CheckFailed, SkipCheck
from .context import CheckContext

__all__ = ["checkpoint_signature", "log_inclusion"]


def _require_log(ctx: CheckContext) -> LogEvidence:
    if ctx.bundle.log is None:
        raise SkipCheck(
            "no log evidence (optional in the standard profile)",
            code="log_evidence_missing",
        )
    return ctx.bundle.log


def checkpoint_signature(ctx: CheckContext) -> None:
    """Open the bundle's checkpoint against the trust anchors (log signature,
    origin, witness cosignatures; see
    :meth:`~billing.protocol.verify.checkpoints.CheckpointOpener.open`).

    Raises:
        SkipCheck: ``log_evidence_missing``.
        SignatureError, NoteError, CheckpointError, CheckFailed: the
            checkpoint does not open.
    """
    ctx.checkpoints.open(_require_log(ctx).checkpoint)


def log_inclusion(ctx: CheckContext) -> None:
    """Check the leaf is SHA-256(0x00 || JCS(attestation)) and its RFC 9162
    §2.1.3.2 inclusion proof leads to the checkpoint's root.

    Raises:
        SkipCheck: ``log_evidence_missing``.
        CheckFailed: ``leaf_hash_mismatch``, ``tree_size_mismatch``.
        InclusionProofError: the proof does not verify.
    """
    log = _require_log(ctx)
    expected_leaf = attestation_leaf_hash(ctx.attestation)
    if log.leaf_hash != expected_leaf:
        raise CheckFailed(
            "leaf_hash_mismatch",
            "log.leaf_hash is not SHA-256(0x00 || JCS(attestation))",
            field="log.leaf_hash",
        )
    checkpoint, _ = ctx.checkpoints.open(log.checkpoint)
    if checkpoint.tree_size != log.tree_size:
        raise CheckFailed(
            "tree_size_mismatch",
            f"log.tree_size {log.tree_size} != checkpoint size {checkpoint.tree_size}",
            field="log.tree_size",
        )
    verify_inclusion(
        expected_leaf,
        log.leaf_index,
        log.tree_size,
        list(log.inclusion_proof),
        checkpoint.root_hash,
    )
