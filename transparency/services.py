"""Writes to the transparency log: sequenced, batched appends and checkpoints.

The log is appended to only here. :func:`log_append` must run inside the
caller's transaction so that the leaves, the bundles that cite them and the
replay-guard commit land together or not at all.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from typing import TypeVar

from django.db import transaction
from django.db.models import Q

from transparency.models import Checkpoint, LogEntry, LogNode, LogState
from transparency.protocol.checkpoint import Checkpoint as CheckpointBody
from transparency.protocol.merkle import (
    HASH_SIZE,
    NodeReader,
    inclusion_proof,
    leaf_hash,
    new_nodes,
    tree_root,
)
from transparency.protocol.note import NoteSigner, sign_note

_PLACEHOLDER = b"\x00" * HASH_SIZE
T = TypeVar("T")


class NodeCache:
    """Reads full-subtree hashes from ``LogNode`` in as few queries as possible.

    Proof shapes depend only on indices, never on hash values, so
    :meth:`run` first runs ``fn`` with placeholder hashes to learn which nodes it
    reads, fetches them all in one query, then runs ``fn`` for real.
    """

    def __init__(self) -> None:
        """Start with an empty in-memory overlay."""
        self.nodes: dict[tuple[int, int], bytes] = {}

    def add(self, items: Iterable[tuple[int, int, bytes]]) -> None:
        """Add ``(level, index, hash)`` nodes (e.g. freshly appended ones)."""
        for level, index, value in items:
            self.nodes[(level, index)] = value

    def _fetch(self, keys: set[tuple[int, int]]) -> None:
        keys = {k for k in keys if k not in self.nodes}
        keys_list = sorted(keys)
        for start in range(0, len(keys_list), 500):
            chunk = keys_list[start : start + 500]
            query = Q()
            for level, index in chunk:
                query |= Q(level=level, index=index)
            for level, index, value in LogNode.objects.filter(query).values_list(
                "level", "index", "hash"
            ):
                self.nodes[(level, index)] = bytes(value)
        absent = [k for k in keys if k not in self.nodes]
        if absent:
            raise LookupError(f"log nodes missing from storage: {absent[:5]}")

    def run(self, fn: Callable[[NodeReader], T]) -> T:
        """Return ``fn(get_node)`` after prefetching every node it reads."""
        wanted: set[tuple[int, int]] = set()

        def probe(level: int, index: int) -> bytes:
            if (level, index) not in self.nodes:
                wanted.add((level, index))
            return self.nodes.get((level, index), _PLACEHOLDER)

        fn(probe)
        if wanted:
            self._fetch(wanted)
        return fn(self.get_node)

    def get_node(self, level: int, index: int) -> bytes:
        """Return a cached node (fetching it alone if it was not prefetched)."""
        if (level, index) not in self.nodes:
            self._fetch({(level, index)})
        return self.nodes[(level, index)]


@dataclass(frozen=True)
class AppendResult:
    """What one batch append produced."""

    start_index: int
    tree_size: int
    root_hash: bytes
    entries: list[LogEntry]
    checkpoint: Checkpoint
    proofs: list[list[bytes]]


def log_append(
    *, leaf_datas: Sequence[bytes], signer: NoteSigner, origin: str
) -> AppendResult:
    """Append leaves in one batch, sign one checkpoint for the new tree, and
    return an inclusion proof of every new leaf against it.

    Locks the log head (``SELECT ... FOR UPDATE`` on PostgreSQL; SQLite runs
    IMMEDIATE transactions, which serialise writers), so concurrent appends get
    contiguous indices. Must be called inside ``transaction.atomic``.

    Args:
        leaf_datas: leaf data (bytes), hashed as RFC 9162 §2.1.1 leaves.
        signer: the log operator's C2SP note signer.
        origin: the checkpoint origin line (C2SP tlog-checkpoint).

    Raises:
        TransactionManagementError: outside a transaction.
        ValueError: on an empty batch.
    """
    if not leaf_datas:
        raise ValueError("log_append needs at least one leaf")
    if not transaction.get_connection().in_atomic_block:
        raise transaction.TransactionManagementError(
            "log_append must run in a transaction"
        )
    state, _ = LogState.objects.select_for_update().get_or_create(id=1)
    start = state.tree_size
    hashes = [leaf_hash(data) for data in leaf_datas]
    cache = NodeCache()
    created = cache.run(lambda get: new_nodes(start, hashes, get))
    cache.add(created)
    size = start + len(hashes)
    root = cache.run(lambda get: tree_root(size, get))
    LogNode.objects.bulk_create(
        [
            LogNode(level=level, index=index, hash=value)
            for level, index, value in created
        ]
    )
    entries = [
        LogEntry(
            leaf_index=start + offset,
            previous_id=start + offset - 1 if start + offset > 0 else None,
            leaf_hash=hashes[offset].hex(),
            data=leaf_datas[offset].decode("utf-8"),
        )
        for offset in range(len(hashes))
    ]
    LogEntry.objects.bulk_create(entries)
    proofs = cache.run(
        lambda get: [inclusion_proof(start + i, size, get) for i in range(len(hashes))]
    )
    body = CheckpointBody(origin=origin, tree_size=size, root_hash=root).to_text()
    checkpoint = Checkpoint.objects.create(
        origin=origin,
        tree_size=size,
        root_hash=root.hex(),
        note=sign_note(body, signer),
    )
    state.tree_size = size
    state.root_hash = root.hex()
    state.save(update_fields=["tree_size", "root_hash", "updated_at"])
    return AppendResult(
        start_index=start,
        tree_size=size,
        root_hash=root,
        entries=entries,
        checkpoint=checkpoint,
        proofs=proofs,
    )
