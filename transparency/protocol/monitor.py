"""A log monitor: check each new checkpoint and recompute the root from entries.

One :func:`monitor_check` run, given the last verified state (``tree_size``,
``root_hash`` and the right-edge *frontier* of the tree):

1. fetches the head and verifies the checkpoint note with the log's key
   (``monitor_bad_signature``, ``monitor_origin_mismatch``), and that the
   head's JSON ``tree_size``/``root_hash`` match the signed checkpoint
   (``monitor_head_mismatch``);
2. compares it with the last verified checkpoint: smaller is a rollback
   (``monitor_rollback``), the same size must have the same root, a larger
   one needs a valid RFC 9162 §2.1.4 consistency proof from the log
   (``monitor_inconsistent``);
3. fetches the new entries (paginated), recomputes every leaf hash as
   ``SHA-256(0x00 || JCS(data))`` (``monitor_entry_hash_mismatch`` if the log's
   claimed ``leaf_hash`` differs), extends the frontier with them and checks
   that the resulting root is the checkpoint's (``monitor_root_mismatch``).

The frontier is a compact range ``[0, tree_size)``: the hashes of the full
subtrees along the right edge, largest first, one per set bit of
``tree_size`` (as Go's ``sumdb/tlog`` and transparency-dev's ``compact``
package keep it). Appending a leaf merges equal-sized subtrees like a binary
counter, so a run costs O(new entries + log n) hashes however large the log.

Nothing is advanced when a problem is found: the result's ``state`` is the
old one, so the next run checks the same transition again. Django-free
(CONVENTIONS.md §3): keys and the fetcher are arguments.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Any

from kernel.protocol.errors import CanonicalizationError
from kernel.protocol.jcs import canonical_json
from kernel.protocol.shape import require_integer
from transparency.protocol.checkpoint import CheckpointBody, open_checkpoint
from transparency.protocol.errors import (
    CheckpointError,
    ConsistencyProofError,
    FetchError,
    LogResponseError,
    MerkleError,
    NoteError,
)
from transparency.protocol.logapi import (
    ENTRIES_PAGE_SIZE,
    Fetcher,
    fetch_consistency_proof,
    fetch_head,
    iter_entries,
)
from transparency.protocol.merkle import (
    EMPTY_ROOT,
    HASH_SIZE,
    leaf_hash,
    node_hash,
    verify_consistency,
)
from transparency.protocol.note import NoteVerifier

__all__ = [
    "MONITOR_CODES",
    "MonitorResult",
    "VerifiedTreeState",
    "frontier_append",
    "frontier_root",
    "monitor_check",
]

MONITOR_CODES = {
    "monitor_fetch_failed": "the log could not be read or answered malformed JSON",
    "monitor_bad_signature": "the checkpoint is not validly signed by the log key",
    "monitor_origin_mismatch": "the checkpoint names another log",
    "monitor_head_mismatch": "head JSON tree_size/root_hash differ from the note",
    "monitor_rollback": "the checkpoint is smaller than the last verified one",
    "monitor_inconsistent": "the checkpoint does not extend the last verified one",
    "monitor_entry_hash_mismatch": "an entry's data does not hash to its leaf_hash",
    "monitor_root_mismatch": "the entries do not hash to the checkpoint's root",
}
"""Every problem code :func:`monitor_check` reports, with its meaning."""


def _check_frontier(frontier: Sequence[bytes], tree_size: int) -> None:
    require_integer(
        tree_size,
        error=MerkleError,
        message="tree_size must be a non-negative int, found {value!r}",
    )
    expected = bin(tree_size).count("1")
    if len(frontier) != expected:
        raise MerkleError(
            f"frontier has {len(frontier)} hashes, expected {expected} "
            f"(one per set bit of tree_size {tree_size})"
        )
    for i, h in enumerate(frontier):
        if not isinstance(h, bytes) or len(h) != HASH_SIZE:
            raise MerkleError(f"frontier[{i}] is not a {HASH_SIZE}-byte hash")


def frontier_append(
    frontier: Sequence[bytes], tree_size: int, leaf_hashes: Iterable[bytes]
) -> tuple[list[bytes], int]:
    """Extend the compact range ``[0, tree_size)`` by ``leaf_hashes``.

    Args:
        frontier: full-subtree hashes of the tree's right edge, largest (left)
            first; ``popcount(tree_size)`` 32-byte hashes.
        tree_size: number of leaves the frontier covers.
        leaf_hashes: RFC 9162 §2.1.1 leaf hashes to append, in order.

    Returns:
        ``(new_frontier, new_tree_size)``.

    Raises:
        MerkleError: a frontier whose length does not match ``tree_size`` or
            a hash that is not 32 bytes.
    """
    _check_frontier(frontier, tree_size)
    stack = list(frontier)
    size = tree_size
    for i, h in enumerate(leaf_hashes):
        if not isinstance(h, bytes) or len(h) != HASH_SIZE:
            raise MerkleError(f"leaf_hashes[{i}] is not a {HASH_SIZE}-byte hash")
        current = h
        # Each trailing 1 bit of the size is a full subtree of the same width
        # as ``current``: merge them, exactly like a binary carry.
        bits = size
        while bits & 1:
            current = node_hash(stack.pop(), current)
            bits >>= 1
        stack.append(current)
        size += 1
    return stack, size


def frontier_root(frontier: Sequence[bytes], tree_size: int) -> bytes:
    """Return MTH of the tree ``[0, tree_size)`` from its frontier.

    The RFC 9162 §2.1.1 root folds the right-edge subtrees right to left.

    Raises:
        MerkleError: a frontier that does not match ``tree_size``.
    """
    _check_frontier(frontier, tree_size)
    if not frontier:
        return EMPTY_ROOT
    result = frontier[-1]
    for h in reversed(frontier[:-1]):
        result = node_hash(h, result)
    return result


@dataclass(frozen=True)
class VerifiedTreeState:
    """The tree the monitor last verified: size, root and frontier.

    The last checkpoint whose root the monitor recomputed from the entries.
    Not the Django row :class:`transparency.models.MonitorState`, which
    persists this state per monitored log with run counters.

    Attributes:
        tree_size: its size.
        root_hash: its 32-byte root (:data:`EMPTY_ROOT` for size 0).
        frontier: the compact range of ``[0, tree_size)`` (see
            :func:`frontier_append`).
    """

    tree_size: int = 0
    root_hash: bytes = EMPTY_ROOT
    frontier: tuple[bytes, ...] = ()

    def __post_init__(self) -> None:
        """Check that the frontier matches the size and hashes to the root.

        Raises:
            MerkleError: on any inconsistency (a corrupted saved state).
        """
        if frontier_root(self.frontier, self.tree_size) != self.root_hash:
            raise MerkleError(
                f"monitor state frontier does not hash to root "
                f"{bytes(self.root_hash).hex()} at tree_size {self.tree_size}"
            )

    def to_json(self) -> dict[str, Any]:
        """Return ``{"tree_size", "root_hash": hex, "frontier": [hex, ...]}``."""
        return {
            "tree_size": self.tree_size,
            "root_hash": self.root_hash.hex(),
            "frontier": [h.hex() for h in self.frontier],
        }

    @classmethod
    def from_json(cls, obj: Any) -> VerifiedTreeState:
        """Parse :meth:`to_json` output.

        Raises:
            MerkleError: malformed or self-inconsistent state.
        """
        try:
            return cls(
                tree_size=obj["tree_size"],
                root_hash=bytes.fromhex(obj["root_hash"]),
                frontier=tuple(bytes.fromhex(h) for h in obj["frontier"]),
            )
        except (KeyError, TypeError, ValueError) as exc:
            raise MerkleError(f"malformed monitor state: {exc}") from None


MonitorState = VerifiedTreeState  # deprecated alias, removed in a later release


@dataclass(frozen=True)
class MonitorResult:
    """The outcome of one monitor run.

    Attributes:
        ok: no problem found.
        problems: ``(code, message)`` pairs, codes from :data:`MONITOR_CODES`.
        state: the state to persist (the new checkpoint if ``ok``, else the
            previous state unchanged).
        previous_size: ``tree_size`` of the state the run started from.
        checkpoint: the verified new checkpoint, if its signature held.
        entries_checked: number of entries fetched and hashed.
    """

    ok: bool
    problems: list[tuple[str, str]]
    state: VerifiedTreeState
    previous_size: int
    checkpoint: CheckpointBody | None = None
    entries_checked: int = 0


def _fail(
    state: VerifiedTreeState,
    code: str,
    message: str,
    checkpoint: CheckpointBody | None = None,
    entries_checked: int = 0,
) -> MonitorResult:
    return MonitorResult(
        ok=False,
        problems=[(code, message)],
        state=state,
        previous_size=state.tree_size,
        checkpoint=checkpoint,
        entries_checked=entries_checked,
    )


def monitor_check(
    *,
    fetch: Fetcher,
    origin: str,
    log_verifier_keys: Iterable[str | NoteVerifier],
    state: VerifiedTreeState | None = None,
    page_size: int = ENTRIES_PAGE_SIZE,
) -> MonitorResult:
    """Run one monitor pass over the log (see the module docstring).

    Args:
        fetch: reads the log API (:data:`transparency.protocol.logapi.Fetcher`).
        origin: the log's origin (checkpoint first line and key name).
        log_verifier_keys: the log's 0x01 verifier keys.
        state: the last verified state; ``None`` starts from the empty tree
            (the first run reads every entry once).
        page_size: entries requested per page (the log caps it at 1000).

    Returns:
        A :class:`MonitorResult`; problems are reported, never raised. An empty
        log (no checkpoint yet) is ``ok`` with the state unchanged.

    Raises:
        VerifierKeyError: a malformed ``log_verifier_keys`` entry (a
            configuration error, not a log problem).
    """
    keys = [
        k if isinstance(k, NoteVerifier) else NoteVerifier.from_vkey(k)
        for k in log_verifier_keys
    ]
    old = state if state is not None else VerifiedTreeState()
    try:
        head = fetch_head(fetch)
    except (FetchError, LogResponseError) as exc:
        return _fail(old, "monitor_fetch_failed", f"cannot read the log head: {exc}")
    if not head.checkpoint:
        if head.tree_size == 0 and old.tree_size == 0:
            return MonitorResult(
                ok=True, problems=[], state=old, previous_size=old.tree_size
            )
        return _fail(
            old,
            "monitor_fetch_failed",
            f"the head has tree_size {head.tree_size} but no checkpoint",
        )
    try:
        checkpoint, _note = open_checkpoint(head.checkpoint, origin, keys)
    except CheckpointError as exc:
        code = (
            "monitor_origin_mismatch"
            if exc.field == "origin"
            else "monitor_bad_signature"
        )
        return _fail(old, code, f"checkpoint rejected: {exc.message}")
    except NoteError as exc:
        return _fail(
            old, "monitor_bad_signature", f"checkpoint note rejected: {exc.message}"
        )
    size, root = checkpoint.tree_size, checkpoint.root_hash
    if head.tree_size != size or (head.root_hash or EMPTY_ROOT) != root:
        return _fail(
            old,
            "monitor_head_mismatch",
            f"head says tree_size {head.tree_size}, root "
            f"{head.root_hash.hex() if head.root_hash else None}; the signed "
            f"checkpoint says {size}, {root.hex()}",
            checkpoint,
        )
    if size < old.tree_size:
        return _fail(
            old,
            "monitor_rollback",
            f"checkpoint tree_size {size} is smaller than the last verified "
            f"tree_size {old.tree_size}",
            checkpoint,
        )
    if size == old.tree_size:
        if root != old.root_hash:
            return _fail(
                old,
                "monitor_inconsistent",
                f"checkpoint at tree_size {size} has root {root.hex()}, the last "
                f"verified root at that size is {old.root_hash.hex()} (fork)",
                checkpoint,
            )
        return MonitorResult(
            ok=True,
            problems=[],
            state=old,
            previous_size=old.tree_size,
            checkpoint=checkpoint,
        )
    if old.tree_size > 0:
        try:
            proof = fetch_consistency_proof(fetch, old.tree_size, size)
        except (FetchError, LogResponseError) as exc:
            return _fail(
                old,
                "monitor_fetch_failed",
                f"cannot read the consistency proof: {exc}",
                checkpoint,
            )
        try:
            verify_consistency(old.tree_size, size, proof, old.root_hash, root)
        except ConsistencyProofError as exc:
            return _fail(
                old,
                "monitor_inconsistent",
                f"checkpoint {size} is not consistent with the last verified "
                f"checkpoint {old.tree_size}: {exc.message}",
                checkpoint,
            )
    frontier, covered = list(old.frontier), old.tree_size
    count = 0
    try:
        for entry in iter_entries(fetch, old.tree_size, size, page_size):
            try:
                computed = leaf_hash(canonical_json(entry.data))
            except CanonicalizationError as exc:
                return _fail(
                    old,
                    "monitor_entry_hash_mismatch",
                    f"entry {entry.leaf_index} cannot be canonicalised: {exc.message}",
                    checkpoint,
                    count,
                )
            if computed != entry.leaf_hash:
                return _fail(
                    old,
                    "monitor_entry_hash_mismatch",
                    f"entry {entry.leaf_index}: SHA-256(0x00 || JCS(data)) is "
                    f"{computed.hex()}, the log says leaf_hash "
                    f"{entry.leaf_hash.hex()}",
                    checkpoint,
                    count,
                )
            frontier, covered = frontier_append(frontier, covered, [computed])
            count += 1
    except (FetchError, LogResponseError) as exc:
        return _fail(
            old,
            "monitor_fetch_failed",
            f"cannot read entries [{old.tree_size}, {size}): {exc}",
            checkpoint,
            count,
        )
    recomputed = frontier_root(frontier, covered)
    if recomputed != root:
        return _fail(
            old,
            "monitor_root_mismatch",
            f"entries [0, {size}) hash to root {recomputed.hex()}, the signed "
            f"checkpoint says {root.hex()}",
            checkpoint,
            count,
        )
    return MonitorResult(
        ok=True,
        problems=[],
        state=VerifiedTreeState(
            tree_size=size, root_hash=root, frontier=tuple(frontier)
        ),
        previous_size=old.tree_size,
        checkpoint=checkpoint,
        entries_checked=count,
    )
