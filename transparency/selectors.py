"""Reads of the transparency log: head, checkpoints, entries, proofs, tiles.

Proofs are only produced for tree sizes that have a signed checkpoint, and are
returned with that checkpoint: a proof is worth nothing against an unsigned
root. Every proof costs O(log n) stored-node reads (two queries).
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from django.db.models import QuerySet

from kernel.protocol.strictjson import loads as strict_loads
from transparency.errors import (
    CheckpointNotFound,
    LeafNotFound,
    RangeTooLarge,
    TileNotFound,
    TreeSizeOutOfRange,
)
from transparency.models import Checkpoint, LogEntry, LogNode, LogState
from transparency.protocol.merkle import consistency_proof, inclusion_proof
from transparency.protocol.tiles import encode_entry_bundle
from transparency.selectors_witness import checkpoint_note_cosigned
from transparency.services.log import NodeCache

MAX_ENTRIES_PAGE = 1000
"""Most entries one ``entries`` request returns."""

TILE_HEIGHT = 8
TILE_WIDTH = 1 << TILE_HEIGHT
"""C2SP tlog-tiles: tiles of height 8, i.e. up to 256 hashes or entries."""


def log_head_get() -> tuple[LogState, Checkpoint | None]:
    """Return the log head and its latest checkpoint (``None`` for an empty log)."""
    state = LogState.objects.filter(id=1).first() or LogState(id=1)
    return state, checkpoint_latest()


def checkpoint_latest() -> Checkpoint | None:
    """Return the newest signed checkpoint (largest size, then newest)."""
    return Checkpoint.objects.order_by("-tree_size", "-id").first()


def checkpoint_list() -> QuerySet[Checkpoint]:
    """Return every signed checkpoint, newest first."""
    return Checkpoint.objects.order_by("-tree_size", "-id")


def checkpoint_get(*, tree_size: int) -> Checkpoint:
    """Return the newest checkpoint signed for exactly ``tree_size`` leaves.

    Raises:
        CheckpointNotFound: the log never signed a checkpoint of that size.
    """
    checkpoint = Checkpoint.objects.filter(tree_size=tree_size).order_by("-id").first()
    if checkpoint is None:
        raise CheckpointNotFound(
            f"no signed checkpoint has tree_size {tree_size}", field="tree_size"
        )
    return checkpoint


def _signed_size(
    tree_size: int | None, field: str, latest: Checkpoint | None = None
) -> Checkpoint:
    """Return the checkpoint for ``tree_size`` (default: the latest)."""
    latest = latest or checkpoint_latest()
    if latest is None:
        raise TreeSizeOutOfRange("the log is empty", field=field)
    if tree_size is None:
        return latest
    if tree_size > latest.tree_size:
        raise TreeSizeOutOfRange(
            f"{field} {tree_size} is beyond the latest checkpoint "
            f"(tree_size {latest.tree_size})",
            field=field,
        )
    if tree_size == latest.tree_size:
        return latest
    return checkpoint_get(tree_size=tree_size)


def log_entry_get(
    *, leaf_index: int | None = None, leaf_hash: str | None = None
) -> LogEntry:
    """Return one sequenced entry by ``leaf_index`` or ``leaf_hash`` (hex).

    Raises:
        LeafNotFound: no such sequenced entry.
    """
    rows = LogEntry.objects.all()
    if leaf_index is not None:
        rows = rows.filter(leaf_index=leaf_index)
    if leaf_hash is not None:
        rows = rows.filter(leaf_hash=leaf_hash)
    entry = rows.first()
    if entry is None:
        what = f"leaf_index {leaf_index}" if leaf_index is not None else leaf_hash
        raise LeafNotFound(
            f"no sequenced log entry with {what}",
            field="leaf_index" if leaf_index is not None else "leaf_hash",
        )
    return entry


def log_entry_list(*, start: int, end: int) -> list[LogEntry]:
    """Return entries ``[start, end)`` of the signed tree, in index order.

    Raises:
        TreeSizeOutOfRange: ``end`` beyond the latest checkpoint, or
            ``start >= end``.
        RangeTooLarge: more than :data:`MAX_ENTRIES_PAGE` entries asked for.
    """
    latest = checkpoint_latest()
    size = latest.tree_size if latest else 0
    if start >= end:
        raise TreeSizeOutOfRange(
            f"start {start} must be below end {end}", field="start"
        )
    if end > size:
        raise TreeSizeOutOfRange(
            f"end {end} is beyond the latest checkpoint (tree_size {size})",
            field="end",
        )
    if end - start > MAX_ENTRIES_PAGE:
        raise RangeTooLarge(
            f"{end - start} entries asked for, at most {MAX_ENTRIES_PAGE} per page",
            field="end",
        )
    return list(
        LogEntry.objects.filter(leaf_index__gte=start, leaf_index__lt=end).order_by(
            "leaf_index"
        )
    )


def inclusion_proof_get(
    *, leaf_index: int, tree_size: int | None = None
) -> tuple[list[bytes], Checkpoint]:
    """Return the RFC 9162 §2.1.3 inclusion proof of ``leaf_index`` and the
    signed checkpoint it proves against (default: the latest).

    Raises:
        TreeSizeOutOfRange: ``tree_size`` beyond the head or not above
            ``leaf_index``.
        CheckpointNotFound: ``tree_size`` was never signed.
    """
    checkpoint = _signed_size(tree_size, "tree_size")
    if leaf_index >= checkpoint.tree_size:
        raise TreeSizeOutOfRange(
            f"leaf_index {leaf_index} is not in a tree of size {checkpoint.tree_size}",
            field="leaf_index",
        )
    size = checkpoint.tree_size
    proof = NodeCache().run(lambda get: inclusion_proof(leaf_index, size, get))
    return proof, checkpoint


def consistency_proof_get(
    *, first: int, second: int | None = None
) -> tuple[list[bytes], Checkpoint, Checkpoint]:
    """Return the RFC 9162 §2.1.4 consistency proof between two signed tree
    sizes, with both checkpoints (``second`` defaults to the latest).

    Raises:
        TreeSizeOutOfRange: ``first`` is 0 (RFC 9162: no proof from the empty
            tree) or above ``second``; ``second`` beyond the head.
        CheckpointNotFound: a size that was never signed.
    """
    latest = checkpoint_latest()
    new = _signed_size(second, "second", latest)
    if first < 1:
        raise TreeSizeOutOfRange(
            "first must be at least 1: there is no consistency proof from the "
            "empty tree (RFC 9162 §2.1.4)",
            field="first",
        )
    if first > new.tree_size:
        raise TreeSizeOutOfRange(
            f"first {first} is above second {new.tree_size}", field="first"
        )
    old = _signed_size(first, "first", latest)
    size1, size2 = old.tree_size, new.tree_size
    proof = NodeCache().run(lambda get: consistency_proof(size1, size2, get))
    return proof, old, new


def log_evidence_list(*, leaf_hashes: Iterable[str]) -> dict[str, dict[str, Any]]:
    """Return the bundle ``log`` member of every sequenced leaf in
    ``leaf_hashes``, proved against the latest checkpoint.

    Leaves still queued are absent from the result. Three queries for any
    number of leaves: entries, checkpoint, nodes.

    Returns:
        ``{leaf_hash: {leaf_index, tree_size, leaf_hash, inclusion_proof,
        checkpoint}}`` (hashes lowercase hex, ``checkpoint`` the signed note).
    """
    wanted = list(dict.fromkeys(leaf_hashes))
    indices: dict[str, int] = {}
    for start in range(0, len(wanted), 500):
        indices.update(
            LogEntry.objects.filter(
                leaf_hash__in=wanted[start : start + 500]
            ).values_list("leaf_hash", "leaf_index")
        )
    if not indices:
        return {}
    checkpoint = checkpoint_latest()
    if checkpoint is None:  # pragma: no cover - a sequenced leaf has one
        return {}
    size = checkpoint.tree_size
    note = checkpoint_note(checkpoint)
    order = [(h, i) for h, i in indices.items() if i < size]
    proofs = NodeCache().run(
        lambda get: [inclusion_proof(i, size, get) for _, i in order]
    )
    return {
        h: {
            "leaf_index": i,
            "tree_size": size,
            "leaf_hash": h,
            "inclusion_proof": [p.hex() for p in proof],
            "checkpoint": note,
        }
        for (h, i), proof in zip(order, proofs, strict=True)
    }


def checkpoint_note(checkpoint: Checkpoint) -> str:
    """Return the checkpoint's signed note as served (the log's signature, plus
    any witness cosignatures the log stores)."""
    return checkpoint_note_cosigned(checkpoint)


def tile_get(*, level: int, index: int, width: int | None = None) -> bytes:
    """Return a C2SP tlog-tiles hash tile: the concatenated 32-byte hashes of
    the Merkle nodes at level ``8 * level``, indices ``256 * index`` onward.

    ``width`` (1..255) asks for a partial tile; ``None`` for a full one (256).

    Raises:
        TileNotFound: the signed tree does not (yet) hold that many hashes.
    """
    count = _tile_count(level * TILE_HEIGHT, index, width)
    first = index * TILE_WIDTH
    rows = dict(
        LogNode.objects.filter(
            level=level * TILE_HEIGHT, index__gte=first, index__lt=first + count
        ).values_list("index", "hash")
    )
    if len(rows) != count:  # pragma: no cover - storage corrupted
        raise TileNotFound(f"tile {level}/{index} is incomplete in storage")
    return b"".join(bytes(rows[first + k]) for k in range(count))


def entries_tile_get(*, index: int, width: int | None = None) -> bytes:
    """Return a C2SP tlog-tiles entry bundle: each entry of ``[256 * index,
    256 * index + width)`` as a big-endian uint16 length and its bytes (the
    JCS attestation).

    Raises:
        TileNotFound: the signed tree does not hold those entries.
        EntryTooLargeError: a stored entry is over 65,535 bytes (never
            written by :func:`transparency.services.log_enqueue`).
    """
    count = _tile_count(0, index, width)
    first = index * TILE_WIDTH
    return encode_entry_bundle(
        data.encode("utf-8")
        for data in LogEntry.objects.filter(
            leaf_index__gte=first, leaf_index__lt=first + count
        )
        .order_by("leaf_index")
        .values_list("data", flat=True)
    )


def _tile_count(node_level: int, index: int, width: int | None) -> int:
    latest = checkpoint_latest()
    available = (latest.tree_size if latest else 0) >> node_level
    have = available - index * TILE_WIDTH
    count = TILE_WIDTH if width is None else width
    if have < count:
        raise TileNotFound(
            f"tile holds {max(have, 0)} of the {count} hashes asked for at the "
            "latest checkpoint"
        )
    return count


def entry_data_json(entry: LogEntry) -> Any:
    """Return an entry's data (the JCS attestation) parsed by the strict
    I-JSON reader (log entries read back are input like any other).

    Raises:
        JsonInputError: the stored data is not I-JSON.
    """
    return strict_loads(entry.data)
