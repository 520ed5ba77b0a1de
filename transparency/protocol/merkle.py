"""RFC 9162 §2.1 Merkle tree hashing, inclusion and consistency proofs.

All hashes are 32-byte SHA-256 digests (``bytes``). Leaves are addressed by a
zero-based ``leaf_index``; a tree of ``tree_size`` leaves holds indices
``0 .. tree_size - 1``.

Storage follows Go's ``golang.org/x/mod/sumdb/tlog`` ``HashReader``: a
:data:`NodeReader` ``get_node(level, index)`` returns the hash of the *full*
subtree covering leaves ``[index * 2**level, (index + 1) * 2**level)``; level 0
holds the leaf hashes. The server persists exactly these full-subtree hashes
(:func:`new_nodes` lists them for each append), so every proof and root costs
O(log n) reads and never touches all leaves.

This module imports neither Django nor the database (CONVENTIONS.md §3).
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable, Iterable, Sequence

from kernel.protocol.errors import ProtocolError
from kernel.protocol.shape import require_integer
from transparency.protocol.errors import (
    ConsistencyProofError,
    InclusionProofError,
    MerkleError,
)

__all__ = [
    "EMPTY_ROOT",
    "HASH_SIZE",
    "MemoryNodeStore",
    "NodeReader",
    "consistency_proof",
    "consistency_proof_size",
    "inclusion_proof",
    "inclusion_proof_size",
    "leaf_hash",
    "new_nodes",
    "node_hash",
    "root_hash",
    "subtree_hash",
    "tree_root",
    "verify_consistency",
    "verify_inclusion",
]

HASH_SIZE = 32
"""Size in bytes of every node hash (SHA-256, RFC 9162 §2.1)."""

EMPTY_ROOT = hashlib.sha256(b"").digest()
"""MTH({}) = SHA-256() of the empty string, the root of a tree of size 0."""

NodeReader = Callable[[int, int], bytes]
"""``get_node(level, index) -> bytes``: the 32-byte hash of the full subtree
covering leaves ``[index * 2**level, (index + 1) * 2**level)``."""

_LEAF_PREFIX = b"\x00"
_NODE_PREFIX = b"\x01"


def leaf_hash(data: bytes) -> bytes:
    """Return the RFC 9162 §2.1.1 leaf hash ``SHA-256(0x00 || data)``.

    Args:
        data: the raw leaf entry, any length.

    Returns:
        The 32-byte SHA-256 digest.
    """
    return hashlib.sha256(_LEAF_PREFIX + bytes(data)).digest()


def node_hash(left: bytes, right: bytes) -> bytes:
    """Return the RFC 9162 §2.1.1 interior node hash.

    ``SHA-256(0x01 || left || right)``. The inputs are not length-checked so
    that the RFC 6962 test vector (which hashes the ASCII strings ``N123`` and
    ``N456``) can be reproduced; every caller in this module passes 32-byte
    hashes.

    Returns:
        The 32-byte SHA-256 digest.
    """
    return hashlib.sha256(_NODE_PREFIX + left + right).digest()


def _check_hash(value: bytes, what: str, error: type[ProtocolError]) -> None:
    if not isinstance(value, bytes | bytearray | memoryview):
        raise error(f"{what} must be bytes, found {type(value).__name__}")
    if len(value) != HASH_SIZE:
        raise error(f"{what} has {len(value)} bytes, expected {HASH_SIZE}")


def _check_int(value: int, what: str, error: type[ProtocolError]) -> None:
    require_integer(
        value,
        error=error,
        message="{what} must be an int, found {type}",
        range_message="{what} must be non-negative, found {value}",
        what=what,
    )


def _largest_power_of_two_below(n: int) -> int:
    """Return the largest power of two k < n (n >= 2), RFC 9162 §2.1.1."""
    return 1 << ((n - 1).bit_length() - 1)


def root_hash(leaf_hashes: Sequence[bytes]) -> bytes:
    """Return MTH(D[n]) over already-hashed leaves (RFC 9162 §2.1.1).

    Args:
        leaf_hashes: the 32-byte leaf hashes ``leaf_hash(d)`` in order.

    Returns:
        The 32-byte root hash; :data:`EMPTY_ROOT` for an empty sequence.

    Raises:
        MerkleError: if an element is not a 32-byte ``bytes`` value.
    """
    for i, h in enumerate(leaf_hashes):
        _check_hash(h, f"leaf_hashes[{i}]", MerkleError)
    if not leaf_hashes:
        return EMPTY_ROOT
    # Fold level by level; an odd node at the end of a level is promoted
    # unchanged, which yields exactly the RFC's left-balanced MTH.
    level = [bytes(h) for h in leaf_hashes]
    while len(level) > 1:
        nxt = [node_hash(level[i], level[i + 1]) for i in range(0, len(level) - 1, 2)]
        if len(level) % 2:
            nxt.append(level[-1])
        level = nxt
    return level[0]


def new_nodes(
    start_index: int, leaf_hashes: Sequence[bytes], get_node: NodeReader
) -> list[tuple[int, int, bytes]]:
    """Return the full-subtree nodes created by appending ``leaf_hashes``.

    Like ``tlog.StoredHashes`` but for a batch: the tree currently holds
    ``start_index`` leaves and the batch is appended at ``start_index``,
    ``start_index + 1``, ... Every node ``(level, index, hash)`` that becomes a
    full subtree is returned, the level-0 leaf hashes included, children
    always before their parent, so inserting in list order is safe.

    Only nodes stored before the batch are read through ``get_node`` (at most
    one per level, O(log n)); nodes created within the batch come from an
    internal overlay.

    Args:
        start_index: the current ``tree_size``, index of the first new leaf.
        leaf_hashes: the 32-byte RFC 9162 §2.1.1 leaf hashes to append.
        get_node: reader for the already stored full subtrees.

    Returns:
        A list of ``(level, index, 32-byte hash)`` tuples.

    Raises:
        MerkleError: on a negative ``start_index`` or a hash that is not 32
            bytes, or if ``get_node`` returns a malformed hash.
    """
    _check_int(start_index, "start_index", MerkleError)
    overlay: dict[tuple[int, int], bytes] = {}
    out: list[tuple[int, int, bytes]] = []

    def read(level: int, index: int) -> bytes:
        cached = overlay.get((level, index))
        if cached is not None:
            return cached
        value = get_node(level, index)
        _check_hash(value, f"stored node ({level}, {index})", MerkleError)
        return bytes(value)

    for offset, h in enumerate(leaf_hashes):
        _check_hash(h, f"leaf_hashes[{offset}]", MerkleError)
        index = start_index + offset
        current = bytes(h)
        level = 0
        overlay[(0, index)] = current
        out.append((0, index, current))
        # Each odd index completes a parent with its left sibling.
        while index & 1:
            left = read(level, index - 1)
            current = node_hash(left, current)
            level += 1
            index >>= 1
            overlay[(level, index)] = current
            out.append((level, index, current))
    return out


def _full_subtrees(start: int, end: int) -> list[tuple[int, int]]:
    """Split ``[start, end)`` into aligned full subtrees, largest first.

    Valid for the ranges that the RFC 9162 recursion produces from ``[0, n)``:
    ``start`` is a multiple of the largest power of two not above
    ``end - start``.
    """
    parts: list[tuple[int, int]] = []
    pos = start
    while pos < end:
        size = end - pos
        width = 1 << (size.bit_length() - 1)
        if pos % width:
            raise MerkleError(
                f"range [{start}, {end}) is not a left-balanced subtree: "
                f"offset {pos} is not aligned to width {width}"
            )
        parts.append((width.bit_length() - 1, pos // width))
        pos += width
    return parts


def subtree_hash(start: int, end: int, get_node: NodeReader) -> bytes:
    """Return MTH(D[start:end]) composed from stored full subtrees.

    Works for every range that occurs in RFC 9162 §2.1.3.1 / §2.1.4.1 proofs
    (``start`` aligned to the largest power of two not above ``end - start``),
    in O(log n) ``get_node`` calls.

    Args:
        start: first leaf index, inclusive.
        end: last leaf index, exclusive; ``start < end``.
        get_node: reader for the stored full subtrees.

    Returns:
        The 32-byte subtree hash.

    Raises:
        MerkleError: if the range is empty, negative, or not left-balanced, or
            if ``get_node`` returns a hash that is not 32 bytes.
    """
    _check_int(start, "start", MerkleError)
    _check_int(end, "end", MerkleError)
    if end <= start:
        raise MerkleError(
            f"subtree range [{start}, {end}) is empty, expected start < end"
        )
    hashes = []
    for level, index in _full_subtrees(start, end):
        value = get_node(level, index)
        _check_hash(value, f"stored node ({level}, {index})", MerkleError)
        hashes.append(bytes(value))
    # Smaller subtrees sit deeper on the right spine: fold right to left.
    result = hashes[-1]
    for h in reversed(hashes[:-1]):
        result = node_hash(h, result)
    return result


def tree_root(tree_size: int, get_node: NodeReader) -> bytes:
    """Return the RFC 9162 §2.1.1 root hash of the first ``tree_size`` leaves.

    Uses at most ``popcount(tree_size)`` ``get_node`` calls.

    Returns:
        The 32-byte root; :data:`EMPTY_ROOT` when ``tree_size`` is 0.

    Raises:
        MerkleError: on a negative ``tree_size`` or a malformed stored hash.
    """
    _check_int(tree_size, "tree_size", MerkleError)
    if tree_size == 0:
        return EMPTY_ROOT
    return subtree_hash(0, tree_size, get_node)


def inclusion_proof(
    leaf_index: int, tree_size: int, get_node: NodeReader
) -> list[bytes]:
    """Return the RFC 9162 §2.1.3.1 inclusion proof PATH(m, D[tree_size]).

    ``m`` is ``leaf_index``. The proof lists 32-byte sibling hashes from
    the leaf up to the root. It costs O(log n) ``get_node`` calls: one per
    level, plus one composite :func:`subtree_hash` (O(log n) reads) for the
    single sibling that is not a full subtree.

    Args:
        leaf_index: zero-based index of the leaf, ``< tree_size``.
        tree_size: number of leaves in the tree the proof is for.
        get_node: reader for the stored full subtrees.

    Returns:
        The audit path as a list of 32-byte hashes (empty for ``tree_size`` 1).

    Raises:
        MerkleError: if ``leaf_index >= tree_size`` or either is negative.
    """
    _check_int(leaf_index, "leaf_index", MerkleError)
    _check_int(tree_size, "tree_size", MerkleError)
    if leaf_index >= tree_size:
        raise MerkleError(
            f"leaf_index {leaf_index} is out of range for tree_size {tree_size}"
        )
    path: list[bytes] = []
    start, end, m = 0, tree_size, leaf_index
    # Walk down from the root, recording the sibling of each chosen half; the
    # RFC appends siblings after the sub-path, so reverse at the end.
    while end - start > 1:
        k = _largest_power_of_two_below(end - start)
        if m < k:
            path.append(subtree_hash(start + k, end, get_node))
            end = start + k
        else:
            path.append(subtree_hash(start, start + k, get_node))
            start, m = start + k, m - k
    path.reverse()
    return path


def consistency_proof(size1: int, size2: int, get_node: NodeReader) -> list[bytes]:
    """Return the RFC 9162 §2.1.4.1 consistency proof PROOF(size1, D[size2]).

    Costs O(log n) ``get_node`` calls (one per level plus at most one
    composite :func:`subtree_hash`).

    Args:
        size1: the earlier tree size, ``0 < size1 <= size2``.
        size2: the later tree size.
        get_node: reader for the stored full subtrees.

    Returns:
        A list of 32-byte hashes; empty when ``size1 == size2``.

    Raises:
        MerkleError: if ``size1`` is 0 (a proof from the empty tree is
            meaningless, RFC 9162 §2.1.4) or ``size1 > size2``.
    """
    _check_int(size1, "size1", MerkleError)
    _check_int(size2, "size2", MerkleError)
    if size1 == 0:
        raise MerkleError("consistency proof from tree_size 0 is not defined")
    if size1 > size2:
        raise MerkleError(f"size1 {size1} is greater than size2 {size2}")
    proof: list[bytes] = []
    start, end, m, complete = 0, size2, size1, True
    while True:
        n = end - start
        if m == n:
            if not complete:
                proof.append(subtree_hash(start, end, get_node))
            break
        k = _largest_power_of_two_below(n)
        if m <= k:
            proof.append(subtree_hash(start + k, end, get_node))
            end = start + k
        else:
            proof.append(subtree_hash(start, start + k, get_node))
            start, m, complete = start + k, m - k, False
    proof.reverse()
    return proof


def _inclusion_decomposition(leaf_index: int, tree_size: int) -> tuple[int, int]:
    """Return (inner, border) path lengths, as transparency-dev/merkle does."""
    inner = (leaf_index ^ (tree_size - 1)).bit_length()
    border = bin(leaf_index >> inner).count("1")
    return inner, border


def inclusion_proof_size(leaf_index: int, tree_size: int) -> int:
    """Return the number of hashes in PATH(leaf_index, D[tree_size]).

    Raises:
        MerkleError: if ``leaf_index >= tree_size`` or either is negative.
    """
    _check_int(leaf_index, "leaf_index", MerkleError)
    _check_int(tree_size, "tree_size", MerkleError)
    if leaf_index >= tree_size:
        raise MerkleError(
            f"leaf_index {leaf_index} is out of range for tree_size {tree_size}"
        )
    inner, border = _inclusion_decomposition(leaf_index, tree_size)
    return inner + border


def consistency_proof_size(size1: int, size2: int) -> int:
    """Return the length of PROOF(size1, D[size2]), RFC 9162 §2.1.4.1.

    Raises:
        MerkleError: unless ``0 < size1 <= size2``.
    """
    _check_int(size1, "size1", MerkleError)
    _check_int(size2, "size2", MerkleError)
    if size1 == 0 or size1 > size2:
        raise MerkleError(f"expected 0 < size1 <= size2, found {size1}, {size2}")
    if size1 == size2:
        return 0
    inner, border = _inclusion_decomposition(size1 - 1, size2)
    shift = (size1 & -size1).bit_length() - 1
    seeded = size1 == 1 << shift
    return inner - shift + border + (0 if seeded else 1)


def _check_proof(proof: Sequence[bytes], error: type[ProtocolError]) -> list[bytes]:
    if isinstance(proof, bytes | bytearray | str):
        raise error("proof must be a sequence of 32-byte hashes, found a single value")
    items = list(proof)
    for i, h in enumerate(items):
        _check_hash(h, f"proof[{i}]", error)
    return [bytes(h) for h in items]


def verify_inclusion(
    leaf_hash: bytes,
    leaf_index: int,
    tree_size: int,
    proof: Sequence[bytes],
    root_hash: bytes,
) -> None:
    """Check an RFC 9162 §2.1.3.2 inclusion proof; return ``None`` if it holds.

    Strict: ``leaf_hash``, ``root_hash`` and every proof element must be 32
    bytes (never truncated), ``leaf_index`` is zero-based and ``< tree_size``,
    and the proof must have exactly the length PATH has for this index/size.

    Args:
        leaf_hash: 32-byte RFC 9162 leaf hash ``SHA-256(0x00 || data)``.
        leaf_index: zero-based index of the leaf.
        tree_size: number of leaves in the tree ``root_hash`` commits to.
        proof: the audit path, 32-byte hashes from the leaf upwards.
        root_hash: 32-byte expected root.

    Raises:
        InclusionProofError: on any malformed input, wrong proof length, or if
            the recomputed root differs from ``root_hash``.
    """
    err = InclusionProofError
    _check_hash(leaf_hash, "leaf_hash", err)
    _check_hash(root_hash, "root_hash", err)
    _check_int(leaf_index, "leaf_index", err)
    _check_int(tree_size, "tree_size", err)
    path = _check_proof(proof, err)
    if leaf_index >= tree_size:
        raise err(f"leaf_index {leaf_index} is out of range for tree_size {tree_size}")
    expected_len = inclusion_proof_size(leaf_index, tree_size)
    if len(path) != expected_len:
        raise err(
            f"inclusion proof has {len(path)} hashes, expected {expected_len} "
            f"for leaf_index {leaf_index}, tree_size {tree_size}"
        )
    fn, sn = leaf_index, tree_size - 1
    r = bytes(leaf_hash)
    for p in path:
        if sn == 0:
            raise err("inclusion proof is longer than the path to the root")
        if fn & 1 or fn == sn:
            r = node_hash(p, r)
            while not fn & 1 and fn != 0:
                fn >>= 1
                sn >>= 1
        else:
            r = node_hash(r, p)
        fn >>= 1
        sn >>= 1
    if sn != 0:
        raise err("inclusion proof is shorter than the path to the root")
    if r != root_hash:
        raise err(
            f"inclusion proof for leaf_index {leaf_index}, tree_size {tree_size} "
            f"computes root {r.hex()}, expected {bytes(root_hash).hex()}"
        )


def verify_consistency(
    size1: int,
    size2: int,
    proof: Sequence[bytes],
    root1: bytes,
    root2: bytes,
) -> None:
    """Check an RFC 9162 §2.1.4.2 consistency proof; ``None`` if it holds.

    Strict: roots and proof elements must be 32 bytes; a proof from size 0 is
    rejected (even 0 -> 0); equal sizes need an empty proof and equal roots
    (RFC 9162 §5.3); otherwise ``size1 < size2`` and the proof must have
    exactly the length PROOF(size1, D[size2]) has.

    Args:
        size1: earlier tree size (``> 0``).
        size2: later tree size (``>= size1``).
        proof: 32-byte hashes as produced by RFC 9162 §2.1.4.1.
        root1: 32-byte root of the tree of ``size1`` leaves.
        root2: 32-byte root of the tree of ``size2`` leaves.

    Raises:
        ConsistencyProofError: on malformed input, wrong proof length, or if
            either recomputed root differs from the one given.
    """
    err = ConsistencyProofError
    _check_int(size1, "size1", err)
    _check_int(size2, "size2", err)
    _check_hash(root1, "root1", err)
    _check_hash(root2, "root2", err)
    path = _check_proof(proof, err)
    if size1 == 0:
        raise err(
            "consistency proof from tree_size 0 is not accepted, expected size1 > 0"
        )
    if size1 > size2:
        raise err(
            f"size1 {size1} is greater than size2 {size2}, expected size1 <= size2"
        )
    if size1 == size2:
        if path:
            raise err(
                f"consistency proof has {len(path)} hashes, expected 0 "
                f"for equal sizes {size1}"
            )
        if root1 != root2:
            raise err(
                f"roots differ for equal sizes {size1}: "
                f"{bytes(root1).hex()} != {bytes(root2).hex()}"
            )
        return
    expected_len = consistency_proof_size(size1, size2)
    if len(path) != expected_len:
        raise err(
            f"consistency proof has {len(path)} hashes, expected {expected_len} "
            f"for size1 {size1}, size2 {size2}"
        )
    if size1 & (size1 - 1) == 0:
        path = [bytes(root1), *path]
    fn, sn = size1 - 1, size2 - 1
    while fn & 1:
        fn >>= 1
        sn >>= 1
    fr = sr = path[0]
    for c in path[1:]:
        if sn == 0:
            raise err("consistency proof is longer than the path to the root")
        if fn & 1 or fn == sn:
            fr = node_hash(c, fr)
            sr = node_hash(c, sr)
            while not fn & 1 and fn != 0:
                fn >>= 1
                sn >>= 1
        else:
            sr = node_hash(sr, c)
        fn >>= 1
        sn >>= 1
    if sn != 0:
        raise err("consistency proof is shorter than the path to the root")
    if fr != root1:
        raise err(
            f"consistency proof computes root1 {fr.hex()}, "
            f"expected {bytes(root1).hex()} for size1 {size1}"
        )
    if sr != root2:
        raise err(
            f"consistency proof computes root2 {sr.hex()}, "
            f"expected {bytes(root2).hex()} for size2 {size2}"
        )


class MemoryNodeStore:
    """In-memory full-subtree store keyed by ``(level, index)``.

    Used by tests, the offline CLI and benchmarks. ``get_node`` is a
    :data:`NodeReader`, so the module-level proof functions accept it.
    """

    def __init__(self, leaf_hashes: Iterable[bytes] = ()) -> None:
        """Create a store, optionally pre-filled with 32-byte leaf hashes."""
        self._nodes: dict[tuple[int, int], bytes] = {}
        self._size = 0
        self.extend(leaf_hashes)

    @property
    def tree_size(self) -> int:
        """Number of leaves appended so far."""
        return self._size

    def get_node(self, level: int, index: int) -> bytes:
        """Return the 32-byte hash of full subtree ``(level, index)``.

        Raises:
            MerkleError: if that subtree is not (yet) complete in the store.
        """
        try:
            return self._nodes[(level, index)]
        except KeyError:
            raise MerkleError(
                f"node (level {level}, index {index}) is not stored; "
                f"tree_size is {self._size}"
            ) from None

    def append(self, leaf_hash: bytes) -> int:
        """Append one 32-byte leaf hash and return its zero-based leaf_index.

        Raises:
            MerkleError: if ``leaf_hash`` is not 32 bytes.
        """
        index = self._size
        self.extend([leaf_hash])
        return index

    def extend(self, leaf_hashes: Iterable[bytes]) -> None:
        """Append 32-byte leaf hashes in order (one :func:`new_nodes` batch).

        Raises:
            MerkleError: if a hash is not 32 bytes; the store is unchanged.
        """
        batch = list(leaf_hashes)
        nodes = new_nodes(self._size, batch, self.get_node)
        for level, index, h in nodes:
            self._nodes[(level, index)] = h
        self._size += len(batch)

    def root(self, tree_size: int | None = None) -> bytes:
        """Return the 32-byte root of the first ``tree_size`` leaves (or all).

        Raises:
            MerkleError: if ``tree_size`` exceeds the stored size.
        """
        size = self._size if tree_size is None else tree_size
        self._check_size(size)
        return tree_root(size, self.get_node)

    def inclusion_proof(
        self, leaf_index: int, tree_size: int | None = None
    ) -> list[bytes]:
        """Return PATH(leaf_index, D[tree_size]), RFC 9162 §2.1.3.1.

        Raises:
            MerkleError: on an out-of-range index or size.
        """
        size = self._size if tree_size is None else tree_size
        self._check_size(size)
        return inclusion_proof(leaf_index, size, self.get_node)

    def consistency_proof(self, size1: int, size2: int | None = None) -> list[bytes]:
        """Return PROOF(size1, D[size2]), RFC 9162 §2.1.4.1.

        Raises:
            MerkleError: unless ``0 < size1 <= size2 <= tree_size``.
        """
        size = self._size if size2 is None else size2
        self._check_size(size)
        return consistency_proof(size1, size, self.get_node)

    def _check_size(self, tree_size: int) -> None:
        _check_int(tree_size, "tree_size", MerkleError)
        if tree_size > self._size:
            raise MerkleError(
                f"tree_size {tree_size} exceeds the stored tree_size {self._size}"
            )
