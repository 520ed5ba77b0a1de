"""Test support: append leaves to the real log at once and learn where.

:func:`log_append` queues and sequences leaves in one call, through the same
services the attest path uses (``log_enqueue``, then ``log_sequence``), and
returns their indices and inclusion proofs. Only tests need the log position
at once, so it lives here rather than in ``transparency.services``.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from django.db import transaction

from transparency.models import Checkpoint
from transparency.protocol.merkle import inclusion_proof
from transparency.protocol.note import NoteSigner
from transparency.selectors import checkpoint_latest
from transparency.services import NodeCache, log_enqueue, log_sequence

__all__ = ["AppendResult", "log_append"]


@dataclass(frozen=True)
class AppendResult:
    """What :func:`log_append` produced for its own leaves."""

    leaf_indices: list[int]
    tree_size: int
    root_hash: bytes
    checkpoint: Checkpoint
    proofs: list[list[bytes]]

    @property
    def start_index(self) -> int:
        """Index of the first appended leaf."""
        return self.leaf_indices[0]


def log_append(
    *, entries: Sequence[bytes], signer: NoteSigner, origin: str
) -> AppendResult:
    """Queue and sequence leaves now; return their indices and RFC 9162
    inclusion proofs against the checkpoint that sequenced them.

    Joins the caller's transaction if there is one.

    Raises:
        ValueError: on an empty batch.
        IntegrityError: a leaf is already queued or logged.
    """
    if not entries:
        raise ValueError("log_append needs at least one leaf")
    with transaction.atomic():
        hashes = log_enqueue(entries=entries)
        indices = log_sequence(leaf_hashes=hashes, signer=signer, origin=origin)
        checkpoint = checkpoint_latest()
        assert checkpoint is not None
        size = checkpoint.tree_size
        order = [indices[h] for h in hashes]
        cache = NodeCache()
        proofs = cache.run(lambda get: [inclusion_proof(i, size, get) for i in order])
    return AppendResult(
        leaf_indices=order,
        tree_size=size,
        root_hash=bytes.fromhex(checkpoint.root_hash),
        checkpoint=checkpoint,
        proofs=proofs,
    )
